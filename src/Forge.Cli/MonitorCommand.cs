using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Forge.Core;
using Forge.Monitoring;
using Forge.Reporting;

namespace Forge.Cli;

/// <summary>
/// <c>forge monitor BUNDLE --current FILE.csv</c>: data and prediction drift of new data against the bundle's reference
/// profile (or a reference CSV), as a self-contained HTML report and JSON; <c>forge monitor profile BUNDLE --data
/// FILE.csv</c> adds a reference profile to a bundle trained before bundles carried one.
/// </summary>
internal static class MonitorCommand
{
    public static Command Create(TextWriter output, TextWriter error, bool terminal)
    {
        var bundleArg = new Argument<string>("bundle") { Description = "A tabular, text or forecasting bundle directory (or .forge file)" };
        var current = new Option<string?>("--current") { Description = "CSV of the data to check (a header line; the model's columns, a 'text' column for a text model, or hours as hour.csv has them for a forecaster; others ignored)" };
        var reference = new Option<string?>("--reference") { Description = "CSV to compare with instead of the bundle's reference/profile.json (e.g. the training file)" };
        var outFile = new Option<string?>("--out") { Description = "The HTML report to write (replaced atomically)" };
        var share = new Option<double>("--drift-share") { Description = "Dataset drift when at least this share of the features drifted", DefaultValueFactory = _ => 0.5 };
        var selection = new Option<string>("--tests") { Description = "evidently (KS/chi-squared/Z for references up to 1000 rows, Wasserstein/Jensen-Shannon distances above) or significance (KS/chi-squared/Z at every size)", DefaultValueFactory = _ => "evidently" };
        selection.AcceptOnlyFromAmong("evidently", "significance");
        var cmd = new Command("monitor", """
            Check new data for drift against a tabular, text or forecasting model's reference: per column the test, statistic, p-value or
            distance and verdict, the dataset verdict (drifted when at least --drift-share of the features drifted) and
            the drift of the model's predictions. Tests follow Evidently's choice (docs/monitoring.md).

            Examples:
              forge monitor models/bikes --current june.csv --out june-drift.html
              forge monitor models/bikes --current june.csv --reference train.csv --json
              forge monitor profile models/old-bikes --data train.csv
              forge monitor models/sentiment --current tweets.csv --json     (a text model: a 'text' column)
              forge monitor models/bikes-lstm --current hours.csv            (a forecaster: each window's latest hour)
            """)
        {
            bundleArg, current, reference, outFile, share, selection,
        };
        cmd.Subcommands.Add(CreateProfile(output, error, terminal));
        cmd.SetAction(p =>
        {
            var ctx = new CliContext(output, error, p.GetValue(CliApp.JsonOption), terminal);
            return CliApp.Guard(ctx, () => Report(ctx, p.GetValue(bundleArg)!, p.GetValue(current), p.GetValue(reference), p.GetValue(outFile),
                p.GetValue(share), p.GetValue(selection) == "significance" ? TestSelection.Significance : TestSelection.Evidently));
        });
        return cmd;
    }

    private static Command CreateProfile(TextWriter output, TextWriter error, bool terminal)
    {
        var bundleArg = new Argument<string>("bundle") { Description = "A tabular, text or forecasting bundle directory" };
        var data = new Option<string?>("--data") { Description = "CSV of the rows the model was trained on" };
        var cmd = new Command("profile", "Add reference/profile.json (per-column statistics of the training rows, or texts, and of the model's predictions on them) to an existing tabular, text or forecasting bundle. The bundle is rewritten beside itself and swapped in, so an error leaves it unchanged.")
        {
            bundleArg, data,
        };
        cmd.SetAction(p =>
        {
            var ctx = new CliContext(output, error, p.GetValue(CliApp.JsonOption), terminal);
            return CliApp.Guard(ctx, () => Profile(ctx, p.GetValue(bundleArg)!, p.GetValue(data)));
        });
        return cmd;
    }

    internal static int Report(CliContext ctx, string bundlePath, string? currentPath, string? referencePath, string? outPath, double driftShare, TestSelection selection)
    {
        var problems = new List<string>();
        if (currentPath is null) problems.Add("--current FILE.csv is required: the data to check");
        if (outPath is null && !ctx.Json) problems.Add("--out REPORT.html is required (or --json for the result on stdout)");
        if (!(driftShare is > 0 and <= 1)) problems.Add($"--drift-share must be in (0, 1], got {driftShare.ToString(CultureInfo.InvariantCulture)}");
        if (problems.Count > 0) throw new UsageException(string.Join("; ", problems));
        var bundle = ModelBundle.Load(bundlePath);
        using var source = MonitorSource.Open(bundle);
        var options = new DriftOptions { DriftShareThreshold = driftShare, Selection = selection };
        // Everything is read and checked before anything is written, so bad input leaves one error line and no report.
        var currentColumns = source.Columns(currentPath!);
        DriftResult result;
        string referenceSource;
        if (referencePath is not null)
        {
            result = DataDrift.Compare(source.Columns(referencePath), currentColumns, options);
            referenceSource = referencePath;
        }
        else
        {
            var profile = BundleProfile.TryLoad(bundle) ?? throw new UsageException(
                $"{bundle.Directory} has no {BundleProfile.FileName}: pass --reference TRAIN.csv, or add one with 'forge monitor profile {bundlePath} --data TRAIN.csv'");
            result = DataDrift.Compare(profile, currentColumns, options);
            referenceSource = $"{bundle.Manifest.Name} ({BundleProfile.FileName}, {profile.Rows:N0} training rows)";
        }
        if (outPath is not null)
        {
            DriftReport.WriteHtml(result, outPath, new DriftReportOptions
            {
                Title = $"Drift of {Path.GetFileName(currentPath)} for {bundle.Manifest.Name}",
                ReferenceSource = referenceSource,
                CurrentSource = currentPath,
            });
        }
        if (ctx.Json)
        {
            var json = JsonNode.Parse(WithoutHistograms(result).ToJson())!.AsObject();
            json["reference"] = referenceSource;
            json["current"] = currentPath;
            if (outPath is not null) json["report"] = Path.GetFullPath(outPath);
            ctx.WriteJson(json);
            return 0;
        }
        var inv = CultureInfo.InvariantCulture;
        ctx.Say(string.Create(inv, $"dataset drift: {(result.DatasetDrift ? "YES" : "no")} ({result.DriftedColumns} of {result.Columns.Count} features drifted, share {result.DriftShare:0.###}, threshold {result.DriftShareThreshold:0.###})"));
        foreach (var c in result.AllColumns())
        {
            var p = c.PValue is { } pv ? string.Create(inv, $"p={pv:0.####}") : string.Create(inv, $"distance={c.Statistic:0.####}");
            ctx.Say(string.Create(inv, $"  {(c.Drifted ? "DRIFT" : "ok   ")} {c.Name,-24} {c.Test,-14} {p} (threshold {c.Threshold:0.###})"));
        }
        if (result.PredictionDrift is { } pd) ctx.Say($"prediction drift: {(pd ? "YES" : "no")}");
        if (outPath is not null) ctx.Say($"report: {Path.GetFullPath(outPath)}");
        return 0;
    }

    internal static int Profile(CliContext ctx, string bundlePath, string? dataPath)
    {
        if (dataPath is null) throw new UsageException("--data TRAIN.csv is required: the rows the model was trained on");
        if (File.Exists(bundlePath))
            throw new UsageException($"{bundlePath} is a packed .forge file; add the profile to the bundle directory, then pack it again");
        var bundle = ModelBundle.Load(bundlePath);
        ModelBundle updated;
        ReferenceProfile profile;
        using (var source = MonitorSource.Open(bundle)) profile = ReferenceProfile.Build(source.Columns(dataPath));
        updated = BundleProfile.Add(bundle, profile);
        var file = updated.GetPath(BundleProfile.FileName);
        var bytes = new FileInfo(file).Length;
        if (ctx.Json)
        {
            ctx.WriteJson(new JsonObject
            {
                ["bundle"] = updated.Directory,
                ["profile"] = file,
                ["rows"] = profile.Rows,
                ["columns"] = new JsonArray([.. profile.Columns.Select(c => (JsonNode)c.Name)]),
                ["bytes"] = bytes,
            });
            return 0;
        }
        ctx.Say(string.Create(CultureInfo.InvariantCulture, $"profiled {profile.Rows:N0} rows of {profile.Columns.Count} columns into {file} ({bytes / 1024.0:0.#} KB)"));
        return 0;
    }

    private static DriftResult WithoutHistograms(DriftResult r) => r with
    {
        Columns = [.. r.Columns.Select(c => c with { Histogram = null })],
        Predictions = [.. r.Predictions.Select(c => c with { Histogram = null })],
        Targets = [.. r.Targets.Select(c => c with { Histogram = null })],
    };
}
