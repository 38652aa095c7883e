using System.Text.Json.Serialization;

namespace Forge.Core;

/// <summary>One named input or output tensor of a model: element type, shape and the values it accepts.</summary>
/// <param name="Name">The tensor's name, e.g. "image" or "features".</param>
/// <param name="DType">Element type, e.g. "float32", "int64", "string".</param>
/// <param name="Shape">Dimensions, with -1 for the batch dimension (and any other free dimension).</param>
public sealed record TensorSpec(string Name, [property: JsonPropertyName("dtype")] string DType, int[] Shape)
{
    /// <summary>Smallest value the model was trained on, when known.</summary>
    public double? Min { get; init; }

    /// <summary>Largest value the model was trained on, when known.</summary>
    public double? Max { get; init; }

    /// <summary>The allowed values of a categorical input, when it is one.</summary>
    public IReadOnlyList<string>? Categories { get; init; }

    /// <summary>Equal when every field is equal, comparing shape and categories element by element.</summary>
    public bool Equals(TensorSpec? other) =>
        other is not null
        && Name == other.Name
        && DType == other.DType
        && Shape.AsSpan().SequenceEqual(other.Shape)
        && Min == other.Min
        && Max == other.Max
        && SequenceEqual(Categories, other.Categories);

    /// <summary>A hash consistent with <see cref="Equals(TensorSpec?)"/>.</summary>
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(Name);
        hash.Add(DType);
        foreach (var d in Shape) hash.Add(d);
        hash.Add(Min);
        hash.Add(Max);
        return hash.ToHashCode();
    }

    internal static bool SequenceEqual<T>(IReadOnlyList<T>? a, IReadOnlyList<T>? b) =>
        ReferenceEquals(a, b) || (a is not null && b is not null && a.SequenceEqual(b));
}

/// <summary>What a model takes and gives: its input tensors, output tensors and class labels.</summary>
/// <param name="Inputs">The input tensors, in the order the model expects them.</param>
/// <param name="Outputs">The output tensors.</param>
/// <param name="Labels">The class labels, in the order of the output probabilities.</param>
public sealed record ModelSignature(IReadOnlyList<TensorSpec> Inputs, IReadOnlyList<TensorSpec> Outputs, IReadOnlyList<string> Labels)
{
    /// <summary>Equal when inputs, outputs and labels are equal element by element.</summary>
    public bool Equals(ModelSignature? other) =>
        other is not null
        && TensorSpec.SequenceEqual(Inputs, other.Inputs)
        && TensorSpec.SequenceEqual(Outputs, other.Outputs)
        && TensorSpec.SequenceEqual(Labels, other.Labels);

    /// <summary>A hash consistent with <see cref="Equals(ModelSignature?)"/>.</summary>
    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (var label in Labels) hash.Add(label);
        hash.Add(Inputs.Count);
        hash.Add(Outputs.Count);
        return hash.ToHashCode();
    }
}

/// <summary>A loaded model that turns input rows into class probabilities.</summary>
public interface IPredictor : IDisposable
{
    /// <summary>What the model takes and gives.</summary>
    ModelSignature Signature { get; }

    /// <summary>Predicts each row (one flattened input); each result row holds probabilities over <see cref="ModelSignature.Labels"/>.</summary>
    float[][] Predict(IReadOnlyList<float[]> rows);
}
