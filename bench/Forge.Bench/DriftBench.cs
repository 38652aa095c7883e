using System.Diagnostics;
using System.Globalization;
using System.Text;
using Forge.Monitoring;

namespace Forge.Bench;

/// <summary>
/// The monitoring targets: power and false alarms of the drift tests (200 seeded trials each), delay and false alarms
/// of the concept-drift detectors, and the speed and memory of profiling and of drift over wide data.
/// </summary>
internal static class DriftBench
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static int Run(BenchOptions o)
    {
        var report = new StringBuilder();
        void Out(string line)
        {
            Console.WriteLine(line);
            report.AppendLine(line);
        }
        var trials = o.Limit ?? 200;
        Out($"# Drift benchmark ({DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, load {Load()})");
        Out("");
        var parts = (o.Only ?? "power,calibrate,concept,speed").Split(',');
        if (parts.Contains("power")) Power(Out, trials);
        // "calibrate=EDDM" calibrates only the detectors whose group name starts with EDDM.
        foreach (var part in parts.Where(p => p == "calibrate" || p.StartsWith("calibrate=", StringComparison.Ordinal)))
            Calibrate(Out, o.Limit ?? 100, part.Length > "calibrate=".Length ? part["calibrate=".Length..] : "");
        if (parts.Contains("concept")) Concept(Out, o.Limit ?? 100);
        if (parts.Contains("speed")) Speed(Out, o);
        Out("");
        Out($"Peak memory of the whole run (VmHWM): {PeakMegabytes():F0} MB; load at the end {Load()}.");
        var path = o.ReportPath ?? Path.Combine(o.RepoDir, "bench", "results", "drift.md");
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        File.WriteAllText(path, report.ToString());
        Console.Error.WriteLine($"[bench] wrote {path}");
        return 0;
    }

    // ------------------------------------------------------------------ power and false alarms

    private sealed record Method(string Name, Func<ColumnSet, ColumnSet, ReferenceProfile, bool> Flags);

    private static bool Flag(DriftResult r) => r.Columns[0].Drifted;

    private static DriftOptions Test(DriftTest t) => t is DriftTest.KolmogorovSmirnov or DriftTest.Wasserstein
        ? new() { NumericTest = t, IncludeHistograms = false }
        : t is DriftTest.ChiSquared or DriftTest.ZTest
            ? new() { CategoricalTest = t, IncludeHistograms = false }
            : new() { NumericTest = t, CategoricalTest = t, IncludeHistograms = false };

    private static void Power(Action<string> Out, int trials)
    {
        const int n = 5000;
        var quiet = new DriftOptions { IncludeHistograms = false };
        var numeric = new Method[]
        {
            new("default (Evidently rule → normed Wasserstein ≥ 0.1), raw reference", (r, c, _) => Flag(DataDrift.Compare(r, c, quiet))),
            new("default, stored profile (Wasserstein through the 100-bin histogram)", (_, c, p) => Flag(DataDrift.Compare(p, c, quiet))),
            new("KS, p ≤ 0.05, raw reference (exact p-value)", (r, c, _) => Flag(DataDrift.Compare(r, c, Test(DriftTest.KolmogorovSmirnov)))),
            new("KS, p ≤ 0.05, stored profile (binned D)", (_, c, p) => Flag(DataDrift.Compare(p, c, Test(DriftTest.KolmogorovSmirnov)))),
            new("`Selection = Significance` (KS), stored profile", (_, c, p) => Flag(DataDrift.Compare(p, c, new DriftOptions { Selection = TestSelection.Significance, IncludeHistograms = false }))),
            new("PSI ≥ 0.1, raw reference (Evidently's Sturges bins)", (r, c, _) => Flag(DataDrift.Compare(r, c, Test(DriftTest.Psi)))),
            new("PSI ≥ 0.1, stored profile (reference deciles)", (_, c, p) => Flag(DataDrift.Compare(p, c, Test(DriftTest.Psi)))),
            new("Jensen–Shannon ≥ 0.1, raw reference", (r, c, _) => Flag(DataDrift.Compare(r, c, Test(DriftTest.JensenShannon)))),
        };
        Out($"## Data drift: share of {trials} seeded trials flagged (n = {n:N0} per side)");
        Out("");
        Out("| method | 0.1σ mean shift (target ≥ 95%) | no shift (target ≤ 6%) |");
        Out("|---|---:|---:|");
        var sw = Stopwatch.StartNew();
        foreach (var m in numeric)
        {
            var shifted = Rate(trials, seed => NumericTrial(n, 0.1, seed), m);
            var same = Rate(trials, seed => NumericTrial(n, 0.0, seed), m);
            Out(string.Create(Inv, $"| {m.Name} | {shifted:P1} | {same:P1} |"));
        }
        Console.Error.WriteLine($"[bench] numeric power in {sw.Elapsed.TotalSeconds:F0} s");

        var categorical = new Method[]
        {
            new("default (Evidently rule → Jensen–Shannon ≥ 0.1)", (_, c, p) => Flag(DataDrift.Compare(p, c, quiet))),
            new("chi-squared, p < 0.05", (_, c, p) => Flag(DataDrift.Compare(p, c, Test(DriftTest.ChiSquared)))),
            new("`Selection = Significance` (chi-squared)", (_, c, p) => Flag(DataDrift.Compare(p, c, new DriftOptions { Selection = TestSelection.Significance, IncludeHistograms = false }))),
            new("PSI ≥ 0.1", (_, c, p) => Flag(DataDrift.Compare(p, c, Test(DriftTest.Psi)))),
            new("Evidently's chi-squared (current against reference shares taken as exact), p < 0.05", (r, c, _) => EvidentlyChi(r, c) < 0.05),
        };
        Out("");
        Out($"Categorical column, shares (0.40, 0.30, 0.20, 0.10); the shift moves 5 points from the first category to the last, (0.35, 0.30, 0.20, 0.15):");
        Out("");
        Out("| method | 5-point shift (target ≥ 95%) | no shift (target ≤ 6%) |");
        Out("|---|---:|---:|");
        foreach (var m in categorical)
        {
            var shifted = Rate(trials, seed => CategoricalTrial(n, true, seed), m);
            var same = Rate(trials, seed => CategoricalTrial(n, false, seed), m);
            Out(string.Create(Inv, $"| {m.Name} | {shifted:P1} | {same:P1} |"));
        }
        Out("");
    }

    private static double EvidentlyChi(ColumnSet reference, ColumnSet current)
    {
        var r = reference[0].StringValues;
        var c = current[0].StringValues;
        var keys = r.Concat(c).Distinct().ToArray();
        return DriftStatistics.ChiSquaredAgainstReference(
            keys.Select(k => (double)r.Count(v => v == k)).ToArray(),
            keys.Select(k => (double)c.Count(v => v == k)).ToArray()).PValue;
    }

    private static double Rate(int trials, Func<int, (ColumnSet Reference, ColumnSet Current)> make, Method m)
    {
        var flagged = 0;
        for (var t = 0; t < trials; t++)
        {
            var (r, c) = make(1000 + t);
            var profile = ReferenceProfile.Build(r);
            if (m.Flags(r, c, profile)) flagged++;
        }
        return (double)flagged / trials;
    }

    private static (ColumnSet, ColumnSet) NumericTrial(int n, double shift, int seed) => (
        new ColumnSet(DataColumn.Numeric("x", Normal(n, 0, seed * 2))),
        new ColumnSet(DataColumn.Numeric("x", Normal(n, shift, seed * 2 + 1))));

    private static (ColumnSet, ColumnSet) CategoricalTrial(int n, bool shift, int seed)
    {
        string[] names = ["a", "b", "c", "d"];
        double[] before = [0.40, 0.30, 0.20, 0.10];
        double[] after = shift ? [0.35, 0.30, 0.20, 0.15] : before;
        return (new ColumnSet(DataColumn.Categorical("c", Draw(n, names, before, seed * 2))),
            new ColumnSet(DataColumn.Categorical("c", Draw(n, names, after, seed * 2 + 1))));
    }

    private static string?[] Draw(int n, string[] names, double[] shares, int seed)
    {
        var rng = new Random(seed);
        var values = new string?[n];
        for (var i = 0; i < n; i++)
        {
            var u = rng.NextDouble();
            var k = 0;
            while (k < shares.Length - 1 && u >= shares[k])
            {
                u -= shares[k];
                k++;
            }
            values[i] = names[k];
        }
        return values;
    }

    internal static double[] Normal(int n, double mean, int seed)
    {
        var rng = new Random(seed);
        var x = new double[n];
        for (var i = 0; i < n; i++)
        {
            var u1 = 1.0 - rng.NextDouble();
            x[i] = mean + Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * rng.NextDouble());
        }
        return x;
    }

    // ------------------------------------------------------------------ concept drift

    private static readonly (string Name, Func<IConceptDriftDetector> Create)[] Detectors =
    [
        ("DDM (1,000 inputs first, drift 4, warning 3)", () => new Ddm()),
        (string.Create(Inv, $"EDDM ({new EddmOptions().MinErrors:N0} errors first, drift {new EddmOptions().DriftRatio}, warning {new EddmOptions().WarningRatio})"), () => new Eddm()),
        ("ADWIN (δ = 0.002)", () => new Adwin()),
        ("Page–Hinkley (λ = 150)", () => new PageHinkley()),
        ("DDM, published (30 inputs first, drift 3, warning 2), not the default", () => new Ddm(DdmOptions.Published)),
        ("EDDM, published (30 errors first, drift 0.9, warning 0.95), not the default", () => new Eddm(EddmOptions.Published)),
        ("Page–Hinkley, river's λ = 50, not the default", () => new PageHinkley(PageHinkleyOptions.Published)),
        ("ADWIN (δ = 0.002), checking every 32 inputs as MOA does, not the default", () => new Adwin(new AdwinOptions { CheckEvery = 32 })),
    ];

    // How the detectors' Forge defaults were chosen: for each candidate setting, the largest number of drift signals on
    // any stationary 100,000-input stream (error rates 0.05, 0.1, 0.2 and 0.3; calibration seeds 20,000+, never the
    // evaluation seeds of the concept part), and the median delay on an abrupt 0.1 → 0.3 jump (seeds 30,000+). Each
    // detector's settings are listed from the most sensitive to the most conservative; the default is the first from
    // which on every more conservative setting also keeps its worst stream at one false alarm or fewer, so a lucky
    // count between two unlucky ones is never the pick.
    private static readonly (string Detector, string Setting, Func<IConceptDriftDetector> Create)[] Candidates =
    [
        .. new[] { 30, 300, 1000 }.SelectMany(m => new[] { 3.0, 3.5, 4.0, 5.0, 6.0 }.Select(k => ($"DDM, {m} inputs first", string.Create(Inv, $"drift level {k}, warning {k - 1}"),
            (Func<IConceptDriftDetector>)(() => new Ddm(new DdmOptions { MinInstances = m, DriftLevel = k, WarningLevel = k - 1 }))))),
        .. new[] { 30, 100, 300, 1000 }.SelectMany(m => new[] { 0.9, 0.85, 0.8, 0.75, 0.7, 0.6 }.Select(r => ($"EDDM, min errors {m}", string.Create(Inv, $"drift ratio {r}, warning {r + 0.05:0.00}"),
            (Func<IConceptDriftDetector>)(() => new Eddm(new EddmOptions { MinErrors = m, DriftRatio = r, WarningRatio = r + 0.05 }))))),
        .. new[] { 50.0, 75, 100, 125, 150, 200, 250 }.Select(l => ("Page–Hinkley", $"λ = {l}",
            (Func<IConceptDriftDetector>)(() => new PageHinkley(new PageHinkleyOptions { Threshold = l })))),
    ];

    private static void Calibrate(Action<string> Out, int seeds, string only)
    {
        const int stationary = 100_000, before = 5000, after = 5000;
        double[] rates = [0.05, 0.1, 0.2, 0.3];
        Out($"## Concept-drift detector calibration ({seeds} calibration seeds per stream)");
        Out("");
        Out("Worst stationary stream: the most drift signals on any of the stationary 100,000-input streams at error rates 0.05, 0.1, 0.2 and 0.3 " +
            "(seeds 20,000+). Delay: median inputs to the first signal after an abrupt 0.1 → 0.3 jump (seeds 30,000+). " +
            "Settings go from the most sensitive to the most conservative; the chosen one is the first from which on no setting has more than one false alarm on its worst stream.");
        Out("");
        Out("| detector | setting | worst stationary stream (false alarms) | abrupt delay median (p10–p90) | abrupt misses | chosen |");
        Out("|---|---|---:|---:|---:|---|");
        foreach (var group in Candidates.Where(c => c.Detector.StartsWith(only, StringComparison.OrdinalIgnoreCase)).GroupBy(c => c.Detector))
        {
            var sw = Stopwatch.StartNew();
            var rows = new List<(string Setting, int Worst, int Misses, string Delay)>();
            foreach (var (_, setting, create) in group)
            {
                var worst = 0;
                foreach (var rate in rates)
                    for (var s = 0; s < seeds; s++)
                    {
                        var detector = create();
                        var rng = new Random(20_000 + s + (int)(rate * 1000));
                        for (var i = 0; i < stationary; i++) detector.Update(rng.NextDouble() < rate ? 1 : 0);
                        worst = Math.Max(worst, (int)detector.Detections);
                    }
                var delays = new List<int>();
                var misses = 0;
                for (var s = 0; s < seeds; s++)
                {
                    var (d, _) = Delay(create(), before, i => i < before ? 0.1 : 0.3, before + after, 30_000 + s);
                    if (d < 0) misses++;
                    else delays.Add(d);
                }
                rows.Add((setting, worst, misses, Quantiles(delays)));
            }
            var from = rows.Count;
            while (from > 0 && rows[from - 1].Worst <= 1) from--;
            var chosen = from < rows.Count ? rows[from].Setting : null;
            foreach (var r in rows)
                Out(string.Create(Inv, $"| {group.Key} | {r.Setting} | {r.Worst} | {r.Delay} | {r.Misses} | {(r.Setting == chosen ? "**chosen**" : "")} |"));
            Console.Error.WriteLine($"[bench] {group.Key} calibrated in {sw.Elapsed.TotalSeconds:F0} s");
        }
        Out("");
    }

    private static void Concept(Action<string> Out, int seeds)
    {
        const int before = 5000, after = 5000, ramp = 2000, stationary = 100_000;
        Out($"## Concept drift: Bernoulli error streams, {seeds} seeds each");
        Out("");
        Out($"Abrupt: error rate 0.1 for {before:N0} inputs, then 0.3 for {after:N0}. Gradual: 0.1, then a linear ramp to 0.3 over {ramp:N0} inputs (delay counted from the ramp's start). " +
            $"Stationary: 0.1 for {stationary:N0} inputs. Delay = inputs from the change to the first drift signal; a detection before the change is a false alarm; no detection by the end is a miss.");
        Out("");
        Out("| detector | abrupt delay median (p10–p90) | abrupt misses | gradual delay median (p10–p90) | gradual misses | false alarms before the change (all seeds) | stationary 100k: false alarms per stream, median / max (target ≤ 1) |");
        Out("|---|---:|---:|---:|---:|---:|---:|");
        foreach (var (name, create) in Detectors)
        {
            var sw = Stopwatch.StartNew();
            var abrupt = new List<int>();
            var gradual = new List<int>();
            int abruptMiss = 0, gradualMiss = 0, early = 0;
            var falseAlarms = new List<int>();
            for (var s = 0; s < seeds; s++)
            {
                var (d1, e1) = Delay(create(), before, i => i < before ? 0.1 : 0.3, before + after, 7000 + s);
                if (d1 < 0) abruptMiss++;
                else abrupt.Add(d1);
                var (d2, e2) = Delay(create(), before, i => i < before ? 0.1 : Math.Min(0.3, 0.1 + 0.2 * (i - before) / ramp), before + ramp + after, 8000 + s);
                if (d2 < 0) gradualMiss++;
                else gradual.Add(d2);
                early += e1 + e2;
                var detector = create();
                var rng = new Random(9000 + s);
                for (var i = 0; i < stationary; i++) detector.Update(rng.NextDouble() < 0.1 ? 1 : 0);
                falseAlarms.Add((int)detector.Detections);
            }
            falseAlarms.Sort();
            Out(string.Create(Inv, $"| {name} | {Quantiles(abrupt)} | {abruptMiss} | {Quantiles(gradual)} | {gradualMiss} | {early} | {falseAlarms[falseAlarms.Count / 2]} / {falseAlarms[^1]} |"));
            Console.Error.WriteLine($"[bench] {name} in {sw.Elapsed.TotalSeconds:F1} s");
        }
        Out("");
    }

    private static (int Delay, int Early) Delay(IConceptDriftDetector detector, int change, Func<int, double> rate, int length, int seed)
    {
        var rng = new Random(seed);
        var early = 0;
        for (var i = 0; i < length; i++)
        {
            var state = detector.Update(rng.NextDouble() < rate(i) ? 1 : 0);
            if (state != DetectorState.Drift) continue;
            if (i < change) early++;
            else return (i - change, early);
        }
        return (-1, early);
    }

    private static string Quantiles(List<int> values)
    {
        if (values.Count == 0) return "–";
        values.Sort();
        int At(double q) => values[(int)Math.Min(values.Count - 1, Math.Floor(q * values.Count))];
        return string.Create(Inv, $"{At(0.5)} ({At(0.1)}–{At(0.9)})");
    }

    // ------------------------------------------------------------------ speed

    private static void Speed(Action<string> Out, BenchOptions o)
    {
        Out("## Speed and memory");
        Out("");
        Out("| measure | result | target |");
        Out("|---|---:|---:|");

        // 1. Profile of 1,000,000 rows × 20 columns (16 numeric, 4 categorical).
        const int rows = 1_000_000;
        var columns = new List<DataColumn>();
        for (var c = 0; c < 16; c++) columns.Add(DataColumn.Numeric($"n{c}", Normal(rows, c, 100 + c)));
        for (var c = 0; c < 4; c++)
        {
            var rng = new Random(200 + c);
            var names = Enumerable.Range(0, 12 + 10 * c).Select(i => $"cat{i}").ToArray();
            columns.Add(DataColumn.Categorical($"c{c}", Enumerable.Range(0, rows).Select(_ => names[rng.Next(names.Length)]).ToArray()));
        }
        var big = new ColumnSet(columns);
        var inputMb = PeakMegabytes();
        ResetPeak();
        ReferenceProfile? profile = null;
        var build = Median(3, () => profile = ReferenceProfile.Build(big));
        var json = profile!.ToJson();
        Out(string.Create(Inv, $"| `ReferenceProfile.Build`, 1,000,000 rows × 20 columns (16 numeric, 4 categorical), median of 3 | {Timed(build)} | ≤ 5 s |"));
        Out(string.Create(Inv, $"| its profile.json | {json.Length / 1024.0:F0} KB | |"));
        Out(string.Create(Inv, $"| peak resident memory while profiling (VmHWM reset after generating the {inputMb:F0} MB of input) | {PeakMegabytes():F0} MB | |"));
        columns.Clear();
        big = null;
        GC.Collect();

        // 2. A profile of 100 numeric features as stored in a bundle.
        var wide = new ColumnSet(Enumerable.Range(0, 100).Select(c => DataColumn.Numeric($"f{c:D3}", Normal(100_000, 0, 300 + c))));
        var wideProfile = ReferenceProfile.Build(wide);
        Out(string.Create(Inv, $"| profile.json of 100 numeric features (100,000 full-precision rows each) | {wideProfile.ToJson().Length / 1024.0:F0} KB | ≤ 1 MB |"));
        var small = new ColumnSet(Enumerable.Range(0, 100).Select(c => DataColumn.Numeric($"f{c:D3}", Normal(1000, 0, 500 + c))));
        Out(string.Create(Inv, $"| profile.json of 100 numeric features of a 1,000-row reference (every value kept, 17-digit doubles) | {ReferenceProfile.Build(small).ToJson().Length / 1024.0:F0} KB | ≤ 1 MB |"));
        var small3 = new ColumnSet(Enumerable.Range(0, 100).Select(c => DataColumn.Numeric($"f{c:D3}", Normal(1000, 0, 500 + c).Select(v => Math.Round(v, 3)).ToArray())));
        Out(string.Create(Inv, $"| the same with 3-decimal values (as read from a CSV) | {ReferenceProfile.Build(small3).ToJson().Length / 1024.0:F0} KB | ≤ 1 MB |"));
        var small32 = new ColumnSet(Enumerable.Range(0, 100).Select(c => DataColumn.Numeric($"f{c:D3}", Normal(1000, 0, 500 + c).Select(v => (double)(float)v).ToArray())));
        Out(string.Create(Inv, $"| the same with float32 values (what models take) | {ReferenceProfile.Build(small32).ToJson().Length / 1024.0:F0} KB | ≤ 1 MB |"));

        // 3. Drift over 100 columns × 100,000 rows.
        var current = new ColumnSet(Enumerable.Range(0, 100).Select(c => DataColumn.Numeric($"f{c:D3}", Normal(100_000, c % 2 == 0 ? 0.05 : 0, 700 + c))));
        var options = new DriftOptions { IncludeHistograms = false };
        GC.Collect();
        ResetPeak();
        var driftInputMb = PeakMegabytes();
        Out(string.Create(Inv, $"| drift, 100 columns × 100,000 rows, raw reference vs raw current (exact normed Wasserstein), median of 3 | {Timed(Median(3, () => DataDrift.Compare(wide, current, options)))} | ≤ 2 s |"));
        Out(string.Create(Inv, $"| drift, the same current rows vs the stored profile (binned Wasserstein), median of 3 | {Timed(Median(3, () => DataDrift.Compare(wideProfile, current, options)))} | ≤ 2 s |"));
        var ks = new DriftOptions { NumericTest = DriftTest.KolmogorovSmirnov, IncludeHistograms = false };
        Out(string.Create(Inv, $"| drift, raw vs raw with KS forced on every column (asymptotic p-values), median of 3 | {Timed(Median(3, () => DataDrift.Compare(wide, current, ks)))} | |"));
        ProfileBuilder? window = null;
        var fill = Median(3, () =>
        {
            window = ProfileBuilder.ForWindow(wideProfile);
            window.Add(current);
        });
        var windowProfile = window!.ToProfile();
        Out(string.Create(Inv, $"| accumulate the 100,000 × 100 current rows into a window profile, median of 3 | {Timed(fill)} | |"));
        Out(string.Create(Inv, $"| drift, window profile vs stored profile (what the server does every N rows), median of 5 | {Median(5, () => DataDrift.Compare(wideProfile, windowProfile, options)) * 1000:F0} ms wall, {LastCpu * 1000:F0} ms CPU | |"));

        Out(string.Create(Inv, $"| peak resident memory during the drift runs (VmHWM reset before them; {driftInputMb:F0} MB resident at the reset, inputs included) | {PeakMegabytes():F0} MB | bounded |"));
        if (!o.SkipReference) Reference(Out, o);
    }

    private static void Reference(Action<string> Out, BenchOptions o)
    {
        var script = Path.Combine(o.RepoDir, "bench", "reference", "drift_reference.py");
        var psi = new ProcessStartInfo(o.Python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(script);
        try
        {
            using var p = Process.Start(psi)!;
            var stdout = p.StandardOutput.ReadToEnd();
            var stderr = p.StandardError.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode != 0)
            {
                Console.Error.WriteLine($"[bench] {script} failed: {stderr}");
                return;
            }
            foreach (var line in stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)) Out(line);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            Console.Error.WriteLine($"[bench] cannot run {o.Python}: {e.Message}");
        }
    }

    /// <summary>
    /// Median wall time of <paramref name="runs"/> runs, with the median CPU time in <see cref="LastCpu"/>: on a shared,
    /// loaded machine the CPU seconds (divided by the cores used) say more about an idle machine than the wall time.
    /// </summary>
    private static double Median(int runs, Action action)
    {
        var t = new List<double>();
        var cpu = new List<double>();
        var process = Process.GetCurrentProcess();
        for (var i = 0; i < runs; i++)
        {
            process.Refresh();
            var cpu0 = process.TotalProcessorTime;
            var sw = Stopwatch.StartNew();
            action();
            t.Add(sw.Elapsed.TotalSeconds);
            process.Refresh();
            cpu.Add((process.TotalProcessorTime - cpu0).TotalSeconds);
        }
        t.Sort();
        cpu.Sort();
        LastCpu = cpu[runs / 2];
        return t[runs / 2];
    }

    private static double LastCpu { get; set; }

    private static string Timed(double wall) => string.Create(Inv, $"{wall:F2} s wall, {LastCpu:F2} s CPU");

    private static double PeakMegabytes()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                return double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], Inv) / 1024;
        }
        return double.NaN;
    }

    /// <summary>Resets VmHWM to the current resident size (Linux: 5 written to clear_refs), so a section's own peak can be read.</summary>
    private static void ResetPeak()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private static string Load() => MachineLoad.Text() ?? "?";
}
