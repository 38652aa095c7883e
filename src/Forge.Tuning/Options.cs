using Forge.Core;

namespace Forge.Tuning;

/// <summary>How a study is created or loaded.</summary>
public sealed record StudyOptions
{
    /// <summary>The study's name; null for a fresh "study-xxxxxxxx" name. Workers sharing a study use the same name.</summary>
    public string? Name { get; init; }

    /// <summary>Minimise (default) or maximise the objective.</summary>
    public StudyDirection Direction { get; init; } = StudyDirection.Minimize;

    /// <summary>The sampler; null for <see cref="TpeSampler"/> with its defaults (unseeded).</summary>
    public ISampler? Sampler { get; init; }

    /// <summary>The pruner; null for <see cref="MedianPruner"/> with its defaults (it acts only when the objective asks).</summary>
    public IPruner? Pruner { get; init; }

    /// <summary>Where trials are kept; null for a new <see cref="InMemoryStudyStorage"/>.</summary>
    public IStudyStorage? Storage { get; init; }

    /// <summary>Load the study when the name exists (default false: an existing name is refused).</summary>
    public bool LoadIfExists { get; init; }

    /// <summary>
    /// How often a running trial's worker records that it is alive; null (default) for no heartbeats. With heartbeats, a
    /// trial whose worker stopped for longer than <see cref="HeartbeatGracePeriod"/> is failed by the next worker that asks
    /// for a trial.
    /// </summary>
    public TimeSpan? HeartbeatInterval { get; init; }

    /// <summary>How long a silent trial stays Running before it is failed; null for twice the heartbeat interval.</summary>
    public TimeSpan? HeartbeatGracePeriod { get; init; }

    /// <summary>How many times a trial failed for a silent worker is retried with the same parameters (default 0: never).</summary>
    public int StaleTrialRetries { get; init; }

    /// <summary>The grace period in force: <see cref="HeartbeatGracePeriod"/>, or twice the interval.</summary>
    public TimeSpan? EffectiveGracePeriod => HeartbeatInterval is { } i ? HeartbeatGracePeriod ?? (i * 2) : null;

    /// <summary>Reports every problem at once as a <see cref="UsageException"/>.</summary>
    public void Validate()
    {
        var problems = new List<string>();
        if (Name is not null && (Name.Length == 0 || Name.Length > 256 || Name.Any(char.IsControl)))
            problems.Add($"Name '{Name}' must be 1 to 256 characters without control characters");
        if (HeartbeatInterval is { } i && i <= TimeSpan.Zero) problems.Add("HeartbeatInterval must be positive");
        if (HeartbeatGracePeriod is { } g)
        {
            if (HeartbeatInterval is null) problems.Add("HeartbeatGracePeriod needs a HeartbeatInterval");
            else if (g < HeartbeatInterval) problems.Add("HeartbeatGracePeriod must be at least the HeartbeatInterval");
        }
        if (StaleTrialRetries < 0) problems.Add("StaleTrialRetries cannot be negative");
        if (StaleTrialRetries > 0 && HeartbeatInterval is null) problems.Add("StaleTrialRetries needs a HeartbeatInterval (stale trials are found by their heartbeats)");
        if (problems.Count > 0) throw new UsageException("study options: " + string.Join("; ", problems));
    }
}

/// <summary>How <see cref="Study.Optimize"/> runs.</summary>
public sealed record OptimizeOptions
{
    /// <summary>Start no trial after this much time (running trials finish); null for no limit.</summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>
    /// Which exceptions from the objective are recorded as a failed trial while the study goes on. Default: all of them.
    /// An exception this rejects is recorded too, then stops the optimisation and is rethrown.
    /// </summary>
    public Func<Exception, bool>? Catch { get; init; }

    /// <summary>
    /// When true, <c>trials</c> is the study's total rather than this call's: trials already in the study (from any
    /// worker) count, and the storage starts no trial beyond it, so K processes each asked for N complete N together.
    /// </summary>
    public bool StudyWideTrialLimit { get; init; }

    /// <summary>Reports every problem at once as a <see cref="UsageException"/>.</summary>
    public void Validate()
    {
        if (Timeout is { } t && t <= TimeSpan.Zero) throw new UsageException("optimize options: Timeout must be positive");
    }
}

/// <summary>The details of a finished trial, for <see cref="Study.TrialFinished"/> handlers.</summary>
public sealed class TrialFinishedEventArgs : EventArgs
{
    /// <summary>Creates the event data.</summary>
    public TrialFinishedEventArgs(FrozenTrial trial, Exception? exception)
    {
        Trial = trial;
        Exception = exception;
    }

    /// <summary>The finished trial's final snapshot.</summary>
    public FrozenTrial Trial { get; }

    /// <summary>The exception that failed the trial, when it failed by throwing.</summary>
    public Exception? Exception { get; }
}
