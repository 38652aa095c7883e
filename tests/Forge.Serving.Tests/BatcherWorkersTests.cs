using System.Collections.Concurrent;
using Forge.Core;
using Microsoft.Extensions.Logging.Abstractions;

namespace Forge.Serving.Tests;

/// <summary>
/// Several workers overlap forward passes of a model that allows it; each request still joins exactly one batch and gets
/// its own rows' answers; a model that does not allow it keeps one worker.
/// </summary>
public sealed class BatcherWorkersTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Two_workers_run_two_forward_passes_at_once_and_every_request_gets_its_own_answer()
    {
        using var predictor = Make(concurrent: true);
        using var batcher = new ModelBatcher("m", "1", predictor, new BatchingOptions { MaxBatchSize = 1, MaxDelayMs = 0, Workers = 2 }, new ServerMetrics(), NullLogger.Instance);
        Assert.Equal(2, batcher.Workers);

        var answers = Enumerable.Range(0, 6).Select(i => batcher.PredictAsync(Row(i), CancellationToken.None)).ToArray();
        // Both workers are inside Predict at the same time, each holding one request.
        Assert.True(predictor.BothInside.Wait(Wait), "the second worker never started a forward pass while the first was running");
        predictor.Release.Set();
        var results = await Task.WhenAll(answers).WaitAsync(Wait);

        for (var i = 0; i < results.Length; i++) Assert.Equal(i, results[i].Probabilities![0][0]);
        // Every request reached the model exactly once.
        Assert.Equal(Enumerable.Range(0, 6).Select(i => (float)i), predictor.Seen.Order());
        Assert.Equal(2, predictor.MostInside);
    }

    [Fact]
    public async Task A_model_that_is_not_concurrent_keeps_one_worker()
    {
        using var predictor = Make(concurrent: false);
        using var batcher = new ModelBatcher("m", "1", predictor, new BatchingOptions { MaxBatchSize = 1, MaxDelayMs = 0, Workers = 4 }, new ServerMetrics(), NullLogger.Instance);
        Assert.Equal(1, batcher.Workers);

        var answers = Enumerable.Range(0, 8).Select(i => batcher.PredictAsync(Row(i), CancellationToken.None)).ToArray();
        // Time for extra workers, were there any, to enter Predict beside the first, which is held.
        await Task.Delay(300);
        Assert.Equal(1, predictor.MostInside);
        predictor.Release.Set();
        var results = await Task.WhenAll(answers).WaitAsync(Wait);

        Assert.Equal(Enumerable.Range(0, 8).Select(i => (float)i), results.Select(r => r.Probabilities![0][0]));
        Assert.Equal(1, predictor.MostInside);
    }

    [Fact]
    public async Task Disposing_lets_every_worker_finish_what_was_queued()
    {
        using var predictor = Make(concurrent: true);
        predictor.Release.Set();
        var batcher = new ModelBatcher("m", "1", predictor, new BatchingOptions { MaxBatchSize = 3, MaxDelayMs = 1, Workers = 3 }, new ServerMetrics(), NullLogger.Instance);
        var answers = Enumerable.Range(0, 50).Select(i => batcher.PredictAsync(Row(i), CancellationToken.None)).ToArray();

        batcher.Dispose();

        var results = await Task.WhenAll(answers).WaitAsync(Wait);
        Assert.Equal(Enumerable.Range(0, 50).Select(i => (float)i), results.Select(r => r.Probabilities![0][0]));
        await Assert.ThrowsAsync<BatcherClosedException>(() => batcher.PredictAsync(Row(0), CancellationToken.None));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(65)]
    public void Workers_out_of_range_are_refused(int workers)
    {
        var problems = new BatchingOptions { Workers = workers }.FindProblems("batching").ToList();

        Assert.Contains(problems, p => p.Contains("batching.workers", StringComparison.Ordinal));
    }

    private static BlockingPredictor Make(bool concurrent) => concurrent ? new ConcurrentBlockingPredictor() : new BlockingPredictor();

    private static Table Row(int i) => new(Column.Float32("x", [i]));

    /// <summary>Answers each row with its own value; holds every forward pass until released, counting how many overlap.</summary>
    private class BlockingPredictor : IPredictor
    {
        private int _inside;

        public ManualResetEventSlim Release { get; } = new();

        public ManualResetEventSlim BothInside { get; } = new();

        public ConcurrentBag<float> Seen { get; } = [];

        public int MostInside;

        public ModelSignature Signature { get; } = new([], [], ["a"]);

        public Prediction Predict(Table batch)
        {
            var now = Interlocked.Increment(ref _inside);
            InterlockedMax(ref MostInside, now);
            if (now >= 2) BothInside.Set();
            try
            {
                // A non-concurrent model would be misused by a second worker; it must never see one.
                Release.Wait(Wait);
                var x = batch.Get<ScalarColumn<float>>("x");
                var rows = Enumerable.Range(0, batch.RowCount).Select(r => new[] { x[r] }).ToArray();
                foreach (var row in rows) Seen.Add(row[0]);
                return Prediction.Classes(Signature.Labels, rows);
            }
            finally
            {
                Interlocked.Decrement(ref _inside);
            }
        }

        private static void InterlockedMax(ref int target, int value)
        {
            for (var seen = Volatile.Read(ref target); value > seen; seen = Volatile.Read(ref target))
                if (Interlocked.CompareExchange(ref target, value, seen) == seen) return;
        }

        public void Dispose()
        {
            Release.Dispose();
            BothInside.Dispose();
        }
    }

    private sealed class ConcurrentBlockingPredictor : BlockingPredictor, IConcurrentPredictor;
}
