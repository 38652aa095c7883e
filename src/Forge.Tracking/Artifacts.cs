using System.Security.Cryptography;
using Forge.Core;

namespace Forge.Tracking;

/// <summary>File copies into the artifact store: atomic per file (temp name, then rename) and hashed while copying.</summary>
internal static class Artifacts
{
    /// <summary>Returns <paramref name="relative"/> with '/' separators, or throws when it could leave its folder.</summary>
    public static string NormaliseRelative(string relative, string what)
    {
        var normalised = relative.Replace('\\', '/').Trim('/');
        if (normalised.Length == 0) return "";
        if (Path.IsPathRooted(relative) || normalised.Contains(':', StringComparison.Ordinal))
            throw new UsageException($"{what} '{relative}' must be a relative path");
        foreach (var segment in normalised.Split('/'))
        {
            if (segment is "" or "." or "..") throw new UsageException($"{what} '{relative}' may not contain empty, '.' or '..' segments");
            if (segment.Any(char.IsControl)) throw new UsageException($"{what} '{relative}' contains a control character");
        }
        return normalised;
    }

    public static string Combine(string root, string normalisedRelative) =>
        normalisedRelative.Length == 0 ? root : Path.Combine(root, normalisedRelative.Replace('/', Path.DirectorySeparatorChar));

    public static string Join(string left, string right) => left.Length == 0 ? right : right.Length == 0 ? left : left + "/" + right;

    /// <summary>Copies one file to <c>root/relative</c> through a sibling temp file and returns its size and SHA-256.</summary>
    public static ArtifactInfo CopyFile(string source, string root, string relative)
    {
        var destination = Combine(root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
        // A sibling of the destination, so the rename stays on one filesystem and is atomic: readers see the old file or the new one.
        var temp = $"{destination}.tmp-{RandomSuffix()}";
        try
        {
            long size;
            string sha;
            using (var input = new FileStream(source, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan))
            using (var output = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            using (var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256))
            {
                var buffer = new byte[1 << 16];
                int read;
                while ((read = input.Read(buffer, 0, buffer.Length)) > 0)
                {
                    hash.AppendData(buffer, 0, read);
                    output.Write(buffer, 0, read);
                }
                output.Flush(flushToDisk: true);
                size = output.Length;
                sha = Convert.ToHexStringLower(hash.GetHashAndReset());
            }
            File.Move(temp, destination, overwrite: true);
            return new ArtifactInfo(relative, size, sha);
        }
        catch
        {
            TryDeleteFile(temp);
            throw;
        }
    }

    /// <summary>Copies a whole directory tree to <paramref name="target"/>, which must not exist, via a sibling temp directory and one rename.</summary>
    public static void CopyDirectoryAtomically(string source, string target)
    {
        var parent = Path.GetDirectoryName(Path.TrimEndingDirectorySeparator(target))!;
        Directory.CreateDirectory(parent);
        var staging = $"{Path.TrimEndingDirectorySeparator(target)}.tmp-{RandomSuffix()}";
        try
        {
            foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
            {
                var relative = Path.GetRelativePath(source, file);
                var destination = Path.Combine(staging, relative);
                Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
                File.Copy(file, destination);
            }
            Directory.CreateDirectory(staging);
            Directory.Move(staging, target);
        }
        catch
        {
            TryDeleteDirectory(staging);
            throw;
        }
    }

    public static string RandomSuffix() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));

    /// <summary>A folder name for a user-chosen name: unsafe characters become '_', so names stay readable on disk.</summary>
    public static string SafeName(string name)
    {
        var chars = name.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_').ToArray();
        var safe = new string(chars).Trim('.');
        return safe.Length == 0 ? "_" : safe;
    }

    public static void TryDeleteFile(string path)
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

    /// <summary>Cleanup after a failure; it must never hide the error that made it necessary.</summary>
    public static void TryDeleteDirectory(string path)
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
}
