namespace Forge.Core;

/// <summary>The tags Forge itself sets on tracked runs.</summary>
public static class RunTags
{
    /// <summary>What started the run: "cli" for the forge command, "library" for a C# program.</summary>
    public const string Source = "forge.source";

    /// <summary>The SHA-256 over the dataset files trained on.</summary>
    public const string DatasetChecksum = "forge.datasetChecksum";

    /// <summary>Which trainer ran: "image", "transfer", "sentiment", "tabular".</summary>
    public const string Trainer = "forge.trainer";

    /// <summary>The dataset trained on (also a parameter, kept as a tag so runs filter by it).</summary>
    public const string Dataset = "forge.dataset";

    /// <summary>Why a run failed (its first 500 characters).</summary>
    public const string Error = "forge.error";
}

/// <summary>The life-cycle state of a tracked run, as MLflow names them.</summary>
public enum RunStatus
{
    /// <summary>The run is in progress (or its process died; then its heartbeat goes stale).</summary>
    Running,

    /// <summary>The run completed.</summary>
    Finished,

    /// <summary>The run stopped on an error.</summary>
    Failed,

    /// <summary>The run was stopped on purpose before completing.</summary>
    Killed,
}

/// <summary>
/// Records one training run: parameters, tags, metric time series and artifacts. Trainers log through this interface so
/// that a user's own C# code and the CLI produce the same record; <see cref="NullRunLogger"/> turns tracking off.
/// </summary>
/// <remarks>
/// Metrics are buffered and written in batches; call <see cref="Flush"/> at points that must survive a crash (e.g. the
/// end of an epoch). Disposing without <see cref="End"/> flushes and marks the run <see cref="RunStatus.Finished"/>:
/// whether an exception is unwinding cannot be known from Dispose, so code that fails should call
/// <c>End(RunStatus.Failed)</c> itself.
/// </remarks>
public interface IRunLogger : IDisposable
{
    /// <summary>The run's id in the tracking store; empty for <see cref="NullRunLogger"/>.</summary>
    string RunId { get; }

    /// <summary>Records parameters (hyperparameters, options); a parameter keeps its first value.</summary>
    void LogParams(IReadOnlyDictionary<string, string> parameters);

    /// <summary>Sets a tag, replacing an earlier value of the same key.</summary>
    void SetTag(string key, string value);

    /// <summary>Adds one point to the time series <paramref name="key"/>; buffered until the next flush.</summary>
    void LogMetric(string key, double value, long step);

    /// <summary>Adds one point per entry, all at the same <paramref name="step"/>; buffered until the next flush.</summary>
    void LogMetrics(IReadOnlyDictionary<string, double> metrics, long step);

    /// <summary>
    /// Copies a file or a directory into the run's artifacts, atomically per file. A file goes into the folder
    /// <paramref name="artifactPath"/> (the root when null); a directory's contents go under <paramref name="artifactPath"/>,
    /// or under the directory's own name when null.
    /// </summary>
    void LogArtifact(string localPath, string? artifactPath = null);

    /// <summary>Writes every buffered metric point now.</summary>
    void Flush();

    /// <summary>Flushes, stops the heartbeat and records the final status and end time; later calls do nothing.</summary>
    void End(RunStatus status);
}

/// <summary>An <see cref="IRunLogger"/> that records nothing, for <c>--no-track</c>.</summary>
public sealed class NullRunLogger : IRunLogger
{
    /// <summary>The shared instance; it holds no state.</summary>
    public static NullRunLogger Instance { get; } = new();

    /// <summary>Always empty: no run exists.</summary>
    public string RunId => "";

    /// <summary>Does nothing.</summary>
    public void LogParams(IReadOnlyDictionary<string, string> parameters) { }

    /// <summary>Does nothing.</summary>
    public void SetTag(string key, string value) { }

    /// <summary>Does nothing.</summary>
    public void LogMetric(string key, double value, long step) { }

    /// <summary>Does nothing.</summary>
    public void LogMetrics(IReadOnlyDictionary<string, double> metrics, long step) { }

    /// <summary>Does nothing.</summary>
    public void LogArtifact(string localPath, string? artifactPath = null) { }

    /// <summary>Does nothing.</summary>
    public void Flush() { }

    /// <summary>Does nothing.</summary>
    public void End(RunStatus status) { }

    /// <summary>Does nothing.</summary>
    public void Dispose() { }
}
