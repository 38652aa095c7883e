using Forge.Core;

namespace Forge.Explainability.Importance;

/// <summary>A score of predictions against targets, and which direction is better.</summary>
public sealed class ImportanceScorer
{
    private readonly Func<IReadOnlyList<double>, double[], int, double> _score;

    private ImportanceScorer(string name, bool higherIsBetter, Func<IReadOnlyList<double>, double[], int, double> score)
    {
        Name = name;
        HigherIsBetter = higherIsBetter;
        _score = score;
    }

    /// <summary>The score's name, e.g. "accuracy".</summary>
    public string Name { get; }

    /// <summary>True when larger scores are better (accuracy, R²), false for losses.</summary>
    public bool HigherIsBetter { get; }

    /// <summary>Scores outputs (n x k) against targets (class index, or value for regression).</summary>
    public double Score(IReadOnlyList<double> targets, double[] outputs, int outputCount)
    {
        ArgumentNullException.ThrowIfNull(targets);
        ArgumentNullException.ThrowIfNull(outputs);
        return _score(targets, outputs, outputCount);
    }

    /// <summary>Share of rows whose predicted class (argmax, or output ≥ 0.5 for one output) equals the target class.</summary>
    public static ImportanceScorer Accuracy { get; } = new("accuracy", true, (y, p, k) =>
    {
        var correct = 0;
        for (var i = 0; i < y.Count; i++) correct += PredictedClass(p, i, k) == (int)y[i] ? 1 : 0;
        return (double)correct / y.Count;
    });

    /// <summary>Mean negative log-likelihood of the target class (outputs are probabilities; one output is P(class 1)).</summary>
    public static ImportanceScorer LogLoss { get; } = new("log-loss", false, (y, p, k) =>
    {
        var sum = 0.0;
        for (var i = 0; i < y.Count; i++)
        {
            var probability = k == 1 ? (y[i] >= 0.5 ? p[i] : 1 - p[i]) : p[i * k + (int)y[i]];
            sum -= Math.Log(Math.Clamp(probability, 1e-15, 1));
        }
        return sum / y.Count;
    });

    /// <summary>Mean squared error of the first output.</summary>
    public static ImportanceScorer MeanSquaredError { get; } = new("mean squared error", false, (y, p, k) =>
    {
        var sum = 0.0;
        for (var i = 0; i < y.Count; i++) sum += (p[i * k] - y[i]) * (p[i * k] - y[i]);
        return sum / y.Count;
    });

    /// <summary>Coefficient of determination of the first output.</summary>
    public static ImportanceScorer RSquared { get; } = new("R²", true, (y, p, k) =>
    {
        var mean = y.Average();
        double ssr = 0, sst = 0;
        for (var i = 0; i < y.Count; i++)
        {
            ssr += (p[i * k] - y[i]) * (p[i * k] - y[i]);
            sst += (y[i] - mean) * (y[i] - mean);
        }
        return sst > 0 ? 1 - ssr / sst : 0;
    });

    /// <summary>A score of your own: (targets, outputs n x k, k) → score.</summary>
    public static ImportanceScorer Custom(string name, bool higherIsBetter, Func<IReadOnlyList<double>, double[], int, double> score)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(score);
        return new ImportanceScorer(name, higherIsBetter, score);
    }

    private static int PredictedClass(double[] p, int row, int k)
    {
        if (k == 1) return p[row] >= 0.5 ? 1 : 0;
        var best = 0;
        for (var o = 1; o < k; o++)
        {
            if (p[row * k + o] > p[row * k + best]) best = o;
        }
        return best;
    }
}

/// <summary>Options of <see cref="PermutationImportance"/>.</summary>
public sealed record PermutationImportanceOptions
{
    /// <summary>Shuffles per feature; the spread over them is reported. Default 5.</summary>
    public int Repeats { get; init; } = 5;

    /// <summary>Seed of the shuffles. Default 0.</summary>
    public int Seed { get; init; }

    /// <summary>The score; null picks accuracy for several outputs and R² for one. Default null.</summary>
    public ImportanceScorer? Scorer { get; init; }

    /// <summary>Feature names; null for "f0", "f1", ….</summary>
    public IReadOnlyList<string>? FeatureNames { get; init; }

    /// <summary>Threads used for features; 0 means one per core. Default 0.</summary>
    public int MaxDegreeOfParallelism { get; init; }

    /// <summary>Reports every problem at once.</summary>
    public void Validate(int featureCount)
    {
        var problems = new List<string>();
        if (Repeats < 1) problems.Add($"Repeats must be at least 1 (is {Repeats})");
        if (MaxDegreeOfParallelism < 0) problems.Add($"MaxDegreeOfParallelism must be 0 (all cores) or more (is {MaxDegreeOfParallelism})");
        if (FeatureNames is not null && FeatureNames.Count != featureCount) problems.Add($"FeatureNames has {FeatureNames.Count} names for {featureCount} features");
        if (problems.Count > 0) throw new UsageException("invalid permutation importance options: " + string.Join("; ", problems));
    }
}

/// <summary>Global importance of each feature: how much the score worsens when that column is shuffled.</summary>
/// <param name="FeatureNames">One name per feature.</param>
/// <param name="Metric">The score's name.</param>
/// <param name="BaselineScore">The score on the unshuffled data.</param>
/// <param name="Mean">Per feature, the mean worsening over repeats (positive: the model relies on it).</param>
/// <param name="StandardDeviation">Per feature, the standard deviation of the worsening over repeats.</param>
/// <param name="PerRepeat">Per feature, the worsening of each repeat.</param>
public sealed record FeatureImportance(
    IReadOnlyList<string> FeatureNames,
    string Metric,
    double BaselineScore,
    IReadOnlyList<double> Mean,
    IReadOnlyList<double> StandardDeviation,
    IReadOnlyList<IReadOnlyList<double>> PerRepeat)
{
    /// <summary>Feature indices from the most to the least important (ties by index).</summary>
    public int[] Ranking() => Enumerable.Range(0, Mean.Count).OrderByDescending(i => Mean[i]).ThenBy(i => i).ToArray();
}

/// <summary>Permutation feature importance (Breiman 2001; Fisher et al. 2019), model-agnostic and global.</summary>
public static class PermutationImportance
{
    /// <summary>Shuffles each column <see cref="PermutationImportanceOptions.Repeats"/> times and records the drop in score.</summary>
    /// <param name="model">The model.</param>
    /// <param name="rows">Held-out rows (n x d).</param>
    /// <param name="targets">Per row the true class index (classification) or value (regression).</param>
    /// <param name="options">Repeats, seed, scorer.</param>
    public static FeatureImportance Compute(IModelFunction model, double[,] rows, IReadOnlyList<double> targets, PermutationImportanceOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(targets);
        options ??= new PermutationImportanceOptions();
        options.Validate(model.FeatureCount);
        Rows.CheckColumns(rows, model.FeatureCount, "rows", options.FeatureNames);
        var n = rows.GetLength(0);
        var d = model.FeatureCount;
        var k = model.OutputCount;
        if (targets.Count != n) throw new UsageException($"{targets.Count} targets for {n} rows");
        if (n < 2) throw new UsageException("permutation importance needs at least 2 rows");
        var scorer = options.Scorer ?? (k > 1 ? ImportanceScorer.Accuracy : ImportanceScorer.RSquared);
        var data = Rows.AsSpan(rows).ToArray();
        var outputs = new double[n * k];
        model.Evaluate(data, outputs);
        var baseline = scorer.Score(targets, outputs, k);
        var drops = new double[d][];
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = options.MaxDegreeOfParallelism > 0 ? options.MaxDegreeOfParallelism : Environment.ProcessorCount };
        Parallel.For(0, d, parallel, f =>
        {
            var shuffled = (double[])data.Clone();
            var column = new double[n];
            var predictions = new double[n * k];
            var rng = new Random(Numerics.Seeds.For(options.Seed, f));
            drops[f] = new double[options.Repeats];
            for (var r = 0; r < options.Repeats; r++)
            {
                for (var i = 0; i < n; i++) column[i] = data[i * d + f];
                rng.Shuffle(column);
                for (var i = 0; i < n; i++) shuffled[i * d + f] = column[i];
                model.Evaluate(shuffled, predictions);
                var score = scorer.Score(targets, predictions, k);
                drops[f][r] = scorer.HigherIsBetter ? baseline - score : score - baseline;
            }
        });
        var mean = drops.Select(x => x.Average()).ToArray();
        var sd = drops.Select((x, f) => Math.Sqrt(x.Select(v => (v - mean[f]) * (v - mean[f])).Average())).ToArray();
        var names = options.FeatureNames?.ToArray() ?? Enumerable.Range(0, d).Select(i => $"f{i}").ToArray();
        return new FeatureImportance(names, scorer.Name, baseline, mean, sd, drops.Select(x => (IReadOnlyList<double>)x).ToArray());
    }
}
