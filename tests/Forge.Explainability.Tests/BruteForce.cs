using Forge.Explainability.Trees;

namespace Forge.Explainability.Tests;

/// <summary>
/// Shapley values by definition: every coalition S of features, E[f(x) | x_S] computed by walking the trees (a known
/// feature follows the row, an unknown one averages both children by cover), then the Shapley sums. Independent of the
/// library's TreeSHAP code, and exponential, so only for a few features.
/// </summary>
internal static class BruteForce
{
    public static bool GoesLeft(TreeNode node, double x)
    {
        if (double.IsNaN(x))
        {
            if (node.Missing != MissingRule.NaNAsZero) return node.DefaultLeft;
            x = 0;
        }
        else if (node.Missing == MissingRule.ZeroIsMissing && Math.Abs(x) <= 1e-35)
        {
            return node.DefaultLeft;
        }
        return node.Rule switch
        {
            SplitRule.LessThan => x < node.Threshold,
            SplitRule.LessOrEqual => x <= node.Threshold,
            _ => x >= 0 && x < int.MaxValue && node.Categories!.Contains((int)x),
        };
    }

    public static double Expectation(DecisionTree tree, int i, double[] x, bool[] known, int w)
    {
        var node = tree.Nodes[i];
        if (node.IsLeaf) return node.LeafValues[w];
        if (known[node.Feature])
            return Expectation(tree, GoesLeft(node, x[node.Feature]) ? node.Left : node.Right, x, known, w);
        var l = tree.Nodes[node.Left].Cover / node.Cover;
        var r = tree.Nodes[node.Right].Cover / node.Cover;
        return l * Expectation(tree, node.Left, x, known, w) + r * Expectation(tree, node.Right, x, known, w);
    }

    /// <summary>v(S) for every coalition S (bit mask over features), per output: index [S * outputs + o].</summary>
    public static double[] CoalitionValues(TreeEnsemble model, double[] x)
    {
        var d = model.FeatureCount;
        var k = model.OutputCount;
        var v = new double[(1 << d) * k];
        var known = new bool[d];
        for (var s = 0; s < 1 << d; s++)
        {
            for (var j = 0; j < d; j++) known[j] = (s >> j & 1) != 0;
            for (var o = 0; o < k; o++) v[s * k + o] = model.BaseScore[o];
            foreach (var tree in model.Trees)
            {
                for (var w = 0; w < tree.LeafWidth; w++) v[s * k + tree.Output + w] += Expectation(tree, 0, x, known, w);
            }
        }
        return v;
    }

    public static double Factorial(int n) => n <= 1 ? 1 : n * Factorial(n - 1);

    /// <summary>Shapley values [output][feature] from coalition values.</summary>
    public static double[] Shapley(double[] v, int d, int k)
    {
        var phi = new double[k * d];
        for (var i = 0; i < d; i++)
        {
            for (var s = 0; s < 1 << d; s++)
            {
                if ((s >> i & 1) != 0) continue;
                var size = System.Numerics.BitOperations.PopCount((uint)s);
                var weight = Factorial(size) * Factorial(d - size - 1) / Factorial(d);
                for (var o = 0; o < k; o++) phi[o * d + i] += weight * (v[(s | 1 << i) * k + o] - v[s * k + o]);
            }
        }
        return phi;
    }

    /// <summary>Shapley interaction index [output][i][j]; the diagonal holds what is left of each φ_i.</summary>
    public static double[] Interactions(double[] v, int d, int k)
    {
        var phi = Shapley(v, d, k);
        var result = new double[k * d * d];
        for (var i = 0; i < d; i++)
        {
            for (var j = 0; j < d; j++)
            {
                if (i == j) continue;
                for (var s = 0; s < 1 << d; s++)
                {
                    if ((s >> i & 1) != 0 || (s >> j & 1) != 0) continue;
                    var size = System.Numerics.BitOperations.PopCount((uint)s);
                    var weight = Factorial(size) * Factorial(d - size - 2) / (2 * Factorial(d - 1));
                    for (var o = 0; o < k; o++)
                    {
                        var delta = v[(s | 1 << i | 1 << j) * k + o] - v[(s | 1 << i) * k + o] - v[(s | 1 << j) * k + o] + v[s * k + o];
                        result[(o * d + i) * d + j] += weight * delta;
                    }
                }
            }
        }
        for (var o = 0; o < k; o++)
        {
            for (var i = 0; i < d; i++)
            {
                var rest = 0.0;
                for (var j = 0; j < d; j++) rest += i == j ? 0 : result[(o * d + i) * d + j];
                result[(o * d + i) * d + i] = phi[o * d + i] - rest;
            }
        }
        return result;
    }
}
