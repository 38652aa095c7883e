using Forge.Core;

namespace Forge.Tabular;

/// <summary>What a tabular model predicts.</summary>
public enum TabularTask
{
    /// <summary>One of two classes; the second label in sorted order is the positive one.</summary>
    Binary,

    /// <summary>One of three or more classes.</summary>
    Multiclass,

    /// <summary>A number.</summary>
    Regression,
}

/// <summary>The ML.NET learner a tabular model is trained with.</summary>
public enum TabularLearner
{
    /// <summary>LightGBM gradient-boosted trees (Microsoft.ML.LightGbm).</summary>
    LightGbm,

    /// <summary>ML.NET's FastTree gradient-boosted trees (one-versus-all for multiclass).</summary>
    FastTree,

    /// <summary>A linear model: L-BFGS logistic regression / maximum entropy for classes, SDCA least squares for regression.</summary>
    Linear,
}

/// <summary>How a feature column is read and encoded.</summary>
public enum FeatureKind
{
    /// <summary>Numbers; a missing value stays missing (NaN) for the trees and becomes the training mean for the others.</summary>
    Numeric,

    /// <summary>Categories, one-hot encoded; a missing or unseen category encodes as all zeros.</summary>
    Categorical,
}

/// <summary>How the rows of a dataset are split into training and test rows (and the training rows into fit and validation).</summary>
public enum SplitMethod
{
    /// <summary>A seeded shuffle within each class, so every part keeps the class shares (classification).</summary>
    Stratified,

    /// <summary>A seeded shuffle.</summary>
    Random,

    /// <summary>File order: the last rows are held out, so no future row helps predict a past one.</summary>
    Chronological,
}

/// <summary>One feature of a tabular model as it was seen in training.</summary>
/// <param name="Name">The column name.</param>
/// <param name="Kind">Numeric or categorical.</param>
/// <param name="Categories">A categorical column's training values, in ordinal order; empty for a numeric one.</param>
/// <param name="Min">A numeric column's smallest training value (null when it had none).</param>
/// <param name="Max">A numeric column's largest training value.</param>
/// <param name="Missing">How many training rows had no value.</param>
public sealed record FeatureInfo(string Name, FeatureKind Kind, IReadOnlyList<string> Categories, double? Min, double? Max, int Missing)
{
    /// <summary>The signature input this feature is: float32 with its range, or string with its categories.</summary>
    public TensorSpec ToTensorSpec() => Kind == FeatureKind.Numeric
        ? new TensorSpec(Name, "float32", [-1]) { Min = Min, Max = Max }
        : new TensorSpec(Name, "string", [-1]) { Categories = Categories };

    /// <summary>Reads a feature back from a signature input.</summary>
    internal static FeatureInfo FromTensorSpec(TensorSpec spec) => spec.DType == "string"
        ? new FeatureInfo(spec.Name, FeatureKind.Categorical, spec.Categories ?? [], null, null, 0)
        : new FeatureInfo(spec.Name, FeatureKind.Numeric, [], spec.Min, spec.Max, 0);
}
