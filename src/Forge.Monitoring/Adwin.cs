using Forge.Core;

namespace Forge.Monitoring;

/// <summary>Options of <see cref="Adwin"/>; δ = 0.002 is Bifet &amp; Gavaldà's default.</summary>
public sealed record AdwinOptions
{
    /// <summary>Confidence δ of a cut: smaller means fewer false alarms and later detection (default 0.002).</summary>
    public double Delta { get; init; } = 0.002;

    /// <summary>A split that passes the test at this looser δ, but not at <see cref="Delta"/>, is a warning (default 0.02).</summary>
    public double WarningDelta { get; init; } = 0.02;

    /// <summary>Buckets per size in the exponential histogram, M (default 5): memory and split points grow with it.</summary>
    public int MaxBuckets { get; init; } = 5;

    /// <summary>Smallest sub-window on either side of a split (default 5).</summary>
    public int MinSubWindow { get; init; } = 5;

    /// <summary>Look for a cut every this many inputs (default 1: every input, the earliest detection).</summary>
    public int CheckEvery { get; init; } = 1;

    /// <summary>Checks every option and reports all problems at once.</summary>
    public void Validate() => Checks.Throw("ADWIN", [
        Delta is > 0 and < 1 ? null : $"Delta must be in (0, 1), got {Delta}",
        WarningDelta > Delta && WarningDelta < 1 ? null : $"WarningDelta ({WarningDelta}) must be in (Delta, 1)",
        MaxBuckets >= 2 ? null : $"MaxBuckets must be at least 2, got {MaxBuckets}",
        Checks.Positive(nameof(MinSubWindow), MinSubWindow),
        Checks.Positive(nameof(CheckEvery), CheckEvery),
    ]);
}

/// <summary>
/// ADWIN (Bifet &amp; Gavaldà 2007, the exponential-histogram version ADWIN2): keeps a window of recent values whose
/// length adapts — whenever two sub-windows have means that differ by more than
/// ε = √(2·σ²_W·ln(2/δ′)/m) + 2·ln(2/δ′)/(3m), with 1/m = 1/n0 + 1/n1 and δ′ = δ/ln W, the older part is dropped and a
/// drift is reported. Memory is O(M·log W) buckets.
/// </summary>
public sealed class Adwin : IConceptDriftDetector
{
    private readonly AdwinOptions _options;
    private readonly List<List<Bucket>> _levels = [];
    private double _total;
    private double _m2;
    private long _sinceCheck;

    private readonly record struct Bucket(double Sum, double M2);

    /// <summary>Creates a detector; null options take the defaults.</summary>
    public Adwin(AdwinOptions? options = null)
    {
        _options = options ?? new AdwinOptions();
        _options.Validate();
    }

    /// <inheritdoc />
    public string Name => "adwin";

    /// <inheritdoc />
    public DetectorState State { get; private set; }

    /// <inheritdoc />
    public long Seen { get; private set; }

    /// <inheritdoc />
    public long Detections { get; private set; }

    /// <summary>Length of the current window.</summary>
    public long Width { get; private set; }

    /// <summary>Mean of the current window (the stream's current level).</summary>
    public double Mean => Width == 0 ? 0 : _total / Width;

    /// <summary>Buckets held: the detector's memory.</summary>
    public int BucketCount => _levels.Sum(l => l.Count);

    /// <summary>Takes one value of the stream (an error indicator, or any bounded real value).</summary>
    public DetectorState Update(double value)
    {
        Checks.Finite(value);
        Seen++;
        Insert(value);
        State = DetectorState.Stable;
        if (++_sinceCheck < _options.CheckEvery) return State;
        _sinceCheck = 0;
        var warned = false;
        var cut = false;
        while (FindCut(ref warned)) cut = true;
        if (cut)
        {
            Detections++;
            return State = DetectorState.Drift;
        }
        return State = warned ? DetectorState.Warning : DetectorState.Stable;
    }

    private void Insert(double value)
    {
        if (Width > 0)
        {
            var oldMean = _total / Width;
            var newMean = (_total + value) / (Width + 1);
            _m2 += (value - oldMean) * (value - newMean);
        }
        Width++;
        _total += value;
        if (_levels.Count == 0) _levels.Add([]);
        _levels[0].Add(new Bucket(value, 0));
        for (var level = 0; level < _levels.Count; level++)
        {
            var buckets = _levels[level];
            if (buckets.Count <= _options.MaxBuckets) break;
            // The two oldest buckets of a size merge into one of twice the size, the newest of the next level.
            double size = 1L << level;
            var a = buckets[0];
            var b = buckets[1];
            var delta = a.Sum / size - b.Sum / size;
            var merged = new Bucket(a.Sum + b.Sum, a.M2 + b.M2 + delta * delta * size / 2);
            buckets.RemoveRange(0, 2);
            if (level + 1 == _levels.Count) _levels.Add([]);
            _levels[level + 1].Add(merged);
        }
    }

    /// <summary>Scans every split between buckets from the oldest; drops the oldest bucket when a split shows a change.</summary>
    private bool FindCut(ref bool warned)
    {
        var minimum = _options.MinSubWindow;
        if (Width < 2 * minimum) return false;
        var variance = _m2 / Width;
        var logW = Math.Log(Width);
        var dd = Math.Log(2 * logW / _options.Delta);
        var ddWarning = Math.Log(2 * logW / _options.WarningDelta);
        double n0 = 0, s0 = 0;
        for (var level = _levels.Count - 1; level >= 0; level--)
        {
            double size = 1L << level;
            foreach (var bucket in _levels[level])
            {
                n0 += size;
                s0 += bucket.Sum;
                var n1 = Width - n0;
                if (n1 < minimum) return false;
                if (n0 < minimum) continue;
                var diff = Math.Abs(s0 / n0 - (_total - s0) / n1);
                var m = 1 / (n0 - minimum + 1) + 1 / (n1 - minimum + 1);
                if (diff > Epsilon(m, variance, dd))
                {
                    RemoveOldest();
                    return true;
                }
                if (diff > Epsilon(m, variance, ddWarning)) warned = true;
            }
        }
        return false;
    }

    private static double Epsilon(double m, double variance, double dd) => Math.Sqrt(2 * m * variance * dd) + 2.0 / 3 * dd * m;

    private void RemoveOldest()
    {
        var top = _levels.Count - 1;
        var bucket = _levels[top][0];
        _levels[top].RemoveAt(0);
        if (_levels[top].Count == 0) _levels.RemoveAt(top);
        double size = 1L << top;
        var restWidth = Width - size;
        var restTotal = _total - bucket.Sum;
        if (restWidth <= 0)
        {
            _m2 = 0;
        }
        else
        {
            // Chan's combination run backwards: M2(all) = M2(bucket) + M2(rest) + δ²·n_b·n_r/n.
            var delta = bucket.Sum / size - restTotal / restWidth;
            _m2 = Math.Max(0, _m2 - bucket.M2 - delta * delta * size * restWidth / Width);
        }
        Width = (long)restWidth;
        _total = restTotal;
    }

    /// <inheritdoc />
    public void Reset()
    {
        _levels.Clear();
        _total = 0;
        _m2 = 0;
        _sinceCheck = 0;
        Width = 0;
        Seen = 0;
        Detections = 0;
        State = DetectorState.Stable;
    }
}
