using System.IO.Compression;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Forge.Core;

/// <summary>Reads and verifies bundles; kept apart from <see cref="ModelBundle"/>, whose Directory property hides System.IO.Directory.</summary>
internal static class BundleLoader
{
    private static readonly JsonDocumentOptions DocumentOptions = new()
    {
        CommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    /// <summary>Where zipped bundles are extracted, one directory per archive SHA-256.</summary>
    internal static string ArchiveCacheRoot => Path.Combine(Path.GetTempPath(), "forge-bundles");

    /// <summary>Loads a bundle directory; errors name the file, inside <paramref name="archive"/> when it came from one.</summary>
    internal static ModelBundle LoadDirectory(string directory, string? archive)
    {
        var manifestPath = Path.Combine(directory, ModelBundle.ManifestFileName);
        BundleException Fail(string absolute, string relative, string problem, Exception? inner = null)
        {
            var (path, message) = archive is null ? (absolute, problem) : (archive, $"{relative}: {problem}");
            return inner is null ? new BundleException(path, message) : new BundleException(path, message, inner);
        }
        BundleException FailManifest(string problem, Exception? inner = null) =>
            Fail(manifestPath, ModelBundle.ManifestFileName, problem, inner);

        if (!File.Exists(manifestPath)) throw FailManifest("missing: this is not a Forge model bundle");

        JsonNode? root;
        try
        {
            root = JsonNode.Parse(File.ReadAllText(manifestPath), documentOptions: DocumentOptions);
        }
        catch (JsonException ex)
        {
            throw FailManifest($"is not valid JSON: {ex.Message}", ex);
        }
        catch (IOException ex)
        {
            throw FailManifest($"cannot be read: {ex.Message}", ex);
        }
        if (root is not JsonObject rootObject) throw FailManifest("is not a manifest: expected a JSON object");

        // The version is checked before the typed read: a newer format may not fit today's types at all.
        if (rootObject["formatVersion"] is not JsonValue versionNode || !versionNode.TryGetValue<int>(out var formatVersion))
            throw FailManifest("formatVersion is missing or not an integer");
        if (formatVersion > ModelBundle.CurrentFormatVersion)
        {
            throw FailManifest(
                $"written by a newer Forge (format {formatVersion}; this Forge reads up to {ModelBundle.CurrentFormatVersion})");
        }
        if (formatVersion < 1) throw FailManifest($"unsupported format {formatVersion}");

        ModelManifest? manifest;
        try
        {
            manifest = rootObject.Deserialize<ModelManifest>(ForgeJson.Options);
        }
        catch (JsonException ex)
        {
            throw FailManifest($"does not match the manifest format: {ex.Message}", ex);
        }
        if (manifest is null) throw FailManifest("is empty");

        var problems = manifest.FindProblems();
        var files = new SortedDictionary<string, BundleFile>(StringComparer.Ordinal);
        foreach (var (listed, file) in manifest.Files ?? [])
        {
            var normalised = BundlePaths.TryNormalise(listed, out var pathProblem);
            if (normalised is null) problems.Add($"files: {pathProblem}");
            else if (normalised == ModelBundle.ManifestFileName) problems.Add($"files: lists {ModelBundle.ManifestFileName} itself");
            else if (file is null || file.Sha256 is null || file.Size < 0) problems.Add($"files: '{listed}' needs a sha256 and a size");
            else if (!files.TryAdd(normalised, file with { Sha256 = file.Sha256.ToLowerInvariant() }))
                problems.Add($"files: '{listed}' is listed twice");
        }
        if (problems.Count > 0) throw FailManifest(string.Join("; ", problems));
        manifest.Files = files;

        foreach (var (relative, expected) in files)
        {
            var path = BundlePaths.Combine(directory, relative);
            var info = new FileInfo(path);
            if (!info.Exists) throw Fail(path, relative, $"missing: listed in {ModelBundle.ManifestFileName} but not in the bundle");
            if (info.Length < expected.Size) throw Fail(path, relative, $"truncated: {info.Length} bytes, expected {expected.Size}");
            if (info.Length > expected.Size)
                throw Fail(path, relative, $"wrong size: {info.Length} bytes, expected {expected.Size}; the file was modified");
            string actual;
            try
            {
                actual = BundlePaths.Sha256Of(path);
            }
            catch (IOException ex)
            {
                throw Fail(path, relative, $"cannot be read: {ex.Message}", ex);
            }
            if (actual != expected.Sha256) throw Fail(path, relative, "checksum mismatch: the file was modified");
        }
        return new ModelBundle(directory, manifest);
    }

    /// <summary>Extracts a .forge archive into the cache (once per content hash) and loads it.</summary>
    internal static ModelBundle LoadArchive(string archive)
    {
        string sha;
        try
        {
            sha = BundlePaths.Sha256Of(archive);
        }
        catch (IOException ex)
        {
            throw new BundleException(archive, $"cannot be read: {ex.Message}", ex);
        }
        var target = Path.Combine(ArchiveCacheRoot, sha);
        if (Directory.Exists(target))
        {
            try
            {
                return LoadDirectory(target, archive);
            }
            catch (BundleException)
            {
                // The archive's hash matched, so the extracted copy was damaged after extraction: extract it afresh.
                BundlePaths.TryDeleteDirectory(target);
            }
        }

        Directory.CreateDirectory(ArchiveCacheRoot);
        var staging = $"{target}.tmp-{BundlePaths.RandomSuffix()}";
        try
        {
            ZipFile.ExtractToDirectory(archive, staging);
        }
        catch (Exception ex) when (ex is InvalidDataException or IOException or UnauthorizedAccessException)
        {
            BundlePaths.TryDeleteDirectory(staging);
            throw new BundleException(archive, $"is not a readable Forge bundle archive: {ex.Message}", ex);
        }
        try
        {
            Directory.Move(staging, target);
        }
        catch (IOException) when (Directory.Exists(target))
        {
            // Another process extracted the same archive first; its copy is as good as ours.
            BundlePaths.TryDeleteDirectory(staging);
        }
        try
        {
            return LoadDirectory(target, archive);
        }
        catch (BundleException)
        {
            // A bad archive stays bad; keeping its extraction would only fill the temp directory.
            BundlePaths.TryDeleteDirectory(target);
            throw;
        }
    }
}
