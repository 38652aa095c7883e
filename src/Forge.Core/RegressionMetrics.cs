namespace Forge.Core;

/// <summary>How well a regression model did on a labelled set.</summary>
/// <param name="Count">Number of samples.</param>
/// <param name="Rmse">Root of the mean squared error.</param>
/// <param name="Mae">Mean absolute error.</param>
/// <param name="R2">Coefficient of determination: 1 − SSE / SST (scikit-learn's r2_score; 0 for a constant truth predicted exactly is reported as 1, as scikit-learn does).</param>
public sealed record RegressionReport(int Count, double Rmse, double Mae, double R2)
{
    /// <summary>The numbers keyed for a manifest or a tracked run: "testRmse", "testMae" and "testR2" under "test".</summary>
    public Dictionary<string, double> ToMetrics(string prefix) => new(StringComparer.Ordinal)
    {
        [ClassificationReport.MetricName(prefix, "rmse")] = Rmse,
        [ClassificationReport.MetricName(prefix, "mae")] = Mae,
        [ClassificationReport.MetricName(prefix, "r2")] = R2,
    };
}

/// <summary>Regression metrics that agree with scikit-learn's mean_squared_error, mean_absolute_error and r2_score.</summary>
public static class RegressionMetrics
{
    /// <summary>Scores <paramref name="predicted"/> against <paramref name="actual"/>; both must be finite and of equal, non-zero length.</summary>
    public static RegressionReport Evaluate(IReadOnlyList<double> actual, IReadOnlyList<double> predicted)
    {
        ArgumentNullException.ThrowIfNull(actual);
        ArgumentNullException.ThrowIfNull(predicted);
        var n = actual.Count;
        if (n == 0) throw new ArgumentException("At least one sample is needed.", nameof(actual));
        if (predicted.Count != n) throw new ArgumentException($"predicted has {predicted.Count} values but actual has {n}.", nameof(predicted));
        var mean = 0.0;
        for (var i = 0; i < n; i++)
        {
            if (!double.IsFinite(actual[i])) throw new ArgumentException($"actual[{i}] is {actual[i]}, not a finite number.", nameof(actual));
            if (!double.IsFinite(predicted[i])) throw new ArgumentException($"predicted[{i}] is {predicted[i]}, not a finite number.", nameof(predicted));
            mean += actual[i];
        }
        mean /= n;
        double squared = 0, absolute = 0, total = 0;
        for (var i = 0; i < n; i++)
        {
            var e = actual[i] - predicted[i];
            squared += e * e;
            absolute += Math.Abs(e);
            var d = actual[i] - mean;
            total += d * d;
        }
        // scikit-learn: a constant truth gives R² 1 when predicted exactly, else 0 (the ratio is undefined).
        var r2 = total == 0 ? (squared == 0 ? 1.0 : 0.0) : 1 - (squared / total);
        return new RegressionReport(n, Math.Sqrt(squared / n), absolute / n, r2);
    }
}
