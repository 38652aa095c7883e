using Forge.Core;

namespace Forge.Tuning;

/// <summary>Options of <see cref="SuccessiveHalvingPruner"/>.</summary>
public sealed record SuccessiveHalvingOptions
{
    /// <summary>
    /// The steps of the first rung; null (default) estimates it once from the first completed trial as its last step / 100
    /// (at least 1). Give it explicitly when several workers share a study, so they all use the same rungs.
    /// </summary>
    public long? MinResource { get; init; }

    /// <summary>η: a trial is promoted from a rung when it is in the top 1/η of the trials that reached it (default 4).</summary>
    public int ReductionFactor { get; init; } = 4;

    /// <summary>s: the first rung is at MinResource·η^s steps (default 0).</summary>
    public int MinEarlyStoppingRate { get; init; }

    /// <summary>A trial is pruned at a rung until more than this many trials reached it (default 0).</summary>
    public int BootstrapCount { get; init; }

    /// <summary>Reports every problem at once as a <see cref="UsageException"/>.</summary>
    public void Validate()
    {
        var problems = new List<string>();
        if (MinResource is < 1) problems.Add("MinResource must be at least 1");
        if (ReductionFactor < 2) problems.Add("ReductionFactor must be at least 2");
        if (MinEarlyStoppingRate < 0) problems.Add("MinEarlyStoppingRate cannot be negative");
        if (BootstrapCount < 0) problems.Add("BootstrapCount cannot be negative");
        if (problems.Count > 0) throw new UsageException("successive halving options: " + string.Join("; ", problems));
    }
}

/// <summary>
/// Asynchronous successive halving (ASHA): rung k sits at MinResource·η^(s+k) steps; a trial reaching a rung goes on
/// only if its value there is in the top 1/η of the values all trials had at that rung (the first η-1 trials must be the
/// best so far). Rung values are read from the trials' intermediate values (a trial's value at a rung is its first
/// report at or after the rung's step), so this pruner writes nothing and any number of workers can share a study.
/// It assumes the objective calls <see cref="Trial.ShouldPrune"/> after every report, as the ASHA paper's workers do.
/// </summary>
public sealed class SuccessiveHalvingPruner : IPruner
{
    private readonly SuccessiveHalvingOptions _o;
    private long? _minResource;
    private readonly Func<FrozenTrial, bool>? _member;

    /// <summary>Creates the pruner (options validated).</summary>
    public SuccessiveHalvingPruner(SuccessiveHalvingOptions? options = null) : this(options, null) { }

    internal SuccessiveHalvingPruner(SuccessiveHalvingOptions? options, Func<FrozenTrial, bool>? member)
    {
        _o = options ?? new SuccessiveHalvingOptions();
        _o.Validate();
        _minResource = _o.MinResource;
        _member = member;
    }

    /// <inheritdoc />
    public bool Prune(StudySnapshot study, FrozenTrial trial)
    {
        ArgumentNullException.ThrowIfNull(study);
        ArgumentNullException.ThrowIfNull(trial);
        if (trial.LastStep is not { } step) return false;
        _minResource ??= EstimateMinResource(study.Trials);
        if (_minResource is not { } minResource) return false;
        var value = trial.IntermediateValues.LastValue;
        long previousStep = -1;
        foreach (var s in trial.IntermediateValues.Keys) if (s < step && s > previousStep) previousStep = s;
        for (var rung = 0; ; rung++)
        {
            var rungStep = RungStep(minResource, rung);
            if (step < rungStep) return false;
            // This rung was reached at an earlier report and judged then: a promotion is never taken back.
            if (previousStep >= rungStep) continue;
            if (double.IsNaN(value)) return true;
            var competing = new List<double> { value };
            foreach (var other in study.Trials)
            {
                if (other.Number == trial.Number || (_member is not null && !_member(other))) continue;
                if (other.IntermediateValues.FirstAtOrAfter(rungStep) is { } reached && !double.IsNaN(reached.Value)) competing.Add(reached.Value);
            }
            if (competing.Count <= _o.BootstrapCount) return true;
            if (!IsPromotable(value, competing, study.Direction)) return true;
        }
    }

    private long RungStep(long minResource, int rung)
    {
        var steps = (double)minResource * Math.Pow(_o.ReductionFactor, _o.MinEarlyStoppingRate + rung);
        return steps >= long.MaxValue ? long.MaxValue : (long)steps;
    }

    private bool IsPromotable(double value, List<double> competing, StudyDirection direction)
    {
        var index = (competing.Count / _o.ReductionFactor) - 1;
        // Fewer than η trials at the rung: no trial can be suspended and resumed later, so only the best so far goes on.
        if (index == -1) index = 0;
        competing.Sort();
        return direction == StudyDirection.Maximize ? value >= competing[^(index + 1)] : value <= competing[index];
    }

    internal static long? EstimateMinResource(IReadOnlyList<FrozenTrial> trials)
    {
        long? last = null;
        foreach (var t in trials)
        {
            if (t.State == TrialState.Complete && t.LastStep is { } s && (last is null || s > last)) last = s;
        }
        return last is { } max ? Math.Max(max / 100, 1) : null;
    }
}

/// <summary>How <see cref="HyperbandPruner"/> deals trials to its brackets.</summary>
public enum BracketAssignment
{
    /// <summary>
    /// By trial number, in a fixed interleaving that keeps every prefix of trials within one trial of each bracket's share of
    /// the budget (the share Hyperband's paper gives it). Over a small study each bracket gets its share, so the saving does
    /// not depend on the luck of a hash; trial numbers are unique across workers, so workers still agree without talking.
    /// </summary>
    Interleaved,

    /// <summary>Optuna's rule: CRC-32 of "studyName_number" modulo the total budget, so a study assigns as Optuna's would.</summary>
    Hash,
}

/// <summary>Options of <see cref="HyperbandPruner"/>.</summary>
public sealed record HyperbandOptions
{
    /// <summary>The steps of the first rung of the most aggressive bracket (default 1).</summary>
    public long MinResource { get; init; } = 1;

    /// <summary>The most steps a trial runs (its last step + 1); null (default) takes it from the first completed trial.</summary>
    public long? MaxResource { get; init; }

    /// <summary>η (default 3).</summary>
    public int ReductionFactor { get; init; } = 3;

    /// <summary>Passed to each bracket's successive halving (default 0).</summary>
    public int BootstrapCount { get; init; }

    /// <summary>How trials are dealt to brackets (default <see cref="BracketAssignment.Interleaved"/>).</summary>
    public BracketAssignment Assignment { get; init; } = BracketAssignment.Interleaved;

    /// <summary>Reports every problem at once as a <see cref="UsageException"/>.</summary>
    public void Validate()
    {
        var problems = new List<string>();
        if (MinResource < 1) problems.Add("MinResource must be at least 1");
        if (MaxResource is { } max && max < MinResource) problems.Add("MaxResource must be at least MinResource");
        if (ReductionFactor < 2) problems.Add("ReductionFactor must be at least 2");
        if (BootstrapCount < 0) problems.Add("BootstrapCount cannot be negative");
        if (!Enum.IsDefined(Assignment)) problems.Add($"Assignment {(int)Assignment} is not a bracket assignment");
        if (problems.Count > 0) throw new UsageException("hyperband options: " + string.Join("; ", problems));
    }
}

/// <summary>
/// Hyperband: several successive-halving brackets, from aggressive (first rung at MinResource) to none (every trial
/// runs to MaxResource), so a bad guess of how early curves can be judged costs less. Each trial belongs to one
/// bracket, in proportion to the bracket's budget (see <see cref="BracketAssignment"/>), and competes only with trials of
/// its bracket.
/// </summary>
public sealed class HyperbandPruner : IPruner
{
    private readonly HyperbandOptions _o;
    private SuccessiveHalvingPruner[]? _brackets;
    private int[] _budgets = [];
    private int _totalBudget;
    private int[] _interleaving = [];
    private string? _studyName;

    /// <summary>Creates the pruner (options validated).</summary>
    public HyperbandPruner(HyperbandOptions? options = null)
    {
        _o = options ?? new HyperbandOptions();
        _o.Validate();
    }

    /// <summary>The number of brackets, once known (it needs MaxResource).</summary>
    public int? BracketCount => _brackets?.Length;

    /// <inheritdoc />
    public bool Prune(StudySnapshot study, FrozenTrial trial)
    {
        ArgumentNullException.ThrowIfNull(study);
        ArgumentNullException.ThrowIfNull(trial);
        if (_brackets is null && !Initialise(study)) return false;
        return _brackets![BracketOf(study.StudyName, trial.Number)].Prune(study, trial);
    }

    private bool Initialise(StudySnapshot study)
    {
        var max = _o.MaxResource;
        if (max is null)
        {
            long? last = null;
            foreach (var t in study.Trials)
            {
                if (t.State == TrialState.Complete && t.LastStep is { } s && (last is null || s > last)) last = s;
            }
            if (last is null) return false;
            max = last + 1;
        }
        // Same arithmetic as Optuna (no tolerance), so both agree on the bracket count.
        var n = (int)Math.Floor(Math.Log((double)max.Value / _o.MinResource, _o.ReductionFactor)) + 1;
        _studyName = study.StudyName;
        _budgets = new int[n];
        _brackets = new SuccessiveHalvingPruner[n];
        for (var b = 0; b < n; b++)
        {
            var s = n - 1 - b;
            _budgets[b] = (int)Math.Ceiling(n * Math.Pow(_o.ReductionFactor, s) / (s + 1));
            _totalBudget += _budgets[b];
            var bracket = b;
            _brackets[b] = new SuccessiveHalvingPruner(
                new SuccessiveHalvingOptions { MinResource = _o.MinResource, ReductionFactor = _o.ReductionFactor, MinEarlyStoppingRate = b, BootstrapCount = _o.BootstrapCount },
                t => BracketOf(_studyName!, t.Number) == bracket);
        }
        _interleaving = Interleave(_budgets);
        return true;
    }

    /// <summary>
    /// One period of the interleaved assignment: slot j goes to the bracket furthest below its share of the first j + 1
    /// trials (budget·(j + 1)/total − trials so far; ties to the more aggressive bracket). After a whole period every
    /// bracket holds exactly its budget, so the pattern repeats.
    /// </summary>
    internal static int[] Interleave(int[] budgets)
    {
        var total = budgets.Sum();
        var counts = new int[budgets.Length];
        var slots = new int[total];
        for (var j = 0; j < total; j++)
        {
            var pick = 0;
            // Compared scaled by the total, in integers: budget·(j + 1) − count·total.
            long Deficit(int b) => ((long)budgets[b] * (j + 1)) - ((long)counts[b] * total);
            for (var b = 1; b < budgets.Length; b++) if (Deficit(b) > Deficit(pick)) pick = b;
            counts[pick]++;
            slots[j] = pick;
        }
        return slots;
    }

    /// <summary>The bracket of a trial under the configured <see cref="BracketAssignment"/>.</summary>
    internal int BracketOf(string studyName, int number) =>
        _o.Assignment == BracketAssignment.Hash ? HashedBracket(studyName, number) : _interleaving[number % _interleaving.Length];

    /// <summary>Optuna's bracket: CRC-32 of "studyName_number" modulo the total budget, walked through the budgets.</summary>
    private int HashedBracket(string studyName, int number)
    {
        var n = (long)(Crc32.Compute(System.Text.Encoding.UTF8.GetBytes($"{studyName}_{number.ToString(System.Globalization.CultureInfo.InvariantCulture)}")) % (uint)_totalBudget);
        for (var b = 0; b < _budgets.Length; b++)
        {
            n -= _budgets[b];
            if (n < 0) return b;
        }
        return _budgets.Length - 1;
    }
}

/// <summary>CRC-32 (IEEE 802.3, the zlib polynomial), for Hyperband's bracket assignment.</summary>
internal static class Crc32
{
    private static readonly uint[] Table = CreateTable();

    private static uint[] CreateTable()
    {
        var table = new uint[256];
        for (uint i = 0; i < 256; i++)
        {
            var c = i;
            for (var k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            table[i] = c;
        }
        return table;
    }

    public static uint Compute(ReadOnlySpan<byte> data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data) crc = Table[(crc ^ b) & 0xFF] ^ (crc >> 8);
        return crc ^ 0xFFFFFFFFu;
    }
}
