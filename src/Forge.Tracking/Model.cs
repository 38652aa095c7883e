using Forge.Core;

namespace Forge.Tracking;

/// <summary>A named group of runs, e.g. one per task or project.</summary>
/// <param name="Id">The store's id for the experiment.</param>
/// <param name="Name">The unique name.</param>
/// <param name="ArtifactLocation">The folder under which this experiment's runs keep their artifacts.</param>
/// <param name="CreatedAt">When the experiment was created.</param>
public sealed record Experiment(long Id, string Name, string ArtifactLocation, DateTimeOffset CreatedAt);

/// <summary>What the store knows about a run, without its params, tags or metrics.</summary>
public sealed record RunInfo
{
    /// <summary>The run's unique id (32 lowercase hex digits).</summary>
    public required string RunId { get; init; }

    /// <summary>The run's display name.</summary>
    public required string Name { get; init; }

    /// <summary>The experiment the run belongs to.</summary>
    public required string ExperimentName { get; init; }

    /// <summary>The run's current status.</summary>
    public required RunStatus Status { get; init; }

    /// <summary>When the run started.</summary>
    public required DateTimeOffset StartTime { get; init; }

    /// <summary>When the run ended; null while it is running.</summary>
    public DateTimeOffset? EndTime { get; init; }

    /// <summary>The last sign of life from the process running it.</summary>
    public required DateTimeOffset Heartbeat { get; init; }

    /// <summary>The run this one is nested in (e.g. a tuning study's parent run), if any.</summary>
    public string? ParentRunId { get; init; }

    /// <summary>True when the run was soft-deleted; it can be restored.</summary>
    public bool Deleted { get; init; }

    /// <summary>The folder holding the run's artifacts.</summary>
    public required string ArtifactLocation { get; init; }

    /// <summary>
    /// True when the run is still <see cref="RunStatus.Running"/> but its heartbeat is older than the store's stale
    /// threshold: its process most likely died (killed, crashed, machine lost).
    /// </summary>
    public bool Stale { get; init; }
}

/// <summary>A run with its parameters, tags and the latest value of each metric.</summary>
/// <param name="Info">The run's attributes.</param>
/// <param name="Params">Parameters by key.</param>
/// <param name="Tags">Tags by key.</param>
/// <param name="Metrics">The latest point of each metric, by key.</param>
public sealed record Run(
    RunInfo Info,
    IReadOnlyDictionary<string, string> Params,
    IReadOnlyDictionary<string, string> Tags,
    IReadOnlyDictionary<string, MetricPoint> Metrics);

/// <summary>One point of a metric's time series.</summary>
/// <param name="Key">The metric's name.</param>
/// <param name="Value">The value; NaN and infinities are kept.</param>
/// <param name="Step">The step (epoch, iteration) the value belongs to.</param>
/// <param name="Timestamp">When the value was measured.</param>
public sealed record MetricPoint(string Key, double Value, long Step, DateTimeOffset Timestamp);

/// <summary>One file in a run's artifacts.</summary>
/// <param name="Path">The file's path relative to the run's artifact folder, with '/'.</param>
/// <param name="Size">The file's length in bytes.</param>
/// <param name="Sha256">Lowercase hexadecimal SHA-256 of the file's bytes.</param>
public sealed record ArtifactInfo(string Path, long Size, string Sha256);

/// <summary>Which runs <see cref="IRunStore.SearchRuns"/> returns, in what order and how many at a time.</summary>
public sealed record RunQuery
{
    /// <summary>Only runs of these experiments; all experiments when empty.</summary>
    public IReadOnlyList<string> Experiments { get; init; } = [];

    /// <summary>
    /// A filter such as <c>metrics.accuracy &gt; 0.9 and params.model = 'cnn' and tags.team = 'a' and status = 'FINISHED'</c>:
    /// clauses joined by <c>and</c>; metrics compare as numbers, params, tags and attributes as text
    /// (<c>= != &lt; &lt;= &gt; &gt;= like ilike</c>; <c>like</c> is case-sensitive on PostgreSQL only, <c>ilike</c> never is).
    /// Null or empty means every run.
    /// </summary>
    public string? Filter { get; init; }

    /// <summary>
    /// Comma-separated sort keys, each <c>metrics.K</c>, <c>params.K</c>, <c>tags.K</c> or an attribute
    /// (<c>start_time</c>, <c>end_time</c>, <c>name</c>, <c>status</c>), optionally followed by ASC or DESC.
    /// Runs without the sorted metric/param/tag come last. Default: <c>start_time DESC</c>.
    /// </summary>
    public string? OrderBy { get; init; }

    /// <summary>The page size, 1 to 50,000.</summary>
    public int MaxResults { get; init; } = 1000;

    /// <summary>The <see cref="RunPage.NextPageToken"/> of the previous page, or null for the first page.</summary>
    public string? PageToken { get; init; }

    /// <summary>Whether soft-deleted runs are included (they are left out by default).</summary>
    public bool IncludeDeleted { get; init; }
}

/// <summary>One page of search results.</summary>
/// <param name="Runs">The runs on this page, in the requested order.</param>
/// <param name="NextPageToken">The token for the next page, or null when this is the last one.</param>
public sealed record RunPage(IReadOnlyList<RunInfo> Runs, string? NextPageToken);

/// <summary>A named model in the registry; its versions are immutable copies of bundles.</summary>
/// <param name="Name">The unique name.</param>
/// <param name="Description">A free-text description, if any.</param>
/// <param name="CreatedAt">When the name was registered.</param>
/// <param name="UpdatedAt">When anything about the model last changed.</param>
/// <param name="LatestVersion">The highest version number, or null before the first version.</param>
/// <param name="Aliases">Version numbers by alias, e.g. "champion" → 3.</param>
/// <param name="Tags">Tags by key.</param>
public sealed record RegisteredModel(
    string Name,
    string? Description,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    int? LatestVersion,
    IReadOnlyDictionary<string, int> Aliases,
    IReadOnlyDictionary<string, string> Tags);

/// <summary>Where a model version came from: the run that trained it and the data and code it was trained on.</summary>
/// <param name="RunId">The training run, when known.</param>
/// <param name="Dataset">The training dataset's name, when known.</param>
/// <param name="DatasetChecksum">The checksum identifying the exact training data, when known.</param>
/// <param name="GitCommit">The source commit the trainer ran from, when known.</param>
public sealed record ModelLineage(string? RunId, string? Dataset, string? DatasetChecksum, string? GitCommit);

/// <summary>One immutable version of a registered model.</summary>
/// <param name="Name">The registered model's name.</param>
/// <param name="Version">The version number, 1, 2, … in order of registration.</param>
/// <param name="Source">The folder holding this version's bundle in the artifact store.</param>
/// <param name="Description">A free-text description, if any.</param>
/// <param name="CreatedAt">When the version was registered.</param>
/// <param name="Lineage">The run, dataset and commit behind the version.</param>
/// <param name="Aliases">The aliases pointing at this version.</param>
/// <param name="Tags">Tags by key.</param>
public sealed record ModelVersion(
    string Name,
    int Version,
    string Source,
    string? Description,
    DateTimeOffset CreatedAt,
    ModelLineage Lineage,
    IReadOnlyList<string> Aliases,
    IReadOnlyDictionary<string, string> Tags);

/// <summary>Settings for <see cref="TrackingStore.Open"/>.</summary>
public sealed record TrackingStoreOptions
{
    /// <summary>Where artifacts and registered bundles are copied; default <c>$FORGE_HOME/artifacts</c>.</summary>
    public string? ArtifactRoot { get; init; }

    /// <summary>How old a running run's heartbeat may be before the run is reported stale; default 60 seconds.</summary>
    public TimeSpan StaleAfter { get; init; } = TimeSpan.FromSeconds(60);
}
