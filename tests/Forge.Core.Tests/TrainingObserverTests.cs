namespace Forge.Core.Tests;

public sealed class TrainingObserverTests
{
    private static readonly TrainingStart Start = new("image", "pets", new Dictionary<string, string> { ["epochs"] = "3" });

    /// <summary>Writes down every call, in order.</summary>
    private sealed class RecordingObserver : ITrainingObserver
    {
        public List<string> Calls { get; } = [];

        public TrainingEnd? End { get; private set; }

        public string? RunId => "run-42";

        public void Started(TrainingStart start) => Calls.Add($"started {start.Trainer} on {start.Dataset}");

        public void Epoch(long step, IReadOnlyDictionary<string, double> metrics) => Calls.Add($"epoch {step}");

        public void Artifact(string localPath, string artifactPath) => Calls.Add($"artifact {artifactPath}");

        public void Ended(TrainingEnd end)
        {
            Calls.Add($"ended {end.Status}");
            End = end;
        }
    }

    [Fact]
    public void Run_starts_the_observer_passes_the_run_id_and_reports_the_outcome()
    {
        var observer = new RecordingObserver();
        var outcome = new TrainingEnd(RunStatus.Finished, new Dictionary<string, double> { ["accuracy"] = 0.9 }, 3) { BundlePath = "out" };

        var result = observer.Run(Start, runId =>
        {
            observer.Calls.Add($"body {runId}");
            return 17;
        }, r => r == 17 ? outcome : throw new InvalidOperationException("wrong result"));

        Assert.Equal(17, result);
        Assert.Equal(["started image on pets", "body run-42", "ended Finished"], observer.Calls);
        Assert.Same(outcome, observer.End);
    }

    [Fact]
    public void Run_reports_a_cancelled_body_as_killed_and_rethrows()
    {
        var observer = new RecordingObserver();

        Assert.Throws<OperationCanceledException>(() =>
            observer.Run<int>(Start, _ => throw new OperationCanceledException(), _ => throw new InvalidOperationException("not reached")));

        Assert.Equal(["started image on pets", "ended Killed"], observer.Calls);
        Assert.Equal(RunStatus.Killed, observer.End!.Status);
        Assert.Equal("cancelled", observer.End.Error);
        Assert.Empty(observer.End.Metrics);
        Assert.Equal(0, observer.End.Step);
    }

    [Fact]
    public void Run_reports_a_failing_body_as_failed_with_its_message_and_rethrows()
    {
        var observer = new RecordingObserver();

        var ex = Assert.Throws<IOException>(() =>
            observer.Run<int>(Start, _ => throw new IOException("dataset vanished"), _ => throw new InvalidOperationException("not reached")));

        Assert.Equal("dataset vanished", ex.Message);
        Assert.Equal(["started image on pets", "ended Failed"], observer.Calls);
        Assert.Equal(RunStatus.Failed, observer.End!.Status);
        Assert.Equal("dataset vanished", observer.End.Error);
        Assert.Empty(observer.End.Metrics);
    }

    [Fact]
    public void Run_checks_its_arguments_before_starting_anything()
    {
        var observer = new RecordingObserver();
        Func<string?, int> body = _ => 1;
        Func<int, TrainingEnd> outcome = _ => new TrainingEnd(RunStatus.Finished, new Dictionary<string, double>(), 1);

        Assert.Equal("observer", Assert.Throws<ArgumentNullException>(() => TrainingObservers.Run(null!, Start, body, outcome)).ParamName);
        Assert.Equal("start", Assert.Throws<ArgumentNullException>(() => observer.Run(null!, body, outcome)).ParamName);
        Assert.Equal("body", Assert.Throws<ArgumentNullException>(() => observer.Run(Start, null!, outcome)).ParamName);
        Assert.Equal("outcome", Assert.Throws<ArgumentNullException>(() => observer.Run(Start, body, null!)).ParamName);
        Assert.Empty(observer.Calls);
    }

    [Fact]
    public void Untracked_training_has_no_run_id()
    {
        string? seen = "unset";

        var result = TrainingObservers.None.Run(Start, runId =>
        {
            seen = runId;
            return "done";
        }, _ => new TrainingEnd(RunStatus.Finished, new Dictionary<string, double>(), 1));

        Assert.Equal("done", result);
        Assert.Null(seen);
        Assert.Equal("", NullRunLogger.Instance.RunId);
    }

    [Fact]
    public void Epoch_metrics_use_the_documented_names_and_add_validation_only_when_measured()
    {
        var trained = new EpochMetrics(2, 0.5, 0.8, null, null, 0.01, 12.5);
        var validated = trained with { ValidationLoss = 0.6, ValidationAccuracy = 0.75 };

        Assert.Equal(
            new Dictionary<string, double> { ["trainLoss"] = 0.5, ["trainAccuracy"] = 0.8, ["learningRate"] = 0.01, ["epochSeconds"] = 12.5 },
            trained.ToMetrics());
        Assert.Equal(
            new Dictionary<string, double>
            {
                ["trainLoss"] = 0.5, ["trainAccuracy"] = 0.8, ["learningRate"] = 0.01, ["epochSeconds"] = 12.5,
                ["validationLoss"] = 0.6, ["validationAccuracy"] = 0.75,
            },
            validated.ToMetrics());
        Assert.Equal(["validationLoss"], (trained with { ValidationLoss = 0.6 }).ToMetrics().Keys.Except(trained.ToMetrics().Keys));
    }
}
