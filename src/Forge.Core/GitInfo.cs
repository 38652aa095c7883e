using System.Diagnostics;

namespace Forge.Core;

/// <summary>Finds the git commit of the working directory, for lineage in manifests and runs.</summary>
public static class GitInfo
{
    /// <summary>The HEAD commit of the repository containing <paramref name="directory"/> (default: the current directory), or null outside a repository or without git.</summary>
    public static string? TryGetCommit(string? directory = null)
    {
        // Reading .git directly avoids depending on a git executable being installed where models are trained.
        var dir = new DirectoryInfo(directory ?? Environment.CurrentDirectory);
        while (dir is not null)
        {
            var git = Path.Combine(dir.FullName, ".git");
            if (Directory.Exists(git)) return ReadHead(git);
            if (File.Exists(git))
            {
                // A worktree or submodule: ".git" is a file pointing at the real git directory.
                var line = File.ReadAllText(git).Trim();
                if (line.StartsWith("gitdir:", StringComparison.Ordinal))
                    return ReadHead(Path.GetFullPath(line["gitdir:".Length..].Trim(), dir.FullName));
                return null;
            }
            dir = dir.Parent;
        }
        return null;
    }

    private static string? ReadHead(string gitDir)
    {
        try
        {
            var head = File.ReadAllText(Path.Combine(gitDir, "HEAD")).Trim();
            if (!head.StartsWith("ref:", StringComparison.Ordinal)) return head.Length >= 40 ? head : null;
            var reference = head["ref:".Length..].Trim();
            // A linked worktree has its own HEAD, but its branches live in the main repository's git directory.
            var commonDirFile = Path.Combine(gitDir, "commondir");
            var refsDir = File.Exists(commonDirFile) ? Path.GetFullPath(File.ReadAllText(commonDirFile).Trim(), gitDir) : gitDir;
            var loose = Path.Combine(refsDir, reference);
            if (File.Exists(loose)) return File.ReadAllText(loose).Trim();
            var packed = Path.Combine(refsDir, "packed-refs");
            if (!File.Exists(packed)) return null;
            foreach (var l in File.ReadLines(packed))
            {
                var parts = l.Split(' ');
                if (parts.Length == 2 && parts[1] == reference) return parts[0];
            }
            return null;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }
}
