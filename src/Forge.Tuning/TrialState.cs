namespace Forge.Tuning;

/// <summary>Whether a study looks for the smallest or the largest objective value.</summary>
public enum StudyDirection
{
    /// <summary>Smaller is better (a loss).</summary>
    Minimize,

    /// <summary>Larger is better (an accuracy).</summary>
    Maximize,
}

/// <summary>Where a trial is in its life.</summary>
public enum TrialState
{
    /// <summary>Started by a worker and not finished yet.</summary>
    Running,

    /// <summary>Finished with an objective value.</summary>
    Complete,

    /// <summary>Stopped early by the pruner (the objective threw <see cref="TrialPrunedException"/>).</summary>
    Pruned,

    /// <summary>The objective threw, returned NaN, or its worker stopped sending heartbeats.</summary>
    Fail,

    /// <summary>Enqueued (a known-good point or a retry) and waiting for a worker to take it.</summary>
    Waiting,
}

/// <summary>The text form of states and directions used in storages and JSON (upper case, as Optuna writes them).</summary>
public static class TuningText
{
    /// <summary>"RUNNING", "COMPLETE", "PRUNED", "FAIL" or "WAITING".</summary>
    public static string Of(TrialState state) => state switch
    {
        TrialState.Running => "RUNNING",
        TrialState.Complete => "COMPLETE",
        TrialState.Pruned => "PRUNED",
        TrialState.Fail => "FAIL",
        TrialState.Waiting => "WAITING",
        _ => throw new ArgumentOutOfRangeException(nameof(state), state, null),
    };

    /// <summary>"MINIMIZE" or "MAXIMIZE".</summary>
    public static string Of(StudyDirection direction) => direction == StudyDirection.Maximize ? "MAXIMIZE" : "MINIMIZE";

    /// <summary>Parses a state written by <see cref="Of(TrialState)"/> (case-insensitive).</summary>
    public static TrialState ParseState(string text) => text?.ToUpperInvariant() switch
    {
        "RUNNING" => TrialState.Running,
        "COMPLETE" => TrialState.Complete,
        "PRUNED" => TrialState.Pruned,
        "FAIL" => TrialState.Fail,
        "WAITING" => TrialState.Waiting,
        _ => throw new Forge.Core.UsageException($"unknown trial state '{text}' (known: RUNNING, COMPLETE, PRUNED, FAIL, WAITING)"),
    };

    /// <summary>Parses "minimize"/"maximize" (also "min"/"max", "minimise"/"maximise"; case-insensitive).</summary>
    public static StudyDirection ParseDirection(string text) => text?.ToUpperInvariant() switch
    {
        "MINIMIZE" or "MINIMISE" or "MIN" => StudyDirection.Minimize,
        "MAXIMIZE" or "MAXIMISE" or "MAX" => StudyDirection.Maximize,
        _ => throw new Forge.Core.UsageException($"unknown direction '{text}' (known: minimize, maximize)"),
    };

    internal static bool IsFinished(this TrialState state) => state is TrialState.Complete or TrialState.Pruned or TrialState.Fail;
}
