namespace Forge.Core;

/// <summary>Resolves <c>FORGE_HOME</c>, the folder that holds everything Forge writes; shared so every project agrees on it.</summary>
public static class ForgeHome
{
    /// <summary>The environment variable that overrides the default <c>~/.forge</c>.</summary>
    public const string Variable = "FORGE_HOME";

    /// <summary><c>$FORGE_HOME</c>, or <c>~/.forge</c> when it is not set; read on every call so tests and tools can redirect it.</summary>
    public static string Directory
    {
        get
        {
            var configured = Environment.GetEnvironmentVariable(Variable);
            if (!string.IsNullOrWhiteSpace(configured))
                return Path.GetFullPath(configured);
            var user = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
            if (string.IsNullOrEmpty(user))
                throw new ForgeException($"cannot find a home folder for Forge's files; set {Variable}");
            return Path.Combine(user, ".forge");
        }
    }
}
