using Forge.Tuning.Numerics;

namespace Forge.Tuning;

/// <summary>Settings of the surrogate forest behind <see cref="ParameterImportance"/>.</summary>
public sealed record ImportanceOptions
{
    /// <summary>Trees in the forest (default 64, as Optuna's fANOVA evaluator uses).</summary>
    public int Trees { get; init; } = 64;

    /// <summary>Fewest trials a leaf may hold (default 2: with 20–100 trials, single-trial leaves only memorise noise).</summary>
    public int MinLeaf { get; init; } = 2;

    /// <summary>Deepest a tree may grow (default 16).</summary>
    public int MaxDepth { get; init; } = 16;

    /// <summary>How many times each parameter's values are shuffled per tree; the increases are averaged (default 3).</summary>
    public int Repeats { get; init; } = 3;

    /// <summary>Seeds the bootstrap samples and the shuffles, so the same trials give the same importances.</summary>
    public ulong Seed { get; init; }

    /// <summary>Throws a <see cref="Core.UsageException"/> naming every setting out of range.</summary>
    public void Validate()
    {
        var problems = new List<string>();
        if (Trees < 1) problems.Add($"Trees must be at least 1 (got {Trees})");
        if (MinLeaf < 1) problems.Add($"MinLeaf must be at least 1 (got {MinLeaf})");
        if (MaxDepth < 1) problems.Add($"MaxDepth must be at least 1 (got {MaxDepth})");
        if (Repeats < 1) problems.Add($"Repeats must be at least 1 (got {Repeats})");
        if (problems.Count > 0) throw new Core.UsageException("importance options: " + string.Join("; ", problems));
    }
}

/// <summary>
/// Which parameters mattered in a study: a random forest is fitted to the completed trials (parameters → value) and each
/// parameter's importance is how much the forest's error on its out-of-bag trials grows when that parameter's values are
/// shuffled among them (Breiman's permutation importance). Unlike a one-parameter-at-a-time statistic it sees
/// interactions, and unlike in-sample permutation it does not reward what a tree memorised. The importances are
/// normalised to sum to 1, as Optuna reports its own.
/// </summary>
public static class ParameterImportance
{
    /// <summary>
    /// The importance of every parameter that all completed trials share (their intersection, as Optuna uses), keyed by
    /// name. Log parameters are seen on a log scale and categorical ones by choice index. Empty when fewer than 4 trials
    /// completed with a finite value, or when no parameter varies; all zeros when shuffling never hurts the forest.
    /// </summary>
    public static IReadOnlyDictionary<string, double> Evaluate(IEnumerable<FrozenTrial> trials, ImportanceOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(trials);
        options ??= new ImportanceOptions();
        options.Validate();
        var complete = trials.Where(t => t.State == TrialState.Complete && t.Value is { } v && double.IsFinite(v)).ToList();
        if (complete.Count < 4) return new Dictionary<string, double>(StringComparer.Ordinal);
        var names = complete[0].InternalParams.Keys.Where(k => complete.All(t => t.InternalParams.ContainsKey(k)))
            .Order(StringComparer.Ordinal).ToList();
        var x = new double[complete.Count, names.Count];
        for (var i = 0; i < complete.Count; i++)
            for (var j = 0; j < names.Count; j++)
            {
                var value = complete[i].InternalParams[names[j]];
                x[i, j] = complete[i].Distributions[names[j]] is FloatDistribution { Log: true } or IntDistribution { Log: true } ? Math.Log(value) : value;
            }
        var varying = Enumerable.Range(0, names.Count).Where(j => Enumerable.Range(1, complete.Count - 1).Any(i => x[i, j] != x[0, j])).ToList();
        if (varying.Count == 0) return new Dictionary<string, double>(StringComparer.Ordinal);
        var y = complete.Select(t => t.Value!.Value).ToArray();
        var raw = PermutationImportance(x, y, varying, options);
        var total = raw.Sum();
        var result = new Dictionary<string, double>(StringComparer.Ordinal);
        for (var k = 0; k < varying.Count; k++) result[names[varying[k]]] = total > 0 ? raw[k] / total : 0;
        return result;
    }

    /// <summary>Mean out-of-bag error increase per feature in <paramref name="features"/>, clamped at 0.</summary>
    internal static double[] PermutationImportance(double[,] x, double[] y, IReadOnlyList<int> features, ImportanceOptions options)
    {
        var n = y.Length;
        var sums = new double[features.Count];
        var counted = 0;
        for (var t = 0; t < options.Trees; t++)
        {
            var rng = Rng.For(options.Seed, t, "importance");
            var inBag = new bool[n];
            var sample = new int[n];
            for (var i = 0; i < n; i++)
            {
                sample[i] = rng.NextInt(n);
                inBag[sample[i]] = true;
            }
            var oob = Enumerable.Range(0, n).Where(i => !inBag[i]).ToArray();
            // Two out-of-bag trials are the fewest a shuffle can reorder.
            if (oob.Length < 2) continue;
            var tree = RegressionTree.Fit(x, y, sample, features, options.MinLeaf, options.MaxDepth);
            var row = new double[x.GetLength(1)];
            double Error(int[] rows, int feature, int[]? shuffled)
            {
                var sse = 0.0;
                for (var r = 0; r < rows.Length; r++)
                {
                    for (var j = 0; j < row.Length; j++) row[j] = x[rows[r], j];
                    if (shuffled is not null) row[feature] = x[shuffled[r], feature];
                    var d = tree.Predict(row) - y[rows[r]];
                    sse += d * d;
                }
                return sse / rows.Length;
            }
            var baseline = Error(oob, -1, null);
            for (var k = 0; k < features.Count; k++)
            {
                var increase = 0.0;
                for (var rep = 0; rep < options.Repeats; rep++)
                {
                    var shuffled = (int[])oob.Clone();
                    rng.Shuffle(shuffled.AsSpan());
                    increase += Error(oob, features[k], shuffled) - baseline;
                }
                sums[k] += increase / options.Repeats;
            }
            counted++;
        }
        return [.. sums.Select(s => counted == 0 ? 0 : Math.Max(0, s / counted))];
    }
}

/// <summary>
/// A least-squares regression tree on a bootstrap sample: each split is the one of all features and thresholds that
/// most reduces the squared error, thresholds halfway between neighbouring distinct values.
/// </summary>
internal sealed class RegressionTree
{
    // Flat node arrays: a leaf has Feature −1 and its mean in Value.
    private readonly List<int> _feature = [];
    private readonly List<double> _threshold = [];
    private readonly List<int> _left = [];
    private readonly List<int> _right = [];
    private readonly List<double> _value = [];

    /// <summary>The number of nodes, leaves included.</summary>
    public int NodeCount => _feature.Count;

    public static RegressionTree Fit(double[,] x, double[] y, int[] rows, IReadOnlyList<int> features, int minLeaf, int maxDepth)
    {
        var tree = new RegressionTree();
        tree.Grow(x, y, rows, features, minLeaf, maxDepth, 0);
        return tree;
    }

    public double Predict(ReadOnlySpan<double> row)
    {
        var node = 0;
        while (_feature[node] >= 0) node = row[_feature[node]] <= _threshold[node] ? _left[node] : _right[node];
        return _value[node];
    }

    private int Grow(double[,] x, double[] y, int[] rows, IReadOnlyList<int> features, int minLeaf, int maxDepth, int depth)
    {
        var node = _feature.Count;
        var mean = rows.Average(r => y[r]);
        _feature.Add(-1);
        _threshold.Add(0);
        _left.Add(-1);
        _right.Add(-1);
        _value.Add(mean);
        if (depth >= maxDepth || rows.Length < 2 * minLeaf) return node;
        var (feature, threshold) = BestSplit(x, y, rows, features, minLeaf);
        if (feature < 0) return node;
        var left = rows.Where(r => x[r, feature] <= threshold).ToArray();
        var right = rows.Where(r => x[r, feature] > threshold).ToArray();
        _feature[node] = feature;
        _threshold[node] = threshold;
        _left[node] = Grow(x, y, left, features, minLeaf, maxDepth, depth + 1);
        _right[node] = Grow(x, y, right, features, minLeaf, maxDepth, depth + 1);
        return node;
    }

    /// <summary>The split with the largest error reduction, or feature −1 when no split leaves both sides ≥ minLeaf or reduces the error.</summary>
    internal static (int Feature, double Threshold) BestSplit(double[,] x, double[] y, int[] rows, IReadOnlyList<int> features, int minLeaf)
    {
        var n = rows.Length;
        var total = rows.Sum(r => y[r]);
        // Maximising sumL²/nL + sumR²/nR is minimising the two sides' squared error; the parent's total²/n is the baseline.
        var bestGain = (total * total / n) + 1e-12 * Math.Max(1, Math.Abs(total * total / n));
        var best = (-1, 0.0);
        var sorted = new int[n];
        foreach (var f in features)
        {
            rows.CopyTo(sorted, 0);
            Array.Sort(sorted, (a, b) => x[a, f].CompareTo(x[b, f]));
            var sumLeft = 0.0;
            for (var i = 0; i < n - 1; i++)
            {
                sumLeft += y[sorted[i]];
                var nLeft = i + 1;
                if (nLeft < minLeaf || n - nLeft < minLeaf) continue;
                var here = x[sorted[i], f];
                var next = x[sorted[i + 1], f];
                if (here == next) continue;
                var sumRight = total - sumLeft;
                var gain = (sumLeft * sumLeft / nLeft) + (sumRight * sumRight / (n - nLeft));
                if (gain > bestGain)
                {
                    bestGain = gain;
                    // Halfway can round up to the next value itself when the two are an ulp apart; then split at this one.
                    var mid = here + ((next - here) / 2);
                    best = (f, mid < next ? mid : here);
                }
            }
        }
        return best;
    }
}
