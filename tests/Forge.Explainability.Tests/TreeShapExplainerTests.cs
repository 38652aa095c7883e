using Forge.Core;
using Forge.Explainability.Trees;

namespace Forge.Explainability.Tests;

public sealed class TreeShapExplainerTests
{
    /// <summary>f = 1 when x0 &lt; 0.5 (cover 30), else 3 (cover 10): E f = 1.5.</summary>
    private static DecisionTree Stump(int feature = 0, int output = 0) =>
        new([TreeNode.Split(feature, 0.5, 1, 2, 40), TreeNode.Leaf(1, 30), TreeNode.Leaf(3, 10)], output);

    /// <summary>A chain splitting on features 0, 1, …, count - 1 in turn: the deepest leaves have every one of them on their path.</summary>
    private static DecisionTree Chain(int count)
    {
        var nodes = new List<TreeNode>();
        for (var f = 0; f < count; f++)
        {
            var at = nodes.Count;
            var last = f == count - 1;
            var cover = count - f + 1.0;
            nodes.Add(TreeNode.Split(f, 0.5, at + 1, at + 2, cover));
            nodes.Add(TreeNode.Leaf(f + 1, 1));
            if (last) nodes.Add(TreeNode.Leaf(-f, 1));
        }
        return new DecisionTree(nodes);
    }

    /// <summary>
    /// A chain over features 0..10 ending in a complete subtree of the given depth that splits on feature 11 only:
    /// every leaf of the subtree has all twelve features on its path.
    /// </summary>
    private static DecisionTree ChainWithBush(int bushDepth)
    {
        var nodes = new List<TreeNode>();
        for (var f = 0; f < 11; f++)
        {
            var at = nodes.Count;
            nodes.Add(TreeNode.Split(f, 0.5, at + 1, at + 2, 11 - f + (1 << bushDepth)));
            nodes.Add(TreeNode.Leaf(f, 1));
        }
        Bush(nodes, bushDepth, 0);
        return new DecisionTree(nodes);

        static void Bush(List<TreeNode> nodes, int depth, double low)
        {
            if (depth == 0)
            {
                nodes.Add(TreeNode.Leaf(low, 1));
                return;
            }
            var at = nodes.Count;
            var half = 1 << (depth - 1);
            nodes.Add(TreeNode.Leaf(0, 0));
            var left = nodes.Count;
            Bush(nodes, depth - 1, low);
            var right = nodes.Count;
            Bush(nodes, depth - 1, low + half);
            nodes[at] = TreeNode.Split(11, low + half, left, right, 2 * half);
        }
    }

    [Fact]
    public void A_tree_whose_tables_would_exceed_a_million_values_is_explained_by_the_recursion()
    {
        // 16 leaves with twelve path features need 16·12·2^12 = 786,432 table values; 32 need 1,572,864 (over 2^20).
        var small = new TreeEnsemble([ChainWithBush(4)], new TreeEnsembleOptions { FeatureCount = 12 });
        var large = new TreeEnsemble([ChainWithBush(5)], new TreeEnsembleOptions { FeatureCount = 12 });

        Assert.Equal(1, new TreeShapExplainer(small).TabulatedTreeCount);
        var explainer = new TreeShapExplainer(large);
        Assert.Equal(0, explainer.TabulatedTreeCount);

        var rows = new double[2, 12];
        for (var j = 0; j < 12; j++) rows[1, j] = 1;
        rows[1, 11] = 17.5;
        var e = explainer.Explain(rows);
        var recursive = new TreeShapExplainer(large, new TreeShapOptions { Algorithm = TreeShapAlgorithm.Recursive }).Explain(rows);
        for (var r = 0; r < 2; r++)
        {
            Assert.InRange(e.AdditivityGap(r), -1e-9, 1e-9);
            for (var f = 0; f < 12; f++) Assert.Equal(recursive.Value(r, f), e.Value(r, f));
        }
    }

    [Fact]
    public void A_negative_thread_count_is_refused_and_zero_means_every_core()
    {
        var model = new TreeEnsemble([Stump()], new TreeEnsembleOptions { FeatureCount = 1 });

        var e = Assert.Throws<UsageException>(() => new TreeShapExplainer(model, new TreeShapOptions { MaxDegreeOfParallelism = -1 }));
        Assert.Equal("invalid TreeSHAP options: MaxDegreeOfParallelism must be 0 (all cores) or more (is -1)", e.Message);
        var explainer = new TreeShapExplainer(model, new TreeShapOptions { MaxDegreeOfParallelism = 0 });
        Assert.Equal(0, explainer.Options.MaxDegreeOfParallelism);
        Assert.Equal(TreeShapAlgorithm.Auto, explainer.Options.Algorithm);
        Assert.True(explainer.Options.KeepData);
        Assert.False(explainer.Options.Interactions);
    }

    [Theory]
    [InlineData(TreeLink.Identity, "model output")]
    [InlineData(TreeLink.Logistic, "raw margin (log-odds)")]
    [InlineData(TreeLink.Softmax, "raw margin (per-class log-odds, before softmax)")]
    [InlineData(TreeLink.Exp, "raw margin (log of the prediction)")]
    public void The_output_space_names_what_the_values_add_up_to_for_each_link(TreeLink link, string expected) =>
        Assert.Equal(expected, TreeShapExplainer.OutputSpaceOf(link));

    [Fact]
    public void A_logistic_model_is_explained_in_log_odds_with_the_rows_and_raw_margins_kept()
    {
        var model = new TreeEnsemble([Stump(1)], new TreeEnsembleOptions { FeatureCount = 2, BaseScore = [0.5], Link = TreeLink.Logistic });
        var rows = new double[,] { { 4, 0.7 }, { 5, 0.2 } };

        var explainer = new TreeShapExplainer(model);
        var e = explainer.Explain(rows);

        Assert.Equal([2.0], explainer.ExpectedValue);
        Assert.Equal("raw margin (log-odds)", e.OutputSpace);
        Assert.Equal(["output"], e.OutputNames);
        Assert.Equal([4.0, 0.7, 5.0, 0.2], e.Data!);
        // Margins, not probabilities: what base value + values add up to.
        Assert.Equal([3.5, 1.5], e.Predictions!);
        Assert.Equal([0.0, 1.5, 0.0, -0.5], Enumerable.Range(0, 2).SelectMany(r => e.Values(r, 0).ToArray()).ToArray());
        Assert.Null(e.Interactions);

        var dropped = new TreeShapExplainer(model, new TreeShapOptions { KeepData = false }).Explain(rows);
        Assert.Null(dropped.Data);
        Assert.Equal([3.5, 1.5], dropped.Predictions!);
    }

    [Fact]
    public void Multi_output_explanations_carry_the_model_output_names_or_numbered_defaults()
    {
        var trees = new[] { Stump(0, output: 0), Stump(1, output: 1) };
        var unnamed = new TreeEnsemble(trees, new TreeEnsembleOptions { FeatureCount = 2, OutputCount = 2, Link = TreeLink.Softmax });
        var named = new TreeEnsemble(trees, new TreeEnsembleOptions { FeatureCount = 2, OutputCount = 2, Link = TreeLink.Softmax, OutputNames = ["cat", "dog"] });
        var rows = new double[,] { { 0.7, 0.2 } };

        var e = new TreeShapExplainer(unnamed).Explain(rows);

        Assert.Equal(["output 0", "output 1"], e.OutputNames);
        Assert.Equal(["cat", "dog"], new TreeShapExplainer(named).Explain(rows).OutputNames);
        Assert.Equal([1.5, 1.5], new TreeShapExplainer(unnamed).ExpectedValue);
        Assert.Equal(1.5, e.Value(0, 0, 0), 12);
        Assert.Equal(0.0, e.Value(0, 1, 0), 12);
        Assert.Equal(0.0, e.Value(0, 0, 1), 12);
        Assert.Equal(-0.5, e.Value(0, 1, 1), 12);
        Assert.Equal([3.0, 1.0], e.Predictions!);
    }

    [Fact]
    public void Rows_of_the_wrong_width_are_refused_naming_the_model_columns()
    {
        var model = new TreeEnsemble([Stump()], new TreeEnsembleOptions { FeatureCount = 2, FeatureNames = ["age", "income"] });

        var e = Assert.Throws<ForgeException>(() => new TreeShapExplainer(model).Explain(new double[2, 3]));

        Assert.Equal("rows have 3 columns but the model takes 2 features (age, income); pass the columns the model was trained on, in the same order", e.Message);
    }

    [Fact]
    public void Only_scalar_leaf_trees_with_at_most_twelve_path_features_are_tabulated_and_all_stay_exact()
    {
        var vector = new DecisionTree([TreeNode.Split(0, 0.5, 1, 2, 4), TreeNode.Leaf([1.0, 2.0], 3), TreeNode.Leaf([3.0, -2.0], 1)]);
        var trees = new[] { Stump(0), new DecisionTree([TreeNode.Leaf(5, 1)], output: 1), vector, Chain(12), Chain(13) };
        var model = new TreeEnsemble(trees, new TreeEnsembleOptions { FeatureCount = 13, OutputCount = 2, Link = TreeLink.Softmax });

        var auto = new TreeShapExplainer(model);
        var recursive = new TreeShapExplainer(model, new TreeShapOptions { Algorithm = TreeShapAlgorithm.Recursive });

        // The stump and the 12-feature chain; not the single leaf, the vector leaves or the 13-feature chain.
        Assert.Equal(2, auto.TabulatedTreeCount);
        Assert.Equal(0, recursive.TabulatedTreeCount);
        var rows = new double[3, 13];
        for (var j = 0; j < 13; j++)
        {
            rows[0, j] = 1;
            rows[1, j] = j % 2;
            rows[2, j] = j == 12 ? 0 : 1;
        }
        var fast = auto.Explain(rows);
        var slow = recursive.Explain(rows);
        for (var r = 0; r < 3; r++)
        {
            for (var o = 0; o < 2; o++)
            {
                Assert.InRange(fast.AdditivityGap(r, o), -1e-9, 1e-9);
                for (var f = 0; f < 13; f++) Assert.InRange(fast.Value(r, f, o) - slow.Value(r, f, o), -1e-12, 1e-12);
            }
        }
    }
}
