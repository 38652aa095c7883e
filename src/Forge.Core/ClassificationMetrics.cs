namespace Forge.Core;

/// <summary>Precision, recall and F1 of one class.</summary>
/// <param name="Label">The class label.</param>
/// <param name="Precision">Correct predictions of the class over all predictions of it; 0 when it was never predicted.</param>
/// <param name="Recall">Correct predictions of the class over its true samples; 0 when it has none.</param>
/// <param name="F1">Harmonic mean of precision and recall; 0 when both are 0.</param>
/// <param name="Support">Number of samples whose true class this is.</param>
public sealed record ClassMetrics(string Label, double Precision, double Recall, double F1, int Support);

/// <summary>How well a classifier did on a labelled set.</summary>
/// <param name="Count">Number of samples.</param>
/// <param name="Accuracy">Share of samples predicted correctly.</param>
/// <param name="MacroF1">Unweighted mean of the per-class F1 over every label.</param>
/// <param name="LogLoss">Mean negative log-likelihood of the true class, when probabilities were given.</param>
/// <param name="PerClass">Metrics of each label, in label order.</param>
/// <param name="ConfusionMatrix">Counts indexed [true class][predicted class].</param>
/// <param name="Labels">The labels, in index order.</param>
public sealed record ClassificationReport(
    int Count,
    double Accuracy,
    double MacroF1,
    double? LogLoss,
    IReadOnlyList<ClassMetrics> PerClass,
    int[][] ConfusionMatrix,
    IReadOnlyList<string> Labels)
{
    /// <summary>
    /// The headline numbers keyed for a manifest or a tracked run, under <paramref name="prefix"/>: "testAccuracy",
    /// "testMacroF1" and, when known, "testLogLoss" for "test"; unprefixed names for an empty prefix.
    /// </summary>
    public Dictionary<string, double> ToMetrics(string prefix)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        var metrics = new Dictionary<string, double>(StringComparer.Ordinal)
        {
            [MetricName(prefix, "accuracy")] = Accuracy,
            [MetricName(prefix, "macroF1")] = MacroF1,
        };
        if (LogLoss is { } logLoss) metrics[MetricName(prefix, "logLoss")] = logLoss;
        return metrics;
    }

    /// <summary>"accuracy" under "test" is "testAccuracy"; under no prefix, "accuracy".</summary>
    public static string MetricName(string prefix, string name)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        ArgumentException.ThrowIfNullOrEmpty(name);
        return prefix.Length == 0 ? name : prefix + char.ToUpperInvariant(name[0]) + name[1..];
    }
}

/// <summary>Classification metrics that agree with scikit-learn's (zero_division=0, clipped log-loss).</summary>
public static class ClassificationMetrics
{
    /// <summary>The index of the largest value (the first one on ties): the predicted class of a probability row.</summary>
    public static int ArgMax(ReadOnlySpan<float> values)
    {
        if (values.IsEmpty) throw new ArgumentException("no values", nameof(values));
        var best = 0;
        for (var k = 1; k < values.Length; k++) if (values[k] > values[best]) best = k;
        return best;
    }

    // scikit-learn's historical log_loss eps: keeps a confident wrong answer finite.
    private const double ProbabilityClip = 1e-15;

    /// <summary>Scores row-major [count × classes] probabilities: the predicted class of each row is its largest probability.</summary>
    public static ClassificationReport EvaluateProbabilities(IReadOnlyList<int> yTrue, float[] probabilities, IReadOnlyList<string> labels)
    {
        ArgumentNullException.ThrowIfNull(yTrue);
        ArgumentNullException.ThrowIfNull(probabilities);
        ArgumentNullException.ThrowIfNull(labels);
        var c = labels.Count;
        var rows = new float[yTrue.Count][];
        var predicted = new int[yTrue.Count];
        for (var i = 0; i < rows.Length; i++)
        {
            rows[i] = probabilities.AsSpan(i * c, c).ToArray();
            predicted[i] = ArgMax(rows[i]);
        }
        return Evaluate(yTrue, predicted, labels, rows);
    }

    /// <summary>
    /// Evaluates predicted class indices against true ones; with <paramref name="probabilities"/> (one row per sample,
    /// one column per label) also the log-loss, after clipping to [1e-15, 1-1e-15] and renormalising each row.
    /// </summary>
    public static ClassificationReport Evaluate(
        IReadOnlyList<int> yTrue,
        IReadOnlyList<int> yPredicted,
        IReadOnlyList<string> labels,
        IReadOnlyList<float[]>? probabilities = null)
    {
        ArgumentNullException.ThrowIfNull(yTrue);
        ArgumentNullException.ThrowIfNull(yPredicted);
        ArgumentNullException.ThrowIfNull(labels);
        var n = yTrue.Count;
        var k = labels.Count;
        if (k == 0) throw new ArgumentException("At least one label is needed.", nameof(labels));
        if (n == 0) throw new ArgumentException("At least one sample is needed.", nameof(yTrue));
        if (yPredicted.Count != n)
            throw new ArgumentException($"yPredicted has {yPredicted.Count} entries but yTrue has {n}.", nameof(yPredicted));
        if (probabilities is not null && probabilities.Count != n)
            throw new ArgumentException($"probabilities has {probabilities.Count} rows but yTrue has {n}.", nameof(probabilities));

        var confusion = new int[k][];
        for (var c = 0; c < k; c++) confusion[c] = new int[k];
        for (var i = 0; i < n; i++)
        {
            var t = yTrue[i];
            var p = yPredicted[i];
            if ((uint)t >= (uint)k) throw new ArgumentException($"yTrue[{i}] is {t}, outside the {k} labels.", nameof(yTrue));
            if ((uint)p >= (uint)k) throw new ArgumentException($"yPredicted[{i}] is {p}, outside the {k} labels.", nameof(yPredicted));
            confusion[t][p]++;
        }

        var correct = 0;
        var perClass = new ClassMetrics[k];
        var f1Sum = 0.0;
        for (var c = 0; c < k; c++)
        {
            var tp = confusion[c][c];
            var support = 0;
            var predicted = 0;
            for (var j = 0; j < k; j++)
            {
                support += confusion[c][j];
                predicted += confusion[j][c];
            }
            correct += tp;
            var precision = predicted == 0 ? 0.0 : (double)tp / predicted;
            var recall = support == 0 ? 0.0 : (double)tp / support;
            var f1 = precision + recall == 0 ? 0.0 : 2 * precision * recall / (precision + recall);
            f1Sum += f1;
            perClass[c] = new ClassMetrics(labels[c], precision, recall, f1, support);
        }

        double? logLoss = probabilities is null ? null : ComputeLogLoss(yTrue, probabilities, k);
        return new ClassificationReport(n, (double)correct / n, f1Sum / k, logLoss, perClass, confusion, labels.ToArray());
    }

    private static double ComputeLogLoss(IReadOnlyList<int> yTrue, IReadOnlyList<float[]> probabilities, int k)
    {
        var sum = 0.0;
        for (var i = 0; i < yTrue.Count; i++)
        {
            var row = probabilities[i] ?? throw new ArgumentException($"probabilities[{i}] is null.", nameof(probabilities));
            if (row.Length != k)
                throw new ArgumentException($"probabilities[{i}] has {row.Length} values but there are {k} labels.", nameof(probabilities));
            var rowSum = 0.0;
            var trueClass = 0.0;
            for (var j = 0; j < k; j++)
            {
                if (!float.IsFinite(row[j]))
                    throw new ArgumentException($"probabilities[{i}][{j}] is {row[j]}, not a finite number.", nameof(probabilities));
                var clipped = Math.Clamp((double)row[j], ProbabilityClip, 1 - ProbabilityClip);
                rowSum += clipped;
                if (j == yTrue[i]) trueClass = clipped;
            }
            sum -= Math.Log(trueClass / rowSum);
        }
        return sum / yTrue.Count;
    }
}
