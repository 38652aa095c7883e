using Forge.Core;

namespace Forge.Explainability.Trees;

/// <summary>
/// One regression tree as plain data: node 0 is the root, splits name their children by index. A tree adds its leaf
/// value to one output of the ensemble (<see cref="Output"/>), or, with vector leaves, one value to each output.
/// </summary>
public sealed class DecisionTree
{
    /// <summary>Creates a tree, checking that it is a proper binary tree rooted at node 0.</summary>
    /// <param name="nodes">The nodes; node 0 is the root. Nodes no split reaches are ignored.</param>
    /// <param name="output">The ensemble output a scalar-leaf tree adds to (its class in a multi-class model); 0 for vector leaves.</param>
    public DecisionTree(IReadOnlyList<TreeNode> nodes, int output = 0)
    {
        ArgumentNullException.ThrowIfNull(nodes);
        ArgumentOutOfRangeException.ThrowIfNegative(output);
        if (nodes.Count == 0) throw new ArgumentException("a tree needs at least one node", nameof(nodes));
        var copy = nodes.ToArray();
        Nodes = copy;
        Output = output;
        (LeafWidth, Depth, LeafCount) = Check(copy);
    }

    /// <summary>The nodes, root first.</summary>
    public IReadOnlyList<TreeNode> Nodes { get; }

    /// <summary>The first output this tree adds to.</summary>
    public int Output { get; }

    /// <summary>Values per leaf: 1 for scalar leaves, the output count for vector leaves.</summary>
    public int LeafWidth { get; }

    /// <summary>Edges on the longest root-to-leaf path (0 for a single leaf).</summary>
    public int Depth { get; }

    /// <summary>Number of reachable leaves.</summary>
    public int LeafCount { get; }

    private static (int Width, int Depth, int Leaves) Check(TreeNode[] nodes)
    {
        var seen = new bool[nodes.Length];
        var width = -1;
        var maxDepth = 0;
        var leaves = 0;
        var stack = new Stack<(int Node, int Depth)>();
        stack.Push((0, 0));
        while (stack.Count > 0)
        {
            var (i, depth) = stack.Pop();
            if (i < 0 || i >= nodes.Length)
                throw new ForgeException($"tree node index {i} is out of range (the tree has {nodes.Length} nodes)");
            if (seen[i])
                throw new ForgeException($"tree node {i} is reached twice; a tree's splits must not share children or loop");
            seen[i] = true;
            var node = nodes[i] ?? throw new ForgeException($"tree node {i} is null");
            if (!(node.Cover >= 0) || double.IsInfinity(node.Cover))
                throw new ForgeException($"tree node {i} has cover {node.Cover}; covers are finite and non-negative");
            if (node.IsLeaf)
            {
                if (width >= 0 && node.LeafValues.Count != width)
                    throw new ForgeException($"leaf {i} has {node.LeafValues.Count} values, other leaves have {width}");
                width = node.LeafValues.Count;
                leaves++;
                maxDepth = Math.Max(maxDepth, depth);
                continue;
            }
            if (node.Feature < 0)
                throw new ForgeException($"split node {i} has feature {node.Feature}");
            if (node.Rule != SplitRule.InCategorySet && double.IsNaN(node.Threshold))
                throw new ForgeException($"split node {i} has a NaN threshold");
            stack.Push((node.Right, depth + 1));
            stack.Push((node.Left, depth + 1));
        }
        return (width, maxDepth, leaves);
    }
}
