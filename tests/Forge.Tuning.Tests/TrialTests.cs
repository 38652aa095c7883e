using Forge.Core;

namespace Forge.Tuning.Tests;

/// <summary>A running trial's contract: messages, the relative/independent split, reports, attributes; ask/tell errors; snapshots.</summary>
public sealed class TrialTests
{
    /// <summary>A sampler that proposes fixed values and records what it was asked, so the trial's choices can be checked exactly.</summary>
    private sealed class ScriptedSampler : ISampler
    {
        public Dictionary<string, Distribution> RelativeSpace { get; } = new(StringComparer.Ordinal);

        public Dictionary<string, double> RelativeValues { get; } = new(StringComparer.Ordinal);

        public Dictionary<string, double> Independent { get; } = new(StringComparer.Ordinal);

        public List<string> Calls { get; } = [];

        public List<FrozenTrial> After { get; } = [];

        public IReadOnlyDictionary<string, Distribution> InferRelativeSearchSpace(StudySnapshot study, FrozenTrial trial)
        {
            Calls.Add("infer");
            return RelativeSpace;
        }

        public IReadOnlyDictionary<string, double> SampleRelative(StudySnapshot study, FrozenTrial trial, IReadOnlyDictionary<string, Distribution> searchSpace)
        {
            Calls.Add("relative");
            return RelativeValues;
        }

        public double SampleIndependent(StudySnapshot study, FrozenTrial trial, string name, Distribution distribution)
        {
            Calls.Add("independent:" + name);
            return Independent[name];
        }

        public void AfterTrial(FrozenTrial trial) => After.Add(trial);
    }

    private static Study NewStudy(ISampler sampler, string name = "s") =>
        Study.Create(new StudyOptions { Name = name, Sampler = sampler, Pruner = new NopPruner() });

    [Fact]
    public void Relative_values_are_used_only_for_the_same_distribution_and_inside_it()
    {
        var sampler = new ScriptedSampler();
        var x = new FloatDistribution(0, 1);
        sampler.RelativeSpace["x"] = x;
        sampler.RelativeSpace["y"] = new FloatDistribution(0, 1);
        sampler.RelativeSpace["z"] = new FloatDistribution(0, 10);
        sampler.RelativeValues["x"] = 0.25;
        sampler.RelativeValues["y"] = 0.5;
        sampler.RelativeValues["z"] = 7;
        sampler.Independent["y"] = 0.125;
        sampler.Independent["z"] = 0.75;
        sampler.Independent["w"] = 0.375;
        var trial = NewStudy(sampler).Ask();
        Assert.Equal(0.25, trial.SuggestFloat("x", 0, 1));
        // y was inferred with another range, z's relative value lies outside the range asked for, w is not in the joint space.
        Assert.Equal(0.125, trial.SuggestFloat("y", 0, 2));
        Assert.Equal(0.75, trial.SuggestFloat("z", 0, 1));
        Assert.Equal(0.375, trial.SuggestFloat("w", 0, 1));
        // The joint space is inferred and sampled once per trial.
        Assert.Equal(["infer", "relative", "independent:y", "independent:z", "independent:w"], sampler.Calls);
        Assert.Equal(0.25, trial.Params["x"]);
        Assert.Equal(4, trial.Params.Count);
    }

    [Fact]
    public void An_empty_joint_space_is_not_sampled_and_a_value_outside_the_range_is_refused_naming_the_sampler()
    {
        var sampler = new ScriptedSampler();
        sampler.Independent["x"] = 1.5;
        sampler.Independent["n"] = 2.5;
        var trial = NewStudy(sampler).Ask();
        var error = Assert.Throws<ForgeException>(() => trial.SuggestFloat("x", 0, 1));
        Assert.Equal("trial 0: the sampler ScriptedSampler proposed 1.5 for 'x', outside {\"type\":\"float\",\"low\":0,\"high\":1}", error.Message);
        Assert.Throws<ForgeException>(() => trial.SuggestInt("n", 0, 5));
        Assert.Equal(["infer", "independent:x", "independent:n"], sampler.Calls);
        Assert.Empty(trial.Params);
    }

    [Fact]
    public void Suggest_errors_name_the_trial_the_parameter_and_both_ranges()
    {
        var sampler = new ScriptedSampler();
        sampler.Independent["lr"] = 0.5;
        var study = NewStudy(sampler);
        var trial = study.Ask();
        Assert.Equal(0.5, trial.SuggestFloat("lr", 0, 1));
        var changed = Assert.Throws<UsageException>(() => trial.SuggestFloat("lr", 0, 2));
        Assert.Equal("trial 0: parameter 'lr' was already suggested from {\"type\":\"float\",\"low\":0,\"high\":1}, now from {\"type\":\"float\",\"low\":0,\"high\":2}", changed.Message);
        Assert.Equal("a parameter name cannot be empty", Assert.Throws<UsageException>(() => trial.Suggest("", new FloatDistribution(0, 1))).Message);
        Assert.Equal("parameter 'bad': int distribution: low (3) is above high (1)", Assert.Throws<UsageException>(() => trial.SuggestInt("bad", 3, 1)).Message);
        Assert.Equal("parameter 'none': categorical distribution: needs at least one choice", Assert.Throws<UsageException>(() => trial.SuggestCategorical<string>("none")).Message);
        study.Tell(trial, 1.0);
        var next = study.Ask();
        Assert.Equal("parameter 'lr' is categorical here but float in earlier trials of study 's'",
            Assert.Throws<UsageException>(() => next.SuggestCategorical("lr", "a", "b")).Message);
        Assert.Equal("trial 0 has finished; suggest, report and set attributes inside the objective only",
            Assert.Throws<UsageException>(() => trial.SuggestFloat("other", 0, 1)).Message);
        Assert.Throws<UsageException>(() => trial.ShouldPrune());
    }

    [Fact]
    public void Single_valued_distributions_take_their_only_value_without_asking_the_sampler()
    {
        var sampler = new ScriptedSampler();
        var trial = NewStudy(sampler).Ask();
        Assert.Equal(-4, trial.SuggestInt("i", -4, -4));
        Assert.Equal(2.5, trial.SuggestFloat("f", 2.5, 2.5));
        Assert.Equal(7, trial.SuggestInt("stepped", 7, 9, step: 5));
        Assert.Equal("only", trial.SuggestCategorical("c", "only"));
        Assert.Empty(sampler.Calls);
        Assert.Equal(0.0, trial.Snapshot.InternalParams["c"]);
    }

    [Fact]
    public void Enqueued_values_that_do_not_fit_fail_with_the_trial_and_parameter_named()
    {
        var sampler = new ScriptedSampler();
        var study = NewStudy(sampler);
        study.EnqueueTrial(new Dictionary<string, object?> { ["x"] = 7.0, ["n"] = "two", ["c"] = "blue", ["ok"] = 3 });
        var trial = study.Ask();
        Assert.Equal("trial 0: enqueued value 7 of 'x' is not in {\"type\":\"float\",\"low\":0,\"high\":4}",
            Assert.Throws<UsageException>(() => trial.SuggestFloat("x", 0, 4)).Message);
        Assert.Equal("trial 0: enqueued value of 'n': 'two' is not a whole number", Assert.Throws<UsageException>(() => trial.SuggestInt("n", 0, 4)).Message);
        Assert.Equal("trial 0: enqueued value of 'c': 'blue' is not one of the choices (red, green)",
            Assert.Throws<UsageException>(() => trial.SuggestCategorical("c", "red", "green")).Message);
        // An enqueued value is used as given, even for a single-valued distribution, and the sampler is never asked.
        Assert.Equal(3, trial.SuggestInt("ok", 0, 4));
        Assert.Empty(sampler.Calls);
        Assert.Equal(3L, trial.Snapshot.FixedParams["ok"]);
    }

    [Fact]
    public void Reports_keep_the_first_value_of_a_step_and_refuse_negative_steps()
    {
        var study = NewStudy(new RandomSampler(1));
        var trial = study.Ask();
        trial.Report(2, 0.5);
        trial.Report(2, 0.9);
        trial.Report(0, 1.5);
        Assert.Equal([0L, 2L], trial.Snapshot.IntermediateValues.Keys);
        Assert.Equal(0.5, trial.Snapshot.IntermediateValues[2]);
        Assert.Equal(0.5, study.Storage.GetTrial(trial.TrialId).IntermediateValues[2]);
        Assert.Equal(2, trial.Snapshot.LastStep);
        Assert.Throws<ArgumentOutOfRangeException>(() => trial.Report(-1, 0));
        trial.Report(0, 7);
        Assert.Equal(1.5, study.Storage.GetTrial(trial.TrialId).IntermediateValues[0]);
        trial.SetUserAttribute("note", "first");
        trial.SetUserAttribute("note", "second");
        trial.SetUserAttribute("size", 3);
        Assert.Equal("second", trial.UserAttributes["note"]);
        Assert.Equal(3L, study.Storage.GetTrial(trial.TrialId).UserAttributes["size"]);
        Assert.Equal("trial 0 RUNNING", trial.ToString());
        Assert.Same(study, trial.Study);
        var told = study.Tell(trial, TrialState.Pruned);
        Assert.Equal([0L, 2L], told.IntermediateValues.Keys);
        Assert.Equal("trial 0 has finished; suggest, report and set attributes inside the objective only",
            Assert.Throws<UsageException>(() => trial.Report(5, 0)).Message);
    }

    [Fact]
    public void Tell_names_the_trial_in_every_refusal_and_passes_the_outcome_to_the_sampler_and_listeners()
    {
        var sampler = new ScriptedSampler();
        var study = NewStudy(sampler, "first");
        var seen = new List<TrialFinishedEventArgs>();
        study.TrialFinished += (_, e) => seen.Add(e);
        var a = study.Ask();
        Assert.Equal("trial 0: a COMPLETE trial needs a value", Assert.Throws<UsageException>(() => study.Tell(a, TrialState.Complete)).Message);
        Assert.Equal(TrialState.Fail, study.Tell(a, TrialState.Fail).State);
        Assert.Equal("failed (told by the caller)", study.Trials[0].FailReason);
        Assert.Equal("trial 0 was already told", Assert.Throws<UsageException>(() => study.Tell(a, 1.0)).Message);
        var b = study.Ask();
        Assert.Null(study.Tell(b, TrialState.Pruned, failReason: "ignored for a pruned trial").FailReason);
        var c = study.Ask();
        var done = study.Tell(c, TrialState.Complete, 2.5);
        Assert.Equal(2.5, done.Value);
        var d = study.Ask();
        Assert.Equal("the objective returned NaN", study.Tell(d, double.NaN).FailReason);
        Assert.Equal([0, 1, 2, 3], sampler.After.Select(t => t.Number));
        Assert.Equal([TrialState.Fail, TrialState.Pruned, TrialState.Complete, TrialState.Fail], sampler.After.Select(t => t.State));
        Assert.Equal(sampler.After.Select(t => t.State), seen.Select(e => e.Trial.State));
        Assert.All(seen, e => Assert.Null(e.Exception));
        var other = NewStudy(new ScriptedSampler(), "second");
        Assert.Equal("trial 4 belongs to study 'first', not 'second'", Assert.Throws<UsageException>(() => other.Tell(study.Ask(), 1.0)).Message);
    }

    [Fact]
    public void Trials_are_filtered_by_state_and_the_best_is_the_lowest_complete_value()
    {
        var study = NewStudy(new RandomSampler(1), "pick");
        var empty = Assert.Throws<ForgeException>(() => study.BestTrial);
        Assert.Equal("study 'pick' has no COMPLETE trial yet, so it has no best trial", empty.Message);
        study.Tell(study.Ask(), 3.0);
        study.Tell(study.Ask(), TrialState.Fail);
        study.Tell(study.Ask(), -1.0);
        study.Tell(study.Ask(), TrialState.Pruned);
        study.Tell(study.Ask(), -1.0);
        study.Ask();
        Assert.Equal(6, study.GetTrials().Count);
        Assert.Equal([0, 2, 4], study.GetTrials(TrialState.Complete).Select(t => t.Number));
        Assert.Equal([1, 3, 5], study.GetTrials(TrialState.Fail, TrialState.Pruned, TrialState.Running).Select(t => t.Number));
        Assert.Empty(study.GetTrials(TrialState.Waiting));
        Assert.Equal(2, study.BestTrial.Number);
        Assert.Equal(-1.0, study.BestValue);
        Assert.Empty(study.BestParams);
    }

    [Fact]
    public void An_exhausted_sampler_is_reported_by_name_and_ends_optimize_quietly()
    {
        var grid = new GridSampler(new Dictionary<string, IReadOnlyList<object?>> { ["a"] = [1] });
        var study = Study.Create(new StudyOptions { Name = "g", Sampler = grid });
        Assert.Single(study.Optimize(t => t.SuggestInt("a", 0, 3), trials: 5));
        Assert.Equal("study 'g': the sampler GridSampler has nothing left to propose", Assert.Throws<SearchSpaceExhaustedException>(() => study.Ask()).Message);
        Assert.Empty(study.Optimize(t => t.SuggestInt("a", 0, 3), trials: 5));
        Assert.Single(study.Trials);
    }

    [Fact]
    public void Enqueue_stores_the_values_and_attributes_as_json_and_zero_trials_runs_nothing()
    {
        var study = NewStudy(new RandomSampler(1));
        var waiting = study.EnqueueTrial(new Dictionary<string, object?> { ["x"] = 0.5, ["act"] = "relu", ["n"] = 4, ["on"] = true, ["none"] = null },
            new Dictionary<string, object?> { ["why"] = "baseline" });
        Assert.Equal(TrialState.Waiting, waiting.State);
        Assert.Equal("{\"x\":0.5,\"act\":\"relu\",\"n\":4,\"on\":true,\"none\":null}", waiting.SystemAttributes[FrozenTrial.FixedParamsKey]);
        Assert.Equal("\"baseline\"", waiting.UserAttributesJson["why"]);
        Assert.Empty(study.EnqueueTrial(new Dictionary<string, object?>()).UserAttributes);
        Assert.Empty(study.Optimize(_ => 0, trials: 0));
        Assert.Equal(2, study.GetTrials(TrialState.Waiting).Count);
        study.SetAttribute("nothing", null);
        Assert.Equal("null", study.Attributes["nothing"]);
    }

    private static readonly DateTimeOffset Start = new(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);

    [Fact]
    public void Snapshots_describe_themselves_and_copy_with_one_change()
    {
        var x = new IntDistribution(0, 10);
        var system = new Dictionary<string, string> { [FrozenTrial.FailReasonKey] = "\"boom\"", [FrozenTrial.FixedParamsKey] = "{\"x\":3,\"c\":\"a\"}" };
        var t = new FrozenTrial(9, 2, TrialState.Fail, null, new Dictionary<string, Distribution> { ["x"] = x }, new Dictionary<string, double> { ["x"] = 4 },
            [new(5, 1.0)], new Dictionary<string, string> { ["k"] = "[1,2]" }, system, retried: true);
        Assert.Equal("trial 2 FAIL x=4", t.ToString());
        Assert.Equal("boom", t.FailReason);
        Assert.Equal("[1,2]", t.UserAttributes["k"]);
        Assert.Equal(3L, t.FixedParams["x"]);
        Assert.Equal("a", t.FixedParams["c"]);
        Assert.Null(t.Duration);
        Assert.Equal(5, t.LastStep);
        var copy = t.With(state: TrialState.Complete, value: 0.5, number: 3, trialId: 10);
        Assert.Equal("trial 3 COMPLETE value=0.5 x=4", copy.ToString());
        Assert.Equal(10, copy.TrialId);
        Assert.True(copy.Retried);
        Assert.Equal(t.IntermediateValues, copy.IntermediateValues);
        Assert.Equal(4, copy.Params["x"]);
        Assert.Equal(t.SystemAttributes, copy.SystemAttributes);
        Assert.Equal(0.25, copy.With(value: 0.25).Value);
        Assert.Equal(0.5, copy.With(number: 4).Value);
        var timed = copy.With(started: Start, completed: Start.AddSeconds(3));
        Assert.Equal(TimeSpan.FromSeconds(3), timed.Duration);
        Assert.Equal(Start.AddSeconds(4), timed.With(completed: Start.AddSeconds(4)).Completed);
        Assert.Equal(timed.Completed, timed.With(number: 8).Completed);
        Assert.Equal([6L], copy.With(intermediateValues: [new(6, 0.0)]).IntermediateValues.Keys);
        var two = new FrozenTrial(1, 0, TrialState.Running, null, new Dictionary<string, Distribution> { ["a"] = x, ["b"] = x },
            new Dictionary<string, double> { ["a"] = 1, ["b"] = 2 });
        Assert.Equal("trial 0 RUNNING a=1 b=2", two.ToString());
        Assert.False(copy.With(retried: false).Retried);
        Assert.Null(new FrozenTrial(1, 0, TrialState.Fail, null, new Dictionary<string, Distribution>(), new Dictionary<string, double>(),
            systemAttributes: new Dictionary<string, string> { [FrozenTrial.FailReasonKey] = "3" }).FailReason);
        Assert.Equal("trial 1 WAITING", Trials.Make(1, TrialState.Waiting).ToString());
        Assert.Equal("trial 0: parameter 'y' has a value but no distribution",
            Assert.Throws<ForgeException>(() => new FrozenTrial(1, 0, TrialState.Running, null, new Dictionary<string, Distribution> { ["x"] = x }, new Dictionary<string, double> { ["y"] = 1 })).Message);
    }

    [Fact]
    public void Step_values_keep_the_first_value_of_a_step_and_enumerate_in_step_order()
    {
        var values = new StepValues([new(4, 0.4), new(1, 0.1), new(4, 9.9), new(-2, -0.2)]);
        Assert.Equal(3, values.Count);
        Assert.Equal([new(-2, -0.2), new(1, 0.1), new KeyValuePair<long, double>(4, 0.4)], values);
        Assert.Equal(4, values.LastStep);
        Assert.Equal(0.4, values.LastValue);
        Assert.True(values.ContainsKey(-2));
        Assert.False(values.ContainsKey(2));
        Assert.True(values.TryGetValue(1, out var one));
        Assert.Equal(0.1, one);
        Assert.False(values.TryGetValue(3, out var none));
        Assert.Equal(0.0, none);
        Assert.Equal("no value was reported at step 3", Assert.Throws<KeyNotFoundException>(() => values[3]).Message);
        Assert.Equal(new KeyValuePair<long, double>(1, 0.1), values.FirstAtOrAfter(1));
        Assert.Equal(new KeyValuePair<long, double>(-2, -0.2), values.FirstAtOrAfter(-10));
        Assert.Equal(new KeyValuePair<long, double>(4, 0.4), values.FirstAtOrAfter(4));
        Assert.Null(values.FirstAtOrAfter(5));
        var added = values.Add(2, 0.2);
        Assert.Equal([-2L, 1, 2, 4], added.Keys);
        Assert.Equal([-2L, 1, 4], values.Keys);
        Assert.Same(values, values.Add(4, 7.0));
        Assert.Empty(new StepValues([]));
        Assert.Null(new StepValues([]).FirstAtOrAfter(0));
        var copy = new StepValues(values);
        Assert.Equal(values, copy);
        System.Collections.IEnumerable untyped = values;
        Assert.Equal(3, untyped.Cast<object>().Count());
    }
}
