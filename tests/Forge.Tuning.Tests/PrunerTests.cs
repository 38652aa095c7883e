using System.Text.Json;
using Forge.Core;

namespace Forge.Tuning.Tests;

/// <summary>
/// Pruners on hand-made learning curves: each decision (the step at which a trial is pruned, or never) matches Optuna
/// 3.1 run on the same curves (golden/pruners.json), maximising and minimising.
/// </summary>
public sealed class PrunerTests
{
    private static readonly JsonElement Data = Golden.Load("pruners.json");

    private static IPruner Make(string name) => name switch
    {
        "median" => new MedianPruner(new MedianPrunerOptions { StartupTrials = 2, WarmupSteps = 1 }),
        "median-interval" => new MedianPruner(new MedianPrunerOptions { StartupTrials = 1, WarmupSteps = 2, IntervalSteps = 3 }),
        "percentile25" => new PercentilePruner(new PercentilePrunerOptions { Percentile = 25, StartupTrials = 2 }),
        "asha" => new SuccessiveHalvingPruner(new SuccessiveHalvingOptions { MinResource = 1, ReductionFactor = 3 }),
        "asha-rate1-bootstrap" => new SuccessiveHalvingPruner(new SuccessiveHalvingOptions { MinResource = 2, ReductionFactor = 2, MinEarlyStoppingRate = 1, BootstrapCount = 1 }),
        "hyperband" => new HyperbandPruner(new HyperbandOptions { MinResource = 1, MaxResource = 27, ReductionFactor = 3, Assignment = BracketAssignment.Hash }),
        _ => throw new ArgumentException(name),
    };

    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (var c in Data.GetProperty("cases").EnumerateArray()) data.Add(c.GetProperty("pruner").GetString()!, c.GetProperty("direction").GetString()!);
        return data;
    }

    /// <summary>Runs every curve as a trial (report, ask the pruner, stop when told) and returns the step each was pruned at.</summary>
    internal static List<int?> Run(IPruner pruner, StudyDirection direction, double[][] curves, string name = "pruned")
    {
        var study = Study.Create(new StudyOptions { Name = name, Direction = direction, Pruner = pruner, Sampler = new RandomSampler(0) });
        var sign = direction == StudyDirection.Maximize ? 1 : -1;
        var prunedAt = new List<int?>();
        foreach (var curve in curves)
        {
            var trial = study.Ask();
            int? stop = null;
            for (var step = 0; step < curve.Length; step++)
            {
                trial.Report(step, sign * curve[step]);
                if (trial.ShouldPrune())
                {
                    stop = step;
                    break;
                }
            }
            if (stop is null) study.Tell(trial, sign * curve[^1]);
            else study.Tell(trial, TrialState.Pruned);
            prunedAt.Add(stop);
        }
        return prunedAt;
    }

    [Theory, MemberData(nameof(Cases))]
    public void Decisions_match_optuna_on_hand_made_curves(string pruner, string direction)
    {
        var curves = Data.GetProperty("curves").EnumerateArray().Select(c => c.Doubles()).ToArray();
        var expected = Data.GetProperty("cases").EnumerateArray()
            .Single(c => c.GetProperty("pruner").GetString() == pruner && c.GetProperty("direction").GetString() == direction)
            .GetProperty("prunedAt").EnumerateArray().Select(v => v.ValueKind == JsonValueKind.Null ? (int?)null : v.GetInt32()).ToList();
        var actual = Run(Make(pruner), direction == "maximize" ? StudyDirection.Maximize : StudyDirection.Minimize, curves);
        Assert.Equal(expected, actual);
        // The golden cases prune some trials and keep others, so a pruner that always or never prunes fails them.
        Assert.Contains(expected, e => e is null);
        Assert.Contains(expected, e => e is not null);
    }

    [Fact]
    public void Hyperband_assigns_brackets_as_optuna_does()
    {
        var golden = Data.GetProperty("hyperbandBrackets");
        var pruner = new HyperbandPruner(new HyperbandOptions { MinResource = 1, MaxResource = 81, ReductionFactor = 3, Assignment = BracketAssignment.Hash });
        var study = new StudySnapshot("brackets", StudyDirection.Minimize, []);
        // One call initialises the brackets (no step reported: nothing to judge).
        Assert.False(pruner.Prune(study, Trials.Make(0, TrialState.Running)));
        Assert.Equal(5, pruner.BracketCount);
        var expected = golden.GetProperty("brackets").EnumerateArray().Select(v => v.GetInt32()).ToArray();
        for (var n = 0; n < expected.Length; n++) Assert.Equal(expected[n], pruner.BracketOf("brackets", n));
    }

    [Fact]
    public void Hyperband_interleaves_brackets_by_trial_number_in_proportion_to_their_budgets()
    {
        // MaxResource 9, η = 3: brackets with rungs {1, 3, 9}, {3, 9}, {9} and budgets ⌈3·3^s/(s+1)⌉ = 9, 5, 3.
        var pruner = new HyperbandPruner(new HyperbandOptions { MaxResource = 9 });
        Assert.False(pruner.Prune(new StudySnapshot("a", StudyDirection.Maximize, []), Trials.Make(0, TrialState.Running)));
        Assert.Equal(3, pruner.BracketCount);
        // Worked by hand: each slot goes to the bracket furthest below its share so far, ties to the lower bracket.
        int[] period = [0, 1, 0, 2, 0, 1, 0, 2, 0, 1, 0, 1, 0, 2, 0, 1, 0];
        Assert.Equal(period, Enumerable.Range(0, 17).Select(n => pruner.BracketOf("a", n)));
        // The pattern repeats, and the study name plays no part (unlike Optuna's hash).
        Assert.Equal(period, Enumerable.Range(17, 17).Select(n => pruner.BracketOf("another study", n)));
        Assert.Equal(period, HyperbandPruner.Interleave([9, 5, 3]));
        // Every prefix holds each bracket's share to within one trial.
        var big = HyperbandPruner.Interleave([81, 34, 15, 8, 5]);
        int[] budgets = [81, 34, 15, 8, 5];
        for (var j = 1; j <= big.Length; j++)
            for (var b = 0; b < 5; b++)
            {
                var count = big.Take(j).Count(x => x == b);
                Assert.True(Math.Abs(count - (budgets[b] * j / 143.0)) < 1, $"bracket {b} after {j} trials: {count}");
            }
        Assert.Equal(budgets, Enumerable.Range(0, 5).Select(b => big.Count(x => x == b)));
    }

    [Fact]
    public void Crc32_matches_the_zlib_check_value() =>
        Assert.Equal(0xCBF43926u, Crc32.Compute("123456789"u8));

    [Fact]
    public void Nop_pruner_never_prunes()
    {
        var curves = Data.GetProperty("curves").EnumerateArray().Select(c => c.Doubles()).ToArray();
        Assert.All(Run(new NopPruner(), StudyDirection.Maximize, curves), p => Assert.Null(p));
    }

    [Fact]
    public void Median_pruner_prunes_a_curve_below_the_median_and_keeps_one_above()
    {
        // Three completed trials reported 0.5, 0.6, 0.7 at step 3 (minimising): the median is 0.6.
        var done = new[] { 0.5, 0.6, 0.7 }.Select((v, i) => Trials.Make(i, TrialState.Complete, v, (3, v))).ToList();
        var study = new StudySnapshot("s", StudyDirection.Minimize, done);
        var pruner = new MedianPruner(new MedianPrunerOptions { StartupTrials = 3 });
        Assert.True(pruner.Prune(study, Trials.Make(3, TrialState.Running, null, (3, 0.65))));
        Assert.False(pruner.Prune(study, Trials.Make(3, TrialState.Running, null, (3, 0.55))));
        Assert.False(pruner.Prune(study, Trials.Make(3, TrialState.Running, null, (3, 0.6))));
        // The best value so far counts: a good earlier step saves a bad current one.
        Assert.False(pruner.Prune(study, Trials.Make(3, TrialState.Running, null, (1, 0.1), (3, 0.9))));
        // A NaN-only trial is pruned; a step nobody else reported cannot be judged.
        Assert.True(pruner.Prune(study, Trials.Make(3, TrialState.Running, null, (3, double.NaN))));
        Assert.False(pruner.Prune(study, Trials.Make(3, TrialState.Running, null, (4, 9.0))));
        // Too few completed trials: no pruning yet.
        var early = new MedianPruner(new MedianPrunerOptions { StartupTrials = 4 });
        Assert.False(early.Prune(study, Trials.Make(3, TrialState.Running, null, (3, 0.65))));
        // Before the warm-up ends: no pruning.
        var warm = new MedianPruner(new MedianPrunerOptions { StartupTrials = 3, WarmupSteps = 4 });
        Assert.False(warm.Prune(study, Trials.Make(3, TrialState.Running, null, (3, 0.65))));
        // Min trials: three reported step 3, so a requirement of four suspends judgement.
        var strict = new MedianPruner(new MedianPrunerOptions { StartupTrials = 3, MinTrials = 4 });
        Assert.False(strict.Prune(study, Trials.Make(3, TrialState.Running, null, (3, 0.65))));
        // Nothing reported: nothing to judge.
        Assert.False(pruner.Prune(study, Trials.Make(3, TrialState.Running)));
    }

    [Fact]
    public void Percentile_interpolates_between_order_statistics_like_numpy()
    {
        Assert.Equal(2.5, PercentilePruner.Percentile([4, 1, 3, 2], 50));
        Assert.Equal(1.75, PercentilePruner.Percentile([4, 1, 3, 2], 25));
        Assert.Equal(4.0, PercentilePruner.Percentile([4, 1, 3, 2, double.NaN], 100));
        Assert.Equal(1.0, PercentilePruner.Percentile([4, 1, 3, 2], 0));
        Assert.True(double.IsNaN(PercentilePruner.Percentile([double.NaN], 50)));
    }

    [Fact]
    public void Successive_halving_promotes_the_top_third_and_never_takes_a_promotion_back()
    {
        // η = 3, rungs at steps 1, 3, 9. Six finished trials reached rung 0 (step 1) with 0.1 … 0.6 (minimising).
        var others = Enumerable.Range(0, 6).Select(i => Trials.Make(i, TrialState.Complete, 1.0, (1, 0.1 * (i + 1)))).ToList();
        var study = new StudySnapshot("s", StudyDirection.Minimize, others);
        var pruner = new SuccessiveHalvingPruner(new SuccessiveHalvingOptions { MinResource = 1, ReductionFactor = 3 });
        // With itself, 7 values: the top ⌊7/3⌋ = 2 go on; 0.15 is second best, 0.25 is third.
        Assert.False(pruner.Prune(study, Trials.Make(9, TrialState.Running, null, (0, 9), (1, 0.15))));
        Assert.True(pruner.Prune(study, Trials.Make(9, TrialState.Running, null, (0, 9), (1, 0.25))));
        // Step 2 is between rungs: nothing new is judged, whatever the value.
        Assert.False(pruner.Prune(study, Trials.Make(9, TrialState.Running, null, (1, 0.15), (2, 99))));
        // Before the first rung: nothing to judge.
        Assert.False(pruner.Prune(study, Trials.Make(9, TrialState.Running, null, (0, 99))));
        // A NaN at a rung prunes.
        Assert.True(pruner.Prune(study, Trials.Make(9, TrialState.Running, null, (1, double.NaN))));
        // Maximising, the same values rank the other way.
        var max = new StudySnapshot("s", StudyDirection.Maximize, others);
        Assert.True(pruner.Prune(max, Trials.Make(9, TrialState.Running, null, (1, 0.15))));
        Assert.False(pruner.Prune(max, Trials.Make(9, TrialState.Running, null, (1, 0.55))));
        // Bootstrap: until more than 7 trials reached the rung, everyone there is pruned.
        var bootstrap = new SuccessiveHalvingPruner(new SuccessiveHalvingOptions { MinResource = 1, ReductionFactor = 3, BootstrapCount = 7 });
        Assert.True(bootstrap.Prune(study, Trials.Make(9, TrialState.Running, null, (1, 0.01))));
    }

    [Fact]
    public void Successive_halving_estimates_its_first_rung_from_the_first_completed_trial()
    {
        Assert.Null(SuccessiveHalvingPruner.EstimateMinResource([Trials.Make(0, TrialState.Running, null, (500, 1))]));
        Assert.Equal(3, SuccessiveHalvingPruner.EstimateMinResource([Trials.Make(0, TrialState.Complete, 1, (350, 1)), Trials.Make(1, TrialState.Complete, 1, (120, 1))]));
        Assert.Equal(1, SuccessiveHalvingPruner.EstimateMinResource([Trials.Make(0, TrialState.Complete, 1, (20, 1))]));
        var pruner = new SuccessiveHalvingPruner();
        var empty = new StudySnapshot("s", StudyDirection.Minimize, []);
        Assert.False(pruner.Prune(empty, Trials.Make(0, TrialState.Running, null, (5, 1))));
    }

    [Fact]
    public void Options_report_every_problem_at_once()
    {
        var percentile = Assert.Throws<UsageException>(() => new PercentilePruner(new PercentilePrunerOptions { Percentile = 101, StartupTrials = -1, WarmupSteps = -1, IntervalSteps = 0, MinTrials = 0 }));
        foreach (var word in new[] { "Percentile", "StartupTrials", "WarmupSteps", "IntervalSteps", "MinTrials" }) Assert.Contains(word, percentile.Message, StringComparison.Ordinal);
        var sha = Assert.Throws<UsageException>(() => new SuccessiveHalvingPruner(new SuccessiveHalvingOptions { MinResource = 0, ReductionFactor = 1, MinEarlyStoppingRate = -1, BootstrapCount = -1 }));
        foreach (var word in new[] { "MinResource", "ReductionFactor", "MinEarlyStoppingRate", "BootstrapCount" }) Assert.Contains(word, sha.Message, StringComparison.Ordinal);
        var hb = Assert.Throws<UsageException>(() => new HyperbandPruner(new HyperbandOptions { MinResource = 0, MaxResource = -1, ReductionFactor = 1, BootstrapCount = -1 }));
        foreach (var word in new[] { "MinResource", "MaxResource", "ReductionFactor", "BootstrapCount" }) Assert.Contains(word, hb.Message, StringComparison.Ordinal);
        Assert.Contains("Assignment 7", Assert.Throws<UsageException>(() => new HyperbandOptions { Assignment = (BracketAssignment)7 }.Validate()).Message, StringComparison.Ordinal);
        Assert.Contains("MaxResource", Assert.Throws<UsageException>(() => new HyperbandOptions { MinResource = 5, MaxResource = 4 }.Validate()).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Hyperband_waits_for_a_completed_trial_when_max_resource_is_automatic()
    {
        var pruner = new HyperbandPruner();
        var running = new StudySnapshot("s", StudyDirection.Minimize, [Trials.Make(0, TrialState.Running, null, (3, 1))]);
        Assert.False(pruner.Prune(running, Trials.Make(1, TrialState.Running, null, (3, 9))));
        Assert.Null(pruner.BracketCount);
        var done = new StudySnapshot("s", StudyDirection.Minimize, [Trials.Make(0, TrialState.Complete, 1, (26, 1))]);
        pruner.Prune(done, Trials.Make(1, TrialState.Running, null, (0, 9)));
        // max resource 27, η = 3: ⌊log₃ 27⌋ + 1 = 4 brackets.
        Assert.Equal(4, pruner.BracketCount);
    }
}

/// <summary>Hand-made trial snapshots.</summary>
internal static class Trials
{
    public static FrozenTrial Make(int number, TrialState state, double? value = null, params (long Step, double Value)[] steps) =>
        new(number + 1000, number, state, value, new Dictionary<string, Distribution>(), new Dictionary<string, double>(),
            steps.Select(s => new KeyValuePair<long, double>(s.Step, s.Value)));

    public static FrozenTrial WithParams(int number, TrialState state, double? value, IReadOnlyDictionary<string, (double Value, Distribution Distribution)> parameters) =>
        new(number + 1000, number, state, value, parameters.ToDictionary(p => p.Key, p => p.Value.Distribution), parameters.ToDictionary(p => p.Key, p => p.Value.Value));
}
