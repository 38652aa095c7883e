using System.CommandLine;
using Forge.Core;
using Forge.Serving;

namespace Forge.Cli;

/// <summary>The drift-monitoring flags of <c>forge serve</c>, kept with their mapping onto <see cref="DriftServingOptions"/>.</summary>
internal static class DriftServeFlags
{
    private static readonly Option<bool> NoDrift = new("--no-drift") { Description = "Do not monitor drift (otherwise every model whose bundle has reference/profile.json is monitored; see GET /v1/models/NAME/drift)" };
    private static readonly Option<int> Window = new("--drift-window") { Description = "Served rows in the rolling drift window", DefaultValueFactory = _ => 5000 };
    private static readonly Option<int> EveryRows = new("--drift-every") { Description = "Recompute drift after this many served rows (0: only on the timer)", DefaultValueFactory = _ => 500 };
    private static readonly Option<double> EverySeconds = new("--drift-every-seconds") { Description = "Recompute drift this often when rows arrived (0: only by row count)", DefaultValueFactory = _ => 60 };
    private static readonly Option<int> MinRows = new("--drift-min-rows") { Description = "Rows the window needs before drift is computed", DefaultValueFactory = _ => 100 };
    private static readonly Option<double> Share = new("--drift-share") { Description = "Dataset drift when at least this share of the features drifted", DefaultValueFactory = _ => 0.5 };
    private static readonly Option<string?> Webhook = new("--drift-webhook") { Description = "URL told (POST, JSON) when dataset or prediction drift begins or a concept-drift detector fires; failures are logged and counted in forge_drift_webhook_total" };
    private static readonly Option<double?> Tolerance = new("--drift-regression-tolerance") { Description = "Regressions: an absolute error above this counts as a miss for the concept-drift detectors (default twice the bundle's test MAE)" };

    public static void AddTo(Command serve)
    {
        foreach (var o in new Option[] { NoDrift, Window, EveryRows, EverySeconds, MinRows, Share, Webhook, Tolerance }) serve.Options.Add(o);
    }

    public static DriftServingOptions Read(ParseResult p)
    {
        var seconds = p.GetValue(EverySeconds);
        if (!double.IsFinite(seconds) || seconds < 0) throw new UsageException($"--drift-every-seconds must be 0 (off) or a positive number of seconds (got {seconds})");
        Uri? webhook = null;
        if (p.GetValue(Webhook) is { } url && !Uri.TryCreate(url, UriKind.Absolute, out webhook))
            throw new UsageException($"--drift-webhook '{url}' is not an absolute URL (e.g. http://alerts.local:9000/drift)");
        return new DriftServingOptions
        {
            Enabled = !p.GetValue(NoDrift),
            WindowRows = p.GetValue(Window),
            EvaluateEveryRows = p.GetValue(EveryRows),
            EvaluateEvery = seconds > 0 ? TimeSpan.FromSeconds(seconds) : null,
            MinRows = p.GetValue(MinRows),
            DriftShareThreshold = p.GetValue(Share),
            Webhook = webhook,
            RegressionTolerance = p.GetValue(Tolerance),
        };
    }
}
