using Forge.Explainability.Trees;

namespace Forge.Explainability.Tests;

public sealed class TreeShapTests
{
    private static readonly TreeShapAlgorithm[] Algorithms = [TreeShapAlgorithm.Auto, TreeShapAlgorithm.Recursive];

    [Theory]
    [InlineData(1, 4, 3, 3, 1)]
    [InlineData(2, 6, 5, 5, 1)]
    [InlineData(3, 8, 4, 6, 1)]
    [InlineData(4, 10, 3, 7, 1)]
    [InlineData(5, 5, 9, 4, 3)]
    [InlineData(6, 3, 6, 8, 2)]
    public void Values_equal_brute_force_Shapley_values_of_path_dependent_expectations(int seed, int features, int trees, int depth, int outputs)
    {
        var model = RandomTrees.Ensemble(seed, features, trees, depth, outputs);
        var rows = RandomTrees.Rows(seed + 100, 12, features);
        foreach (var algorithm in Algorithms)
        {
            var explanation = new TreeShapExplainer(model, new TreeShapOptions { Algorithm = algorithm }).Explain(rows);
            for (var r = 0; r < 12; r++)
            {
                var v = BruteForce.CoalitionValues(model, Rows.Row(rows, r));
                var phi = BruteForce.Shapley(v, features, outputs);
                for (var o = 0; o < outputs; o++)
                {
                    Assert.InRange(explanation.BaseValue(r, o) - v[o], -1e-9, 1e-9);
                    for (var f = 0; f < features; f++)
                    {
                        var err = explanation.Value(r, f, o) - phi[o * features + f];
                        Assert.True(Math.Abs(err) <= 1e-9, $"{algorithm}: row {r} output {o} feature {f}: {explanation.Value(r, f, o)} vs brute force {phi[o * features + f]}");
                    }
                }
            }
        }
    }

    [Theory]
    [InlineData(11, 4, 3, 4, 1)]
    [InlineData(12, 6, 4, 5, 2)]
    [InlineData(13, 5, 2, 7, 1)]
    public void Interaction_values_equal_the_brute_force_Shapley_interaction_index(int seed, int features, int trees, int depth, int outputs)
    {
        var model = RandomTrees.Ensemble(seed, features, trees, depth, outputs);
        var rows = RandomTrees.Rows(seed + 100, 6, features);
        var explanation = new TreeShapExplainer(model, new TreeShapOptions { Interactions = true }).Explain(rows);
        for (var r = 0; r < 6; r++)
        {
            var v = BruteForce.CoalitionValues(model, Rows.Row(rows, r));
            var expected = BruteForce.Interactions(v, features, outputs);
            for (var o = 0; o < outputs; o++)
            {
                for (var i = 0; i < features; i++)
                {
                    for (var j = 0; j < features; j++)
                    {
                        var err = explanation.Interaction(r, i, j, o) - expected[(o * features + i) * features + j];
                        Assert.True(Math.Abs(err) <= 1e-9, $"row {r} output {o} ({i},{j}): {explanation.Interaction(r, i, j, o)} vs {expected[(o * features + i) * features + j]}");
                    }
                }
            }
        }
    }

    [Theory]
    [InlineData(21, 12, 40, 6, 1)]
    [InlineData(22, 30, 25, 9, 1)]
    [InlineData(23, 9, 30, 5, 4)]
    [InlineData(24, 3, 10, 14, 1)]
    public void Every_row_is_additive_base_plus_values_equals_the_margin(int seed, int features, int trees, int depth, int outputs)
    {
        var model = RandomTrees.Ensemble(seed, features, trees, depth, outputs);
        var rows = RandomTrees.Rows(seed, 150, features);
        var margins = model.PredictRaw(rows);
        foreach (var algorithm in Algorithms)
        {
            var explanation = new TreeShapExplainer(model, new TreeShapOptions { Algorithm = algorithm }).Explain(rows);
            for (var r = 0; r < 150; r++)
            {
                for (var o = 0; o < outputs; o++)
                {
                    var f = margins[r, o];
                    Assert.Equal(f, explanation.Prediction(r, o));
                    var gap = explanation.AdditivityGap(r, o);
                    Assert.True(Math.Abs(gap) <= 1e-6 * Math.Max(1, Math.Abs(f)), $"{algorithm}: row {r} output {o}: base + sum(phi) misses f(x) = {f} by {gap}");
                }
            }
        }
    }

    [Fact]
    public void Deep_trees_with_many_distinct_path_features_fall_back_to_the_recursion_and_stay_exact()
    {
        var model = RandomTrees.Ensemble(31, 20, 2, 14);
        var explainer = new TreeShapExplainer(model);
        Assert.True(explainer.TabulatedTreeCount < 2, "a 14-deep tree over 20 features should exceed the table limit");
        var rows = RandomTrees.Rows(32, 20, 20);
        var fast = explainer.Explain(rows);
        var slow = new TreeShapExplainer(model, new TreeShapOptions { Algorithm = TreeShapAlgorithm.Recursive }).Explain(rows);
        for (var r = 0; r < 20; r++)
        {
            for (var f = 0; f < 20; f++)
                Assert.InRange(fast.Value(r, f) - slow.Value(r, f), -1e-9, 1e-9);
            Assert.InRange(fast.AdditivityGap(r), -1e-6, 1e-6);
        }
    }

    [Fact]
    public void A_single_split_gives_the_textbook_values()
    {
        // f = 1 if x0 < 0.5 else 3, covers 30 / 10: E[f] = 1.5. For x0 = 0.7: phi0 = 3 - 1.5 = 1.5, phi1 = 0.
        var tree = new DecisionTree([TreeNode.Split(0, 0.5, 1, 2, 40), TreeNode.Leaf(1, 30), TreeNode.Leaf(3, 10)]);
        var model = new TreeEnsemble([tree], new TreeEnsembleOptions { FeatureCount = 2, BaseScore = [0.5] });

        var e = new TreeShapExplainer(model).Explain(new double[,] { { 0.7, 9 }, { 0.2, 9 } });

        Assert.Equal(2.0, e.BaseValue(0), 12);
        Assert.Equal(1.5, e.Value(0, 0), 12);
        Assert.Equal(0.0, e.Value(0, 1), 12);
        Assert.Equal(-0.5, e.Value(1, 0), 12);
        Assert.Equal(3.5, e.Prediction(0), 12);
        Assert.Equal("tree", e.Method);
        Assert.Equal(["f0", "f1"], e.FeatureNames);
    }

    [Fact]
    public void Two_features_in_a_product_tree_split_the_credit_evenly()
    {
        // f = 4 when x0 >= 1 and x1 >= 1, else 0; each branch has equal cover. At (1,1): E f = 1, and by symmetry each gets 1.5.
        var tree = new DecisionTree(
        [
            TreeNode.Split(0, 1, 1, 2, 4), TreeNode.Leaf(0, 2),
            TreeNode.Split(1, 1, 3, 4, 2), TreeNode.Leaf(0, 1), TreeNode.Leaf(4, 1),
        ]);
        var model = new TreeEnsemble([tree], new TreeEnsembleOptions { FeatureCount = 2 });

        var e = new TreeShapExplainer(model, new TreeShapOptions { Interactions = true }).Explain(new double[,] { { 1, 1 } });

        Assert.Equal(1.0, e.BaseValue(0), 12);
        Assert.Equal(1.5, e.Value(0, 0), 12);
        Assert.Equal(1.5, e.Value(0, 1), 12);
        // v() = 1, v(0) = v(1) = 2, v(01) = 4: the interaction is half of 4 - 2 - 2 + 1, the main effects what is left.
        Assert.Equal(0.5, e.Interaction(0, 0, 1), 12);
        Assert.Equal(0.5, e.Interaction(0, 1, 0), 12);
        Assert.Equal(1.0, e.Interaction(0, 0, 0), 12);
        Assert.Equal(1.0, e.Interaction(0, 1, 1), 12);
    }

    [Fact]
    public void Streaming_batches_explains_each_batch_lazily()
    {
        var model = RandomTrees.Ensemble(41, 5, 4, 4);
        var explainer = new TreeShapExplainer(model, new TreeShapOptions { KeepData = false });
        var produced = 0;
        IEnumerable<double[,]> Batches()
        {
            for (var b = 0; b < 5; b++)
            {
                produced++;
                yield return RandomTrees.Rows(b, 100, 5);
            }
        }

        var results = explainer.ExplainBatches(Batches());
        Assert.Equal(0, produced);
        var count = 0;
        foreach (var e in results)
        {
            count++;
            Assert.Equal(count, produced);
            Assert.Equal(100, e.RowCount);
            Assert.Null(e.Data);
            for (var r = 0; r < e.RowCount; r++) Assert.InRange(e.AdditivityGap(r), -1e-9, 1e-9);
        }
        Assert.Equal(5, count);
    }

    [Fact]
    public void Single_threaded_and_parallel_runs_give_identical_values()
    {
        var model = RandomTrees.Ensemble(51, 8, 20, 6);
        var rows = RandomTrees.Rows(52, 200, 8);
        var one = new TreeShapExplainer(model, new TreeShapOptions { MaxDegreeOfParallelism = 1 }).Explain(rows);
        var many = new TreeShapExplainer(model, new TreeShapOptions { MaxDegreeOfParallelism = 4 }).Explain(rows);
        for (var r = 0; r < 200; r++)
        {
            for (var f = 0; f < 8; f++) Assert.Equal(one.Value(r, f), many.Value(r, f));
        }
    }
}
