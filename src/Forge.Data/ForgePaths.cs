using Forge.Core;

namespace Forge.Data;

/// <summary>Where Forge writes: everything lives under <see cref="Home"/>.</summary>
public static class ForgePaths
{
    /// <summary>The environment variable that overrides <see cref="Home"/>.</summary>
    public const string HomeVariable = ForgeHome.Variable;

    /// <summary><c>$FORGE_HOME</c>, or <c>~/.forge</c> when it is not set; read on every call so tests and tools can redirect it.</summary>
    public static string Home => ForgeHome.Directory;

    /// <summary>The download cache for datasets: <c>Home/datasets</c>.</summary>
    public static string DatasetCache => Path.Combine(Home, "datasets");

    /// <summary>Bundles, plots and reports: <c>Home/artifacts</c>.</summary>
    public static string Artifacts => Path.Combine(Home, "artifacts");

    /// <summary>The default tracking database: <c>Home/forge.db</c>.</summary>
    public static string Database => Path.Combine(Home, "forge.db");
}
