using Forge.Core;

namespace Forge.Tracking;

/// <summary>Settings for <see cref="RunLogger"/>.</summary>
public sealed record RunLoggerOptions
{
    /// <summary>How often the background thread marks the run alive and writes buffered metrics; default 5 seconds.</summary>
    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Buffered metric points that trigger a write at once; default 1000.</summary>
    public int BatchSize { get; init; } = 1000;
}

/// <summary>
/// An <see cref="IRunLogger"/> over an <see cref="IRunStore"/>: it creates the run, keeps its heartbeat fresh from a
/// background timer, and buffers metric points, writing them in batches (when the buffer fills, on every heartbeat, and
/// on <see cref="Flush"/>, <see cref="End"/> and <see cref="Dispose"/>). Safe to use from several threads.
/// </summary>
public sealed class RunLogger : IRunLogger
{
    private readonly IRunStore _store;
    private readonly RunLoggerOptions _options;
    private readonly Lock _bufferLock = new();
    // Held while writing a batch, so batches reach the store in the order they were logged.
    private readonly Lock _flushLock = new();
    private readonly Timer _timer;
    private List<MetricPoint> _buffer = [];
    private bool _ended;

    private RunLogger(IRunStore store, RunInfo run, RunLoggerOptions options)
    {
        _store = store;
        _options = options;
        Info = run;
        _timer = new Timer(_ => Beat(), null, options.HeartbeatInterval, options.HeartbeatInterval);
    }

    /// <summary>
    /// Starts a run in <paramref name="experiment"/> (created when missing), tagged with the git commit of the current
    /// directory when there is one, and returns its logger.
    /// </summary>
    public static RunLogger Start(IRunStore store, string experiment, string? runName = null, string? parentRunId = null, RunLoggerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        options ??= new RunLoggerOptions();
        if (options.HeartbeatInterval <= TimeSpan.Zero) throw new UsageException("the heartbeat interval must be positive");
        ArgumentOutOfRangeException.ThrowIfLessThan(options.BatchSize, 1);
        var run = store.CreateRun(experiment, runName, parentRunId);
        if (GitInfo.TryGetCommit() is { } commit) store.SetTags(run.RunId, new Dictionary<string, string> { ["forge.gitCommit"] = commit });
        return new RunLogger(store, run, options);
    }

    /// <summary>The run as it was created.</summary>
    public RunInfo Info { get; }

    /// <inheritdoc />
    public string RunId => Info.RunId;

    /// <summary>The error of the last background heartbeat or flush, if it failed; the points it could not write stay buffered.</summary>
    public Exception? LastBackgroundError { get; private set; }

    /// <inheritdoc />
    public void LogParams(IReadOnlyDictionary<string, string> parameters) => _store.LogParams(RunId, parameters);

    /// <inheritdoc />
    public void SetTag(string key, string value) => _store.SetTags(RunId, new Dictionary<string, string> { [key] = value });

    /// <inheritdoc />
    public void LogMetric(string key, double value, long step)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(key);
        Add([new MetricPoint(key, value, step, DateTimeOffset.UtcNow)]);
    }

    /// <inheritdoc />
    public void LogMetrics(IReadOnlyDictionary<string, double> metrics, long step)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        var now = DateTimeOffset.UtcNow;
        Add(metrics.Select(m => new MetricPoint(m.Key, m.Value, step, now)).ToList());
    }

    /// <inheritdoc />
    public void LogArtifact(string localPath, string? artifactPath = null) => _store.LogArtifact(RunId, localPath, artifactPath);

    /// <inheritdoc />
    public void Flush()
    {
        lock (_flushLock)
        {
            List<MetricPoint> batch;
            lock (_bufferLock)
            {
                if (_buffer.Count == 0) return;
                batch = _buffer;
                _buffer = [];
            }
            try
            {
                _store.LogMetrics(RunId, batch);
            }
            catch
            {
                // Put the points back in front of anything logged meanwhile, so a later flush can still write them in order.
                lock (_bufferLock)
                {
                    batch.AddRange(_buffer);
                    _buffer = batch;
                }
                throw;
            }
        }
    }

    /// <inheritdoc />
    public void End(RunStatus status)
    {
        lock (_bufferLock)
        {
            if (_ended) return;
            _ended = true;
        }
        // Wait for a heartbeat in progress: it must not write after the final status.
        using (var stopped = new ManualResetEvent(false))
        {
            if (_timer.Dispose(stopped)) stopped.WaitOne();
        }
        try
        {
            Flush();
        }
        finally
        {
            _store.SetRunStatus(RunId, status);
        }
    }

    /// <summary>Flushes and marks the run finished, unless <see cref="End"/> was already called.</summary>
    public void Dispose() => End(RunStatus.Finished);

    private void Add(List<MetricPoint> points)
    {
        bool full;
        lock (_bufferLock)
        {
            if (_ended) throw new InvalidOperationException($"run {RunId} has ended; start a new run to log more metrics");
            _buffer.AddRange(points);
            full = _buffer.Count >= _options.BatchSize;
        }
        if (full) Flush();
    }

    private void Beat()
    {
        try
        {
            _store.Heartbeat(RunId);
            Flush();
            LastBackgroundError = null;
        }
        catch (ForgeException ex)
        {
            // A busy or unreachable store must not kill the training it records; the next beat or flush tries again.
            LastBackgroundError = ex;
        }
        catch (System.Data.Common.DbException ex)
        {
            LastBackgroundError = ex;
        }
        catch (IOException ex)
        {
            LastBackgroundError = ex;
        }
    }
}
