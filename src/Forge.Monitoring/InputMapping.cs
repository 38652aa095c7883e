using Forge.Core;

namespace Forge.Monitoring;

/// <summary>
/// How a model's inputs become monitored columns beyond the tabular default (strings as categories, tensors skipped):
/// which string inputs are free text, and whether image tensors are summarised per row. The same mapping must be used
/// at training time and on live traffic; <see cref="Of"/> reads it back from a profile so the two always agree.
/// </summary>
public sealed record InputMapping
{
    /// <summary>The tabular mapping: strings are categories, tensors are not profiled.</summary>
    public static InputMapping Tabular { get; } = new();

    /// <summary>Text models: every string input is free text.</summary>
    public static InputMapping Text { get; } = new() { AllStringsAreText = true };

    /// <summary>Image models: every tensor input is summarised per image.</summary>
    public static InputMapping Images { get; } = new() { SummariseTensors = true };

    /// <summary>String inputs that hold free text: profiled by length (and embeddings when the prediction carries them), not as categories.</summary>
    public IReadOnlyList<string> TextColumns { get; init; } = [];

    /// <summary>Every string input is free text (a text model's single input).</summary>
    public bool AllStringsAreText { get; init; }

    /// <summary>
    /// Summarise each tensor input (an image) by two numbers per row, <c>NAME.mean</c> (mean intensity) and
    /// <c>NAME.std</c> (RMS contrast: the standard deviation of its values); otherwise tensors are not profiled.
    /// </summary>
    public bool SummariseTensors { get; init; }

    /// <summary>The suffix of a text column's length column, kept beside it when embeddings decide the text column's own test.</summary>
    public const string LengthSuffix = ".length";

    /// <summary>The suffix of an image's mean-intensity column.</summary>
    public const string MeanSuffix = ".mean";

    /// <summary>The suffix of an image's contrast (standard deviation) column.</summary>
    public const string ContrastSuffix = ".std";

    /// <summary>The mapping a profile was built with: its text columns, and tensor summaries when it has <c>.mean</c>/<c>.std</c> pairs.</summary>
    public static InputMapping Of(ReferenceProfile profile)
    {
        ArgumentNullException.ThrowIfNull(profile);
        var names = profile.Columns.Select(c => c.Name).ToHashSet(StringComparer.Ordinal);
        return new InputMapping
        {
            TextColumns = [.. profile.Columns.Where(c => c.Kind == ColumnKind.Text && c.Role == ColumnRole.Feature).Select(c => c.Name)],
            SummariseTensors = profile.Columns.Any(c => c.Name.EndsWith(MeanSuffix, StringComparison.Ordinal)
                && names.Contains(c.Name[..^MeanSuffix.Length] + ContrastSuffix)),
        };
    }

    internal bool IsText(string column) => AllStringsAreText || TextColumns.Contains(column, StringComparer.Ordinal);

    /// <summary>A text input: the text column (with the prediction's embeddings, when it carries them) and, with embeddings, its length as a numeric column of its own.</summary>
    internal static IEnumerable<DataColumn> TextColumn(StringColumn column, Prediction? prediction)
    {
        var texts = column.Values.ToArray();
        var embeddings = prediction?.Embeddings;
        if (embeddings is not null && embeddings.Length != texts.Length)
            throw new DriftException($"{embeddings.Length} embeddings for {texts.Length} texts in column '{column.Name}'");
        yield return DataColumn.Text(column.Name, texts, embeddings);
        // With embeddings the text column is tested on them (embedding distance), so the length gets a column (and a test) of its own.
        if (embeddings is not null) yield return DataColumn.Numeric(column.Name + LengthSuffix, Lengths(texts));
    }

    /// <summary>An image input as its per-image mean intensity and contrast (population standard deviation of its values).</summary>
    internal static IEnumerable<DataColumn> TensorSummaries(TensorColumn column)
    {
        var means = new double[column.Length];
        var contrasts = new double[column.Length];
        for (var r = 0; r < column.Length; r++)
        {
            if (column.IsMissing(r))
            {
                means[r] = contrasts[r] = double.NaN;
                continue;
            }
            var cell = column[r];
            double sum = 0;
            foreach (var x in cell) sum += x;
            var mean = cell.Length == 0 ? double.NaN : sum / cell.Length;
            double squares = 0;
            foreach (var x in cell) squares += (x - mean) * (x - mean);
            // A NaN or infinite pixel makes the row's summary missing rather than failing the batch.
            means[r] = double.IsFinite(mean) ? mean : double.NaN;
            contrasts[r] = cell.Length == 0 || !double.IsFinite(squares) ? double.NaN : Math.Sqrt(squares / cell.Length);
        }
        yield return DataColumn.Numeric(column.Name + MeanSuffix, means);
        yield return DataColumn.Numeric(column.Name + ContrastSuffix, contrasts);
    }

    private static double[] Lengths(string?[] texts)
    {
        var lengths = new double[texts.Length];
        for (var i = 0; i < texts.Length; i++) lengths[i] = texts[i] is { } t ? t.Length : double.NaN;
        return lengths;
    }
}
