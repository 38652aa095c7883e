using Forge.Core;
using Forge.Data;
using Forge.DeepLearning;
using Forge.Tests.Shared;
using Forge.Tracking;

namespace Forge.Cli.Tests;

/// <summary>
/// A C# program that trains through the library, with no CLI code at all, is tracked exactly as the forge command is:
/// the trainer itself reports to the observer it is handed.
/// </summary>
public sealed class LibraryTrackingTests : IDisposable
{
    private readonly TempDir _temp = new("forge-library-tracking-");

    public void Dispose() => _temp.Dispose();

    [SharedDataFact]
    public void Training_through_the_library_records_a_complete_run_in_the_store()
    {
        TorchRuntime.SetThreads(1);
        using var store = TrackingStore.Open(_temp.Combine("forge.db"));
        using var observer = new TrackingObserver(store, "library");
        var request = new ImageTrainingRequest
        {
            Dataset = "mnist",
            DataDir = SharedData.Mnist,
            Spec = ModelSpec.Mlp() with { Hidden = [16] },
            Options = new TrainerOptions { Epochs = 2, BatchSize = 64, Augment = false, Threads = 1 },
            Limit = 600,
            OutputDirectory = _temp.Combine("bundle"),
            Observer = observer,
        };

        var result = ImageTraining.Run(request);

        var runId = Assert.IsType<string>(observer.RunId);
        var run = store.GetRun(runId);
        Assert.Equal(RunStatus.Finished, run.Info.Status);
        Assert.Equal("library", run.Info.ExperimentName);
        Assert.Equal(runId, result.Bundle.Manifest.Training!.RunId);
        // Every hyperparameter the manifest records is a run parameter too.
        foreach (var (key, value) in result.Bundle.Manifest.Training.Hyperparameters) Assert.Equal(value, run.Params[key]);
        Assert.Equal("mnist", run.Params["dataset"]);
        Assert.Equal("image", run.Tags[RunTags.Trainer]);
        Assert.Equal("library", run.Tags[RunTags.Source]);
        Assert.Equal(ImageTraining.DatasetChecksum(DatasetCatalog.Get("mnist")), run.Tags[RunTags.DatasetChecksum]);
        Assert.Equal([1L, 2L], store.GetMetricHistory(runId, "trainLoss").Select(p => p.Step));
        Assert.Equal(result.History.Select(h => h.TrainLoss), store.GetMetricHistory(runId, "trainLoss").Select(p => p.Value));
        Assert.Equal(result.Test.Accuracy, store.GetMetricHistory(runId, "testAccuracy").Single().Value);
        Assert.Contains(store.ListArtifacts(runId), a => a.Path == "model/forge-model.json");
    }

    [Fact]
    public void A_failed_run_is_recorded_failed_and_the_training_error_is_the_one_raised()
    {
        using var store = TrackingStore.Open(_temp.Combine("forge.db"));
        using var observer = new TrackingObserver(store, "library", runName: "will-fail");
        var start = new TrainingStart("test", "none", new Dictionary<string, string> { ["lr"] = "0.1" });

        var e = Assert.Throws<InvalidOperationException>(() => observer.Run<int>(start, _ => throw new InvalidOperationException("diverged"), _ => throw new InvalidOperationException("never")));
        var killed = new TrackingObserver(store, "library");
        Assert.Throws<OperationCanceledException>(() => killed.Run<int>(start, _ => throw new OperationCanceledException(), _ => throw new InvalidOperationException("never")));

        Assert.Equal("diverged", e.Message);
        Assert.Equal(RunStatus.Failed, store.GetRun(observer.RunId!).Info.Status);
        Assert.Equal("0.1", store.GetRun(observer.RunId!).Params["lr"]);
        Assert.Equal(RunStatus.Killed, store.GetRun(killed.RunId!).Info.Status);
        Assert.Null(observer.EndWarning);
        killed.Dispose();
    }
}
