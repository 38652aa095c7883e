using Forge.Explainability.Trees;

namespace Forge.Explainability.Tests;

/// <summary>Seeded random tree ensembles and rows that exercise every split rule, missing rule and repeated features.</summary>
internal static class RandomTrees
{
    public static TreeEnsemble Ensemble(int seed, int features, int trees, int maxDepth, int outputs = 1, double baseScore = 0.25)
    {
        var rng = new Random(seed);
        var list = new List<DecisionTree>();
        for (var t = 0; t < trees; t++)
        {
            var nodes = new List<TreeNode?>();
            Grow(rng, nodes, features, 0, maxDepth);
            list.Add(new DecisionTree(nodes.Select(n => n!).ToArray(), outputs == 1 ? 0 : t % outputs));
        }
        return new TreeEnsemble(list, new TreeEnsembleOptions
        {
            FeatureCount = features,
            OutputCount = outputs,
            BaseScore = Enumerable.Range(0, outputs).Select(o => baseScore + o).ToArray(),
            Link = outputs > 1 ? TreeLink.Softmax : TreeLink.Identity,
        });
    }

    /// <summary>Adds a subtree at the end of <paramref name="nodes"/>; returns its index and cover.</summary>
    private static (int Index, double Cover) Grow(Random rng, List<TreeNode?> nodes, int features, int depth, int maxDepth)
    {
        var index = nodes.Count;
        nodes.Add(null);
        if (depth == maxDepth || (depth > 0 && rng.NextDouble() < 0.2))
        {
            var cover = Math.Round(0.5 + rng.NextDouble() * 20, 3);
            nodes[index] = TreeNode.Leaf(Math.Round(rng.NextDouble() * 4 - 2, 4), cover);
            return (index, cover);
        }
        // Few features and deep trees: the same feature is often split on twice along a path.
        var feature = rng.Next(features);
        var (left, leftCover) = Grow(rng, nodes, features, depth + 1, maxDepth);
        var (right, rightCover) = Grow(rng, nodes, features, depth + 1, maxDepth);
        var total = leftCover + rightCover;
        var kind = rng.Next(10);
        var missing = (MissingRule)rng.Next(3);
        var defaultLeft = rng.Next(2) == 0;
        nodes[index] = kind switch
        {
            0 => TreeNode.CategorySplit(feature, Enumerable.Range(0, 6).Where(_ => rng.Next(2) == 0), left, right, total, defaultLeft),
            < 5 => TreeNode.Split(feature, Threshold(rng), left, right, total, defaultLeft, SplitRule.LessThan, missing),
            _ => TreeNode.Split(feature, Threshold(rng), left, right, total, defaultLeft, SplitRule.LessOrEqual, missing),
        };
        return (index, total);
    }

    // Integer thresholds half of the time, so rows hit them exactly and < and <= differ.
    private static double Threshold(Random rng) => rng.Next(2) == 0 ? rng.Next(-1, 5) : Math.Round(rng.NextDouble() * 4 - 1, 3);

    public static double[,] Rows(int seed, int n, int features)
    {
        var rng = new Random(seed);
        var rows = new double[n, features];
        for (var i = 0; i < n; i++)
        {
            for (var j = 0; j < features; j++)
            {
                var u = rng.NextDouble();
                rows[i, j] = u switch
                {
                    < 0.1 => double.NaN,
                    < 0.2 => 0,
                    < 0.5 => rng.Next(-1, 7),
                    _ => Math.Round(rng.NextDouble() * 5 - 1.5, 3),
                };
            }
        }
        return rows;
    }
}
