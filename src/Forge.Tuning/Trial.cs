using Forge.Core;

namespace Forge.Tuning;

/// <summary>
/// A running trial, handed to the objective: it suggests parameter values (define-by-run: the search space is whatever
/// the objective asks for), receives intermediate values for the pruner, and carries user attributes. One trial is used
/// by one thread at a time.
/// </summary>
public sealed class Trial
{
    private readonly Study _study;
    private readonly Lock _lock = new();
    private FrozenTrial _frozen;
    private IReadOnlyDictionary<string, object?> _fixed;
    private IReadOnlyDictionary<string, Distribution>? _relativeSpace;
    private IReadOnlyDictionary<string, double>? _relativeValues;
    private StudySnapshot? _snapshot;

    internal Trial(Study study, FrozenTrial frozen)
    {
        _study = study;
        _frozen = frozen;
        _fixed = frozen.FixedParams;
    }

    /// <summary>The trial's number in its study.</summary>
    public int Number => _frozen.Number;

    /// <summary>The storage's id of the trial.</summary>
    public long TrialId => _frozen.TrialId;

    /// <summary>The study the trial belongs to.</summary>
    public Study Study => _study;

    /// <summary>The parameters suggested so far.</summary>
    public IReadOnlyDictionary<string, object?> Params => _frozen.Params;

    /// <summary>The trial as it is now (parameters, intermediate values, attributes).</summary>
    public FrozenTrial Snapshot
    {
        get
        {
            lock (_lock) return _frozen;
        }
    }

    internal bool Finished { get; set; }

    internal Timer? HeartbeatTimer { get; set; }

    /// <summary>A real number in [low, high]; <paramref name="log"/> draws uniformly in log space, <paramref name="step"/> puts values on a grid.</summary>
    public double SuggestFloat(string name, double low, double high, bool log = false, double? step = null) =>
        (double)Suggest(name, Build(name, () => new FloatDistribution(low, high, log, step)))!;

    /// <summary>An integer in [low, high]; <paramref name="log"/> draws uniformly in log space, <paramref name="step"/> puts values on a grid.</summary>
    public int SuggestInt(string name, int low, int high, bool log = false, int step = 1) =>
        (int)Suggest(name, Build(name, () => new IntDistribution(low, high, log, step)))!;

    /// <summary>One of <paramref name="choices"/> (returned as given; stored as its string/number/bool form).</summary>
    public T SuggestCategorical<T>(string name, params IReadOnlyList<T> choices)
    {
        ArgumentNullException.ThrowIfNull(choices);
        var distribution = (CategoricalDistribution)Build(name, () => new CategoricalDistribution(choices.Select(c => (object?)c)));
        Suggest(name, distribution);
        lock (_lock) return choices[(int)_frozen.InternalParams[name]];
    }

    /// <summary>A value of any distribution (the external value: double, int or the categorical choice's stored form).</summary>
    public object? Suggest(string name, Distribution distribution)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(distribution);
        if (name.Length == 0) throw new UsageException("a parameter name cannot be empty");
        lock (_lock)
        {
            EnsureRunning();
            if (_frozen.Distributions.TryGetValue(name, out var existing))
            {
                if (!existing.Equals(distribution))
                    throw new UsageException($"trial {Number}: parameter '{name}' was already suggested from {existing.ToJson()}, now from {distribution.ToJson()}");
                return _frozen.Params[name];
            }
            var value = Choose(name, distribution);
            _study.Storage.SetTrialParam(TrialId, name, value, distribution);
            var values = new Dictionary<string, double>(_frozen.InternalParams, StringComparer.Ordinal) { [name] = value };
            var distributions = new Dictionary<string, Distribution>(_frozen.Distributions, StringComparer.Ordinal) { [name] = distribution };
            _frozen = _frozen.With(distributions: distributions, internalParams: values);
            return _frozen.Params[name];
        }
    }

    private double Choose(string name, Distribution distribution)
    {
        if (_fixed.TryGetValue(name, out var fixedValue))
        {
            double v;
            try
            {
                v = distribution.ToInternal(fixedValue);
            }
            catch (UsageException ex)
            {
                throw new UsageException($"trial {Number}: enqueued value of '{name}': {ex.Message}");
            }
            if (!distribution.Contains(v))
                throw new UsageException($"trial {Number}: enqueued value {ScalarValues.Describe(fixedValue)} of '{name}' is not in {distribution.ToJson()}");
            return v;
        }
        var snapshot = _snapshot ??= _study.Snapshot();
        _study.CheckConsistent(snapshot, name, distribution);
        if (distribution.IsSingle) return Low(distribution);
        return _study.WithSampler(sampler =>
        {
            if (_relativeSpace is null)
            {
                _relativeSpace = sampler.InferRelativeSearchSpace(snapshot, _frozen);
                _relativeValues = _relativeSpace.Count == 0 ? new Dictionary<string, double>() : sampler.SampleRelative(snapshot, _frozen, _relativeSpace);
            }
            if (_relativeValues!.TryGetValue(name, out var relative) && _relativeSpace.TryGetValue(name, out var relativeDistribution)
                && relativeDistribution.Equals(distribution) && distribution.Contains(relative))
            {
                return relative;
            }
            var independent = sampler.SampleIndependent(snapshot, _frozen, name, distribution);
            if (!distribution.Contains(independent))
            {
                throw new ForgeException(
                    $"trial {Number}: the sampler {sampler.GetType().Name} proposed {ScalarValues.Describe(independent)} for '{name}', outside {distribution.ToJson()}");
            }
            return independent;
        });
    }

    private static double Low(Distribution d) => d switch
    {
        FloatDistribution f => f.Low,
        IntDistribution i => i.Low,
        _ => 0,
    };

    private static Distribution Build(string name, Func<Distribution> create)
    {
        try
        {
            return create();
        }
        catch (UsageException ex)
        {
            throw new UsageException($"parameter '{name}': {ex.Message}");
        }
    }

    /// <summary>Reports the objective's value at a step (an epoch, a number of trees) for the pruner; a step reported twice keeps its first value.</summary>
    public void Report(long step, double value)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        lock (_lock)
        {
            EnsureRunning();
            if (_frozen.IntermediateValues.ContainsKey(step)) return;
            _study.Storage.ReportIntermediateValue(TrialId, step, value);
            _frozen = new FrozenTrial(_frozen.TrialId, _frozen.Number, _frozen.State, _frozen.Value, _frozen.Distributions, _frozen.InternalParams,
                _frozen.IntermediateValues.Add(step, value), _frozen.UserAttributesJson, _frozen.SystemAttributes, _frozen.Started, _frozen.Completed,
                _frozen.Heartbeat, _frozen.Retried);
        }
    }

    /// <summary>
    /// True when the study's pruner judges, from the values reported so far, that this trial should stop. The objective
    /// then throws <see cref="TrialPrunedException"/>.
    /// </summary>
    public bool ShouldPrune()
    {
        FrozenTrial frozen;
        lock (_lock)
        {
            EnsureRunning();
            frozen = _frozen;
        }
        return _study.Prune(frozen);
    }

    /// <summary>Sets a user attribute (null, string, bool, number; other types are stored as their text).</summary>
    public void SetUserAttribute(string key, object? value)
    {
        ArgumentNullException.ThrowIfNull(key);
        lock (_lock)
        {
            EnsureRunning();
            var json = ScalarValues.ToJson(value);
            _study.Storage.SetTrialUserAttribute(TrialId, key, json);
            _frozen = _frozen.With(userAttributes: new Dictionary<string, string>(_frozen.UserAttributesJson, StringComparer.Ordinal) { [key] = json });
        }
    }

    /// <summary>The user attributes set so far.</summary>
    public IReadOnlyDictionary<string, object?> UserAttributes => Snapshot.UserAttributes;

    internal void Refresh(FrozenTrial frozen)
    {
        lock (_lock)
        {
            _frozen = frozen;
            _fixed = frozen.FixedParams;
        }
    }

    private void EnsureRunning()
    {
        if (Finished) throw new UsageException($"trial {Number} has finished; suggest, report and set attributes inside the objective only");
    }

    /// <inheritdoc />
    public override string ToString() => Snapshot.ToString();
}
