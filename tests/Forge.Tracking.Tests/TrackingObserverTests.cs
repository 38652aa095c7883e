using Forge.Core;

namespace Forge.Tracking.Tests;

public sealed class TrackingObserverTests
{
    private static readonly TrainingStart Start = new("tabular", "adult", new Dictionary<string, string> { ["trees"] = "300", ["lr"] = "0.05" })
    {
        Tags = new Dictionary<string, string> { ["forge.datasetChecksum"] = "abc" },
    };

    [Fact]
    public void A_run_through_the_observer_records_params_tags_epochs_artifacts_and_the_end()
    {
        using var h = new StoreHarness("sqlite");
        var file = h.Temp("plot.png");
        File.WriteAllBytes(file, [1, 2, 3]);
        string? runId = null;
        using (var observer = new TrackingObserver(h.Store, "tabular-tests"))
        {
            Assert.Null(observer.RunId);
            var result = observer.Run(Start, id =>
            {
                runId = id;
                Assert.NotNull(id);
                Assert.Equal(observer.RunId, id);
                observer.Epoch(1, new Dictionary<string, double> { ["validationAuc"] = 0.91 });
                observer.Epoch(2, new Dictionary<string, double> { ["validationAuc"] = 0.92 });
                observer.Artifact(file, "plots");
                return 0.93;
            }, auc => new TrainingEnd(RunStatus.Finished, new Dictionary<string, double> { ["testAuc"] = auc }, 2));
            Assert.Equal(0.93, result);
        }
        var run = h.Store.GetRun(runId!);
        Assert.Equal(RunStatus.Finished, run.Info.Status);
        Assert.Equal("300", run.Params["trees"]);
        Assert.Equal("0.05", run.Params["lr"]);
        Assert.Equal("tabular", run.Tags[RunTags.Trainer]);
        Assert.Equal("adult", run.Tags[RunTags.Dataset]);
        Assert.Equal("abc", run.Tags["forge.datasetChecksum"]);
        Assert.Equal(0.93, run.Metrics["testAuc"].Value);
        Assert.Equal(2, run.Metrics["testAuc"].Step);
        Assert.Equal([0.91, 0.92], h.Store.GetMetricHistory(runId!, "validationAuc").Select(p => p.Value));
        Assert.Contains(h.Store.ListArtifacts(runId!), a => a.Path == "plots/plot.png" && a.Size == 3);
    }

    [Fact]
    public void A_failing_body_marks_the_run_failed_with_the_reason()
    {
        using var h = new StoreHarness("sqlite");
        using var observer = new TrackingObserver(h.Store, "tabular-tests");
        var e = Assert.Throws<UsageException>(() => observer.Run<int>(Start, _ => throw new UsageException("no label column 'incme'"), _ => null!));
        var run = h.Store.GetRun(observer.RunId!);
        Assert.Equal(RunStatus.Failed, run.Info.Status);
        Assert.Equal(e.Message, run.Tags[RunTags.Error]);
    }

    [Fact]
    public void A_cancelled_body_marks_the_run_killed()
    {
        using var h = new StoreHarness("sqlite");
        using var observer = new TrackingObserver(h.Store, "tabular-tests");
        Assert.Throws<OperationCanceledException>(() => observer.Run<int>(Start, _ => throw new OperationCanceledException(), _ => null!));
        Assert.Equal(RunStatus.Killed, h.Store.GetRun(observer.RunId!).Info.Status);
    }

    [Fact]
    public void One_observer_records_one_run()
    {
        using var h = new StoreHarness("sqlite");
        using var observer = new TrackingObserver(h.Store, "tabular-tests");
        observer.Run(Start, _ => 1, _ => new TrainingEnd(RunStatus.Finished, new Dictionary<string, double>(), 0));
        Assert.Throws<InvalidOperationException>(() => observer.Started(Start));
    }
}
