using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Forge.Explainability;
using Forge.Explainability.Agnostic;
using Forge.Explainability.Trees;

namespace Forge.Bench;

/// <summary>
/// Interpretability: TreeSHAP speed and parity against XGBoost's pred_contribs on UCI Adult (same model, rows and
/// threads, in the same run), KernelSHAP against exact SHAP on 12 features, and 1,000,000 rows streamed in batches.
/// </summary>
internal static class ExplainBench
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static int Run(BenchOptions o)
    {
        var report = new StringBuilder();
        void Out(string line = "")
        {
            Console.WriteLine(line);
            report.AppendLine(line);
        }
        var work = Directory.CreateTempSubdirectory("forge-bench-explain-").FullName;
        var failures = new List<string>();
        try
        {
            var data = Path.Combine(o.DataDir ?? Path.Combine(o.SharedDir, "data"), "adult-census-income", "adult.data");
            Out($"# Interpretability benchmark ({DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, {o.Threads} threads, load {Load()})");
            Out();
            Console.Error.WriteLine("[bench] training the XGBoost model and timing pred_contribs (bench/reference/xgb_shap.py)…");
            var reference = RunReference(o, data, work);
            var only = o.Only?.Split(',') ?? ["tree", "kernel", "scale"];

            if (only.Contains("tree")) TreeSpeed(o, reference, () => RunReference(o, data, work, timeOnly: true), Out, failures);
            if (only.Contains("kernel")) KernelVersusExact(o, reference, Out, failures);
            if (only.Contains("scale")) Scale(o, reference, Out, failures);

            Out();
            Out(failures.Count == 0 ? "All checks passed." : "FAILED: " + string.Join("; ", failures));
            var path = o.ReportPath ?? Path.Combine(o.RepoDir, "bench", "results", "explain.md");
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, report.ToString());
            Console.Error.WriteLine($"[bench] wrote {path}");
            return failures.Count == 0 ? 0 : 1;
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    private static void TreeSpeed(BenchOptions o, JsonElement reference, Func<JsonElement> timeXGBoostAgain, Action<string> Out, List<string> failures)
    {
        var model = TreeModels.FromXGBoostJson(reference.GetProperty("model").GetString()!);
        var (rows, _) = ReadCsv(reference.GetProperty("rows_csv").GetString()!);
        var (contribs, _) = ReadCsv(reference.GetProperty("contribs_csv").GetString()!);
        var n = rows.GetLength(0);
        var d = rows.GetLength(1);
        var explainer = new TreeShapExplainer(model, new TreeShapOptions { MaxDegreeOfParallelism = o.Threads });
        Console.Error.WriteLine($"[bench] TreeSHAP: {explainer.TabulatedTreeCount} of {model.Trees.Count} trees tabulated; warming up…");
        explainer.Explain(Slice(rows, 0, 500));
        // XGBoost and Forge alternate, one timed pass each per round, so changes in machine load hit both tools alike
        // (the first XGBoost passes come from the training run above).
        var rates = new List<double>();
        var xgbSeconds = reference.GetProperty("seconds").EnumerateArray().Select(x => x.GetDouble()).ToList();
        Explanation e = null!;
        for (var round = 0; round < Math.Max(3, o.Rounds); round++)
        {
            var sw = Stopwatch.StartNew();
            e = explainer.Explain(rows);
            rates.Add(n / sw.Elapsed.TotalSeconds);
            Console.Error.WriteLine($"[bench] round {round + 1}: Forge {rates[^1]:N0} rows/s; timing XGBoost pred_contribs…");
            xgbSeconds.AddRange(timeXGBoostAgain().GetProperty("seconds").EnumerateArray().Select(x => x.GetDouble()));
        }
        var recursive = new TreeShapExplainer(model, new TreeShapOptions { MaxDegreeOfParallelism = o.Threads, Algorithm = TreeShapAlgorithm.Recursive });
        var swr = Stopwatch.StartNew();
        var er = recursive.Explain(rows);
        var recursiveRate = n / swr.Elapsed.TotalSeconds;

        double maxDiff = 0, maxDiffRecursive = 0, maxGap = 0;
        var overTolerance = 0;
        for (var r = 0; r < n; r++)
        {
            for (var f = 0; f < d; f++)
            {
                var diff = Math.Abs(e.Value(r, f) - contribs[r, f]);
                maxDiff = Math.Max(maxDiff, diff);
                maxDiffRecursive = Math.Max(maxDiffRecursive, Math.Abs(er.Value(r, f) - contribs[r, f]));
                if (diff > 1e-5) overTolerance++;
            }
            maxDiff = Math.Max(maxDiff, Math.Abs(e.BaseValue(r) - contribs[r, d]));
            var gap = Math.Abs(e.AdditivityGap(r));
            maxGap = Math.Max(maxGap, gap / Math.Max(1, Math.Abs(e.Prediction(r))));
            if (gap > 1e-6 * Math.Max(1, Math.Abs(e.Prediction(r)))) failures.Add($"TreeSHAP row {r} is not additive (gap {gap:G3})");
        }
        if (overTolerance > 0) failures.Add($"{overTolerance} TreeSHAP values differ from XGBoost by more than 1e-5");

        var xgbRate = Median(xgbSeconds.Select(s => n / s).ToList());
        var median = Median(rates);
        Out($"## TreeSHAP on UCI Adult: {n:N0} rows, {d} features, XGBoost {reference.GetProperty("xgboost").GetString()} model with {model.Trees.Count} trees of depth {reference.GetProperty("depth").GetInt32()} loaded from JSON, {o.Threads} threads");
        Out("");
        Out("| implementation | rows/s (median) | range over runs | ratio to XGBoost |");
        Out("|---|---:|---:|---:|");
        Out(string.Create(Inv, $"| XGBoost `pred_contribs` (nthread={o.Threads}), alternating with Forge | {xgbRate:N0} | {xgbSeconds.Select(s => n / s).Min():N0}–{xgbSeconds.Select(s => n / s).Max():N0} ({xgbSeconds.Count} runs) | 1.00x |"));
        Out(string.Create(Inv, $"| Forge `TreeShapExplainer` (per-leaf tables) | {median:N0} | {rates.Min():N0}–{rates.Max():N0} ({rates.Count} runs) | **{median / xgbRate:F2}x** |"));
        Out(string.Create(Inv, $"| Forge `TreeShapExplainer` (Algorithm = Recursive) | {recursiveRate:N0} | 1 run | {recursiveRate / xgbRate:F2}x |"));
        Out("");
        Out(string.Create(Inv, $"Parity: max |Forge − XGBoost| over all {n * (d + 1):N0} values (features and bias) = {maxDiff:G3} with tables, {maxDiffRecursive:G3} with the recursion (tolerance 1e-5; {overTolerance} over). Additivity: max |base + Σφ − f(x)| / max(1, |f(x)|) = {maxGap:G3} over {n:N0} rows (each asserted ≤ 1e-6)."));
        Out("Target: Forge ≥ 2x XGBoost's rows/s " + (median >= 2 * xgbRate ? "(met)." : "(**not met**)."));
        Out("");
    }

    private static void KernelVersusExact(BenchOptions o, JsonElement reference, Action<string> Out, List<string> failures)
    {
        var model = TreeModels.FromXGBoostJson(reference.GetProperty("model12").GetString()!);
        var (pool, _) = ReadCsv(reference.GetProperty("rows12_csv").GetString()!);
        var background = Slice(pool, 0, 100);
        var rows = Slice(pool, 100, 100);
        var d = model.FeatureCount;
        Console.Error.WriteLine("[bench] exact SHAP, 12 features, 100 rows x 100 background rows…");
        var exactExplainer = new ExactShapExplainer(model, Background.From(background), new ExactShapOptions { MaxDegreeOfParallelism = o.Threads });
        var sw = Stopwatch.StartNew();
        var exact = exactExplainer.Explain(rows);
        var exactSeconds = sw.Elapsed.TotalSeconds;
        Out($"## KernelSHAP vs exact SHAP: {d} features, 100 rows x 100 background rows (XGBoost model of 50 trees, depth 4, evaluated by Forge), {o.Threads} threads");
        Out("");
        Out("| method | model evaluations | seconds | rows/s | max abs error vs exact | mean abs error |");
        Out("|---|---:|---:|---:|---:|---:|");
        Out(string.Create(Inv, $"| exact (all 2^{d} coalitions) | {(1L << d) * 100 * 100:N0} | {exactSeconds:F2} | {100 / exactSeconds:F1} | 0 | 0 |"));
        foreach (var samples in new[] { 512, 2048 })
        {
            foreach (var seed in o.SeedsGiven ? o.Seeds : [1, 2, 3])
            {
                var kernel = new KernelShapExplainer(model, Background.From(background), new KernelShapOptions { Samples = samples, Seed = seed, MaxDegreeOfParallelism = o.Threads });
                sw.Restart();
                var k = kernel.Explain(rows);
                var seconds = sw.Elapsed.TotalSeconds;
                double max = 0, sum = 0;
                for (var r = 0; r < 100; r++)
                {
                    for (var f = 0; f < d; f++)
                    {
                        var err = Math.Abs(k.Value(r, f) - exact.Value(r, f));
                        max = Math.Max(max, err);
                        sum += err;
                    }
                }
                if (samples == 2048 && max > 1e-2) failures.Add($"KernelSHAP with 2048 samples (seed {seed}) is {max:G3} from exact");
                Out(string.Create(Inv, $"| kernel, {samples} coalitions, seed {seed} | {(long)samples * 100 * 100:N0} | {seconds:F2} | {100 / seconds:F1} | {max:G3} | {sum / (100 * d):G3} |"));
            }
        }
        var permutation = new PermutationShapExplainer(model, Background.From(background), new PermutationShapOptions { Permutations = 10, Seed = 1, MaxDegreeOfParallelism = o.Threads });
        sw.Restart();
        var p = permutation.Explain(rows);
        var pSeconds = sw.Elapsed.TotalSeconds;
        double pMax = 0;
        for (var r = 0; r < 100; r++)
        {
            for (var f = 0; f < d; f++) pMax = Math.Max(pMax, Math.Abs(p.Value(r, f) - exact.Value(r, f)));
        }
        Out(string.Create(Inv, $"| permutation, 10 antithetic pairs, seed 1 | {20L * (d - 1) * 100 * 100 + 2 * 100 * 100:N0} | {pSeconds:F2} | {100 / pSeconds:F1} | {pMax:G3} | |"));
        Out("");
    }

    private static void Scale(BenchOptions o, JsonElement reference, Action<string> Out, List<string> failures)
    {
        const int total = 1_000_000;
        const int batch = 10_000;
        var model = TreeModels.FromXGBoostJson(reference.GetProperty("model").GetString()!);
        var (pool, _) = ReadCsv(reference.GetProperty("rows_csv").GetString()!);
        var d = pool.GetLength(1);
        var explainer = new TreeShapExplainer(model, new TreeShapOptions { MaxDegreeOfParallelism = o.Threads, KeepData = false });
        GC.Collect();
        var before = Memory();
        // Rows are Adult rows drawn at random with jittered numeric values, made batch by batch and dropped after use.
        IEnumerable<double[,]> Batches()
        {
            var rng = new Random(7);
            for (var start = 0; start < total; start += batch)
            {
                var rows = new double[batch, d];
                for (var i = 0; i < batch; i++)
                {
                    var source = rng.Next(pool.GetLength(0));
                    for (var j = 0; j < d; j++)
                    {
                        var v = pool[source, j];
                        rows[i, j] = double.IsNaN(v) || rng.Next(4) > 0 ? v : v * (0.9 + 0.2 * rng.NextDouble());
                    }
                }
                yield return rows;
            }
        }
        Console.Error.WriteLine("[bench] streaming 1,000,000 rows through TreeSHAP…");
        var sw = Stopwatch.StartNew();
        long done = 0, notAdditive = 0;
        double maxGap = 0;
        foreach (var e in explainer.ExplainBatches(Batches()))
        {
            for (var r = 0; r < e.RowCount; r++)
            {
                var f = e.Prediction(r);
                var gap = Math.Abs(e.AdditivityGap(r)) / Math.Max(1, Math.Abs(f));
                maxGap = Math.Max(maxGap, gap);
                if (gap > 1e-6) notAdditive++;
            }
            done += e.RowCount;
            if (done % 200_000 == 0) Console.Error.WriteLine($"[bench]   {done:N0} rows, VmHWM {Memory().PeakMb:F0} MB");
        }
        var seconds = sw.Elapsed.TotalSeconds;
        var after = Memory();
        if (notAdditive > 0) failures.Add($"{notAdditive} of {done:N0} streamed rows are not additive");
        Out($"## Scale: {done:N0} rows streamed in batches of {batch:N0} (TreeSHAP, same model, {o.Threads} threads)");
        Out("");
        Out("| measure | value |");
        Out("|---|---:|");
        Out(string.Create(Inv, $"| rows explained | {done:N0} |"));
        Out(string.Create(Inv, $"| time | {seconds:F1} s ({done / seconds:N0} rows/s, row generation included) |"));
        Out(string.Create(Inv, $"| rows with additivity gap > 1e-6·max(1,|f(x)|) (checked per row) | {notAdditive:N0} (max gap {maxGap:G3}) |"));
        Out(string.Create(Inv, $"| resident memory before / after (VmRSS) | {before.RssMb:F0} MB / {after.RssMb:F0} MB |"));
        Out(string.Create(Inv, $"| peak resident memory of the whole bench process (VmHWM) | {after.PeakMb:F0} MB |"));
        Out("");
    }

    private static JsonElement RunReference(BenchOptions o, string data, string work, bool timeOnly = false)
    {
        var script = Path.Combine(o.RepoDir, "bench", "reference", "xgb_shap.py");
        var psi = new ProcessStartInfo(o.Python) { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in new[] { script, "--data", data, "--out", work, "--threads", o.Threads.ToString(Inv) }) psi.ArgumentList.Add(a);
        if (timeOnly)
        {
            foreach (var a in new[] { "--time-only", "--repeats", "1" }) psi.ArgumentList.Add(a);
        }
        using var p = Process.Start(psi) ?? throw new InvalidOperationException("could not start " + o.Python);
        var stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"{script} exited with {p.ExitCode}");
        return JsonDocument.Parse(stdout.Trim().Split('\n')[^1]).RootElement.Clone();
    }

    /// <summary>Reads a numeric CSV with a header line; empty cells are NaN.</summary>
    internal static (double[,] Rows, string[] Header) ReadCsv(string path)
    {
        var lines = File.ReadAllLines(path).Where(l => l.Length > 0).ToArray();
        var header = lines[0].Split(',');
        var m = new double[lines.Length - 1, header.Length];
        for (var i = 1; i < lines.Length; i++)
        {
            var cells = lines[i].Split(',');
            for (var j = 0; j < header.Length; j++)
                m[i - 1, j] = cells[j].Length == 0 ? double.NaN : double.Parse(cells[j], Inv);
        }
        return (m, header);
    }

    private static double[,] Slice(double[,] rows, int start, int count)
    {
        var d = rows.GetLength(1);
        var s = new double[count, d];
        for (var i = 0; i < count; i++)
        {
            for (var j = 0; j < d; j++) s[i, j] = rows[start + i, j];
        }
        return s;
    }

    private static double Median(List<double> xs)
    {
        var s = xs.Order().ToArray();
        return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
    }

    private static (double RssMb, double PeakMb) Memory()
    {
        double rss = 0, peak = 0;
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal)) rss = Kb(line) / 1024;
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal)) peak = Kb(line) / 1024;
        }
        return (rss, peak);
        static double Kb(string line) => double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], Inv);
    }

    private static string Load() => MachineLoad.Text(1) ?? "?";
}
