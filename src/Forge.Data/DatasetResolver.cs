using System.Text.Json;
using Forge.Core;

namespace Forge.Data;

/// <summary>Progress of one file download: bytes received so far and the total when the server announced it.</summary>
public sealed record DownloadProgress(string File, long Bytes, long? TotalBytes);

/// <summary>How a <see cref="DatasetResolver"/> looks for datasets.</summary>
public sealed class DatasetResolverOptions
{
    /// <summary>The dataset's own folder (<c>--data-dir</c>); when given it is the only place looked at.</summary>
    public string? DataDir { get; init; }

    /// <summary>Where the search for <c>forge.json</c> starts walking up; the current directory when null.</summary>
    public string? WorkingDirectory { get; init; }

    /// <summary>Whether a dataset found nowhere may be downloaded into the cache (default true).</summary>
    public bool AllowDownload { get; init; } = true;

    /// <summary>Receives download progress.</summary>
    public IProgress<DownloadProgress>? Progress { get; init; }

    /// <summary>The client used for downloads; a shared default client when null.</summary>
    public HttpClient? Http { get; init; }

    /// <summary>More read-only roots searched after the catalog's system locations, each joined with the dataset's folder name.</summary>
    public IReadOnlyList<string>? ExtraSystemLocations { get; init; }

    /// <summary>Replaces the built-in catalog, so tests can resolve small synthetic datasets.</summary>
    internal IReadOnlyList<DatasetInfo>? Catalog { get; init; }
}

/// <summary>A dataset found on disk: its catalog entry, its folder and which source supplied it.</summary>
public sealed record ResolvedDataset(DatasetInfo Info, string Directory, string Source)
{
    /// <summary>Whether the folder holds <paramref name="fileName"/> (the catalog name, raw or as <c>.gz</c>).</summary>
    public bool Has(string fileName) => FindFile(fileName) is not null;

    /// <summary>The full path of <paramref name="fileName"/> in the folder (raw preferred over <c>.gz</c>), or null when it is absent.</summary>
    public string? FindFile(string fileName)
    {
        ArgumentNullException.ThrowIfNull(fileName);
        return DatasetFiles.Locate(Directory, fileName);
    }

    /// <summary>The catalog files this folder lacks (only possible for datasets that accept a single split).</summary>
    public IReadOnlyList<string> MissingFiles => [.. Info.Files.Where(f => !Has(f.FileName)).Select(f => f.FileName)];
}

/// <summary>Finds a dataset's folder: <c>--data-dir</c>, <c>FORGE_DATA_DIR</c>, <c>forge.json</c>, system locations, the cache, then a download.</summary>
public sealed class DatasetResolver
{
    /// <summary>The environment variable naming a read-only root that holds dataset folders.</summary>
    public const string DataDirVariable = "FORGE_DATA_DIR";

    /// <summary>The repository configuration file whose <c>dataDirs</c> list more dataset roots.</summary>
    public const string ConfigFileName = "forge.json";

    private static readonly Lazy<HttpClient> DefaultHttp = new(CreateDefaultHttp);
    private readonly DatasetResolverOptions options;

    /// <summary>Creates a resolver; default options search everywhere and allow downloads.</summary>
    public DatasetResolver(DatasetResolverOptions? options = null) => this.options = options ?? new DatasetResolverOptions();

    /// <summary>Finds (or downloads) the dataset named <paramref name="name"/>.</summary>
    public ResolvedDataset Resolve(string name) => ResolveAsync(name).GetAwaiter().GetResult();

    /// <summary>Finds (or downloads) the dataset named <paramref name="name"/>.</summary>
    public async Task<ResolvedDataset> ResolveAsync(string name, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        var info = DatasetCatalog.Get(name, options.Catalog ?? DatasetCatalog.All);
        if (options.DataDir is not null)
            return FromDataDir(info, options.DataDir);

        var candidates = SearchFolders(info);
        foreach (var (directory, source) in candidates)
        {
            if (IsComplete(info, directory))
                return new ResolvedDataset(info, directory, source);
        }
        if (info.AcceptsSingleSplit)
        {
            foreach (var (directory, source) in candidates)
            {
                if (HasCompleteSplit(info, directory))
                    return new ResolvedDataset(info, directory, source);
            }
        }

        var lookedIn = string.Join(", ", candidates.Select(c => $"{c.Directory} ({Describe(info, c.Directory)})"));
        var suggestion = $"pass --data-dir with the dataset's folder or set {DataDirVariable} to a folder holding {info.Folder}/";
        if (info.Homepage is not null)
            suggestion += $"; get it from {info.Homepage}";
        if (!options.AllowDownload)
            throw new ForgeException($"dataset '{info.Name}' not found and downloads are off; looked in {lookedIn}; {suggestion}");
        var cache = Path.Combine(ForgePaths.DatasetCache, info.Name);
        var downloader = new DatasetDownloader(options.Http ?? DefaultHttp.Value, options.Progress);
        await downloader.DownloadAsync(info, cache, $"looked in {lookedIn}; {suggestion}", ct).ConfigureAwait(false);
        return new ResolvedDataset(info, cache, "download");
    }

    /// <summary>Decompresses every file present and checks its size and SHA-256 against the catalog; a mismatch names the file.</summary>
    public static void Verify(ResolvedDataset dataset)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        var missing = dataset.MissingFiles;
        if (missing.Count > 0 && !dataset.Info.AcceptsSingleSplit)
            throw new ForgeException($"{dataset.Directory}: dataset '{dataset.Info.Name}' lacks {string.Join(", ", missing)}");
        foreach (var file in dataset.Info.Files)
        {
            if (dataset.FindFile(file.FileName) is { } path)
                DatasetFiles.Check(path, file);
        }
    }

    /// <summary>The folders searched, in order, with the source each one counts as.</summary>
    internal IReadOnlyList<(string Directory, string Source)> SearchFolders(DatasetInfo info)
    {
        var folders = new List<(string, string)>();
        var fromEnvironment = Environment.GetEnvironmentVariable(DataDirVariable);
        if (!string.IsNullOrWhiteSpace(fromEnvironment))
        {
            foreach (var root in fromEnvironment.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                folders.Add((Path.GetFullPath(Path.Combine(root, info.Folder)), DataDirVariable));
        }
        if (FindConfig(options.WorkingDirectory ?? Environment.CurrentDirectory) is { } config)
        {
            var configFolder = Path.GetDirectoryName(config)!;
            foreach (var root in ReadDataDirs(config))
                folders.Add((Path.GetFullPath(Path.Combine(configFolder, root, info.Folder)), ConfigFileName));
        }
        foreach (var location in info.SystemLocations)
            folders.Add((Path.GetFullPath(location), "system"));
        foreach (var root in options.ExtraSystemLocations ?? [])
            folders.Add((Path.GetFullPath(Path.Combine(root, info.Folder)), "system"));
        folders.Add((Path.Combine(ForgePaths.DatasetCache, info.Name), "cache"));
        return folders;
    }

    private static ResolvedDataset FromDataDir(DatasetInfo info, string dataDir)
    {
        var directory = Path.GetFullPath(dataDir);
        // People often pass the root that holds dataset folders rather than the folder itself; accept both.
        var nested = Path.Combine(directory, info.Folder);
        foreach (var candidate in new[] { directory, nested })
        {
            if (IsComplete(info, candidate) || (info.AcceptsSingleSplit && HasCompleteSplit(info, candidate)))
                return new ResolvedDataset(info, candidate, "data-dir");
        }
        if (!Directory.Exists(directory))
            throw new ForgeException($"--data-dir {directory} does not exist");
        var missing = info.Files.Where(f => DatasetFiles.Locate(directory, f.FileName) is null).Select(f => f.FileName);
        throw new ForgeException($"--data-dir {directory} lacks {info.Name} files: {string.Join(", ", missing)} (raw or .gz)");
    }

    private static bool IsComplete(DatasetInfo info, string directory) =>
        Directory.Exists(directory) && info.Files.All(f => DatasetFiles.Locate(directory, f.FileName) is not null);

    private static bool HasCompleteSplit(DatasetInfo info, string directory) =>
        Directory.Exists(directory)
        && info.Files.Where(f => f.Split is not null).GroupBy(f => f.Split)
            .Any(split => split.All(f => DatasetFiles.Locate(directory, f.FileName) is not null));

    private static string Describe(DatasetInfo info, string directory)
    {
        if (!Directory.Exists(directory))
            return "absent";
        var present = info.Files.Count(f => DatasetFiles.Locate(directory, f.FileName) is not null);
        return $"{present} of {info.Files.Count} files";
    }

    private static string? FindConfig(string start)
    {
        for (var folder = new DirectoryInfo(Path.GetFullPath(start)); folder is not null; folder = folder.Parent)
        {
            var candidate = Path.Combine(folder.FullName, ConfigFileName);
            if (File.Exists(candidate))
                return candidate;
        }
        return null;
    }

    private static List<string> ReadDataDirs(string configPath)
    {
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllText(configPath), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                throw new DataFormatException(configPath, "expected a JSON object");
            if (!document.RootElement.TryGetProperty("dataDirs", out var dataDirs))
                return [];
            if (dataDirs.ValueKind != JsonValueKind.Array)
                throw new DataFormatException(configPath, "\"dataDirs\" must be an array of folder paths");
            var roots = new List<string>();
            foreach (var entry in dataDirs.EnumerateArray())
            {
                if (entry.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(entry.GetString()))
                    throw new DataFormatException(configPath, $"\"dataDirs\" entry {entry.GetRawText()} is not a folder path");
                roots.Add(entry.GetString()!);
            }
            return roots;
        }
        catch (JsonException ex)
        {
            throw new DataFormatException(configPath, $"invalid JSON ({ex.Message})", ex);
        }
    }

    private static HttpClient CreateDefaultHttp()
    {
        var http = new HttpClient { Timeout = TimeSpan.FromMinutes(2) };
        http.DefaultRequestHeaders.UserAgent.ParseAdd("Forge/0.1");
        return http;
    }
}
