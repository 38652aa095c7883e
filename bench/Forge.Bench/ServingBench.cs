using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;

namespace Forge.Bench;

/// <summary>
/// The serving benchmark (bench/run-serving.sh): Forge serving a reference-cnn MNIST bundle against the unchanged
/// FastAPI + uvicorn reference, driven by wrk at concurrency 1, 8 and 64; Forge with batching off; the sentiment model;
/// and the robustness run. Every server is a child process and only one runs at a time, so each gets the whole machine.
/// </summary>
internal static partial class ServingBench
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;
    private static readonly int[] Concurrencies = [1, 8, 64];

    /// <summary>The thread settings a user's shell may hand both servers: OMP_NUM_THREADS unset, 1 and 2.</summary>
    private static readonly string?[] OmpSettings = [null, "1", "2"];
    private const string ModelName = "mnist";

    public static int Run(BenchOptions o)
    {
        var only = (o.Only ?? "throughput,sentiment,robustness").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (!DurationPattern().IsMatch(o.Duration)) throw new ArgumentException($"--duration {o.Duration}: give seconds like 15s or 2m");
        var results = Path.Combine(o.RepoDir, "bench", "results");
        var work = Path.Combine(results, "serving-work");
        Directory.CreateDirectory(work);
        using var log = new BenchLog(Path.Combine(results, "serving.log"));
        var forge = new ForgeCli(Path.Combine(o.RepoDir, "src", "Forge.Cli", "bin", "Release", "net10.0", "linux-x64", "forge.dll"), log);
        var report = new StringBuilder();
        void Out(string line)
        {
            log.Say(line);
            report.AppendLine(line);
        }

        Out($"# Serving benchmark ({DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores)");
        Out("");
        Out($"wrk on 127.0.0.1, `-d {o.Duration}`, threads = min(2, connections), one instance per request; one server at a time.");
        Out("Forge: plain `forge serve --model DIR` (default flags). FastAPI: ../shared/reference/fastapi_mnist.py unchanged, "
            + "`uvicorn --workers 2`, TORCH_THREADS=1. Both serve the pytorch/examples MNIST CNN (Forge's `reference-cnn`) and see the same "
            + "OMP_NUM_THREADS, as two servers started from one shell would. The body is a real MNIST test digit as a Python or .NET "
            + "client sends it: 784 pixels/255 at full double precision (`{\"instances\": [[…]]}`; v2: one FP32 input of shape [1, 784]).");
        Out("");
        var status = 0;
        string? mnistBundle = null;
        if (only.Contains("throughput") || only.Contains("robustness"))
            mnistBundle = EnsureBundle(forge, o, Path.Combine(work, "reference-cnn"), ["mnist", "--model", "reference-cnn", "--epochs", "1", "--limit", "6000", "--threads", o.Threads.ToString(Inv)]);

        if (only.Contains("throughput"))
        {
            var pixels = UserDigit(o);
            var v1Body = Path.Combine(work, "mnist-v1-body.json");
            var v2Body = Path.Combine(work, "mnist-v2-body.json");
            File.WriteAllText(v1Body, "{\"instances\": [[" + pixels + "]]}");
            File.WriteAllText(v2Body, "{\"inputs\": [{\"name\": \"image\", \"shape\": [1, 784], \"datatype\": \"FP32\", \"data\": [" + pixels + "]}]}");
            var verdicts = new List<string>();
            foreach (var omp in OmpSettings)
            {
                var env = new Dictionary<string, string?> { ["OMP_NUM_THREADS"] = omp };
                var setting = omp is null ? "OMP_NUM_THREADS unset" : $"OMP_NUM_THREADS={omp}";
                var rows = new List<WrkResult>();
                using (var server = forge.Serve(mnistBundle!, ModelName, log, env))
                {
                    foreach (var c in Concurrencies) rows.Add(Wrk(log, "Forge /v1 predict", server.Url($"/v1/models/{ModelName}/predict"), v1Body, c, o.Duration));
                    foreach (var c in Concurrencies) rows.Add(Wrk(log, "Forge /v2 infer", server.Url($"/v2/models/{ModelName}/infer"), v2Body, c, o.Duration));
                }
                if (omp is null)
                {
                    using var off = forge.Serve(mnistBundle!, ModelName, log, env, "--max-batch-size", "1");
                    rows.Add(Wrk(log, "Forge /v1 predict, batching off", off.Url($"/v1/models/{ModelName}/predict"), v1Body, 64, o.Duration));
                }
                if (!o.SkipReference)
                {
                    using var fastapi = FastApi.Start(o, log, env);
                    foreach (var c in Concurrencies) rows.Add(Wrk(log, "FastAPI + uvicorn", fastapi.Url("/predict"), v1Body, c, o.Duration));
                }
                Out($"## Throughput and latency, {setting}");
                Out("");
                verdicts.AddRange(ThroughputTable(rows, setting, Out));
            }
            if (verdicts.Count > 0)
            {
                Out("## Targets");
                Out("");
                foreach (var v in verdicts) Out("- " + v);
                Out("");
            }
        }

        if (only.Contains("sentiment"))
        {
            Out("## Sentiment model");
            Out("");
            var bundle = EnsureBundle(forge, o, Path.Combine(work, "sentiment"), ["sentiment", "--limit", "600"]);
            var body = Path.Combine(work, "sentiment-body.json");
            File.WriteAllText(body, "{\"instances\":[{\"text\":\"I have been waiting two weeks for my refund and nobody answers my emails\"}]}");
            ServerProcess? server = null;
            try
            {
                server = forge.Serve(bundle, "sentiment", log);
            }
            catch (ServerDidNotStartException e)
            {
                Out($"skipped: this server does not serve the sentiment bundle ({e.Reason})");
            }
            if (server is not null)
            {
                using (server)
                {
                    var rows = Concurrencies.Select(c => Wrk(log, "Forge sentiment", server.Url("/v1/models/sentiment/predict"), body, c, o.Duration)).ToList();
                    ThroughputTable(rows, "sentiment", Out);
                }
            }
            Out("");
        }

        if (only.Contains("robustness"))
        {
            using var server = forge.Serve(mnistBundle!, ModelName, log);
            var outcome = ServingRobustness.Run(server.BaseUrl, ModelName, o.Requests, 64, log);
            outcome.Report(Out);
            if (!outcome.Passed) status = 1;
        }

        var path = o.ReportPath ?? Path.Combine(results, "serving.md");
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        File.WriteAllText(path, report.ToString());
        log.Say($"report written to {path}; log in {log.Path}");
        return status;
    }

    /// <summary>MNIST test digit 0 as a client sends it: each pixel / 255 as a double at full precision, comma-separated.</summary>
    private static string UserDigit(BenchOptions o)
    {
        var data = new Forge.Data.DatasetResolver(new Forge.Data.DatasetResolverOptions { DataDir = o.DataDir, AllowDownload = false }).Resolve("mnist");
        var image = Forge.Data.MnistFormat.Load(data.Directory, "test").GetImage(0);
        return string.Join(", ", image.ToArray().Select(b => (b / 255.0).ToString("R", Inv)));
    }

    /// <summary>One instance of 784 values in 0–1 per request, the body both servers take.</summary>
    internal static string MnistBody(int instances)
    {
        var row = string.Join(',', Enumerable.Range(0, 784).Select(i => ((i * 37 % 256) / 255.0).ToString("0.####", Inv)));
        return "{\"instances\":[" + string.Join(',', Enumerable.Repeat("[" + row + "]", instances)) + "]}";
    }

    /// <summary>Reuses a bundle trained by an earlier run, else trains it (a short run: the benchmark measures speed only).</summary>
    private static string EnsureBundle(ForgeCli forge, BenchOptions o, string dir, string[] trainArgs)
    {
        if (File.Exists(Path.Combine(dir, "forge-model.json")))
        {
            forge.Log.Say($"using the bundle trained earlier: {dir}");
            return dir;
        }
        string[] args = ["train", .. trainArgs, "--out", dir, "--overwrite", "--no-track"];
        if (o.DataDir is not null) args = [.. args, "--data-dir", o.DataDir];
        var exit = forge.Run(args);
        if (exit != 0) throw new InvalidOperationException($"forge {string.Join(' ', args)} exited {exit} (see the log)");
        return dir;
    }

    internal static WrkResult Wrk(BenchLog log, string target, string url, string bodyFile, int connections, string duration)
    {
        var threads = Math.Min(2, connections);
        var script = Path.Combine(FindRepo(), "bench", "serving", "post.lua");
        log.Say($"wrk: {target}, {connections} connections, {duration}…");
        var start = new ProcessStartInfo("wrk") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "-t", threads.ToString(Inv), "-c", connections.ToString(Inv), "-d", duration, "--timeout", "10s", "--latency", "-s", script, url })
            start.ArgumentList.Add(a);
        start.Environment["WRK_BODY"] = bodyFile;
        using var process = Process.Start(start) ?? throw new InvalidOperationException("wrk did not start");
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        log.Write(stdout + stderr.Result);
        var line = stdout.Split('\n').LastOrDefault(l => l.StartsWith("RESULT ", StringComparison.Ordinal))
            ?? throw new InvalidOperationException($"wrk printed no RESULT line (exit {process.ExitCode}): {stdout}{stderr.Result}");
        var values = line[7..].Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(kv => kv.Split('='))
            .ToDictionary(kv => kv[0], kv => double.Parse(kv[1], Inv));
        var result = new WrkResult(target, connections, values["requests"] / (values["duration_us"] / 1e6), values["p50_us"] / 1000, values["p99_us"] / 1000,
            (long)values["requests"], (long)values["non2xx"], (long)(values["socket_errors"] + values["timeouts"]));
        log.Say(string.Create(Inv, $"  {result.Rps:0} req/s, p50 {result.P50Ms:0.00} ms, p99 {result.P99Ms:0.00} ms, non-2xx {result.Non2xx}, socket errors {result.Errors}"));
        return result;
    }

    /// <summary>Prints one setting's table (FastAPI's row beside each Forge row) and returns its verdicts on the targets.</summary>
    private static List<string> ThroughputTable(List<WrkResult> rows, string setting, Action<string> Out)
    {
        WrkResult? Reference(int c) => rows.FirstOrDefault(r => r.Target.StartsWith("FastAPI", StringComparison.Ordinal) && r.Concurrency == c);
        Out("| target | concurrency | req/s | p50 (ms) | p99 (ms) | non-2xx / socket errors | req/s vs FastAPI | p99 vs FastAPI |");
        Out("|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in rows.OrderBy(r => r.Concurrency).ThenBy(r => r.Target.StartsWith("FastAPI", StringComparison.Ordinal)).ThenBy(r => r.Target, StringComparer.Ordinal))
        {
            var reference = Reference(r.Concurrency);
            var ratio = reference is null || ReferenceEquals(reference, r) ? "" : string.Create(Inv, $"{r.Rps / reference.Rps:0.00}×");
            var p99 = reference is null || ReferenceEquals(reference, r) ? "" : string.Create(Inv, $"{r.P99Ms / reference.P99Ms:0.00}×");
            Out(string.Create(Inv, $"| {r.Target} | {r.Concurrency} | {r.Rps:0} | {r.P50Ms:0.00} | {r.P99Ms:0.00} | {r.Non2xx} / {r.Errors} | {ratio} | {p99} |"));
        }
        Out("");
        var verdicts = new List<string>();
        var on = rows.FirstOrDefault(r => r.Target == "Forge /v1 predict" && r.Concurrency == 64);
        var off = rows.FirstOrDefault(r => r.Target == "Forge /v1 predict, batching off");
        if (on is not null && off is not null)
            verdicts.Add(string.Create(Inv, $"{setting}: batching at concurrency 64, {on.Rps:0} vs {off.Rps:0} req/s with batching off = **{on.Rps / off.Rps:0.00}×** (target ≥ 2×: {Met(on.Rps >= 2 * off.Rps)})."));
        foreach (var path in new[] { "Forge /v1 predict", "Forge /v2 infer" })
        {
            var fastapi64 = Reference(64);
            var fastapi1 = Reference(1);
            if (rows.FirstOrDefault(r => r.Target == path && r.Concurrency == 64) is { } f64 && fastapi64 is not null)
            {
                verdicts.Add(string.Create(Inv, $"{setting}, {path}, concurrency 64: **{f64.Rps / fastapi64.Rps:0.00}×** FastAPI's req/s ({f64.Rps:0} vs {fastapi64.Rps:0}; target ≥ 3×: "
                    + $"{Met(f64.Rps >= 3 * fastapi64.Rps)}), p99 {f64.P99Ms:0.0} vs {fastapi64.P99Ms:0.0} ms (lower: {Met(f64.P99Ms < fastapi64.P99Ms)})."));
            }
            if (rows.FirstOrDefault(r => r.Target == path && r.Concurrency == 1) is { } f1 && fastapi1 is not null)
                verdicts.Add(string.Create(Inv, $"{setting}, {path}, concurrency 1: p99 {f1.P99Ms:0.00} vs {fastapi1.P99Ms:0.00} ms (≤ FastAPI's: {Met(f1.P99Ms <= fastapi1.P99Ms)})."));
        }
        return verdicts;
    }

    private static string Met(bool met) => met ? "met" : "**NOT met**";

    internal static string FindRepo()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Forge.slnx"))) dir = dir.Parent;
        return dir?.FullName ?? Environment.CurrentDirectory;
    }

    internal static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    [GeneratedRegex(@"^[0-9]+[smh]?$")]
    private static partial Regex DurationPattern();

    internal sealed record WrkResult(string Target, int Concurrency, double Rps, double P50Ms, double P99Ms, long Requests, long Non2xx, long Errors);

    /// <summary>The forge command from the Release build, run through the same dotnet host as this process.</summary>
    /// <param name="env">Extra environment for every forge process started (null: none).</param>
    internal sealed class ForgeCli(string dll, BenchLog log, IReadOnlyDictionary<string, string?>? env = null)
    {
        public BenchLog Log => log;

        public int Run(string[] args)
        {
            if (!File.Exists(dll)) throw new FileNotFoundException($"{dll} is missing: run dotnet build src/Forge.Cli -c Release (bench/run-serving.sh does)");
            log.Say("$ forge " + string.Join(' ', args));
            using var child = ChildProcess.Start(DotnetHost(), [dll, .. args], log, "forge", env);
            return child.WaitForExit(TimeSpan.FromHours(1));
        }

        /// <summary>Starts <c>forge serve</c> on a free port and waits for /health/ready.</summary>
        public ServerProcess Serve(string bundle, string name, BenchLog serveLog, params string[] extra) => Serve(bundle, name, serveLog, env, extra);

        /// <summary>Starts <c>forge serve</c> with its own environment (a null value removes a variable) and waits for /health/ready.</summary>
        public ServerProcess Serve(string bundle, string name, BenchLog serveLog, IReadOnlyDictionary<string, string?>? serveEnv, params string[] extra)
        {
            var port = FreePort();
            string[] args = [dll, "serve", "--model", $"{name}={bundle}", "--host", "127.0.0.1", "--port", port.ToString(Inv), .. extra];
            serveLog.Say($"$ forge {string.Join(' ', args.Skip(1))}");
            var child = ChildProcess.Start(DotnetHost(), args, serveLog, "forge serve", serveEnv);
            var server = new ServerProcess(child, $"http://127.0.0.1:{port}");
            try
            {
                WaitFor(child, () => Get(server.Url("/health/ready")) == HttpStatusCode.OK, TimeSpan.FromMinutes(3), "forge serve");
                return server;
            }
            catch
            {
                server.Dispose();
                throw;
            }
        }
    }

    internal static string DotnetHost() =>
        Environment.ProcessPath is { } p && Path.GetFileNameWithoutExtension(p) == "dotnet" ? p : "dotnet";

    /// <summary>A started server process; disposing kills it and everything it started.</summary>
    internal class ServerProcess(ChildProcess child, string baseUrl) : IDisposable
    {
        public string BaseUrl => baseUrl;

        public string Url(string path) => baseUrl + path;

        /// <summary>The operating-system id of the server process (for reading its memory from /proc).</summary>
        public int ProcessId => child.Id;

        public void Dispose() => child.Dispose();
    }

    /// <summary>The reference server: ../shared/reference/fastapi_mnist.py under Debian's Python, used unchanged.</summary>
    private static class FastApi
    {
        public static ServerProcess Start(BenchOptions o, BenchLog log, IReadOnlyDictionary<string, string?>? env = null)
        {
            var port = FreePort();
            var appDir = Path.Combine(o.SharedDir, "reference");
            string[] args = ["-m", "uvicorn", "fastapi_mnist:app", "--app-dir", appDir, "--host", "127.0.0.1", "--port", port.ToString(Inv), "--workers", "2", "--log-level", "warning"];
            log.Say($"$ TORCH_THREADS=1 {o.Python} {string.Join(' ', args)}");
            var child = ChildProcess.Start(o.Python, args, log, "uvicorn", new Dictionary<string, string?>(env ?? new Dictionary<string, string?>()) { ["TORCH_THREADS"] = "1" });
            var server = new ServerProcess(child, $"http://127.0.0.1:{port}");
            try
            {
                // Both workers must be up: uvicorn answers once the first is, so require a run of successes.
                var body = MnistBody(1);
                var streak = 0;
                WaitFor(child, () => (Post(server.Url("/predict"), body) == HttpStatusCode.OK ? ++streak : streak = 0) >= 20, TimeSpan.FromMinutes(2), "uvicorn");
                return server;
            }
            catch
            {
                server.Dispose();
                throw;
            }
        }
    }

    private static void WaitFor(ChildProcess child, Func<bool> ready, TimeSpan timeout, string what)
    {
        var until = DateTime.UtcNow + timeout;
        while (true)
        {
            if (child.HasExited) throw new ServerDidNotStartException(what, child.LastLines());
            try
            {
                if (ready()) return;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                // Not listening yet, or too busy starting up to answer within the probe's timeout.
            }
            if (DateTime.UtcNow > until) throw new TimeoutException($"{what} was not ready within {timeout}");
            Thread.Sleep(200);
        }
    }

    private static readonly HttpClient Probe = new() { Timeout = TimeSpan.FromSeconds(10) };

    private static HttpStatusCode Get(string url)
    {
        using var response = Probe.GetAsync(url).GetAwaiter().GetResult();
        return response.StatusCode;
    }

    private static HttpStatusCode Post(string url, string json)
    {
        using var content = new StringContent(json, Encoding.UTF8, "application/json");
        using var response = Probe.PostAsync(url, content).GetAwaiter().GetResult();
        return response.StatusCode;
    }
}

/// <summary>A server process exited before it was ready; <see cref="Reason"/> is what it printed last.</summary>
internal sealed class ServerDidNotStartException(string what, string reason) : Exception($"{what} exited before it was ready: {reason}")
{
    public string Reason { get; } = reason;
}

/// <summary>A child process whose output goes to the log; disposing kills its whole tree.</summary>
internal sealed class ChildProcess : IDisposable
{
    private readonly Process _process;
    private readonly Queue<string> _last = new();

    private ChildProcess(Process process) => _process = process;

    public bool HasExited => _process.HasExited;

    public int Id => _process.Id;

    public static ChildProcess Start(string file, IEnumerable<string> args, BenchLog log, string prefix, IReadOnlyDictionary<string, string?>? env)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) start.ArgumentList.Add(a);
        foreach (var (k, v) in env ?? new Dictionary<string, string?>())
        {
            // A null value unsets the variable, so a run can be the shell that never set it.
            if (v is null) start.Environment.Remove(k);
            else start.Environment[k] = v;
        }
        var process = new Process { StartInfo = start };
        var child = new ChildProcess(process);
        void Line(string? text)
        {
            if (text is null) return;
            log.Write($"[{prefix}] {text}\n");
            lock (child._last)
            {
                child._last.Enqueue(text);
                if (child._last.Count > 5) child._last.Dequeue();
            }
        }
        process.OutputDataReceived += (_, e) => Line(e.Data);
        process.ErrorDataReceived += (_, e) => Line(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return child;
    }

    public string LastLines()
    {
        // Output arrives asynchronously: give the last lines a moment to land after the exit.
        _process.WaitForExit();
        lock (_last) return string.Join(" | ", _last);
    }

    public int WaitForExit(TimeSpan timeout)
    {
        if (!_process.WaitForExit(timeout)) throw new TimeoutException($"{_process.StartInfo.FileName} did not finish within {timeout}");
        _process.WaitForExit();
        return _process.ExitCode;
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }
        _process.Dispose();
    }
}

/// <summary>The run's log file; <see cref="Say"/> also prints to the console.</summary>
internal sealed class BenchLog : IDisposable
{
    private readonly StreamWriter _writer;

    public BenchLog(string path)
    {
        Path = System.IO.Path.GetFullPath(path);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
        _writer = new StreamWriter(Path, append: false) { AutoFlush = true };
    }

    public string Path { get; }

    public void Say(string line)
    {
        Console.WriteLine(line);
        Write(line + "\n");
    }

    public void Write(string text)
    {
        lock (_writer) _writer.Write(text);
    }

    public void Dispose() => _writer.Dispose();
}
