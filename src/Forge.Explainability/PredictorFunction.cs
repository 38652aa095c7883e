using System.Globalization;
using Forge.Core;

namespace Forge.Explainability;

/// <summary>
/// Any Forge model (<see cref="IPredictor"/>) as a numeric <see cref="IModelFunction"/>, so every model-agnostic
/// explainer works on every model flavor. Each input column becomes features: a number or boolean one feature, a
/// categorical string (an input with declared categories) one feature holding the category's index in the signature's
/// list, a tensor column one feature per cell value ("image[17]"). A missing value is NaN; NaN (or an index outside the
/// list) decodes to a missing category. Outputs are the class probabilities, or the value of a regression.
/// </summary>
/// <remarks>
/// Free-text inputs (strings without categories) have no numeric form; explain those with a text explainer
/// (<see cref="Lime.LimeTextExplainer"/>). Calls into the predictor are serialised, since a predictor need not be
/// thread-safe.
/// </remarks>
public sealed class PredictorFunction : IModelFunction
{
    private readonly IPredictor _predictor;
    private readonly Part[] _parts;
    private readonly string[] _featureNames;
    private readonly bool _regression;
    private readonly object _gate = new();

    private PredictorFunction(IPredictor predictor, Part[] parts, string[] featureNames, bool regression)
    {
        _predictor = predictor;
        _parts = parts;
        _featureNames = featureNames;
        _regression = regression;
        OutputCount = regression ? 1 : predictor.Signature.Labels.Count;
        OutputNames = regression ? ["value"] : [.. predictor.Signature.Labels];
        CategoricalFeatures = [.. parts.Where(p => p.Categories is not null).Select(p => p.Offset)];
    }

    /// <summary>Wraps a predictor; its signature decides the features. A free-text input is refused with what to use instead.</summary>
    public static PredictorFunction Create(IPredictor predictor)
    {
        ArgumentNullException.ThrowIfNull(predictor);
        var signature = predictor.Signature;
        if (signature.Inputs.Count == 0) throw new UsageException("the model declares no inputs, so there is nothing to attribute to");
        var parts = new List<Part>();
        var names = new List<string>();
        foreach (var input in signature.Inputs)
        {
            var spec = input.ToColumnSpec();
            var offset = names.Count;
            switch (spec.Type)
            {
                case ColumnType.Tensor:
                    for (var i = 0; i < spec.CellLength; i++) names.Add(string.Create(CultureInfo.InvariantCulture, $"{spec.Name}[{i}]"));
                    parts.Add(new Part(spec, offset, spec.CellLength, null));
                    break;
                case ColumnType.String when input.Categories is null || input.Categories.Count == 0:
                    throw new UsageException($"input '{input.Name}' is free text, which has no numeric form for a tabular explainer; explain texts with LIME (method lime) or KernelSHAP over words (method kernel), e.g. forge explain BUNDLE --text \"...\"");
                case ColumnType.String:
                    names.Add(spec.Name);
                    parts.Add(new Part(spec, offset, 1, [.. input.Categories!]));
                    break;
                default:
                    names.Add(spec.Name);
                    parts.Add(new Part(spec, offset, 1, null));
                    break;
            }
        }
        // A regression answers values and declares no labels; a classifier declares its labels.
        return new PredictorFunction(predictor, [.. parts], [.. names], signature.Labels.Count == 0);
    }

    /// <summary>The wrapped model.</summary>
    public IPredictor Predictor => _predictor;

    /// <summary>One name per feature: the column name, or "column[i]" for a tensor column's values.</summary>
    public IReadOnlyList<string> FeatureNames => _featureNames;

    /// <summary>The features that hold category indices (for LIME's categorical handling).</summary>
    public IReadOnlyList<int> CategoricalFeatures { get; }

    /// <inheritdoc/>
    public int FeatureCount => _featureNames.Length;

    /// <inheritdoc/>
    public int OutputCount { get; }

    /// <inheritdoc/>
    public IReadOnlyList<string>? OutputNames { get; }

    /// <summary>The categories of a categorical feature (its values index them), or null for a numeric feature.</summary>
    public IReadOnlyList<string>? CategoriesOf(int feature)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(feature);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(feature, FeatureCount);
        return _parts.First(p => feature >= p.Offset && feature < p.Offset + p.Width).Categories;
    }

    /// <summary>
    /// The rows of <paramref name="table"/> as n x <see cref="FeatureCount"/> numbers. Columns are matched by name
    /// (others are ignored); a missing column is refused naming it and the closest name. A category not in the
    /// signature's list becomes NaN, as the models answer it as no category.
    /// </summary>
    public double[,] Encode(Table table)
    {
        ArgumentNullException.ThrowIfNull(table);
        var missing = _parts.Where(p => !table.Schema.Contains(p.Spec.Name)).Select(p => p.Spec.Name).ToArray();
        if (missing.Length > 0)
        {
            var typo = NameSuggester.Closest(missing[0], table.Schema.Select(c => c.Name));
            throw new UsageException($"the rows lack column(s) {string.Join(", ", missing.Select(m => $"'{m}'"))} the model takes{(typo is null ? "" : $" (found '{typo}'; a typo?)")}; the model takes {string.Join(", ", _parts.Select(p => p.Spec.Name))}");
        }
        var n = table.RowCount;
        var d = FeatureCount;
        var result = new double[n, d];
        foreach (var part in _parts)
        {
            var column = table[part.Spec.Name];
            if (part.Spec.Type == ColumnType.Tensor)
            {
                if (column is not TensorColumn tensor || tensor.CellLength != part.Width)
                    throw new UsageException($"column '{part.Spec.Name}' is {column.Spec}; the model takes {part.Spec}");
                for (var r = 0; r < n; r++)
                {
                    var cell = tensor[r];
                    for (var i = 0; i < part.Width; i++) result[r, part.Offset + i] = tensor.IsMissing(r) ? double.NaN : cell[i];
                }
                continue;
            }
            if (part.Categories is { } categories)
            {
                var index = new Dictionary<string, int>(categories.Length, StringComparer.Ordinal);
                for (var i = 0; i < categories.Length; i++) index.TryAdd(categories[i], i);
                for (var r = 0; r < n; r++)
                {
                    var v = column.GetValue(r);
                    var text = v as string ?? (v is IFormattable f ? f.ToString(null, CultureInfo.InvariantCulture) : null);
                    result[r, part.Offset] = text is not null && index.TryGetValue(text, out var code) ? code : double.NaN;
                }
                continue;
            }
            for (var r = 0; r < n; r++)
            {
                result[r, part.Offset] = column.GetValue(r) switch
                {
                    null => double.NaN,
                    bool b => b ? 1 : 0,
                    float x => x,
                    double x => x,
                    int x => x,
                    long x => x,
                    string s when double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var x) => x,
                    var other => throw new UsageException($"column '{part.Spec.Name}' holds '{other}'; the model takes numbers there"),
                };
            }
        }
        return result;
    }

    /// <summary>Turns n x <see cref="FeatureCount"/> numbers back into a <see cref="Table"/> of the model's input columns.</summary>
    public Table Decode(ReadOnlySpan<double> rows)
    {
        var d = FeatureCount;
        if (rows.Length % d != 0) throw new ArgumentException($"{rows.Length} values are not whole rows of {d} features", nameof(rows));
        var n = rows.Length / d;
        var columns = new Column[_parts.Length];
        for (var c = 0; c < _parts.Length; c++)
        {
            var part = _parts[c];
            var spec = part.Spec;
            bool[]? missing = null;
            bool[] Missing() => missing ??= new bool[n];
            switch (spec.Type)
            {
                case ColumnType.Tensor:
                {
                    var values = new float[(long)n * part.Width];
                    for (var r = 0; r < n; r++)
                    {
                        for (var i = 0; i < part.Width; i++) values[(long)r * part.Width + i] = (float)rows[r * d + part.Offset + i];
                    }
                    columns[c] = Column.Tensor(spec.Name, spec.CellShape, values);
                    break;
                }
                case ColumnType.String:
                {
                    var values = new string?[n];
                    var categories = part.Categories!;
                    for (var r = 0; r < n; r++)
                    {
                        var x = rows[r * d + part.Offset];
                        var code = double.IsNaN(x) ? -1 : (long)Math.Round(x);
                        values[r] = code >= 0 && code < categories.Length ? categories[code] : null;
                    }
                    columns[c] = Column.String(spec.Name, values);
                    break;
                }
                case ColumnType.Float32:
                {
                    var values = new float[n];
                    for (var r = 0; r < n; r++)
                    {
                        var x = rows[r * d + part.Offset];
                        if (double.IsNaN(x)) Missing()[r] = true;
                        values[r] = (float)x;
                    }
                    columns[c] = Column.Float32(spec.Name, values, missing);
                    break;
                }
                case ColumnType.Float64:
                {
                    var values = new double[n];
                    for (var r = 0; r < n; r++)
                    {
                        var x = rows[r * d + part.Offset];
                        if (double.IsNaN(x)) Missing()[r] = true;
                        values[r] = x;
                    }
                    columns[c] = Column.Float64(spec.Name, values, missing);
                    break;
                }
                case ColumnType.Int32:
                {
                    var values = new int[n];
                    for (var r = 0; r < n; r++)
                    {
                        var x = rows[r * d + part.Offset];
                        if (double.IsNaN(x)) Missing()[r] = true;
                        else values[r] = (int)Math.Round(x);
                    }
                    columns[c] = Column.Int32(spec.Name, values, missing);
                    break;
                }
                case ColumnType.Int64:
                {
                    var values = new long[n];
                    for (var r = 0; r < n; r++)
                    {
                        var x = rows[r * d + part.Offset];
                        if (double.IsNaN(x)) Missing()[r] = true;
                        else values[r] = (long)Math.Round(x);
                    }
                    columns[c] = Column.Int64(spec.Name, values, missing);
                    break;
                }
                default:
                {
                    var values = new bool[n];
                    for (var r = 0; r < n; r++)
                    {
                        var x = rows[r * d + part.Offset];
                        if (double.IsNaN(x)) Missing()[r] = true;
                        else values[r] = x >= 0.5;
                    }
                    columns[c] = Column.Boolean(spec.Name, values, missing);
                    break;
                }
            }
        }
        return new Table(columns);
    }

    /// <inheritdoc/>
    public void Evaluate(ReadOnlySpan<double> rows, Span<double> outputs)
    {
        var n = rows.Length / FeatureCount;
        if (rows.Length % FeatureCount != 0 || outputs.Length != n * OutputCount)
            throw new ArgumentException($"{rows.Length} input values and {outputs.Length} output slots do not fit {FeatureCount} features and {OutputCount} outputs per row");
        if (n == 0) return;
        var table = Decode(rows);
        Prediction prediction;
        lock (_gate) prediction = _predictor.Predict(table);
        if (prediction.RowCount != n)
            throw new ForgeException($"the model answered {prediction.RowCount} rows for {n}");
        if (_regression)
        {
            var values = prediction.Values ?? throw new ForgeException("the model declares no labels but answered probabilities");
            for (var r = 0; r < n; r++) outputs[r] = values[r];
            return;
        }
        var probabilities = prediction.Probabilities ?? throw new ForgeException("the model declares labels but answered values");
        for (var r = 0; r < n; r++)
        {
            var p = probabilities[r];
            for (var k = 0; k < OutputCount; k++) outputs[r * OutputCount + k] = p[k];
        }
    }

    private sealed record Part(ColumnSpec Spec, int Offset, int Width, string[]? Categories);
}
