using System.Text.Json;
using static Forge.Core.Tests.ArgumentAsserts;

namespace Forge.Core.Tests;

public sealed class ClassificationMetricsTests
{
    // Counts-based metrics are a few divisions each; 1e-9 leaves room only for summation order, not for a wrong formula.
    private const double Tolerance = 1e-9;

    private sealed record Expected(
        double Accuracy,
        double MacroF1,
        double LogLoss,
        double[] Precision,
        double[] Recall,
        double[] F1,
        int[] Support,
        int[][] ConfusionMatrix);

    private sealed record Golden(string[] Labels, int[] YTrue, int[] YPredicted, double[][] Probabilities, Expected Expected);

    private static readonly Golden Case = LoadGolden();

    private static Golden LoadGolden()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "golden", "metrics.json");
        return JsonSerializer.Deserialize<Golden>(File.ReadAllText(path), ForgeJson.Options)
            ?? throw new InvalidOperationException($"{path} is empty");
    }

    private static ClassificationReport EvaluateGolden() => ClassificationMetrics.Evaluate(
        Case.YTrue,
        Case.YPredicted,
        Case.Labels,
        Case.Probabilities.Select(row => row.Select(p => (float)p).ToArray()).ToArray());

    private static void AssertClose(double expected, double actual) => Assert.InRange(actual - expected, -Tolerance, Tolerance);

    private static void AssertNull(string parameter, Action evaluate) => Assert.Equal(parameter, Assert.Throws<ArgumentNullException>(evaluate).ParamName);

    [Fact]
    public void Golden_case_has_a_class_that_is_never_predicted()
    {
        Assert.Equal(4, Case.Labels.Length);
        Assert.InRange(Case.YTrue.Length, 40, 60);
        Assert.Contains(Case.Labels.Index(), c => Case.YTrue.Contains(c.Index) && !Case.YPredicted.Contains(c.Index));
    }

    [Fact]
    public void Accuracy_macro_f1_and_log_loss_match_scikit_learn()
    {
        var report = EvaluateGolden();

        Assert.Equal(Case.YTrue.Length, report.Count);
        AssertClose(Case.Expected.Accuracy, report.Accuracy);
        AssertClose(Case.Expected.MacroF1, report.MacroF1);
        Assert.NotNull(report.LogLoss);
        AssertClose(Case.Expected.LogLoss, report.LogLoss.Value);
    }

    [Fact]
    public void Per_class_metrics_match_scikit_learn_element_by_element()
    {
        var report = EvaluateGolden();

        Assert.Equal(Case.Labels, report.Labels);
        Assert.Equal(Case.Labels.Length, report.PerClass.Count);
        for (var c = 0; c < Case.Labels.Length; c++)
        {
            var m = report.PerClass[c];
            Assert.Equal(Case.Labels[c], m.Label);
            AssertClose(Case.Expected.Precision[c], m.Precision);
            AssertClose(Case.Expected.Recall[c], m.Recall);
            AssertClose(Case.Expected.F1[c], m.F1);
            Assert.Equal(Case.Expected.Support[c], m.Support);
        }
    }

    [Fact]
    public void Confusion_matrix_matches_scikit_learn_cell_by_cell()
    {
        var report = EvaluateGolden();

        Assert.Equal(Case.Labels.Length, report.ConfusionMatrix.Length);
        for (var t = 0; t < Case.Labels.Length; t++)
            Assert.Equal(Case.Expected.ConfusionMatrix[t], report.ConfusionMatrix[t]);
    }

    [Fact]
    public void Log_loss_is_absent_without_probabilities()
    {
        var report = ClassificationMetrics.Evaluate(Case.YTrue, Case.YPredicted, Case.Labels);

        Assert.Null(report.LogLoss);
        Assert.False(report.ToMetrics("").ContainsKey("logLoss"));
        Assert.Equal(["testAccuracy", "testMacroF1"], report.ToMetrics("test").Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Manifest_metrics_carry_the_headline_numbers()
    {
        var report = EvaluateGolden();

        var metrics = report.ToMetrics("");
        var test = report.ToMetrics("test");

        Assert.Equal(report.Accuracy, metrics["accuracy"]);
        Assert.Equal(report.MacroF1, metrics["macroF1"]);
        Assert.Equal(report.LogLoss, metrics["logLoss"]);
        Assert.Equal(report.Accuracy, test["testAccuracy"]);
        Assert.Equal(report.MacroF1, test["testMacroF1"]);
        Assert.Equal(report.LogLoss, test["testLogLoss"]);
        Assert.Equal(3, test.Count);
        Assert.Equal("cvAccuracy", ClassificationReport.MetricName("cv", "accuracy"));
    }

    [Fact]
    public void Perfect_predictions_score_one_and_an_absent_class_scores_zero()
    {
        var report = ClassificationMetrics.Evaluate([0, 1, 1, 0], [0, 1, 1, 0], ["a", "b", "c"]);

        AssertClose(1, report.Accuracy);
        AssertClose(1, report.PerClass[0].F1);
        AssertClose(0, report.PerClass[2].Precision);
        AssertClose(0, report.PerClass[2].Recall);
        AssertClose(0, report.PerClass[2].F1);
        AssertClose(2.0 / 3, report.MacroF1);
    }

    [Fact]
    public void Confident_wrong_probability_is_clipped_not_infinite()
    {
        var report = ClassificationMetrics.Evaluate([0], [1], ["a", "b"], [[0f, 1f]]);

        // p(true) is clipped to 1e-15 and the row renormalised by its sum, 1.
        AssertClose(-Math.Log(1e-15 / (1e-15 + (1 - 1e-15))), report.LogLoss!.Value);
    }

    [Fact]
    public void A_certain_right_probability_is_clipped_below_one()
    {
        var report = ClassificationMetrics.Evaluate([0], [0], ["a", "b"], [[1f, 0f]]);

        // p(true) is clipped to 1 - 1e-15 and p(other) raised to 1e-15: a loss of about 1e-15, not 0. The upper clip
        // changes only the last bits, so this compares exactly, in the order the row is summed.
        Assert.Equal(-Math.Log((1 - 1e-15) / ((1 - 1e-15) + 1e-15)), report.LogLoss!.Value);
    }

    [Fact]
    public void Probability_rows_pick_their_largest_class_and_keep_the_log_loss()
    {
        // Row-major 4 × 3; dyadic probabilities are exact in float, so the log-loss is exact too.
        float[] probabilities =
        [
            0.75f, 0.125f, 0.125f,
            0.125f, 0.25f, 0.625f,
            0.25f, 0.25f, 0.5f,
            0.25f, 0.5f, 0.25f,
        ];

        var report = ClassificationMetrics.EvaluateProbabilities([0, 1, 2, 1], probabilities, ["a", "b", "c"]);

        Assert.Equal(4, report.Count);
        Assert.Equal(new int[][] { [1, 0, 0], [0, 1, 1], [0, 0, 1] }, report.ConfusionMatrix);
        AssertClose(0.75, report.Accuracy);
        // F1 per class: a 1; b (P 1, R 1/2) 2/3; c (P 1/2, R 1) 2/3.
        AssertClose(7.0 / 9, report.MacroF1);
        AssertClose(-(Math.Log(0.75) + Math.Log(0.25) + Math.Log(0.5) + Math.Log(0.5)) / 4, report.LogLoss!.Value);
    }

    [Fact]
    public void The_predicted_class_of_a_row_is_its_largest_value_and_the_first_on_ties()
    {
        Assert.Equal(0, ClassificationMetrics.ArgMax([0.3f]));
        Assert.Equal(2, ClassificationMetrics.ArgMax([0.1f, 0.2f, 0.7f]));
        Assert.Equal(1, ClassificationMetrics.ArgMax([0.2f, 0.4f, 0.4f]));
        AssertRefused("values", "no values", () => ClassificationMetrics.ArgMax([]));
    }

    [Fact]
    public void Mismatched_lengths_are_refused_naming_both_counts()
    {
        AssertRefused("yPredicted", "yPredicted has 1 entries but yTrue has 2.", () => ClassificationMetrics.Evaluate([0, 1], [0], ["a", "b"]));
        AssertRefused("probabilities", "probabilities has 1 rows but yTrue has 2.", () => ClassificationMetrics.Evaluate([0, 1], [0, 1], ["a", "b"], [[1f, 0f]]));
        AssertRefused("probabilities", "probabilities[0] has 1 values but there are 2 labels.", () => ClassificationMetrics.Evaluate([0], [0], ["a", "b"], [[1f]]));
        AssertRefused("probabilities", "probabilities[1] is null.", () => ClassificationMetrics.Evaluate([0, 1], [0, 1], ["a", "b"], [[1f, 0f], null!]));
    }

    [Fact]
    public void Empty_samples_or_labels_are_refused()
    {
        AssertRefused("yTrue", "At least one sample is needed.", () => ClassificationMetrics.Evaluate([], [], ["a"]));
        AssertRefused("labels", "At least one label is needed.", () => ClassificationMetrics.Evaluate([0], [0], []));
    }

    [Fact]
    public void Missing_arguments_are_refused_by_name()
    {
        AssertNull("yTrue", () => ClassificationMetrics.Evaluate(null!, [0], ["a"]));
        AssertNull("yPredicted", () => ClassificationMetrics.Evaluate([0], null!, ["a"]));
        AssertNull("labels", () => ClassificationMetrics.Evaluate([0], [0], null!));
        AssertNull("yTrue", () => ClassificationMetrics.EvaluateProbabilities(null!, [1f], ["a"]));
        AssertNull("probabilities", () => ClassificationMetrics.EvaluateProbabilities([0], null!, ["a"]));
        AssertNull("labels", () => ClassificationMetrics.EvaluateProbabilities([0], [1f], null!));
    }

    [Fact]
    public void Metric_names_need_a_prefix_and_a_name()
    {
        Assert.Equal("accuracy", ClassificationReport.MetricName("", "accuracy"));
        Assert.Equal("valLogLoss", ClassificationReport.MetricName("val", "logLoss"));
        AssertNull("prefix", () => ClassificationReport.MetricName(null!, "accuracy"));
        AssertNull("name", () => ClassificationReport.MetricName("test", null!));
        Assert.Equal("name", Assert.Throws<ArgumentException>(() => ClassificationReport.MetricName("test", "")).ParamName);
        Assert.Equal("name", Assert.Throws<ArgumentException>(() => ClassificationReport.MetricName("", "")).ParamName);
        AssertNull("prefix", () => EvaluateGolden().ToMetrics(null!));
    }

    [Theory]
    [InlineData(2, 0)]
    [InlineData(-1, 0)]
    [InlineData(0, 2)]
    public void Labels_out_of_range_are_refused(int yTrue, int yPredicted)
    {
        var ex = Assert.Throws<ArgumentException>(() => ClassificationMetrics.Evaluate([yTrue], [yPredicted], ["a", "b"]));

        Assert.Contains("outside the 2 labels", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Non_finite_probabilities_are_refused_naming_the_cell()
    {
        AssertRefused("probabilities", "probabilities[1][0] is NaN, not a finite number.", () => ClassificationMetrics.Evaluate([0, 1], [0, 1], ["a", "b"], [[1f, 0f], [float.NaN, 1f]]));
    }
}
