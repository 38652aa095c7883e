namespace Forge.Tests.Shared;

/// <summary>Finds the repository (the folder holding Forge.slnx) and the shared MNIST copy beside it (../shared/data/mnist).</summary>
internal static class SharedData
{
    private static readonly string[] MnistFiles =
        ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"];

    public static string? RepoRoot { get; } = FindRoot();

    /// <summary>The shared MNIST folder when all four files are there (raw or .gz), else null.</summary>
    public static string? MnistOrNull { get; } = FindMnist();

    /// <summary>The shared MNIST folder; a test that needs it fails loudly when it is missing.</summary>
    public static string Mnist => MnistOrNull
        ?? throw new InvalidOperationException($"MNIST not found at {RepoRoot ?? "(no Forge.slnx above " + AppContext.BaseDirectory + ")"}/../shared/data/mnist");

    /// <summary>The shared datasets folder (../shared/data beside the repository) when it holds MNIST, else null.</summary>
    public static string? DataRootOrNull => MnistOrNull is null ? null : Path.GetDirectoryName(MnistOrNull);

    /// <summary>The shared datasets folder; a test that needs it fails loudly when it is missing.</summary>
    public static string DataRoot => Path.GetDirectoryName(Mnist)!;

    /// <summary>The shared folder of one dataset (../shared/data/FOLDER) when it exists, else null.</summary>
    public static string? DirOrNull(string folder)
    {
        if (RepoRoot is null) return null;
        var dir = Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared", "data", folder));
        return Directory.Exists(dir) ? dir : null;
    }

    /// <summary>The shared folder of one dataset; a test that needs it fails loudly when it is missing.</summary>
    public static string Dir(string folder) => DirOrNull(folder)
        ?? throw new InvalidOperationException($"dataset folder not found at {RepoRoot ?? "(no Forge.slnx above " + AppContext.BaseDirectory + ")"}/../shared/data/{folder}");

    public static bool IsCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    private static string? FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Forge.slnx"))) return dir.FullName;
        }
        return null;
    }

    private static string? FindMnist()
    {
        if (RepoRoot is null) return null;
        var dir = Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared", "data", "mnist"));
        return MnistFiles.All(f => File.Exists(Path.Combine(dir, f)) || File.Exists(Path.Combine(dir, f + ".gz"))) ? dir : null;
    }
}

/// <summary>
/// A fact that needs the shared MNIST copy. Without it the test is skipped, with the reason, on a developer machine;
/// with CI=true it runs and so fails: a CI run must never pass by silently skipping.
/// </summary>
public sealed class SharedDataFactAttribute : FactAttribute
{
    public SharedDataFactAttribute()
    {
        if (SharedData.MnistOrNull is null && !SharedData.IsCi)
            Skip = "MNIST (../shared/data/mnist next to the repository) is not present; set CI=true to make this a failure";
    }

    /// <summary>A fact that needs the named dataset folders under ../shared/data instead of MNIST.</summary>
    public SharedDataFactAttribute(params string[] folders)
    {
        var missing = folders.Where(f => SharedData.DirOrNull(f) is null).ToArray();
        if (missing.Length > 0 && !SharedData.IsCi)
            Skip = $"../shared/data/{string.Join(", ", missing)} next to the repository is not present; set CI=true to make this a failure";
    }
}
