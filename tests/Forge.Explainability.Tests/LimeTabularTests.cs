using Forge.Core;
using Forge.Explainability.Lime;

namespace Forge.Explainability.Tests;

public sealed class LimeTabularTests
{
    private static IModelFunction Linear3() => ModelFunction.FromRow(3, x => 1 + 2 * x[0] - 3 * x[1] + 0.5 * x[2]);

    [Fact]
    public void Every_invalid_option_is_listed_with_its_value()
    {
        var training = new double[4, 3];

        var e = Assert.Throws<UsageException>(() => new LimeTabularExplainer(Linear3(), training, new LimeTabularOptions
        {
            Samples = 1,
            KernelWidth = 0,
            Ridge = -0.5,
            MaxFeatures = 0,
            MaxDegreeOfParallelism = -1,
            CategoricalFeatures = [3],
            FeatureNames = ["a"],
        }));

        Assert.Equal("invalid LIME options: Samples must be at least 2 (is 1); KernelWidth must be positive (is 0); "
            + "Ridge must be zero or positive (is -0.5); MaxFeatures must be at least 1 (is 0); "
            + "MaxDegreeOfParallelism must be 0 (all cores) or more (is -1); CategoricalFeatures must be column indices 0..2; "
            + "FeatureNames has 1 names for 3 features", e.Message);
        Assert.Contains("CategoricalFeatures", Assert.Throws<UsageException>(() => new LimeTabularExplainer(Linear3(), training, new LimeTabularOptions { CategoricalFeatures = [-1] })).Message, StringComparison.Ordinal);
        Assert.Contains("Ridge must be zero or positive (is NaN)", Assert.Throws<UsageException>(() => new LimeTabularExplainer(Linear3(), training, new LimeTabularOptions { Ridge = double.NaN })).Message, StringComparison.Ordinal);

        // The edges of every range are accepted.
        var edge = new LimeTabularExplainer(Linear3(), new double[2, 3], new LimeTabularOptions { Samples = 2, KernelWidth = 0.5, Ridge = 0, MaxFeatures = 1, CategoricalFeatures = [0, 2] });
        Assert.Equal(0.5, edge.KernelWidth);
        Assert.Equal(0.75 * Math.Sqrt(3), new LimeTabularExplainer(Linear3(), new double[2, 3]).KernelWidth, 12);
    }

    [Fact]
    public void Training_data_must_have_the_model_columns_and_at_least_two_rows()
    {
        var columns = Assert.Throws<ForgeException>(() => new LimeTabularExplainer(Linear3(), new double[5, 2], new LimeTabularOptions { FeatureNames = ["a", "b", "c"] }));
        Assert.Equal("the training rows have 2 columns but the model takes 3 features (a, b, c); pass the columns the model was trained on, in the same order", columns.Message);
        var rows = Assert.Throws<UsageException>(() => new LimeTabularExplainer(Linear3(), new double[1, 3]));
        Assert.Equal("LIME needs at least 2 training rows to learn the spread of each feature", rows.Message);
        var explain = Assert.Throws<ForgeException>(() => new LimeTabularExplainer(Linear3(), new double[2, 3]).Explain(new double[1, 4]));
        Assert.StartsWith("rows have 4 columns but the model takes 3 features (f0, f1, f2)", explain.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Quartile_rules_use_numpy_percentiles_of_the_present_training_values()
    {
        // Column 0: 1..9 gives boundaries 3, 5, 7. Column 1: 0, 1, 2, 3 (and missing values) gives 0.75, 1.5, 2.25.
        // Column 2: mostly zeros, so the three quartiles collapse into one boundary.
        var training = new double[9, 3];
        for (var i = 0; i < 9; i++)
        {
            training[i, 0] = i + 1;
            training[i, 1] = i < 4 ? i : double.NaN;
            training[i, 2] = i == 8 ? 1 : 0;
        }
        var lime = new LimeTabularExplainer(Linear3(), training, new LimeTabularOptions { Samples = 50, FeatureNames = ["x", "y", "z"] });
        var rows = new double[,]
        {
            { 3, 0.75, 0 },
            { 3.5, 0.76, 0.5 },
            { 7, 2.25, double.NaN },
            { 7.01, 9, -1 },
        };

        var e = lime.Explain(rows);

        Assert.Equal("x <= 3", e.DisplayLabel(0, 0));
        Assert.Equal("3 < x <= 5", e.DisplayLabel(1, 0));
        Assert.Equal("5 < x <= 7", e.DisplayLabel(2, 0));
        Assert.Equal("x > 7", e.DisplayLabel(3, 0));
        Assert.Equal("y <= 0.75", e.DisplayLabel(0, 1));
        Assert.Equal("0.75 < y <= 1.5", e.DisplayLabel(1, 1));
        Assert.Equal("1.5 < y <= 2.25", e.DisplayLabel(2, 1));
        Assert.Equal("y > 2.25", e.DisplayLabel(3, 1));
        Assert.Equal("z <= 0", e.DisplayLabel(0, 2));
        Assert.Equal("z > 0", e.DisplayLabel(1, 2));
        Assert.Equal("z is missing", e.DisplayLabel(2, 2));
        Assert.Equal("z <= 0", e.DisplayLabel(3, 2));
    }

    [Fact]
    public void Categorical_and_unbinned_columns_are_labelled_with_the_value()
    {
        var training = new double[,] { { 1, 0.5, 2 }, { 2, 1.5, 2 }, { 1, 2.5, 3 } };
        var lime = new LimeTabularExplainer(Linear3(), training, new LimeTabularOptions { Samples = 50, Discretizer = LimeDiscretizer.None, CategoricalFeatures = [0] });

        var e = lime.Explain(new double[,] { { 2, 0.25, 7 } });

        Assert.Equal("f0 = 2", e.DisplayLabel(0, 0));
        Assert.Equal("f1 = 0.25", e.DisplayLabel(0, 1));
        Assert.Equal("f2 = 7", e.DisplayLabel(0, 2));
    }

    [Fact]
    public void Without_bins_and_ridge_the_surrogate_of_a_linear_model_is_exact_in_standard_units()
    {
        // Column 0: mean 3, population sd √5. Column 1 is constant, so its unit is 1. Column 2 ignores the missing value:
        // mean 3, sd √(8/3).
        var training = new double[,] { { 0, 5, 1 }, { 2, 5, double.NaN }, { 4, 5, 3 }, { 6, 5, 5 } };
        var lime = new LimeTabularExplainer(Linear3(), training, new LimeTabularOptions { Discretizer = LimeDiscretizer.None, Ridge = 0, Samples = 200, Seed = 7 });
        var rows = new double[,] { { 1, 4, 2 }, { 5, 6, 0 } };

        var e = lime.Explain(rows);

        for (var r = 0; r < 2; r++)
        {
            Assert.Equal(2 * Math.Sqrt(5), e.Value(r, 0), 8);
            Assert.Equal(-3.0, e.Value(r, 1), 8);
            Assert.Equal(0.5 * Math.Sqrt(8.0 / 3), e.Value(r, 2), 8);
            // The intercept is the model at the training means: 1 + 2·3 − 3·5 + 0.5·3.
            Assert.Equal(-6.5, e.BaseValue(r), 8);
            Assert.Equal(1.0, e.FitScores![r], 8);
        }
        Assert.Equal([-8.0, -7.0], e.Predictions!);
        Assert.Equal([1.0, 4, 2, 5, 6, 0], e.Data!);
        Assert.Equal(["output"], e.OutputNames);
        Assert.Equal("lime", e.Method);
    }

    [Fact]
    public void Max_features_keeps_the_largest_coefficients_of_each_output_and_refits()
    {
        var model = ModelFunction.FromRow(3, 2, x => [4 * x[0] + 0.1 * x[1] - 0.2 * x[2], -0.1 * x[0] + 5 * x[2]], ["up", "down"]);
        var training = new double[,] { { 0, 0, 0 }, { 1, 2, 3 }, { 2, 4, 1 }, { 3, 1, 2 } };
        var lime = new LimeTabularExplainer(model, training, new LimeTabularOptions { Discretizer = LimeDiscretizer.None, Ridge = 0, Samples = 300, MaxFeatures = 1 });

        var e = lime.Explain(new double[,] { { 1, 1, 1 } });

        Assert.Equal(["up", "down"], e.OutputNames);
        Assert.Equal([0], Enumerable.Range(0, 3).Where(j => e.Value(0, j, 0) != 0));
        Assert.Equal([2], Enumerable.Range(0, 3).Where(j => e.Value(0, j, 1) != 0));
    }
}
