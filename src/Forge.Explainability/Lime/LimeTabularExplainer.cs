using System.Globalization;
using Forge.Core;
using Forge.Explainability.Numerics;

namespace Forge.Explainability.Lime;

/// <summary>How LIME turns numeric features into the interpretable features its surrogate is fitted on.</summary>
public enum LimeDiscretizer
{
    /// <summary>Quartile bins from the training data; a feature is "on" when a sample falls in the row's bin (LIME's default).</summary>
    Quartile,

    /// <summary>No bins: samples come from a normal around the training mean and the surrogate is fitted on standardised values.</summary>
    None,
}

/// <summary>Options of <see cref="LimeTabularExplainer"/>.</summary>
public sealed record LimeTabularOptions
{
    /// <summary>Perturbed samples per row (the first is the row itself). Default 5000.</summary>
    public int Samples { get; init; } = 5000;

    /// <summary>Width of the exponential kernel on distances; null for 0.75·√d. Default null.</summary>
    public double? KernelWidth { get; init; }

    /// <summary>Bins for numeric features. Default <see cref="LimeDiscretizer.Quartile"/>.</summary>
    public LimeDiscretizer Discretizer { get; init; } = LimeDiscretizer.Quartile;

    /// <summary>Columns holding category codes: sampled from their training frequencies, "on" when equal to the row's code.</summary>
    public IReadOnlyCollection<int>? CategoricalFeatures { get; init; }

    /// <summary>Ridge penalty of the weighted surrogate fit. Default 1 (LIME's).</summary>
    public double Ridge { get; init; } = 1;

    /// <summary>Keep only this many features with the largest surrogate weights (then refit); null keeps all. Default null.</summary>
    public int? MaxFeatures { get; init; }

    /// <summary>Seed of the sampling. Default 0.</summary>
    public int Seed { get; init; }

    /// <summary>Feature names; null for "f0", "f1", ….</summary>
    public IReadOnlyList<string>? FeatureNames { get; init; }

    /// <summary>Threads used for rows; 0 means one per core. Default 0.</summary>
    public int MaxDegreeOfParallelism { get; init; }

    /// <summary>Reports every problem at once.</summary>
    public void Validate(int featureCount)
    {
        var problems = new List<string>();
        if (Samples < 2) problems.Add($"Samples must be at least 2 (is {Samples})");
        if (KernelWidth is { } w && !(w > 0)) problems.Add($"KernelWidth must be positive (is {w})");
        if (!(Ridge >= 0)) problems.Add($"Ridge must be zero or positive (is {Ridge})");
        if (MaxFeatures is < 1) problems.Add($"MaxFeatures must be at least 1 (is {MaxFeatures})");
        if (MaxDegreeOfParallelism < 0) problems.Add($"MaxDegreeOfParallelism must be 0 (all cores) or more (is {MaxDegreeOfParallelism})");
        if (CategoricalFeatures?.Any(c => c < 0 || c >= featureCount) == true)
            problems.Add($"CategoricalFeatures must be column indices 0..{featureCount - 1}");
        if (FeatureNames is not null && FeatureNames.Count != featureCount)
            problems.Add($"FeatureNames has {FeatureNames.Count} names for {featureCount} features");
        if (problems.Count > 0) throw new UsageException("invalid LIME options: " + string.Join("; ", problems));
    }
}

/// <summary>
/// LIME for tables (Ribeiro et al. 2016): samples around a row, weighs each sample by an exponential kernel on its
/// distance to the row, and fits a weighted ridge surrogate whose coefficients are the explanation. With quartile bins
/// a coefficient is the effect of "this feature is in the row's bin" (the rule is in <see cref="Explanation.ValueLabels"/>);
/// without bins it is the effect of one training standard deviation. The surrogate's intercept is the base value, and
/// its weighted R² is in <see cref="Explanation.FitScores"/>: values need not add up to the prediction.
/// </summary>
public sealed class LimeTabularExplainer : IExplainer<double[,]>
{
    private readonly IModelFunction _model;
    private readonly FeatureStats[] _stats;
    private readonly string[] _names;
    private readonly double _kernelWidth;

    /// <summary>Learns bins, frequencies, means and spreads of every column from <paramref name="trainingData"/>.</summary>
    public LimeTabularExplainer(IModelFunction model, double[,] trainingData, LimeTabularOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(trainingData);
        Options = options ?? new LimeTabularOptions();
        Options.Validate(model.FeatureCount);
        Rows.CheckColumns(trainingData, model.FeatureCount, "the training rows", Options.FeatureNames);
        if (trainingData.GetLength(0) < 2) throw new UsageException("LIME needs at least 2 training rows to learn the spread of each feature");
        _model = model;
        var d = model.FeatureCount;
        _names = Options.FeatureNames?.ToArray() ?? Enumerable.Range(0, d).Select(i => $"f{i}").ToArray();
        _kernelWidth = Options.KernelWidth ?? 0.75 * Math.Sqrt(d);
        var categorical = new HashSet<int>(Options.CategoricalFeatures ?? []);
        _stats = new FeatureStats[d];
        var n = trainingData.GetLength(0);
        for (var j = 0; j < d; j++)
        {
            var column = new double[n];
            for (var i = 0; i < n; i++) column[i] = trainingData[i, j];
            _stats[j] = categorical.Contains(j) ? FeatureStats.Categorical(column)
                : Options.Discretizer == LimeDiscretizer.Quartile ? FeatureStats.Quartiles(column)
                : FeatureStats.Continuous(column);
        }
    }

    /// <inheritdoc/>
    public string Method => "lime";

    /// <summary>The options in force.</summary>
    public LimeTabularOptions Options { get; }

    /// <summary>The kernel width in use.</summary>
    public double KernelWidth => _kernelWidth;

    /// <inheritdoc/>
    public Explanation Explain(double[,] input)
    {
        ArgumentNullException.ThrowIfNull(input);
        Rows.CheckColumns(input, _model.FeatureCount, "rows", _names);
        var n = input.GetLength(0);
        var d = _model.FeatureCount;
        var k = _model.OutputCount;
        var values = new double[(long)n * k * d];
        var intercepts = new double[n * k];
        var scores = new double[n * k];
        var labels = new string[n * d];
        var predictions = new double[n * k];
        _model.Evaluate(Rows.AsSpan(input), predictions);
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = Options.MaxDegreeOfParallelism > 0 ? Options.MaxDegreeOfParallelism : Environment.ProcessorCount };
        Parallel.For(0, n, parallel, r =>
        {
            var x = Rows.Row(input, r);
            ExplainRow(r, x, values.AsSpan((int)((long)r * k * d), k * d), intercepts.AsSpan(r * k, k), scores.AsSpan(r * k, k));
            for (var j = 0; j < d; j++) labels[r * d + j] = _stats[j].Describe(_names[j], x[j]);
        });
        return new Explanation(Method, _names, n, k, values, intercepts)
        {
            OutputNames = _model.OutputNames ?? Explanation.DefaultOutputNames(k),
            Data = Rows.AsSpan(input).ToArray(),
            Predictions = predictions,
            ValueLabels = labels,
            FitScores = scores,
        };
    }

    private void ExplainRow(int row, double[] x, Span<double> phi, Span<double> intercept, Span<double> score)
    {
        var d = _model.FeatureCount;
        var k = _model.OutputCount;
        var s = Options.Samples;
        var rng = new Random(Numerics.Seeds.For(Options.Seed, row));
        var inverse = new double[s * d];   // what the model sees
        var design = new double[s * d];    // what the surrogate is fitted on
        var rowBins = new int[d];
        for (var j = 0; j < d; j++) rowBins[j] = _stats[j].Bin(x[j]);
        for (var i = 0; i < s; i++)
        {
            for (var j = 0; j < d; j++)
            {
                var st = _stats[j];
                if (i == 0)
                {
                    inverse[j] = x[j];
                    design[j] = st.Kind == StatsKind.Continuous ? (x[j] - st.Mean) / st.Scale : 1;
                    continue;
                }
                if (st.Kind == StatsKind.Continuous)
                {
                    var z = Normal.Sample(rng);
                    var value = st.Mean + st.Scale * z;
                    inverse[i * d + j] = value;
                    design[i * d + j] = z;
                    continue;
                }
                var bin = st.SampleBin(rng);
                inverse[i * d + j] = st.SampleValue(bin, rng);
                design[i * d + j] = bin == rowBins[j] ? 1 : 0;
            }
        }
        var outputs = new double[s * k];
        _model.Evaluate(inverse, outputs);

        // Distance of each sample to the row on the surrogate's features, then LIME's kernel √exp(−d²/w²).
        var weights = new double[s];
        for (var i = 0; i < s; i++)
        {
            var sum = 0.0;
            for (var j = 0; j < d; j++)
            {
                var diff = design[i * d + j] - design[j];
                sum += diff * diff;
            }
            weights[i] = Math.Sqrt(Math.Exp(-sum / (_kernelWidth * _kernelWidth)));
        }
        LimeFit.Fit(design, outputs, weights, s, d, k, Options.Ridge, Options.MaxFeatures, phi, intercept, score);
    }

    private enum StatsKind
    {
        Continuous,
        Binned,
        Categorical,
    }

    /// <summary>What LIME learned about one column.</summary>
    private sealed class FeatureStats
    {
        private double[] _boundaries = [];
        private double[] _values = [];      // categories, or per-bin means
        private double[] _spread = [];      // per-bin standard deviations
        private double[] _low = [];
        private double[] _high = [];
        private double[] _cumulative = [];  // bin / category sampling probabilities, cumulative
        private double[] _cdfLow = [];      // Φ of each bin's bounds in its own standard units
        private double[] _cdfHigh = [];
        private bool _hasMissing;

        internal StatsKind Kind { get; private init; }

        internal double Mean { get; private init; }

        internal double Scale { get; private init; } = 1;

        internal static FeatureStats Continuous(double[] column)
        {
            var present = column.Where(v => !double.IsNaN(v)).ToArray();
            var mean = present.Length > 0 ? present.Average() : 0;
            var sd = present.Length > 0 ? Math.Sqrt(present.Select(v => (v - mean) * (v - mean)).Average()) : 0;
            return new FeatureStats { Kind = StatsKind.Continuous, Mean = mean, Scale = sd > 0 ? sd : 1 };
        }

        internal static FeatureStats Categorical(double[] column)
        {
            var groups = column.GroupBy(v => v).OrderBy(g => g.Key).ToArray();
            return new FeatureStats
            {
                Kind = StatsKind.Categorical,
                _values = groups.Select(g => g.Key).ToArray(),
                _cumulative = Cumulative(groups.Select(g => (double)g.Count()).ToArray()),
            };
        }

        internal static FeatureStats Quartiles(double[] column)
        {
            var present = column.Where(v => !double.IsNaN(v)).Order().ToArray();
            if (present.Length == 0) return Categorical(column);
            var boundaries = new[] { 25.0, 50, 75 }.Select(q => Percentile(present, q)).Distinct().ToArray();
            var bins = boundaries.Length + 1;
            var stats = new FeatureStats { Kind = StatsKind.Binned, _boundaries = boundaries };
            var members = Enumerable.Range(0, bins).Select(_ => new List<double>()).ToArray();
            foreach (var v in present) members[stats.Bin(v)].Add(v);
            stats._hasMissing = present.Length < column.Length;
            var counts = members.Select(m => (double)m.Count).ToList();
            if (stats._hasMissing) counts.Add(column.Length - present.Length);
            stats._cumulative = Cumulative(counts.ToArray());
            stats._values = members.Select(m => m.Count > 0 ? m.Average() : 0).ToArray();
            stats._spread = members.Select((m, b) => m.Count > 0 ? Math.Sqrt(m.Select(v => (v - stats._values[b]) * (v - stats._values[b])).Average()) + 1e-11 : 0).ToArray();
            stats._low = [present[0], .. boundaries];
            stats._high = [.. boundaries, present[^1]];
            stats._cdfLow = new double[bins];
            stats._cdfHigh = new double[bins];
            for (var b = 0; b < bins; b++)
            {
                if (!(stats._spread[b] > 0)) continue;
                stats._cdfLow[b] = Normal.Cdf((stats._low[b] - stats._values[b]) / stats._spread[b]);
                stats._cdfHigh[b] = Normal.Cdf((stats._high[b] - stats._values[b]) / stats._spread[b]);
            }
            return stats;
        }

        /// <summary>numpy's default ("linear") percentile of sorted values.</summary>
        internal static double Percentile(double[] sorted, double q)
        {
            var position = q / 100 * (sorted.Length - 1);
            var lo = (int)Math.Floor(position);
            var hi = Math.Min(lo + 1, sorted.Length - 1);
            return sorted[lo] + (position - lo) * (sorted[hi] - sorted[lo]);
        }

        private static double[] Cumulative(double[] counts)
        {
            var total = counts.Sum();
            var c = new double[counts.Length];
            var run = 0.0;
            for (var i = 0; i < counts.Length; i++) c[i] = run += counts[i] / total;
            return c;
        }

        /// <summary>The bin (or category index) of a value: the number of boundaries below it; missing has its own.</summary>
        internal int Bin(double v)
        {
            switch (Kind)
            {
                case StatsKind.Categorical:
                    var at = Array.FindIndex(_values, c => c.Equals(v));
                    return at;
                case StatsKind.Binned:
                    if (double.IsNaN(v)) return _boundaries.Length + 1;
                    var bin = 0;
                    while (bin < _boundaries.Length && _boundaries[bin] < v) bin++;
                    return bin;
                default:
                    return 0;
            }
        }

        internal int SampleBin(Random rng)
        {
            var u = rng.NextDouble();
            var i = 0;
            while (i < _cumulative.Length - 1 && u >= _cumulative[i]) i++;
            return i;
        }

        internal double SampleValue(int bin, Random rng)
        {
            if (Kind == StatsKind.Categorical) return _values[bin];
            if (bin > _boundaries.Length) return double.NaN;
            return Normal.TruncatedSample(rng, _values[bin], _spread[bin], _low[bin], _high[bin], _cdfLow[bin], _cdfHigh[bin]);
        }

        internal string Describe(string name, double v)
        {
            var inv = CultureInfo.InvariantCulture;
            switch (Kind)
            {
                case StatsKind.Categorical:
                    return $"{name} = {Explanation.FormatValue(v)}";
                case StatsKind.Binned:
                    var bin = Bin(v);
                    if (bin > _boundaries.Length) return $"{name} is missing";
                    string F(double b) => b.ToString("0.##", inv);
                    if (bin == 0) return $"{name} <= {F(_boundaries[0])}";
                    if (bin == _boundaries.Length) return $"{name} > {F(_boundaries[^1])}";
                    return $"{F(_boundaries[bin - 1])} < {name} <= {F(_boundaries[bin])}";
                default:
                    return $"{name} = {Explanation.FormatValue(v)}";
            }
        }
    }
}

/// <summary>The surrogate fit shared by the LIME explainers.</summary>
internal static class LimeFit
{
    /// <summary>Weighted ridge per output; with <paramref name="maxFeatures"/>, keeps each output's own largest |weights| and refits that output on them, as lime selects features per label.</summary>
    internal static void Fit(double[] design, double[] outputs, double[] weights, int s, int d, int k, double ridge, int? maxFeatures,
        Span<double> phi, Span<double> intercept, Span<double> score)
    {
        var y = new double[s];
        var keep = Enumerable.Range(0, d).ToArray();
        for (var o = 0; o < k; o++)
        {
            for (var i = 0; i < s; i++) y[i] = outputs[i * k + o];
            var (beta, c, r2) = Numerics.LinearAlgebra.WeightedRidge(design, y, weights, s, d, ridge);
            if (maxFeatures is { } top && top < d)
            {
                keep = Enumerable.Range(0, d).OrderByDescending(j => Math.Abs(beta[j])).Take(top).Order().ToArray();
                var reduced = new double[s * keep.Length];
                for (var i = 0; i < s; i++)
                {
                    for (var j = 0; j < keep.Length; j++) reduced[i * keep.Length + j] = design[i * d + keep[j]];
                }
                var (b2, c2, r22) = Numerics.LinearAlgebra.WeightedRidge(reduced, y, weights, s, keep.Length, ridge);
                beta = new double[d];
                for (var j = 0; j < keep.Length; j++) beta[keep[j]] = b2[j];
                (c, r2) = (c2, r22);
            }
            beta.CopyTo(phi.Slice(o * d, d));
            intercept[o] = c;
            score[o] = r2;
        }
    }
}
