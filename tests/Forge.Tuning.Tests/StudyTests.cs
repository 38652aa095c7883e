using System.Collections.Concurrent;
using System.Text.Json;
using Forge.Core;

namespace Forge.Tuning.Tests;

/// <summary>The define-by-run study: optimise, failing objectives, pruning, enqueue, ask/tell, attributes, export, parallel workers.</summary>
public sealed class StudyTests
{
    private static double Quadratic(Trial t)
    {
        var x = t.SuggestFloat("x", -10, 10);
        var y = t.SuggestInt("y", -5, 5);
        return ((x - 2) * (x - 2)) + ((y + 1) * (y + 1));
    }

    private static Study NewStudy(ISampler? sampler = null, StudyDirection direction = StudyDirection.Minimize, IPruner? pruner = null) =>
        Study.Create(new StudyOptions { Sampler = sampler ?? new TpeSampler(new TpeOptions { Seed = 1 }), Direction = direction, Pruner = pruner });

    [Fact]
    public void Optimize_runs_the_requested_trials_and_finds_a_good_point()
    {
        var study = NewStudy();
        var finished = study.Optimize(Quadratic, trials: 60);
        Assert.Equal(60, finished.Count);
        Assert.Equal(Enumerable.Range(0, 60), finished.Select(t => t.Number));
        Assert.All(study.Trials, t => Assert.Equal(TrialState.Complete, t.State));
        Assert.True(study.BestValue < 1.0, $"best {study.BestValue}");
        Assert.Equal(study.BestTrial.Params, study.BestParams);
        Assert.Equal(-1, study.BestParams["y"]);
        Assert.IsType<double>(study.BestParams["x"]);
        Assert.Equal(study.Trials.Min(t => t.Value), study.BestValue);
    }

    [Fact]
    public void Maximising_picks_the_largest_value_and_ties_go_to_the_first_trial()
    {
        var study = NewStudy(new RandomSampler(3), StudyDirection.Maximize);
        var values = new[] { 1.0, 5.0, 5.0, 2.0 };
        foreach (var v in values) study.Tell(study.Ask(), v);
        Assert.Equal(1, study.BestTrial.Number);
        Assert.Equal(5.0, study.BestValue);
        var min = NewStudy(new RandomSampler(3));
        foreach (var v in values) min.Tell(min.Ask(), v);
        Assert.Equal(0, min.BestTrial.Number);
    }

    [Fact]
    public void A_failing_objective_is_recorded_with_its_message_and_the_study_goes_on()
    {
        var study = NewStudy(new RandomSampler(0));
        var seen = new ConcurrentBag<TrialFinishedEventArgs>();
        study.TrialFinished += (_, e) => seen.Add(e);
        study.Optimize(t =>
        {
            var x = t.SuggestFloat("x", 0, 1);
            if (t.Number % 3 == 1) throw new InvalidOperationException($"diverged at trial {t.Number}");
            return t.Number == 2 ? double.NaN : x;
        }, trials: 9);
        var trials = study.Trials;
        Assert.Equal(9, trials.Count);
        Assert.Equal([1, 2, 4, 7], trials.Where(t => t.State == TrialState.Fail).Select(t => t.Number));
        Assert.Equal("InvalidOperationException: diverged at trial 4", trials[4].FailReason);
        Assert.Equal("the objective returned NaN", trials[2].FailReason);
        Assert.Null(trials[4].Value);
        Assert.True(trials[4].Params.ContainsKey("x"));
        Assert.Equal(9, seen.Count);
        Assert.IsType<InvalidOperationException>(seen.Single(e => e.Trial.Number == 4).Exception);
        Assert.Null(seen.Single(e => e.Trial.Number == 0).Exception);
        Assert.Equal(TrialState.Complete, study.BestTrial.State);
    }

    [Fact]
    public void An_exception_the_catch_rule_rejects_is_recorded_then_stops_the_study_and_is_rethrown()
    {
        var study = NewStudy(new RandomSampler(0));
        var options = new OptimizeOptions { Catch = ex => ex is not OutOfMemoryException };
        var thrown = Assert.Throws<OutOfMemoryException>(() => study.Optimize(t =>
        {
            if (t.Number == 3) throw new OutOfMemoryException("too big");
            if (t.Number == 1) throw new ArgumentException("caught");
            return t.SuggestFloat("x", 0, 1);
        }, trials: 10, options: options));
        Assert.Equal("too big", thrown.Message);
        var trials = study.Trials;
        Assert.Equal(4, trials.Count);
        Assert.Equal(TrialState.Fail, trials[1].State);
        Assert.Equal(TrialState.Fail, trials[3].State);
        Assert.Equal("OutOfMemoryException: too big", trials[3].FailReason);
    }

    [Fact]
    public void Trial_pruned_exception_records_the_trial_as_pruned_with_its_values()
    {
        var study = NewStudy(new RandomSampler(0), pruner: new MedianPruner(new MedianPrunerOptions { StartupTrials = 2 }));
        study.Optimize(t =>
        {
            var quality = t.Number switch { 0 => 0.1, 1 => 0.2, _ => 1.0 + t.Number };
            for (var step = 0; step < 5; step++)
            {
                t.Report(step, quality * (5 - step));
                if (t.ShouldPrune()) throw new TrialPrunedException();
            }
            return quality;
        }, trials: 4);
        var trials = study.Trials;
        Assert.Equal([TrialState.Complete, TrialState.Complete, TrialState.Pruned, TrialState.Pruned], trials.Select(t => t.State));
        Assert.Equal([0L], trials[2].IntermediateValues.Keys);
        Assert.Null(trials[2].FailReason);
    }

    [Fact]
    public void Enqueued_trials_run_first_with_their_values_and_the_rest_sampled()
    {
        var study = NewStudy(new RandomSampler(4));
        study.EnqueueTrial(new Dictionary<string, object?> { ["x"] = 1.5, ["act"] = "gelu" }, new Dictionary<string, object?> { ["source"] = "paper" });
        study.EnqueueTrial(new Dictionary<string, object?> { ["x"] = 3 });
        study.Optimize(t => t.SuggestFloat("x", 0, 4) + (t.SuggestCategorical("act", "relu", "gelu") == "gelu" ? 0 : 1) + t.SuggestInt("n", 1, 3), trials: 4);
        var trials = study.Trials;
        Assert.Equal(1.5, trials[0].Params["x"]);
        Assert.Equal("gelu", trials[0].Params["act"]);
        Assert.Equal("paper", trials[0].UserAttributes["source"]);
        Assert.Equal(3.0, trials[1].Params["x"]);
        Assert.Contains(trials[1].Params["act"], new object?[] { "relu", "gelu" });
        Assert.All(trials, t => Assert.Equal(TrialState.Complete, t.State));
    }

    [Fact]
    public void An_enqueued_value_outside_the_range_fails_its_trial_with_a_clear_reason()
    {
        var study = NewStudy(new RandomSampler(4));
        study.EnqueueTrial(new Dictionary<string, object?> { ["x"] = 7.0 });
        study.EnqueueTrial(new Dictionary<string, object?> { ["x"] = "seven" });
        study.Optimize(t => t.SuggestFloat("x", 0, 4), trials: 3);
        var trials = study.Trials;
        Assert.Equal(TrialState.Fail, trials[0].State);
        Assert.Contains("enqueued value 7 of 'x'", trials[0].FailReason, StringComparison.Ordinal);
        Assert.Contains("'seven' is not a number", trials[1].FailReason, StringComparison.Ordinal);
        Assert.Equal(TrialState.Complete, trials[2].State);
    }

    [Fact]
    public void Ask_and_tell_drive_the_study_by_hand()
    {
        var study = NewStudy(new TpeSampler(new TpeOptions { Seed = 2, StartupTrials = 3 }));
        for (var i = 0; i < 12; i++)
        {
            var trial = study.Ask();
            var x = trial.SuggestFloat("x", -3, 3);
            trial.SetUserAttribute("i", i);
            var told = study.Tell(trial, x * x);
            Assert.Equal(TrialState.Complete, told.State);
            Assert.Equal((long)i, told.UserAttributes["i"]);
        }
        var fixedTrial = study.Ask(new Dictionary<string, Distribution> { ["x"] = new FloatDistribution(-3, 3) });
        Assert.True(fixedTrial.Params.ContainsKey("x"));
        var pruned = study.Tell(fixedTrial, TrialState.Pruned);
        Assert.Equal(TrialState.Pruned, pruned.State);
        var failing = study.Ask();
        Assert.Equal("out of memory on GPU", study.Tell(failing, TrialState.Fail, failReason: "out of memory on GPU").FailReason);
        Assert.Equal(TrialState.Complete, study.Tell(study.Ask(), TrialState.Complete, 4.0).State);

        var again = Assert.Throws<UsageException>(() => study.Tell(fixedTrial, 1.0));
        Assert.Contains("already told", again.Message, StringComparison.Ordinal);
        Assert.Throws<UsageException>(() => study.Tell(study.Ask(), TrialState.Complete));
        Assert.Throws<UsageException>(() => fixedTrial.SuggestFloat("z", 0, 1));
        Assert.Throws<UsageException>(() => fixedTrial.Report(1, 0.5));
        Assert.Throws<UsageException>(() => fixedTrial.SetUserAttribute("k", 1));
        var foreign = NewStudy().Ask();
        Assert.Throws<UsageException>(() => study.Tell(foreign, 1.0));
    }

    [Fact]
    public void A_parameter_asked_twice_keeps_its_value_and_a_changed_range_or_kind_is_refused()
    {
        var study = NewStudy(new RandomSampler(1));
        var trial = study.Ask();
        var first = trial.SuggestFloat("lr", 1e-4, 1, log: true);
        Assert.Equal(first, trial.SuggestFloat("lr", 1e-4, 1, log: true));
        Assert.Throws<UsageException>(() => trial.SuggestFloat("lr", 1e-3, 1, log: true));
        Assert.Throws<UsageException>(() => trial.SuggestInt("lr", 1, 3));
        Assert.Throws<UsageException>(() => trial.SuggestFloat("", 0, 1));
        study.Tell(trial, 1);
        var next = study.Ask();
        var kind = Assert.Throws<UsageException>(() => next.SuggestInt("lr", 1, 3));
        Assert.Contains("int here but float", kind.Message, StringComparison.Ordinal);
        var bad = Assert.Throws<UsageException>(() => next.SuggestFloat("wd", 1, 0, log: true));
        Assert.StartsWith("parameter 'wd': float distribution: low (1) is above high (0)", bad.Message, StringComparison.Ordinal);
        // Single-valued distributions need no sampler.
        Assert.Equal(3, next.SuggestInt("fixed", 3, 3));
        Assert.Equal("only", next.SuggestCategorical("one", "only"));
        Assert.Equal(0.5, next.SuggestFloat("point", 0.5, 0.5));
    }

    [Fact]
    public void Categorical_choices_come_back_as_given_and_are_stored_in_their_plain_form()
    {
        var study = NewStudy(new RandomSampler(8));
        var seen = new HashSet<DayOfWeek>();
        study.Optimize(t =>
        {
            var day = t.SuggestCategorical("day", DayOfWeek.Monday, DayOfWeek.Friday);
            var width = t.SuggestCategorical("width", 16, 32, 64);
            var flag = t.SuggestCategorical("flag", true, false);
            seen.Add(day);
            return width + (flag ? 1 : 0);
        }, trials: 12);
        Assert.Equal(2, seen.Count);
        var trial = study.Trials[0];
        Assert.IsType<string>(trial.Params["day"]);
        Assert.IsType<long>(trial.Params["width"]);
        Assert.IsType<bool>(trial.Params["flag"]);
        Assert.Equal(16.0, study.BestValue);
    }

    [Fact]
    public void Trials_export_as_a_table_and_as_json()
    {
        var study = Study.Create(new StudyOptions { Name = "export", Sampler = new RandomSampler(2) });
        study.Optimize(t =>
        {
            t.SuggestFloat("lr", 1e-3, 1e-1, log: true);
            t.SuggestCategorical("act", "relu", "gelu");
            t.Report(0, 0.9);
            t.SetUserAttribute("epochs", 3);
            if (t.Number == 1) throw new InvalidOperationException("boom, \"quoted\"");
            return t.Number;
        }, trials: 3);
        var table = study.ToTable();
        Assert.Equal(["number", "state", "value", "params.act", "params.lr", "duration_s", "fail_reason"], table.Columns);
        Assert.Equal(3, table.Rows.Count);
        Assert.Equal("FAIL", table.Rows[1][1]);
        Assert.Equal(2.0, table.Rows[2][2]);
        var csv = table.ToCsv().Split('\n');
        Assert.Equal("number,state,value,params.act,params.lr,duration_s,fail_reason", csv[0].TrimEnd('\r'));
        Assert.Contains("\"InvalidOperationException: boom, \"\"quoted\"\"\"", csv[2], StringComparison.Ordinal);
        var text = table.ToString();
        Assert.StartsWith("number  state", text, StringComparison.Ordinal);
        Assert.Contains("COMPLETE", text, StringComparison.Ordinal);

        using var json = JsonDocument.Parse(study.ToJson());
        var root = json.RootElement;
        Assert.Equal("export", root.GetProperty("study").GetString());
        Assert.Equal("minimize", root.GetProperty("direction").GetString());
        Assert.Equal(0.0, root.GetProperty("bestValue").GetDouble());
        Assert.Equal(0, root.GetProperty("bestTrial").GetInt32());
        Assert.Equal(study.BestParams["act"], root.GetProperty("bestParams").GetProperty("act").GetString());
        Assert.Equal(1, root.GetProperty("counts").GetProperty("fail").GetInt32());
        var trials = root.GetProperty("trials");
        Assert.Equal(3, trials.GetArrayLength());
        Assert.Equal("FAIL", trials[1].GetProperty("state").GetString());
        Assert.Equal(JsonValueKind.Null, trials[1].GetProperty("value").ValueKind);
        Assert.Equal("InvalidOperationException: boom, \"quoted\"", trials[1].GetProperty("failReason").GetString());
        Assert.Equal(0.9, trials[0].GetProperty("intermediateValues").GetProperty("0").GetDouble());
        Assert.Equal(3, trials[0].GetProperty("userAttributes").GetProperty("epochs").GetInt32());
        Assert.True(trials[0].GetProperty("durationSeconds").GetDouble() >= 0);

        var empty = Study.Create();
        using var emptyJson = JsonDocument.Parse(empty.ToJson());
        Assert.Equal(JsonValueKind.Null, emptyJson.RootElement.GetProperty("bestValue").ValueKind);
        var none = Assert.Throws<ForgeException>(() => empty.BestTrial);
        Assert.Contains("no COMPLETE trial", none.Message, StringComparison.Ordinal);
        Assert.StartsWith("number  state  value  duration_s  fail_reason", empty.ToTable().ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Parallel_workers_complete_exactly_the_requested_trials()
    {
        var study = NewStudy(new TpeSampler(new TpeOptions { Seed = 5, StartupTrials = 4 }));
        var threads = new ConcurrentDictionary<int, bool>();
        var finished = study.Optimize(t =>
        {
            threads[Environment.CurrentManagedThreadId] = true;
            Thread.Sleep(2);
            return Quadratic(t);
        }, trials: 40, parallelism: 4);
        Assert.Equal(40, finished.Count);
        Assert.Equal(Enumerable.Range(0, 40), study.Trials.Select(t => t.Number));
        Assert.All(study.Trials, t => Assert.Equal(TrialState.Complete, t.State));
        Assert.True(threads.Count > 1, "the objective ran on one thread only");
    }

    [Fact]
    public async Task The_async_form_runs_parallel_workers_and_passes_the_token()
    {
        var study = NewStudy(new RandomSampler(5));
        using var source = new CancellationTokenSource();
        var finished = await study.OptimizeAsync(async (t, token) =>
        {
            Assert.Equal(source.Token, token);
            await Task.Delay(1, token);
            return t.SuggestFloat("x", 0, 1);
        }, trials: 12, parallelism: 3, cancellationToken: source.Token);
        Assert.Equal(12, finished.Count);
        Assert.Equal(12, study.Trials.Count);
    }

    [Fact]
    public void A_study_wide_limit_counts_trials_already_in_the_study()
    {
        var storage = new InMemoryStudyStorage();
        var first = Study.Create(new StudyOptions { Name = "shared", Storage = storage, Sampler = new RandomSampler(1) });
        first.Optimize(t => t.SuggestFloat("x", 0, 1), trials: 7);
        var second = Study.Create(new StudyOptions { Name = "shared", Storage = storage, LoadIfExists = true, Sampler = new RandomSampler(2) });
        var ran = second.Optimize(t => t.SuggestFloat("x", 0, 1), trials: 10, parallelism: 3, options: new OptimizeOptions { StudyWideTrialLimit = true });
        Assert.Equal(3, ran.Count);
        Assert.Equal(10, second.Trials.Count);
        Assert.Empty(second.Optimize(t => 0, trials: 10, options: new OptimizeOptions { StudyWideTrialLimit = true }));
        var loaded = Study.Load("shared", storage);
        Assert.Equal(StudyDirection.Minimize, loaded.Direction);
        Assert.Equal(10, loaded.Trials.Count);
        Assert.Throws<NotFoundException>(() => Study.Load("sharde", storage));
        Assert.Throws<UsageException>(() => Study.Create(new StudyOptions { Name = "shared", Storage = storage }));
    }

    [Fact]
    public void Timeout_stop_and_cancellation_end_the_optimisation()
    {
        var timed = NewStudy(new RandomSampler(1));
        var ran = timed.Optimize(t =>
        {
            Thread.Sleep(20);
            return 0;
        }, trials: 10_000, options: new OptimizeOptions { Timeout = TimeSpan.FromMilliseconds(100) });
        Assert.InRange(ran.Count, 1, 1000);

        var stopped = NewStudy(new RandomSampler(1));
        Assert.Equal(3, stopped.Optimize(t =>
        {
            if (t.Number == 2) t.Study.Stop();
            return 0;
        }, trials: 50).Count);

        var cancelled = NewStudy(new RandomSampler(1));
        using var source = new CancellationTokenSource();
        Assert.Throws<OperationCanceledException>(() => cancelled.Optimize(t =>
        {
            if (t.Number == 4) source.Cancel();
            return 0;
        }, trials: 50, cancellationToken: source.Token));
        Assert.Equal(5, cancelled.Trials.Count);
        var interrupted = NewStudy(new RandomSampler(1));
        using var source2 = new CancellationTokenSource();
        Assert.ThrowsAny<OperationCanceledException>(() => interrupted.Optimize(t =>
        {
            source2.Cancel();
            source2.Token.ThrowIfCancellationRequested();
            return 0;
        }, trials: 50, cancellationToken: source2.Token));
        Assert.Equal("the optimisation was cancelled while the trial ran", interrupted.Trials.Single().FailReason);
    }

    [Fact]
    public void Options_are_validated_with_every_problem_listed()
    {
        var study = Assert.Throws<UsageException>(() => Study.Create(new StudyOptions
        {
            Name = "",
            HeartbeatInterval = TimeSpan.Zero,
            StaleTrialRetries = -1,
        }));
        foreach (var word in new[] { "Name", "HeartbeatInterval", "StaleTrialRetries" }) Assert.Contains(word, study.Message, StringComparison.Ordinal);
        Assert.Contains("needs a HeartbeatInterval", Assert.Throws<UsageException>(() => new StudyOptions { HeartbeatGracePeriod = TimeSpan.FromSeconds(1) }.Validate()).Message, StringComparison.Ordinal);
        Assert.Contains("at least the HeartbeatInterval", Assert.Throws<UsageException>(() => new StudyOptions { HeartbeatInterval = TimeSpan.FromSeconds(2), HeartbeatGracePeriod = TimeSpan.FromSeconds(1) }.Validate()).Message, StringComparison.Ordinal);
        Assert.Contains("needs a HeartbeatInterval", Assert.Throws<UsageException>(() => new StudyOptions { StaleTrialRetries = 1 }.Validate()).Message, StringComparison.Ordinal);
        Assert.Equal(TimeSpan.FromSeconds(4), new StudyOptions { HeartbeatInterval = TimeSpan.FromSeconds(2) }.EffectiveGracePeriod);
        Assert.Null(new StudyOptions().EffectiveGracePeriod);
        Assert.Throws<UsageException>(() => new OptimizeOptions { Timeout = TimeSpan.Zero }.Validate());
        var s = NewStudy();
        Assert.Throws<ArgumentOutOfRangeException>(() => s.Optimize(_ => 0, trials: -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => s.Optimize(_ => 0, trials: 1, parallelism: 0));
        Assert.StartsWith("study-", Study.Create().Name, StringComparison.Ordinal);
        Assert.IsType<TpeSampler>(Study.Create().Sampler);
        Assert.IsType<MedianPruner>(Study.Create().Pruner);
        Assert.IsType<InMemoryStudyStorage>(Study.Create().Storage);
    }

    [Fact]
    public void Study_attributes_are_kept_in_the_storage()
    {
        var study = NewStudy();
        study.SetAttribute("trackingRun", "abc123");
        study.SetAttribute("trials", 50);
        Assert.Equal("\"abc123\"", study.Attributes["trackingRun"]);
        Assert.Equal("50", study.Attributes["trials"]);
    }

    [Fact]
    public void A_silent_worker_trial_is_failed_after_the_grace_period_and_retried_with_its_params()
    {
        var storage = new InMemoryStudyStorage();
        var options = new StudyOptions
        {
            Name = "beats",
            Storage = storage,
            Sampler = new RandomSampler(3),
            HeartbeatInterval = TimeSpan.FromMilliseconds(20),
            HeartbeatGracePeriod = TimeSpan.FromMilliseconds(60),
            StaleTrialRetries = 1,
        };
        var study = Study.Create(options);
        // A worker that died: its trial was started with a heartbeat, got a parameter and then nothing more.
        var dead = storage.StartTrial(study.Id, new TrialStartRequest { Heartbeat = true })!;
        storage.SetTrialParam(dead.TrialId, "x", 0.25, new FloatDistribution(0, 1));
        Thread.Sleep(150);
        var finished = new ConcurrentBag<FrozenTrial>();
        study.TrialFinished += (_, e) => finished.Add(e.Trial);
        // A live worker beats while its objective takes longer than the grace period, so it is never failed.
        study.Optimize(t =>
        {
            var x = t.SuggestFloat("x", 0, 1);
            Thread.Sleep(t.Number == 1 ? 200 : 0);
            return x;
        }, trials: 3);
        var trials = study.Trials;
        Assert.Equal(TrialState.Fail, trials[0].State);
        Assert.Contains("no heartbeat", trials[0].FailReason, StringComparison.Ordinal);
        Assert.True(trials[0].Retried);
        // The retry ran first, with the dead trial's value.
        Assert.Equal(TrialState.Complete, trials[1].State);
        Assert.Equal(0.25, trials[1].Params["x"]);
        Assert.Equal("0", trials[1].SystemAttributes[FrozenTrial.RetryOfKey]);
        Assert.All(trials.Skip(1), t => Assert.Equal(TrialState.Complete, t.State));
        Assert.Contains(finished, t => t.Number == 0 && t.State == TrialState.Fail);
        Assert.Null(study.LastHeartbeatError);
        Assert.Empty(study.FailStaleTrials());
    }

    [Fact]
    public void A_stale_trial_is_retried_at_most_the_allowed_number_of_times()
    {
        var storage = new InMemoryStudyStorage();
        var study = Study.Create(new StudyOptions
        {
            Storage = storage,
            HeartbeatInterval = TimeSpan.FromMilliseconds(10),
            HeartbeatGracePeriod = TimeSpan.FromMilliseconds(30),
            StaleTrialRetries = 1,
        });
        var dead = storage.StartTrial(study.Id, new TrialStartRequest { Heartbeat = true })!;
        Thread.Sleep(80);
        Assert.Single(study.FailStaleTrials());
        // The retry is taken by a worker that dies too: no second retry.
        var retry = storage.StartTrial(study.Id, new TrialStartRequest { Heartbeat = true })!;
        Assert.Equal("0", retry.SystemAttributes[FrozenTrial.RetryOfKey]);
        Thread.Sleep(80);
        Assert.Single(study.FailStaleTrials());
        Assert.DoesNotContain(study.Trials, t => t.State == TrialState.Waiting);
        Assert.Equal(2, study.Trials.Count);
        Assert.NotEqual(dead.TrialId, retry.TrialId);
        // Without heartbeats there is nothing to find.
        Assert.Empty(NewStudy().FailStaleTrials());
    }
}
