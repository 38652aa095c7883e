using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Forge.Core;
using Forge.Data;
using Forge.DeepLearning;

namespace Forge.Bench;

/// <summary>
/// Batch jobs with bounded memory: the same MNIST rows (the test set, repeated) submitted as jobs of 10k and 100k rows,
/// each to a fresh `forge serve` process, whose peak RSS (VmHWM) is read when the job has finished. The acceptance is
/// peak RSS at 100k ≤ peak RSS at 10k + 100 MB. Settings from the environment (the shared options have no room for
/// them): BATCH_SIZES (default 10000,100000), BATCH_FORMAT (jsonl or csv), BATCH_BUNDLE (a bundle to serve instead of a
/// freshly trained MLP), FORGE_CLI (forge.dll; default the Release build next to this repository).
/// </summary>
internal static class ServingBatchBench
{
    private const double BoundMb = 100;

    // The name the bundle is served under, whatever its manifest says.
    private const string ModelName = "batch-bench";

    public static int Run(BenchOptions o)
    {
        var sizes = (Environment.GetEnvironmentVariable("BATCH_SIZES") ?? "10000,100000").Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
        var format = Environment.GetEnvironmentVariable("BATCH_FORMAT") ?? "jsonl";
        if (format is not ("jsonl" or "csv")) throw new ArgumentException($"BATCH_FORMAT={format}: use jsonl or csv");
        var cli = Environment.GetEnvironmentVariable("FORGE_CLI") ?? Path.Combine(o.RepoDir, "src", "Forge.Cli", "bin", "Release", "net10.0", "linux-x64", "forge.dll");
        if (!File.Exists(cli)) throw new FileNotFoundException($"the forge CLI is not built at {cli}; run bench/run-batch-jobs.sh, or set FORGE_CLI");
        var work = Directory.CreateTempSubdirectory("forge-bench-batch-").FullName;
        try
        {
            var data = new DatasetResolver(new DatasetResolverOptions { DataDir = o.DataDir, AllowDownload = false }).Resolve("mnist");
            var test = MnistFormat.Load(data.Directory, "test");
            var bundle = Environment.GetEnvironmentVariable("BATCH_BUNDLE") ?? TrainBundle(data.Directory, Path.Combine(work, "bundle"));
            Console.Error.WriteLine($"serving-batch: {format} rows from MNIST test ({test.Count} images, repeated); bundle {bundle}");
            var lines = Enumerable.Range(0, test.Count).Select(i => Line(test, i, format)).ToArray();

            using var log = new BenchLog(Path.Combine(o.RepoDir, "bench", "results", "serving-batch.log"));
            var forge = new ServingBench.ForgeCli(cli, log, new Dictionary<string, string?> { ["OMP_NUM_THREADS"] = "1" });
            var results = new List<Result>();
            foreach (var size in sizes)
            {
                var input = Path.Combine(work, $"rows-{size}.{format}");
                WriteInput(input, lines, size, format);
                results.Add(RunOne(forge, log, bundle, input, format, size, Path.Combine(work, $"jobs-{size}")));
                File.Delete(input);
            }
            Report(o, results, format);
            var smallest = results.MinBy(r => r.Rows)!;
            return results.All(r => r.Status == "succeeded" && r.PeakMb - smallest.PeakMb <= BoundMb) ? 0 : 1;
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    private sealed record Result(int Rows, long InputBytes, double UploadSeconds, double JobSeconds, double RowsPerSecond, double PeakMb, double RssAfterMb, string Status, long Errors);

    private static string TrainBundle(string mnistDir, string dir)
    {
        TorchRuntime.SetThreads(1);
        var train = MnistFormat.Load(mnistDir, "train").Take(5000);
        using var model = new ImageClassifierTrainer(ModelSpec.Mlp() with { Hidden = [128] },
            new TrainerOptions { Epochs = 1, BatchSize = 64, Augment = false, Threads = 1 }).Fit(train);
        using var writer = ModelBundle.Create(dir);
        writer.Commit(model.WriteTo(writer, "mnist-batch-bench"));
        return dir;
    }

    /// <summary>One image as a JSONL flat array or a CSV row of 784 pixel values in 0–1 (4 decimals, as an export would hold).</summary>
    private static string Line(ImageSet set, int index, string format)
    {
        var pixels = set.GetImage(index).ToArray().Select(b => b == 0 ? "0" : (b / 255.0).ToString("0.####", CultureInfo.InvariantCulture));
        return format == "jsonl" ? "[" + string.Join(',', pixels) + "]" : index.ToString(CultureInfo.InvariantCulture) + "," + string.Join(',', pixels);
    }

    private static void WriteInput(string path, string[] lines, int rows, string format)
    {
        using var writer = new StreamWriter(path, false, new UTF8Encoding(false), 1 << 20);
        if (format == "csv") writer.Write("id," + string.Join(',', Enumerable.Range(0, 784).Select(k => "p" + k.ToString(CultureInfo.InvariantCulture))) + "\n");
        for (var i = 0; i < rows; i++)
        {
            writer.Write(lines[i % lines.Length]);
            writer.Write('\n');
        }
    }

    private static Result RunOne(ServingBench.ForgeCli forge, BenchLog log, string bundle, string input, string format, int rows, string jobsDir)
    {
        using var server = forge.Serve(bundle, ModelName, log, "--jobs-dir", jobsDir);
        using var client = new HttpClient { BaseAddress = new Uri(server.BaseUrl), Timeout = TimeSpan.FromMinutes(30) };
        var baseline = Memory(server.ProcessId).RssMb;

        var clock = Stopwatch.StartNew();
        using var file = File.OpenRead(input);
        using var content = new StreamContent(file, 1 << 16);
        content.Headers.ContentType = new MediaTypeHeaderValue(format == "csv" ? "text/csv" : "application/x-ndjson");
        using var response = client.PostAsync($"/v1/batch-jobs?model={ModelName}", content).Result;
        var body = JsonNode.Parse(response.Content.ReadAsStringAsync().Result)!;
        if ((int)response.StatusCode != 202) throw new InvalidOperationException($"submit answered {(int)response.StatusCode}: {body.ToJsonString()}");
        var upload = clock.Elapsed.TotalSeconds;
        var id = (string)body["id"]!;
        JsonNode status;
        var lastPrint = Stopwatch.StartNew();
        while (true)
        {
            status = JsonNode.Parse(client.GetStringAsync($"/v1/batch-jobs/{id}").Result)!;
            if ((string?)status["status"] is "succeeded" or "failed" or "cancelled") break;
            if (lastPrint.Elapsed > TimeSpan.FromSeconds(10))
            {
                Console.Error.WriteLine($"  {rows:N0} rows: {(long)status["rowsDone"]!:N0} done, RSS {Memory(server.ProcessId).RssMb:F0} MB");
                lastPrint.Restart();
            }
            Thread.Sleep(250);
        }
        // Reading the results streams the file; it must not raise the peak either.
        using (var results = client.GetStreamAsync($"/v1/batch-jobs/{id}/results").Result) results.CopyTo(Stream.Null);
        var (peak, rss) = Memory(server.ProcessId);
        var jobSeconds = (double?)status["runSeconds"] ?? 0;
        Console.Error.WriteLine($"  {rows:N0} rows: {(string?)status["status"]} in {jobSeconds:F1} s, peak RSS {peak:F0} MB (ready at {baseline:F0} MB)");
        return new Result(rows, new FileInfo(input).Length, upload, jobSeconds, jobSeconds > 0 ? rows / jobSeconds : 0, peak, rss,
            (string?)status["status"] ?? "?", (long?)status["errors"] ?? 0);
    }

    /// <summary>VmHWM (peak resident set) and VmRSS of a process, in MB.</summary>
    private static (double PeakMb, double RssMb) Memory(int pid)
    {
        double peak = 0, rss = 0;
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal)) peak = Kb(line) / 1024;
            else if (line.StartsWith("VmRSS:", StringComparison.Ordinal)) rss = Kb(line) / 1024;
        }
        return (peak, rss);

        static double Kb(string line) => double.Parse(line.Split(':')[1].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
    }

    private static void Report(BenchOptions o, List<Result> results, string format)
    {
        var smallest = results.MinBy(r => r.Rows)!;
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"# Batch jobs: peak server memory ({DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, {format} MNIST rows)");
        sb.AppendLine();
        sb.AppendLine("| rows | input MB | upload s | job s | rows/s | peak RSS MB | vs smallest | bound (+100 MB) | status |");
        sb.AppendLine("|---:|---:|---:|---:|---:|---:|---:|:---:|---|");
        foreach (var r in results)
        {
            var delta = r.PeakMb - smallest.PeakMb;
            sb.AppendLine(CultureInfo.InvariantCulture,
                $"| {r.Rows:N0} | {r.InputBytes / 1048576.0:F1} | {r.UploadSeconds:F1} | {r.JobSeconds:F1} | {r.RowsPerSecond:F0} | {r.PeakMb:F0} | {delta:+0;-0;0} MB | {(delta <= BoundMb ? "ok" : "EXCEEDED")} | {r.Status}{(r.Errors > 0 ? $", {r.Errors} errors" : "")} |");
        }
        Console.WriteLine(sb.ToString());
        if (o.ReportPath is { } path) File.WriteAllText(path, sb.ToString());
    }
}
