using Forge.Core;
using Forge.Tuning.Numerics;

namespace Forge.Tuning;

/// <summary>Options of <see cref="GpSampler"/>.</summary>
public sealed record GpOptions
{
    /// <summary>The seed; null for one drawn at random.</summary>
    public int? Seed { get; init; }

    /// <summary>Random trials before the Gaussian process takes over (default 10).</summary>
    public int StartupTrials { get; init; } = 10;

    /// <summary>Random points scored by expected improvement before the local search (default 1024).</summary>
    public int Candidates { get; init; } = 1024;

    /// <summary>How many of the best candidates are refined by gradient ascent on log EI (default 4).</summary>
    public int LocalSearchStarts { get; init; } = 4;

    /// <summary>
    /// At most this many trials condition the process (default 300: fitting costs grows with the cube of it). Beyond it,
    /// the best half and the most recent rest are kept.
    /// </summary>
    public int MaxObservations { get; init; } = 300;

    /// <summary>
    /// Running trials count as observations at the worst value seen (a pessimistic constant liar), so parallel workers
    /// do not all propose the neighbourhood of the same optimum (default true).
    /// </summary>
    public bool ConstantLiar { get; init; } = true;

    /// <summary>
    /// Model the objective after a Yeo–Johnson power transform fitted by maximum likelihood (default true): objectives
    /// spanning decades (Rosenbrock) are modelled on a scale where the region near the optimum is not flattened.
    /// </summary>
    public bool WarpObjective { get; init; } = true;

    /// <summary>Reports every problem at once as a <see cref="UsageException"/>.</summary>
    public void Validate()
    {
        var problems = new List<string>();
        if (StartupTrials < 1) problems.Add("StartupTrials must be at least 1");
        if (Candidates < 1) problems.Add("Candidates must be at least 1");
        if (LocalSearchStarts < 0) problems.Add("LocalSearchStarts cannot be negative");
        if (MaxObservations < 2) problems.Add("MaxObservations must be at least 2");
        if (problems.Count > 0) throw new UsageException("GP options: " + string.Join("; ", problems));
    }
}

/// <summary>
/// Gaussian-process Bayesian optimisation: the completed trials' parameters (mapped to the unit cube: log scales in
/// log space, integers and steps widened by half a step and rounded back, categoricals one-hot) and values (standardised,
/// optionally power-transformed) condition a GP with a Matérn-5/2 ARD kernel whose hyperparameters maximise the
/// marginal likelihood (with weak priors); the next point maximises log expected improvement, searched by random
/// candidates followed by projected gradient ascent from the best of them. Parameters outside the space every completed
/// trial shares are sampled at random.
/// </summary>
public sealed class GpSampler : ISampler
{
    private readonly GpOptions _o;
    private readonly ulong _seed;
    private readonly IntersectionSearchSpace _space = new(includePruned: false);
    private double[]? _lastTheta;
    private int _fits;

    /// <summary>Creates the sampler (options validated).</summary>
    public GpSampler(GpOptions? options = null)
    {
        _o = options ?? new GpOptions();
        _o.Validate();
        _seed = RandomSampler.SeedOf(_o.Seed);
    }

    /// <summary>The options in force.</summary>
    public GpOptions Options => _o;

    /// <inheritdoc />
    public IReadOnlyDictionary<string, Distribution> InferRelativeSearchSpace(StudySnapshot study, FrozenTrial trial)
    {
        ArgumentNullException.ThrowIfNull(study);
        return _space.Calculate(study.Trials);
    }

    /// <inheritdoc />
    public double SampleIndependent(StudySnapshot study, FrozenTrial trial, string name, Distribution distribution)
    {
        ArgumentNullException.ThrowIfNull(trial);
        ArgumentNullException.ThrowIfNull(name);
        return RandomSampler.Sample(Rng.For(_seed, trial.Number, "gp:" + name), distribution);
    }

    /// <inheritdoc />
    public IReadOnlyDictionary<string, double> SampleRelative(StudySnapshot study, FrozenTrial trial, IReadOnlyDictionary<string, Distribution> searchSpace)
    {
        ArgumentNullException.ThrowIfNull(study);
        ArgumentNullException.ThrowIfNull(trial);
        ArgumentNullException.ThrowIfNull(searchSpace);
        var result = new Dictionary<string, double>(StringComparer.Ordinal);
        if (searchSpace.Count == 0) return result;
        var encoder = new UnitCubeEncoder(searchSpace);
        var (x, y, real) = Observations(study, trial, encoder);
        if (real < _o.StartupTrials) return result;
        var rng = Rng.For(_seed, trial.Number, "gp");
        var best = y.Take(real).Min();
        var targets = Standardise(y, _o.WarpObjective, ref best);
        // The previous fit is a good start (one more point barely moves the optimum); a fresh start every few fits
        // keeps a bad local optimum from being carried along for ever. The fit dominates the sampler's time.
        var starts = new List<double[]>();
        if (_lastTheta is { } last && last.Length == encoder.Dimensions + 2) starts.Add(last);
        if (starts.Count == 0 || _fits % 5 == 0) starts.Add(GaussianProcess.DefaultTheta(encoder.Dimensions));
        _fits++;
        var gp = GaussianProcess.Fit(x, targets, starts);
        _lastTheta = gp.Theta;
        var point = MaximiseAcquisition(gp, encoder, x, best, rng);
        var values = encoder.Decode(point);
        for (var i = 0; i < encoder.Names.Length; i++) result[encoder.Names[i]] = values[i];
        return result;
    }

    /// <summary>The encoded observations (real ones first), their losses, and how many are real (not liars).</summary>
    private (double[][] X, double[] Y, int Real) Observations(StudySnapshot study, FrozenTrial trial, UnitCubeEncoder encoder)
    {
        var chosen = Observed(study, trial, encoder, _o.MaxObservations, _o.ConstantLiar);
        var real = chosen.Where(t => t.State == TrialState.Complete).ToList();
        var running = chosen.Where(t => t.State == TrialState.Running).ToList();
        var losses = real.Select(t => study.Sign * t.Value!.Value).ToList();
        var worst = losses.Count == 0 ? 0 : losses.Max();
        var x = real.Concat(running).Select(encoder.Encode).ToArray();
        var y = losses.Concat(running.Select(_ => worst)).ToArray();
        return (x, y, real.Count);
    }

    /// <summary>
    /// The trials that condition the process: completed ones the encoder covers (capped at <paramref name="maxObservations"/>:
    /// the best half and the newest rest) and, with the liar, running ones that already have every parameter.
    /// </summary>
    internal static List<FrozenTrial> Observed(StudySnapshot study, FrozenTrial trial, UnitCubeEncoder encoder, int maxObservations, bool liar)
    {
        var real = new List<FrozenTrial>();
        var running = new List<FrozenTrial>();
        foreach (var t in study.Trials)
        {
            if (t.Number == trial.Number || !encoder.Covers(t)) continue;
            if (t.State == TrialState.Complete && t.Value is { } v && double.IsFinite(v)) real.Add(t);
            else if (t.State == TrialState.Running && liar) running.Add(t);
        }
        if (real.Count > maxObservations)
        {
            // The best half keeps the model sharp near the optimum; the newest rest keeps it honest elsewhere.
            var keep = new HashSet<FrozenTrial>(real.OrderBy(t => study.Sign * t.Value!.Value).Take(maxObservations / 2));
            foreach (var t in real.OrderByDescending(t => t.Number))
            {
                if (keep.Count >= maxObservations) break;
                keep.Add(t);
            }
            real = real.Where(keep.Contains).ToList();
        }
        return [.. real, .. running];
    }

    /// <summary>Standardises (and optionally Yeo–Johnson-warps) the losses; <paramref name="best"/> is mapped alongside.</summary>
    internal static double[] Standardise(double[] y, bool warp, ref double best)
    {
        var (mean, sd) = MeanSd(y);
        var z = y.Select(v => (v - mean) / sd).ToArray();
        var bestZ = (best - mean) / sd;
        if (warp)
        {
            var lambda = YeoJohnson.FitLambda(z);
            z = z.Select(v => YeoJohnson.Transform(v, lambda)).ToArray();
            bestZ = YeoJohnson.Transform(bestZ, lambda);
            var (m2, s2) = MeanSd(z);
            z = z.Select(v => (v - m2) / s2).ToArray();
            bestZ = (bestZ - m2) / s2;
        }
        best = bestZ;
        return z;
    }

    private static (double Mean, double Sd) MeanSd(double[] values)
    {
        var mean = values.Average();
        var variance = values.Sum(v => (v - mean) * (v - mean)) / values.Length;
        var sd = Math.Sqrt(variance);
        return (mean, sd > 1e-12 ? sd : 1.0);
    }

    private double[] MaximiseAcquisition(GaussianProcess gp, UnitCubeEncoder encoder, double[][] observed, double best, Rng rng)
    {
        double[] none = [];
        var scored = new List<(double Score, double[] Point)>(_o.Candidates + 128);
        void Consider(double[] point)
        {
            var snapped = encoder.Snap(point);
            scored.Add((gp.LogExpectedImprovement(snapped, best, none), snapped));
        }
        for (var i = 0; i < _o.Candidates; i++) Consider(encoder.Random(rng));
        // Candidates around the observations the model rates best: EI's maximum is often just beside the incumbent.
        var incumbents = observed.OrderBy(p => gp.Predict(p).Mean).Take(5).ToArray();
        foreach (var start in incumbents)
        {
            foreach (var scale in (double[])[0.01, 0.05, 0.2])
            {
                for (var k = 0; k < 8; k++)
                {
                    var p = (double[])start.Clone();
                    for (var d = 0; d < p.Length; d++) if (encoder.IsContinuous(d)) p[d] = Math.Clamp(p[d] + (scale * rng.NextNormal()), 0, 1);
                    Consider(p);
                }
            }
        }
        scored.Sort((a, b) => b.Score.CompareTo(a.Score));
        // Points already evaluated are never proposed again; keys are built only for the few candidates looked at.
        var seen = new HashSet<string>(observed.Select(Key), StringComparer.Ordinal);
        var starts = new List<double[]>();
        foreach (var (_, point) in scored)
        {
            if (starts.Count >= Math.Max(1, _o.LocalSearchStarts)) break;
            var key = Key(point);
            if (seen.Contains(key) || starts.Any(s => Key(s) == key)) continue;
            starts.Add(point);
        }
        if (starts.Count == 0)
        {
            // Every candidate was already evaluated (a small discrete space): propose a random point.
            return encoder.Snap(encoder.Random(rng));
        }
        var bestPoint = starts[0];
        var bestScore = gp.LogExpectedImprovement(bestPoint, best, none);
        foreach (var start in starts.Take(_o.LocalSearchStarts))
        {
            var refined = encoder.Snap(LocalSearch(gp, encoder, start, best));
            foreach (var candidate in encoder.CategoricalNeighbours(refined).Prepend(refined))
            {
                var score = gp.LogExpectedImprovement(candidate, best, none);
                if (score > bestScore && !seen.Contains(Key(candidate)))
                {
                    bestScore = score;
                    bestPoint = candidate;
                }
            }
        }
        return bestPoint;
    }

    /// <summary>Projected gradient ascent on log EI over the continuous coordinates (categoricals stay fixed).</summary>
    private static double[] LocalSearch(GaussianProcess gp, UnitCubeEncoder encoder, double[] start, double best)
    {
        var x = (double[])start.Clone();
        var gradient = new double[x.Length];
        var value = gp.LogExpectedImprovement(x, best, gradient);
        var step = 0.05;
        var trialPoint = new double[x.Length];
        var trialGradient = new double[x.Length];
        for (var iteration = 0; iteration < 40; iteration++)
        {
            var norm = 0.0;
            for (var d = 0; d < x.Length; d++) if (encoder.IsContinuous(d)) norm += gradient[d] * gradient[d];
            norm = Math.Sqrt(norm);
            if (!(norm > 1e-10)) break;
            var improved = false;
            for (var attempt = 0; attempt < 12; attempt++)
            {
                for (var d = 0; d < x.Length; d++)
                    trialPoint[d] = encoder.IsContinuous(d) ? Math.Clamp(x[d] + (step * gradient[d] / norm), 0, 1) : x[d];
                var trialValue = gp.LogExpectedImprovement(trialPoint, best, trialGradient);
                if (trialValue > value)
                {
                    (x, trialPoint) = (trialPoint, x);
                    (gradient, trialGradient) = (trialGradient, gradient);
                    value = trialValue;
                    improved = true;
                    step *= 1.5;
                    break;
                }
                step *= 0.3;
            }
            if (!improved || step < 1e-7) break;
        }
        return x;
    }

    private static string Key(double[] point) => string.Join(",", point.Select(v => Math.Round(v, 9).ToString("R", System.Globalization.CultureInfo.InvariantCulture)));
}

/// <summary>Maps a search space to the unit cube and back: one coordinate per number, one per choice of a categorical.</summary>
internal sealed class UnitCubeEncoder
{
    private readonly Distribution[] _distributions;
    private readonly int[] _offsets;
    private readonly bool[] _continuous;

    public UnitCubeEncoder(IReadOnlyDictionary<string, Distribution> space)
    {
        Names = [.. space.Keys];
        _distributions = Names.Select(n => space[n]).ToArray();
        _offsets = new int[Names.Length];
        var dims = 0;
        var continuous = new List<bool>();
        for (var p = 0; p < Names.Length; p++)
        {
            _offsets[p] = dims;
            if (_distributions[p] is CategoricalDistribution c)
            {
                dims += c.Choices.Count;
                continuous.AddRange(Enumerable.Repeat(false, c.Choices.Count));
            }
            else
            {
                dims++;
                continuous.Add(true);
            }
        }
        Dimensions = dims;
        _continuous = [.. continuous];
    }

    public string[] Names { get; }

    public int Dimensions { get; }

    public bool IsContinuous(int dimension) => _continuous[dimension];

    public bool Covers(FrozenTrial t)
    {
        for (var p = 0; p < Names.Length; p++)
        {
            if (!t.InternalParams.TryGetValue(Names[p], out var v) || !_distributions[p].Contains(v)) return false;
        }
        return true;
    }

    public double[] Encode(FrozenTrial t)
    {
        var x = new double[Dimensions];
        for (var p = 0; p < Names.Length; p++)
        {
            var v = t.InternalParams[Names[p]];
            if (_distributions[p] is CategoricalDistribution)
            {
                x[_offsets[p] + (int)v] = 1;
            }
            else
            {
                var (low, high, _) = ParzenEstimator.Bounds(_distributions[p]);
                x[_offsets[p]] = high > low ? (ParzenEstimator.ToModel(_distributions[p], v) - low) / (high - low) : 0.5;
            }
        }
        return x;
    }

    /// <summary>The internal values of a point (numbers rounded onto their grid, the largest one-hot coordinate chosen).</summary>
    public double[] Decode(double[] x)
    {
        var values = new double[Names.Length];
        for (var p = 0; p < Names.Length; p++)
        {
            if (_distributions[p] is CategoricalDistribution c)
            {
                var best = 0;
                for (var k = 1; k < c.Choices.Count; k++) if (x[_offsets[p] + k] > x[_offsets[p] + best]) best = k;
                values[p] = best;
            }
            else
            {
                var (low, high, _) = ParzenEstimator.Bounds(_distributions[p]);
                values[p] = ParzenEstimator.FromModel(_distributions[p], low + (Math.Clamp(x[_offsets[p]], 0, 1) * (high - low)));
            }
        }
        return values;
    }

    /// <summary>The feasible point nearest to x: decoded, then encoded again.</summary>
    public double[] Snap(double[] x)
    {
        var values = Decode(x);
        var snapped = new double[Dimensions];
        for (var p = 0; p < Names.Length; p++)
        {
            if (_distributions[p] is CategoricalDistribution)
            {
                snapped[_offsets[p] + (int)values[p]] = 1;
            }
            else if (_distributions[p] is FloatDistribution { Step: null })
            {
                // Continuous floats keep the optimiser's exact coordinate (decoding through exp/log could nudge it).
                snapped[_offsets[p]] = Math.Clamp(x[_offsets[p]], 0, 1);
            }
            else
            {
                var (low, high, _) = ParzenEstimator.Bounds(_distributions[p]);
                snapped[_offsets[p]] = (ParzenEstimator.ToModel(_distributions[p], values[p]) - low) / (high - low);
            }
        }
        return snapped;
    }

    public double[] Random(Rng rng)
    {
        var x = new double[Dimensions];
        for (var p = 0; p < Names.Length; p++)
        {
            if (_distributions[p] is CategoricalDistribution c) x[_offsets[p] + rng.NextInt(c.Choices.Count)] = 1;
            else x[_offsets[p]] = rng.NextDouble();
        }
        return x;
    }

    /// <summary>The point with one categorical changed to each of its other choices.</summary>
    public IEnumerable<double[]> CategoricalNeighbours(double[] x)
    {
        for (var p = 0; p < Names.Length; p++)
        {
            if (_distributions[p] is not CategoricalDistribution c) continue;
            for (var k = 0; k < c.Choices.Count; k++)
            {
                if (x[_offsets[p] + k] == 1) continue;
                var y = (double[])x.Clone();
                for (var j = 0; j < c.Choices.Count; j++) y[_offsets[p] + j] = j == k ? 1 : 0;
                yield return y;
            }
        }
    }
}

/// <summary>The Yeo–Johnson power transform, with λ chosen by maximum likelihood (golden-section search on [-3, 3]).</summary>
internal static class YeoJohnson
{
    public static double Transform(double y, double lambda)
    {
        if (y >= 0)
            return Math.Abs(lambda) < 1e-12 ? SpecialFunctions.Log1P(y) : (Math.Pow(y + 1, lambda) - 1) / lambda;
        var l2 = 2 - lambda;
        return Math.Abs(l2) < 1e-12 ? -SpecialFunctions.Log1P(-y) : -(Math.Pow(1 - y, l2) - 1) / l2;
    }

    /// <summary>The profile log-likelihood of λ under a normal model of the transformed values.</summary>
    public static double LogLikelihood(double[] y, double lambda)
    {
        var n = y.Length;
        var t = y.Select(v => Transform(v, lambda)).ToArray();
        var mean = t.Average();
        var variance = t.Sum(v => (v - mean) * (v - mean)) / n;
        if (!(variance > 0) || !double.IsFinite(variance)) return double.NegativeInfinity;
        var jacobian = y.Sum(v => Math.Sign(v) * SpecialFunctions.Log1P(Math.Abs(v)));
        return (-0.5 * n * Math.Log(variance)) + ((lambda - 1) * jacobian);
    }

    public static double FitLambda(double[] y)
    {
        double a = -3, b = 3;
        var ratio = (Math.Sqrt(5) - 1) / 2;
        var c = b - (ratio * (b - a));
        var d = a + (ratio * (b - a));
        var fc = LogLikelihood(y, c);
        var fd = LogLikelihood(y, d);
        for (var i = 0; i < 60; i++)
        {
            if (fc > fd)
            {
                b = d;
                d = c;
                fd = fc;
                c = b - (ratio * (b - a));
                fc = LogLikelihood(y, c);
            }
            else
            {
                a = c;
                c = d;
                fc = fd;
                d = a + (ratio * (b - a));
                fd = LogLikelihood(y, d);
            }
        }
        return (a + b) / 2;
    }
}
