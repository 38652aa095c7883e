using Forge.Core;

namespace Forge.Tracking;

/// <summary>
/// Records a training run in a tracking store: the hyperparameters and tags when it starts, each epoch's metrics as it
/// ends (flushed, so a crash keeps them), files worth keeping, and the final metrics, bundle and status. Hand it to any
/// trainer's request (<c>Observer = …</c>) and a C# program is tracked exactly as the <c>forge</c> command is.
/// </summary>
public sealed class TrackingObserver : ITrainingObserver, IDisposable
{
    private readonly IRunStore _store;
    private readonly bool _ownsStore;
    private readonly string _experiment;
    private readonly string? _runName;
    private readonly IReadOnlyDictionary<string, string> _tags;
    private IRunLogger? _logger;

    /// <summary>Records into <paramref name="store"/> (left open) under <paramref name="experiment"/>.</summary>
    /// <param name="store">The tracking store.</param>
    /// <param name="experiment">The experiment runs are filed under; created on first use.</param>
    /// <param name="runName">The run's display name (null: generated).</param>
    /// <param name="tags">Tags set on the run besides the trainer's own (e.g. <c>forge.source</c>; default "library").</param>
    public TrackingObserver(IRunStore store, string experiment, string? runName = null, IReadOnlyDictionary<string, string>? tags = null)
        : this(store, ownsStore: false, experiment, runName, tags)
    {
    }

    private TrackingObserver(IRunStore store, bool ownsStore, string experiment, string? runName, IReadOnlyDictionary<string, string>? tags)
    {
        ArgumentNullException.ThrowIfNull(store);
        if (string.IsNullOrWhiteSpace(experiment)) throw new UsageException("the experiment name is empty");
        _store = store;
        _ownsStore = ownsStore;
        _experiment = experiment;
        _runName = runName;
        _tags = tags ?? new Dictionary<string, string>();
    }

    /// <summary>
    /// Opens the store <paramref name="trackingUri"/> names (null: <c>FORGE_TRACKING_URI</c>, else <c>$FORGE_HOME/forge.db</c>)
    /// now, so a bad URI fails before any training, and closes it when disposed.
    /// </summary>
    public static TrackingObserver Open(string? trackingUri, string experiment, string? runName = null, IReadOnlyDictionary<string, string>? tags = null)
    {
        var store = TrackingStore.Open(trackingUri);
        try
        {
            return new TrackingObserver(store, ownsStore: true, experiment, runName, tags);
        }
        catch
        {
            store.Dispose();
            throw;
        }
    }

    /// <summary>Where the run is recorded, e.g. the SQLite file or the server.</summary>
    public string StoreLocation => _store.Location;

    /// <inheritdoc />
    public string? RunId => _logger?.RunId;

    /// <summary>Why the final status could not be recorded after a failed or cancelled run (the training error matters more), or null.</summary>
    public string? EndWarning { get; private set; }

    /// <inheritdoc />
    public void Started(TrainingStart start)
    {
        ArgumentNullException.ThrowIfNull(start);
        if (_logger is not null) throw new InvalidOperationException("this observer already records a run; use one observer per run");
        _logger = RunLogger.Start(_store, _experiment, _runName);
        _logger.LogParams(new Dictionary<string, string>(start.Parameters, StringComparer.Ordinal) { ["dataset"] = start.Dataset });
        _logger.SetTag(RunTags.Trainer, start.Trainer);
        _logger.SetTag(RunTags.Dataset, start.Dataset);
        if (!_tags.ContainsKey(RunTags.Source)) _logger.SetTag(RunTags.Source, "library");
        foreach (var (key, value) in _tags.Concat(start.Tags)) _logger.SetTag(key, value);
    }

    /// <inheritdoc />
    public void Epoch(long step, IReadOnlyDictionary<string, double> metrics)
    {
        var logger = Require();
        logger.LogMetrics(metrics, step);
        logger.Flush();
    }

    /// <inheritdoc />
    public void Artifact(string localPath, string artifactPath) => Require().LogArtifact(localPath, artifactPath);

    /// <inheritdoc />
    public void Ended(TrainingEnd end)
    {
        ArgumentNullException.ThrowIfNull(end);
        var logger = Require();
        if (end.Status != RunStatus.Finished)
        {
            try
            {
                if (end.Error is { } error) logger.SetTag(RunTags.Error, error.Length <= 500 ? error : error[..500]);
                logger.End(end.Status);
            }
            catch (Exception e) when (e is ForgeException or IOException or InvalidOperationException or System.Data.Common.DbException)
            {
                EndWarning = $"could not mark run {logger.RunId} {end.Status.ToString().ToUpperInvariant()}: {e.Message}";
            }
            return;
        }
        if (end.ChosenParameters.Count > 0) logger.LogParams(end.ChosenParameters);
        if (end.Metrics.Count > 0) logger.LogMetrics(end.Metrics, end.Step);
        if (end.BundlePath is { } bundle)
        {
            logger.LogArtifact(bundle, "model");
            var plots = Path.Combine(bundle, "plots");
            if (Directory.Exists(plots)) logger.LogArtifact(plots, "plots");
        }
        logger.End(RunStatus.Finished);
    }

    /// <summary>Ends a run still open (as finished, see <see cref="IRunLogger"/>) and closes a store this observer opened.</summary>
    public void Dispose()
    {
        _logger?.Dispose();
        if (_ownsStore) _store.Dispose();
    }

    private IRunLogger Require() => _logger ?? throw new InvalidOperationException("the run has not started; call Started first");
}
