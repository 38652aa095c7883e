using Forge.Core;

namespace Forge.Tracking;

/// <summary>
/// Records a training run through an <see cref="IRunLogger"/>: the start's parameters and tags, each epoch's metrics
/// (flushed, so completed epochs survive a crash), every artifact, and the final metrics and status. Hand it to any
/// trainer's request as its <see cref="ITrainingObserver"/>; a library user is then tracked exactly as the CLI is.
/// </summary>
public sealed class TrackingObserver : ITrainingObserver, IDisposable
{
    private readonly IRunLogger _logger;
    private readonly ITrackingStore? _ownedStore;
    private readonly bool _ownsLogger;

    /// <summary>Records into a run already started; the caller keeps owning <paramref name="logger"/>.</summary>
    public TrackingObserver(IRunLogger logger) : this(logger, null, ownsLogger: false) { }

    private TrackingObserver(IRunLogger logger, ITrackingStore? store, bool ownsLogger)
    {
        ArgumentNullException.ThrowIfNull(logger);
        _logger = logger;
        _ownedStore = store;
        _ownsLogger = ownsLogger;
    }

    /// <summary>Starts a run in <paramref name="experiment"/> of <paramref name="store"/>; disposing the observer ends the logger (not the store).</summary>
    public static TrackingObserver Start(ITrackingStore store, string experiment, string? runName = null) =>
        new(RunLogger.Start(store, experiment, runName), null, ownsLogger: true);

    /// <summary>Opens the store at <paramref name="trackingUri"/> (null: the default) and starts a run; disposing closes both.</summary>
    public static TrackingObserver Start(string? trackingUri, string experiment, string? runName = null)
    {
        var store = TrackingStore.Open(trackingUri);
        try
        {
            return new TrackingObserver(RunLogger.Start(store, experiment, runName), store, ownsLogger: true);
        }
        catch
        {
            store.Dispose();
            throw;
        }
    }

    /// <summary>The tag naming the trainer ("image", "tabular", …).</summary>
    public const string TrainerTag = "forge.trainer";

    /// <summary>The tag naming the dataset.</summary>
    public const string DatasetTag = "forge.dataset";

    /// <summary>The tag holding why a run failed.</summary>
    public const string ErrorTag = "forge.error";

    /// <inheritdoc />
    public string? RunId => _logger.RunId.Length == 0 ? null : _logger.RunId;

    /// <inheritdoc />
    public void Started(TrainingStart start)
    {
        ArgumentNullException.ThrowIfNull(start);
        _logger.LogParams(start.Parameters);
        _logger.SetTag(TrainerTag, start.Trainer);
        _logger.SetTag(DatasetTag, start.Dataset);
        foreach (var (k, v) in start.Tags) _logger.SetTag(k, v);
    }

    /// <inheritdoc />
    public void Epoch(long step, IReadOnlyDictionary<string, double> metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        _logger.LogMetrics(metrics, step);
        _logger.Flush();
    }

    /// <inheritdoc />
    public void Artifact(string localPath, string artifactPath) => _logger.LogArtifact(localPath, artifactPath);

    /// <inheritdoc />
    public void Ended(TrainingEnd end)
    {
        ArgumentNullException.ThrowIfNull(end);
        try
        {
            if (end.Metrics.Count > 0) _logger.LogMetrics(end.Metrics, end.Step);
            if (end.Error is { } error) _logger.SetTag(ErrorTag, error.Length <= 500 ? error : error[..500]);
        }
        finally
        {
            _logger.End(end.Status);
        }
    }

    /// <summary>Ends the run (finished, unless <see cref="Ended"/> said otherwise) when this observer started it, and closes a store it opened.</summary>
    public void Dispose()
    {
        if (_ownsLogger) _logger.Dispose();
        _ownedStore?.Dispose();
    }
}
