using System.Diagnostics.CodeAnalysis;
using System.IO.Compression;

namespace Forge.Core;

/// <summary>A verified model bundle on disk: a directory holding forge-model.json and every file it lists.</summary>
public sealed class ModelBundle
{
    /// <summary>The newest bundle format this Forge reads and the one it writes.</summary>
    public const int CurrentFormatVersion = 1;

    /// <summary>The manifest's file name at the bundle's root.</summary>
    public const string ManifestFileName = "forge-model.json";

    /// <summary>The generated model card's file name at the bundle's root.</summary>
    public const string ModelCardFileName = "MODEL_CARD.md";

    internal ModelBundle(string directory, ModelManifest manifest)
    {
        Directory = directory;
        Manifest = manifest;
    }

    /// <summary>The bundle's directory (for a .forge file, where it was extracted).</summary>
    public string Directory { get; }

    /// <summary>The bundle's manifest.</summary>
    public ModelManifest Manifest { get; }

    /// <summary>Returns the absolute path of a file the manifest lists; throws <see cref="BundleException"/> when it is not listed.</summary>
    public string GetPath(string relativePath)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(relativePath);
        if (TryGetPath(relativePath, out var path)) return path;
        var suggestion = NameSuggester.Closest(relativePath, Manifest.Files.Keys);
        var hint = suggestion is null ? "" : $"; did you mean '{suggestion}'?";
        throw new BundleException(Path.Combine(Directory, relativePath), $"not listed in {ManifestFileName}{hint}");
    }

    /// <summary>Finds the absolute path of a file the manifest lists, for files a flavor treats as optional.</summary>
    public bool TryGetPath(string relativePath, [NotNullWhen(true)] out string? path)
    {
        ArgumentNullException.ThrowIfNull(relativePath);
        var normalised = relativePath.Replace('\\', '/');
        path = Manifest.Files.ContainsKey(normalised) ? BundlePaths.Combine(Directory, normalised) : null;
        return path is not null;
    }

    /// <summary>
    /// Loads and verifies a bundle directory or a zipped "*.forge" bundle: format version, manifest, and the size and
    /// SHA-256 of every listed file. Every failure is a <see cref="BundleException"/> naming the file at fault.
    /// </summary>
    public static ModelBundle Load(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var full = Path.GetFullPath(path);
        if (File.Exists(full))
        {
            return string.Equals(Path.GetFileName(full), ManifestFileName, StringComparison.Ordinal)
                ? BundleLoader.LoadDirectory(Path.GetDirectoryName(full)!, archive: null)
                : BundleLoader.LoadArchive(full);
        }
        if (!System.IO.Directory.Exists(full)) throw new BundleException(full, "no such bundle directory or .forge file");
        return BundleLoader.LoadDirectory(full, archive: null);
    }

    /// <summary>Starts writing a bundle to <paramref name="targetDirectory"/>; nothing appears there until <see cref="BundleWriter.Commit"/>.</summary>
    public static BundleWriter Create(string targetDirectory, bool overwrite = false) => new(targetDirectory, overwrite);

    /// <summary>Verifies a bundle directory and zips it into <paramref name="forgeFile"/>, replacing that file atomically.</summary>
    public static void Pack(string bundleDirectory, string forgeFile)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(bundleDirectory);
        ArgumentException.ThrowIfNullOrWhiteSpace(forgeFile);
        // Packing a damaged bundle would only move the error to whoever loads the archive.
        var bundle = Load(bundleDirectory);
        var target = Path.GetFullPath(forgeFile);
        var parent = Path.GetDirectoryName(target)!;
        System.IO.Directory.CreateDirectory(parent);
        var temp = $"{target}.tmp-{BundlePaths.RandomSuffix()}";
        var moved = false;
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write))
            using (var zip = new ZipArchive(stream, ZipArchiveMode.Create))
            {
                // A fixed timestamp and order make packing the same bundle twice give the same bytes, hence the same cache key.
                var stamp = ZipTimestamp(bundle.Manifest.CreatedAt);
                AddEntry(zip, Path.Combine(bundle.Directory, ManifestFileName), ManifestFileName, stamp);
                foreach (var relative in bundle.Manifest.Files.Keys)
                    AddEntry(zip, BundlePaths.Combine(bundle.Directory, relative), relative, stamp);
            }
            File.Move(temp, target, overwrite: true);
            moved = true;
        }
        finally
        {
            if (!moved) BundlePaths.TryDeleteFile(temp);
        }
    }

    private static void AddEntry(ZipArchive zip, string source, string entryName, DateTimeOffset stamp)
    {
        var entry = zip.CreateEntry(entryName, CompressionLevel.Optimal);
        entry.LastWriteTime = stamp;
        using var input = File.OpenRead(source);
        using var output = entry.Open();
        input.CopyTo(output);
    }

    private static DateTimeOffset ZipTimestamp(DateTimeOffset createdAt)
    {
        var utc = createdAt.UtcDateTime;
        // Zip stores 1980-2107 only, and local clock time: UTC keeps the bytes the same in every time zone.
        return utc.Year is >= 1981 and <= 2106
            ? new DateTimeOffset(utc, TimeSpan.Zero)
            : new DateTimeOffset(1981, 1, 1, 0, 0, 0, TimeSpan.Zero);
    }
}
