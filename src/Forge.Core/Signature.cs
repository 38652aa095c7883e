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

    /// <summary>The shape of one instance: the shape without the leading batch dimension.</summary>
    public int[] CellShape() => Shape.Length > 1 ? Shape[1..] : [];

    /// <summary>
    /// The <see cref="Table"/> column this input is fed through: a tensor column for a shaped input (an image), else a
    /// scalar column of the input's type ("float32", "float64", "int32", "int64", "bool", "string").
    /// </summary>
    public ColumnSpec ToColumnSpec()
    {
        var cell = CellShape();
        if (cell.Length > 0)
        {
            if (DType != "float32") throw new UsageException($"input '{Name}' is a {DType} tensor; only float32 tensors are supported");
            return new ColumnSpec(Name, ColumnType.Tensor) { CellShape = cell };
        }
        return new ColumnSpec(Name, DType switch
        {
            "float32" => ColumnType.Float32,
            "float64" => ColumnType.Float64,
            "int32" => ColumnType.Int32,
            "int64" => ColumnType.Int64,
            "bool" => ColumnType.Boolean,
            "string" => ColumnType.String,
            _ => throw new UsageException($"input '{Name}' has dtype '{DType}', which no column type holds"),
        });
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

    /// <summary>The columns a batch for this model holds: one per input, in order.</summary>
    public TableSchema InputSchema() => new(Inputs.Select(i => i.ToColumnSpec()));

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

/// <summary>A loaded model: it takes a typed <see cref="Table"/> batch whose columns are its signature's inputs.</summary>
public interface IPredictor : IDisposable
{
    /// <summary>What the model takes and gives.</summary>
    ModelSignature Signature { get; }

    /// <summary>Predicts every row of <paramref name="batch"/>; the result has one entry per row, in order.</summary>
    Prediction Predict(Table batch);
}

/// <summary>
/// A model whose <see cref="IPredictor.Predict"/> may run on several threads at once (its forward pass keeps no state
/// between calls), so a server can overlap forward passes.
/// </summary>
public interface IConcurrentPredictor : IPredictor;

/// <summary>What a model answered for a batch: class probabilities (classifiers) or values (regression, forecasts), one per row.</summary>
public sealed class Prediction
{
    private Prediction(IReadOnlyList<string> labels, float[][]? probabilities, double[]? values)
    {
        Labels = labels;
        Probabilities = probabilities;
        Values = values;
        RowCount = probabilities?.Length ?? values!.Length;
    }

    /// <summary>A classifier's answer: for each row, probabilities over <paramref name="labels"/> in their order.</summary>
    public static Prediction Classes(IReadOnlyList<string> labels, float[][] probabilities)
    {
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(probabilities);
        for (var i = 0; i < probabilities.Length; i++)
        {
            if (probabilities[i]?.Length != labels.Count)
                throw new ArgumentException($"row {i} has {probabilities[i]?.Length ?? 0} probabilities for {labels.Count} labels", nameof(probabilities));
        }
        return new Prediction(labels, probabilities, null);
    }

    /// <summary>A regression (or forecasting) model's answer: one value per row.</summary>
    public static Prediction Regression(double[] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        return new Prediction([], null, values);
    }

    /// <summary>The number of rows answered.</summary>
    public int RowCount { get; }

    /// <summary>The class labels, in the order of each row's probabilities; empty for a regression.</summary>
    public IReadOnlyList<string> Labels { get; }

    /// <summary>Per row, the probability of each label; null for a regression.</summary>
    public float[][]? Probabilities { get; }

    /// <summary>Per row, the predicted value; null for a classifier.</summary>
    public double[]? Values { get; }

    /// <summary>
    /// Per row, the sentence embedding a text model computed on its way to the answer (null for models without one).
    /// Carried so drift monitoring can summarise what the model saw without encoding the texts a second time.
    /// </summary>
    public float[][]? Embeddings { get; private init; }

    /// <summary>The same answer carrying the embedding of each row (one per row, all of one dimension).</summary>
    public Prediction WithEmbeddings(float[][] embeddings)
    {
        ArgumentNullException.ThrowIfNull(embeddings);
        if (embeddings.Length != RowCount)
            throw new ArgumentException($"{embeddings.Length} embeddings for a prediction of {RowCount} rows", nameof(embeddings));
        return new Prediction(Labels, Probabilities, Values) { Embeddings = embeddings };
    }

    /// <summary>The most probable label of <paramref name="row"/> (the first of equals); a regression has none.</summary>
    public string PredictedLabel(int row) =>
        Probabilities is { } p ? Labels[ClassificationMetrics.ArgMax(p[row])] : throw new InvalidOperationException("a regression predicts values, not labels");

    /// <summary>Rows <paramref name="start"/> to <paramref name="start"/> + <paramref name="count"/> − 1.</summary>
    public Prediction Slice(int start, int count)
    {
        if (start < 0 || count < 0 || start > RowCount - count)
            throw new ArgumentOutOfRangeException(nameof(start), $"rows {start}..{start + count} are outside a prediction of {RowCount} rows");
        var embeddings = Embeddings?[start..(start + count)];
        return Probabilities is { } p
            ? new Prediction(Labels, p[start..(start + count)], null) { Embeddings = embeddings }
            : new Prediction(Labels, null, Values![start..(start + count)]) { Embeddings = embeddings };
    }
}

/// <summary>Conveniences over <see cref="IPredictor"/> for models with one input.</summary>
public static class PredictorExtensions
{
    /// <summary>
    /// Class probabilities for rows of a model whose one input is a tensor (e.g. an image flattened to 784 floats): the
    /// rows become that input's column.
    /// </summary>
    public static float[][] PredictRows(this IPredictor predictor, IReadOnlyList<float[]> rows)
    {
        ArgumentNullException.ThrowIfNull(predictor);
        ArgumentNullException.ThrowIfNull(rows);
        var input = predictor.Signature.Inputs.Count == 1 ? predictor.Signature.Inputs[0]
            : throw new UsageException($"the model takes {predictor.Signature.Inputs.Count} inputs; build a Table with one column each");
        return predictor.Predict(new Table(Column.Tensor(input.Name, input.CellShape(), rows))).Probabilities
            ?? throw new UsageException("the model is a regression; it predicts values, not probabilities");
    }

    /// <summary>Class probabilities for texts, for a model whose one input is a string column.</summary>
    public static float[][] PredictTexts(this IPredictor predictor, IReadOnlyList<string> texts)
    {
        ArgumentNullException.ThrowIfNull(predictor);
        ArgumentNullException.ThrowIfNull(texts);
        var input = predictor.Signature.Inputs.Count == 1 ? predictor.Signature.Inputs[0]
            : throw new UsageException($"the model takes {predictor.Signature.Inputs.Count} inputs; build a Table with one column each");
        return predictor.Predict(new Table(Column.String(input.Name, [.. texts]))).Probabilities
            ?? throw new UsageException("the model is a regression; it predicts values, not probabilities");
    }
}
