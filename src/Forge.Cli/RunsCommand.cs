using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Forge.Core;
using Forge.Tracking;

namespace Forge.Cli;

/// <summary><c>forge runs list|show|compare|delete|restore</c>: what the tracking store recorded about training runs.</summary>
internal static partial class RunsCommand
{
    /// <summary>Metrics shown as list columns when neither --sort nor --filter names one.</summary>
    private static readonly string[] DefaultColumns = ["testAccuracy", "validationAccuracy", "trainLoss"];

    private const int MaxColumns = 4;

    public static Command Create(TextWriter output, TextWriter error, bool terminal)
    {
        var uri = TrackingCli.CreateUriOption(recursive: true);
        var runs = new Command("runs", "Inspect tracked runs: list, show, compare, delete and restore.\n\nExamples:\n  forge runs list\n  forge runs list --experiment mnist --filter \"metrics.testAccuracy > 0.99\" --sort metrics.testAccuracy\n  forge runs show 3fa2c1d0\n  forge runs compare 3fa2c1d0 9b81e4aa")
        {
            uri,
        };
        runs.Subcommands.Add(List(output, error, terminal, uri));
        runs.Subcommands.Add(Show(output, error, terminal, uri));
        runs.Subcommands.Add(Compare(output, error, terminal, uri));
        runs.Subcommands.Add(SetDeleted(output, error, terminal, uri, delete: true));
        runs.Subcommands.Add(SetDeleted(output, error, terminal, uri, delete: false));
        return runs;
    }

    private static Command List(TextWriter output, TextWriter error, bool terminal, Option<string?> uri)
    {
        var experiment = new Option<string[]>("--experiment")
        {
            Description = "Only runs of this experiment (repeat for several; default: all)",
            AllowMultipleArgumentsPerToken = false,
        };
        var filter = new Option<string?>("--filter")
        {
            Description = "Clauses joined by AND over metrics.KEY, params.KEY, tags.KEY and status/name/start_time/end_time, with = != < <= > >= LIKE ILIKE; text values in 'quotes'",
        };
        var sort = new Option<string?>("--sort") { Description = "Comma-separated keys, each optionally ASC or DESC (default: start_time DESC; a metric sorts DESC unless ASC is given)" };
        var max = new Option<int>("--max") { Description = "Most runs to show (1-50000)", DefaultValueFactory = _ => 100 };
        var deleted = new Option<bool>("--deleted") { Description = "Include soft-deleted runs" };
        var cmd = new Command("list", "List runs, newest first: id (first 8 characters), name, status, start, duration and key metrics. A RUNNING run whose heartbeat stopped (its process died) is marked stale.\n\nExamples:\n  forge runs list\n  forge runs list --experiment mnist --max 20\n  forge runs list --filter \"metrics.testAccuracy > 0.99 and params.model = 'cnn'\" --sort metrics.testAccuracy\n  forge runs list --filter \"status = 'FAILED'\" --deleted --json")
        {
            experiment, filter, sort, max, deleted,
        };
        cmd.SetAction(p =>
        {
            var ctx = new CliContext(output, error, p.GetValue(CliApp.JsonOption), terminal);
            return CliApp.Guard(ctx, () =>
            {
                var maxResults = p.GetValue(max);
                if (maxResults is < 1 or > 50_000) throw new UsageException($"--max must be between 1 and 50000 (got {maxResults})");
                using var store = TrackingCli.Open(p.GetValue(uri));
                var experiments = p.GetValue(experiment) ?? [];
                // An unknown experiment would silently list nothing; name it, with the closest existing one.
                foreach (var e in experiments) store.GetExperiment(e);
                var filterText = p.GetValue(filter);
                var sortText = p.GetValue(sort);
                var page = store.SearchRuns(new RunQuery
                {
                    Experiments = experiments,
                    Filter = filterText,
                    OrderBy = DefaultDescending(sortText),
                    MaxResults = maxResults,
                    IncludeDeleted = p.GetValue(deleted),
                });
                // The page carries run attributes only; the latest metrics come one run at a time (a page is small).
                var rows = page.Runs.Select(r => store.GetRun(r.RunId)).ToArray();
                if (ctx.Json)
                {
                    ctx.WriteJson(new JsonObject
                    {
                        ["runs"] = new JsonArray(rows.Select(r => (JsonNode)Summary(r)).ToArray()),
                        ["count"] = rows.Length,
                        ["more"] = page.NextPageToken is not null,
                    });
                    return 0;
                }
                if (rows.Length == 0)
                {
                    ctx.Say(string.IsNullOrWhiteSpace(filterText) && experiments.Length == 0 ? "no runs yet (forge train … logs one)" : "no runs match");
                    return 0;
                }
                var columns = MetricColumns(filterText, sortText, rows);
                List<string[]> table = [["ID", "NAME", "EXPERIMENT", "STATUS", "START", "DURATION", .. columns]];
                foreach (var r in rows)
                {
                    var i = r.Info;
                    table.Add([TrackingCli.ShortId(i.RunId), i.Name, i.ExperimentName, TrackingCli.StatusText(i), TrackingCli.Time(i.StartTime),
                        TrackingCli.Duration(TrackingCli.DurationSeconds(i)),
                        .. columns.Select(c => r.Metrics.TryGetValue(c, out var m) ? TrackingCli.Number(m.Value) : "-")]);
                }
                TrackingCli.Table(ctx, table);
                if (page.NextPageToken is not null) ctx.Say($"(more runs match; raise --max above {maxResults} to see them)");
                return 0;
            });
        });
        return cmd;
    }

    private static Command Show(TextWriter output, TextWriter error, bool terminal, Option<string?> uri)
    {
        var id = new Argument<string>("run") { Description = "Run id, or a unique prefix of it (as 'forge runs list' prints)" };
        var cmd = new Command("show", "Show one run: attributes, params, metrics (latest value and how many points), tags and artifacts. With --json every metric's full history is included.\n\nExamples:\n  forge runs show 3fa2c1d0\n  forge runs show 3fa2c1d0 --json")
        {
            id,
        };
        cmd.SetAction(p =>
        {
            var ctx = new CliContext(output, error, p.GetValue(CliApp.JsonOption), terminal);
            return CliApp.Guard(ctx, () =>
            {
                using var store = TrackingCli.Open(p.GetValue(uri));
                var run = store.GetRun(TrackingCli.ResolveRun(store, p.GetValue(id)!).RunId);
                var histories = run.Metrics.Keys.Order(StringComparer.Ordinal).ToDictionary(k => k, k => store.GetMetricHistory(run.Info.RunId, k), StringComparer.Ordinal);
                var artifacts = store.ListArtifacts(run.Info.RunId);
                if (ctx.Json)
                {
                    var json = Summary(run);
                    json["heartbeat"] = TrackingCli.Time(run.Info.Heartbeat);
                    json["parentRunId"] = run.Info.ParentRunId;
                    json["artifactLocation"] = run.Info.ArtifactLocation;
                    var metrics = new JsonObject();
                    foreach (var (key, history) in histories)
                    {
                        var latest = run.Metrics[key];
                        metrics[key] = new JsonObject
                        {
                            ["value"] = TrackingCli.Json(latest.Value),
                            ["step"] = latest.Step,
                            ["timestamp"] = TrackingCli.Time(latest.Timestamp),
                            ["history"] = new JsonArray(history.Select(h => (JsonNode)new JsonObject
                            {
                                ["step"] = h.Step, ["value"] = TrackingCli.Json(h.Value), ["timestamp"] = TrackingCli.Time(h.Timestamp),
                            }).ToArray()),
                        };
                    }
                    json["metrics"] = metrics;
                    json["artifacts"] = new JsonArray(artifacts.Select(a => (JsonNode)new JsonObject { ["path"] = a.Path, ["size"] = a.Size, ["sha256"] = a.Sha256 }).ToArray());
                    ctx.WriteJson(json);
                    return 0;
                }
                var i = run.Info;
                ctx.Say($"run {i.RunId} \"{i.Name}\" in experiment {i.ExperimentName}");
                ctx.Say($"status {TrackingCli.StatusText(i)}, started {TrackingCli.Time(i.StartTime)}, " +
                    (i.EndTime is { } end ? $"ended {TrackingCli.Time(end)}" : $"last heartbeat {TrackingCli.Time(i.Heartbeat)}") +
                    $", duration {TrackingCli.Duration(TrackingCli.DurationSeconds(i))}");
                if (i.ParentRunId is not null) ctx.Say($"parent run {i.ParentRunId}");
                Section(ctx, "params", run.Params.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => (string[])[kv.Key, kv.Value]));
                Section(ctx, "metrics (latest value, step, points)", histories.Select(kv =>
                {
                    var latest = run.Metrics[kv.Key];
                    return (string[])[kv.Key, TrackingCli.Number(latest.Value), "step " + latest.Step.ToString(CultureInfo.InvariantCulture),
                        kv.Value.Count.ToString(CultureInfo.InvariantCulture) + (kv.Value.Count == 1 ? " point" : " points")];
                }));
                Section(ctx, "tags", run.Tags.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => (string[])[kv.Key, kv.Value]));
                Section(ctx, $"artifacts ({i.ArtifactLocation})", artifacts.Select(a => (string[])[a.Path, Size(a.Size), a.Sha256[..12]]));
                return 0;
            });
        });
        return cmd;
    }

    private static Command Compare(TextWriter output, TextWriter error, bool terminal, Option<string?> uri)
    {
        var ids = new Argument<string[]>("runs") { Description = "Two or more run ids (or unique prefixes)", Arity = new ArgumentArity(2, 100) };
        var cmd = new Command("compare", "Show the params and latest metrics of several runs side by side; rows whose values differ are marked '*'.\n\nExamples:\n  forge runs compare 3fa2c1d0 9b81e4aa\n  forge runs compare 3fa2c1d0 9b81e4aa 52d0c7e1 --json")
        {
            ids,
        };
        cmd.SetAction(p =>
        {
            var ctx = new CliContext(output, error, p.GetValue(CliApp.JsonOption), terminal);
            return CliApp.Guard(ctx, () =>
            {
                using var store = TrackingCli.Open(p.GetValue(uri));
                // Resolve every id before printing anything, so one bad id fails the whole comparison.
                var runs = p.GetValue(ids)!.Select(x => store.GetRun(TrackingCli.ResolveRun(store, x).RunId)).ToArray();
                var paramKeys = runs.SelectMany(r => r.Params.Keys).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
                var metricKeys = runs.SelectMany(r => r.Metrics.Keys).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
                string?[] ParamRow(string k) => [.. runs.Select(r => r.Params.TryGetValue(k, out var v) ? v : null)];
                double?[] MetricRow(string k) => [.. runs.Select(r => r.Metrics.TryGetValue(k, out var m) ? m.Value : (double?)null)];
                if (ctx.Json)
                {
                    var parameters = new JsonObject();
                    foreach (var k in paramKeys) parameters[k] = new JsonArray(ParamRow(k).Select(v => (JsonNode?)v).ToArray());
                    var metrics = new JsonObject();
                    foreach (var k in metricKeys) metrics[k] = new JsonArray(MetricRow(k).Select(v => v is { } d ? TrackingCli.Json(d) : null).ToArray());
                    ctx.WriteJson(new JsonObject
                    {
                        ["runs"] = new JsonArray(runs.Select(r => (JsonNode)new JsonObject
                        {
                            ["runId"] = r.Info.RunId, ["name"] = r.Info.Name, ["experiment"] = r.Info.ExperimentName, ["status"] = TrackingCli.StatusName(r.Info.Status),
                        }).ToArray()),
                        ["params"] = parameters,
                        ["metrics"] = metrics,
                        ["differingParams"] = new JsonArray(paramKeys.Where(k => ParamRow(k).Distinct().Count() > 1).Select(k => (JsonNode?)k).ToArray()),
                    });
                    return 0;
                }
                var header = (string[])["", "", .. runs.Select(r => TrackingCli.ShortId(r.Info.RunId))];
                List<string[]> table = [header, ["", "name", .. runs.Select(r => r.Info.Name)], ["", "status", .. runs.Select(r => TrackingCli.StatusText(r.Info))]];
                table.Add(["", "params", .. runs.Select(_ => "")]);
                foreach (var k in paramKeys)
                {
                    var row = ParamRow(k);
                    table.Add([row.Distinct().Count() > 1 ? "*" : "", "  " + k, .. row.Select(v => v ?? "-")]);
                }
                table.Add(["", "metrics", .. runs.Select(_ => "")]);
                foreach (var k in metricKeys)
                {
                    var row = MetricRow(k);
                    table.Add([row.Distinct().Count() > 1 ? "*" : "", "  " + k, .. row.Select(v => v is { } d ? TrackingCli.Number(d) : "-")]);
                }
                TrackingCli.Table(ctx, table);
                return 0;
            });
        });
        return cmd;
    }

    private static Command SetDeleted(TextWriter output, TextWriter error, bool terminal, Option<string?> uri, bool delete)
    {
        var id = new Argument<string>("run") { Description = "Run id, or a unique prefix of it" };
        var cmd = delete
            ? new Command("delete", "Soft-delete a run: it leaves listings and searches but keeps all its data, and 'forge runs restore' brings it back. Refused while a registered model version was made from the run.\n\nExamples:\n  forge runs delete 3fa2c1d0\n  forge runs list --deleted\n  forge runs restore 3fa2c1d0") { id }
            : new Command("restore", "Bring back a soft-deleted run.\n\nExample:\n  forge runs restore 3fa2c1d0") { id };
        cmd.SetAction(p =>
        {
            var ctx = new CliContext(output, error, p.GetValue(CliApp.JsonOption), terminal);
            return CliApp.Guard(ctx, () =>
            {
                using var store = TrackingCli.Open(p.GetValue(uri));
                var run = TrackingCli.ResolveRun(store, p.GetValue(id)!);
                if (delete) store.DeleteRun(run.RunId);
                else store.RestoreRun(run.RunId);
                if (ctx.Json)
                {
                    ctx.WriteJson(new JsonObject { ["runId"] = run.RunId, ["name"] = run.Name, ["deleted"] = delete });
                    return 0;
                }
                ctx.Say(delete
                    ? $"run {run.RunId} \"{run.Name}\" deleted (forge runs restore {TrackingCli.ShortId(run.RunId)} brings it back)"
                    : $"run {run.RunId} \"{run.Name}\" restored");
                return 0;
            });
        });
        return cmd;
    }

    /// <summary>A run's attributes, params, tags and latest metrics as list and show print them in JSON.</summary>
    private static JsonObject Summary(Run run)
    {
        var i = run.Info;
        var metrics = new JsonObject();
        foreach (var (k, m) in run.Metrics.OrderBy(kv => kv.Key, StringComparer.Ordinal)) metrics[k] = TrackingCli.Json(m.Value);
        var duration = TrackingCli.DurationSeconds(i);
        return new JsonObject
        {
            ["runId"] = i.RunId,
            ["name"] = i.Name,
            ["experiment"] = i.ExperimentName,
            ["status"] = TrackingCli.StatusName(i.Status),
            ["stale"] = i.Stale,
            ["deleted"] = i.Deleted,
            ["startTime"] = TrackingCli.Time(i.StartTime),
            ["endTime"] = TrackingCli.Time(i.EndTime),
            ["durationSeconds"] = duration is { } d ? (double?)Math.Round(d, 3) : null,
            ["metrics"] = metrics,
            ["params"] = TrackingCli.Json(run.Params),
            ["tags"] = TrackingCli.Json(run.Tags),
        };
    }

    /// <summary>
    /// People sorting by a metric want the best first; the store's default direction is ascending, so a bare
    /// <c>metrics.K</c> key gets DESC. Explicit directions and other keys are passed through untouched.
    /// </summary>
    private static string? DefaultDescending(string? sort)
    {
        if (string.IsNullOrWhiteSpace(sort)) return sort;
        return string.Join(", ", sort.Split(',').Select(part =>
        {
            var key = part.Trim();
            return key.StartsWith("metrics.", StringComparison.OrdinalIgnoreCase) && !key.Contains(' ', StringComparison.Ordinal) ? key + " DESC" : key;
        }));
    }

    /// <summary>The metrics worth a column: those the sort and filter name, then the usual headline metrics, present in some row.</summary>
    private static string[] MetricColumns(string? filter, string? sort, IReadOnlyList<Run> rows)
    {
        var named = MetricName().Matches((sort ?? "") + " " + (filter ?? "")).Select(m => m.Groups[1].Value);
        return named.Concat(DefaultColumns)
            .Distinct(StringComparer.Ordinal)
            .Where(k => rows.Any(r => r.Metrics.ContainsKey(k)))
            .Take(MaxColumns)
            .ToArray();
    }

    private static void Section(CliContext ctx, string title, IEnumerable<string[]> rows)
    {
        var list = rows.ToList();
        ctx.Say($"{title}:{(list.Count == 0 ? " none" : "")}");
        TrackingCli.Table(ctx, list, "  ");
    }

    private static string Size(long bytes) => bytes switch
    {
        < 1024 => string.Create(CultureInfo.InvariantCulture, $"{bytes} B"),
        < 1024 * 1024 => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1024.0:F1} KB"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{bytes / (1024.0 * 1024):F1} MB"),
    };

    [GeneratedRegex(@"metrics\.([A-Za-z0-9_.\-/]+?)(?=\s|$|,|[<>=!])", RegexOptions.IgnoreCase)]
    private static partial Regex MetricName();
}
