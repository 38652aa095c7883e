using System.Collections.Concurrent;
using Forge.Core;
using Forge.Tuning;

namespace Forge.Tests.Shared;

/// <summary>A storage under test and a way to open a second handle on the same data (another "process").</summary>
public interface IStorageLease : IDisposable
{
    IStudyStorage Storage { get; }

    /// <summary>A new storage object over the same studies (for the in-memory storage: the same object).</summary>
    IStudyStorage OpenAnother();

    /// <summary>Lets time pass for the storage's clock (a real sleep for databases, a clock step for a fake clock).</summary>
    void Wait(TimeSpan time);
}

/// <summary>
/// The one conformance suite every <see cref="IStudyStorage"/> passes. Tests/Forge.Tuning.Tests runs it on the in-memory
/// storage; tests/Forge.Tracking.Tests on SQLite and PostgreSQL. Each test gets a fresh, empty storage.
/// </summary>
public abstract class StudyStorageConformance
{
    /// <summary>A fresh, empty storage of the given backend.</summary>
    protected abstract IStorageLease Create(string backend);

    private static readonly FloatDistribution Lr = new(1e-5, 1e-1, log: true);
    private static readonly IntDistribution Depth = new(2, 10, step: 2);
    private static readonly CategoricalDistribution Act = new(["relu", "gelu", 3L, null]);

    [Theory, LocalStudyBackend, ServerStudyBackend]
    public void Studies_are_created_once_listed_by_name_and_deleted(string backend)
    {
        using var lease = Create(backend);
        var s = lease.Storage;
        var a = s.CreateStudy("mnist-lr", StudyDirection.Maximize, loadIfExists: false);
        var b = s.CreateStudy("adult", StudyDirection.Minimize, loadIfExists: false);
        Assert.NotEqual(a.Id, b.Id);
        Assert.Equal(StudyDirection.Maximize, a.Direction);
        Assert.Equal(a.Id, s.CreateStudy("mnist-lr", StudyDirection.Maximize, loadIfExists: true).Id);
        Assert.Equal(["adult", "mnist-lr"], s.ListStudies().Select(x => x.Name));
        Assert.Equal(StudyDirection.Maximize, s.GetStudy("mnist-lr").Direction);

        var taken = Assert.Throws<UsageException>(() => s.CreateStudy("mnist-lr", StudyDirection.Maximize, loadIfExists: false));
        Assert.Contains("already exists", taken.Message, StringComparison.Ordinal);
        var direction = Assert.Throws<UsageException>(() => s.CreateStudy("mnist-lr", StudyDirection.Minimize, loadIfExists: true));
        Assert.Contains("maximize", direction.Message, StringComparison.Ordinal);
        Assert.Throws<UsageException>(() => s.CreateStudy("", StudyDirection.Minimize, loadIfExists: false));
        var unknown = Assert.Throws<NotFoundException>(() => s.GetStudy("mnist-l"));
        Assert.Equal("mnist-lr", unknown.Suggestion);

        s.SetStudyAttribute(a.Id, "run", "\"abc\"");
        s.SetStudyAttribute(a.Id, "run", "\"def\"");
        Assert.Equal("\"def\"", s.GetStudy("mnist-lr").Attributes["run"]);

        var trial = s.StartTrial(a.Id, new TrialStartRequest())!;
        s.SetTrialParam(trial.TrialId, "lr", 0.01, Lr);
        s.DeleteStudy("mnist-lr");
        Assert.Equal(["adult"], s.ListStudies().Select(x => x.Name));
        Assert.Throws<NotFoundException>(() => s.GetStudy("mnist-lr"));
        Assert.Throws<NotFoundException>(() => s.DeleteStudy("mnist-lr"));
        // The name is free again, and the new study starts with no trials.
        var again = s.CreateStudy("mnist-lr", StudyDirection.Minimize, loadIfExists: false);
        Assert.Empty(s.GetTrials(again.Id));
    }

    [Theory, LocalStudyBackend, ServerStudyBackend]
    public void Trials_are_numbered_in_order_and_keep_params_values_and_attributes(string backend)
    {
        using var lease = Create(backend);
        var s = lease.Storage;
        var study = s.CreateStudy("s", StudyDirection.Minimize, false);
        var other = s.CreateStudy("other", StudyDirection.Minimize, false);
        var t0 = s.StartTrial(study.Id, new TrialStartRequest())!;
        var o0 = s.StartTrial(other.Id, new TrialStartRequest())!;
        var t1 = s.StartTrial(study.Id, new TrialStartRequest())!;
        Assert.Equal([0, 1], new[] { t0.Number, t1.Number });
        Assert.Equal(0, o0.Number);
        Assert.Equal(TrialState.Running, t0.State);
        Assert.NotNull(t0.Started);
        Assert.Null(t0.Heartbeat);

        s.SetTrialParam(t0.TrialId, "lr", 0.003, Lr);
        s.SetTrialParam(t0.TrialId, "depth", 6, Depth);
        s.SetTrialParam(t0.TrialId, "act", 2, Act);
        s.SetTrialParam(t0.TrialId, "lr", 0.003, Lr); // the same value again is fine
        var refused = Assert.Throws<UsageException>(() => s.SetTrialParam(t0.TrialId, "lr", 0.004, Lr));
        Assert.Contains("'lr'", refused.Message, StringComparison.Ordinal);
        s.ReportIntermediateValue(t0.TrialId, 1, 0.9);
        s.ReportIntermediateValue(t0.TrialId, 0, double.NaN);
        s.ReportIntermediateValue(t0.TrialId, 1, 0.1); // the first value of a step is kept
        s.ReportIntermediateValue(t0.TrialId, 5, double.PositiveInfinity);
        s.SetTrialUserAttribute(t0.TrialId, "note", ScalarValues.ToJson("fast"));
        s.SetTrialUserAttribute(t0.TrialId, "epochs", ScalarValues.ToJson(7));
        s.SetTrialSystemAttribute(t0.TrialId, "grid_id", "12");
        Assert.True(s.FinishTrial(t0.TrialId, TrialState.Complete, 0.25, null));

        var stored = s.GetTrial(t0.TrialId);
        Assert.Equal(TrialState.Complete, stored.State);
        Assert.Equal(0.25, stored.Value);
        Assert.NotNull(stored.Completed);
        Assert.True(stored.Completed >= stored.Started);
        Assert.Equal(0.003, (double)stored.Params["lr"]!, 15);
        Assert.Equal(6, stored.Params["depth"]);
        Assert.Equal(3L, stored.Params["act"]);
        Assert.Equal(2.0, stored.InternalParams["act"]);
        Assert.Equal(Lr, stored.Distributions["lr"]);
        Assert.Equal(Depth, stored.Distributions["depth"]);
        Assert.Equal(Act, stored.Distributions["act"]);
        Assert.Equal([0L, 1, 5], stored.IntermediateValues.Keys);
        Assert.True(double.IsNaN(stored.IntermediateValues[0]));
        Assert.Equal(0.9, stored.IntermediateValues[1]);
        Assert.Equal(double.PositiveInfinity, stored.IntermediateValues[5]);
        Assert.Equal(5, stored.LastStep);
        Assert.Equal("fast", stored.UserAttributes["note"]);
        Assert.Equal(7L, stored.UserAttributes["epochs"]);
        Assert.Equal("12", stored.SystemAttributes["grid_id"]);

        // A finished trial never changes again.
        Assert.False(s.FinishTrial(t0.TrialId, TrialState.Fail, null, "late"));
        Assert.Throws<UsageException>(() => s.SetTrialParam(t0.TrialId, "wd", 0.1, new FloatDistribution(0, 1)));
        Assert.Throws<UsageException>(() => s.ReportIntermediateValue(t0.TrialId, 9, 1));
        Assert.Throws<UsageException>(() => s.SetTrialUserAttribute(t0.TrialId, "x", "1"));
        Assert.Equal(TrialState.Complete, s.GetTrial(t0.TrialId).State);

        Assert.Throws<UsageException>(() => s.FinishTrial(t1.TrialId, TrialState.Complete, null, null));
        Assert.Throws<UsageException>(() => s.FinishTrial(t1.TrialId, TrialState.Running, null, null));
        Assert.True(s.FinishTrial(t1.TrialId, TrialState.Fail, null, "ValueError: boom"));
        Assert.Equal("ValueError: boom", s.GetTrial(t1.TrialId).FailReason);
        Assert.Null(s.GetTrial(t1.TrialId).Value);

        Assert.Equal([0, 1], s.GetTrials(study.Id).Select(t => t.Number));
        Assert.Single(s.GetTrials(other.Id));
        Assert.Throws<NotFoundException>(() => s.GetTrial(987654321));
    }

    [Theory, LocalStudyBackend, ServerStudyBackend]
    public void Infinite_values_and_pruned_trials_round_trip(string backend)
    {
        using var lease = Create(backend);
        var s = lease.Storage;
        var study = s.CreateStudy("s", StudyDirection.Minimize, false);
        var a = s.StartTrial(study.Id, new TrialStartRequest())!;
        var b = s.StartTrial(study.Id, new TrialStartRequest())!;
        Assert.True(s.FinishTrial(a.TrialId, TrialState.Complete, double.NegativeInfinity, null));
        s.ReportIntermediateValue(b.TrialId, 3, 0.5);
        Assert.True(s.FinishTrial(b.TrialId, TrialState.Pruned, null, null));
        Assert.Equal(double.NegativeInfinity, s.GetTrial(a.TrialId).Value);
        var pruned = s.GetTrial(b.TrialId);
        Assert.Equal(TrialState.Pruned, pruned.State);
        Assert.Null(pruned.Value);
        Assert.Equal(0.5, pruned.IntermediateValues[3]);
    }

    [Theory, LocalStudyBackend, ServerStudyBackend]
    public void Waiting_trials_are_handed_out_first_oldest_first_and_only_once(string backend)
    {
        using var lease = Create(backend);
        var s = lease.Storage;
        var study = s.CreateStudy("s", StudyDirection.Minimize, false);
        var running = s.StartTrial(study.Id, new TrialStartRequest())!;
        var fixedA = new Dictionary<string, string> { [FrozenTrial.FixedParamsKey] = "{\"lr\": 0.01}" };
        var w1 = s.EnqueueTrial(study.Id, fixedA, new Dictionary<string, string> { ["source"] = "\"known-good\"" });
        var w2 = s.EnqueueTrial(study.Id, new Dictionary<string, string>(), new Dictionary<string, string>());
        Assert.Equal(TrialState.Waiting, w1.State);
        Assert.Equal([1, 2], new[] { w1.Number, w2.Number });
        Assert.Null(s.GetTrial(w1.TrialId).Started);

        var first = s.StartTrial(study.Id, new TrialStartRequest { Heartbeat = true })!;
        Assert.Equal(w1.TrialId, first.TrialId);
        Assert.Equal(TrialState.Running, first.State);
        Assert.NotNull(first.Started);
        Assert.NotNull(first.Heartbeat);
        Assert.Equal(0.01, first.FixedParams["lr"]);
        Assert.Equal("known-good", first.UserAttributes["source"]);
        Assert.Equal(w2.TrialId, s.StartTrial(study.Id, new TrialStartRequest())!.TrialId);
        var fresh = s.StartTrial(study.Id, new TrialStartRequest())!;
        Assert.Equal(3, fresh.Number);
        Assert.Equal(0, running.Number);
        Assert.DoesNotContain(s.GetTrials(study.Id), t => t.State == TrialState.Waiting);
    }

    [Theory, LocalStudyBackend, ServerStudyBackend]
    public void A_trial_limit_stops_new_trials_but_not_waiting_ones(string backend)
    {
        using var lease = Create(backend);
        var s = lease.Storage;
        var study = s.CreateStudy("s", StudyDirection.Minimize, false);
        var limit = new TrialStartRequest { MaxTrials = 3 };
        Assert.NotNull(s.StartTrial(study.Id, limit));
        Assert.NotNull(s.StartTrial(study.Id, limit));
        var third = s.StartTrial(study.Id, limit)!;
        Assert.Null(s.StartTrial(study.Id, limit));
        Assert.NotNull(s.StartTrial(study.Id, new TrialStartRequest { MaxTrials = 4 }));
        Assert.Null(s.StartTrial(study.Id, new TrialStartRequest { MaxTrials = 4 }));

        // A failed trial that is retried no longer counts; its retry (waiting) does, and is handed out even at the limit.
        s.FinishTrial(third.TrialId, TrialState.Fail, null, "worker died");
        var retry = s.RetryTrial(third.TrialId)!;
        Assert.Equal(TrialState.Waiting, retry.State);
        Assert.Equal(retry.TrialId, s.StartTrial(study.Id, new TrialStartRequest { MaxTrials = 4 })!.TrialId);
        Assert.Null(s.StartTrial(study.Id, new TrialStartRequest { MaxTrials = 4 }));
        Assert.Equal(5, s.GetTrials(study.Id).Count);
    }

    [Theory, LocalStudyBackend, ServerStudyBackend]
    public void Stale_trials_are_failed_once_and_can_be_retried_with_their_params(string backend)
    {
        using var lease = Create(backend);
        var s = lease.Storage;
        var study = s.CreateStudy("s", StudyDirection.Minimize, false);
        var beating = s.StartTrial(study.Id, new TrialStartRequest { Heartbeat = true })!;
        var silent = s.StartTrial(study.Id, new TrialStartRequest { Heartbeat = true })!;
        var noBeat = s.StartTrial(study.Id, new TrialStartRequest())!;
        s.SetTrialParam(silent.TrialId, "lr", 0.02, Lr);
        s.SetTrialParam(silent.TrialId, "act", 1, Act);
        s.SetTrialSystemAttribute(silent.TrialId, "grid_id", "4");
        // Generous margins: the silent trial is over a second old, the live one is beaten just before each look, and
        // the grace period sits between, so a slow database cannot turn the live trial stale.
        lease.Wait(TimeSpan.FromMilliseconds(1200));
        var grace = TimeSpan.FromMilliseconds(600);
        s.RecordHeartbeat(beating.TrialId);
        Assert.Empty(s.FailStaleTrials(study.Id, TimeSpan.FromHours(1)));

        s.RecordHeartbeat(beating.TrialId);
        var failed = s.FailStaleTrials(study.Id, grace);
        var stale = Assert.Single(failed);
        Assert.Equal(silent.TrialId, stale.TrialId);
        Assert.Equal(TrialState.Fail, stale.State);
        Assert.Contains("heartbeat", stale.FailReason, StringComparison.Ordinal);
        s.RecordHeartbeat(beating.TrialId);
        Assert.Empty(lease.OpenAnother().FailStaleTrials(study.Id, grace));
        Assert.Equal(TrialState.Running, s.GetTrial(noBeat.TrialId).State);
        Assert.Equal(TrialState.Running, s.GetTrial(beating.TrialId).State);
        Assert.False(s.FinishTrial(silent.TrialId, TrialState.Complete, 1.0, null)); // the slow worker's late result is refused

        var retry = s.RetryTrial(silent.TrialId)!;
        Assert.Equal(TrialState.Waiting, retry.State);
        Assert.Equal(3, retry.Number);
        Assert.Equal(0.02, (double)retry.FixedParams["lr"]!, 15);
        Assert.Equal("gelu", retry.FixedParams["act"]);
        Assert.Equal("1", retry.SystemAttributes[FrozenTrial.RetryOfKey]);
        Assert.Equal("4", retry.SystemAttributes["grid_id"]);
        Assert.True(s.GetTrial(silent.TrialId).Retried);
        Assert.Null(s.RetryTrial(silent.TrialId));
        Assert.Null(s.RetryTrial(beating.TrialId));

        // A retry of a retry still names the original trial.
        var started = s.StartTrial(study.Id, new TrialStartRequest { Heartbeat = true })!;
        Assert.Equal(retry.TrialId, started.TrialId);
        s.FinishTrial(started.TrialId, TrialState.Fail, null, "again");
        Assert.Equal("1", s.RetryTrial(started.TrialId)!.SystemAttributes[FrozenTrial.RetryOfKey]);
    }

    [Theory, LocalStudyBackend, ServerStudyBackend]
    public void Claims_are_granted_once_per_study(string backend)
    {
        using var lease = Create(backend);
        var s = lease.Storage;
        var study = s.CreateStudy("s", StudyDirection.Minimize, false);
        var other = s.CreateStudy("other", StudyDirection.Minimize, false);
        var t = s.StartTrial(study.Id, new TrialStartRequest())!;
        var u = s.StartTrial(other.Id, new TrialStartRequest())!;
        Assert.True(s.TryClaim(study.Id, "grid:3", t.TrialId));
        Assert.False(s.TryClaim(study.Id, "grid:3", t.TrialId));
        Assert.False(lease.OpenAnother().TryClaim(study.Id, "grid:3", t.TrialId));
        Assert.True(s.TryClaim(other.Id, "grid:3", u.TrialId));
        Assert.True(s.TryClaim(study.Id, "grid:0", t.TrialId));
        Assert.Equal(new[] { "grid:0", "grid:3" }, s.GetClaims(study.Id).Order(StringComparer.Ordinal));
    }

    [Theory, LocalStudyBackend, ServerStudyBackend]
    public async Task Concurrent_workers_get_unique_numbers_exactly_up_to_the_limit_and_unique_claims(string backend)
    {
        using var lease = Create(backend);
        var study = lease.Storage.CreateStudy("s", StudyDirection.Minimize, false);
        var started = new ConcurrentBag<FrozenTrial>();
        var claimed = new ConcurrentBag<string>();
        var workers = Enumerable.Range(0, 6).Select(w => Task.Run(() =>
        {
            var storage = lease.OpenAnother();
            while (storage.StartTrial(study.Id, new TrialStartRequest { MaxTrials = 30 }) is { } trial)
            {
                started.Add(trial);
                for (var k = 0; k < 40; k++)
                {
                    if (storage.TryClaim(study.Id, $"grid:{k}", trial.TrialId))
                    {
                        claimed.Add($"grid:{k}");
                        break;
                    }
                }
                storage.SetTrialParam(trial.TrialId, "lr", 0.01, Lr);
                storage.FinishTrial(trial.TrialId, TrialState.Complete, trial.Number, null);
            }
        })).ToArray();
        await Task.WhenAll(workers);
        Assert.Equal(Enumerable.Range(0, 30), started.Select(t => t.Number).Order());
        Assert.Equal(30, claimed.Distinct().Count());
        Assert.Equal(30, claimed.Count);
        var trials = lease.Storage.GetTrials(study.Id);
        Assert.Equal(30, trials.Count);
        Assert.All(trials, t => Assert.Equal(TrialState.Complete, t.State));
    }

    [Theory, LocalStudyBackend, ServerStudyBackend]
    public void A_second_handle_sees_what_the_first_wrote(string backend)
    {
        using var lease = Create(backend);
        var study = lease.Storage.CreateStudy("shared", StudyDirection.Maximize, false);
        var trial = lease.Storage.StartTrial(study.Id, new TrialStartRequest())!;
        lease.Storage.SetTrialParam(trial.TrialId, "depth", 4, Depth);
        var other = lease.OpenAnother();
        Assert.Equal(study.Id, other.GetStudy("shared").Id);
        Assert.Equal(4, other.GetTrials(study.Id).Single().Params["depth"]);
        other.FinishTrial(trial.TrialId, TrialState.Complete, 0.5, null);
        var seen = lease.Storage.GetTrials(study.Id).Single();
        Assert.Equal(TrialState.Complete, seen.State);
        Assert.Equal(0.5, seen.Value);
    }
}
