using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Threading.Channels;
using Forge.Core;
using Microsoft.Extensions.Logging;

namespace Forge.Serving;

/// <summary>The model's queue is full: the request is refused at once (503) rather than left to wait without bound.</summary>
internal sealed class QueueFullException(string model, int capacity)
    : ForgeException($"model '{model}' has {capacity} requests waiting already; retry shortly");

/// <summary>The batcher was closed (its model is being unloaded) before the request got in; the caller retries on the current version.</summary>
internal sealed class BatcherClosedException() : Exception("the model version is being unloaded");

/// <summary>
/// Adaptive batching for one model version. Requests wait in a bounded queue; one dedicated thread takes the first,
/// lets others join it for up to <see cref="BatchingOptions.MaxDelayMs"/> or until <see cref="BatchingOptions.MaxBatchSize"/>
/// rows, and runs them as one <see cref="IPredictor.Predict"/> call on their tables joined into one. One thread, because TorchSharp models are not meant to
/// run forward passes concurrently, and because one big pass beats many small ones on a few cores.
/// </summary>
internal sealed class ModelBatcher : IDisposable
{
    private readonly IPredictor _predictor;
    private readonly BatchingOptions _options;
    private readonly Channel<WorkItem> _queue;
    private readonly Thread[] _threads;
    // One worker assembles a batch at a time, so each request joins exactly one batch; forward passes then overlap.
    private readonly Lock _assemble = new();
    private readonly ServerMetrics? _metrics;
    private readonly ILogger _logger;
    private readonly string _name;
    private readonly string _version;
    private readonly long _delayTicks;
    private int _depth;
    private long _forwardCalls;
    private long _rows;
    private volatile bool _closed;

    public ModelBatcher(string name, string version, IPredictor predictor, BatchingOptions options, ServerMetrics? metrics, ILogger logger)
    {
        _name = name;
        _version = version;
        _predictor = predictor;
        _options = options;
        _metrics = metrics;
        _logger = logger;
        _delayTicks = (long)(options.MaxDelayMs * Stopwatch.Frequency / 1000);
        _queue = Channel.CreateBounded<WorkItem>(new BoundedChannelOptions(options.QueueCapacity)
        {
            SingleReader = options.Workers == 1,
            FullMode = BoundedChannelFullMode.Wait,
        });
        var workers = predictor is IConcurrentPredictor ? options.Workers : 1;
        _threads = [.. Enumerable.Range(0, workers).Select(i => new Thread(Run) { IsBackground = true, Name = $"forge-infer {name}/{version} #{i + 1}" })];
        foreach (var thread in _threads) thread.Start();
    }

    /// <summary>Requests waiting in the queue.</summary>
    public int QueueDepth => Volatile.Read(ref _depth);

    /// <summary>Forward passes run so far (one per batch).</summary>
    public long ForwardCalls => Interlocked.Read(ref _forwardCalls);

    /// <summary>Rows predicted so far.</summary>
    public long RowsPredicted => Interlocked.Read(ref _rows);

    public BatchingOptions Options => _options;

    /// <summary>Queues the rows and completes with their prediction once a batch holding them has run.</summary>
    public Task<Prediction> PredictAsync(Table rows, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var item = new WorkItem(rows, cancellationToken);
        Interlocked.Increment(ref _depth);
        if (!_queue.Writer.TryWrite(item))
        {
            Interlocked.Decrement(ref _depth);
            if (_closed) throw new BatcherClosedException();
            throw new QueueFullException(_name, _options.QueueCapacity);
        }
        return item.Result.Task.WaitAsync(cancellationToken);
    }

    /// <summary>Forward passes that may run at once.</summary>
    public int Workers => _threads.Length;

    private void Run()
    {
        var batch = new List<WorkItem>();
        while (true)
        {
            int rows;
            lock (_assemble)
            {
                if (!Assemble(batch, out rows)) return;
            }
            if (batch.Count > 0) Execute(batch, rows);
        }
    }

    // Waits for a request, then gathers what arrives within the batching window; false once the queue is closed and empty.
    private bool Assemble(List<WorkItem> batch, out int rows)
    {
        var reader = _queue.Reader;
        rows = 0;
        batch.Clear();
        if (!WaitToRead(reader, Timeout.InfiniteTimeSpan)) return false;
        var deadline = Stopwatch.GetTimestamp() + _delayTicks;
        while (rows < _options.MaxBatchSize)
        {
            if (reader.TryPeek(out var next))
            {
                // A request that would overflow the batch waits for the next one, unless the batch is empty.
                if (rows > 0 && rows + next.Rows.RowCount > _options.MaxBatchSize) break;
                reader.TryRead(out _);
                Interlocked.Decrement(ref _depth);
                if (next.Token.IsCancellationRequested)
                {
                    next.Result.TrySetCanceled(next.Token);
                    continue;
                }
                batch.Add(next);
                rows += next.Rows.RowCount;
                continue;
            }
            var remaining = deadline - Stopwatch.GetTimestamp();
            if (remaining <= 0 || !WaitToRead(reader, TimeSpan.FromSeconds((double)remaining / Stopwatch.Frequency))) break;
        }
        return true;
    }

    private static bool WaitToRead(ChannelReader<WorkItem> reader, TimeSpan timeout)
    {
        if (timeout == Timeout.InfiniteTimeSpan) return reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            return reader.WaitToReadAsync(cts.Token).AsTask().GetAwaiter().GetResult();
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private void Execute(List<WorkItem> batch, int rowCount)
    {
        var rows = batch.Count == 1 ? batch[0].Rows : Table.Concat([.. batch.Select(b => b.Rows)]);
        Prediction output;
        try
        {
            output = Forward(rows);
        }
        catch (ExternalException e)
        {
            // A native failure may be transient (libtorch under memory pressure); one retry costs one pass.
            _logger.LogWarning(e, "forward pass of {Model} version {Version} failed on {Rows} rows; retrying once", _name, _version, rowCount);
            _metrics?.ForwardRetries.WithLabels(_name, _version).Inc(1);
            try
            {
                output = Forward(rows);
            }
            catch (Exception again) when (again is not OutOfMemoryException)
            {
                _logger.LogError(again, "retry of {Model} version {Version} failed on {Rows} rows; running them one at a time", _name, _version, rowCount);
                Isolate(batch);
                return;
            }
        }
        catch (UsageException) when (rowCount > 1)
        {
            // One row's own fault (wrong size, a value the model refuses) must not fail the rows batched with it.
            Isolate(batch);
            return;
        }
        catch (Exception e)
        {
            _logger.LogError(e, "forward pass of {Model} version {Version} failed on {Rows} rows", _name, _version, rowCount);
            foreach (var item in batch) item.Result.TrySetException(e);
            return;
        }
        var offset = 0;
        foreach (var item in batch)
        {
            item.Result.TrySetResult(batch.Count == 1 ? output : output.Slice(offset, item.Rows.RowCount));
            offset += item.Rows.RowCount;
        }
    }

    // Runs each row alone, so only the requests whose own rows fail are answered with an error.
    private void Isolate(List<WorkItem> batch)
    {
        foreach (var item in batch)
        {
            var results = new Prediction[item.Rows.RowCount];
            Exception? failure = null;
            for (var i = 0; i < item.Rows.RowCount && failure is null; i++)
            {
                _metrics?.ForwardRetries.WithLabels(_name, _version).Inc(1);
                try
                {
                    results[i] = Forward(item.Rows.Slice(i, 1));
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    if (e is not UsageException) _logger.LogError(e, "forward pass of {Model} version {Version} failed on one row", _name, _version);
                    failure = e;
                }
            }
            if (failure is null) item.Result.TrySetResult(Join(results));
            else item.Result.TrySetException(failure);
        }
    }

    // One real forward pass, counted whether it succeeds or not.
    private Prediction Forward(Table rows)
    {
        try
        {
            var output = _predictor.Predict(rows);
            if (output.RowCount != rows.RowCount) throw new InvalidOperationException($"the model returned {output.RowCount} rows for {rows.RowCount}");
            return output;
        }
        finally
        {
            Interlocked.Increment(ref _forwardCalls);
            Interlocked.Add(ref _rows, rows.RowCount);
            _metrics?.BatchSize.WithLabels(_name, _version).Observe(rows.RowCount);
        }
    }

    // Rows predicted one at a time, as one prediction again.
    private static Prediction Join(Prediction[] parts)
    {
        if (parts.Length == 1) return parts[0];
        var joined = parts[0].Probabilities is not null
            ? Prediction.Classes(parts[0].Labels, [.. parts.SelectMany(p => p.Probabilities!)])
            : Prediction.Regression([.. parts.SelectMany(p => p.Values!)]);
        // A text model's embeddings go on to drift monitoring with the answer.
        return parts.All(p => p.Embeddings is not null) ? joined.WithEmbeddings([.. parts.SelectMany(p => p.Embeddings!)]) : joined;
    }

    /// <summary>Stops taking requests, lets the workers finish every queued one, and waits for them.</summary>
    public void Dispose()
    {
        _closed = true;
        if (!_queue.Writer.TryComplete()) return;
        foreach (var thread in _threads) thread.Join();
    }

    private sealed class WorkItem(Table rows, CancellationToken token)
    {
        public Table Rows { get; } = rows;

        public CancellationToken Token { get; } = token;

        // Completions run on the thread pool, never inline on the inference thread.
        public TaskCompletionSource<Prediction> Result { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
