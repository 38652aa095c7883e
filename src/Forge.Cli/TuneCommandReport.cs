using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Forge.Core;
using Forge.Reporting;
using Forge.Tracking;
using Forge.Tuning;

namespace Forge.Cli;

/// <summary>
/// <c>forge tune report STUDY --storage URI --out report.html</c>: the optimisation history, parameter importance and
/// slice plots of a stored study, as PNG files and one self-contained HTML file (the PNGs embedded).
/// </summary>
internal static class TuneReport
{
    public static Command Create(TextWriter output, TextWriter error, bool terminal)
    {
        var studyArg = new Argument<string>("study") { Description = "The study's name" };
        var storage = new Option<string>("--storage") { Description = "Where the study is stored: a SQLite file, sqlite:///path or postgresql://…", Required = true };
        var outOption = new Option<string>("--out") { Description = "The HTML file to write; the PNGs go beside it (NAME.history.png, NAME.importance.png, NAME.parallel.png, NAME.slices.png)", Required = true };
        var cmd = new Command("report", """
            Report on a stored study: optimisation history, parameter importance, parallel coordinates and slice plots, as PNGs and one HTML
            file that embeds them.

            Importance is permutation importance on a surrogate random forest: 64 trees fitted to the completed
            trials (parameters -> value); a parameter's importance is how much the forest's error on the trials each
            tree did not see grows when that parameter's values are shuffled among them, normalised to sum to 1. It
            sees interactions; with few trials (under about 20) read it as a hint.

            Example:
              forge tune report s1 --storage sqlite:///tmp/tune.db --out s1.html
            """)
        {
            studyArg, storage, outOption,
        };
        cmd.SetAction(p =>
        {
            var ctx = new CliContext(output, error, p.GetValue(CliApp.JsonOption), terminal);
            return CliApp.Guard(ctx, () =>
            {
                var name = p.GetValue(studyArg)!;
                if (TuneFlags.IsMemory(p.GetValue(storage))) throw new UsageException("--storage: an in-memory study is gone when its process ends; name the SQLite file or PostgreSQL database it was stored in");
                var html = Path.GetFullPath(p.GetValue(outOption)!);
                if (Directory.Exists(html)) throw new UsageException($"--out {html} is a directory; name the HTML file to write");
                using var sql = SqlStudyStorage.Open(p.GetValue(storage));
                var names = sql.ListStudies().Select(s => s.Name).ToList();
                if (!names.Contains(name, StringComparer.Ordinal)) throw new NotFoundException("study", name, names);
                var study = Study.Load(name, sql);
                var trials = study.Trials;
                var result = Write(study, trials, html);
                if (ctx.Json)
                {
                    var importance = new JsonObject();
                    foreach (var (k, v) in result.Importance.OrderByDescending(i => i.Value)) importance[k] = TrackingCli.Json(v);
                    ctx.WriteJson(new JsonObject
                    {
                        ["study"] = name, ["html"] = html, ["pngs"] = new JsonArray([.. result.Pngs.Select(x => (JsonNode)x)]),
                        ["completeTrials"] = result.Complete, ["importance"] = importance,
                    });
                    return 0;
                }
                ctx.Say($"report on study '{name}' ({result.Complete} complete trials of {trials.Count}) written to {html}");
                foreach (var (k, v) in result.Importance.OrderByDescending(i => i.Value))
                    ctx.Say(string.Create(CultureInfo.InvariantCulture, $"  {k,-20} importance {v:0.000}"));
                return 0;
            });
        });
        return cmd;
    }

    internal sealed record ReportResult(IReadOnlyDictionary<string, double> Importance, IReadOnlyList<string> Pngs, int Complete);

    internal static ReportResult Write(Study study, IReadOnlyList<FrozenTrial> trials, string htmlPath)
    {
        var complete = trials.Where(t => t.State == TrialState.Complete && t.Value is { } v && double.IsFinite(v)).OrderBy(t => t.Number).ToList();
        var dir = Path.GetDirectoryName(htmlPath)!;
        Directory.CreateDirectory(dir);
        var stem = Path.Combine(dir, Path.GetFileNameWithoutExtension(htmlPath));
        var pngs = new List<(string Title, string Path)>();
        var importance = ParameterImportance.Evaluate(complete);
        var minimize = study.Direction == StudyDirection.Minimize;
        if (complete.Count > 0)
        {
            var best = new List<double>();
            foreach (var t in complete)
                best.Add(best.Count == 0 ? t.Value!.Value : minimize ? Math.Min(best[^1], t.Value!.Value) : Math.Max(best[^1], t.Value!.Value));
            var history = stem + ".history.png";
            TuningPlots.History([.. complete.Select(t => (double)t.Number)], [.. complete.Select(t => t.Value!.Value)], best, history,
                "Objective value", $"Study '{study.Name}': optimisation history ({(minimize ? "minimise" : "maximise")})");
            pngs.Add(("Optimisation history", history));
            if (importance.Count > 0)
            {
                var imp = stem + ".importance.png";
                TabularPlots.Importance(importance, imp, $"Study '{study.Name}': parameter importance (surrogate-forest permutation)");
                pngs.Add(("Parameter importance", imp));
            }
            var slices = Slices(complete).ToList();
            if (slices.Count > 0 && complete.Count > 1)
            {
                // Trials that lack a parameter (conditional spaces) cannot be drawn across every axis.
                var shared = complete.Where(t => slices.All(sl => t.InternalParams.ContainsKey(sl.Name))).ToList();
                if (shared.Count > 1)
                {
                    var parallel = stem + ".parallel.png";
                    ParallelCoordinatesPlot.Write([.. Slices(shared)], [.. shared.Select(t => t.Value!.Value)], parallel, minimize,
                        "Objective value", $"Study '{study.Name}': parallel coordinates");
                    pngs.Add(("Parallel coordinates", parallel));
                }
            }
            if (slices.Count > 0)
            {
                var slice = stem + ".slices.png";
                TuningPlots.Slices(slices, slice, "Objective value", $"Study '{study.Name}': value against each parameter");
                pngs.Add(("Slices", slice));
            }
        }
        var page = Encoding.UTF8.GetBytes(Html(study, trials, complete, importance, pngs));
        AtomicFile.Write(htmlPath, stream => stream.Write(page));
        return new ReportResult(importance, [.. pngs.Select(p => p.Path)], complete.Count);
    }

    private static IEnumerable<SliceData> Slices(IReadOnlyList<FrozenTrial> complete)
    {
        var names = complete.SelectMany(t => t.Params.Keys).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).Take(8);
        foreach (var name in names)
        {
            var rows = complete.Where(t => t.InternalParams.ContainsKey(name)).ToList();
            var d = rows[0].Distributions[name];
            var categories = d is CategoricalDistribution c ? c.Choices.Select(TuneCommand.Format).ToList() : null;
            var log = d is FloatDistribution { Log: true } or IntDistribution { Log: true };
            yield return new SliceData(name, [.. rows.Select(t => t.InternalParams[name])], [.. rows.Select(t => t.Value!.Value)], log, categories);
        }
    }

    private static string Html(Study study, IReadOnlyList<FrozenTrial> trials, IReadOnlyList<FrozenTrial> complete, IReadOnlyDictionary<string, double> importance,
        IReadOnlyList<(string Title, string Path)> pngs)
    {
        static string E(string s) => WebUtility.HtmlEncode(s);
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>").Append(E($"Study {study.Name}")).Append("</title>");
        sb.Append("<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}table{border-collapse:collapse}td,th{padding:3px 8px;border-bottom:1px solid #ddd;text-align:left}img{max-width:100%}</style></head><body>");
        sb.Append("<h1>").Append(E($"Study '{study.Name}'")).Append("</h1>");
        var count = (TrialState s) => trials.Count(t => t.State == s);
        sb.Append(inv, $"<p>{trials.Count} trials: {count(TrialState.Complete)} complete, {count(TrialState.Pruned)} pruned, {count(TrialState.Fail)} failed, {count(TrialState.Running)} running. Direction: {TuningText.Of(study.Direction).ToLowerInvariant()}.</p>");
        if (study.FindBestOrNull(trials) is { } best)
            sb.Append("<p><b>Best</b> ").Append(E($"{TrackingCli.Number(best.Value!.Value)} (trial {best.Number}): {TuneCommand.Describe(best.Params)}")).Append("</p>");
        foreach (var (title, path) in pngs)
            sb.Append("<h2>").Append(E(title)).Append("</h2><img alt=\"").Append(E(title)).Append("\" src=\"data:image/png;base64,").Append(Convert.ToBase64String(File.ReadAllBytes(path))).Append("\">");
        if (importance.Count > 0)
        {
            sb.Append("<h2>Importance values</h2><p>Permutation importance on a surrogate random forest fitted to the completed trials: how much the forest's out-of-bag error grows when the parameter's values are shuffled, normalised to sum to 1. It sees interactions; with few trials read it as a hint.</p><table><tr><th>parameter</th><th>importance</th></tr>");
            foreach (var (k, v) in importance.OrderByDescending(i => i.Value)) sb.Append(inv, $"<tr><td>{E(k)}</td><td>{v:0.000}</td></tr>");
            sb.Append("</table>");
        }
        var top = study.Direction == StudyDirection.Minimize ? complete.OrderBy(t => t.Value) : complete.OrderByDescending(t => t.Value);
        sb.Append("<h2>Best 10 trials</h2><table><tr><th>trial</th><th>value</th><th>parameters</th></tr>");
        foreach (var t in top.Take(10)) sb.Append(inv, $"<tr><td>{t.Number}</td><td>{E(TrackingCli.Number(t.Value!.Value))}</td><td>{E(TuneCommand.Describe(t.Params))}</td></tr>");
        sb.Append("</table>");
        var failed = trials.Where(t => t.State == TrialState.Fail).Take(10).ToList();
        if (failed.Count > 0)
        {
            sb.Append("<h2>Failures</h2><table><tr><th>trial</th><th>reason</th></tr>");
            foreach (var t in failed) sb.Append(inv, $"<tr><td>{t.Number}</td><td><pre>{E(t.FailReason ?? "")}</pre></td></tr>");
            sb.Append("</table>");
        }
        sb.Append("</body></html>");
        return sb.ToString();
    }
}
