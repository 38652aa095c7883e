using Forge.Tests.Shared;

namespace Forge.Serving.Tests;

/// <summary>
/// A theory that needs the named dataset folders under ../shared/data: skipped with the reason on a developer machine
/// without them, run (and so failed) under CI=true, as <see cref="SharedDataFactAttribute"/> does for facts.
/// </summary>
public sealed class SharedDataTheoryAttribute : TheoryAttribute
{
    public SharedDataTheoryAttribute(params string[] folders)
    {
        var missing = folders.Where(f => SharedData.DirOrNull(f) is null).ToArray();
        if (missing.Length > 0 && !SharedData.IsCi)
            Skip = $"../shared/data/{string.Join(", ", missing)} next to the repository is not present; set CI=true to make this a failure";
    }
}
