using System.Globalization;
using Forge.Core;

namespace Forge.Tuning;

/// <summary>
/// Decides from intermediate values whether a running trial should stop. A pruner is one class with one job and sees
/// only read-only snapshots; the study serialises calls to it.
/// </summary>
public interface IPruner
{
    /// <summary>True when <paramref name="trial"/> (whose last reported value is its latest) should be pruned.</summary>
    bool Prune(StudySnapshot study, FrozenTrial trial);
}

/// <summary>Never prunes.</summary>
public sealed class NopPruner : IPruner
{
    /// <inheritdoc />
    public bool Prune(StudySnapshot study, FrozenTrial trial) => false;
}

/// <summary>Options of <see cref="PercentilePruner"/> and <see cref="MedianPruner"/>.</summary>
public sealed record PercentilePrunerOptions
{
    /// <summary>Keep trials whose best value so far is within this top percentile at the same step (default 25; the median pruner uses 50).</summary>
    public double Percentile { get; init; } = 25;

    /// <summary>No pruning until this many trials have completed (default 5).</summary>
    public int StartupTrials { get; init; } = 5;

    /// <summary>No pruning before this step of a trial (default 0).</summary>
    public long WarmupSteps { get; init; }

    /// <summary>Judge only once per this many steps after the warm-up (default 1: every step).</summary>
    public long IntervalSteps { get; init; } = 1;

    /// <summary>Judge a step only when at least this many completed trials reported it (default 1).</summary>
    public int MinTrials { get; init; } = 1;

    /// <summary>Reports every problem at once as a <see cref="UsageException"/>.</summary>
    public void Validate()
    {
        var problems = new List<string>();
        if (!(Percentile is >= 0 and <= 100)) problems.Add($"Percentile must be within [0, 100] (got {Percentile.ToString(CultureInfo.InvariantCulture)})");
        if (StartupTrials < 0) problems.Add("StartupTrials cannot be negative");
        if (WarmupSteps < 0) problems.Add("WarmupSteps cannot be negative");
        if (IntervalSteps < 1) problems.Add("IntervalSteps must be at least 1");
        if (MinTrials < 1) problems.Add("MinTrials must be at least 1");
        if (problems.Count > 0) throw new UsageException("pruner options: " + string.Join("; ", problems));
    }
}

/// <summary>
/// Prunes a trial whose best intermediate value so far is worse than the given percentile of the completed trials'
/// values at the same step.
/// </summary>
public sealed class PercentilePruner : IPruner
{
    private readonly PercentilePrunerOptions _o;

    /// <summary>Creates the pruner (options validated).</summary>
    public PercentilePruner(PercentilePrunerOptions? options = null)
    {
        _o = options ?? new PercentilePrunerOptions();
        _o.Validate();
    }

    /// <inheritdoc />
    public bool Prune(StudySnapshot study, FrozenTrial trial)
    {
        ArgumentNullException.ThrowIfNull(study);
        ArgumentNullException.ThrowIfNull(trial);
        var completed = 0;
        foreach (var t in study.Trials) if (t.State == TrialState.Complete) completed++;
        if (completed == 0 || completed < _o.StartupTrials) return false;
        if (trial.LastStep is not { } step || step < _o.WarmupSteps) return false;
        if (!IsFirstInInterval(trial, step)) return false;
        var maximize = study.Direction == StudyDirection.Maximize;
        var best = BestSoFar(trial.IntermediateValues.Values, maximize);
        if (double.IsNaN(best)) return true;
        var atStep = new List<double>();
        foreach (var t in study.Trials)
        {
            if (t.State == TrialState.Complete && t.IntermediateValues.TryGetValue(step, out var v)) atStep.Add(v);
        }
        if (atStep.Count < _o.MinTrials) return false;
        var threshold = Percentile(atStep, maximize ? 100 - _o.Percentile : _o.Percentile);
        if (double.IsNaN(threshold)) return false;
        return maximize ? best < threshold : best > threshold;
    }

    /// <summary>Only the first report at or after each interval boundary is judged (later reports in the same interval are not).</summary>
    private bool IsFirstInInterval(FrozenTrial trial, long step)
    {
        var nearestLower = ((step - _o.WarmupSteps) / _o.IntervalSteps * _o.IntervalSteps) + _o.WarmupSteps;
        long secondLast = -1;
        foreach (var s in trial.IntermediateValues.Keys) if (s != step && s > secondLast) secondLast = s;
        return secondLast < nearestLower;
    }

    private static double BestSoFar(IEnumerable<double> values, bool maximize)
    {
        var best = double.NaN;
        foreach (var v in values)
        {
            if (double.IsNaN(v)) continue;
            if (double.IsNaN(best) || (maximize ? v > best : v < best)) best = v;
        }
        return best;
    }

    /// <summary>The q-th percentile with linear interpolation between order statistics, NaNs left out (numpy's nanpercentile).</summary>
    internal static double Percentile(IEnumerable<double> values, double q)
    {
        var sorted = values.Where(v => !double.IsNaN(v)).Order().ToArray();
        if (sorted.Length == 0) return double.NaN;
        var rank = q / 100.0 * (sorted.Length - 1);
        var lower = (int)Math.Floor(rank);
        var upper = Math.Min(lower + 1, sorted.Length - 1);
        var fraction = rank - lower;
        return sorted[lower] + (fraction * (sorted[upper] - sorted[lower]));
    }
}

/// <summary>Options of <see cref="MedianPruner"/>.</summary>
public sealed record MedianPrunerOptions
{
    /// <summary>No pruning until this many trials have completed (default 5).</summary>
    public int StartupTrials { get; init; } = 5;

    /// <summary>No pruning before this step of a trial (default 0).</summary>
    public long WarmupSteps { get; init; }

    /// <summary>Judge only once per this many steps after the warm-up (default 1).</summary>
    public long IntervalSteps { get; init; } = 1;

    /// <summary>Judge a step only when at least this many completed trials reported it (default 1).</summary>
    public int MinTrials { get; init; } = 1;
}

/// <summary>Prunes a trial whose best intermediate value so far is worse than the median of completed trials at the same step.</summary>
public sealed class MedianPruner : IPruner
{
    private readonly PercentilePruner _inner;

    /// <summary>Creates the pruner (options validated).</summary>
    public MedianPruner(MedianPrunerOptions? options = null)
    {
        var o = options ?? new MedianPrunerOptions();
        _inner = new PercentilePruner(new PercentilePrunerOptions
        {
            Percentile = 50,
            StartupTrials = o.StartupTrials,
            WarmupSteps = o.WarmupSteps,
            IntervalSteps = o.IntervalSteps,
            MinTrials = o.MinTrials,
        });
    }

    /// <inheritdoc />
    public bool Prune(StudySnapshot study, FrozenTrial trial) => _inner.Prune(study, trial);
}
