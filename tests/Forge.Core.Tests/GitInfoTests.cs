using System.Diagnostics;

namespace Forge.Core.Tests;

public sealed class GitInfoTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    /// <summary>Runs the git command line in <paramref name="directory"/> and returns its trimmed output.</summary>
    private static string Git(string directory, params string[] args)
    {
        var start = new ProcessStartInfo("git")
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        string[] settings =
        [
            "-c", "user.name=Forge Tests", "-c", "user.email=tests@example.com", "-c", "commit.gpgsign=false",
            "-c", "protocol.file.allow=always",
        ];
        foreach (var arg in settings.Concat(args)) start.ArgumentList.Add(arg);
        // The user's own git settings and environment must not change what these repositories look like.
        start.Environment["GIT_CONFIG_GLOBAL"] = "/dev/null";
        start.Environment["GIT_CONFIG_NOSYSTEM"] = "1";
        foreach (var name in new[] { "GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_COMMON_DIR" }) start.Environment.Remove(name);
        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"git {string.Join(' ', args)} failed: {error.Result}");
        return output.Trim();
    }

    private string NewRepository(string name)
    {
        var repo = Directory.CreateDirectory(_temp.Combine(name)).FullName;
        Git(repo, "init", "-q", "-b", "main");
        return repo;
    }

    private static string Commit(string repo, string message)
    {
        Git(repo, "commit", "-q", "--allow-empty", "-m", message);
        return Git(repo, "rev-parse", "HEAD");
    }

    [Fact]
    public void Commit_of_the_checked_out_branch_is_found_from_any_folder_inside_the_repository()
    {
        var repo = NewRepository("repo");
        var first = Commit(repo, "first");
        var deeper = Directory.CreateDirectory(Path.Combine(repo, "src", "deeper")).FullName;

        Assert.Matches("^[0-9a-f]{40}$", first);
        Assert.Equal(first, GitInfo.TryGetCommit(repo));
        Assert.Equal(first, GitInfo.TryGetCommit(deeper));

        var second = Commit(repo, "second");
        Assert.Equal(second, GitInfo.TryGetCommit(deeper));
    }

    [Fact]
    public void Detached_head_gives_the_commit_it_points_at()
    {
        var repo = NewRepository("repo");
        var first = Commit(repo, "first");
        Commit(repo, "second");

        Git(repo, "checkout", "-q", "--detach", first);

        Assert.Equal(first, GitInfo.TryGetCommit(repo));
    }

    [Fact]
    public void Branch_whose_ref_was_packed_is_found_among_the_other_packed_refs()
    {
        var repo = NewRepository("repo");
        var first = Commit(repo, "first");
        // Sorts before refs/heads/main in packed-refs and points elsewhere, so only an exact match gives main's commit.
        Git(repo, "branch", "a-feature");
        Git(repo, "tag", "-a", "v1", "-m", "release");
        var second = Commit(repo, "second");
        Git(repo, "pack-refs", "--all");

        Assert.False(File.Exists(Path.Combine(repo, ".git", "refs", "heads", "main")));
        Assert.NotEqual(first, second);
        Assert.Equal(second, GitInfo.TryGetCommit(repo));

        // A branch with no commits yet has no commit to give.
        Git(repo, "checkout", "-q", "--orphan", "fresh");
        Assert.Null(GitInfo.TryGetCommit(repo));
    }

    [Fact]
    public void Linked_worktree_gives_its_own_checked_out_commit()
    {
        var repo = NewRepository("repo");
        var mainCommit = Commit(repo, "first");
        var worktree = _temp.Combine("worktree");
        Git(repo, "worktree", "add", "-q", "-b", "topic", worktree);
        var topicCommit = Commit(worktree, "on topic");

        Assert.True(File.Exists(Path.Combine(worktree, ".git")));
        Assert.Equal(topicCommit, GitInfo.TryGetCommit(worktree));
        Assert.Equal(mainCommit, GitInfo.TryGetCommit(repo));

        Git(repo, "pack-refs", "--all");
        Assert.Equal(topicCommit, GitInfo.TryGetCommit(worktree));
    }

    [Fact]
    public void Submodule_with_a_relative_gitdir_gives_its_own_commit()
    {
        var library = NewRepository("library");
        var libraryCommit = Commit(library, "library");
        var app = NewRepository("app");
        Git(app, "submodule", "add", "-q", library, "vendor/library");
        var appCommit = Commit(app, "add library");
        var submodule = Path.Combine(app, "vendor", "library");

        Assert.StartsWith("gitdir: ../", File.ReadAllText(Path.Combine(submodule, ".git")), StringComparison.Ordinal);
        Assert.Equal(libraryCommit, GitInfo.TryGetCommit(submodule));
        Assert.Equal(appCommit, GitInfo.TryGetCommit(app));
    }

    [Fact]
    public void Folders_outside_any_repository_or_with_an_unusable_git_folder_give_no_commit()
    {
        var plain = Directory.CreateDirectory(_temp.Combine("plain")).FullName;
        Assert.Null(GitInfo.TryGetCommit(plain));

        var unborn = NewRepository("unborn");
        Assert.Null(GitInfo.TryGetCommit(unborn));

        var noHead = Directory.CreateDirectory(_temp.Combine("no-head", ".git")).Parent!.FullName;
        Assert.Null(GitInfo.TryGetCommit(noHead));

        var shortHead = Directory.CreateDirectory(_temp.Combine("short-head", ".git")).FullName;
        File.WriteAllText(Path.Combine(shortHead, "HEAD"), "3f2a9c1\n");
        Assert.Null(GitInfo.TryGetCommit(Path.GetDirectoryName(shortHead)));

        var headFolder = Directory.CreateDirectory(_temp.Combine("head-folder", ".git", "HEAD")).FullName;
        Assert.Null(GitInfo.TryGetCommit(Path.GetDirectoryName(Path.GetDirectoryName(headFolder))));

        // The nearest .git decides, even when an enclosing folder is a repository.
        var repo = NewRepository("repo");
        Commit(repo, "first");
        var inner = Directory.CreateDirectory(Path.Combine(repo, "inner")).FullName;
        // Without its colon this is not a pointer, even though "../.git" would name a real git directory.
        File.WriteAllText(Path.Combine(inner, ".git"), "gitdir ../.git");
        Assert.Null(GitInfo.TryGetCommit(inner));
    }
}
