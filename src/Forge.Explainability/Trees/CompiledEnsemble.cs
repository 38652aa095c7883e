using System.Runtime.CompilerServices;

namespace Forge.Explainability.Trees;

/// <summary>
/// An ensemble flattened into arrays for fast traversal: every tree's nodes renumbered in preorder (a parent before its
/// children) into shared arrays, leaves marked by a negative left child.
/// </summary>
internal sealed class CompiledEnsemble
{
    // Bits of Flags: 0-1 split rule, 2-3 missing rule, 4 default-left, 5 leaf.
    internal const byte LeafFlag = 1 << 5;
    private const byte DefaultLeftFlag = 1 << 4;

    internal readonly int FeatureCount;
    internal readonly int OutputCount;
    internal readonly bool SinglePrecision;
    internal readonly double[] BaseScore;

    // Per tree.
    internal readonly int[] TreeStart;      // T + 1 offsets into the node arrays
    internal readonly int[] TreeOutput;     // first output
    internal readonly int[] TreeWidth;      // values per leaf
    internal readonly int[] TreeDepth;      // longest root-to-leaf path, in edges
    internal readonly int MaxDepth;
    internal readonly int MaxNodes;

    // Per node (global index); children are global indices too.
    internal readonly int[] Left;
    internal readonly int[] Right;
    internal readonly int[] Feature;
    internal readonly double[] Threshold;
    internal readonly byte[] Flags;
    internal readonly double[] Cover;
    internal readonly int[] CategoryStart;  // offset into CategoryBits, for category splits
    internal readonly int[] CategoryWords;  // number of 32-bit words
    internal readonly uint[] CategoryBits;
    internal readonly int[] LeafValueStart; // offset into LeafValues, for leaves
    internal readonly double[] LeafValues;

    internal CompiledEnsemble(TreeEnsemble ensemble)
    {
        var trees = ensemble.Trees;
        FeatureCount = ensemble.FeatureCount;
        OutputCount = ensemble.OutputCount;
        SinglePrecision = ensemble.Options.SinglePrecisionInputs;
        BaseScore = ensemble.BaseScore.ToArray();
        var total = 0;
        foreach (var t in trees) total += CountReachable(t);
        TreeStart = new int[trees.Count + 1];
        TreeOutput = new int[trees.Count];
        TreeWidth = new int[trees.Count];
        TreeDepth = new int[trees.Count];
        Left = new int[total];
        Right = new int[total];
        Feature = new int[total];
        Threshold = new double[total];
        Flags = new byte[total];
        Cover = new double[total];
        CategoryStart = new int[total];
        CategoryWords = new int[total];
        LeafValueStart = new int[total];
        var bits = new List<uint>();
        var leafValues = new List<double>();
        var next = 0;
        for (var t = 0; t < trees.Count; t++)
        {
            var tree = trees[t];
            TreeStart[t] = next;
            TreeOutput[t] = tree.Output;
            TreeWidth[t] = tree.LeafWidth;
            TreeDepth[t] = tree.Depth;
            MaxDepth = Math.Max(MaxDepth, tree.Depth);
            var start = next;
            // Preorder with an explicit stack: the global index of a node is assigned when it is popped, and its
            // children's slots are patched once they are placed.
            var stack = new Stack<(int Source, int Parent, bool IsLeft)>();
            stack.Push((0, -1, false));
            while (stack.Count > 0)
            {
                var (source, parent, isLeft) = stack.Pop();
                var g = next++;
                if (parent >= 0)
                {
                    if (isLeft) Left[parent] = g;
                    else Right[parent] = g;
                }
                var node = tree.Nodes[source];
                Cover[g] = node.Cover;
                if (node.IsLeaf)
                {
                    Flags[g] = LeafFlag;
                    Left[g] = Right[g] = -1;
                    Feature[g] = -1;
                    LeafValueStart[g] = leafValues.Count;
                    leafValues.AddRange(node.LeafValues);
                    continue;
                }
                Feature[g] = node.Feature;
                Threshold[g] = SinglePrecision ? (float)node.Threshold : node.Threshold;
                Flags[g] = (byte)((byte)node.Rule | ((byte)node.Missing << 2) | (node.DefaultLeft ? DefaultLeftFlag : 0));
                if (node.Rule == SplitRule.InCategorySet)
                {
                    var categories = node.Categories!;
                    var words = categories.Count == 0 ? 0 : categories[^1] / 32 + 1;
                    CategoryStart[g] = bits.Count;
                    CategoryWords[g] = words;
                    for (var w = 0; w < words; w++) bits.Add(0);
                    foreach (var c in categories) bits[CategoryStart[g] + c / 32] |= 1u << (c % 32);
                }
                // Right is pushed first so the left subtree is numbered first.
                stack.Push((node.Right, g, false));
                stack.Push((node.Left, g, true));
            }
            MaxNodes = Math.Max(MaxNodes, next - start);
        }
        TreeStart[trees.Count] = next;
        CategoryBits = bits.ToArray();
        LeafValues = leafValues.ToArray();
    }

    internal int TreeCount => TreeOutput.Length;

    private static int CountReachable(DecisionTree tree)
    {
        var count = 0;
        var stack = new Stack<int>();
        stack.Push(0);
        while (stack.Count > 0)
        {
            var node = tree.Nodes[stack.Pop()];
            count++;
            if (node.IsLeaf) continue;
            stack.Push(node.Left);
            stack.Push(node.Right);
        }
        return count;
    }

    internal bool IsLeaf(int g) => (Flags[g] & LeafFlag) != 0;

    /// <summary>Whether value <paramref name="x"/> (already rounded when single precision) goes to the left child of split <paramref name="g"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal bool GoesLeft(int g, double x)
    {
        var flags = Flags[g];
        var missing = (MissingRule)((flags >> 2) & 3);
        if (double.IsNaN(x))
        {
            if (missing != MissingRule.NaNAsZero) return (flags & DefaultLeftFlag) != 0;
            x = 0;
        }
        else if (missing == MissingRule.ZeroIsMissing && Math.Abs(x) <= 1e-35)
        {
            return (flags & DefaultLeftFlag) != 0;
        }
        switch ((SplitRule)(flags & 3))
        {
            case SplitRule.LessThan:
                return x < Threshold[g];
            case SplitRule.LessOrEqual:
                return x <= Threshold[g];
            default:
                // Integer part of the value; negatives, values too large for an int and categories past the bit set go right.
                if (!(x >= 0 && x < int.MaxValue)) return false;
                var c = (int)x;
                var word = c >> 5;
                return word < CategoryWords[g] && (CategoryBits[CategoryStart[g] + word] >> (c & 31) & 1) != 0;
        }
    }

    /// <summary>Copies one row, rounding to float when the model was trained on floats.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void LoadRow(ReadOnlySpan<double> source, Span<double> target)
    {
        if (!SinglePrecision)
        {
            source.CopyTo(target);
            return;
        }
        for (var i = 0; i < source.Length; i++) target[i] = (float)source[i];
    }

    /// <summary>The leaf a row reaches in tree <paramref name="t"/>.</summary>
    internal int LeafOf(int t, ReadOnlySpan<double> row)
    {
        var g = TreeStart[t];
        while ((Flags[g] & LeafFlag) == 0)
            g = GoesLeft(g, row[Feature[g]]) ? Left[g] : Right[g];
        return g;
    }

    /// <summary>Raw margins of n rows: base score plus every tree's leaf value.</summary>
    internal void Predict(ReadOnlySpan<double> rows, Span<double> outputs)
    {
        var d = FeatureCount;
        var n = rows.Length / d;
        Span<double> row = d <= 512 ? stackalloc double[d] : new double[d];
        for (var r = 0; r < n; r++)
        {
            LoadRow(rows.Slice(r * d, d), row);
            var output = outputs.Slice(r * OutputCount, OutputCount);
            BaseScore.CopyTo(output);
            for (var t = 0; t < TreeCount; t++)
            {
                var leaf = LeafOf(t, row);
                var start = LeafValueStart[leaf];
                var o = TreeOutput[t];
                for (var w = 0; w < TreeWidth[t]; w++) output[o + w] += LeafValues[start + w];
            }
        }
    }

    /// <summary>The fraction of a node's cover that goes to child <paramref name="child"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal double CoverRatio(int parent, int child)
    {
        var c = Cover[parent];
        // A node without cover (hand-built trees) splits its weight evenly; real trainers always record some.
        return c > 0 ? Cover[child] / c : 0.5;
    }

    /// <summary>Per output: base score plus each tree's cover-weighted mean leaf value.</summary>
    internal double[] ExpectedValue()
    {
        var e = BaseScore.ToArray();
        for (var t = 0; t < TreeCount; t++)
        {
            var o = TreeOutput[t];
            for (var w = 0; w < TreeWidth[t]; w++) e[o + w] += NodeMean(TreeStart[t], w);
        }
        return e;
    }

    private double NodeMean(int g, int w)
    {
        if (IsLeaf(g)) return LeafValues[LeafValueStart[g] + w];
        return CoverRatio(g, Left[g]) * NodeMean(Left[g], w) + CoverRatio(g, Right[g]) * NodeMean(Right[g], w);
    }
}
