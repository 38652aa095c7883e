namespace Forge.Explainability.Trees;

/// <summary>How a split node compares a feature value with its threshold.</summary>
public enum SplitRule : byte
{
    /// <summary>Left when value &lt; threshold (XGBoost).</summary>
    LessThan,

    /// <summary>Left when value &lt;= threshold (LightGBM, scikit-learn, ML.NET).</summary>
    LessOrEqual,

    /// <summary>Left when the value, truncated to an integer, is one of the node's categories; negatives and unknown categories go right.</summary>
    InCategorySet,
}

/// <summary>How a split node treats a missing (NaN) value, and whether zero counts as missing.</summary>
public enum MissingRule : byte
{
    /// <summary>NaN goes to the default child (XGBoost; LightGBM's missing type "NaN").</summary>
    DefaultChild,

    /// <summary>NaN and zero (|x| ≤ 1e-35) go to the default child (LightGBM's missing type "Zero").</summary>
    ZeroIsMissing,

    /// <summary>NaN is compared as 0 (LightGBM's missing type "None").</summary>
    NaNAsZero,
}

/// <summary>One node of a <see cref="DecisionTree"/>: a split with two children, or a leaf with its value(s).</summary>
public sealed record TreeNode
{
    private TreeNode() { }

    /// <summary>True for a leaf.</summary>
    public bool IsLeaf { get; private init; }

    /// <summary>The feature (column index) a split tests; -1 for a leaf.</summary>
    public int Feature { get; private init; } = -1;

    /// <summary>The split threshold; unused by leaves and category splits.</summary>
    public double Threshold { get; private init; }

    /// <summary>Index of the left child in the tree's node list; -1 for a leaf.</summary>
    public int Left { get; private init; } = -1;

    /// <summary>Index of the right child; -1 for a leaf.</summary>
    public int Right { get; private init; } = -1;

    /// <summary>How much training data (count or hessian sum) reached the node; TreeSHAP's conditional expectations weigh children by it.</summary>
    public double Cover { get; private init; }

    /// <summary>Where a missing value goes when <see cref="Missing"/> sends it to the default child.</summary>
    public bool DefaultLeft { get; private init; }

    /// <summary>How the split compares.</summary>
    public SplitRule Rule { get; private init; }

    /// <summary>How the split treats missing values.</summary>
    public MissingRule Missing { get; private init; }

    /// <summary>For <see cref="SplitRule.InCategorySet"/>: the categories that go left.</summary>
    public IReadOnlyList<int>? Categories { get; private init; }

    /// <summary>A leaf's output(s): one value, or one per output of a tree with vector leaves.</summary>
    public IReadOnlyList<double> LeafValues { get; private init; } = [];

    /// <summary>A leaf with one value.</summary>
    public static TreeNode Leaf(double value, double cover) => Leaf([value], cover);

    /// <summary>A leaf with one value per output (a vector-leaf tree).</summary>
    public static TreeNode Leaf(double[] values, double cover)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Length == 0) throw new ArgumentException("a leaf needs at least one value", nameof(values));
        return new TreeNode { IsLeaf = true, LeafValues = values.ToArray(), Cover = cover };
    }

    /// <summary>A numeric split: left when the value passes <paramref name="rule"/> against <paramref name="threshold"/>.</summary>
    public static TreeNode Split(int feature, double threshold, int left, int right, double cover,
        bool defaultLeft = false, SplitRule rule = SplitRule.LessThan, MissingRule missing = MissingRule.DefaultChild)
    {
        if (rule == SplitRule.InCategorySet)
            throw new ArgumentException("use TreeNode.CategorySplit for category splits", nameof(rule));
        return new TreeNode
        {
            Feature = feature, Threshold = threshold, Left = left, Right = right, Cover = cover,
            DefaultLeft = defaultLeft, Rule = rule, Missing = missing,
        };
    }

    /// <summary>A category split: left when the value (truncated to an integer) is in <paramref name="leftCategories"/>.</summary>
    public static TreeNode CategorySplit(int feature, IEnumerable<int> leftCategories, int left, int right, double cover,
        bool defaultLeft = false, MissingRule missing = MissingRule.DefaultChild)
    {
        ArgumentNullException.ThrowIfNull(leftCategories);
        var categories = leftCategories.Distinct().Order().ToArray();
        if (categories.Any(c => c < 0))
            throw new ArgumentException("categories are non-negative integers", nameof(leftCategories));
        return new TreeNode
        {
            Feature = feature, Left = left, Right = right, Cover = cover, DefaultLeft = defaultLeft,
            Rule = SplitRule.InCategorySet, Missing = missing, Categories = categories,
        };
    }
}
