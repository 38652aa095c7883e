using System.Collections.Concurrent;
using Forge.Core;

namespace Forge.Tuning.Tests;

/// <summary>Every sampler: reproducible under a seed, values inside their distributions, and each one's own behaviour.</summary>
public sealed class SamplerTests
{
    private static double Mixed(Trial t)
    {
        var x = t.SuggestFloat("x", -4, 4);
        var lr = t.SuggestFloat("lr", 1e-4, 1, log: true);
        var q = t.SuggestFloat("q", 0, 1, step: 0.25);
        var n = t.SuggestInt("n", 1, 64, log: true);
        var k = t.SuggestInt("k", 0, 20, step: 5);
        var act = t.SuggestCategorical("act", "relu", "tanh", "gelu");
        return ((x - 1) * (x - 1)) + Math.Abs(Math.Log10(lr) + 2) + q + Math.Abs(Math.Log2(n) - 3) + (k / 10.0) + (act == "gelu" ? 0 : 0.5);
    }

    public static TheoryData<string> SamplerNames() => ["random", "tpe", "tpe-univariate", "gp"];

    private static ISampler Make(string name, int seed) => name switch
    {
        "random" => new RandomSampler(seed),
        "tpe" => new TpeSampler(new TpeOptions { Seed = seed, StartupTrials = 5 }),
        "tpe-univariate" => new TpeSampler(new TpeOptions { Seed = seed, StartupTrials = 5, Multivariate = false }),
        "gp" => new GpSampler(new GpOptions { Seed = seed, StartupTrials = 5, Candidates = 128, LocalSearchStarts = 2 }),
        _ => throw new ArgumentException(name),
    };

    private static List<IReadOnlyDictionary<string, object?>> Run(string sampler, int seed, int trials)
    {
        var study = Study.Create(new StudyOptions { Sampler = Make(sampler, seed) });
        study.Optimize(Mixed, trials);
        return study.Trials.Select(t => t.Params).ToList();
    }

    [Theory, MemberData(nameof(SamplerNames))]
    public void The_same_seed_gives_the_same_trials_and_another_seed_other_ones(string sampler)
    {
        var a = Run(sampler, 11, 14);
        var b = Run(sampler, 11, 14);
        var c = Run(sampler, 12, 14);
        for (var i = 0; i < a.Count; i++) Assert.Equal(a[i], b[i]);
        Assert.NotEqual(a.Select(p => p["x"]), c.Select(p => p["x"]));
        // Past the start-up trials the model-based samplers propose something other than their random start-up would.
        Assert.Equal(14, a.Count);
    }

    [Theory, MemberData(nameof(SamplerNames))]
    public void Every_value_lies_in_its_distribution(string sampler)
    {
        var study = Study.Create(new StudyOptions { Sampler = Make(sampler, 3) });
        study.Optimize(Mixed, 16);
        foreach (var t in study.Trials)
        {
            Assert.Equal(TrialState.Complete, t.State);
            foreach (var (name, value) in t.InternalParams) Assert.True(t.Distributions[name].Contains(value), $"{name} = {value} in trial {t.Number}");
            Assert.Contains((double)t.Params["q"]!, new[] { 0, 0.25, 0.5, 0.75, 1 });
            Assert.Contains((int)t.Params["k"]!, new[] { 0, 5, 10, 15, 20 });
        }
    }

    [Theory]
    [InlineData("tpe")]
    [InlineData("gp")]
    public void Model_based_samplers_beat_random_search_on_a_smooth_function(string sampler)
    {
        double Best(ISampler s)
        {
            var study = Study.Create(new StudyOptions { Sampler = s });
            study.Optimize(Mixed, 25);
            return study.BestValue;
        }
        // Three seeds each, compared by the median best: one lucky random run must not decide it.
        var random = new[] { 1, 2, 3 }.Select(seed => Best(new RandomSampler(seed))).Order().ElementAt(1);
        var model = new[] { 1, 2, 3 }.Select(seed => Best(Make(sampler, seed))).Order().ElementAt(1);
        Assert.True(model < random, $"{sampler} median best {model:G4} vs random {random:G4}");
    }

    [Fact]
    public void Random_values_depend_on_the_trial_not_on_how_many_workers_ran_it()
    {
        static HashSet<string> Points(int parallelism)
        {
            var study = Study.Create(new StudyOptions { Sampler = new RandomSampler(21) });
            study.Optimize(t => t.SuggestFloat("x", 0, 1) + t.SuggestInt("n", 0, 100), trials: 20, parallelism: parallelism);
            return study.Trials.Select(t => $"{t.Number}:{t.Params["x"]}:{t.Params["n"]}").ToHashSet();
        }
        Assert.Equal(Points(1), Points(4));
    }

    [Fact]
    public void Random_sampling_covers_each_distribution_uniformly()
    {
        var rng = new Numerics.Rng(9);
        var logFloat = new FloatDistribution(1e-4, 1, log: true);
        var logInt = new IntDistribution(1, 1000, log: true);
        var stepped = new IntDistribution(0, 10, step: 5);
        var decades = new int[4];
        var ints = new Dictionary<int, int>();
        for (var i = 0; i < 8000; i++)
        {
            var v = RandomSampler.Sample(rng, logFloat);
            Assert.True(logFloat.Contains(v));
            decades[Math.Min(3, (int)Math.Floor(-Math.Log10(v)))]++;
            var n = (int)RandomSampler.Sample(rng, stepped);
            ints[n] = ints.GetValueOrDefault(n) + 1;
            Assert.True(logInt.Contains(RandomSampler.Sample(rng, logInt)));
        }
        // Log-uniform: each decade of [1e-4, 1] gets about a quarter.
        foreach (var d in decades) Assert.InRange(d, 1800, 2200);
        Assert.Equal([0, 5, 10], ints.Keys.Order());
        foreach (var c in ints.Values) Assert.InRange(c, 2400, 2950);
        Assert.Equal(0.5, RandomSampler.Sample(rng, new FloatDistribution(0.5, 0.5)));
        var choices = Enumerable.Range(0, 300).Select(_ => RandomSampler.Sample(rng, new CategoricalDistribution(["a", "b", "c"]))).ToHashSet();
        Assert.Equal([0.0, 1, 2], choices.Order());
    }

    [Fact]
    public void Grid_search_visits_every_point_once_then_stops()
    {
        var grid = new GridSampler(new Dictionary<string, IReadOnlyList<object?>>
        {
            ["lr"] = [0.1, 0.01, 0.001],
            ["act"] = ["relu", "gelu"],
        }, seed: 4);
        Assert.Equal(6, grid.Size);
        var study = Study.Create(new StudyOptions { Sampler = grid });
        var ran = study.Optimize(t => t.SuggestFloat("lr", 1e-4, 1, log: true) * (t.SuggestCategorical("act", "relu", "gelu") == "relu" ? 1 : 2), trials: 20);
        Assert.Equal(6, ran.Count);
        var points = study.Trials.Select(t => $"{t.Params["lr"]}/{t.Params["act"]}").ToList();
        Assert.Equal(6, points.Distinct().Count());
        Assert.Equal(0.001, study.BestValue, 12);
        Assert.Equal(6, study.Storage.GetClaims(study.Id).Count);
        var exhausted = Assert.Throws<SearchSpaceExhaustedException>(() => study.Ask());
        Assert.Contains("GridSampler has nothing left to propose", exhausted.Message, StringComparison.Ordinal);
        Assert.Empty(study.Optimize(_ => 0, trials: 3));
        Assert.Equal(["relu"], new[] { grid.Point(0)["act"] });
    }

    [Fact]
    public void A_grid_is_built_from_a_search_space_file()
    {
        var space = Distribution.ParseSearchSpace(
            "{\"act\": {\"type\": \"categorical\", \"choices\": [\"relu\", \"gelu\"]}, \"depth\": {\"type\": \"int\", \"low\": 2, \"high\": 8, \"step\": 3}, " +
            "\"drop\": {\"type\": \"float\", \"low\": 0, \"high\": 0.3, \"step\": 0.1}}");
        var grid = GridSampler.FromSearchSpace(space);
        Assert.Equal(2 * 3 * 4, grid.Size);
        var study = Study.Create(new StudyOptions { Sampler = grid });
        study.Optimize(t => space.Sum(p => t.Suggest(p.Key, p.Value) is double v ? v : 0), trials: 100);
        Assert.Equal(24, study.Trials.Select(t => string.Join(",", t.Params.Values)).Distinct().Count());
        Assert.Equal([0.0, 0.1, 0.2, 0.3], study.Trials.Select(t => Math.Round((double)t.Params["drop"]!, 12)).Distinct().Order());
        var continuous = Assert.Throws<UsageException>(() => GridSampler.FromSearchSpace(new Dictionary<string, Distribution> { ["lr"] = new FloatDistribution(0, 1) }));
        Assert.Contains("'lr' is a continuous float", continuous.Message, StringComparison.Ordinal);
        Assert.Throws<UsageException>(() => GridSampler.FromSearchSpace(new Dictionary<string, Distribution> { ["n"] = new IntDistribution(0, int.MaxValue) }));
    }

    [Fact]
    public void Parallel_grid_workers_never_repeat_a_point()
    {
        var grid = new GridSampler(new Dictionary<string, IReadOnlyList<object?>> { ["a"] = [1, 2, 3, 4, 5], ["b"] = [10, 20, 30, 40] });
        var study = Study.Create(new StudyOptions { Sampler = grid });
        study.Optimize(t =>
        {
            Thread.Sleep(1);
            return t.SuggestInt("a", 0, 10) + t.SuggestInt("b", 0, 100);
        }, trials: 100, parallelism: 4);
        var points = study.Trials.Select(t => (t.Params["a"], t.Params["b"])).ToList();
        Assert.Equal(20, points.Count);
        Assert.Equal(20, points.Distinct().Count());
        // Without a seed, points go in ascending order (the last parameter fastest).
        Assert.Equal(new Dictionary<string, object?> { ["a"] = 1L, ["b"] = 20L }, grid.Point(1));
    }

    [Fact]
    public void Grid_refuses_a_parameter_it_does_not_know_or_a_value_outside_the_range()
    {
        var grid = new GridSampler(new Dictionary<string, IReadOnlyList<object?>> { ["depth"] = [2, 4, 20] });
        var study = Study.Create(new StudyOptions { Sampler = grid });
        study.Optimize(t => t.SuggestInt("depht", 1, 10), trials: 1);
        Assert.Contains("did you mean 'depth'", study.Trials[0].FailReason, StringComparison.Ordinal);
        study.Optimize(t => t.SuggestInt("depth", 1, 10), trials: 2);
        Assert.Contains(study.Trials.Skip(1), t => t.FailReason?.Contains("not in the suggested range", StringComparison.Ordinal) == true);
        var empty = Assert.Throws<UsageException>(() => new GridSampler(new Dictionary<string, IReadOnlyList<object?>> { ["a"] = [] }));
        Assert.Contains("'a' lists no value", empty.Message, StringComparison.Ordinal);
        Assert.Throws<UsageException>(() => new GridSampler(new Dictionary<string, IReadOnlyList<object?>>()));
        Assert.Throws<ArgumentOutOfRangeException>(() => grid.Point(3));
    }

    [Fact]
    public void Grid_honours_an_enqueued_point_without_claiming_one()
    {
        var grid = new GridSampler(new Dictionary<string, IReadOnlyList<object?>> { ["a"] = [1, 2] });
        var study = Study.Create(new StudyOptions { Sampler = grid });
        study.EnqueueTrial(new Dictionary<string, object?> { ["a"] = 7 });
        study.Optimize(t => t.SuggestInt("a", 0, 10), trials: 5);
        Assert.Equal([7, 1, 2], study.Trials.Select(t => (int)t.Params["a"]!));
    }

    [Fact]
    public void The_constant_liar_counts_running_trials_as_bad_so_parallel_workers_spread_out()
    {
        // Twenty finished trials of a 1-D bowl around 0.3, and one running trial sitting at 0.3.
        var d = new FloatDistribution(0, 1);
        var trials = Enumerable.Range(0, 20).Select(i =>
        {
            var x = (i + 0.5) / 20;
            return Trials.WithParams(i, TrialState.Complete, Math.Abs(x - 0.3), new Dictionary<string, (double, Distribution)> { ["x"] = (x, d) });
        }).ToList();
        var running = Enumerable.Range(20, 6).Select(i => Trials.WithParams(i, TrialState.Running, null, new Dictionary<string, (double, Distribution)> { ["x"] = (0.3, d) })).ToList();
        var snapshot = new StudySnapshot("s", StudyDirection.Minimize, [.. trials, .. running]);
        double Near(bool liar)
        {
            var near = 0;
            for (var seed = 0; seed < 40; seed++)
            {
                var tpe = new TpeSampler(new TpeOptions { Seed = seed, ConstantLiar = liar, Multivariate = false });
                var x = tpe.SampleIndependent(snapshot, Trials.Make(30, TrialState.Running), "x", d);
                if (Math.Abs(x - 0.3) < 0.02) near++;
            }
            return near;
        }
        Assert.True(Near(liar: true) < Near(liar: false), $"near the running point: {Near(true)} with the liar, {Near(false)} without");
    }

    [Fact]
    public void Tpe_starts_at_random_and_validates_its_options()
    {
        var d = new FloatDistribution(0, 1);
        var tpe = new TpeSampler(new TpeOptions { Seed = 1, StartupTrials = 3, Multivariate = false });
        var few = new StudySnapshot("s", StudyDirection.Minimize, [Trials.WithParams(0, TrialState.Complete, 1, new Dictionary<string, (double, Distribution)> { ["x"] = (0.5, d) })]);
        // Start-up: the same draw as a seeded random sampler would make from the same stream.
        var random = RandomSampler.Sample(Numerics.Rng.For(1, 5, "tpe:x"), d);
        Assert.Equal(random, tpe.SampleIndependent(few, Trials.Make(5, TrialState.Running), "x", d));
        Assert.Equal(0, TpeSampler.DefaultGamma(0));
        Assert.Throws<UsageException>(() => new TpeSampler(new TpeOptions { StartupTrials = -1, EiCandidates = 0, PriorWeight = 0, MaxAboveObservations = 0 }));
        Assert.Throws<UsageException>(() => new GpSampler(new GpOptions { StartupTrials = 0, Candidates = 0, LocalSearchStarts = -1, MaxObservations = 1 }));
    }

    [Fact]
    public void Tpe_ranks_completed_trials_first_then_pruned_ones_by_step_and_running_ones_last()
    {
        var trials = new List<FrozenTrial>
        {
            Trials.Make(0, TrialState.Complete, 8),
            Trials.Make(1, TrialState.Pruned, null, (2, 0.0)),
            Trials.Make(2, TrialState.Complete, 5),
            Trials.Make(3, TrialState.Pruned, null, (1, 0.0), (9, 0.1)),
            Trials.Make(4, TrialState.Complete, 7),
            Trials.Make(5, TrialState.Running),
            Trials.Make(6, TrialState.Complete, 6),
            Trials.Make(7, TrialState.Pruned),
            Trials.Make(8, TrialState.Fail),
        };
        var minimise = new StudySnapshot("s", StudyDirection.Minimize, trials);
        IReadOnlyList<int> Good(int n, StudySnapshot study) =>
            new TpeSampler(new TpeOptions { Gamma = _ => n }).GoodTrials(study, Trials.Make(9, TrialState.Running));
        Assert.Equal([2, 4, 6], Good(3, minimise).Order());
        Assert.Equal([0, 2, 3, 4, 6], Good(5, minimise).Order());
        Assert.Equal([0, 1, 2, 3, 4, 6], Good(6, minimise).Order());
        Assert.Equal([0, 1, 2, 3, 4, 6, 7], Good(7, minimise).Order());
        // The liar's running trial comes last of all; without the liar it is not there at all.
        Assert.Equal([0, 1, 2, 3, 4, 5, 6, 7], Good(8, minimise).Order());
        Assert.Equal([0, 1, 2, 3, 4, 6, 7], new TpeSampler(new TpeOptions { Gamma = _ => 8, ConstantLiar = false }).GoodTrials(minimise, Trials.Make(9, TrialState.Running)).Order());
        // Maximising turns the completed order round.
        Assert.Equal([0, 4], Good(2, new StudySnapshot("s", StudyDirection.Maximize, trials)).Order());
        // The trial being sampled never counts.
        Assert.Equal([6], new TpeSampler(new TpeOptions { Gamma = _ => 1 }).GoodTrials(minimise, trials[2]));
    }

    [Fact]
    public void Tpe_with_a_custom_gamma_and_a_capped_bad_set_still_proposes_valid_points()
    {
        var study = Study.Create(new StudyOptions
        {
            Sampler = new TpeSampler(new TpeOptions { Seed = 4, StartupTrials = 4, Gamma = n => n / 2, MaxAboveObservations = 3, PriorWeight = 2, ConsiderEndpoints = true, ConsiderMagicClip = false }),
        });
        study.Optimize(Mixed, 25);
        Assert.All(study.Trials, t => Assert.Equal(TrialState.Complete, t.State));
        Assert.True(study.BestValue < 3);
    }

    [Fact]
    public void Multivariate_samplers_sample_conditional_parameters_on_their_own()
    {
        foreach (var sampler in new ISampler[] { new TpeSampler(new TpeOptions { Seed = 2, StartupTrials = 4 }), new GpSampler(new GpOptions { Seed = 2, StartupTrials = 4, Candidates = 64 }) })
        {
            var study = Study.Create(new StudyOptions { Sampler = sampler });
            study.Optimize(t =>
            {
                var kind = t.SuggestCategorical("kind", "linear", "tree");
                return kind == "linear" ? t.SuggestFloat("c", 1e-3, 10, log: true) : t.SuggestInt("depth", 1, 8) + t.SuggestFloat("eta", 0, 1);
            }, trials: 20);
            Assert.All(study.Trials, t => Assert.Equal(TrialState.Complete, t.State));
            Assert.Contains(study.Trials, t => t.Params.ContainsKey("c"));
            Assert.Contains(study.Trials, t => t.Params.ContainsKey("depth"));
        }
    }

    [Fact]
    public void Gp_counts_a_running_trial_as_a_bad_observation_so_the_next_proposal_moves_away()
    {
        var d = new FloatDistribution(-2, 2);
        var space = new Dictionary<string, Distribution> { ["x"] = d };
        var done = new[] { -1.9, -1.3, -0.7, -0.35, 0.4, 0.9, 1.5, 1.95 }
            .Select((x, i) => Trials.WithParams(i, TrialState.Complete, x * x, new Dictionary<string, (double, Distribution)> { ["x"] = (x, d) })).ToList();
        var alone = new StudySnapshot("s", StudyDirection.Minimize, done);
        var running = Trials.WithParams(8, TrialState.Running, null, new Dictionary<string, (double, Distribution)> { ["x"] = (0.0, d) });
        var crowded = new StudySnapshot("s", StudyDirection.Minimize, [.. done, running]);
        double Propose(StudySnapshot study, bool liar) =>
            new GpSampler(new GpOptions { Seed = 3, StartupTrials = 5, ConstantLiar = liar }).SampleRelative(study, Trials.Make(9, TrialState.Running), space)["x"];
        var free = Propose(alone, liar: true);
        Assert.InRange(free, -0.3, 0.3);
        // Without the liar the running trial is invisible: the same proposal.
        Assert.Equal(free, Propose(crowded, liar: false));
        var moved = Propose(crowded, liar: true);
        Assert.True(Math.Abs(moved) > Math.Abs(free) + 0.05, $"with a running trial at 0 the GP proposed {moved}, alone {free}");
    }

    [Fact]
    public void Gp_keeps_at_most_its_observation_cap_and_still_optimises_in_parallel()
    {
        var study = Study.Create(new StudyOptions { Sampler = new GpSampler(new GpOptions { Seed = 1, StartupTrials = 4, MaxObservations = 6, Candidates = 64 }) });
        study.Optimize(t =>
        {
            var x = t.SuggestFloat("x", -2, 2);
            Thread.Sleep(1);
            return x * x;
        }, trials: 16, parallelism: 3);
        Assert.Equal(16, study.Trials.Count);
        Assert.All(study.Trials, t => Assert.Equal(TrialState.Complete, t.State));
        Assert.True(study.BestValue < 0.1, $"best {study.BestValue}");
    }

    [Fact]
    public void Intersection_space_keeps_only_parameters_every_finished_trial_shares_with_the_same_distribution()
    {
        var a = new FloatDistribution(0, 1);
        var b = new IntDistribution(1, 5);
        var space = new IntersectionSearchSpace(includePruned: false);
        var t0 = Trials.WithParams(0, TrialState.Complete, 1, new Dictionary<string, (double, Distribution)> { ["a"] = (0.5, a), ["b"] = (2, b), ["c"] = (3, b) });
        var t1 = Trials.WithParams(1, TrialState.Running, null, new Dictionary<string, (double, Distribution)> { ["a"] = (0.5, a) });
        var t2 = Trials.WithParams(2, TrialState.Complete, 1, new Dictionary<string, (double, Distribution)> { ["a"] = (0.1, a), ["b"] = (2, b), ["c"] = (3, new IntDistribution(1, 6)) });
        var t3 = Trials.WithParams(3, TrialState.Pruned, null, new Dictionary<string, (double, Distribution)> { ["a"] = (0.1, a) });
        Assert.Equal(["a", "b"], space.Calculate([t0, t1, t2, t3]).Keys);
        // The running trial finishes without b: b leaves the space.
        var t1Done = Trials.WithParams(1, TrialState.Complete, 2, new Dictionary<string, (double, Distribution)> { ["a"] = (0.5, a) });
        Assert.Equal(["a"], space.Calculate([t0, t1Done, t2, t3]).Keys);
        Assert.Equal(["a"], new IntersectionSearchSpace(includePruned: true).Calculate([t0, t1Done, t2, t3]).Keys);
        Assert.Empty(new IntersectionSearchSpace(false).Calculate([t1]));
    }
}
