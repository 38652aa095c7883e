using System.CommandLine;

namespace Forge.Cli;

/// <summary>
/// The options several verbs share (train, finetune, evaluate, quickstart), declared once so that their names, types and
/// help text agree; each verb gets its own instances, since an option belongs to the command it was added to.
/// </summary>
internal static class CommonOptions
{
    public static Option<string> Out() => new("--out") { Description = "Bundle directory to write (required)", Required = true };

    public static Option<bool> Overwrite() => new("--overwrite") { Description = "Replace an existing bundle directory" };

    public static Option<string?> DataDir() => new("--data-dir") { Description = "The dataset's own folder; when given, the only place looked in" };

    public static Option<int?> Threads() => new("--threads") { Description = "Compute threads (default: all cores; 1 gives bit-exact reproducibility)" };

    public static Option<int?> Seed(string description = "Random seed (default 1)") => new("--seed") { Description = description };

    public static Option<string?> Name() => new("--name") { Description = "Model name recorded in the bundle (default: the dataset and model joined, e.g. mnist-cnn)" };
}
