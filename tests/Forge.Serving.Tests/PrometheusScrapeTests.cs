using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Forge.Tests.Shared;

namespace Forge.Serving.Tests;

/// <summary>
/// The real Prometheus server (Debian's <c>prometheus</c>, installed by .ci/setup) scrapes a real Forge server on
/// 127.0.0.1 with the job from deploy/prometheus.yml, and Forge's series are read back through Prometheus' HTTP API.
/// </summary>
[Collection(MnistServerCollection.Name)]
public sealed class PrometheusScrapeTests(MnistServerFixture mnist, Xunit.Abstractions.ITestOutputHelper output)
{
    private const string Model = "mnist-prom";

    [PrometheusFact]
    public async Task Prometheus_scrapes_forge_and_its_series_hold_what_was_sent()
    {
        using var temp = new TempDir("forge-prometheus-");
        await using var forge = await RunningServer.StartAsync(new ServerOptions
        {
            Models = [new ModelSource { BundlePath = mnist.BundleDirectory, Name = Model }],
        });
        var forgeAddress = new Uri(ForgeServer.Addresses(forge.App).Single());

        // Sequential requests: each is its own forward pass, so the batch-size histogram is known exactly.
        var labels = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            var (ok, body) = await forge.PostAsync($"/v1/models/{Model}/predict", Instances(i));
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
            labels.Add((string)body!["predictions"]![0]!);
        }
        var (pair, pairBody) = await forge.PostAsync($"/v1/models/{Model}/predict", Instances(3, 4));
        Assert.Equal(HttpStatusCode.OK, pair.StatusCode);
        labels.AddRange(pairBody!["predictions"]!.AsArray().Select(p => (string)p!));
        var (bad, _) = await forge.PostAsync($"/v1/models/{Model}/predict", new JsonObject { ["instances"] = new JsonArray(new JsonArray(1, 2, 3)) });
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);

        await using var prometheus = await PrometheusServer.StartAsync(Binary(), temp.Path, $"{forgeAddress.Host}:{forgeAddress.Port}");
        var selector = $"model=\"{Model}\",version=\"1\"";
        // Wait for a scrape that saw every request (all series come from one scrape of one /metrics answer).
        var ok200 = await prometheus.WaitForValueAsync($"forge_requests_total{{{selector},status=\"200\"}}", 4, TimeSpan.FromSeconds(60));
        output.WriteLine($"Prometheus on {prometheus.Address} saw forge_requests_total 200 = {ok200}");

        Assert.Equal(1, await prometheus.QueryScalarAsync("up{job=\"forge\"}"));
        Assert.Equal(4, ok200);
        Assert.Equal(1, await prometheus.QueryScalarAsync($"forge_requests_total{{{selector},status=\"400\"}}"));
        Assert.Equal(4, await prometheus.QueryScalarAsync($"forge_request_duration_seconds_bucket{{{selector},status=\"200\",le=\"+Inf\"}}"));
        Assert.Equal(4, await prometheus.QueryScalarAsync($"forge_request_duration_seconds_count{{{selector},status=\"200\"}}"));
        Assert.Equal(1, await prometheus.QueryScalarAsync($"forge_request_duration_seconds_count{{{selector},status=\"400\"}}"));
        var seconds = await prometheus.QueryScalarAsync($"forge_request_duration_seconds_sum{{{selector},status=\"200\"}}");
        Assert.True(seconds > 0, $"the latency sum of 4 requests is {seconds}");
        // Forward passes: the warm-up (1 row), three single rows and one pair; the 400 never reached the model.
        Assert.Equal(5, await prometheus.QueryScalarAsync($"forge_batch_size_count{{{selector}}}"));
        Assert.Equal(6, await prometheus.QueryScalarAsync($"forge_batch_size_sum{{{selector}}}"));
        Assert.Equal(4, await prometheus.QueryScalarAsync($"forge_batch_size_bucket{{{selector},le=\"1\"}}"));
        Assert.Equal(5, await prometheus.QueryScalarAsync($"forge_batch_size_bucket{{{selector},le=\"2\"}}"));
        Assert.Equal(1, await prometheus.QueryScalarAsync($"forge_model_ready{{{selector}}}"));
        foreach (var label in labels.Distinct())
            Assert.Equal(labels.Count(l => l == label), await prometheus.QueryScalarAsync($"forge_predictions_total{{{selector},label=\"{label}\"}}"));
        Assert.Equal(labels.Count, await prometheus.QueryScalarAsync($"sum(forge_predictions_total{{{selector}}})"));
    }

    [PrometheusFact]
    public async Task The_shipped_prometheus_config_passes_promtool()
    {
        var promtool = Path.Combine(Path.GetDirectoryName(Binary())!, "promtool");
        Assert.True(File.Exists(promtool), $"promtool is not beside prometheus ({promtool})");
        var (exit, text) = await PrometheusServer.RunAsync(promtool, "check", "config", DeploymentFiles.PathOf("prometheus.yml"));
        Assert.True(exit == 0, $"promtool check config deploy/prometheus.yml exited {exit}: {text}");
    }

    private static string Binary() =>
        PrometheusServer.FindBinary() ?? throw new InvalidOperationException("prometheus is not installed: run .ci/setup (apt-get install prometheus)");

    private JsonObject Instances(params int[] rows) => new()
    {
        ["instances"] = new JsonArray(rows.Select(r => (JsonNode?)new JsonArray(mnist.Row(r).Select(v => (JsonNode?)v).ToArray())).ToArray()),
    };
}

/// <summary>
/// A fact that needs the shared MNIST copy and Debian's <c>prometheus</c>. Without them it is skipped, with the reason,
/// on a developer machine; with CI=true it runs and fails, as .ci/setup installs Prometheus.
/// </summary>
public sealed class PrometheusFactAttribute : FactAttribute
{
    public PrometheusFactAttribute()
    {
        if (SharedData.IsCi) return;
        if (SharedData.MnistOrNull is null)
            Skip = "MNIST (../shared/data/mnist next to the repository) is not present; set CI=true to make this a failure";
        else if (PrometheusServer.FindBinary() is null)
            Skip = "prometheus is not installed (apt-get install prometheus, as .ci/setup does); set CI=true to make this a failure";
    }
}

/// <summary>A Prometheus server of our own: temporary config and storage, 127.0.0.1 on a free port, killed on dispose.</summary>
internal sealed class PrometheusServer : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _log;
    private readonly HttpClient _client;

    private PrometheusServer(Process process, StringBuilder log, Uri address)
    {
        _process = process;
        _log = log;
        Address = address;
        _client = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(10) };
    }

    public Uri Address { get; }

    /// <summary>The prometheus binary on PATH (Debian installs it in /usr/bin), or null.</summary>
    public static string? FindBinary() =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Append("/usr/bin")
            .Select(dir => Path.Combine(dir, "prometheus"))
            .FirstOrDefault(File.Exists);

    /// <summary>
    /// Starts Prometheus with deploy/prometheus.yml's forge job pointed at <paramref name="target"/> and scraping every
    /// second. The config is written as JSON, which is YAML too.
    /// </summary>
    public static async Task<PrometheusServer> StartAsync(string binary, string directory, string target)
    {
        var config = Assert.Single(DeploymentFiles.Yaml("prometheus.yml")).AsObject();
        config["global"]!["scrape_interval"] = "1s";
        config["global"]!["evaluation_interval"] = "1s";
        var job = Assert.Single(config["scrape_configs"]!.AsArray())!;
        job["scrape_interval"] = "1s";
        job["scrape_timeout"] = "1s";
        Assert.Single(job["static_configs"]!.AsArray())!["targets"] = new JsonArray(target);
        var configPath = Path.Combine(directory, "prometheus.json.yml");
        await File.WriteAllTextAsync(configPath, config.ToJsonString());

        var port = FreePort();
        var start = new ProcessStartInfo(binary)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[]
        {
            "--config.file=" + configPath,
            "--storage.tsdb.path=" + Path.Combine(directory, "data"),
            "--web.listen-address=127.0.0.1:" + port.ToString(CultureInfo.InvariantCulture),
            "--log.level=warn",
        })
        {
            start.ArgumentList.Add(arg);
        }
        var log = new StringBuilder();
        var process = new Process { StartInfo = start };
        process.ErrorDataReceived += (_, e) => { lock (log) log.AppendLine(e.Data); };
        process.OutputDataReceived += (_, e) => { lock (log) log.AppendLine(e.Data); };
        process.Start();
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        var server = new PrometheusServer(process, log, new Uri($"http://127.0.0.1:{port}"));
        try
        {
            await server.WaitReadyAsync(TimeSpan.FromSeconds(30));
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>Runs a tool to its end: its exit code and everything it printed.</summary>
    public static async Task<(int Exit, string Output)> RunAsync(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        return (process.ExitCode, await stdout + await stderr);
    }

    private async Task WaitReadyAsync(TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        while (true)
        {
            if (_process.HasExited) throw new InvalidOperationException($"prometheus exited with {_process.ExitCode}: {Log}");
            try
            {
                using var response = await _client.GetAsync("/-/ready");
                if (response.StatusCode == HttpStatusCode.OK) return;
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            if (DateTime.UtcNow > until) throw new TimeoutException($"prometheus was not ready within {timeout}: {Log}");
            await Task.Delay(100);
        }
    }

    /// <summary>Evaluates an instant query that selects one series; null when it selects none.</summary>
    public async Task<double?> QueryAsync(string query)
    {
        var json = JsonNode.Parse(await _client.GetStringAsync("/api/v1/query?query=" + Uri.EscapeDataString(query)))!;
        Assert.Equal("success", (string?)json["status"]);
        var result = json["data"]!["result"]!.AsArray();
        if (result.Count == 0) return null;
        Assert.True(result.Count == 1, $"{query} selects {result.Count} series: {result.ToJsonString()}");
        return double.Parse((string)result[0]!["value"]![1]!, CultureInfo.InvariantCulture);
    }

    /// <summary>Evaluates an instant query that must select exactly one series.</summary>
    public async Task<double> QueryScalarAsync(string query) =>
        await QueryAsync(query) ?? throw new InvalidOperationException($"Prometheus has no series for {query}; its log: {Log}");

    /// <summary>Polls a query until it reaches <paramref name="expected"/>; returns the last value seen (a test then asserts it).</summary>
    public async Task<double?> WaitForValueAsync(string query, double expected, TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        double? value;
        while ((value = await QueryAsync(query)) != expected && DateTime.UtcNow < until)
            await Task.Delay(250);
        return value;
    }

    private string Log
    {
        get
        {
            lock (_log) return _log.ToString();
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        _client.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }
        _process.Dispose();
    }
}
