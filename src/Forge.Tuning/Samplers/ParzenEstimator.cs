using Forge.Tuning.Numerics;

namespace Forge.Tuning;

/// <summary>How TPE builds its Parzen estimators (see <see cref="TpeOptions"/>).</summary>
internal readonly record struct ParzenParameters(double PriorWeight, bool MagicClip, bool Endpoints, bool Multivariate);

/// <summary>
/// A Parzen estimator over one or more parameters: one kernel per observation (truncated normal for numbers, a
/// smoothed one-hot for choices) plus a prior kernel covering the whole range, mixed with the given weights. Numeric
/// parameters live in a transformed space: log for log scales, widened by half a step for grids, so rounding back gives
/// every grid value an equal share. The kernels (centres, widths, weights) are Optuna 3.1's; the density of a continuous
/// kernel includes its -log σ term, which Optuna 3.1's truncated-normal log density leaves out (fixed in later Optuna).
/// </summary>
internal sealed class ParzenEstimator
{
    private readonly Distribution[] _distributions;
    private readonly double[] _logWeights;
    private readonly double[] _weights;
    private readonly Param[] _params;
    private readonly int _components;

    private sealed class Param
    {
        public double Low, High;
        public double? Q;
        public double[] Mu = [];
        public double[] Sigma = [];
        public double[] LogSigma = [];
        public double[] LogMass = [];
        public double[][]? LogProbabilities; // categorical: [component][choice]
        public double[][]? Probabilities;
    }

    /// <summary>
    /// Builds the estimator. <paramref name="observations"/>[k][p] is observation k's internal value of parameter p;
    /// <paramref name="weights"/> are the observations' weights (before the prior is added and everything normalised).
    /// </summary>
    public ParzenEstimator(IReadOnlyList<double[]> observations, double[] weights, Distribution[] distributions, ParzenParameters parameters)
    {
        _distributions = distributions;
        var n = observations.Count;
        _components = n + 1;
        _weights = new double[_components];
        var total = 0.0;
        for (var k = 0; k < n; k++)
        {
            _weights[k] = weights[k];
            total += weights[k];
        }
        _weights[n] = parameters.PriorWeight;
        total += parameters.PriorWeight;
        _logWeights = new double[_components];
        for (var k = 0; k < _components; k++)
        {
            _weights[k] /= total;
            _logWeights[k] = Math.Log(_weights[k]);
        }
        // Scott's rule for joint kernels (the BOHB paper's choice, as Optuna's multivariate TPE uses).
        var sigma0 = parameters.Multivariate ? 0.2 * Math.Pow(Math.Max(n, 1), -1.0 / (distributions.Length + 4)) : 0;
        _params = new Param[distributions.Length];
        for (var p = 0; p < distributions.Length; p++)
        {
            var param = new Param();
            _params[p] = param;
            if (distributions[p] is CategoricalDistribution c)
            {
                BuildCategorical(param, observations, p, c.Choices.Count, parameters.PriorWeight);
                continue;
            }
            (param.Low, param.High, param.Q) = Bounds(distributions[p]);
            BuildNumeric(param, observations, p, parameters, sigma0);
        }
    }

    /// <summary>The normalised mixture weights (the prior's last).</summary>
    internal IReadOnlyList<double> Weights => _weights;

    /// <summary>Kernel centres of parameter p in the transformed space (the prior's last); empty for a categorical.</summary>
    internal IReadOnlyList<double> Centres(int p) => _params[p].Mu;

    /// <summary>Kernel widths of parameter p (the prior's last); empty for a categorical.</summary>
    internal IReadOnlyList<double> Widths(int p) => _params[p].Sigma;

    /// <summary>The transformed range of a numeric distribution, and its step in that space (null when continuous).</summary>
    internal static (double Low, double High, double? Q) Bounds(Distribution d) => d switch
    {
        FloatDistribution { Log: true } f => (Math.Log(f.Low), Math.Log(f.High), null),
        FloatDistribution { Step: { } q } f => (f.Low - (0.5 * q), f.High + (0.5 * q), q),
        FloatDistribution f => (f.Low, f.High, null),
        IntDistribution { Log: true } i => (Math.Log(i.Low - 0.5), Math.Log(i.High + 0.5), null),
        IntDistribution i => (i.Low - (0.5 * i.Step), i.High + (0.5 * i.Step), i.Step),
        _ => throw new ArgumentOutOfRangeException(nameof(d)),
    };

    internal static double ToModel(Distribution d, double internalValue) => d switch
    {
        FloatDistribution { Log: true } or IntDistribution { Log: true } => Math.Log(internalValue),
        _ => internalValue,
    };

    internal static double FromModel(Distribution d, double x) => d switch
    {
        FloatDistribution { Log: true } f => Math.Clamp(Math.Exp(x), f.Low, f.High),
        FloatDistribution f => f.Snap(x),
        IntDistribution { Log: true } i => i.Snap(Math.Round(Math.Exp(x))),
        IntDistribution i => i.Snap(x),
        _ => x,
    };

    private void BuildNumeric(Param param, IReadOnlyList<double[]> observations, int p, ParzenParameters parameters, double sigma0)
    {
        var n = observations.Count;
        var range = param.High - param.Low;
        var mu = new double[n + 1];
        for (var k = 0; k < n; k++) mu[k] = ToModel(_distributions[p], observations[k][p]);
        mu[n] = 0.5 * (param.Low + param.High);
        var sigma = new double[n + 1];
        if (parameters.Multivariate)
        {
            Array.Fill(sigma, sigma0 * range);
        }
        else
        {
            // Each kernel is as wide as the larger gap to its neighbours (the range ends count as neighbours).
            var order = Enumerable.Range(0, n + 1).ToArray();
            Array.Sort(mu.ToArray(), order);
            var sorted = new double[n + 3];
            sorted[0] = param.Low;
            for (var i = 0; i <= n; i++) sorted[i + 1] = mu[order[i]];
            sorted[n + 2] = param.High;
            var sortedSigma = new double[n + 1];
            for (var i = 0; i <= n; i++) sortedSigma[i] = Math.Max(sorted[i + 1] - sorted[i], sorted[i + 2] - sorted[i + 1]);
            if (!parameters.Endpoints && sorted.Length >= 4)
            {
                // The outermost kernels look only inwards: the distance to a range end says nothing about the data.
                sortedSigma[0] = sorted[2] - sorted[1];
                sortedSigma[n] = sorted[n + 1] - sorted[n];
            }
            for (var i = 0; i <= n; i++) sigma[order[i]] = sortedSigma[i];
        }
        var maxSigma = range;
        var minSigma = parameters.MagicClip ? range / Math.Min(100.0, 1.0 + (n + 1)) : 1e-12;
        for (var k = 0; k <= n; k++) sigma[k] = Math.Clamp(sigma[k], minSigma, maxSigma);
        sigma[n] = range;
        param.Mu = mu;
        param.Sigma = sigma;
        param.LogSigma = new double[n + 1];
        param.LogMass = new double[n + 1];
        for (var k = 0; k <= n; k++)
        {
            param.LogSigma[k] = Math.Log(sigma[k]);
            param.LogMass[k] = TruncatedNormal.LogMass(mu[k], sigma[k], param.Low, param.High);
        }
    }

    private static void BuildCategorical(Param param, IReadOnlyList<double[]> observations, int p, int choices, double priorWeight)
    {
        var n = observations.Count;
        param.Probabilities = new double[n + 1][];
        param.LogProbabilities = new double[n + 1][];
        var baseline = priorWeight / (n + 1);
        for (var k = 0; k <= n; k++)
        {
            var row = new double[choices];
            Array.Fill(row, baseline);
            if (k < n) row[(int)observations[k][p]] += 1;
            var sum = row.Sum();
            var logRow = new double[choices];
            for (var c = 0; c < choices; c++)
            {
                row[c] /= sum;
                logRow[c] = Math.Log(row[c]);
            }
            param.Probabilities[k] = row;
            param.LogProbabilities[k] = logRow;
        }
    }

    /// <summary>Draws <paramref name="count"/> points (internal values, on the distributions' grids).</summary>
    public double[][] Sample(Rng rng, int count)
    {
        var samples = new double[count][];
        for (var s = 0; s < count; s++)
        {
            var k = rng.Choose(_weights, 1.0);
            var point = new double[_params.Length];
            for (var p = 0; p < _params.Length; p++)
            {
                var param = _params[p];
                if (param.Probabilities is { } probabilities)
                {
                    point[p] = rng.Choose(probabilities[k], 1.0);
                }
                else
                {
                    var x = TruncatedNormal.Sample(rng, param.Mu[k], param.Sigma[k], param.Low, param.High);
                    point[p] = FromModel(_distributions[p], x);
                }
            }
            samples[s] = point;
        }
        return samples;
    }

    /// <summary>log density (log probability for grids and choices) of a point under the mixture.</summary>
    public double LogPdf(double[] point)
    {
        Span<double> component = _components <= 512 ? stackalloc double[_components] : new double[_components];
        _logWeights.CopyTo(component);
        for (var p = 0; p < _params.Length; p++)
        {
            var param = _params[p];
            if (param.LogProbabilities is { } logProbabilities)
            {
                var c = (int)point[p];
                for (var k = 0; k < _components; k++) component[k] += logProbabilities[k][c];
                continue;
            }
            var x = ToModel(_distributions[p], point[p]);
            if (param.Q is { } q)
            {
                var lower = Math.Max(x - (0.5 * q), param.Low);
                var upper = Math.Min(x + (0.5 * q), param.High);
                for (var k = 0; k < _components; k++)
                {
                    var s = param.Sigma[k];
                    component[k] += SpecialFunctions.LogGaussMass((lower - param.Mu[k]) / s, (upper - param.Mu[k]) / s) - param.LogMass[k];
                }
            }
            else
            {
                for (var k = 0; k < _components; k++)
                {
                    var z = (x - param.Mu[k]) / param.Sigma[k];
                    component[k] += (-0.5 * z * z) - SpecialFunctions.LogSqrt2Pi - param.LogSigma[k] - param.LogMass[k];
                }
            }
        }
        return SpecialFunctions.LogSumExp(component);
    }
}
