using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Forge.Tuning;

namespace Forge.Bench;

/// <summary>
/// The tuning benchmark: Forge's random, TPE and GP samplers against Optuna 3.1's random and TPE samplers (Debian's
/// python3-optuna, run in the same bench through bench/reference/optuna_functions.py) on Branin, Hartmann-6,
/// Rosenbrock-4D, Ackley-5D and a mixed int/categorical/log-float function: median best-found over seeds and the
/// best-so-far curves, then the sampler's cost per trial as a study grows to 10,000 trials.
/// </summary>
internal static class TuningBench
{
    private static readonly string[] ForgeSamplers = ["random", "tpe", "gp"];
    private static readonly string[] OptunaSamplers = ["random", "tpe"];
    private static readonly int[] Checkpoints = [100, 1000, 2000, 5000, 10000];

    private sealed record TuningRun(string Function, string Tool, string Sampler, int Seed, double[] Best);

    public static int Run(BenchOptions o)
    {
        var inv = CultureInfo.InvariantCulture;
        var seeds = o.SeedsGiven ? o.Seeds : Enumerable.Range(0, 20).ToArray();
        var functions = o.Only?.Split(',', StringSplitOptions.RemoveEmptyEntries) ?? TuningFunctions.Names;
        var results = Path.Combine(o.RepoDir, "bench", "results");
        Directory.CreateDirectory(results);
        var report = new StringBuilder();
        void Out(string line = "")
        {
            Console.WriteLine(line);
            report.AppendLine(line);
        }
        var script = Path.Combine(o.RepoDir, "bench", "reference", "optuna_functions.py");
        Out(string.Create(inv, $"# Tuning benchmark ({DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, load {Load()})"));
        Out();
        Out(string.Create(inv, $"{o.Trials} trials × {seeds.Length} seeds (seeds {seeds[0]}…{seeds[^1]}), minimising; Optuna {(o.SkipReference ? "skipped" : OptunaVersion(o))} through `bench/reference/optuna_functions.py`."));
        Out();

        // 1. Search quality. Optuna's runs go in the background (one process per function and sampler) while Forge's run
        //    on the bench's threads; nothing here is timed.
        var optuna = o.SkipReference
            ? Task.FromResult(new List<TuningRun>())
            : Task.Run(() => functions.SelectMany(f => OptunaSamplers.Select(s => (f, s))).SelectMany(fs => RunOptuna(o, script, fs.f, fs.s, o.Trials, seeds)).ToList());
        var forge = new ConcurrentBag<TuningRun>();
        var jobs = functions.SelectMany(f => ForgeSamplers.SelectMany(s => seeds.Select(seed => (f, s, seed)))).ToList();
        var clock = Stopwatch.StartNew();
        var done = 0;
        Parallel.ForEach(jobs, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, o.Threads) }, job =>
        {
            forge.Add(new TuningRun(job.f, "Forge", job.s, job.seed, RunForge(job.f, job.s, job.seed, o.Trials)));
            var n = Interlocked.Increment(ref done);
            if (n % 20 == 0) Console.Error.WriteLine(string.Create(inv, $"[bench] Forge runs {n}/{jobs.Count} ({clock.Elapsed.TotalSeconds:F0} s)"));
        });
        var all = forge.Concat(optuna.GetAwaiter().GetResult()).ToList();

        Out("## Median best value found (minimising; 25th–75th percentile over seeds in brackets)");
        Out();
        var columns = ForgeSamplers.Select(s => ("Forge", s)).Concat(o.SkipReference ? [] : OptunaSamplers.Select(s => ("Optuna", s))).ToList();
        Out("| function (optimum) | " + string.Join(" | ", columns.Select(c => $"{c.Item1} {Label(c.Item2)}")) + " | best Forge / Optuna TPE |");
        Out("|---|" + string.Concat(Enumerable.Repeat("---:|", columns.Count + 1)));
        var tpeBeatsRandom = 0;
        var bestForgeAtLeastOptuna = 0;
        var verdicts = new List<string>();
        foreach (var f in functions)
        {
            var cells = new List<string>();
            var medians = new Dictionary<(string, string), double>();
            foreach (var (tool, sampler) in columns)
            {
                var finals = all.Where(r => r.Function == f && r.Tool == tool && r.Sampler == sampler).Select(r => r.Best[^1]).Order().ToArray();
                if (finals.Length == 0)
                {
                    cells.Add("–");
                    continue;
                }
                medians[(tool, sampler)] = Quantile(finals, 0.5);
                cells.Add(string.Create(inv, $"{Fmt(Quantile(finals, 0.5))} [{Fmt(Quantile(finals, 0.25))}, {Fmt(Quantile(finals, 0.75))}]"));
            }
            var bestForge = ForgeSamplers.Where(s => medians.ContainsKey(("Forge", s))).MinBy(s => medians[("Forge", s)])!;
            var ratio = "–";
            if (medians.TryGetValue(("Optuna", "tpe"), out var optunaTpe))
            {
                var forgeBest = medians[("Forge", bestForge)];
                // Regret against the known optimum makes the ratio meaningful for functions whose optimum is not 0.
                var optimum = TuningFunctions.Optimum(f);
                ratio = string.Create(inv, $"{Label(bestForge)}: regret {Fmt(forgeBest - optimum)} vs {Fmt(optunaTpe - optimum)}");
                if (forgeBest <= optunaTpe) bestForgeAtLeastOptuna++;
            }
            if (medians[("Forge", "tpe")] < medians[("Forge", "random")]) tpeBeatsRandom++;
            else verdicts.Add($"Forge TPE does not beat Forge random on {f}");
            Out(string.Create(inv, $"| {f} ({Fmt(TuningFunctions.Optimum(f))}) | {string.Join(" | ", cells)} | {ratio} |"));
        }
        Out();
        Out(string.Create(inv, $"- Forge TPE beats Forge random (median final best) on {tpeBeatsRandom} of {functions.Length} functions (target: all) — {(tpeBeatsRandom == functions.Length ? "met" : "NOT met")}"));
        if (!o.SkipReference)
        {
            Out(string.Create(inv, $"- The best Forge sampler is at least as good as Optuna's TPE (median final best) on {bestForgeAtLeastOptuna} of {functions.Length} functions (target: ≥ 4 of 5) — {(bestForgeAtLeastOptuna >= Math.Min(4, functions.Length) ? "met" : "NOT met")}"));
        }
        foreach (var v in verdicts) Out("- " + v);
        Out();
        var marks = new[] { 10, 25, 50, o.Trials }.Where(k => k <= o.Trials).Distinct().ToArray();
        Out($"### Median best-so-far at trial {string.Join(", ", marks)}");
        Out();
        Out($"| function | sampler | {string.Join(" | ", marks)} |");
        Out("|---|---|" + string.Concat(Enumerable.Repeat("---:|", marks.Length)));
        foreach (var f in functions)
        {
            foreach (var (tool, sampler) in columns)
            {
                var runs = all.Where(r => r.Function == f && r.Tool == tool && r.Sampler == sampler).ToList();
                if (runs.Count == 0) continue;
                var at = marks.Select(k => Fmt(Quantile(runs.Select(r => r.Best[k - 1]).Order().ToArray(), 0.5)));
                Out($"| {f} | {tool} {Label(sampler)} | {string.Join(" | ", at)} |");
            }
        }
        WriteCurves(Path.Combine(results, "tuning-curves.csv"), all, o.Trials);
        Out();
        Out("Best-so-far curves (median and quartiles per trial, every function and sampler): `bench/results/tuning-curves.csv`.");
        Out();

        // 2. The sampler's cost per trial as the study grows: ask + suggestions + tell, nothing else running in the bench.
        Out($"## Sampler time per trial ({o.ScaleFunction}, median of the {Window} trials ending at each count; ask + suggest + tell)");
        Out();
        var scale = new List<(string Name, double[] Seconds)>();
        scale.Add(("Forge TPE", TimeForge(o.ScaleFunction, "tpe", o.ScaleTrials)));
        scale.Add(("Forge random", TimeForge(o.ScaleFunction, "random", Math.Min(o.ScaleTrials, 1000))));
        scale.Add(("Forge GP", TimeForge(o.ScaleFunction, "gp", Math.Min(o.ScaleTrials, o.GpScaleTrials))));
        if (!o.SkipReference)
        {
            foreach (var s in OptunaSamplers)
            {
                var run = RunOptuna(o, script, o.ScaleFunction, s, Math.Min(o.ScaleTrials, 1000), [0], timed: true).Single();
                scale.Add(($"Optuna {Label(s)}", run.Best));
            }
        }
        var counts = Checkpoints.Where(k => k <= o.ScaleTrials).ToArray();
        Out("| sampler | " + string.Join(" | ", counts.Select(k => $"trial {k:N0}")) + " |");
        Out("|---|" + string.Concat(Enumerable.Repeat("---:|", counts.Length)));
        foreach (var (name, seconds) in scale)
            Out($"| {name} | {string.Join(" | ", counts.Select(k => k <= seconds.Length ? Ms(WindowMedian(seconds, k)) : "–"))} |");
        Out();
        var forgeTpe = scale[0].Seconds;
        var optunaTpeTimes = scale.FirstOrDefault(s => s.Name == "Optuna TPE").Seconds;
        if (optunaTpeTimes is not null)
        {
            foreach (var k in new[] { 100, 1000 }.Where(k => k <= optunaTpeTimes.Length && k <= forgeTpe.Length))
            {
                var ratio = WindowMedian(optunaTpeTimes, k) / WindowMedian(forgeTpe, k);
                Out(string.Create(inv, $"- At trial {k:N0} Forge TPE takes {Ms(WindowMedian(forgeTpe, k))} per trial, Optuna TPE {Ms(WindowMedian(optunaTpeTimes, k))}: Optuna/Forge = {ratio:F1}× (target: Forge lower) — {(ratio > 1 ? "met" : "NOT met")}"));
            }
        }
        if (forgeTpe.Length >= 10000)
        {
            var growth = WindowMedian(forgeTpe, 10000) / WindowMedian(forgeTpe, 1000);
            Out(string.Create(inv, $"- Forge TPE per-trial time at 10,000 trials is {growth:F2}× its time at 1,000 (target: ≤ 3×) — {(growth <= 3 ? "met" : "NOT met")}"));
        }
        WriteScale(Path.Combine(results, "tuning-scale.csv"), scale);
        Out();
        Out("Per-trial times of every timed run: `bench/results/tuning-scale.csv`.");
        var path = o.ReportPath ?? Path.Combine(results, "tuning.md");
        File.WriteAllText(path, report.ToString());
        Console.Error.WriteLine($"[bench] report written to {path}");
        return 0;
    }

    private static string Label(string sampler) => sampler switch
    {
        "tpe" => "TPE",
        "gp" => "GP",
        _ => sampler,
    };

    internal static ISampler Sampler(string name, int seed) => name switch
    {
        "random" => new RandomSampler(seed),
        "tpe" => new TpeSampler(new TpeOptions { Seed = seed }),
        "gp" => new GpSampler(new GpOptions { Seed = seed }),
        _ => throw new ArgumentException($"unknown sampler {name}"),
    };

    private static double[] RunForge(string function, string sampler, int seed, int trials)
    {
        var study = Study.Create(new StudyOptions { Sampler = Sampler(sampler, seed), Pruner = new NopPruner() });
        var objective = TuningFunctions.Get(function);
        var best = new double[trials];
        var current = double.PositiveInfinity;
        for (var i = 0; i < trials; i++)
        {
            var trial = study.Ask();
            var value = objective(trial);
            study.Tell(trial, value);
            current = Math.Min(current, value);
            best[i] = current;
        }
        return best;
    }

    /// <summary>Seconds of ask + suggestions + tell of each trial (the test function's own arithmetic is nanoseconds).</summary>
    private static double[] TimeForge(string function, string sampler, int trials)
    {
        var study = Study.Create(new StudyOptions { Sampler = Sampler(sampler, 0), Pruner = new NopPruner() });
        var objective = TuningFunctions.Get(function);
        var seconds = new double[trials];
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < trials; i++)
        {
            var t0 = Stopwatch.GetTimestamp();
            var trial = study.Ask();
            var value = objective(trial);
            study.Tell(trial, value);
            seconds[i] = Stopwatch.GetElapsedTime(t0).TotalSeconds;
            if ((i + 1) % 1000 == 0) Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[bench] Forge {sampler} timing: {i + 1} trials in {clock.Elapsed.TotalSeconds:F0} s"));
        }
        return seconds;
    }

    /// <summary>Runs the Optuna script; returns one run per seed (best-so-far curve, or per-trial seconds when <paramref name="timed"/>).</summary>
    private static List<TuningRun> RunOptuna(BenchOptions o, string script, string function, string sampler, int trials, int[] seeds, bool timed = false)
    {
        var psi = new ProcessStartInfo(o.Python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { script, "--function", function, "--trials", trials.ToString(CultureInfo.InvariantCulture), "--seeds", string.Join(",", seeds), "--sampler", sampler })
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {o.Python}");
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"{script} failed ({p.ExitCode}): {stderr.Result}");
        using var json = JsonDocument.Parse(stdout);
        return json.RootElement.GetProperty("runs").EnumerateArray().Select(r => new TuningRun(function, "Optuna", sampler, r.GetProperty("seed").GetInt32(),
            r.GetProperty(timed ? "seconds" : "best").EnumerateArray().Select(v => v.GetDouble()).ToArray())).ToList();
    }

    private static string OptunaVersion(BenchOptions o)
    {
        try
        {
            var psi = new ProcessStartInfo(o.Python, ["-c", "import optuna; print(optuna.__version__)"]) { RedirectStandardOutput = true, UseShellExecute = false };
            using var p = Process.Start(psi)!;
            var v = p.StandardOutput.ReadToEnd().Trim();
            p.WaitForExit();
            return v;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "missing";
        }
    }

    /// <summary>Trials per timing window: wide enough that a burst of load from other processes on a shared machine does not decide it.</summary>
    private const int Window = 50;

    private static double WindowMedian(double[] seconds, int k) => Quantile(seconds[Math.Max(0, k - Window)..k].Order().ToArray(), 0.5);

    private static double Quantile(double[] sorted, double q)
    {
        var rank = q * (sorted.Length - 1);
        var lower = (int)Math.Floor(rank);
        var upper = Math.Min(lower + 1, sorted.Length - 1);
        return sorted[lower] + ((rank - lower) * (sorted[upper] - sorted[lower]));
    }

    private static string Fmt(double v) => Math.Abs(v) >= 1000 ? v.ToString("F0", CultureInfo.InvariantCulture)
        : Math.Abs(v) >= 0.01 || v == 0 ? v.ToString("0.###", CultureInfo.InvariantCulture) : v.ToString("0.##e0", CultureInfo.InvariantCulture);

    private static string Ms(double seconds) => (seconds * 1000).ToString(seconds < 0.001 ? "0.000" : "0.00", CultureInfo.InvariantCulture) + " ms";

    private static string Load() => MachineLoad.Text(1) ?? "?";

    private static void WriteCurves(string path, List<TuningRun> runs, int trials)
    {
        var csv = new StringBuilder("function,tool,sampler,trial,median_best,q25_best,q75_best,seeds\n");
        foreach (var group in runs.GroupBy(r => (r.Function, r.Tool, r.Sampler)).OrderBy(g => g.Key))
        {
            var list = group.ToList();
            for (var i = 0; i < trials; i++)
            {
                var at = list.Select(r => r.Best[i]).Order().ToArray();
                csv.AppendLine(string.Create(CultureInfo.InvariantCulture,
                    $"{group.Key.Function},{group.Key.Tool},{group.Key.Sampler},{i + 1},{Quantile(at, 0.5):R},{Quantile(at, 0.25):R},{Quantile(at, 0.75):R},{list.Count}"));
            }
        }
        File.WriteAllText(path, csv.ToString());
    }

    private static void WriteScale(string path, List<(string Name, double[] Seconds)> scale)
    {
        var csv = new StringBuilder("sampler,trial,seconds\n");
        foreach (var (name, seconds) in scale)
        {
            for (var i = 0; i < seconds.Length; i++) csv.AppendLine(string.Create(CultureInfo.InvariantCulture, $"{name},{i + 1},{seconds[i]:R}"));
        }
        File.WriteAllText(path, csv.ToString());
    }
}
