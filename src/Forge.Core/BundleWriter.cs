using System.Reflection;

namespace Forge.Core;

/// <summary>
/// Writes a bundle atomically: files go to a staging directory beside the target, and <see cref="Commit"/> renames it
/// into place. Disposing without committing deletes the staging directory, so no partial bundle is ever left behind.
/// </summary>
public sealed class BundleWriter : IDisposable
{
    private readonly string _target;
    private readonly bool _overwrite;
    private bool _committed;
    private bool _disposed;

    internal BundleWriter(string targetDirectory, bool overwrite)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(targetDirectory);
        _target = Path.TrimEndingDirectorySeparator(Path.GetFullPath(targetDirectory));
        _overwrite = overwrite;
        CheckTarget();
        var parent = Path.GetDirectoryName(_target)
            ?? throw new UsageException($"{_target}: a bundle cannot be written to a filesystem root");
        Directory.CreateDirectory(parent);
        // A sibling, not a directory under /tmp, so the final rename never crosses filesystems and stays atomic.
        StagingDirectory = $"{_target}.tmp-{BundlePaths.RandomSuffix()}";
        Directory.CreateDirectory(StagingDirectory);
    }

    /// <summary>The temporary directory files are written to before <see cref="Commit"/>.</summary>
    public string StagingDirectory { get; }

    /// <summary>Returns the absolute path to write a bundle file to, creating its parent directories; rejects paths that leave the bundle.</summary>
    public string PathFor(string relativePath)
    {
        ThrowIfFinished();
        var normalised = BundlePaths.TryNormalise(relativePath, out var problem)
            ?? throw new ArgumentException($"Bundle file path rejected: {problem}.", nameof(relativePath));
        if (normalised is ModelBundle.ManifestFileName or ModelBundle.ModelCardFileName)
            throw new ArgumentException($"Bundle file path rejected: '{normalised}' is written by Commit.", nameof(relativePath));
        var path = BundlePaths.Combine(StagingDirectory, normalised);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        return path;
    }

    /// <summary>
    /// Lists and hashes every staged file in <paramref name="manifest"/>, writes MODEL_CARD.md and forge-model.json,
    /// moves the bundle into place and returns it loaded and verified.
    /// </summary>
    public ModelBundle Commit(ModelManifest manifest)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        ThrowIfFinished();
        var problems = manifest.FindProblems();
        if (manifest.FormatVersion != ModelBundle.CurrentFormatVersion)
            problems.Add($"formatVersion is {manifest.FormatVersion}; this Forge writes {ModelBundle.CurrentFormatVersion}");
        if (problems.Count > 0) throw new ArgumentException($"The manifest is incomplete: {string.Join("; ", problems)}.", nameof(manifest));
        // A bundle whose name the registry or the server would refuse is refused here, before anything is written.
        ModelNames.Validate(manifest.Name);
        CheckTarget();

        if (manifest.CreatedAt == default) manifest.CreatedAt = DateTimeOffset.UtcNow;
        if (string.IsNullOrEmpty(manifest.Versions.Forge)) manifest.Versions = manifest.Versions with { Forge = ForgeVersion };

        // The card is written before hashing so the manifest vouches for it like any other file.
        File.WriteAllText(Path.Combine(StagingDirectory, ModelBundle.ModelCardFileName), ModelCard.Render(manifest));
        manifest.Files = HashStagedFiles();
        WriteManifest(manifest);
        MoveIntoPlace();
        _committed = true;
        return ModelBundle.Load(_target);
    }

    /// <summary>Deletes the staging directory unless the bundle was committed.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (!_committed) BundlePaths.TryDeleteDirectory(StagingDirectory);
    }

    /// <summary>Forge.Core's informational version, e.g. "0.1.0+3f2a9c1".</summary>
    internal static string ForgeVersion { get; } =
        typeof(BundleWriter).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? typeof(BundleWriter).Assembly.GetName().Version?.ToString()
        ?? "unknown";

    private void CheckTarget()
    {
        if (File.Exists(_target)) throw new UsageException($"{_target}: a file is in the way of the bundle directory");
        if (!Directory.Exists(_target)) return;
        if (!_overwrite) throw new UsageException($"{_target}: already exists; choose another directory or allow overwriting");
        // Overwriting deletes the old directory, so it must be a bundle: a mistyped path must not cost someone their home directory.
        if (!File.Exists(Path.Combine(_target, ModelBundle.ManifestFileName)) && Directory.EnumerateFileSystemEntries(_target).Any())
            throw new UsageException($"{_target}: exists and is not a Forge model bundle; refusing to replace it");
    }

    private SortedDictionary<string, BundleFile> HashStagedFiles()
    {
        var files = new SortedDictionary<string, BundleFile>(StringComparer.Ordinal);
        foreach (var path in Directory.EnumerateFiles(StagingDirectory, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(StagingDirectory, path).Replace(Path.DirectorySeparatorChar, '/');
            if (relative == ModelBundle.ManifestFileName) continue;
            files[relative] = new BundleFile(BundlePaths.Sha256Of(path), new FileInfo(path).Length);
        }
        return files;
    }

    private void WriteManifest(ModelManifest manifest)
    {
        using var stream = new FileStream(Path.Combine(StagingDirectory, ModelBundle.ManifestFileName), FileMode.Create, FileAccess.Write);
        System.Text.Json.JsonSerializer.Serialize(stream, manifest, ForgeJson.Options);
        stream.WriteByte((byte)'\n');
        // The manifest is the last file written; once it is on disk the rename publishes a complete bundle.
        stream.Flush(flushToDisk: true);
    }

    private void MoveIntoPlace()
    {
        if (!Directory.Exists(_target))
        {
            Directory.Move(StagingDirectory, _target);
            return;
        }
        var aside = $"{_target}.old-{BundlePaths.RandomSuffix()}";
        Directory.Move(_target, aside);
        try
        {
            Directory.Move(StagingDirectory, _target);
        }
        catch
        {
            Directory.Move(aside, _target);
            throw;
        }
        BundlePaths.TryDeleteDirectory(aside);
    }

    private void ThrowIfFinished()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_committed) throw new InvalidOperationException("This bundle was already committed.");
    }
}

/// <summary>The checks every trainer makes on where its bundle will go, before any work.</summary>
public static class BundleOutput
{
    /// <summary>A file in the way, or an existing directory that may not be replaced, as an <see cref="OptionProblem"/> on <c>outputDirectory</c>.</summary>
    public static IEnumerable<OptionProblem> FindProblems(string? outputDirectory, bool overwrite)
    {
        if (string.IsNullOrWhiteSpace(outputDirectory))
            yield return new OptionProblem("outputDirectory", "is required: the bundle directory to write");
        else if (File.Exists(outputDirectory))
            yield return new OptionProblem("outputDirectory", $"{outputDirectory} is a file, not a bundle directory");
        else if (!overwrite && Directory.Exists(outputDirectory))
            yield return new OptionProblem("outputDirectory", $"{outputDirectory} already exists; choose another or pass {{overwrite}}");
    }
}
