using System.Security.Cryptography;

namespace Forge.Core;

/// <summary>Rules for the relative paths inside a bundle, and the hashing that identifies a file.</summary>
internal static class BundlePaths
{
    /// <summary>
    /// Returns <paramref name="relativePath"/> with '/' separators, or null with the reason when it could escape the bundle
    /// or not survive a copy to another operating system.
    /// </summary>
    internal static string? TryNormalise(string? relativePath, out string problem)
    {
        problem = "";
        if (string.IsNullOrWhiteSpace(relativePath))
        {
            problem = "the path is empty";
            return null;
        }
        var normalised = relativePath.Replace('\\', '/');
        if (normalised.StartsWith('/') || Path.IsPathRooted(normalised) || normalised.Contains(':', StringComparison.Ordinal))
        {
            problem = $"'{relativePath}' is not a relative path";
            return null;
        }
        foreach (var segment in normalised.Split('/'))
        {
            if (segment is "." or "..")
            {
                problem = $"'{relativePath}' may not contain '.' or '..' segments";
                return null;
            }
            if (segment.Length == 0)
            {
                problem = $"'{relativePath}' has an empty segment";
                return null;
            }
            if (segment.Any(char.IsControl))
            {
                problem = $"'{relativePath}' contains a control character";
                return null;
            }
        }
        return normalised;
    }

    /// <summary>Joins a normalised relative path onto a root with the platform's separators.</summary>
    internal static string Combine(string root, string normalisedRelative) =>
        Path.Combine(root, normalisedRelative.Replace('/', Path.DirectorySeparatorChar));

    /// <summary>Lowercase hexadecimal SHA-256 of a file, read as a stream so large weights never sit in memory.</summary>
    internal static string Sha256Of(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    /// <summary>A short random suffix for sibling temp names.</summary>
    internal static string RandomSuffix() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));

    /// <summary>Deletes a directory tree if it is there; cleanup must never hide the error that made it necessary.</summary>
    internal static void TryDeleteDirectory(string path)
    {
        try
        {
            if (Directory.Exists(path)) Directory.Delete(path, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    /// <summary>Deletes a file if it is there, ignoring failures for the same reason as <see cref="TryDeleteDirectory"/>.</summary>
    internal static void TryDeleteFile(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
