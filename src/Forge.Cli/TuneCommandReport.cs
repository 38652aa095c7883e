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
        var outOption = new Option<string>("--out") { Description = "The HTML file to write; the PNGs go beside it (NAME.history.png, NAME.importance.png, NAME.slices.png)", Required = true };
        var cmd = new Command("report", """
            Report on a stored study: optimisation history, parameter importance and slice plots, as PNGs and one HTML
            file that embeds them.

            Importance is each parameter's bias-corrected correlation ratio (epsilon squared): the share of the variance
            of the completed trials' values explained by the parameter alone, its values grouped into up to 5 quantile
            bins (or by choice), less what chance gives with that many groups (so no effect reads about 0).
            It sees main effects only (no interactions), and a sampler that concentrates its trials (TPE, GP) narrows
            the spread it measures; read it as a hint, not a decomposition.

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
        var importance = Importance(complete);
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
                TabularPlots.Importance(importance, imp, $"Study '{study.Name}': parameter importance (epsilon squared)");
                pngs.Add(("Parameter importance", imp));
            }
            var slices = Slices(complete).ToList();
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

    /// <summary>
    /// Each parameter's bias-corrected correlation ratio ε² over the completed trials: between-group variance of the values
    /// over their total variance, less what chance alone gives with that many groups, grouping a categorical by its choice and a number into up to 5 equal-count bins of its internal
    /// (log for log parameters) value. Parameters with one distinct value, or studies with fewer than 4 trials, get none.
    /// </summary>
    internal static IReadOnlyDictionary<string, double> Importance(IReadOnlyList<FrozenTrial> complete)
    {
        var result = new Dictionary<string, double>(StringComparer.Ordinal);
        if (complete.Count < 4) return result;
        var names = complete.SelectMany(t => t.Params.Keys).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal);
        foreach (var name in names)
        {
            var rows = complete.Where(t => t.InternalParams.ContainsKey(name)).Select(t => (X: t.InternalParams[name], Y: t.Value!.Value, D: t.Distributions[name])).ToList();
            if (rows.Count < 4 || rows.Select(r => r.X).Distinct().Count() < 2) continue;
            var mean = rows.Average(r => r.Y);
            var total = rows.Sum(r => (r.Y - mean) * (r.Y - mean));
            if (!(total > 0)) continue;
            int[] group;
            if (rows[0].D is CategoricalDistribution)
            {
                group = [.. rows.Select(r => (int)r.X)];
            }
            else
            {
                var log = rows[0].D is FloatDistribution { Log: true } or IntDistribution { Log: true };
                var xs = rows.Select(r => log ? Math.Log(r.X) : r.X).ToArray();
                var bins = Math.Min(5, rows.Count / 3);
                var sorted = xs.Order().ToArray();
                // Equal-count bins by rank; ties share a bin (the edge is a value, not a rank), so a grid stays grouped by its points.
                var edges = Enumerable.Range(1, bins - 1).Select(b => sorted[(int)((long)b * sorted.Length / bins)]).Distinct().ToArray();
                group = [.. xs.Select(x => edges.Count(e => x >= e))];
            }
            var groups = group.Select((g, i) => (g, i)).GroupBy(p => p.g).ToList();
            var between = groups.Sum(g =>
            {
                var m = g.Average(p => rows[p.i].Y);
                return g.Count() * (m - mean) * (m - mean);
            });
            // η² itself is biased upwards: a parameter with no effect scores (k−1)/(n−1) on average with k groups of n
            // trials, 0.19 for 5 bins of 22 trials. ε² subtracts that expectation, so no effect reads about 0.
            var k = groups.Count;
            var within = (total - between) / Math.Max(1, rows.Count - k);
            result[name] = Math.Max(0, (between - ((k - 1) * within)) / total);
        }
        return result;
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
            sb.Append("<h2>Importance values</h2><p>Bias-corrected correlation ratio (ε²) of each parameter over the completed trials: the share of the values' variance explained by the parameter alone (up to 5 quantile bins, or its choices), less what chance gives with that many groups. Main effects only; concentrated sampling (TPE, GP) narrows what it can see.</p><table><tr><th>parameter</th><th>ε²</th></tr>");
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
