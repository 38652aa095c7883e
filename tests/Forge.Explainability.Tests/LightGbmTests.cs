using Forge.Core;
using Forge.Explainability.Trees;

namespace Forge.Explainability.Tests;

/// <summary>
/// The LightGBM text reader on a hand-written model: every decision_type flag (default-left, missing types None / Zero /
/// NaN, categorical bit sets) checked against predictions worked out by hand, then TreeSHAP against brute force.
/// </summary>
public sealed class LightGbmTests
{
    // Tree 0: age <= 30.5 (missing None: NaN compares as 0) -> -0.5, else income <= 50 (missing NaN, default right) -> 0.25 / 0.75.
    // Tree 1: color in {1, 3} (bit set 1010b = 10) -> 0.2, else (also NaN, negatives, 7) -> -0.1.
    // Tree 2: income <= 20 (missing Zero, default right: 0 and NaN go right) -> 1.0 / 2.0.
    internal const string Model = """
        tree
        version=v3
        num_class=1
        num_tree_per_iteration=1
        label_index=0
        max_feature_idx=2
        objective=binary sigmoid:1
        feature_names=age color income
        feature_infos=[18:90] 0:1:2:3 [0:100]
        tree_sizes=400 400 400

        Tree=0
        num_leaves=3
        num_cat=0
        split_feature=0 2
        split_gain=10 5
        threshold=30.5 50
        decision_type=2 8
        left_child=-1 -2
        right_child=1 -3
        leaf_value=-0.5 0.25 0.75
        leaf_weight=10 5 5
        leaf_count=40 30 30
        internal_value=0 0.5
        internal_weight=20 10
        internal_count=100 60
        is_linear=0
        shrinkage=1

        Tree=1
        num_leaves=2
        num_cat=1
        split_feature=1
        split_gain=3
        threshold=0
        decision_type=1
        left_child=-1
        right_child=-2
        leaf_value=0.2 -0.1
        leaf_weight=4 6
        leaf_count=45 55
        internal_value=0
        internal_weight=10
        internal_count=100
        cat_boundaries=0 1
        cat_threshold=10
        is_linear=0
        shrinkage=0.1

        Tree=2
        num_leaves=2
        num_cat=0
        split_feature=2
        split_gain=1
        threshold=20
        decision_type=4
        left_child=-1
        right_child=-2
        leaf_value=1 2
        leaf_weight=5 15
        leaf_count=50 50
        internal_value=1.5
        internal_weight=20
        internal_count=100
        is_linear=0
        shrinkage=0.1

        end of trees

        feature_importances:
        age=2

        parameters:
        [boosting: gbdt]
        end of parameters
        """;

    private static readonly double[,] Rows =
    {
        { 25, 1, 40 }, { 45, 2, 60 }, { double.NaN, 3, double.NaN }, { 31, double.NaN, double.NaN },
        { 40, -1, 50 }, { 40, 7, 10 }, { 20, 1, 0 }, { 10, 3, 15 },
    };

    private static readonly double[] Expected = [1.7, 2.65, 1.7, 2.65, 2.15, 1.15, 1.7, 0.7];

    [Fact]
    public void Predictions_follow_every_decision_type_flag()
    {
        var model = TreeModels.ParseLightGbmText(Model);

        var raw = model.PredictRaw(Rows);

        for (var r = 0; r < Expected.Length; r++)
            Assert.True(Math.Abs(raw[r, 0] - Expected[r]) <= 1e-12, $"row {r}: {raw[r, 0]} vs hand-computed {Expected[r]}");
        Assert.Equal(["age", "color", "income"], model.FeatureNames);
        Assert.Equal(TreeLink.Logistic, model.Link);
        Assert.False(model.Options.SinglePrecisionInputs);
    }

    [Fact]
    public void Expected_value_weighs_leaves_by_count_or_by_hessian()
    {
        // Counts: tree 0 0.4*-0.5 + 0.6*(0.5*0.25 + 0.5*0.75) = 0.1, tree 1 0.45*0.2 + 0.55*-0.1 = 0.035, tree 2 1.5.
        Assert.Equal(1.635, TreeModels.ParseLightGbmText(Model).ExpectedValue()[0], 12);
        // Hessians: tree 0 0.5*-0.5 + 0.5*(0.5*0.25 + 0.5*0.75) = 0, tree 1 0.4*0.2 + 0.6*-0.1 = 0.02, tree 2 0.25*1 + 0.75*2 = 1.75.
        Assert.Equal(1.77, TreeModels.ParseLightGbmText(Model, coverFromHessians: true).ExpectedValue()[0], 12);
    }

    [Fact]
    public void TreeShap_on_the_lightgbm_model_equals_brute_force_and_adds_up()
    {
        var model = TreeModels.ParseLightGbmText(Model);

        var e = new TreeShapExplainer(model).Explain(Rows);

        for (var r = 0; r < Rows.GetLength(0); r++)
        {
            var phi = BruteForce.Shapley(BruteForce.CoalitionValues(model, Forge.Explainability.Rows.Row(Rows, r)), 3, 1);
            for (var f = 0; f < 3; f++) Assert.InRange(e.Value(r, f) - phi[f], -1e-12, 1e-12);
            Assert.InRange(e.AdditivityGap(r), -1e-12, 1e-12);
        }
        // Row 0 (25, 1, 40): only age's and income's trees move; colour 1 takes tree 1 from its mean 0.035 to 0.2.
        Assert.Equal(0.2 - 0.035, e.Value(0, 1), 12);
    }

    [Fact]
    public void Multiclass_models_assign_trees_round_robin_and_average_output_divides_by_iterations()
    {
        var text = string.Join('\n',
            "tree", "version=v3", "num_class=3", "num_tree_per_iteration=3", "max_feature_idx=0", "objective=multiclass num_class:3", "average_output", "",
            Tree(0, 1.0), Tree(1, 2.0), Tree(2, 3.0), Tree(3, 5.0), Tree(4, 7.0), Tree(5, 9.0), "end of trees");

        var model = TreeModels.ParseLightGbmText(text);

        Assert.Equal(3, model.OutputCount);
        Assert.Equal(TreeLink.Softmax, model.Link);
        Assert.Equal([0, 1, 2, 0, 1, 2], model.Trees.Select(t => t.Output));
        var raw = model.PredictRaw(new double[,] { { 0 } });
        // Two iterations averaged: (1 + 5) / 2, (2 + 7) / 2, (3 + 9) / 2.
        Assert.Equal(3.0, raw[0, 0], 12);
        Assert.Equal(4.5, raw[0, 1], 12);
        Assert.Equal(6.0, raw[0, 2], 12);

        static string Tree(int i, double value) => $"Tree={i}\nnum_leaves=1\nnum_cat=0\nleaf_value={value}\nshrinkage=1\n";
    }

    [Fact]
    public void Bad_models_are_refused_naming_the_tree_and_field()
    {
        var linear = Model.Replace("is_linear=0\nshrinkage=0.1\n\nTree=2", "is_linear=1\nshrinkage=0.1\n\nTree=2", StringComparison.Ordinal);
        var e1 = Assert.Throws<DataFormatException>(() => TreeModels.ParseLightGbmText(linear, "m.txt"));
        Assert.Contains("tree 1 is a linear tree", e1.Message, StringComparison.Ordinal);
        Assert.Contains("kernel", e1.Message, StringComparison.Ordinal);

        var shortThresholds = Model.Replace("threshold=30.5 50", "threshold=30.5", StringComparison.Ordinal);
        var e2 = Assert.Throws<DataFormatException>(() => TreeModels.ParseLightGbmText(shortThresholds, "m.txt"));
        Assert.Contains("'threshold' has 1 values, expected 2", e2.Message, StringComparison.Ordinal);

        var e3 = Assert.Throws<DataFormatException>(() => TreeModels.ParseLightGbmText("{\"learner\": {}}", "m.txt"));
        Assert.Contains("line 1", e3.Message, StringComparison.Ordinal);

        var noFeatures = Model.Replace("max_feature_idx=2\n", "", StringComparison.Ordinal);
        Assert.Contains("max_feature_idx", Assert.Throws<DataFormatException>(() => TreeModels.ParseLightGbmText(noFeatures)).Message, StringComparison.Ordinal);

        var badNumber = Model.Replace("leaf_value=1 2", "leaf_value=1 x", StringComparison.Ordinal);
        Assert.Contains("'x' is not a number", Assert.Throws<DataFormatException>(() => TreeModels.ParseLightGbmText(badNumber)).Message, StringComparison.Ordinal);

        Assert.Throws<DataFormatException>(() => TreeModels.FromLightGbmText("/no/such/model.txt"));
    }
}
