using Forge.Core;
using Microsoft.Extensions.Logging.Abstractions;

namespace Forge.Serving.Tests;

/// <summary>The batcher carries typed tables: a batch is the requests' rows joined, bit for bit, and each request gets its own rows' answers.</summary>
public sealed class BatcherTableTests
{
    [Fact]
    public async Task Requests_of_typed_rows_reach_the_model_as_one_bit_identical_table_and_come_back_apart()
    {
        var predictor = new RecordingPredictor();
        using var batcher = new ModelBatcher("m", "1", predictor, new BatchingOptions { MaxBatchSize = 4, MaxDelayMs = 60_000 }, new ServerMetrics(), NullLogger.Instance);
        // Values a float round trip through text would change, texts a code-unit encoding would have to survive.
        var first = Request([1e-45f, float.MaxValue], ["héllo 👋", null], [0.1f, 0.2f, 0.3f, 0.4f], [false, true]);
        var second = Request([-0f, 3.4028233e38f], ["", "tab\there"], [1f / 3, 2f / 3, 1f, 0f], [true, false]);

        var answers = await Task.WhenAll(batcher.PredictAsync(first, CancellationToken.None), batcher.PredictAsync(second, CancellationToken.None));

        var seen = Assert.Single(predictor.Batches);
        var expected = Table.Concat([first, second]);
        Assert.Equal(expected.Schema, seen.Schema);
        Assert.Equal(4, seen.RowCount);
        foreach (var column in expected.Schema)
        {
            for (var r = 0; r < 4; r++)
            {
                Assert.Equal(expected[column.Name].IsMissing(r), seen[column.Name].IsMissing(r));
                Assert.Equal(expected[column.Name].GetValue(r), seen[column.Name].GetValue(r));
            }
        }
        Assert.Equal(BitConverter.SingleToInt32Bits(-0f), BitConverter.SingleToInt32Bits(seen.Get<ScalarColumn<float>>("x")[2]));
        // Each request's answers are its own rows': the first value of row r is the row's number in the batch.
        Assert.Equal([0f, 1f], answers[0].Probabilities!.Select(p => p[0]));
        Assert.Equal([2f, 3f], answers[1].Probabilities!.Select(p => p[0]));
    }

    private static Table Request(float[] x, string?[] text, float[] pixels, bool[] missing) =>
        new(Column.Float32("x", x), Column.String("text", text), Column.Tensor("image", [2], pixels, missing));

    /// <summary>Keeps every batch it is given; answers row r of a batch with [r, 1 − r].</summary>
    private sealed class RecordingPredictor : IPredictor
    {
        public List<Table> Batches { get; } = [];

        public ModelSignature Signature { get; } = new([], [], ["a", "b"]);

        public Prediction Predict(Table batch)
        {
            Batches.Add(batch);
            return Prediction.Classes(Signature.Labels, Enumerable.Range(0, batch.RowCount).Select(r => new[] { (float)r, 1f - r }).ToArray());
        }

        public void Dispose()
        {
        }
    }
}
