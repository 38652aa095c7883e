using System.Runtime.CompilerServices;

namespace Forge.Explainability.Trees;

/// <summary>
/// Precomputed TreeSHAP: the same path-dependent values as the recursion, with the per-row work cut from O(L·D²) to
/// O(N + L·D) per tree (N nodes, L leaves, D distinct features on a path).
/// </summary>
/// <remarks>
/// Under path-dependent expectations a leaf l with value v, whose path splits on the distinct features P (|P| = m) with
/// cover fractions z_j, contributes v·Π_{j∈S} o_j·Π_{j∈P∖S} z_j to E[f | x_S]. The row enters only through which
/// features of P it follows (the "hot" set H, o_j = 1 for j ∈ H, else 0). The leaf's Shapley contribution is then
/// <list type="bullet">
/// <item>j ∉ H: −v·Π_{k∉H} z_k·G(H)</item>
/// <item>j ∈ H: v·(1 − z_j)·Π_{k∉H} z_k·G(H∖{j})</item>
/// </list>
/// with G(T) = Σ_{S⊆T} |S|!(m−|S|−1)!/m!·Π_{k∈T∖S} z_k. All 2^m hot sets are tabulated per leaf once, so a row only walks
/// the tree once to find each leaf's hot set (a bit mask carried down in preorder) and adds m table entries per leaf.
/// This is the idea of Yang's "Fast TreeSHAP" (2021, v2), derived and written here independently.
/// </remarks>
internal sealed class TreeShapTables
{
    /// <summary>Largest number of distinct features on one path for which a table is built (2^m·m values per leaf).</summary>
    internal const int MaxPathFeatures = 12;

    /// <summary>Largest table, in values, for one tree; bigger trees use the recursion.</summary>
    internal const int MaxValuesPerTree = 1 << 20;

    private readonly CompiledEnsemble _e;

    internal readonly bool[] Tabulated;        // per tree
    internal readonly byte[] Slot;             // per split node: index of its feature among the path's distinct features
    internal readonly byte[] PathFeatures;     // per leaf: m
    internal readonly int[] FeatureStart;      // per leaf: offset into Features
    internal readonly int[] TableStart;        // per leaf: offset into Table
    internal readonly int[] Features;
    internal readonly double[] Table;

    internal TreeShapTables(CompiledEnsemble ensemble, bool enabled = true)
    {
        _e = ensemble;
        var nodes = ensemble.Left.Length;
        Tabulated = new bool[ensemble.TreeCount];
        Slot = new byte[nodes];
        PathFeatures = new byte[nodes];
        FeatureStart = new int[nodes];
        TableStart = new int[nodes];
        var features = new List<int>();
        var table = new List<double>();
        var pathFeature = new int[MaxPathFeatures + 1];
        var pathZero = new double[MaxPathFeatures + 1];
        for (var t = 0; t < ensemble.TreeCount; t++)
        {
            var root = ensemble.TreeStart[t];
            // A single leaf has nothing to attribute; a vector-leaf tree is left to the recursion to keep this path simple.
            if (!enabled || ensemble.IsLeaf(root) || ensemble.TreeWidth[t] != 1) continue;
            var size = TableSize(root, pathFeature, 0);
            if (size < 0 || size > MaxValuesPerTree) continue;
            Tabulated[t] = true;
            Build(root, pathFeature, pathZero, 0, features, table);
        }
        Features = features.ToArray();
        Table = table.ToArray();
    }

    /// <summary>Table values the subtree needs, or -1 when some path has too many distinct features.</summary>
    private long TableSize(int g, int[] pathFeature, int m)
    {
        if (_e.IsLeaf(g)) return (long)m << m;
        var f = _e.Feature[g];
        var k = Array.IndexOf(pathFeature, f, 0, m);
        var childM = m;
        if (k < 0)
        {
            if (m == MaxPathFeatures) return -1;
            pathFeature[m] = f;
            childM = m + 1;
        }
        var left = TableSize(_e.Left[g], pathFeature, childM);
        if (left < 0) return -1;
        var right = TableSize(_e.Right[g], pathFeature, childM);
        return right < 0 ? -1 : left + right;
    }

    private void Build(int g, int[] pathFeature, double[] pathZero, int m, List<int> features, List<double> table)
    {
        var e = _e;
        if (e.IsLeaf(g))
        {
            PathFeatures[g] = (byte)m;
            FeatureStart[g] = features.Count;
            TableStart[g] = table.Count;
            for (var k = 0; k < m; k++) features.Add(pathFeature[k]);
            AppendLeafTable(e.LeafValues[e.LeafValueStart[g]], pathZero.AsSpan(0, m), table);
            return;
        }
        var f = e.Feature[g];
        var slot = Array.IndexOf(pathFeature, f, 0, m);
        var isNew = slot < 0;
        if (isNew)
        {
            slot = m;
            pathFeature[m] = f;
        }
        Slot[g] = (byte)slot;
        foreach (var child in (ReadOnlySpan<int>)[e.Left[g], e.Right[g]])
        {
            var ratio = e.CoverRatio(g, child);
            var saved = pathZero[slot];
            pathZero[slot] = isNew ? ratio : saved * ratio;
            Build(child, pathFeature, pathZero, isNew ? m + 1 : m, features, table);
            pathZero[slot] = saved;
            pathFeature[slot] = f;
        }
    }

    /// <summary>Appends, for every hot set H (bit k = path feature k followed), the contribution of the leaf to each of its m features.</summary>
    internal static void AppendLeafTable(double value, ReadOnlySpan<double> z, List<double> table)
    {
        var m = z.Length;
        var subsets = 1 << m;
        // Shapley weights |S|!(m-|S|-1)!/m! for |S| = 0..m-1.
        var weight = new double[Math.Max(m, 1)];
        for (var s = 0; s < m; s++) weight[s] = ShapleyWeight(s, m);
        // Elementary symmetric polynomials of the z over each subset T, built from T without its lowest bit.
        var elementary = new double[subsets * (m + 1)];
        elementary[0] = 1;
        var g = new double[subsets];
        var coldProduct = new double[subsets];
        var all = subsets - 1;
        for (var set = 0; set < subsets; set++)
        {
            var size = System.Numerics.BitOperations.PopCount((uint)set);
            if (set > 0)
            {
                var low = System.Numerics.BitOperations.TrailingZeroCount(set);
                var rest = set & (set - 1);
                var from = rest * (m + 1);
                var to = set * (m + 1);
                elementary[to] = 1;
                for (var j = 1; j <= size; j++)
                    elementary[to + j] = elementary[from + j] + z[low] * elementary[from + j - 1];
            }
            if (size < m)
            {
                var sum = 0.0;
                for (var s = 0; s <= size; s++) sum += weight[s] * elementary[set * (m + 1) + size - s];
                g[set] = sum;
            }
            var product = 1.0;
            var cold = all & ~set;
            while (cold != 0)
            {
                product *= z[System.Numerics.BitOperations.TrailingZeroCount(cold)];
                cold &= cold - 1;
            }
            coldProduct[set] = product;
        }
        for (var hot = 0; hot < subsets; hot++)
        {
            var scale = value * coldProduct[hot];
            for (var k = 0; k < m; k++)
            {
                var bit = 1 << k;
                table.Add((hot & bit) != 0 ? scale * (1 - z[k]) * g[hot ^ bit] : -scale * g[hot]);
            }
        }
    }

    /// <summary>|S|!(m-|S|-1)!/m! = 1 / (m·C(m-1, s)).</summary>
    internal static double ShapleyWeight(int s, int m)
    {
        var binomial = 1.0;
        for (var i = 1; i <= s; i++) binomial = binomial * (m - 1 - s + i) / i;
        return 1 / (m * binomial);
    }

    /// <summary>Adds tree <paramref name="t"/>'s attributions for row <paramref name="x"/> to <paramref name="phi"/> ([output][feature]); <paramref name="masks"/> is scratch of at least the tree's node count.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal void AddTree(int t, ReadOnlySpan<double> x, Span<double> phi, Span<uint> masks)
    {
        var e = _e;
        var start = e.TreeStart[t];
        var end = e.TreeStart[t + 1];
        var outputPhi = phi.Slice(e.TreeOutput[t] * e.FeatureCount, e.FeatureCount);
        var flags = e.Flags;
        var table = Table;
        var features = Features;
        masks[0] = uint.MaxValue;
        for (var g = start; g < end; g++)
        {
            var mask = masks[g - start];
            if ((flags[g] & CompiledEnsemble.LeafFlag) != 0)
            {
                int m = PathFeatures[g];
                var hot = (int)(mask & ((1u << m) - 1));
                var row = TableStart[g] + hot * m;
                var f0 = FeatureStart[g];
                for (var k = 0; k < m; k++)
                    outputPhi[features[f0 + k]] += table[row + k];
                continue;
            }
            var off = mask & ~(1u << Slot[g]);
            if (e.GoesLeft(g, x[e.Feature[g]]))
            {
                masks[e.Left[g] - start] = mask;
                masks[e.Right[g] - start] = off;
            }
            else
            {
                masks[e.Left[g] - start] = off;
                masks[e.Right[g] - start] = mask;
            }
        }
    }
}
