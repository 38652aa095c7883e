using Forge.Core;
using Forge.Explainability.Importance;

namespace Forge.Explainability.Tests;

public sealed class ImportanceTests
{
    [Fact]
    public void Shuffling_an_unused_column_costs_nothing_and_a_used_one_costs_accuracy()
    {
        // Class 1 exactly when x0 > 0.5; x1 is ignored.
        var model = ModelFunction.FromRow(2, x => x[0] > 0.5 ? 0.9 : 0.1);
        var rng = new Random(1);
        var rows = new double[200, 2];
        var targets = new double[200];
        for (var i = 0; i < 200; i++)
        {
            rows[i, 0] = rng.NextDouble();
            rows[i, 1] = rng.NextDouble();
            targets[i] = rows[i, 0] > 0.5 ? 1 : 0;
        }

        var result = PermutationImportance.Compute(model, rows, targets, new PermutationImportanceOptions { Scorer = ImportanceScorer.Accuracy, Repeats = 4, FeatureNames = ["signal", "noise"] });

        Assert.Equal("accuracy", result.Metric);
        Assert.Equal(1.0, result.BaselineScore);
        Assert.Equal(0.0, result.Mean[1]);
        Assert.Equal(0.0, result.StandardDeviation[1]);
        // Shuffling the signal makes about half the predictions wrong.
        Assert.InRange(result.Mean[0], 0.35, 0.65);
        Assert.Equal(4, result.PerRepeat[0].Count);
        Assert.Equal(result.PerRepeat[0].Average(), result.Mean[0], 12);
        Assert.Equal([0, 1], result.Ranking());
        Assert.Equal(["signal", "noise"], result.FeatureNames);
    }

    [Fact]
    public void Built_in_scores_match_their_definitions()
    {
        double[] y = [0, 1, 1, 0];
        double[] p = [0.2, 0.7, 0.4, 0.1];
        Assert.Equal(0.75, ImportanceScorer.Accuracy.Score(y, p, 1));
        Assert.Equal(-(Math.Log(0.8) + Math.Log(0.7) + Math.Log(0.4) + Math.Log(0.9)) / 4, ImportanceScorer.LogLoss.Score(y, p, 1), 12);
        Assert.Equal((0.04 + 0.09 + 0.36 + 0.01) / 4, ImportanceScorer.MeanSquaredError.Score(y, p, 1), 12);
        Assert.Equal(1 - (0.04 + 0.09 + 0.36 + 0.01) / 1.0, ImportanceScorer.RSquared.Score(y, p, 1), 12);
        // Two classes as two outputs: argmax and the target column's probability.
        double[] two = [0.8, 0.2, 0.3, 0.7, 0.6, 0.4];
        Assert.Equal(2.0 / 3, ImportanceScorer.Accuracy.Score([0, 1, 1], two, 2), 12);
        Assert.Equal(-(Math.Log(0.8) + Math.Log(0.7) + Math.Log(0.4)) / 3, ImportanceScorer.LogLoss.Score([0, 1, 1], two, 2), 12);
        Assert.False(ImportanceScorer.LogLoss.HigherIsBetter);
        Assert.True(ImportanceScorer.RSquared.HigherIsBetter);
        var custom = ImportanceScorer.Custom("max", true, (t, o, k) => o.Max());
        Assert.Equal(0.7, custom.Score(y, p, 1));
    }

    [Fact]
    public void Losses_count_a_worse_loss_as_positive_importance()
    {
        var model = ModelFunction.FromRow(1, x => x[0]);
        var rows = new double[,] { { 0 }, { 1 }, { 2 }, { 3 }, { 4 }, { 5 } };
        double[] targets = [0, 1, 2, 3, 4, 5];

        var result = PermutationImportance.Compute(model, rows, targets, new PermutationImportanceOptions { Scorer = ImportanceScorer.MeanSquaredError, Repeats = 3, Seed = 2 });

        Assert.Equal(0.0, result.BaselineScore);
        Assert.True(result.Mean[0] > 0);
    }

    [Fact]
    public void Bad_inputs_are_refused()
    {
        var model = ModelFunction.FromRow(2, x => x[0]);
        Assert.Throws<UsageException>(() => PermutationImportance.Compute(model, new double[3, 2], [1, 2]));
        Assert.Throws<UsageException>(() => PermutationImportance.Compute(model, new double[1, 2], [1]));
        Assert.Throws<ForgeException>(() => PermutationImportance.Compute(model, new double[3, 3], [1, 2, 3]));
        var options = Assert.Throws<UsageException>(() => PermutationImportance.Compute(model, new double[3, 2], [1, 2, 3], new PermutationImportanceOptions { Repeats = 0, MaxDegreeOfParallelism = -1, FeatureNames = ["a"] }));
        Assert.Contains("Repeats", options.Message, StringComparison.Ordinal);
        Assert.Contains("MaxDegreeOfParallelism", options.Message, StringComparison.Ordinal);
        Assert.Contains("FeatureNames", options.Message, StringComparison.Ordinal);
    }
}
