using System.Text.Json;
using Forge.Core;

namespace Forge.Monitoring;

/// <summary>
/// Accuracy and macro F1 over the latest labelled predictions (a fixed-size window), updated in O(1) per label —
/// what delayed feedback (request id → true label) drives.
/// </summary>
public sealed class RollingClassificationMetrics
{
    private readonly (int Predicted, int Actual)[] _ring;
    private readonly Dictionary<string, int> _labels = new(StringComparer.Ordinal);
    private readonly List<string> _names = [];
    private readonly List<long> _tp = [];
    private readonly List<long> _fp = [];
    private readonly List<long> _fn = [];
    private int _next;
    private long _correct;

    /// <summary>Creates an empty window of <paramref name="windowSize"/> labelled predictions (default 1000).</summary>
    public RollingClassificationMetrics(int windowSize = 1000)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(windowSize, 1);
        _ring = new (int, int)[windowSize];
    }

    /// <summary>Labelled predictions in the window.</summary>
    public int Count { get; private set; }

    /// <summary>Labelled predictions seen in total.</summary>
    public long TotalSeen { get; private set; }

    /// <summary>Share of correct predictions in the window (NaN while it is empty).</summary>
    public double Accuracy => Count == 0 ? double.NaN : (double)_correct / Count;

    /// <summary>Mean F1 over the labels that occur in the window as prediction or truth (NaN while it is empty).</summary>
    public double MacroF1
    {
        get
        {
            if (Count == 0) return double.NaN;
            double sum = 0;
            var classes = 0;
            for (var l = 0; l < _names.Count; l++)
            {
                var denominator = 2 * _tp[l] + _fp[l] + _fn[l];
                if (denominator == 0) continue;
                sum += 2.0 * _tp[l] / denominator;
                classes++;
            }
            return sum / classes;
        }
    }

    /// <summary>Adds one prediction with its true label, evicting the oldest when the window is full.</summary>
    public void Add(string predicted, string actual)
    {
        ArgumentNullException.ThrowIfNull(predicted);
        ArgumentNullException.ThrowIfNull(actual);
        var p = Index(predicted);
        var a = Index(actual);
        if (Count == _ring.Length)
        {
            Apply(_ring[_next], -1);
            Count--;
        }
        _ring[_next] = (p, a);
        _next = (_next + 1) % _ring.Length;
        Apply((p, a), +1);
        Count++;
        TotalSeen++;
    }

    private int Index(string label)
    {
        if (_labels.TryGetValue(label, out var i)) return i;
        i = _names.Count;
        _labels[label] = i;
        _names.Add(label);
        _tp.Add(0);
        _fp.Add(0);
        _fn.Add(0);
        return i;
    }

    private void Apply((int Predicted, int Actual) pair, int sign)
    {
        if (pair.Predicted == pair.Actual)
        {
            _tp[pair.Actual] += sign;
            _correct += sign;
        }
        else
        {
            _fp[pair.Predicted] += sign;
            _fn[pair.Actual] += sign;
        }
    }
}

/// <summary>What CBPE expects a classifier to score on data without labels.</summary>
/// <param name="ExpectedAccuracy">Mean probability of the predicted class.</param>
/// <param name="ExpectedMacroF1">Macro F1 from the expected confusion matrix.</param>
/// <param name="Rows">Rows the estimate is based on.</param>
public sealed record CbpeEstimate(double ExpectedAccuracy, double ExpectedMacroF1, int Rows);

/// <summary>
/// Confidence-based performance estimation (as NannyML's CBPE): for a calibrated classifier, row i is correct with
/// probability p_i[predicted], so accuracy and the confusion matrix can be estimated without labels. Fitted on
/// labelled reference data, it first recalibrates each class's probability by isotonic regression (one against the
/// rest), which is what makes the estimate honest for a classifier that is not calibrated already.
/// </summary>
public sealed class Cbpe
{
    private readonly IsotonicCurve[]? _curves;

    private Cbpe(int classes, IsotonicCurve[]? curves, int referenceRows = 0, IReadOnlyList<string>? labels = null)
    {
        Classes = classes;
        _curves = curves;
        ReferenceRows = referenceRows;
        Labels = labels;
    }

    /// <summary>Number of classes.</summary>
    public int Classes { get; }

    /// <summary>Labelled rows the recalibration was fitted on (0 when uncalibrated).</summary>
    public int ReferenceRows { get; }

    /// <summary>The class names, in probability order, when known (a bundle's calibration records them); else null.</summary>
    public IReadOnlyList<string>? Labels { get; }

    /// <summary>The same estimator naming its classes (so a loaded calibration can be checked against the model's labels).</summary>
    public Cbpe WithLabels(IReadOnlyList<string> labels)
    {
        ArgumentNullException.ThrowIfNull(labels);
        if (labels.Count != Classes) throw new ArgumentException($"{labels.Count} labels for {Classes} classes", nameof(labels));
        return new Cbpe(Classes, _curves, ReferenceRows, [.. labels]);
    }

    /// <summary>Whether probabilities are recalibrated before estimating.</summary>
    public bool Calibrated => _curves is not null;

    /// <summary>An estimator that trusts the model's probabilities as they are.</summary>
    public static Cbpe Uncalibrated(int classes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(classes, 2);
        return new Cbpe(classes, null);
    }

    /// <summary>Fits the per-class isotonic recalibration on reference probabilities and their true class indices.</summary>
    public static Cbpe Fit(IReadOnlyList<double[]> probabilities, IReadOnlyList<int> labels)
    {
        ArgumentNullException.ThrowIfNull(probabilities);
        ArgumentNullException.ThrowIfNull(labels);
        if (probabilities.Count == 0) throw new ArgumentException("there are no reference rows to calibrate on", nameof(probabilities));
        if (probabilities.Count != labels.Count)
            throw new ArgumentException($"{probabilities.Count} probability rows but {labels.Count} labels", nameof(labels));
        var classes = CheckRows(probabilities);
        if (labels.Any(l => l < 0 || l >= classes)) throw new ArgumentException($"labels must be class indices in [0, {classes})", nameof(labels));
        var curves = new IsotonicCurve[classes];
        for (var k = 0; k < classes; k++)
        {
            var kk = k;
            curves[k] = IsotonicCurve.Fit(probabilities.Select(r => r[kk]).ToArray(), labels.Select(l => l == kk ? 1.0 : 0.0).ToArray());
        }
        return new Cbpe(classes, curves, probabilities.Count);
    }

    /// <summary>
    /// The fitted recalibration as JSON: per class, the isotonic curve's knots (scores and calibrated probabilities,
    /// written in round-trip precision so <see cref="FromJson"/> restores the same estimator exactly).
    /// </summary>
    public string ToJson()
    {
        if (_curves is null) throw new InvalidOperationException("an uncalibrated estimator has no recalibration to save");
        var dto = new CbpeJson(CurrentFormatVersion, Classes, ReferenceRows, Labels?.ToArray(),
            [.. _curves.Select(c => new CurveJson(c.Knots.ToArray(), c.Values.ToArray()))]);
        return JsonSerializer.Serialize(dto, JsonOptions);
    }

    /// <summary>Reads a recalibration written by <see cref="ToJson"/>, refusing a newer format or inconsistent curves; errors name <paramref name="source"/>.</summary>
    public static Cbpe FromJson(string json, string source = "cbpe.json")
    {
        ArgumentNullException.ThrowIfNull(json);
        CbpeJson? dto;
        try
        {
            dto = JsonSerializer.Deserialize<CbpeJson>(json, JsonOptions);
        }
        catch (JsonException e)
        {
            throw new DataFormatException(source, $"not a valid CBPE calibration: {e.Message}", e);
        }
        if (dto is null) throw new DataFormatException(source, "the CBPE calibration is empty");
        if (dto.FormatVersion is < 1 or > CurrentFormatVersion)
            throw new DataFormatException(source, $"CBPE calibration format {dto.FormatVersion} is not one this Forge reads (1 to {CurrentFormatVersion}); upgrade Forge");
        if (dto.Classes < 2) throw new DataFormatException(source, $"classes is {dto.Classes}; a classifier has at least 2");
        if (dto.ReferenceRows < 1) throw new DataFormatException(source, $"referenceRows is {dto.ReferenceRows}; a calibration is fitted on at least one row");
        if (dto.Curves is null || dto.Curves.Length != dto.Classes)
            throw new DataFormatException(source, $"{dto.Curves?.Length ?? 0} curves for {dto.Classes} classes; there must be one per class");
        if (dto.Labels is { } labels && (labels.Length != dto.Classes || labels.Any(l => l is null) || labels.Distinct(StringComparer.Ordinal).Count() != labels.Length))
            throw new DataFormatException(source, $"labels must be {dto.Classes} distinct names, one per class");
        var curves = new IsotonicCurve[dto.Classes];
        for (var k = 0; k < dto.Classes; k++)
        {
            var c = dto.Curves[k];
            var problem = c is null ? "is missing" : IsotonicCurve.Problem(c.X, c.Y);
            if (problem is not null) throw new DataFormatException(source, $"curve {k}{(dto.Labels is { } l ? $" (class '{l[k]}')" : "")} {problem}");
            curves[k] = IsotonicCurve.FromKnots(c!.X!, c.Y!);
        }
        return new Cbpe(dto.Classes, curves, dto.ReferenceRows, dto.Labels);
    }

    /// <summary>The newest calibration format this version writes and reads.</summary>
    public const int CurrentFormatVersion = 1;

    private static readonly JsonSerializerOptions JsonOptions = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    private sealed record CbpeJson(int FormatVersion, int Classes, int ReferenceRows, string[]? Labels, CurveJson?[]? Curves);

    private sealed record CurveJson(double[]? X, double[]? Y);

    private static int CheckRows(IReadOnlyList<double[]> rows)
    {
        var classes = rows[0]?.Length ?? 0;
        if (classes < 2) throw new ArgumentException("probability rows need at least two classes", nameof(rows));
        for (var i = 0; i < rows.Count; i++)
        {
            var r = rows[i];
            if (r is null || r.Length != classes) throw new ArgumentException($"row {i} has {r?.Length ?? 0} probabilities, expected {classes}", nameof(rows));
            if (r.Any(p => !(p is >= 0 and <= 1))) throw new ArgumentException($"row {i} has a probability outside [0, 1]", nameof(rows));
        }
        return classes;
    }

    /// <summary>The row's probabilities after recalibration (renormalised to sum to 1); unchanged when uncalibrated.</summary>
    public double[] Calibrate(double[] row)
    {
        ArgumentNullException.ThrowIfNull(row);
        if (row.Length != Classes) throw new ArgumentException($"expected {Classes} probabilities, got {row.Length}", nameof(row));
        if (_curves is null) return (double[])row.Clone();
        var calibrated = new double[Classes];
        double sum = 0;
        for (var k = 0; k < Classes; k++) sum += calibrated[k] = _curves[k].Predict(row[k]);
        if (sum <= 0) return (double[])row.Clone();
        for (var k = 0; k < Classes; k++) calibrated[k] /= sum;
        return calibrated;
    }

    /// <summary>
    /// Expected accuracy and macro F1 of predictions on unlabelled rows; the prediction is the most probable class
    /// of the model's own (uncalibrated) probabilities, as served.
    /// </summary>
    public CbpeEstimate Estimate(IReadOnlyList<double[]> probabilities)
    {
        ArgumentNullException.ThrowIfNull(probabilities);
        if (probabilities.Count == 0) throw new ArgumentException("there are no rows to estimate on", nameof(probabilities));
        if (CheckRows(probabilities) != Classes) throw new ArgumentException($"expected {Classes} probabilities per row", nameof(probabilities));
        var tp = new double[Classes];
        var fp = new double[Classes];
        var fn = new double[Classes];
        double correct = 0;
        foreach (var row in probabilities)
        {
            var predicted = ArgMax(row);
            var p = Calibrate(row);
            correct += p[predicted];
            // Expected confusion: the row is truly class t with probability p[t].
            tp[predicted] += p[predicted];
            fp[predicted] += 1 - p[predicted];
            for (var t = 0; t < Classes; t++)
            {
                if (t != predicted) fn[t] += p[t];
            }
        }
        double f1 = 0;
        var counted = 0;
        for (var k = 0; k < Classes; k++)
        {
            var denominator = 2 * tp[k] + fp[k] + fn[k];
            if (denominator <= 0) continue;
            f1 += 2 * tp[k] / denominator;
            counted++;
        }
        return new CbpeEstimate(correct / probabilities.Count, counted == 0 ? double.NaN : f1 / counted, probabilities.Count);
    }

    internal static int ArgMax(double[] row)
    {
        var best = 0;
        for (var k = 1; k < row.Length; k++)
        {
            if (row[k] > row[best]) best = k;
        }
        return best;
    }
}

/// <summary>A non-decreasing step function fitted by pool-adjacent-violators, interpolated linearly between blocks.</summary>
internal sealed class IsotonicCurve
{
    private readonly double[] _x;
    private readonly double[] _y;

    private IsotonicCurve(double[] x, double[] y)
    {
        _x = x;
        _y = y;
    }

    /// <summary>The scores at which the curve's blocks sit (strictly increasing).</summary>
    internal IReadOnlyList<double> Knots => _x;

    /// <summary>The calibrated probability at each knot (non-decreasing).</summary>
    internal IReadOnlyList<double> Values => _y;

    /// <summary>Why knots read from a file cannot be a curve, or null when they can.</summary>
    internal static string? Problem(double[]? x, double[]? y)
    {
        if (x is null || y is null || x.Length == 0) return "has no knots";
        if (x.Length != y.Length) return $"has {x.Length} scores but {y.Length} values";
        for (var i = 0; i < x.Length; i++)
        {
            if (!(x[i] is >= 0 and <= 1) || !(y[i] is >= 0 and <= 1)) return $"knot {i} is outside [0, 1]";
            if (i > 0 && !(x[i] > x[i - 1])) return $"scores are not strictly increasing at knot {i}";
            if (i > 0 && !(y[i] >= y[i - 1])) return $"values decrease at knot {i}";
        }
        return null;
    }

    internal static IsotonicCurve FromKnots(double[] x, double[] y) => new((double[])x.Clone(), (double[])y.Clone());

    internal static IsotonicCurve Fit(double[] scores, double[] targets)
    {
        // Equal scores must get one value, so they start as one block at their mean target.
        var groups = Enumerable.Range(0, scores.Length)
            .GroupBy(i => scores[i])
            .OrderBy(g => g.Key)
            .Select(g => (X: g.Key, Y: g.Average(i => targets[i]), W: (double)g.Count()));
        var blockX = new List<double>();
        var blockY = new List<double>();
        var blockW = new List<double>();
        foreach (var (gx, gy, gw) in groups)
        {
            blockX.Add(gx);
            blockY.Add(gy);
            blockW.Add(gw);
            // Pool while the last two blocks are out of order; a pooled block sits at its weighted mean score.
            while (blockY.Count > 1 && blockY[^2] >= blockY[^1])
            {
                var w = blockW[^2] + blockW[^1];
                var y = (blockY[^2] * blockW[^2] + blockY[^1] * blockW[^1]) / w;
                var x = (blockX[^2] * blockW[^2] + blockX[^1] * blockW[^1]) / w;
                blockX.RemoveAt(blockX.Count - 1);
                blockY.RemoveAt(blockY.Count - 1);
                blockW.RemoveAt(blockW.Count - 1);
                blockX[^1] = x;
                blockY[^1] = y;
                blockW[^1] = w;
            }
        }
        return new IsotonicCurve([.. blockX], [.. blockY]);
    }

    internal double Predict(double score)
    {
        if (score <= _x[0]) return _y[0];
        if (score >= _x[^1]) return _y[^1];
        var hi = Array.BinarySearch(_x, score);
        if (hi >= 0) return _y[hi];
        hi = ~hi;
        var lo = hi - 1;
        return _y[lo] + (_y[hi] - _y[lo]) * (score - _x[lo]) / (_x[hi] - _x[lo]);
    }
}
