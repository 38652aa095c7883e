using System.Globalization;

namespace Forge.Cli;

/// <summary>
/// Crash-test failpoints: a process started with <c>FORGE_FAILPOINT=pause-after-epoch:N</c> stops for good after
/// epoch N is checkpointed, tracked and printed, so a test can SIGKILL it at a known point instead of racing the
/// training loop (an epoch of the test's run takes 0.2 s, shorter than a poll loop's delay on a busy machine).
/// </summary>
internal static class Failpoint
{
    /// <summary>The environment variable that arms a failpoint.</summary>
    public const string Variable = "FORGE_FAILPOINT";

    private static readonly int? PauseEpoch = Parse(Environment.GetEnvironmentVariable(Variable));

    /// <summary>The epoch after which the process pauses, or null when the variable is unset or names no pause.</summary>
    internal static int? Parse(string? value)
    {
        const string prefix = "pause-after-epoch:";
        if (value is null || !value.StartsWith(prefix, StringComparison.Ordinal)) return null;
        return int.TryParse(value.AsSpan(prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0 ? n : null;
    }

    /// <summary>Blocks this thread forever when the failpoint names <paramref name="epoch"/>; returns at once otherwise.</summary>
    public static void AfterEpoch(int epoch, TextWriter log)
    {
        if (PauseEpoch != epoch) return;
        log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{Variable}: paused after epoch {epoch}, waiting to be killed"));
        log.Flush();
        Thread.Sleep(Timeout.Infinite);
    }
}
