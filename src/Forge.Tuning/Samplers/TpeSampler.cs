using Forge.Core;
using Forge.Tuning.Numerics;

namespace Forge.Tuning;

/// <summary>Options of <see cref="TpeSampler"/>; the defaults are Optuna's where Optuna has one.</summary>
public sealed record TpeOptions
{
    /// <summary>The seed; null for one drawn at random. A trial's draws depend only on the seed, its number and the history it sees.</summary>
    public int? Seed { get; init; }

    /// <summary>Random trials before TPE takes over (default 10).</summary>
    public int StartupTrials { get; init; } = 10;

    /// <summary>Candidates drawn from the good-trials density l(x), of which the one maximising l(x)/g(x) is chosen (default 24).</summary>
    public int EiCandidates { get; init; } = 24;

    /// <summary>The weight of the prior kernel (the whole range) in each estimator (default 1).</summary>
    public double PriorWeight { get; init; } = 1.0;

    /// <summary>Keep kernels at least range/min(100, kernels + 1) wide, so a dense cluster cannot collapse the density (default true).</summary>
    public bool ConsiderMagicClip { get; init; } = true;

    /// <summary>Let the outermost kernels' width include the distance to the range end (default false, as Optuna).</summary>
    public bool ConsiderEndpoints { get; init; }

    /// <summary>
    /// Model the parameters every finished trial shares jointly (multivariate TPE, as in BOHB) instead of one at a time
    /// (default true: it finds better optima on correlated objectives; parameters outside that shared space, e.g.
    /// conditional ones, are still sampled one at a time).
    /// </summary>
    public bool Multivariate { get; init; } = true;

    /// <summary>
    /// Count running trials' parameters as bad observations (the constant liar), so parallel workers spread out instead of
    /// proposing the same point (default true; with one worker there is nothing running to count).
    /// </summary>
    public bool ConstantLiar { get; init; } = true;

    /// <summary>How many of n finished trials form the good set; null for Optuna's min(⌈0.1·n⌉, 25).</summary>
    public Func<int, int>? Gamma { get; init; }

    /// <summary>
    /// The bad-trials density g(x) keeps only the most recent this-many bad observations (default 1000). Optuna's weights
    /// already fade old trials linearly; capping them keeps a trial's cost flat as a study grows to 10,000 trials.
    /// </summary>
    public int MaxAboveObservations { get; init; } = 1000;

    /// <summary>Reports every problem at once as a <see cref="UsageException"/>.</summary>
    public void Validate()
    {
        var problems = new List<string>();
        if (StartupTrials < 0) problems.Add("StartupTrials cannot be negative");
        if (EiCandidates < 1) problems.Add("EiCandidates must be at least 1");
        if (!(PriorWeight > 0) || !double.IsFinite(PriorWeight)) problems.Add("PriorWeight must be positive");
        if (MaxAboveObservations < 1) problems.Add("MaxAboveObservations must be at least 1");
        if (problems.Count > 0) throw new UsageException("TPE options: " + string.Join("; ", problems));
    }
}

/// <summary>
/// The Tree-structured Parzen Estimator (Bergstra et al. 2011; Optuna's TPESampler): finished trials are split into the
/// best γ(n) and the rest, a Parzen estimator is fitted to each (l(x) for the good, g(x) for the bad), and of
/// <see cref="TpeOptions.EiCandidates"/> draws from l the one with the largest l(x)/g(x) is proposed. Pruned trials rank
/// after completed ones by how far they got; with the constant liar, running trials rank last.
/// </summary>
public sealed class TpeSampler : ISampler
{
    private readonly TpeOptions _o;
    private readonly ulong _seed;
    private readonly ParzenParameters _parzen;
    private readonly IntersectionSearchSpace _space = new(includePruned: true);
    private StudySnapshot? _splitFor;
    private int _splitTrial = -1;
    private Split? _split;

    /// <summary>Creates the sampler (options validated).</summary>
    public TpeSampler(TpeOptions? options = null)
    {
        _o = options ?? new TpeOptions();
        _o.Validate();
        _seed = RandomSampler.SeedOf(_o.Seed);
        _parzen = new ParzenParameters(_o.PriorWeight, _o.ConsiderMagicClip, _o.ConsiderEndpoints, _o.Multivariate);
    }

    /// <summary>The options in force.</summary>
    public TpeOptions Options => _o;

    /// <summary>Optuna's default γ: the best 10% of finished trials, at most 25.</summary>
    public static int DefaultGamma(int n) => Math.Min((int)Math.Ceiling(0.1 * n), 25);

    /// <summary>Optuna's default weights: 1 for the 25 newest observations, a ramp from 1/n up to 1 for the older ones.</summary>
    public static double[] DefaultWeights(int n)
    {
        if (n < 25) return Enumerable.Repeat(1.0, n).ToArray();
        var weights = new double[n];
        var ramp = n - 25;
        for (var i = 0; i < ramp; i++) weights[i] = ramp == 1 ? 1.0 / n : (1.0 / n) + ((1.0 - (1.0 / n)) * i / (ramp - 1));
        for (var i = ramp; i < n; i++) weights[i] = 1.0;
        return weights;
    }

    /// <inheritdoc />
    public IReadOnlyDictionary<string, Distribution> InferRelativeSearchSpace(StudySnapshot study, FrozenTrial trial)
    {
        ArgumentNullException.ThrowIfNull(study);
        return _o.Multivariate ? _space.Calculate(study.Trials) : new Dictionary<string, Distribution>();
    }

    /// <inheritdoc />
    public IReadOnlyDictionary<string, double> SampleRelative(StudySnapshot study, FrozenTrial trial, IReadOnlyDictionary<string, Distribution> searchSpace)
    {
        ArgumentNullException.ThrowIfNull(study);
        ArgumentNullException.ThrowIfNull(trial);
        ArgumentNullException.ThrowIfNull(searchSpace);
        if (searchSpace.Count == 0) return new Dictionary<string, double>();
        var split = SplitFor(study, trial);
        if (split.Finished < _o.StartupTrials) return new Dictionary<string, double>();
        var names = searchSpace.Keys.ToArray();
        var distributions = names.Select(n => searchSpace[n]).ToArray();
        var point = Propose(split, names, distributions, Rng.For(_seed, trial.Number, "tpe:relative"), joint: true);
        var result = new Dictionary<string, double>(StringComparer.Ordinal);
        if (point is null) return result;
        for (var i = 0; i < names.Length; i++) result[names[i]] = point[i];
        return result;
    }

    /// <inheritdoc />
    public double SampleIndependent(StudySnapshot study, FrozenTrial trial, string name, Distribution distribution)
    {
        ArgumentNullException.ThrowIfNull(study);
        ArgumentNullException.ThrowIfNull(trial);
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(distribution);
        var rng = Rng.For(_seed, trial.Number, "tpe:" + name);
        var split = SplitFor(study, trial);
        if (split.Finished < _o.StartupTrials) return RandomSampler.Sample(rng, distribution);
        var point = Propose(split, [name], [distribution], rng, joint: false);
        return point?[0] ?? RandomSampler.Sample(rng, distribution);
    }

    /// <summary>The numbers of the trials in the good set for a new trial (for tests and diagnostics).</summary>
    internal IReadOnlyList<int> GoodTrials(StudySnapshot study, FrozenTrial trial)
    {
        var split = SplitFor(study, trial);
        return split.Trials.Where((_, i) => split.Below[i]).Select(t => t.Number).ToList();
    }

    /// <summary>The trials ranked once per snapshot: which are good (below), in number order.</summary>
    private sealed record Split(FrozenTrial[] Trials, bool[] Below, int Finished);

    private Split SplitFor(StudySnapshot study, FrozenTrial trial)
    {
        if (_split is not null && ReferenceEquals(_splitFor, study) && _splitTrial == trial.Number) return _split;
        var sign = study.Sign;
        var used = new List<FrozenTrial>(study.Trials.Count);
        var keys = new List<(double Step, double Loss)>(study.Trials.Count);
        var finished = 0;
        foreach (var t in study.Trials)
        {
            if (t.Number == trial.Number) continue;
            switch (t.State)
            {
                case TrialState.Complete when t.Value is { } v:
                    used.Add(t);
                    keys.Add((double.NegativeInfinity, sign * v));
                    finished++;
                    break;
                case TrialState.Pruned:
                    used.Add(t);
                    finished++;
                    if (t.IntermediateValues.Count == 0)
                    {
                        keys.Add((1, 0));
                    }
                    else
                    {
                        // A pruned trial ranks by how far it got, then by its last value there.
                        var last = t.IntermediateValues.LastValue;
                        keys.Add((-t.IntermediateValues.LastStep, double.IsNaN(last) ? double.PositiveInfinity : sign * last));
                    }
                    break;
                case TrialState.Running when _o.ConstantLiar:
                    used.Add(t);
                    keys.Add((double.PositiveInfinity, double.PositiveInfinity));
                    break;
            }
        }
        var nBelow = Math.Clamp((_o.Gamma ?? DefaultGamma)(finished), 0, used.Count);
        var below = new bool[used.Count];
        // The nBelow best by (step key, loss), ties to the older trial: a bounded max-heap keeps this O(n log γ).
        var heap = new PriorityQueue<int, (double, double, int)>(Comparer<(double, double, int)>.Create((a, b) => b.CompareTo(a)));
        for (var i = 0; i < used.Count && nBelow > 0; i++)
        {
            var key = (keys[i].Step, keys[i].Loss, i);
            if (heap.Count < nBelow) heap.Enqueue(i, key);
            else if (heap.TryPeek(out _, out var worst) && key.CompareTo(worst) < 0) heap.EnqueueDequeue(i, key);
        }
        while (heap.TryDequeue(out var index, out _)) below[index] = true;
        _split = new Split([.. used], below, finished);
        _splitFor = study;
        _splitTrial = trial.Number;
        return _split;
    }

    private double[]? Propose(Split split, string[] names, Distribution[] distributions, Rng rng, bool joint)
    {
        var belowObservations = new List<double[]>();
        var aboveObservations = new List<double[]>();
        // Walk newest first so the above set can stop at its cap; reversed afterwards into chronological order.
        for (var i = split.Trials.Length - 1; i >= 0; i--)
        {
            var isBelow = split.Below[i];
            if (!isBelow && aboveObservations.Count >= _o.MaxAboveObservations) continue;
            var values = Observation(split.Trials[i], names, distributions);
            if (values is null) continue;
            (isBelow ? belowObservations : aboveObservations).Add(values);
        }
        belowObservations.Reverse();
        aboveObservations.Reverse();
        // Joint kernels take Scott's-rule widths; one parameter at a time, each kernel spans the gaps to its neighbours.
        var parzen = _parzen with { Multivariate = joint };
        var l = new ParzenEstimator(belowObservations, DefaultWeights(belowObservations.Count), distributions, parzen);
        var g = new ParzenEstimator(aboveObservations, DefaultWeights(aboveObservations.Count), distributions, parzen);
        var candidates = l.Sample(rng, _o.EiCandidates);
        double[]? best = null;
        var bestScore = double.NegativeInfinity;
        foreach (var candidate in candidates)
        {
            var score = l.LogPdf(candidate) - g.LogPdf(candidate);
            if (best is null || score > bestScore)
            {
                best = candidate;
                bestScore = score;
            }
        }
        return best;
    }

    private static double[]? Observation(FrozenTrial t, string[] names, Distribution[] distributions)
    {
        var values = new double[names.Length];
        for (var p = 0; p < names.Length; p++)
        {
            if (!t.InternalParams.TryGetValue(names[p], out var v)) return null;
            // A value from a wider range in an older trial is left out rather than bent into this one.
            if (!distributions[p].Contains(v)) return null;
            values[p] = v;
        }
        return values;
    }
}
