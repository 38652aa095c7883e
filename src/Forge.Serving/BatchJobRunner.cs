using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Forge.Core;
using Forge.Data;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Forge.Serving;

/// <summary>A job that cannot go on; its message becomes the job's reason.</summary>
internal sealed class BatchJobFailedException(string reason) : ForgeException(reason);

/// <summary>
/// Runs batch jobs in the background. A job's input is read in chunks; each chunk is decoded and predicted on a worker
/// through the model's own <see cref="ModelBatcher"/> (in requests of at most the model's batch size, so they share the
/// inference thread and its batches with real-time traffic), with at most <see cref="BatchJobOptions.MaxParallelChunks"/>
/// chunks in flight, which keeps memory flat whatever the input's size. Results are appended in input order and each
/// chunk is committed (results flushed to disk, then the state file replaced) so a restarted server resumes after the
/// last committed chunk.
/// </summary>
internal sealed class BatchJobRunner(BatchJobStore store, ModelCatalog catalog, ServerMetrics metrics, ILogger<BatchJobRunner> logger) : BackgroundService
{
    private readonly Channel<BatchJob> _queue = Channel.CreateUnbounded<BatchJob>(new UnboundedChannelOptions { SingleReader = false });

    private readonly Prometheus.Counter _rows = metrics.Factory.CreateCounter(
        "forge_batch_rows_total", "Batch job rows done, by model and outcome (predicted, or error for a row that failed validation).", ["model", "outcome"]);



    /// <summary>Queues a job to run.</summary>
    public void Enqueue(BatchJob job) => _queue.Writer.TryWrite(job);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();
        var jobs = metrics.Factory.CreateGauge("forge_batch_jobs", "Batch jobs this server holds, by status.", ["status"]);
        metrics.ScrapeGauge(jobs, () => store.OwnedJobs.GroupBy(j => j.Snapshot().Status).Select(g => (new[] { g.Key }, (double)g.Count())));
        logger.LogInformation("batch jobs directory: {Root}", store.Root);
        foreach (var job in store.Recover()) Recovered(job);
        var workers = Enumerable.Range(0, store.Options.MaxConcurrentJobs).Select(_ => WorkAsync(stoppingToken)).ToArray();
        await Task.WhenAll(workers);
    }

    /// <summary>A job a previous server left unfinished: resumed from its last committed chunk, or failed with the reason it cannot be.</summary>
    private void Recovered(BatchJob job)
    {
        var state = job.Snapshot();
        var why = catalog.Find(state.Model, state.Version).Entry is null
            ? $"this server does not serve model '{state.Model}'" + (state.Version is null ? "" : $" version {state.Version}")
            : !File.Exists(job.InputPath) ? "its input file is gone"
            : null;
        if (why is not null)
        {
            logger.LogWarning("batch job {Id} was left {Status} by a server that stopped; it cannot resume: {Why}", state.Id, state.Status, why);
            Finish(job, BatchJobStatus.Failed, $"server restarted mid-job; {why}");
            return;
        }
        if (state.Status == BatchJobStatus.Running || state.RowsDone > 0)
        {
            job.Update(s =>
            {
                s.Status = BatchJobStatus.Queued;
                s.Resumes++;
                s.Note = string.Create(CultureInfo.InvariantCulture, $"resumed after a server restart from row {s.RowsDone} of {s.RowsTotal}");
            });
            logger.LogInformation("batch job {Id} resumes from row {Row} of {Total}", state.Id, state.RowsDone, state.RowsTotal);
        }
        Enqueue(job);
    }

    private async Task WorkAsync(CancellationToken stopping)
    {
        try
        {
            await foreach (var job in _queue.Reader.ReadAllAsync(stopping)) await RunAsync(job, stopping);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // Jobs still queued stay "queued" on disk; the next server over this directory runs them.
        }
    }

    private async Task RunAsync(BatchJob job, CancellationToken stopping)
    {
        if (job.CancelRequested || BatchJobStatus.IsFinished(job.Snapshot().Status)) return;
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(stopping, job.Cancel.Token);
        var ct = linked.Token;
        try
        {
            var entry = await FindModelAsync(job.Snapshot(), ct);
            lock (job.Gate) job.RunStart = Stopwatch.GetTimestamp();
            job.Update(s =>
            {
                s.Status = BatchJobStatus.Running;
                s.StartedAt ??= DateTimeOffset.UtcNow;
            });
            logger.LogInformation("batch job {Id} running: {Rows} rows on {Model}", job.Id, job.State.RowsTotal, entry.Name);
            await ProcessAsync(job, entry, ct);
            Finish(job, BatchJobStatus.Succeeded, null);
            var done = job.Snapshot();
            logger.LogInformation("batch job {Id} succeeded: {Rows} rows, {Errors} errors, {Seconds:F1} s", job.Id, done.RowsDone, done.Errors, done.RunSeconds);
        }
        catch (OperationCanceledException) when (job.CancelRequested)
        {
            Finish(job, BatchJobStatus.Cancelled, "cancelled by a client");
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // Left queued with its committed progress: the next server over this directory resumes it.
            EndRun(job);
            job.Update(s =>
            {
                s.Status = BatchJobStatus.Queued;
                s.Note = string.Create(CultureInfo.InvariantCulture, $"interrupted: the server stopped at row {s.RowsDone} of {s.RowsTotal}; a server over this jobs directory resumes it");
            });
            logger.LogInformation("batch job {Id} interrupted by shutdown at row {Row}", job.Id, job.State.RowsDone);
        }
        catch (BatchJobFailedException e)
        {
            Finish(job, BatchJobStatus.Failed, e.Message);
            logger.LogWarning("batch job {Id} failed: {Reason}", job.Id, e.Message);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Finish(job, BatchJobStatus.Failed, $"the model failed: {e.Message}");
            logger.LogError(e, "batch job {Id} failed", job.Id);
        }
    }

    private static void EndRun(BatchJob job)
    {
        lock (job.Gate)
        {
            if (job.RunStart != 0) job.State.RunSeconds += Stopwatch.GetElapsedTime(job.RunStart).TotalSeconds;
            job.RunStart = 0;
        }
    }

    private static void Finish(BatchJob job, string status, string? reason)
    {
        EndRun(job);
        job.Update(s =>
        {
            s.Status = status;
            s.Reason = reason;
            s.FinishedAt = DateTimeOffset.UtcNow;
        });
    }

    /// <summary>Waits until the job's model is loaded; a model that is not served or failed to load fails the job.</summary>
    private async Task<ModelEntry> FindModelAsync(BatchJobState state, CancellationToken ct)
    {
        try
        {
            await catalog.Loaded.WaitAsync(ct);
        }
        catch (ForgeException)
        {
            // Some model failed to load; whether it is this job's model is decided below.
        }
        var entry = catalog.Find(state.Model, state.Version).Entry
            ?? throw new BatchJobFailedException($"model '{state.Model}'" + (state.Version is null ? "" : $" version {state.Version}") + " is not served");
        if (entry.State != ModelState.Ready || entry.Current is null)
            throw new BatchJobFailedException($"model '{entry.Name}' version {entry.Version} failed to load: {entry.Error}");
        return entry;
    }

    private async Task ProcessAsync(BatchJob job, ModelEntry entry, CancellationToken ct)
    {
        var options = store.Options;
        var state = job.Snapshot();
        var format = state.Format == "csv" ? BatchFormat.Csv : BatchFormat.Jsonl;
        var labels = entry.Current!.Model.Signature.Labels;
        await using var input = new FileStream(job.InputPath, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
        var reader = new RecordReader(input, format, options.MaxRowBytes);
        CsvLayout? layout = null;
        if (format == BatchFormat.Csv)
        {
            if (!reader.TryRead(out var header) || header.Bytes is null) throw new BatchJobFailedException("the CSV input has no readable header line");
            try
            {
                layout = CsvLayout.Create(BatchRows.ParseCsvRecord(header.Bytes, "header"), entry.Current.Model.Decoder);
            }
            catch (ForgeException e)
            {
                throw new BatchJobFailedException($"the CSV header cannot be read: {e.Message}");
            }
        }
        if (layout is not null && state.Input is null) job.Update(s => s.Input = layout.Description);
        for (long skipped = 0; skipped < state.RowsDone; skipped++)
        {
            if (!reader.TryRead(out _, keepBytes: false))
                throw new BatchJobFailedException($"the input has fewer rows than the {state.RowsDone} already done; it changed on disk");
        }

        await using var results = new FileStream(job.ResultsPath, FileMode.OpenOrCreate, FileAccess.Write, FileShare.Read, 1 << 16);
        if (results.Length < state.ResultsBytes)
            throw new BatchJobFailedException($"the results file is shorter ({results.Length} bytes) than its committed {state.ResultsBytes} bytes; it changed on disk");
        // A crash after writing a chunk but before committing it leaves its rows at the end: they are cut and redone.
        results.SetLength(state.ResultsBytes);
        results.Position = state.ResultsBytes;
        if (state.ResultsBytes == 0 && layout is not null) results.Write(ChunkWriter.CsvHeader(layout, labels));

        var pending = new Queue<Task<ChunkResult>>();
        var row = state.RowsDone;
        try
        {
            while (true)
            {
                ct.ThrowIfCancellationRequested();
                var records = new List<InputRecord>(options.ChunkRows);
                while (records.Count < options.ChunkRows && reader.TryRead(out var record)) records.Add(record);
                if (records.Count == 0) break;
                var start = row;
                row += records.Count;
                pending.Enqueue(Task.Run(() => RunChunkAsync(entry, layout, labels, format, start, records, ct), ct));
                if (pending.Count >= options.MaxParallelChunks) await CommitAsync(job, results, await pending.Dequeue());
            }
            while (pending.Count > 0) await CommitAsync(job, results, await pending.Dequeue());
        }
        finally
        {
            // Chunks still in flight (cancelled or failed job) finish before the files close; their results are dropped.
            try
            {
                await Task.WhenAll(pending);
            }
            catch (Exception e) when (e is OperationCanceledException or ForgeException or InvalidOperationException)
            {
                logger.LogDebug("a chunk of batch job {Id} ended with {Error} after the job stopped", job.Id, e.Message);
            }
        }
        job.Update(s => s.RowsTotal = s.RowsDone);
    }

    private Task CommitAsync(BatchJob job, FileStream results, ChunkResult chunk)
    {
        results.Write(chunk.Bytes);
        results.Flush(flushToDisk: true);
        foreach (var (version, label, count) in chunk.Labels) metrics.Predictions.WithLabels(job.State.Model, version, label).Inc(count);
        _rows.WithLabels(job.State.Model, "predicted").Inc(chunk.Count - chunk.Errors);
        _rows.WithLabels(job.State.Model, "error").Inc(chunk.Errors);
        long errors = 0, total = 0;
        double fraction = 0;
        string? first = null;
        job.Update(s =>
        {
            s.RowsDone = chunk.Start + chunk.Count;
            s.Errors += chunk.Errors;
            s.ResultsBytes = results.Position;
            s.FirstError ??= chunk.FirstError;
            foreach (var v in chunk.Versions)
            {
                if (!s.Versions.Contains(v)) s.Versions.Add(v);
            }
            (errors, total, fraction, first) = (s.Errors, s.RowsTotal, s.MaxErrorFraction, s.FirstError);
        });
        if (errors > fraction * total)
        {
            throw new BatchJobFailedException(string.Create(CultureInfo.InvariantCulture,
                $"{errors} of {total} rows failed validation, more than the {fraction:0.###} allowed (maxErrorFraction); first: {first}"));
        }
        return Task.CompletedTask;
    }

    /// <summary>Decodes and predicts one chunk off the reading loop; a row that does not decode becomes an error record.</summary>
    private async Task<ChunkResult> RunChunkAsync(ModelEntry entry, CsvLayout? layout, IReadOnlyList<string> labels, BatchFormat format,
        long start, List<InputRecord> records, CancellationToken ct)
    {
        var decoder = (entry.Current ?? throw new BatchJobFailedException($"model '{entry.Name}' is not loaded")).Model.Decoder;
        var outcomes = new RowOutcome[records.Count];
        var rows = new List<Table>(records.Count);
        var rowOf = new List<int>(records.Count);
        for (var i = 0; i < records.Count; i++)
        {
            var field = BatchRows.Field(start + i);
            var record = records[i];
            string[]? fields = null;
            try
            {
                if (record.Bytes is null)
                    throw new InputException(field, $"{record.Length} bytes, longer than the server's row limit of {store.Options.MaxRowBytes} bytes");
                var instance = layout is null
                    ? BatchRows.ParseJsonLine(record.Bytes, field)
                    : layout.ToInstance(fields = BatchRows.ParseCsvRecord(record.Bytes, field), field);
                rows.Add(decoder.Decode(instance, field));
                rowOf.Add(i);
            }
            catch (InputException e)
            {
                outcomes[i].Error = e.Message;
                outcomes[i].Field = e.Field;
            }
            catch (ForgeException e)
            {
                outcomes[i].Error = $"{field}: {e.Message}";
                outcomes[i].Field = field;
            }
            if (layout is not null)
            {
                // A record that did not split into the header's fields has nothing to pass through; its columns stay empty.
                outcomes[i].Passthrough = fields is null || fields.Length != layout.Header.Length
                    ? Enumerable.Repeat("", layout.Passthrough.Length).ToArray()
                    : layout.Passthrough.Select(c => fields[c]).ToArray();
            }
        }

        // Requests of at most one batch each: they join the model's batches like real-time requests, never overflow them.
        var size = Math.Max(1, entry.Batching.MaxBatchSize);
        var slices = new List<Task<(ServedModel Model, Prediction Prediction)>>();
        for (var offset = 0; offset < rows.Count; offset += size)
            slices.Add(PredictAsync(entry, Table.Concat(rows.GetRange(offset, Math.Min(size, rows.Count - offset))), ct));
        var answers = await Task.WhenAll(slices);
        var k = 0;
        foreach (var (model, prediction) in answers)
        {
            if (model.Model.Signature.Labels.Count != labels.Count)
                throw new BatchJobFailedException($"model '{entry.Name}' was reloaded with {model.Model.Signature.Labels.Count} labels where the job started with {labels.Count}");
            for (var r = 0; r < prediction.RowCount; r++)
            {
                // A regression's value travels as a one-element row, written under "value" (it has no labels).
                outcomes[rowOf[k]].Probabilities = prediction.Probabilities?[r] ?? [(float)prediction.Values![r]];
                outcomes[rowOf[k]].Value = prediction.Values?[r];
                outcomes[rowOf[k]].Version = model.Version;
                k++;
            }
        }
        return ChunkWriter.Write(format, labels, start, outcomes);
    }

    /// <summary>Predicts through the model's queue; a full queue (busy real-time traffic) makes the job wait, not fail.</summary>
    private async Task<(ServedModel, Prediction)> PredictAsync(ModelEntry entry, Table rows, CancellationToken ct)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return await catalog.PredictAsync(entry, rows, ct);
            }
            catch (Exception e) when (e is QueueFullException or BatcherClosedException)
            {
                await Task.Delay(Math.Min(500, 10 * (attempt + 1)), ct);
            }
        }
    }
}

/// <summary>What became of one row: its probabilities and the version that gave them, or why it has none.</summary>
internal struct RowOutcome
{
    public float[]? Probabilities;
    public double? Value;
    public string? Version;
    public string? Error;
    public string? Field;
    public string[]? Passthrough;
}

/// <summary>One chunk's results, serialized and ready to append, with its counts.</summary>
internal sealed record ChunkResult(long Start, int Count, byte[] Bytes, int Errors, string? FirstError,
    IReadOnlyList<string> Versions, IReadOnlyList<(string Version, string Label, int Count)> Labels);

/// <summary>Writes result records: JSONL (<c>row</c>, <c>label</c>, <c>probabilities</c>, <c>version</c>, or <c>row</c>, <c>error</c>, <c>field</c>) or CSV.</summary>
internal static class ChunkWriter
{
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The CSV results header: <c>row</c>, the passed-through input columns, <c>label</c>, <c>p_LABEL</c> per label, <c>error</c>.</summary>
    public static byte[] CsvHeader(CsvLayout layout, IReadOnlyList<string> labels)
    {
        using var text = new StringWriter(CultureInfo.InvariantCulture);
        // An input column named like an output column ("label" holding the truth, say) keeps its values under "input.NAME".
        var outputs = labels.Select(l => "p_" + l).Concat(["row", "label", "error"]).ToHashSet(StringComparer.Ordinal);
        var passed = layout.Passthrough.Select(c => layout.Header[c]).Select(h => outputs.Contains(h) ? "input." + h : h);
        Csv.WriteRecord(text, labels.Count == 0 ? ["row", .. passed, "value", "error"] : ["row", .. passed, "label", .. labels.Select(l => "p_" + l), "error"]);
        return Encoding.UTF8.GetBytes(text.ToString());
    }

    public static ChunkResult Write(BatchFormat format, IReadOnlyList<string> labels, long start, RowOutcome[] outcomes)
    {
        var errors = 0;
        string? firstError = null;
        var versions = new List<string>();
        var counts = new Dictionary<(string, string), int>();
        var buffer = new ArrayBufferWriter<byte>(outcomes.Length * (64 + (16 * labels.Count)));
        using var csv = format == BatchFormat.Csv ? new StringWriter(CultureInfo.InvariantCulture) : null;
        using var json = format == BatchFormat.Jsonl ? new Utf8JsonWriter(buffer, WriterOptions) : null;
        for (var i = 0; i < outcomes.Length; i++)
        {
            var o = outcomes[i];
            var row = start + i;
            if (o.Probabilities is null)
            {
                errors++;
                firstError ??= o.Error;
            }
            else
            {
                if (labels.Count > 0)
                {
                    var key = (o.Version!, labels[ClassificationMetrics.ArgMax(o.Probabilities)]);
                    counts[key] = counts.GetValueOrDefault(key) + 1;
                }
                if (!versions.Contains(o.Version!)) versions.Add(o.Version!);
            }
            if (json is not null) WriteJson(json, buffer, labels, row, o);
            else WriteCsv(csv!, labels, row, o);
        }
        json?.Flush();
        var bytes = csv is not null ? Encoding.UTF8.GetBytes(csv.ToString()) : buffer.WrittenSpan.ToArray();
        return new ChunkResult(start, outcomes.Length, bytes, errors, firstError, versions, counts.Select(c => (c.Key.Item1, c.Key.Item2, c.Value)).ToArray());
    }

    private static void WriteJson(Utf8JsonWriter json, ArrayBufferWriter<byte> buffer, IReadOnlyList<string> labels, long row, RowOutcome o)
    {
        json.Reset(buffer);
        json.WriteStartObject();
        json.WriteNumber("row", row);
        if (o.Value is { } value)
        {
            json.WriteNumber("value", value);
            json.WriteString("version", o.Version);
        }
        else if (o.Probabilities is { } p)
        {
            json.WriteString("label", labels[ClassificationMetrics.ArgMax(p)]);
            json.WriteStartObject("probabilities");
            for (var k = 0; k < labels.Count; k++) json.WriteNumber(labels[k], p[k]);
            json.WriteEndObject();
            json.WriteString("version", o.Version);
        }
        else
        {
            json.WriteString("error", o.Error);
            json.WriteString("field", o.Field);
        }
        json.WriteEndObject();
        json.Flush();
        buffer.Write("\n"u8);
    }

    private static void WriteCsv(StringWriter csv, IReadOnlyList<string> labels, long row, RowOutcome o)
    {
        var fields = new List<string>(labels.Count + 8) { row.ToString(CultureInfo.InvariantCulture) };
        fields.AddRange(o.Passthrough ?? []);
        if (o.Value is { } value)
        {
            fields.Add(value.ToString("R", CultureInfo.InvariantCulture));
            fields.Add("");
        }
        else if (labels.Count == 0)
        {
            fields.Add("");
            fields.Add(o.Error ?? "");
        }
        else if (o.Probabilities is { } p)
        {
            fields.Add(labels[ClassificationMetrics.ArgMax(p)]);
            fields.AddRange(p.Select(v => v.ToString("R", CultureInfo.InvariantCulture)));
            fields.Add("");
        }
        else
        {
            fields.Add("");
            fields.AddRange(Enumerable.Repeat("", labels.Count));
            fields.Add(o.Error ?? "");
        }
        Csv.WriteRecord(csv, fields);
    }
}
