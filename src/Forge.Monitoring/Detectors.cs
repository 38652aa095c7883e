using System.Text.Json.Serialization;
using Forge.Core;

namespace Forge.Monitoring;

/// <summary>What a concept-drift detector believes after its latest input.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<DetectorState>))]
public enum DetectorState
{
    /// <summary>No sign of change.</summary>
    [JsonStringEnumMemberName("stable")] Stable = 0,

    /// <summary>A change may be starting: collect data for a new model.</summary>
    [JsonStringEnumMemberName("warning")] Warning = 1,

    /// <summary>A change was detected on this input; the detector has already discarded the old statistics.</summary>
    [JsonStringEnumMemberName("drift")] Drift = 2,
}

/// <summary>
/// A streaming concept-drift detector fed one value at a time — usually the error indicator (1 = the model was wrong)
/// of each labelled prediction. After reporting <see cref="DetectorState.Drift"/> it starts afresh by itself.
/// </summary>
public interface IConceptDriftDetector
{
    /// <summary>Short name ("ddm", "eddm", "adwin", "page-hinkley").</summary>
    string Name { get; }

    /// <summary>The state after the latest input.</summary>
    DetectorState State { get; }

    /// <summary>Inputs since the detector was created or reset.</summary>
    long Seen { get; }

    /// <summary>Drifts detected since the detector was created or reset.</summary>
    long Detections { get; }

    /// <summary>Takes one input and returns the new state.</summary>
    DetectorState Update(double value);

    /// <summary>Forgets everything, as if new.</summary>
    void Reset();
}

/// <summary>A detector's state for a status endpoint or a gauge.</summary>
/// <param name="Name">The detector's name.</param>
/// <param name="State">Its current state.</param>
/// <param name="Seen">Inputs since creation or reset.</param>
/// <param name="Detections">Drifts detected.</param>
public sealed record DetectorStatus(string Name, DetectorState State, long Seen, long Detections)
{
    /// <summary>The status of <paramref name="detector"/>.</summary>
    public static DetectorStatus Of(IConceptDriftDetector detector)
    {
        ArgumentNullException.ThrowIfNull(detector);
        return new DetectorStatus(detector.Name, detector.State, detector.Seen, detector.Detections);
    }
}

/// <summary>
/// Options of <see cref="Ddm"/>. The defaults (1,000 inputs before deciding, drift at 4, warning at 3) keep a
/// long-running server to at most one false alarm per 100,000 inputs on steady error rates from 0.05 to 0.3, chosen on
/// calibration streams by <c>bash bench/run-drift.sh --only calibrate</c>: most of DDM's false alarms come from a
/// lucky low error rate in its first few dozen inputs, which a longer start removes. Gama et al.'s published 30, 3
/// and 2 (<see cref="Published"/>) raise up to 10 false alarms on such a stream.
/// </summary>
public sealed record DdmOptions
{
    /// <summary>Gama et al.'s settings: 30 inputs first, drift at 3, warning at 2.</summary>
    public static DdmOptions Published { get; } = new() { MinInstances = 30, WarningLevel = 2.0, DriftLevel = 3.0 };

    /// <summary>Inputs before any decision, after a start or a detected drift (default 1,000).</summary>
    public int MinInstances { get; init; } = 1000;

    /// <summary>Warning when p + s exceeds the best p + s by this many of the best s (default 3).</summary>
    public double WarningLevel { get; init; } = 3.0;

    /// <summary>Drift at this many (default 4).</summary>
    public double DriftLevel { get; init; } = 4.0;

    /// <summary>Checks every option and reports all problems at once.</summary>
    public void Validate() => Checks.Throw("DDM", [
        Checks.Positive(nameof(MinInstances), MinInstances),
        Checks.Positive(nameof(WarningLevel), WarningLevel),
        DriftLevel > WarningLevel ? null : $"DriftLevel ({DriftLevel}) must exceed WarningLevel ({WarningLevel})",
    ]);
}

/// <summary>
/// DDM, the drift detection method of Gama, Medas, Castillo &amp; Rodrigues (2004): tracks the error rate p and its
/// standard deviation s = √(p(1-p)/n) and signals when p + s rises well above its lowest value.
/// </summary>
public sealed class Ddm : IConceptDriftDetector
{
    private readonly DdmOptions _options;
    private double _p;
    private double _pMin;
    private double _sMin;

    /// <summary>Creates a detector; null options take the defaults.</summary>
    public Ddm(DdmOptions? options = null)
    {
        _options = options ?? new DdmOptions();
        _options.Validate();
        Restart();
    }

    /// <inheritdoc />
    public string Name => "ddm";

    /// <inheritdoc />
    public DetectorState State { get; private set; }

    /// <inheritdoc />
    public long Seen { get; private set; }

    /// <inheritdoc />
    public long Detections { get; private set; }

    private long _n;

    /// <summary>Takes an error indicator (1 = wrong, 0 = right; values in between are read as probabilities of error).</summary>
    public DetectorState Update(double value)
    {
        Checks.Unit(value);
        Seen++;
        _n++;
        _p += (value - _p) / _n;
        var s = Math.Sqrt(_p * (1 - _p) / _n);
        if (_n < _options.MinInstances) return State = DetectorState.Stable;
        // With no error (or nothing but errors) yet, s is 0 and the minimum would be a degenerate 0 that the first
        // error then "exceeds" by infinitely many standard deviations; such a minimum is not recorded.
        if (s > 0 && _p + s < _pMin + _sMin)
        {
            _pMin = _p;
            _sMin = s;
        }
        if (_p + s >= _pMin + _options.DriftLevel * _sMin)
        {
            Detections++;
            Restart();
            return State = DetectorState.Drift;
        }
        return State = _p + s >= _pMin + _options.WarningLevel * _sMin ? DetectorState.Warning : DetectorState.Stable;
    }

    private void Restart()
    {
        _n = 0;
        _p = 0;
        _pMin = double.MaxValue;
        _sMin = double.MaxValue;
    }

    /// <inheritdoc />
    public void Reset()
    {
        Restart();
        Seen = 0;
        Detections = 0;
        State = DetectorState.Stable;
    }
}

/// <summary>
/// Options of <see cref="Eddm"/>. The defaults (300 errors before deciding, drift below 0.85 of the maximum, warning
/// below 0.90) keep a long-running server to at most one false alarm per 100,000 inputs on steady error rates from 0.05
/// to 0.3, chosen on calibration streams by <c>bash bench/run-drift.sh --only calibrate</c>: the mean and std of the
/// distances between errors settle slowly, and a maximum taken over a few dozen of them sits well above where they
/// settle. Baena-García et al.'s 30 errors, 0.90 and 0.95 (<see cref="Published"/>) catch a 0.1 → 0.3 jump about
/// seven times sooner (a median of about 100 inputs against 730) but raise up to 58 false alarms on such a stream.
/// </summary>
public sealed record EddmOptions
{
    /// <summary>Baena-García et al.'s settings: 30 errors first, drift below 0.90, warning below 0.95.</summary>
    public static EddmOptions Published { get; } = new() { MinErrors = 30, DriftRatio = 0.90, WarningRatio = 0.95 };

    /// <summary>Errors before any decision, after a start or a detected drift (default 300).</summary>
    public int MinErrors { get; init; } = 300;

    /// <summary>Warning when (mean + 2·std) of the distance between errors falls below this share of its maximum (default 0.90).</summary>
    public double WarningRatio { get; init; } = 0.90;

    /// <summary>Drift below this share (default 0.85).</summary>
    public double DriftRatio { get; init; } = 0.85;

    /// <summary>Checks every option and reports all problems at once.</summary>
    public void Validate() => Checks.Throw("EDDM", [
        Checks.Positive(nameof(MinErrors), MinErrors),
        WarningRatio is > 0 and < 1 ? null : $"WarningRatio must be in (0, 1), got {WarningRatio}",
        DriftRatio > 0 && DriftRatio < WarningRatio ? null : $"DriftRatio ({DriftRatio}) must be in (0, WarningRatio)",
    ]);
}

/// <summary>
/// EDDM, the early drift detection method of Baena-García et al. (2006): watches the distance (in inputs) between
/// consecutive errors; when errors come closer together than they used to, the model is degrading. Suited to
/// gradual changes.
/// </summary>
public sealed class Eddm : IConceptDriftDetector
{
    private readonly EddmOptions _options;
    private long _t;
    private long _lastError;
    private long _errors;
    private double _mean;
    private double _m2;
    private double _max;

    /// <summary>Creates a detector; null options take the defaults.</summary>
    public Eddm(EddmOptions? options = null)
    {
        _options = options ?? new EddmOptions();
        _options.Validate();
    }

    /// <inheritdoc />
    public string Name => "eddm";

    /// <inheritdoc />
    public DetectorState State { get; private set; }

    /// <inheritdoc />
    public long Seen { get; private set; }

    /// <inheritdoc />
    public long Detections { get; private set; }

    /// <summary>Takes an error indicator; any value ≥ 0.5 counts as an error.</summary>
    public DetectorState Update(double value)
    {
        Checks.Unit(value);
        Seen++;
        _t++;
        if (value < 0.5)
        {
            // Only errors carry information; between them the state holds (a drift is reported once).
            if (State == DetectorState.Drift) State = DetectorState.Stable;
            return State;
        }
        _errors++;
        var distance = (double)(_t - _lastError);
        _lastError = _t;
        var delta = distance - _mean;
        _mean += delta / _errors;
        _m2 += delta * (distance - _mean);
        if (_errors < _options.MinErrors) return State = DetectorState.Stable;
        // The maximum is only taken from MinErrors errors on (MOA and river start it after 30 inputs, a handful of
        // errors): the mean and std of a few distances are noisy, a wide early spread sets a maximum the settled level
        // never comes back to, and the ratio then drifts below the threshold: a false alarm after every restart.
        var level = _mean + 2 * Math.Sqrt(_m2 / _errors);
        if (level >= _max)
        {
            _max = level;
            return State = DetectorState.Stable;
        }
        var ratio = level / _max;
        if (ratio < _options.DriftRatio)
        {
            Detections++;
            Restart();
            return State = DetectorState.Drift;
        }
        return State = ratio < _options.WarningRatio ? DetectorState.Warning : DetectorState.Stable;
    }

    private void Restart()
    {
        _t = 0;
        _lastError = 0;
        _errors = 0;
        _mean = 0;
        _m2 = 0;
        _max = 0;
    }

    /// <inheritdoc />
    public void Reset()
    {
        Restart();
        Seen = 0;
        Detections = 0;
        State = DetectorState.Stable;
    }
}

/// <summary>
/// Options of <see cref="PageHinkley"/>. The defaults are river's except λ = 150 (river: 50), which keeps a
/// long-running server to at most one false alarm per 100,000 inputs on steady error rates from 0.05 to 0.3 (chosen on
/// calibration streams by <c>bash bench/run-drift.sh --only calibrate</c>); river's λ = 50 (<see cref="Published"/>)
/// reacts about three times sooner and raises up to 8 false alarms on such a stream.
/// </summary>
public sealed record PageHinkleyOptions
{
    /// <summary>river's settings: λ = 50, δ = 0.005, forgetting 0.9999, 30 inputs first.</summary>
    public static PageHinkleyOptions Published { get; } = new() { Threshold = 50 };

    /// <summary>Inputs before any decision (default 30).</summary>
    public int MinInstances { get; init; } = 30;

    /// <summary>Magnitude of change tolerated (default 0.005).</summary>
    public double Delta { get; init; } = 0.005;

    /// <summary>λ: drift when the cumulative deviation rises this far above its minimum (default 150).</summary>
    public double Threshold { get; init; } = 150;

    /// <summary>Warning at this share of <see cref="Threshold"/> (default 0.5).</summary>
    public double WarningShare { get; init; } = 0.5;

    /// <summary>Forgetting factor of the cumulative sum (default 0.9999).</summary>
    public double Alpha { get; init; } = 1 - 0.0001;

    /// <summary>Checks every option and reports all problems at once.</summary>
    public void Validate() => Checks.Throw("Page-Hinkley", [
        Checks.Positive(nameof(MinInstances), MinInstances),
        Delta >= 0 ? null : $"Delta must not be negative, got {Delta}",
        Checks.Positive(nameof(Threshold), Threshold),
        WarningShare is > 0 and < 1 ? null : $"WarningShare must be in (0, 1), got {WarningShare}",
        Alpha is > 0 and <= 1 ? null : $"Alpha must be in (0, 1], got {Alpha}",
    ]);
}

/// <summary>
/// The Page–Hinkley test (Page 1954) for an increase in the mean of a stream: a cumulative sum of deviations from the
/// running mean, minus a tolerance, signals when it climbs λ above its lowest point.
/// </summary>
public sealed class PageHinkley : IConceptDriftDetector
{
    private readonly PageHinkleyOptions _options;
    private long _n;
    private double _mean;
    private double _sum;
    private double _min;

    /// <summary>Creates a detector; null options take the defaults.</summary>
    public PageHinkley(PageHinkleyOptions? options = null)
    {
        _options = options ?? new PageHinkleyOptions();
        _options.Validate();
    }

    /// <inheritdoc />
    public string Name => "page-hinkley";

    /// <inheritdoc />
    public DetectorState State { get; private set; }

    /// <inheritdoc />
    public long Seen { get; private set; }

    /// <inheritdoc />
    public long Detections { get; private set; }

    /// <summary>Takes one value of the monitored stream (an error indicator or a loss).</summary>
    public DetectorState Update(double value)
    {
        Checks.Finite(value);
        Seen++;
        _n++;
        _mean += (value - _mean) / _n;
        _sum = _options.Alpha * _sum + (value - _mean - _options.Delta);
        if (_sum < _min) _min = _sum;
        if (_n < _options.MinInstances) return State = DetectorState.Stable;
        var rise = _sum - _min;
        if (rise > _options.Threshold)
        {
            Detections++;
            Restart();
            return State = DetectorState.Drift;
        }
        return State = rise > _options.WarningShare * _options.Threshold ? DetectorState.Warning : DetectorState.Stable;
    }

    private void Restart()
    {
        _n = 0;
        _mean = 0;
        _sum = 0;
        _min = 0;
    }

    /// <inheritdoc />
    public void Reset()
    {
        Restart();
        Seen = 0;
        Detections = 0;
        State = DetectorState.Stable;
    }
}

/// <summary>Argument checks shared by the detectors.</summary>
internal static class Checks
{
    internal static string? Positive(string name, double value) =>
        value > 0 && double.IsFinite(value) ? null : $"{name} must be positive, got {value}";

    internal static void Throw(string what, string?[] problems)
    {
        var real = problems.Where(p => p is not null).ToArray();
        if (real.Length > 0) throw new UsageException($"invalid {what} options: " + string.Join("; ", real));
    }

    internal static void Unit(double value)
    {
        if (!(value is >= 0 and <= 1)) throw new ArgumentOutOfRangeException(nameof(value), value, "an error indicator lies in [0, 1]");
    }

    internal static void Finite(double value)
    {
        if (!double.IsFinite(value)) throw new ArgumentOutOfRangeException(nameof(value), value, "the stream's values must be finite");
    }
}
