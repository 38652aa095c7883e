using Forge.Core;
using Forge.Tuning.Numerics;

namespace Forge.Tuning.Tests;

/// <summary>Paths the other tests do not reach: races, caps, transforms and the optimiser's efficiency.</summary>
public sealed class EdgeTests
{
    /// <summary>A storage where another worker always wins the claim race: every claim fails, yet no key looks taken.</summary>
    private sealed class LosingClaims(IStudyStorage inner) : IStudyStorage
    {
        public string Location => inner.Location;
        public StudyInfo CreateStudy(string name, StudyDirection direction, bool loadIfExists) => inner.CreateStudy(name, direction, loadIfExists);
        public StudyInfo GetStudy(string name) => inner.GetStudy(name);
        public IReadOnlyList<StudyInfo> ListStudies() => inner.ListStudies();
        public void DeleteStudy(string name) => inner.DeleteStudy(name);
        public void SetStudyAttribute(long studyId, string key, string valueJson) => inner.SetStudyAttribute(studyId, key, valueJson);
        public FrozenTrial? StartTrial(long studyId, TrialStartRequest request) => inner.StartTrial(studyId, request);
        public FrozenTrial EnqueueTrial(long studyId, IReadOnlyDictionary<string, string> systemAttributes, IReadOnlyDictionary<string, string> userAttributes) =>
            inner.EnqueueTrial(studyId, systemAttributes, userAttributes);
        public void SetTrialParam(long trialId, string name, double internalValue, Distribution distribution) => inner.SetTrialParam(trialId, name, internalValue, distribution);
        public void ReportIntermediateValue(long trialId, long step, double value) => inner.ReportIntermediateValue(trialId, step, value);
        public void SetTrialUserAttribute(long trialId, string key, string valueJson) => inner.SetTrialUserAttribute(trialId, key, valueJson);
        public void SetTrialSystemAttribute(long trialId, string key, string valueJson) => inner.SetTrialSystemAttribute(trialId, key, valueJson);
        public bool FinishTrial(long trialId, TrialState state, double? value, string? failReason) => inner.FinishTrial(trialId, state, value, failReason);
        public void RecordHeartbeat(long trialId) => inner.RecordHeartbeat(trialId);
        public IReadOnlyList<FrozenTrial> FailStaleTrials(long studyId, TimeSpan gracePeriod) => inner.FailStaleTrials(studyId, gracePeriod);
        public FrozenTrial? RetryTrial(long trialId) => inner.RetryTrial(trialId);
        public bool TryClaim(long studyId, string key, long trialId) => false;
        public IReadOnlySet<string> GetClaims(long studyId) => new HashSet<string>();
        public FrozenTrial GetTrial(long trialId) => inner.GetTrial(trialId);
        public IReadOnlyList<FrozenTrial> GetTrials(long studyId) => inner.GetTrials(studyId);
        public void Dispose() => inner.Dispose();
    }

    [Fact]
    public void Losing_the_last_grid_point_to_another_worker_fails_that_trial_and_ends_the_study()
    {
        var grid = new GridSampler(new Dictionary<string, IReadOnlyList<object?>> { ["a"] = [1, 2] });
        var study = Study.Create(new StudyOptions { Sampler = grid, Storage = new LosingClaims(new InMemoryStudyStorage()) });
        var finished = new List<FrozenTrial>();
        study.TrialFinished += (_, e) => finished.Add(e.Trial);
        Assert.Empty(study.Optimize(t => t.SuggestInt("a", 0, 3), trials: 5));
        var trial = Assert.Single(study.Trials);
        Assert.Equal(TrialState.Fail, trial.State);
        Assert.Equal("every one of the 2 grid points is already taken", trial.FailReason);
        Assert.Single(finished);
        Assert.Throws<SearchSpaceExhaustedException>(() => study.Ask());
    }

    [Fact]
    public void A_storage_error_while_starting_a_trial_stops_the_optimisation_and_surfaces()
    {
        var storage = new InMemoryStudyStorage();
        var study = Study.Create(new StudyOptions { Storage = storage, Name = "gone" });
        storage.DeleteStudy("gone");
        Assert.Throws<NotFoundException>(() => study.Optimize(_ => 0, trials: 3, parallelism: 2));
    }

    [Fact]
    public void A_trial_finished_handler_that_throws_stops_the_optimisation()
    {
        var study = Study.Create(new StudyOptions { Sampler = new RandomSampler(1) });
        study.TrialFinished += (_, e) =>
        {
            if (e.Trial.Number == 1) throw new InvalidOperationException("logging failed");
        };
        var error = Assert.Throws<InvalidOperationException>(() => study.Optimize(t => t.SuggestFloat("x", 0, 1), trials: 10));
        Assert.Equal("logging failed", error.Message);
        Assert.Equal(2, study.Trials.Count);
    }

    [Fact]
    public void Gp_conditions_on_the_best_half_and_the_newest_rest_beyond_its_cap()
    {
        var d = new FloatDistribution(0, 1);
        var trials = Enumerable.Range(0, 12).Select(i => Trials.WithParams(i, TrialState.Complete, i % 2 == 0 ? i : 100 - i,
            new Dictionary<string, (double, Distribution)> { ["x"] = (i / 12.0, d) })).ToList();
        var study = new StudySnapshot("s", StudyDirection.Minimize, trials);
        var chosen = GpSampler.Observed(study, Trials.Make(20, TrialState.Running), new UnitCubeEncoder(new Dictionary<string, Distribution> { ["x"] = d }), maxObservations: 6, liar: true);
        // Best three by value are trials 0, 2, 4 (values 0, 2, 4); the newest three others are 11, 10, 9.
        Assert.Equal([0, 2, 4, 9, 10, 11], chosen.Select(t => t.Number).Order());
    }

    [Fact]
    public void Standardising_maps_the_best_value_alongside_and_the_warp_compresses_the_upper_tail()
    {
        double[] y = [1, 2, 3, 1000];
        var best = 1.0;
        var plain = GpSampler.Standardise(y, warp: false, ref best);
        Assert.Equal(plain[0], best, 12);
        Assert.Equal(0.0, plain.Average(), 12);
        Assert.Equal(1.0, Math.Sqrt(plain.Sum(v => v * v) / plain.Length), 12);
        var bestWarped = 1.0;
        var warped = GpSampler.Standardise(y, warp: true, ref bestWarped);
        Assert.Equal(warped[0], bestWarped, 12);
        Assert.Equal(0.0, warped.Average(), 10);
        // The gap between the two best values is a larger share of the spread once the outlier is compressed.
        Assert.True((warped[1] - warped[0]) > (plain[1] - plain[0]) * 2, $"{warped[1] - warped[0]} vs {plain[1] - plain[0]}");
        var constant = 5.0;
        Assert.All(GpSampler.Standardise([5, 5, 5], warp: false, ref constant), v => Assert.Equal(0.0, v));
    }

    [Fact]
    public void Lbfgs_solves_a_quadratic_in_few_evaluations()
    {
        // f = ½ Σ cᵢ (xᵢ - i)², condition number 16: steepest descent would need many more steps.
        double[] c = [1, 2, 4, 8, 16];
        double F(ReadOnlySpan<double> x, Span<double> g)
        {
            var f = 0.0;
            for (var i = 0; i < x.Length; i++)
            {
                g[i] = c[i] * (x[i] - i);
                f += 0.5 * c[i] * (x[i] - i) * (x[i] - i);
            }
            return f;
        }
        var result = Lbfgs.Minimize(F, new double[5], maxIterations: 100, gradientTolerance: 1e-9);
        for (var i = 0; i < 5; i++) Assert.InRange(result.X[i], i - 1e-6, i + 1e-6);
        Assert.True(result.Evaluations <= 25, $"{result.Evaluations} evaluations");
        Assert.InRange(result.Value, 0, 1e-12);
        var capped = Lbfgs.Minimize(F, new double[5], maxIterations: 2);
        Assert.True(capped.Value > 1e-3, "two iterations cannot reach the minimum");
    }

    [Fact]
    public void Rng_long_ranges_and_seeds_behave()
    {
        var rng = new Rng(7);
        var big = long.MaxValue / 3 * 2;
        var high = 0;
        for (var i = 0; i < 2000; i++)
        {
            var v = rng.NextLong(big);
            Assert.InRange(v, 0, big - 1);
            if (v > big / 2) high++;
        }
        Assert.InRange(high, 900, 1100);
        Assert.Equal(0, rng.NextLong(1));
        Assert.NotEqual(RandomSampler.SeedOf(null), RandomSampler.SeedOf(null));
        Assert.Equal(5UL, RandomSampler.SeedOf(5));
        Assert.Equal(ulong.MaxValue, RandomSampler.SeedOf(-1));
        Assert.InRange(rng.Uniform(2, 3), 2, 3);
    }

    [Fact]
    public void Special_functions_cross_their_branch_points_smoothly()
    {
        foreach (var z in new[] { -1.0, -30.0 })
        {
            Golden.Close(SpecialFunctions.LogH(z - 1e-9), SpecialFunctions.LogH(z + 1e-9), 1e-6, $"log h at {z}");
        }
        Golden.Close(SpecialFunctions.LogNormalCdf(-1 - 1e-9), SpecialFunctions.LogNormalCdf(-1 + 1e-9), 1e-7, "log Φ at -1");
        Golden.Close(SpecialFunctions.LogNormalCdf(-1e-9), SpecialFunctions.LogNormalCdf(1e-9), 1e-7, "log Φ at 0");
        Golden.Close(SpecialFunctions.NormalQuantile(0.02425 - 1e-12), SpecialFunctions.NormalQuantile(0.02425 + 1e-12), 1e-8, "Φ⁻¹ at the lower break");
        Golden.Close(SpecialFunctions.NormalQuantile(0.97575 - 1e-12), SpecialFunctions.NormalQuantile(0.97575 + 1e-12), 1e-8, "Φ⁻¹ at the upper break");
        Golden.Close(-SpecialFunctions.NormalQuantile(0.3), SpecialFunctions.NormalQuantile(0.7), 1e-12, "Φ⁻¹ symmetry");
        Golden.Close(SpecialFunctions.ExpM1(1e-5 - 1e-12), SpecialFunctions.ExpM1(1e-5 + 1e-12), 1e-9, "expm1 at its switch");
        Assert.Equal(double.PositiveInfinity, SpecialFunctions.ExpM1(1000));
        Assert.Equal(-1.0, SpecialFunctions.ExpM1(-800));
        Assert.Equal(double.NegativeInfinity, SpecialFunctions.Log1P(-1));
        Assert.True(double.IsNaN(SpecialFunctions.Log1P(-2)));
        Assert.True(double.IsNaN(SpecialFunctions.Erfcx(double.NaN)));
        Assert.Equal(0.0, SpecialFunctions.LogGaussMass(-50, 50), 15);
        Golden.Close(Math.Log(0.5), SpecialFunctions.LogGaussMass(double.NegativeInfinity, 0), 1e-7, "half mass");
    }

    [Fact]
    public void Tables_align_and_quote()
    {
        var trials = new[]
        {
            Trials.WithParams(0, TrialState.Complete, 1234.5678, new Dictionary<string, (double, Distribution)> { ["b"] = (1, new CategoricalDistribution(["x", "y,z"])) }),
            Trials.WithParams(1, TrialState.Running, null, new Dictionary<string, (double, Distribution)> { ["a"] = (0.5, new FloatDistribution(0, 1)) }),
        };
        var table = TrialTable.From(trials);
        Assert.Equal(["number", "state", "value", "params.a", "params.b", "duration_s", "fail_reason"], table.Columns);
        var lines = table.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("number  state     value    params.a  params.b  duration_s  fail_reason", lines[0]);
        Assert.Equal("0       COMPLETE  1234.57            y,z", lines[1]);
        Assert.Equal("1       RUNNING            0.5", lines[2]);
        var csv = table.ToCsv().Split('\n');
        Assert.Equal("0,COMPLETE,1234.57,,\"y,z\",,", csv[1].TrimEnd('\r'));
        Assert.Null(table.Rows[1][4]);
    }
}
