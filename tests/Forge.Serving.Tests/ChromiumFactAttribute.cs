using Forge.Tests.Shared;

namespace Forge.Serving.Tests;

/// <summary>
/// A fact that drives Debian's Chromium (<see cref="Path"/>) and needs the named shared datasets. Without them it is
/// skipped with the reason on a developer machine; with CI=true it runs and so fails, since CI installs Chromium
/// (.ci/setup) and must never pass by skipping.
/// </summary>
public sealed class ChromiumFactAttribute : FactAttribute
{
    /// <summary>Where Debian's chromium package puts the browser.</summary>
    public const string Path = "/usr/bin/chromium";

    public ChromiumFactAttribute(params string[] folders)
    {
        if (SharedData.IsCi) return;
        var missing = folders.Where(f => SharedData.DirOrNull(f) is null).Select(f => $"../shared/data/{f}").ToList();
        if (!File.Exists(Path)) missing.Insert(0, $"{Path} (apt-get install chromium, as .ci/setup does)");
        if (missing.Count > 0) Skip = $"{string.Join(" and ", missing)} not present; set CI=true to make this a failure";
    }
}
