using System.Collections;
using System.Diagnostics.CodeAnalysis;
using Forge.Core;

namespace Forge.Tuning;

/// <summary>
/// A read-only snapshot of one trial: what samplers, pruners, callbacks and reports see. Storages build it; nothing
/// changes it afterwards (a later state of the trial is a new snapshot).
/// </summary>
public sealed class FrozenTrial
{
    /// <summary>The system attribute holding why a trial failed.</summary>
    public const string FailReasonKey = "fail_reason";

    /// <summary>The system attribute holding the parameters an enqueued trial must use (a JSON object).</summary>
    public const string FixedParamsKey = "fixed_params";

    /// <summary>The system attribute naming the trial number a retry repeats.</summary>
    public const string RetryOfKey = "retry_of";

    private static readonly IReadOnlyDictionary<string, string> NoText = new Dictionary<string, string>();

    /// <summary>Creates a snapshot; storages call this when they read a trial.</summary>
    /// <param name="trialId">The storage's id of the trial (unique across studies).</param>
    /// <param name="number">The trial's number in its study, from 0, in the order trials were created.</param>
    /// <param name="state">The trial's state.</param>
    /// <param name="value">The objective value (Complete trials only).</param>
    /// <param name="distributions">Each suggested parameter's distribution.</param>
    /// <param name="internalParams">Each suggested parameter's internal number (see <see cref="Distribution"/>).</param>
    /// <param name="intermediateValues">Reported (step, value) pairs, in any order.</param>
    /// <param name="userAttributes">User attributes as JSON text (see <see cref="ScalarValues"/>).</param>
    /// <param name="systemAttributes">Attributes the tuner itself keeps, as JSON text.</param>
    /// <param name="started">When a worker started the trial (null while it waits).</param>
    /// <param name="completed">When it finished.</param>
    /// <param name="heartbeat">The last heartbeat of its worker, when heartbeats are on.</param>
    /// <param name="retried">True for a failed trial that a retry has replaced.</param>
    public FrozenTrial(
        long trialId,
        int number,
        TrialState state,
        double? value,
        IReadOnlyDictionary<string, Distribution> distributions,
        IReadOnlyDictionary<string, double> internalParams,
        IEnumerable<KeyValuePair<long, double>>? intermediateValues = null,
        IReadOnlyDictionary<string, string>? userAttributes = null,
        IReadOnlyDictionary<string, string>? systemAttributes = null,
        DateTimeOffset? started = null,
        DateTimeOffset? completed = null,
        DateTimeOffset? heartbeat = null,
        bool retried = false)
    {
        ArgumentNullException.ThrowIfNull(distributions);
        ArgumentNullException.ThrowIfNull(internalParams);
        TrialId = trialId;
        Number = number;
        State = state;
        Value = value;
        Distributions = distributions;
        InternalParams = internalParams;
        var external = new Dictionary<string, object?>(internalParams.Count, StringComparer.Ordinal);
        foreach (var (name, internalValue) in internalParams)
        {
            if (!distributions.TryGetValue(name, out var distribution))
                throw new ForgeException($"trial {number}: parameter '{name}' has a value but no distribution");
            external[name] = distribution.ToExternal(internalValue);
        }
        Params = external;
        IntermediateValues = new StepValues(intermediateValues ?? []);
        UserAttributesJson = userAttributes ?? NoText;
        SystemAttributes = systemAttributes ?? NoText;
        var user = new Dictionary<string, object?>(UserAttributesJson.Count, StringComparer.Ordinal);
        foreach (var (key, json) in UserAttributesJson) user[key] = ScalarValues.FromJson(json);
        UserAttributes = user;
        Started = started;
        Completed = completed;
        Heartbeat = heartbeat;
        Retried = retried;
    }

    /// <summary>The storage's id of the trial.</summary>
    public long TrialId { get; }

    /// <summary>The trial's number in its study (0, 1, 2, … in creation order).</summary>
    public int Number { get; }

    /// <summary>The trial's state when the snapshot was taken.</summary>
    public TrialState State { get; }

    /// <summary>The objective value of a Complete trial; null otherwise.</summary>
    public double? Value { get; }

    /// <summary>Each suggested parameter's value as the objective saw it (double, int or the categorical choice).</summary>
    public IReadOnlyDictionary<string, object?> Params { get; }

    /// <summary>Each suggested parameter's internal number (the categorical index for choices).</summary>
    public IReadOnlyDictionary<string, double> InternalParams { get; }

    /// <summary>Each suggested parameter's distribution.</summary>
    public IReadOnlyDictionary<string, Distribution> Distributions { get; }

    /// <summary>The values reported with <see cref="Trial.Report"/>, by step, in step order.</summary>
    public StepValues IntermediateValues { get; }

    /// <summary>The last reported step, or null when nothing was reported.</summary>
    public long? LastStep => IntermediateValues.Count == 0 ? null : IntermediateValues.LastStep;

    /// <summary>User attributes (null, string, bool, long or double values).</summary>
    public IReadOnlyDictionary<string, object?> UserAttributes { get; }

    /// <summary>User attributes as stored (JSON text).</summary>
    public IReadOnlyDictionary<string, string> UserAttributesJson { get; }

    /// <summary>Attributes the tuner keeps for itself (JSON text): fail reason, enqueued parameters, retries, grid points.</summary>
    public IReadOnlyDictionary<string, string> SystemAttributes { get; }

    /// <summary>Why the trial failed (the exception's message), or null.</summary>
    public string? FailReason => SystemAttributes.TryGetValue(FailReasonKey, out var json) ? ScalarValues.FromJson(json) as string : null;

    /// <summary>When a worker started the trial.</summary>
    public DateTimeOffset? Started { get; }

    /// <summary>When the trial finished.</summary>
    public DateTimeOffset? Completed { get; }

    /// <summary>The last heartbeat of the trial's worker (null when heartbeats are off).</summary>
    public DateTimeOffset? Heartbeat { get; }

    /// <summary>True for a failed trial that a retry has replaced (it no longer counts towards a study-wide trial limit).</summary>
    public bool Retried { get; }

    /// <summary>How long the trial ran, once finished.</summary>
    public TimeSpan? Duration => Started is { } s && Completed is { } c ? c - s : null;

    /// <summary>The parameters an enqueued trial must use (external values), or an empty map.</summary>
    public IReadOnlyDictionary<string, object?> FixedParams
    {
        get
        {
            if (!SystemAttributes.TryGetValue(FixedParamsKey, out var json)) return new Dictionary<string, object?>();
            using var document = System.Text.Json.JsonDocument.Parse(json);
            return document.RootElement.EnumerateObject().ToDictionary(p => p.Name, p => ScalarValues.FromJsonElement(p.Value), StringComparer.Ordinal);
        }
    }

    /// <summary>A copy of this snapshot with some parts replaced; storages use it to apply one change.</summary>
    internal FrozenTrial With(
        TrialState? state = null,
        double? value = null,
        IReadOnlyDictionary<string, Distribution>? distributions = null,
        IReadOnlyDictionary<string, double>? internalParams = null,
        IEnumerable<KeyValuePair<long, double>>? intermediateValues = null,
        IReadOnlyDictionary<string, string>? userAttributes = null,
        IReadOnlyDictionary<string, string>? systemAttributes = null,
        DateTimeOffset? started = null,
        DateTimeOffset? completed = null,
        DateTimeOffset? heartbeat = null,
        bool? retried = null,
        int? number = null,
        long? trialId = null) =>
        new(trialId ?? TrialId, number ?? Number, state ?? State, value ?? Value, distributions ?? Distributions, internalParams ?? InternalParams,
            intermediateValues ?? IntermediateValues, userAttributes ?? UserAttributesJson, systemAttributes ?? SystemAttributes,
            started ?? Started, completed ?? Completed, heartbeat ?? Heartbeat, retried ?? Retried);

    /// <inheritdoc />
    public override string ToString() =>
        $"trial {Number} {TuningText.Of(State)}" + (Value is { } v ? $" value={ScalarValues.Describe(v)}" : "") +
        (Params.Count > 0 ? " " + string.Join(" ", Params.Select(p => $"{p.Key}={ScalarValues.Describe(p.Value)}")) : "");
}

/// <summary>A trial's intermediate values: an immutable map from step to value, enumerated in step order.</summary>
public sealed class StepValues : IReadOnlyDictionary<long, double>
{
    private readonly long[] _steps;
    private readonly double[] _values;

    /// <summary>Creates the map; when a step appears twice the first value is kept.</summary>
    public StepValues(IEnumerable<KeyValuePair<long, double>> pairs)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        if (pairs is StepValues other)
        {
            _steps = other._steps;
            _values = other._values;
            return;
        }
        var sorted = new SortedDictionary<long, double>();
        foreach (var (step, value) in pairs) sorted.TryAdd(step, value);
        _steps = [.. sorted.Keys];
        _values = [.. sorted.Values];
    }

    /// <inheritdoc />
    public int Count => _steps.Length;

    /// <summary>The largest step (the map must not be empty).</summary>
    public long LastStep => _steps[^1];

    /// <summary>The value at the largest step (the map must not be empty).</summary>
    public double LastValue => _values[^1];

    /// <inheritdoc />
    public double this[long key] => TryGetValue(key, out var v) ? v : throw new KeyNotFoundException($"no value was reported at step {key}");

    /// <inheritdoc />
    public IEnumerable<long> Keys => _steps;

    /// <inheritdoc />
    public IEnumerable<double> Values => _values;

    /// <inheritdoc />
    public bool ContainsKey(long key) => Array.BinarySearch(_steps, key) >= 0;

    /// <inheritdoc />
    public bool TryGetValue(long key, [MaybeNullWhen(false)] out double value)
    {
        var i = Array.BinarySearch(_steps, key);
        value = i >= 0 ? _values[i] : 0;
        return i >= 0;
    }

    /// <summary>The first (step, value) at or after <paramref name="step"/>, or null.</summary>
    public KeyValuePair<long, double>? FirstAtOrAfter(long step)
    {
        var i = Array.BinarySearch(_steps, step);
        if (i < 0) i = ~i;
        return i < _steps.Length ? new KeyValuePair<long, double>(_steps[i], _values[i]) : null;
    }

    /// <summary>A new map with one more step (ignored when the step is already there).</summary>
    internal StepValues Add(long step, double value) => ContainsKey(step) ? this : new StepValues(this.Append(new(step, value)));

    /// <inheritdoc />
    public IEnumerator<KeyValuePair<long, double>> GetEnumerator()
    {
        for (var i = 0; i < _steps.Length; i++) yield return new KeyValuePair<long, double>(_steps[i], _values[i]);
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
