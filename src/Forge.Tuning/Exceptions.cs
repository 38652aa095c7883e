namespace Forge.Tuning;

/// <summary>
/// Thrown by an objective to end its trial as Pruned, the documented control flow for pruning:
/// <c>if (trial.ShouldPrune()) throw new TrialPrunedException();</c>. The study records the trial Pruned (with its
/// intermediate values) and goes on; it is never treated as a failure.
/// </summary>
public sealed class TrialPrunedException : Exception
{
    /// <summary>Prunes the trial.</summary>
    public TrialPrunedException() : base("the trial was pruned") { }

    /// <summary>Prunes the trial, saying why.</summary>
    public TrialPrunedException(string message) : base(message) { }

    /// <summary>Prunes the trial, saying why and what caused it.</summary>
    public TrialPrunedException(string message, Exception innerException) : base(message, innerException) { }
}
