using Forge.Core;
using Forge.Explainability.Importance;

namespace Forge.Explainability.Tests;

public sealed class PermutationImportanceTests
{
    private static readonly IModelFunction FirstColumn = ModelFunction.FromRow(2, x => x[0]);

    [Fact]
    public void Every_invalid_option_and_input_is_reported_with_its_value()
    {
        var options = Assert.Throws<UsageException>(() => PermutationImportance.Compute(FirstColumn, new double[3, 2], [1, 2, 3],
            new PermutationImportanceOptions { Repeats = 0, MaxDegreeOfParallelism = -1, FeatureNames = ["a"] }));
        Assert.Equal("invalid permutation importance options: Repeats must be at least 1 (is 0); "
            + "MaxDegreeOfParallelism must be 0 (all cores) or more (is -1); FeatureNames has 1 names for 2 features", options.Message);

        Assert.Equal("2 targets for 3 rows", Assert.Throws<UsageException>(() => PermutationImportance.Compute(FirstColumn, new double[3, 2], [1, 2])).Message);
        Assert.Equal("permutation importance needs at least 2 rows", Assert.Throws<UsageException>(() => PermutationImportance.Compute(FirstColumn, new double[1, 2], [1])).Message);
        var columns = Assert.Throws<ForgeException>(() => PermutationImportance.Compute(FirstColumn, new double[3, 3], [1, 2, 3], new PermutationImportanceOptions { FeatureNames = ["a", "b"] }));
        Assert.StartsWith("rows have 3 columns but the model takes 2 features (a, b)", columns.Message, StringComparison.Ordinal);

        // The smallest valid job: two rows, one repeat.
        var smallest = PermutationImportance.Compute(FirstColumn, new double[,] { { 0, 5 }, { 1, 5 } }, [0, 1], new PermutationImportanceOptions { Repeats = 1, MaxDegreeOfParallelism = 0 });
        Assert.Single(smallest.PerRepeat[0]);
    }

    [Fact]
    public void One_output_is_scored_by_r_squared_and_several_by_accuracy_unless_a_scorer_is_given()
    {
        var rows = new double[,] { { 0, 9 }, { 1, 8 }, { 2, 7 }, { 3, 6 } };

        var regression = PermutationImportance.Compute(FirstColumn, rows, [0, 1, 2, 3]);
        Assert.Equal("R²", regression.Metric);
        Assert.Equal(1.0, regression.BaselineScore);
        Assert.Equal(["f0", "f1"], regression.FeatureNames);
        Assert.Equal(5, regression.PerRepeat[1].Count);
        Assert.All(regression.PerRepeat[1], drop => Assert.Equal(0.0, drop));

        // Two outputs: class 1 scores x0, class 0 scores 1.5, so rows 2 and 3 are class 1.
        var classifier = ModelFunction.FromRow(2, 2, x => [1.5, x[0]]);
        var classification = PermutationImportance.Compute(classifier, rows, [0, 0, 1, 1]);
        Assert.Equal("accuracy", classification.Metric);
        Assert.Equal(1.0, classification.BaselineScore);
    }

    [Fact]
    public void The_spread_is_the_population_standard_deviation_of_the_per_repeat_drops()
    {
        // Two rows: a shuffle either keeps them (no loss) or swaps them (squared error 1 per row).
        var rows = new double[,] { { 0, 0 }, { 1, 0 } };

        var result = PermutationImportance.Compute(FirstColumn, rows, [0, 1], new PermutationImportanceOptions { Scorer = ImportanceScorer.MeanSquaredError, Repeats = 8, Seed = 3 });

        var drops = result.PerRepeat[0];
        Assert.All(drops, d => Assert.True(d is 0.0 or 1.0, $"drop {d}"));
        Assert.Contains(0.0, drops);
        Assert.Contains(1.0, drops);
        var mean = drops.Average();
        Assert.Equal(mean, result.Mean[0], 12);
        Assert.Equal(Math.Sqrt(mean * (1 - mean)), result.StandardDeviation[0], 12);
        Assert.Equal(0.0, result.StandardDeviation[1]);
        Assert.Equal("mean squared error", result.Metric);

        var again = PermutationImportance.Compute(FirstColumn, rows, [0, 1], new PermutationImportanceOptions { Scorer = ImportanceScorer.MeanSquaredError, Repeats = 8, Seed = 3, MaxDegreeOfParallelism = 1 });
        Assert.Equal(drops, again.PerRepeat[0]);
    }

    [Fact]
    public void Ranking_puts_the_largest_mean_drop_first_and_breaks_ties_by_index()
    {
        var importance = new FeatureImportance(["a", "b", "c", "d"], "x", 1, [0.1, 0.3, 0.3, -0.2], [0, 0, 0, 0], []);

        Assert.Equal([1, 2, 0, 3], importance.Ranking());
    }

    [Fact]
    public void Scorers_follow_their_documented_edge_cases()
    {
        // One output: 0.5 already counts as class 1. Several outputs: a tie goes to the first class.
        Assert.Equal(1.0, ImportanceScorer.Accuracy.Score([1, 0], [0.5, 0.49], 1));
        Assert.Equal(0.5, ImportanceScorer.Accuracy.Score([0, 1], [0.5, 0.5, 0.2, 0.2], 2));
        Assert.Equal(1.0, ImportanceScorer.Accuracy.Score([2], [0.1, 0.3, 0.6], 3));
        // A probability of zero for the true class is clamped to 1e-15 instead of giving infinity; above one counts as one.
        Assert.Equal(-Math.Log(1e-15) / 2, ImportanceScorer.LogLoss.Score([1, 0], [0, 0], 1), 9);
        Assert.Equal(0.0, ImportanceScorer.LogLoss.Score([1], [1.5], 1));
        // Regression scores read the first output of each row.
        Assert.Equal(2.5, ImportanceScorer.MeanSquaredError.Score([1, 2], [2, 100, 0, -100], 2), 12);
        Assert.Equal(1 - 0.5 / 2, ImportanceScorer.RSquared.Score([1, 3], [1.5, 100, 2.5, -100], 2), 12);
        // Constant targets leave nothing to explain: R² is 0 rather than a division by zero.
        Assert.Equal(0.0, ImportanceScorer.RSquared.Score([2, 2], [1, 3], 1));
        Assert.Equal("R²", ImportanceScorer.RSquared.Name);
        Assert.Equal("log-loss", ImportanceScorer.LogLoss.Name);
        Assert.False(ImportanceScorer.MeanSquaredError.HigherIsBetter);
        Assert.True(ImportanceScorer.Accuracy.HigherIsBetter);

        var custom = ImportanceScorer.Custom("spread", false, (t, o, k) => o.Max() - o.Min());
        Assert.Equal("spread", custom.Name);
        Assert.False(custom.HigherIsBetter);
        Assert.Throws<ArgumentException>(() => ImportanceScorer.Custom(" ", true, (t, o, k) => 0));
        Assert.Throws<ArgumentNullException>(() => ImportanceScorer.Custom("x", true, null!));
        Assert.Throws<ArgumentNullException>(() => custom.Score(null!, [1], 1));
        Assert.Throws<ArgumentNullException>(() => custom.Score([1], null!, 1));
    }
}
