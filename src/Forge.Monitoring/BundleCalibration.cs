using Forge.Core;

namespace Forge.Monitoring;

/// <summary>
/// The CBPE recalibration inside a model bundle (<c>reference/cbpe.json</c>, beside the profile): fitted at training
/// time on held-out labelled predictions, read by the server so its estimated accuracy is calibrated.
/// </summary>
public static class BundleCalibration
{
    /// <summary>Where a bundle keeps its CBPE recalibration.</summary>
    public const string FileName = "reference/cbpe.json";

    /// <summary>
    /// Fits the recalibration on a classifier's predictions for rows it was NOT fitted on (a validation or test split)
    /// and their true labels, and writes it into a bundle being written. Training rows would give an over-confident
    /// curve, so the caller must pass held-out rows.
    /// </summary>
    public static void Write(BundleWriter writer, Prediction heldOut, IReadOnlyList<string> labels)
    {
        ArgumentNullException.ThrowIfNull(writer);
        var cbpe = Fit(heldOut, labels);
        var json = cbpe.ToJson();
        AtomicFile.Write(writer.PathFor(FileName), stream =>
        {
            using var w = new StreamWriter(stream, leaveOpen: true);
            w.Write(json);
        });
    }

    /// <summary>The recalibration of a classifier's predictions given their true labels (names from <see cref="Prediction.Labels"/>).</summary>
    public static Cbpe Fit(Prediction heldOut, IReadOnlyList<string> labels)
    {
        ArgumentNullException.ThrowIfNull(heldOut);
        ArgumentNullException.ThrowIfNull(labels);
        if (heldOut.Probabilities is not { } p) throw new UsageException("a CBPE calibration needs class probabilities; the model is a regression");
        if (labels.Count != heldOut.RowCount) throw new UsageException($"{labels.Count} true labels for {heldOut.RowCount} predictions");
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var k = 0; k < heldOut.Labels.Count; k++) index[heldOut.Labels[k]] = k;
        var classes = new int[labels.Count];
        for (var i = 0; i < labels.Count; i++)
        {
            if (labels[i] is null || !index.TryGetValue(labels[i], out classes[i]))
                throw new UsageException($"true label '{labels[i]}' of held-out row {i} is not one of the model's labels ({string.Join(", ", heldOut.Labels)})");
        }
        // Widened exactly as the server widens served probabilities, so the curves see the same scores.
        var rows = p.Select(r => r.Select(x => (double)x).ToArray()).ToArray();
        return Cbpe.Fit(rows, classes).WithLabels(heldOut.Labels);
    }

    /// <summary>
    /// The bundle's recalibration, or null when it has none. A file that is not a valid calibration, or one for other
    /// labels than <paramref name="modelLabels"/>, is a <see cref="DataFormatException"/> naming the file.
    /// </summary>
    public static Cbpe? TryLoad(ModelBundle bundle, IReadOnlyList<string>? modelLabels = null)
    {
        ArgumentNullException.ThrowIfNull(bundle);
        if (!bundle.TryGetPath(FileName, out var path) || !File.Exists(path)) return null;
        var cbpe = Cbpe.FromJson(File.ReadAllText(path), path);
        if (modelLabels is not null)
        {
            if (cbpe.Classes != modelLabels.Count)
                throw new DataFormatException(path, $"the calibration has {cbpe.Classes} classes but the model has {modelLabels.Count} labels");
            if (cbpe.Labels is { } labels && !labels.SequenceEqual(modelLabels, StringComparer.Ordinal))
                throw new DataFormatException(path, $"the calibration's labels ({string.Join(", ", labels)}) are not the model's ({string.Join(", ", modelLabels)})");
        }
        return cbpe;
    }
}
