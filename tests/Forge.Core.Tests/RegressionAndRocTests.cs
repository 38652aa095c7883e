using System.Text.Json;
using static Forge.Core.Tests.ArgumentAsserts;

namespace Forge.Core.Tests;

public sealed class RegressionAndRocTests
{
    // A few sums over 60-80 values: 1e-12 leaves room for summation order, not for a wrong formula.
    private const double Tolerance = 1e-12;

    private static readonly JsonElement Golden = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "golden", "regression_roc.json"))).RootElement;

    private static double[] Doubles(JsonElement e, string name) => e.GetProperty(name).EnumerateArray().Select(v => v.GetDouble()).ToArray();

    private static bool[] Bools(JsonElement e, string name) => e.GetProperty(name).EnumerateArray().Select(v => v.GetBoolean()).ToArray();

    private static void Close(double expected, double actual, double tolerance = Tolerance) => Assert.InRange(actual - expected, -tolerance, tolerance);

    [Fact]
    public void Rmse_mae_and_r2_match_scikit_learn()
    {
        var g = Golden.GetProperty("regression");
        var report = RegressionMetrics.Evaluate(Doubles(g, "actual"), Doubles(g, "predicted"));
        Assert.Equal(60, report.Count);
        Close(g.GetProperty("rmse").GetDouble(), report.Rmse);
        Close(g.GetProperty("mae").GetDouble(), report.Mae);
        Close(g.GetProperty("r2").GetDouble(), report.R2);
    }

    [Fact]
    public void R2_of_a_constant_truth_follows_scikit_learn()
    {
        var g = Golden.GetProperty("constant");
        var actual = Doubles(g, "actual");
        Assert.Equal(g.GetProperty("r2").GetDouble(), RegressionMetrics.Evaluate(actual, Doubles(g, "predicted")).R2);
        Assert.Equal(g.GetProperty("r2Exact").GetDouble(), RegressionMetrics.Evaluate(actual, actual).R2);
        var exact = RegressionMetrics.Evaluate(actual, actual);
        Assert.Equal(0, exact.Rmse);
        Assert.Equal(0, exact.Mae);
    }

    [Fact]
    public void Hand_computed_regression_case()
    {
        // errors 1, -1, 2: MSE 2, MAE 4/3; truth mean 2, SST 2; R² = 1 - 6/2.
        var r = RegressionMetrics.Evaluate([1.0, 2.0, 3.0], [0.0, 3.0, 1.0]);
        Close(Math.Sqrt(2), r.Rmse);
        Close(4.0 / 3, r.Mae);
        Close(-2, r.R2);
        Assert.Equal(new Dictionary<string, double> { ["testRmse"] = r.Rmse, ["testMae"] = r.Mae, ["testR2"] = r.R2 }, r.ToMetrics("test"));
        Assert.Equal(["mae", "r2", "rmse"], r.ToMetrics("").Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Regression_refuses_bad_input_naming_the_argument_and_index()
    {
        AssertRefused("actual", "At least one sample is needed.", () => RegressionMetrics.Evaluate([], []));
        AssertRefused("predicted", "predicted has 2 values but actual has 1.", () => RegressionMetrics.Evaluate([1.0], [1.0, 2.0]));
        AssertRefused("actual", "actual[1] is NaN, not a finite number.", () => RegressionMetrics.Evaluate([1.0, double.NaN], [1.0, 2.0]));
        AssertRefused("predicted", "predicted[1] is NaN, not a finite number.", () => RegressionMetrics.Evaluate([1.0, 2.0], [1.0, double.NaN]));
        Assert.Throws<ArgumentException>(() => RegressionMetrics.Evaluate([1.0], [double.PositiveInfinity]));
        Assert.Equal("actual", Assert.Throws<ArgumentNullException>(() => RegressionMetrics.Evaluate(null!, [1.0])).ParamName);
        Assert.Equal("predicted", Assert.Throws<ArgumentNullException>(() => RegressionMetrics.Evaluate([1.0], null!)).ParamName);
    }

    [Fact]
    public void Roc_curve_and_auc_match_scikit_learn_with_ties()
    {
        var g = Golden.GetProperty("binary");
        var positive = Bools(g, "positive");
        var scores = Doubles(g, "scores");
        var roc = RocCurve.Compute(positive, scores);
        Close(g.GetProperty("auc").GetDouble(), roc.Auc);
        Close(g.GetProperty("auc").GetDouble(), BinaryMetrics.Auc(positive, scores));
        var fpr = Doubles(g, "fpr");
        var tpr = Doubles(g, "tpr");
        var thresholds = Doubles(g, "thresholds");
        Assert.Equal(fpr.Length, roc.FalsePositiveRates.Length);
        for (var i = 0; i < fpr.Length; i++)
        {
            Close(fpr[i], roc.FalsePositiveRates[i]);
            Close(tpr[i], roc.TruePositiveRates[i]);
        }
        Assert.Equal(double.PositiveInfinity, roc.Thresholds[0]);
        for (var i = 0; i < thresholds.Length; i++) Close(thresholds[i], roc.Thresholds[i + 1]);
    }

    [Fact]
    public void Positive_class_f1_matches_scikit_learn()
    {
        var g = Golden.GetProperty("binary");
        Close(g.GetProperty("f1").GetDouble(), BinaryMetrics.F1(Bools(g, "positive"), Doubles(g, "scores")));
    }

    [Fact]
    public void Hand_computed_auc_cases()
    {
        // Perfect, reversed, and all tied.
        Assert.Equal(1.0, BinaryMetrics.Auc([false, false, true, true], [0.1, 0.2, 0.8, 0.9]));
        Assert.Equal(0.0, BinaryMetrics.Auc([true, true, false, false], [0.1, 0.2, 0.8, 0.9]));
        Assert.Equal(0.5, BinaryMetrics.Auc([true, false, true, false], [0.5, 0.5, 0.5, 0.5]));
        // One positive tied with one of two negatives above the other: (1 + 0.5) / 2.
        Assert.Equal(0.75, BinaryMetrics.Auc([true, false, false], [0.5, 0.5, 0.1]));
        var roc = RocCurve.Compute([true, false, false], [0.5, 0.5, 0.1]);
        Assert.Equal([0.0, 0.5, 1.0], roc.FalsePositiveRates);
        Assert.Equal([0.0, 1.0, 1.0], roc.TruePositiveRates);
        Assert.Equal([double.PositiveInfinity, 0.5, 0.1], roc.Thresholds);
    }

    [Fact]
    public void F1_counts_the_threshold_as_positive_and_is_zero_without_true_positives()
    {
        Assert.Equal(1.0, BinaryMetrics.F1([true, false], [0.5, 0.49]));
        Assert.Equal(0.0, BinaryMetrics.F1([true, false], [0.1, 0.9]));
        // tp 1, fp 1, fn 1: 2 / 4.
        Assert.Equal(0.5, BinaryMetrics.F1([true, true, false], [0.9, 0.1, 0.8]));
        Assert.Equal(1.0, BinaryMetrics.F1([true, false], [0.3, 0.1], threshold: 0.2));
        // No positives and none called: precision and recall are both 0/0, which zero_division=0 makes 0, not NaN.
        Assert.Equal(0.0, BinaryMetrics.F1([false, false], [0.1, 0.2]));
        AssertRefused("scores", "scores has 2 values but positive has 1.", () => BinaryMetrics.F1([true], [0.1, 0.2]));
        Assert.Equal("positive", Assert.Throws<ArgumentNullException>(() => BinaryMetrics.F1(null!, [0.1])).ParamName);
        Assert.Equal("scores", Assert.Throws<ArgumentNullException>(() => BinaryMetrics.F1([true], null!)).ParamName);
    }

    [Fact]
    public void Roc_refuses_one_class_nan_and_length_mismatch()
    {
        AssertRefused("positive", "the ROC curve needs both classes; there are 2 positives and 0 negatives.", () => RocCurve.Compute([true, true], [0.1, 0.2]));
        AssertRefused("positive", "the ROC curve needs both classes; there are 0 positives and 3 negatives.", () => RocCurve.Compute([false, false, false], [0.1, 0.2, 0.3]));
        AssertRefused("scores", "scores[1] is NaN.", () => RocCurve.Compute([true, false], [0.1, double.NaN]));
        AssertRefused("scores", "scores has 1 values but positive has 2.", () => RocCurve.Compute([true, false], [0.1]));
        Assert.Equal("positive", Assert.Throws<ArgumentNullException>(() => RocCurve.Compute(null!, [0.1])).ParamName);
        Assert.Equal("scores", Assert.Throws<ArgumentNullException>(() => RocCurve.Compute([true], null!)).ParamName);
    }
}
