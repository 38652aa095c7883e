using System.Globalization;
using Forge.Core;

namespace Forge.Monitoring;

/// <summary>
/// Turns what a model sees and says (a typed <see cref="Table"/> of inputs and its <see cref="Prediction"/>) into the
/// columns monitoring profiles. The one mapping used at training time, in reports and in the server, so a live window
/// always has the reference's columns.
/// </summary>
public static class ModelColumns
{
    /// <summary>The predicted label (classifiers, categorical) or value (regressions, numeric).</summary>
    public const string PredictionColumn = "prediction";

    /// <summary>The probability of the predicted label (classifiers only): the confidence a calibration drift moves.</summary>
    public const string ConfidenceColumn = "prediction_confidence";

    /// <summary>The true label or value, when the data has it.</summary>
    public const string TargetColumn = "target";

    /// <summary>
    /// The monitored columns of a batch: every scalar input (numbers as numeric, strings and booleans as categorical;
    /// missing as NaN or null), then the prediction columns when <paramref name="prediction"/> is given, then the
    /// target when <paramref name="target"/> is. Tensor inputs (images) are not profiled column by column and are skipped,
    /// unless <paramref name="mapping"/> summarises them; string inputs it names as text become text columns.
    /// </summary>
    public static ColumnSet From(Table inputs, Prediction? prediction = null, IReadOnlyList<string>? target = null, InputMapping? mapping = null)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        mapping ??= InputMapping.Tabular;
        var columns = new List<DataColumn>();
        foreach (var c in inputs.Columns)
        {
            if (c is StringColumn text && mapping.IsText(c.Name)) columns.AddRange(InputMapping.TextColumn(text, prediction));
            else if (c is TensorColumn tensor && mapping.SummariseTensors) columns.AddRange(InputMapping.TensorSummaries(tensor));
            else if (Feature(c) is { } column) columns.Add(column);
        }
        var names = columns.Select(c => c.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var reserved in new[] { PredictionColumn, ConfidenceColumn, TargetColumn })
        {
            if (names.Contains(reserved))
                throw new DriftException($"input column '{reserved}' has the name monitoring gives the model's {(reserved == TargetColumn ? "target" : "prediction")}; rename the input");
        }
        if (prediction is not null)
        {
            if (prediction.RowCount != inputs.RowCount)
                throw new DriftException($"{prediction.RowCount} predictions for {inputs.RowCount} input rows");
            columns.AddRange(PredictionColumns(prediction));
        }
        if (target is not null)
        {
            if (target.Count != inputs.RowCount) throw new DriftException($"{target.Count} targets for {inputs.RowCount} input rows");
            columns.Add(prediction?.Values is not null
                ? DataColumn.Numeric(TargetColumn, target.Select(ParseTarget).ToArray(), ColumnRole.Target)
                : DataColumn.Categorical(TargetColumn, [.. target], ColumnRole.Target));
        }
        return new ColumnSet(columns);
    }

    /// <summary>The prediction columns of a model's answer: the label and its confidence, or the value.</summary>
    public static IEnumerable<DataColumn> PredictionColumns(Prediction prediction)
    {
        ArgumentNullException.ThrowIfNull(prediction);
        if (prediction.Values is { } values)
        {
            yield return DataColumn.Numeric(PredictionColumn, (double[])values.Clone(), ColumnRole.Prediction);
            yield break;
        }
        var p = prediction.Probabilities!;
        var labels = new string?[p.Length];
        var confidence = new double[p.Length];
        for (var i = 0; i < p.Length; i++)
        {
            var k = ClassificationMetrics.ArgMax(p[i]);
            labels[i] = prediction.Labels[k];
            confidence[i] = p[i][k];
        }
        yield return DataColumn.Categorical(PredictionColumn, labels, ColumnRole.Prediction);
        yield return DataColumn.Numeric(ConfidenceColumn, confidence, ColumnRole.Prediction);
    }

    /// <summary>The profile of a model's training rows and its predictions on them: what a bundle carries as its reference.</summary>
    public static ReferenceProfile Profile(Table inputs, Prediction prediction, ProfileOptions? options = null, InputMapping? mapping = null)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(prediction);
        if (inputs.RowCount == 0) throw new DriftException("no rows to profile: a reference needs at least one row");
        return ReferenceProfile.Build(From(inputs, prediction, mapping: mapping), options);
    }

    private static DataColumn? Feature(Column c)
    {
        switch (c)
        {
            case StringColumn s:
                return DataColumn.Categorical(c.Name, s.Values.ToArray());
            case ScalarColumn<bool> b:
            {
                var values = new string?[c.Length];
                for (var i = 0; i < values.Length; i++) values[i] = c.IsMissing(i) ? null : b[i] ? "true" : "false";
                return DataColumn.Categorical(c.Name, values);
            }
            case TensorColumn:
                return null;
            default:
            {
                var values = new double[c.Length];
                for (var i = 0; i < values.Length; i++)
                    values[i] = c.GetValue(i) is { } v ? Convert.ToDouble(v, CultureInfo.InvariantCulture) : double.NaN;
                return DataColumn.Numeric(c.Name, values);
            }
        }
    }

    private static double ParseTarget(string text) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v
            : throw new DriftException($"target '{text}' is not a number; the model is a regression");
}

/// <summary>The reference profile inside a model bundle (<c>reference/profile.json</c>): writing, reading, adding one later.</summary>
public static class BundleProfile
{
    /// <summary>Where a bundle keeps its profile.</summary>
    public const string FileName = "reference/profile.json";

    /// <summary>Profiles <paramref name="inputs"/> and <paramref name="prediction"/> into a bundle being written.</summary>
    public static void Write(BundleWriter writer, Table inputs, Prediction prediction)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ModelColumns.Profile(inputs, prediction).Save(writer.PathFor(FileName));
    }

    /// <summary>
    /// Profiles a text model's inputs into a bundle being written: every string input as free text (length, and the
    /// embeddings when <paramref name="prediction"/> carries them), plus the prediction columns.
    /// </summary>
    public static void WriteText(BundleWriter writer, Table inputs, Prediction prediction)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ModelColumns.Profile(inputs, prediction, mapping: InputMapping.Text).Save(writer.PathFor(FileName));
    }

    /// <summary>Profiles an image model's inputs into a bundle being written: per image its mean intensity and contrast, plus the prediction columns.</summary>
    public static void WriteImages(BundleWriter writer, Table inputs, Prediction prediction)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ModelColumns.Profile(inputs, prediction, mapping: InputMapping.Images).Save(writer.PathFor(FileName));
    }

    /// <summary>The bundle's profile, or null when it has none.</summary>
    public static ReferenceProfile? TryLoad(ModelBundle bundle)
    {
        ArgumentNullException.ThrowIfNull(bundle);
        return bundle.TryGetPath(FileName, out var path) && File.Exists(path) ? ReferenceProfile.Load(path) : null;
    }

    /// <summary>
    /// Adds (or replaces) the profile of a bundle directory. The bundle is rewritten beside itself with every file
    /// checked again and swapped in by a rename, so a failure leaves the old bundle as it was. Returns the new bundle.
    /// </summary>
    public static ModelBundle Add(ModelBundle bundle, ReferenceProfile profile)
    {
        ArgumentNullException.ThrowIfNull(bundle);
        ArgumentNullException.ThrowIfNull(profile);
        var manifest = bundle.Manifest;
        using var writer = ModelBundle.Create(bundle.Directory, overwrite: true);
        foreach (var relative in manifest.Files.Keys.ToArray())
        {
            if (relative is ModelBundle.ManifestFileName or ModelBundle.ModelCardFileName or FileName) continue;
            File.Copy(bundle.GetPath(relative), writer.PathFor(relative));
        }
        profile.Save(writer.PathFor(FileName));
        return writer.Commit(manifest);
    }
}
