using System.Globalization;

namespace Forge.Explainability;

/// <summary>What the features of an explanation are: table columns, the words of a text or the regions of an image.</summary>
public enum ExplanationKind
{
    /// <summary>Features are the columns of tabular rows.</summary>
    Tabular,

    /// <summary>Features are the distinct words of one text; <see cref="Explanation.Text"/> places them in it.</summary>
    Text,

    /// <summary>Features are regions (superpixels) or pixels of one image; <see cref="Explanation.Image"/> maps them.</summary>
    Image,
}

/// <summary>
/// The result of every explainer and the only input of every plot: per row and output, a base value and one attribution
/// per feature, with the explained data and the names needed to show it.
/// </summary>
/// <remarks>
/// For additive methods (every SHAP variant) <c>BaseValue(r, k) + Σ_f Value(r, f, k)</c> equals the model output
/// <c>Prediction(r, k)</c> in the space named by <see cref="OutputSpace"/>. LIME's values are the coefficients of a local
/// surrogate and its base value is the surrogate's intercept, so they need not add up to the prediction.
/// </remarks>
public sealed class Explanation
{
    private readonly double[] _values;
    private readonly double[] _baseValues;
    private readonly string[] _featureNames;
    private string[] _outputNames;
    private double[]? _data;
    private double[]? _predictions;
    private double[]? _interactions;
    private string[]? _valueLabels;
    private double[]? _fitScores;

    /// <summary>Creates an explanation from flat arrays.</summary>
    /// <param name="method">The method that produced it, e.g. "tree", "kernel", "lime".</param>
    /// <param name="featureNames">One name per feature.</param>
    /// <param name="rowCount">How many rows (inputs) were explained.</param>
    /// <param name="outputCount">How many model outputs (classes) each row has attributions for.</param>
    /// <param name="values">Attributions, laid out as [row][output][feature] (row-major).</param>
    /// <param name="baseValues">Base values, laid out as [row][output].</param>
    public Explanation(string method, IReadOnlyList<string> featureNames, int rowCount, int outputCount, double[] values, double[] baseValues)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(method);
        ArgumentNullException.ThrowIfNull(featureNames);
        ArgumentNullException.ThrowIfNull(values);
        ArgumentNullException.ThrowIfNull(baseValues);
        ArgumentOutOfRangeException.ThrowIfNegative(rowCount);
        ArgumentOutOfRangeException.ThrowIfLessThan(outputCount, 1);
        if (featureNames.Any(n => n is null))
            throw new ArgumentException("a feature name is null", nameof(featureNames));
        var d = featureNames.Count;
        if (values.Length != (long)rowCount * outputCount * d)
            throw new ArgumentException($"values has {values.Length} elements; {rowCount} rows x {outputCount} outputs x {d} features need {(long)rowCount * outputCount * d}", nameof(values));
        if (baseValues.Length != (long)rowCount * outputCount)
            throw new ArgumentException($"baseValues has {baseValues.Length} elements; {rowCount} rows x {outputCount} outputs need {rowCount * outputCount}", nameof(baseValues));
        Method = method;
        _featureNames = featureNames.ToArray();
        RowCount = rowCount;
        OutputCount = outputCount;
        _values = values;
        _baseValues = baseValues;
        _outputNames = DefaultOutputNames(outputCount);
    }

    /// <summary>The method that produced this explanation, e.g. "tree", "kernel", "exact", "permutation", "lime".</summary>
    public string Method { get; }

    /// <summary>How many rows (inputs) were explained.</summary>
    public int RowCount { get; }

    /// <summary>How many features each row has.</summary>
    public int FeatureCount => _featureNames.Length;

    /// <summary>How many model outputs (classes) have attributions.</summary>
    public int OutputCount { get; }

    /// <summary>One name per feature: a column name, a word, or a region.</summary>
    public IReadOnlyList<string> FeatureNames => _featureNames;

    /// <summary>One name per output; "output" (or "output 0", "output 1", …) unless the model named them.</summary>
    public IReadOnlyList<string> OutputNames
    {
        get => _outputNames;
        init
        {
            ArgumentNullException.ThrowIfNull(value);
            if (value.Count != OutputCount)
                throw new ArgumentException($"{value.Count} output names for {OutputCount} outputs", nameof(value));
            if (value.Any(n => n is null))
                throw new ArgumentException("an output name is null", nameof(value));
            _outputNames = value.ToArray();
        }
    }

    /// <summary>What the values add up to, e.g. "raw margin (log-odds)" or "model output".</summary>
    public string OutputSpace { get; init; } = "model output";

    /// <summary>The explained rows as [row][feature], when the explainer kept them (tabular explanations do).</summary>
    public IReadOnlyList<double>? Data
    {
        get => _data;
        init => _data = CheckLength(value, (long)RowCount * FeatureCount, "Data", "rows x features");
    }

    /// <summary>The model's output per [row][output] in <see cref="OutputSpace"/>, when known.</summary>
    public IReadOnlyList<double>? Predictions
    {
        get => _predictions;
        init => _predictions = CheckLength(value, (long)RowCount * OutputCount, "Predictions", "rows x outputs");
    }

    /// <summary>SHAP interaction values per [row][output][feature i][feature j], when they were asked for.</summary>
    public IReadOnlyList<double>? Interactions
    {
        get => _interactions;
        init => _interactions = CheckLength(value, (long)RowCount * OutputCount * FeatureCount * FeatureCount, "Interactions", "rows x outputs x features x features");
    }

    /// <summary>Per [row][feature], how to show the feature's value (LIME's bin rules such as "age &gt; 47"); null to show "name = value".</summary>
    public IReadOnlyList<string>? ValueLabels
    {
        get => _valueLabels;
        init => _valueLabels = CheckLength(value, (long)RowCount * FeatureCount, "ValueLabels", "rows x features");
    }

    /// <summary>Per [row][output], how well a local surrogate fits (LIME's weighted R²); null for exact methods.</summary>
    public IReadOnlyList<double>? FitScores
    {
        get => _fitScores;
        init => _fitScores = CheckLength(value, (long)RowCount * OutputCount, "FitScores", "rows x outputs");
    }

    /// <summary>Where the words of an explained text are; set for <see cref="ExplanationKind.Text"/>.</summary>
    public TextLayout? Text { get; init; }

    /// <summary>The explained image and its region map; set for <see cref="ExplanationKind.Image"/>.</summary>
    public ImageLayout? Image { get; init; }

    /// <summary>Tabular unless a text or image layout says otherwise.</summary>
    public ExplanationKind Kind => Text is not null ? ExplanationKind.Text : Image is not null ? ExplanationKind.Image : ExplanationKind.Tabular;

    /// <summary>The attribution of one feature for one row and output.</summary>
    public double Value(int row, int feature, int output = 0)
    {
        CheckRowOutput(row, output);
        ArgumentOutOfRangeException.ThrowIfNegative(feature);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(feature, FeatureCount);
        return _values[((long)row * OutputCount + output) * FeatureCount + feature];
    }

    /// <summary>All attributions of one row and output, one per feature.</summary>
    public ReadOnlySpan<double> Values(int row, int output = 0)
    {
        CheckRowOutput(row, output);
        return _values.AsSpan((int)(((long)row * OutputCount + output) * FeatureCount), FeatureCount);
    }

    /// <summary>The base value (expected model output, or a surrogate's intercept) of one row and output.</summary>
    public double BaseValue(int row, int output = 0)
    {
        CheckRowOutput(row, output);
        return _baseValues[row * OutputCount + output];
    }

    /// <summary>The explained value of one feature in one row, or NaN when the data was not kept.</summary>
    public double DataValue(int row, int feature)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(row);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(row, RowCount);
        ArgumentOutOfRangeException.ThrowIfNegative(feature);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(feature, FeatureCount);
        return _data is null ? double.NaN : _data[(long)row * FeatureCount + feature];
    }

    /// <summary>The model's output for one row and output, or NaN when unknown.</summary>
    public double Prediction(int row, int output = 0)
    {
        CheckRowOutput(row, output);
        return _predictions is null ? double.NaN : _predictions[row * OutputCount + output];
    }

    /// <summary>The SHAP interaction value of features i and j (i = j: the main effect) for one row and output.</summary>
    public double Interaction(int row, int i, int j, int output = 0)
    {
        CheckRowOutput(row, output);
        if (_interactions is null)
            throw new InvalidOperationException($"this {Method} explanation has no interaction values; ask the explainer for them (TreeShapOptions.Interactions)");
        ArgumentOutOfRangeException.ThrowIfNegative(i);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(i, FeatureCount);
        ArgumentOutOfRangeException.ThrowIfNegative(j);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(j, FeatureCount);
        var d = (long)FeatureCount;
        return _interactions[(int)((((long)row * OutputCount + output) * d + i) * d + j)];
    }

    /// <summary>How to show one feature's value in one row: the explainer's label, or "name = value".</summary>
    public string DisplayLabel(int row, int feature)
    {
        if (_valueLabels is not null)
            return _valueLabels[row * FeatureCount + feature];
        return Kind != ExplanationKind.Tabular || _data is null
            ? _featureNames[feature]
            : $"{_featureNames[feature]} = {FormatValue(DataValue(row, feature))}";
    }

    /// <summary><c>BaseValue + Σ Values - Prediction</c> for one row and output: zero for additive methods; NaN without predictions.</summary>
    public double AdditivityGap(int row, int output = 0)
    {
        var sum = BaseValue(row, output);
        foreach (var v in Values(row, output)) sum += v;
        return sum - Prediction(row, output);
    }

    /// <summary>Global importance: the mean absolute attribution of each feature over all rows, for one output.</summary>
    public double[] MeanAbsoluteValues(int output = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(output);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(output, OutputCount);
        var mean = new double[FeatureCount];
        if (RowCount == 0) return mean;
        for (var r = 0; r < RowCount; r++)
        {
            var row = Values(r, output);
            for (var f = 0; f < mean.Length; f++) mean[f] += Math.Abs(row[f]);
        }
        for (var f = 0; f < mean.Length; f++) mean[f] /= RowCount;
        return mean;
    }

    /// <summary>Feature indices ordered from the largest mean absolute attribution to the smallest (ties by index).</summary>
    public int[] RankFeatures(int output = 0)
    {
        var mean = MeanAbsoluteValues(output);
        return Enumerable.Range(0, FeatureCount).OrderByDescending(f => mean[f]).ThenBy(f => f).ToArray();
    }

    /// <summary>Formats a feature value compactly and culture-independently, e.g. 39, 0.25, 1.5e+06.</summary>
    public static string FormatValue(double value) =>
        double.IsNaN(value) ? "missing"
        : value == Math.Round(value) && Math.Abs(value) < 1e7 ? value.ToString("0", CultureInfo.InvariantCulture)
        : value.ToString("G4", CultureInfo.InvariantCulture);

    internal ReadOnlySpan<double> RawValues => _values;

    internal ReadOnlySpan<double> RawBaseValues => _baseValues;

    private void CheckRowOutput(int row, int output)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(row);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(row, RowCount);
        ArgumentOutOfRangeException.ThrowIfNegative(output);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(output, OutputCount);
    }

    private static T[]? CheckLength<T>(IReadOnlyList<T>? value, long expected, string name, string shape)
    {
        if (value is null) return null;
        if (value.Count != expected)
            throw new ArgumentException($"{name} has {value.Count} elements; {shape} need {expected}", name);
        return value as T[] ?? value.ToArray();
    }

    internal static string[] DefaultOutputNames(int outputCount) =>
        outputCount == 1 ? ["output"] : Enumerable.Range(0, outputCount).Select(i => $"output {i}").ToArray();
}

/// <summary>One word of an explained text: where it is and which feature (distinct word) it belongs to.</summary>
/// <param name="Start">Offset of the word's first character in <see cref="TextLayout.Text"/>.</param>
/// <param name="Length">Number of characters.</param>
/// <param name="Feature">Index of the explanation feature this word counts towards.</param>
public readonly record struct TextToken(int Start, int Length, int Feature);

/// <summary>The explained text and where each of its words is, so attributions can be painted back onto it.</summary>
/// <param name="Text">The original text.</param>
/// <param name="Tokens">Its words in order; the characters between them are separators and carry no attribution.</param>
public sealed record TextLayout(string Text, IReadOnlyList<TextToken> Tokens);

/// <summary>The explained image (height x width x channels, row-major) and the region each pixel belongs to.</summary>
public sealed class ImageLayout
{
    /// <summary>Creates a layout, checking that the pixels and the segment map match the size.</summary>
    /// <param name="pixels">The image, H x W x C values.</param>
    /// <param name="height">Height in pixels.</param>
    /// <param name="width">Width in pixels.</param>
    /// <param name="channels">Channels per pixel (1 grey, 3 RGB).</param>
    /// <param name="segments">Per pixel (H x W), the index of the feature (region) it belongs to.</param>
    public ImageLayout(float[] pixels, int height, int width, int channels, int[] segments)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        ArgumentNullException.ThrowIfNull(segments);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(channels, 1);
        if (pixels.Length != (long)height * width * channels)
            throw new ArgumentException($"{pixels.Length} pixel values for a {height}x{width}x{channels} image", nameof(pixels));
        if (segments.Length != (long)height * width)
            throw new ArgumentException($"{segments.Length} segment labels for a {height}x{width} image", nameof(segments));
        if (segments.Any(s => s < 0))
            throw new ArgumentException("a segment label is negative", nameof(segments));
        Pixels = pixels;
        Height = height;
        Width = width;
        Channels = channels;
        Segments = segments;
    }

    /// <summary>The image values, H x W x C row-major, on the scale the model was given.</summary>
    public IReadOnlyList<float> Pixels { get; }

    /// <summary>Height in pixels.</summary>
    public int Height { get; }

    /// <summary>Width in pixels.</summary>
    public int Width { get; }

    /// <summary>Channels per pixel.</summary>
    public int Channels { get; }

    /// <summary>Per pixel (H x W, row-major), the feature index of its region; for pixel attributions, the pixel's own index.</summary>
    public IReadOnlyList<int> Segments { get; }
}
