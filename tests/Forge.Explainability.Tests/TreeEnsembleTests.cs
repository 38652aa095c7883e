using Forge.Core;
using Forge.Explainability.Trees;

namespace Forge.Explainability.Tests;

public sealed class TreeEnsembleTests
{
    private static DecisionTree Stump(int feature, int output = 0) =>
        new([TreeNode.Split(feature, 0.5, 1, 2, 4), TreeNode.Leaf(1, 3), TreeNode.Leaf(3, 1)], output);

    [Fact]
    public void Options_list_every_problem_in_one_message()
    {
        var all = Assert.Throws<UsageException>(() => new TreeEnsembleOptions
        {
            FeatureCount = 0,
            BaseScore = [1, double.PositiveInfinity],
            FeatureNames = ["a"],
            OutputNames = ["x", "y"],
            Link = TreeLink.Softmax,
        }.Validate());
        Assert.Equal(
            "invalid tree ensemble: FeatureCount must be at least 1 (is 0); BaseScore has 2 values for 1 outputs; "
            + "BaseScore values must be finite; FeatureNames has 1 names for 0 features; OutputNames has 2 names for 1 outputs; "
            + "the softmax link needs at least 2 outputs",
            all.Message);

        var outputs = Assert.Throws<UsageException>(() => new TreeEnsembleOptions { FeatureCount = 1, OutputCount = 0 }.Validate());
        Assert.Equal("invalid tree ensemble: OutputCount must be at least 1 (is 0)", outputs.Message);

        // The smallest valid shapes pass: one feature and one output, or a two-class softmax with matching names.
        new TreeEnsembleOptions { FeatureCount = 1 }.Validate();
        new TreeEnsembleOptions { FeatureCount = 1, OutputCount = 2, Link = TreeLink.Softmax, BaseScore = [0, 1], FeatureNames = ["a"], OutputNames = ["x", "y"] }.Validate();
    }

    [Fact]
    public void Each_tree_is_checked_against_the_outputs_and_features_and_the_faulty_tree_is_named()
    {
        var options = new TreeEnsembleOptions { FeatureCount = 2, OutputCount = 2, Link = TreeLink.Softmax };
        var vector = new DecisionTree([TreeNode.Split(1, 0, 1, 2, 2), TreeNode.Leaf([1.0, 2.0], 1), TreeNode.Leaf([3.0, 4.0], 1)]);

        // The last output and the last feature are in range; a vector-leaf tree may fill every output from output 0.
        var model = new TreeEnsemble([Stump(0), Stump(1, output: 1), vector], options);
        Assert.Equal(3, model.Trees.Count);

        var pastOutputs = Assert.Throws<ForgeException>(() => new TreeEnsemble([Stump(0), Stump(0, output: 2)], options));
        Assert.Equal("tree 1 adds 1 value(s) from output 2, but the ensemble has 2 output(s)", pastOutputs.Message);
        var vectorShifted = new DecisionTree([TreeNode.Leaf([1.0, 2.0], 1)], output: 1);
        Assert.Equal("tree 0 adds 2 value(s) from output 1, but the ensemble has 2 output(s)",
            Assert.Throws<ForgeException>(() => new TreeEnsemble([vectorShifted], options)).Message);
        var pastFeatures = Assert.Throws<ForgeException>(() => new TreeEnsemble([Stump(1), Stump(2)], options));
        Assert.Equal("tree 1 splits on feature 2, but the ensemble has 2 features", pastFeatures.Message);
        var missing = Assert.Throws<ArgumentException>(() => new TreeEnsemble([Stump(0), null!], options));
        Assert.StartsWith("tree 1 is null", missing.Message, StringComparison.Ordinal);
        Assert.Equal("trees", missing.ParamName);
    }

    [Fact]
    public void Unnamed_features_are_called_f0_f1_and_the_base_score_defaults_to_zero_per_output()
    {
        var model = new TreeEnsemble([Stump(2, output: 1)], new TreeEnsembleOptions { FeatureCount = 3, OutputCount = 2, Link = TreeLink.Softmax });

        Assert.Equal(["f0", "f1", "f2"], model.FeatureNames);
        Assert.Equal([0.0, 0.0], model.BaseScore);
        Assert.Equal(3, model.FeatureCount);
        Assert.Equal(2, model.OutputCount);
        Assert.Equal(TreeLink.Softmax, model.Link);
        Assert.Null(model.OutputNames);
        Assert.Equal("programmatic", model.Options.Source);
        // Output 0 has no tree; output 1 averages 1 and 3 by cover 3 : 1.
        Assert.Equal([0.0, 1.5], model.ExpectedValue());

        var named = new TreeEnsemble([Stump(0)], new TreeEnsembleOptions { FeatureCount = 1, FeatureNames = ["age"], BaseScore = [0.25], OutputNames = ["risk"] });
        Assert.Equal(["age"], named.FeatureNames);
        Assert.Equal([0.25], named.BaseScore);
        Assert.Equal(["risk"], named.OutputNames!);
        Assert.Equal([1.75], named.ExpectedValue());
    }

    [Fact]
    public void Evaluate_writes_raw_margins_and_refuses_spans_that_do_not_fit_whole_rows()
    {
        var model = new TreeEnsemble([Stump(0), Stump(1, output: 1)], new TreeEnsembleOptions { FeatureCount = 2, OutputCount = 2, BaseScore = [10, 20], Link = TreeLink.Softmax });

        var outputs = new double[4];
        model.Evaluate([0, 1, 1, 0], outputs);
        Assert.Equal([11.0, 23.0, 13.0, 21.0], outputs);

        var ragged = Assert.Throws<ArgumentException>(() => model.Evaluate([0, 1, 1], new double[2]));
        Assert.Equal("3 input values and 2 output slots do not fit 2 features and 2 outputs per row", ragged.Message);
        var tooFewSlots = Assert.Throws<ArgumentException>(() => model.Evaluate([0, 1, 1, 0], new double[2]));
        Assert.Equal("4 input values and 2 output slots do not fit 2 features and 2 outputs per row", tooFewSlots.Message);
    }

    [Fact]
    public void Predicting_rows_of_the_wrong_width_names_the_expected_columns()
    {
        var model = new TreeEnsemble([Stump(0)], new TreeEnsembleOptions { FeatureCount = 2, FeatureNames = ["age", "income"] });

        var e = Assert.Throws<ForgeException>(() => model.PredictRaw(new double[1, 3]));
        Assert.Equal("rows have 3 columns but the model takes 2 features (age, income); pass the columns the model was trained on, in the same order", e.Message);
        Assert.Throws<ForgeException>(() => model.Predict(new double[1, 1]));
    }

    [Fact]
    public void Links_map_every_row_and_softmax_stays_finite_for_huge_margins()
    {
        double[] softmax = [1000, 1000, 0, Math.Log(3)];
        TreeEnsemble.ApplyLink(TreeLink.Softmax, softmax, 2);
        Assert.Equal(0.5, softmax[0], 14);
        Assert.Equal(0.5, softmax[1], 14);
        Assert.Equal(0.25, softmax[2], 14);
        Assert.Equal(0.75, softmax[3], 14);

        double[] logistic = [0, Math.Log(3), -Math.Log(3)];
        TreeEnsemble.ApplyLink(TreeLink.Logistic, logistic, 1);
        Assert.Equal(0.5, logistic[0], 14);
        Assert.Equal(0.75, logistic[1], 14);
        Assert.Equal(0.25, logistic[2], 14);

        double[] exp = [0, Math.Log(2)];
        TreeEnsemble.ApplyLink(TreeLink.Exp, exp, 1);
        Assert.Equal(1.0, exp[0], 14);
        Assert.Equal(2.0, exp[1], 14);

        double[] identity = [-2, 7];
        TreeEnsemble.ApplyLink(TreeLink.Identity, identity, 1);
        Assert.Equal([-2.0, 7.0], identity);
    }
}
