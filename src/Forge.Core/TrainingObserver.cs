namespace Forge.Core;

/// <summary>What a trainer announces when it starts: which trainer, on which data, with which hyperparameters.</summary>
/// <param name="Trainer">The trainer, e.g. "image", "transfer", "sentiment", "tabular".</param>
/// <param name="Dataset">The dataset's catalog name or file.</param>
/// <param name="Parameters">Every hyperparameter, as the bundle's manifest records them.</param>
public sealed record TrainingStart(string Trainer, string Dataset, IReadOnlyDictionary<string, string> Parameters)
{
    /// <summary>Tags for the run, e.g. the dataset's checksum.</summary>
    public IReadOnlyDictionary<string, string> Tags { get; init; } = new Dictionary<string, string>();
}

/// <summary>How a training run ended: its status, final metrics and the bundle it wrote.</summary>
/// <param name="Status">Finished, failed, or killed (cancelled).</param>
/// <param name="Metrics">The final metrics (e.g. test accuracy); empty when it failed.</param>
/// <param name="Step">The step the final metrics are logged at (the number of epochs or rounds run).</param>
public sealed record TrainingEnd(RunStatus Status, IReadOnlyDictionary<string, double> Metrics, long Step)
{
    /// <summary>The bundle directory written, when one was.</summary>
    public string? BundlePath { get; init; }

    /// <summary>Why the run failed, when it did.</summary>
    public string? Error { get; init; }

    /// <summary>Parameters chosen during training (e.g. a regularisation strength picked by cross-validation).</summary>
    public IReadOnlyDictionary<string, string> ChosenParameters { get; init; } = new Dictionary<string, string>();
}

/// <summary>
/// Follows a training run: trainers call it at the start, after each epoch, for each file worth keeping, and at the end.
/// Forge.Tracking's observer records all of it as a tracked run, so a C# program that trains through the library is
/// tracked exactly as the <c>forge</c> command is. <see cref="TrainingObservers.None"/> records nothing.
/// </summary>
public interface ITrainingObserver
{
    /// <summary>The id of the run being recorded, once started; null when nothing is recorded.</summary>
    string? RunId { get; }

    /// <summary>Training starts.</summary>
    void Started(TrainingStart start);

    /// <summary>One epoch (or round) finished; <paramref name="step"/> counts from 1.</summary>
    void Epoch(long step, IReadOnlyDictionary<string, double> metrics);

    /// <summary>A file or folder worth keeping with the run (a plot, the bundle), under <paramref name="artifactPath"/>.</summary>
    void Artifact(string localPath, string artifactPath);

    /// <summary>Training ended; called exactly once per started run, whatever the outcome.</summary>
    void Ended(TrainingEnd end);
}

/// <summary>Observers that need no store, and the one way trainers run their body under an observer.</summary>
public static class TrainingObservers
{
    /// <summary>Records nothing.</summary>
    public static ITrainingObserver None { get; } = new NullObserver();

    /// <summary>
    /// Starts <paramref name="observer"/>, runs <paramref name="body"/> and reports how it ended: finished with the
    /// metrics <paramref name="outcome"/> reads from the result; killed when cancelled; failed on any other error, which
    /// is rethrown. The body gets the run id (null when untracked) to record in the bundle.
    /// </summary>
    public static T Run<T>(this ITrainingObserver observer, TrainingStart start, Func<string?, T> body, Func<T, TrainingEnd> outcome)
    {
        ArgumentNullException.ThrowIfNull(observer);
        ArgumentNullException.ThrowIfNull(start);
        ArgumentNullException.ThrowIfNull(body);
        ArgumentNullException.ThrowIfNull(outcome);
        observer.Started(start);
        T result;
        try
        {
            result = body(observer.RunId);
        }
        catch (OperationCanceledException)
        {
            observer.Ended(new TrainingEnd(RunStatus.Killed, new Dictionary<string, double>(), 0) { Error = "cancelled" });
            throw;
        }
        catch (Exception e)
        {
            observer.Ended(new TrainingEnd(RunStatus.Failed, new Dictionary<string, double>(), 0) { Error = e.Message });
            throw;
        }
        observer.Ended(outcome(result));
        return result;
    }

    private sealed class NullObserver : ITrainingObserver
    {
        public string? RunId => null;

        public void Started(TrainingStart start) { }

        public void Epoch(long step, IReadOnlyDictionary<string, double> metrics) { }

        public void Artifact(string localPath, string artifactPath) { }

        public void Ended(TrainingEnd end) { }
    }
}
