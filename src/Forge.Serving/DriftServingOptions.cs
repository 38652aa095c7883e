using System.Globalization;

namespace Forge.Serving;

/// <summary>
/// Live drift monitoring of served models that carry a reference profile (<c>reference/profile.json</c>): the rolling
/// window, how often drift is recomputed, feedback, and the webhook told when drift begins.
/// </summary>
public sealed record DriftServingOptions
{
    /// <summary>Monitor served models that carry a reference profile (default true).</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>Served rows the rolling window holds (default 5000; older rows leave it a quarter at a time).</summary>
    public int WindowRows { get; init; } = 5000;

    /// <summary>Recompute drift after this many served rows (default 500; 0 turns the count off).</summary>
    public int EvaluateEveryRows { get; init; } = 500;

    /// <summary>Recompute drift this often when new rows arrived (default 60 s; null turns the timer off).</summary>
    public TimeSpan? EvaluateEvery { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Rows the window needs before drift is computed at all (default 100).</summary>
    public int MinRows { get; init; } = 100;

    /// <summary>Dataset drift when at least this share of the features drifted (default 0.5).</summary>
    public double DriftShareThreshold { get; init; } = 0.5;

    /// <summary>Labelled predictions the rolling accuracy, F1 and error cover (default 1000).</summary>
    public int FeedbackWindow { get; init; } = 1000;

    /// <summary>Predictions remembered by request id for <c>POST …/feedback</c> (default 100,000; the oldest are forgotten first).</summary>
    public int RememberedRequests { get; init; } = 100_000;

    /// <summary>
    /// A regression's prediction counts as a miss for the concept-drift detectors when its absolute error exceeds this;
    /// null means twice the bundle's test MAE (or half the training predictions' standard deviation without one).
    /// </summary>
    public double? RegressionTolerance { get; init; }

    /// <summary>A URL told (HTTP POST, JSON) when dataset or prediction drift begins or a concept-drift detector fires; null for none.</summary>
    public Uri? Webhook { get; init; }

    /// <summary>How long one webhook call may take before it is abandoned and counted as failed (default 5 s).</summary>
    public TimeSpan WebhookTimeout { get; init; } = TimeSpan.FromSeconds(5);

    internal IEnumerable<string> FindProblems(string field)
    {
        var inv = CultureInfo.InvariantCulture;
        if (WindowRows < 1) yield return $"{field}.windowRows {WindowRows} must be at least 1";
        if (EvaluateEveryRows < 0) yield return $"{field}.evaluateEveryRows {EvaluateEveryRows} must be 0 (off) or more";
        if (EvaluateEvery is { } t && t <= TimeSpan.Zero) yield return $"{field}.evaluateEvery must be positive (null turns the timer off)";
        if (MinRows < 1) yield return $"{field}.minRows {MinRows} must be at least 1";
        if (MinRows > WindowRows) yield return $"{field}.minRows {MinRows} is more than the window's {WindowRows} rows: drift would never be computed";
        if (!(DriftShareThreshold is > 0 and <= 1)) yield return string.Create(inv, $"{field}.driftShareThreshold {DriftShareThreshold} must be in (0, 1]");
        if (FeedbackWindow < 1) yield return $"{field}.feedbackWindow {FeedbackWindow} must be at least 1";
        if (RememberedRequests < 1) yield return $"{field}.rememberedRequests {RememberedRequests} must be at least 1";
        if (RegressionTolerance is { } tol && !(tol > 0 && double.IsFinite(tol))) yield return string.Create(inv, $"{field}.regressionTolerance {tol} must be positive");
        if (Webhook is { } w && !(w.IsAbsoluteUri && (w.Scheme == Uri.UriSchemeHttp || w.Scheme == Uri.UriSchemeHttps)))
            yield return $"{field}.webhook '{w}' must be an absolute http:// or https:// URL";
        if (WebhookTimeout <= TimeSpan.Zero) yield return $"{field}.webhookTimeout must be positive";
    }
}
