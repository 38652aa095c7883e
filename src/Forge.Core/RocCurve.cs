namespace Forge.Core;

/// <summary>
/// A binary classifier's ROC curve: for each distinct score, taken as the threshold from the highest down, the false and
/// true positive rates of calling every sample with at least that score positive. Starts at (0, 0), ends at (1, 1).
/// </summary>
/// <param name="FalsePositiveRates">The false positive rate at each point.</param>
/// <param name="TruePositiveRates">The true positive rate at each point.</param>
/// <param name="Thresholds">The score threshold of each point; the first, +∞, calls nothing positive.</param>
/// <param name="Auc">The area under the curve (trapezoids, which counts a tie between a positive and a negative as half).</param>
public sealed record RocCurve(double[] FalsePositiveRates, double[] TruePositiveRates, double[] Thresholds, double Auc)
{
    /// <summary>
    /// The curve of <paramref name="scores"/> (higher means more likely positive) against <paramref name="positive"/>;
    /// both classes must be present. Agrees with scikit-learn's roc_curve(drop_intermediate=False) and roc_auc_score.
    /// </summary>
    public static RocCurve Compute(IReadOnlyList<bool> positive, IReadOnlyList<double> scores)
    {
        ArgumentNullException.ThrowIfNull(positive);
        ArgumentNullException.ThrowIfNull(scores);
        var n = positive.Count;
        if (scores.Count != n) throw new ArgumentException($"scores has {scores.Count} values but positive has {n}.", nameof(scores));
        var order = new int[n];
        var positives = 0;
        for (var i = 0; i < n; i++)
        {
            if (double.IsNaN(scores[i])) throw new ArgumentException($"scores[{i}] is NaN.", nameof(scores));
            order[i] = i;
            if (positive[i]) positives++;
        }
        var negatives = n - positives;
        if (positives == 0 || negatives == 0)
            throw new ArgumentException($"the ROC curve needs both classes; there are {positives} positives and {negatives} negatives.", nameof(positive));
        // Descending by score; ties form one point, so their order does not matter.
        Array.Sort(order, (a, b) => scores[b].CompareTo(scores[a]));
        var fpr = new List<double> { 0 };
        var tpr = new List<double> { 0 };
        var thresholds = new List<double> { double.PositiveInfinity };
        long tp = 0, fp = 0;
        double area = 0;
        for (var k = 0; k < n;)
        {
            var s = scores[order[k]];
            long tpBefore = tp, fpBefore = fp;
            for (; k < n && scores[order[k]] == s; k++)
            {
                if (positive[order[k]]) tp++;
                else fp++;
            }
            // Trapezoid in counts, divided once at the end, so the area is exact for integer counts.
            area += (fp - fpBefore) * (tp + tpBefore) / 2.0;
            fpr.Add((double)fp / negatives);
            tpr.Add((double)tp / positives);
            thresholds.Add(s);
        }
        return new RocCurve([.. fpr], [.. tpr], [.. thresholds], area / ((double)positives * negatives));
    }
}

/// <summary>The area under the ROC curve of a binary classifier.</summary>
public static class BinaryMetrics
{
    /// <summary>ROC AUC of <paramref name="scores"/> against <paramref name="positive"/> (scikit-learn's roc_auc_score); ties count half.</summary>
    public static double Auc(IReadOnlyList<bool> positive, IReadOnlyList<double> scores) => RocCurve.Compute(positive, scores).Auc;

    /// <summary>
    /// F1 of the positive class: the harmonic mean of its precision and recall when a sample is called positive at
    /// <paramref name="threshold"/> or above (scikit-learn's f1_score with zero_division=0).
    /// </summary>
    public static double F1(IReadOnlyList<bool> positive, IReadOnlyList<double> scores, double threshold = 0.5)
    {
        ArgumentNullException.ThrowIfNull(positive);
        ArgumentNullException.ThrowIfNull(scores);
        if (scores.Count != positive.Count) throw new ArgumentException($"scores has {scores.Count} values but positive has {positive.Count}.", nameof(scores));
        long tp = 0, fp = 0, fn = 0;
        for (var i = 0; i < positive.Count; i++)
        {
            var called = scores[i] >= threshold;
            if (called && positive[i]) tp++;
            else if (called) fp++;
            else if (positive[i]) fn++;
        }
        return tp == 0 ? 0 : 2.0 * tp / ((2.0 * tp) + fp + fn);
    }
}
