using System.Runtime.InteropServices;
using Forge.Core;
using Microsoft.Extensions.Logging.Abstractions;

namespace Forge.Serving.Tests;

/// <summary>
/// A failed forward pass must fail only the requests whose own rows fail: a native error is retried once, then the rows
/// run one at a time; a row the model refuses fails its request alone. Every request here joins one batch: the batch
/// size is exactly their row count and the delay is long, so the batch runs the moment the last request arrives.
/// </summary>
public sealed class BatchFailureTests
{
    private static readonly ModelSignature Signature = new(
        [new TensorSpec("x", "float32", [-1, 2])], [new TensorSpec("probabilities", "float32", [-1, 2])], ["a", "b"]);

    [Fact]
    public async Task A_native_failure_is_retried_once_and_every_request_is_answered()
    {
        var predictor = new ScriptedPredictor(call => call == 1 ? new ExternalException("Unknown scalar type.") : null);
        var metrics = new ServerMetrics();
        using var batcher = Batcher(predictor, metrics, rows: 3);

        var tasks = new[] { Row(0.1f), Row(0.2f), Row(0.3f) }.Select(r => batcher.PredictAsync(Rows(r), CancellationToken.None)).ToArray();
        var results = await Task.WhenAll(tasks);

        Assert.Equal([0.1f, 0.2f, 0.3f], results.Select(r => r.Probabilities![0][1]));
        Assert.Equal(2, batcher.ForwardCalls);
        Assert.Equal([3, 3], predictor.BatchSizes);
        Assert.Equal(1, metrics.ForwardRetries.WithLabels("m", "1").Value);
    }

    [Fact]
    public async Task When_the_retry_fails_too_only_the_request_holding_the_failing_row_is_failed()
    {
        // Any pass that holds the poisoned value fails natively, as a corrupt row would.
        var predictor = new ScriptedPredictor((_, rows) => rows.Any(r => r[0] == 0.5f) ? new ExternalException("native failure") : null);
        var metrics = new ServerMetrics();
        using var batcher = Batcher(predictor, metrics, rows: 5);

        var good1 = batcher.PredictAsync(Rows(Row(0.1f), Row(0.2f)), CancellationToken.None);
        var bad = batcher.PredictAsync(Rows(Row(0.3f), Row(0.5f)), CancellationToken.None);
        var good2 = batcher.PredictAsync(Rows(Row(0.4f)), CancellationToken.None);

        Assert.Equal([0.1f, 0.2f], (await good1).Probabilities!.Select(r => r[1]));
        Assert.Equal([0.4f], (await good2).Probabilities!.Select(r => r[1]));
        await Assert.ThrowsAsync<ExternalException>(() => bad);
        // The batch, its retry, then one pass per row until the failing one: good1's two, bad's two, good2's one.
        Assert.Equal([5, 5, 1, 1, 1, 1, 1], predictor.BatchSizes);
        Assert.Equal(7, batcher.ForwardCalls);
        Assert.Equal(1 + 5, metrics.ForwardRetries.WithLabels("m", "1").Value);
    }

    [Fact]
    public async Task A_row_the_model_refuses_fails_its_own_request_and_no_other()
    {
        var predictor = new ScriptedPredictor((_, rows) => rows.Any(r => float.IsNaN(r[1])) ? new UsageException("input 0 holds NaN; the model expects finite numbers") : null);
        var metrics = new ServerMetrics();
        using var batcher = Batcher(predictor, metrics, rows: 3);

        var good = batcher.PredictAsync(Rows(Row(0.1f)), CancellationToken.None);
        var bad = batcher.PredictAsync(Rows(Row(float.NaN)), CancellationToken.None);
        var alsoGood = batcher.PredictAsync(Rows(Row(0.3f)), CancellationToken.None);

        Assert.Equal(0.1f, (await good).Probabilities![0][1]);
        Assert.Equal(0.3f, (await alsoGood).Probabilities![0][1]);
        var e = await Assert.ThrowsAsync<UsageException>(() => bad);
        Assert.Contains("finite numbers", e.Message, StringComparison.Ordinal);
        Assert.Equal([3, 1, 1, 1], predictor.BatchSizes);
    }

    [Fact]
    public async Task A_failure_that_is_neither_native_nor_the_rows_fault_fails_the_batch_without_retrying()
    {
        var predictor = new ScriptedPredictor(_ => new InvalidOperationException("model bug"));
        var metrics = new ServerMetrics();
        using var batcher = Batcher(predictor, metrics, rows: 2);

        var a = batcher.PredictAsync(Rows(Row(0.1f)), CancellationToken.None);
        var b = batcher.PredictAsync(Rows(Row(0.2f)), CancellationToken.None);

        await Assert.ThrowsAsync<InvalidOperationException>(() => a);
        await Assert.ThrowsAsync<InvalidOperationException>(() => b);
        Assert.Equal([2], predictor.BatchSizes);
        Assert.Equal(0, metrics.ForwardRetries.WithLabels("m", "1").Value);
    }

    private static float[] Row(float v) => [1 - v, v];

    // A request's rows as the batcher carries them: one table, its tensor column the model's input.
    private static Table Rows(params float[][] rows) => new(Column.Tensor("x", [2], rows));

    private static ModelBatcher Batcher(IPredictor predictor, ServerMetrics metrics, int rows) =>
        new("m", "1", predictor, new BatchingOptions { MaxBatchSize = rows, MaxDelayMs = 60_000 }, metrics, NullLogger.Instance);

    /// <summary>Answers each row with itself, or throws what the script returns for that call (1-based) and rows.</summary>
    private sealed class ScriptedPredictor(Func<int, IReadOnlyList<float[]>, Exception?> script) : IPredictor
    {
        private int _calls;

        public ScriptedPredictor(Func<int, Exception?> byCall) : this((call, _) => byCall(call)) { }

        public List<int> BatchSizes { get; } = [];

        public ModelSignature Signature => BatchFailureTests.Signature;

        public Prediction Predict(Table batch)
        {
            var rows = TestTables.Rows(batch);
            BatchSizes.Add(rows.Length);
            if (script(++_calls, rows) is { } failure) throw failure;
            return Prediction.Classes(Signature.Labels, rows);
        }

        public void Dispose()
        {
        }
    }
}
