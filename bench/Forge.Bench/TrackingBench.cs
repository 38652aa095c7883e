using System.Diagnostics;
using System.Globalization;
using System.Text;
using Forge.Core;
using Forge.Tracking;

namespace Forge.Bench;

/// <summary>The tracking store's speed targets: batched metric logging and a filtered, sorted run listing over a large store.</summary>
internal static class TrackingBench
{
    public static int Run(BenchOptions o)
    {
        var inv = CultureInfo.InvariantCulture;
        var work = Directory.CreateTempSubdirectory("forge-bench-tracking-").FullName;
        var report = new StringBuilder();
        void Out(string line)
        {
            Console.WriteLine(line);
            report.AppendLine(line);
        }
        try
        {
            Out($"# Tracking benchmark ({DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, SQLite)");
            Out("");
            Out("| measure | result | target |");
            Out("|---|---:|---:|");

            // 1. 10,000 metric points, batched, into a fresh store: once through the store, once through RunLogger as user code would.
            using (var store = TrackingStore.Open(Path.Combine(work, "log.db")))
            {
                var run = store.CreateRun("bench", "points");
                var t0 = DateTimeOffset.UtcNow;
                var points = Enumerable.Range(0, 10_000).Select(i => new MetricPoint("loss", 1.0 / (i + 1), i, t0)).ToArray();
                var sw = Stopwatch.StartNew();
                store.LogMetrics(run.RunId, points);
                sw.Stop();
                Out(string.Create(inv, $"| log 10,000 metric points, one batch (`ITrackingStore.LogMetrics`) | {sw.Elapsed.TotalSeconds:F3} s | ≤ 1 s |"));

                sw.Restart();
                using (var logger = RunLogger.Start(store, "bench", "logger"))
                {
                    for (var i = 0; i < 10_000; i++) logger.LogMetric("loss", 1.0 / (i + 1), i);
                    logger.End(RunStatus.Finished);
                }
                sw.Stop();
                Out(string.Create(inv, $"| log 10,000 metric points one call at a time through `RunLogger` (batched for you), incl. run start/end | {sw.Elapsed.TotalSeconds:F3} s | ≤ 1 s |"));
            }

            // 2. A store of 10,000 runs × 50 metrics, then the listing as a user runs it: a whole forge process.
            var big = Path.Combine(work, "big.db");
            var fill = Stopwatch.StartNew();
            using (var store = TrackingStore.Open(big))
            {
                var rng = new Random(1);
                var now = DateTimeOffset.UtcNow;
                for (var r = 0; r < o.Runs; r++)
                {
                    var run = store.CreateRun("bench", $"run-{r}");
                    var metrics = new MetricPoint[50];
                    metrics[0] = new MetricPoint("testAccuracy", rng.NextDouble(), 0, now);
                    for (var m = 1; m < 50; m++) metrics[m] = new MetricPoint($"metric{m:D2}", rng.NextDouble(), 0, now);
                    store.LogMetrics(run.RunId, metrics);
                    store.SetRunStatus(run.RunId, RunStatus.Finished);
                    if (r % 1000 == 999) Console.Error.WriteLine($"[bench] filled {r + 1:N0} runs in {fill.Elapsed.TotalSeconds:F0} s");
                }
            }
            fill.Stop();
            Out(string.Create(inv, $"| fill a store with {o.Runs:N0} runs × 50 metrics (one batch per run) | {fill.Elapsed.TotalSeconds:F0} s | |"));

            var forge = Path.Combine(o.RepoDir, "src", "Forge.Cli", "bin", "Release", "net10.0", "linux-x64", "forge.dll");
            var times = new List<double>();
            string? firstOutput = null;
            for (var i = 0; i < 5; i++)
            {
                var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
                foreach (var a in new[] { forge, "runs", "list", "--tracking", big, "--filter", "metrics.testAccuracy > 0.5", "--sort", "metrics.testAccuracy", "--json" })
                    psi.ArgumentList.Add(a);
                var sw = Stopwatch.StartNew();
                using var p = Process.Start(psi)!;
                var stdout = p.StandardOutput.ReadToEnd();
                p.StandardError.ReadToEnd();
                p.WaitForExit();
                sw.Stop();
                if (p.ExitCode != 0) throw new InvalidOperationException($"forge runs list failed ({p.ExitCode}): {stdout}");
                firstOutput ??= stdout;
                times.Add(sw.Elapsed.TotalSeconds);
            }
            times.Sort();
            Out(string.Create(inv, $"| `forge runs list --filter \"metrics.testAccuracy > 0.5\" --sort metrics.testAccuracy` over {o.Runs:N0} runs, whole process (median of 5; min {times[0]:F2}, max {times[^1]:F2}) | {times[2]:F2} s | ≤ 1 s |"));
            Console.Error.WriteLine($"[bench] first listing returned {firstOutput?.Length ?? 0:N0} characters of JSON");

            using (var store = TrackingStore.Open(big))
            {
                var sw = Stopwatch.StartNew();
                var page = store.SearchRuns(new RunQuery { Filter = "metrics.testAccuracy > 0.5", OrderBy = "metrics.testAccuracy DESC", MaxResults = 100 });
                sw.Stop();
                Out(string.Create(inv, $"| the same query in-process (`SearchRuns`, first page of {page.Runs.Count}) | {sw.Elapsed.TotalMilliseconds:F0} ms | |"));
            }

            if (o.ReportPath is { } path)
            {
                Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
                File.WriteAllText(path, report.ToString());
            }
            return 0;
        }
        finally
        {
            Directory.Delete(work, true);
        }
    }
}
