using System.Collections.Concurrent;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Forge.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;

namespace Forge.Serving.Tests;

/// <summary>A started server on 127.0.0.1 with a free port, and a client for it; disposing stops both.</summary>
internal sealed class RunningServer : IAsyncDisposable
{
    private RunningServer(WebApplication app, HttpClient client, LogCapture logs)
    {
        App = app;
        Client = client;
        Logs = logs;
    }

    public WebApplication App { get; }

    public HttpClient Client { get; }

    public LogCapture Logs { get; }

    /// <summary>Builds and starts a server; <paramref name="waitReady"/> also waits for every model to be warm.</summary>
    public static async Task<RunningServer> StartAsync(ServerOptions options, bool waitReady = true)
    {
        var logs = new LogCapture();
        var app = ForgeServer.Build(options with
        {
            Host = "127.0.0.1",
            Port = 0,
            ApiKey = options.ApiKey ?? "",
            ConfigureLogging = b =>
            {
                b.ClearProviders();
                b.AddProvider(logs);
                b.SetMinimumLevel(LogLevel.Debug);
            },
        });
        await app.StartAsync();
        var address = ForgeServer.Addresses(app).Single();
        // A client waits only 1 s for "100 Continue" by default, then sends the body anyway; on a busy machine the server's
        // 413 then races the upload and the client sees a broken pipe. Large bodies go out with Expect: 100-continue and
        // a wait long enough for any load.
        var handler = new SocketsHttpHandler { Expect100ContinueTimeout = TimeSpan.FromSeconds(30) };
        var client = new HttpClient(handler) { BaseAddress = new Uri(address), Timeout = TimeSpan.FromSeconds(60) };
        if (waitReady) await ForgeServer.WaitUntilReadyAsync(app).WaitAsync(TimeSpan.FromSeconds(60));
        return new RunningServer(app, client, logs);
    }

    public async Task<(HttpResponseMessage Response, JsonNode? Body)> PostAsync(string path, JsonNode body, string? apiKey = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body) };
        if (apiKey is not null) request.Headers.Add("X-API-Key", apiKey);
        var response = await Client.SendAsync(request);
        return (response, await ReadJson(response));
    }

    public async Task<(HttpResponseMessage Response, JsonNode? Body)> PostRawAsync(string path, string json)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json") };
        // Any body that may be refused for its size waits for the server's verdict before it is sent.
        if (json.Length > 64 * 1024) request.Headers.ExpectContinue = true;
        var response = await Client.SendAsync(request);
        return (response, await ReadJson(response));
    }

    public async Task<(HttpResponseMessage Response, JsonNode? Body)> GetAsync(string path)
    {
        var response = await Client.GetAsync(path);
        return (response, await ReadJson(response));
    }

    private static async Task<JsonNode?> ReadJson(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        return text.Length == 0 || !(response.Content.Headers.ContentType?.MediaType?.Contains("json", StringComparison.Ordinal) ?? false)
            ? null : JsonNode.Parse(text);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
    }
}

/// <summary>Keeps every log line with its scopes, so tests can check what the server logged.</summary>
internal sealed class LogCapture : ILoggerProvider, ISupportExternalScope
{
    private IExternalScopeProvider _scopes = new LoggerExternalScopeProvider();

    public ConcurrentQueue<(string Category, LogLevel Level, string Message, IReadOnlyList<object?> Scopes)> Lines { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;

    public void Dispose()
    {
    }

    private sealed class Logger(LogCapture owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => owner._scopes.Push(state);

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var scopes = new List<object?>();
            owner._scopes.ForEachScope((s, list) => list.Add(s), scopes);
            owner.Lines.Enqueue((category, logLevel, formatter(state, exception), scopes));
        }
    }
}

/// <summary>
/// A test flavor whose predictor waits at a gate: with the gate shut, warm-up (and every forward pass) blocks, so
/// readiness, queueing, timeouts and draining can be observed without any timing.
/// </summary>
internal sealed class GatedLoader : IModelLoader
{
    public const string FlavorName = "test-gated";

    public ManualResetEventSlim Gate { get; } = new(false);

    /// <summary>Released each time a forward pass starts.</summary>
    public SemaphoreSlim Entered { get; } = new(0);

    public int ForwardCalls;

    public bool FailLoad { get; set; }

    /// <summary>When set, a forward pass throws what it returns for the pass's rows (null: answer normally).</summary>
    public Func<IReadOnlyList<float[]>, Exception?>? Fault { get; set; }

    public string Flavor => FlavorName;

    public bool CanLoad(ModelManifest manifest) => true;

    public ServableModel Load(ModelBundle bundle)
    {
        if (FailLoad) throw new BundleException(bundle.Directory, "the weights are damaged (test)");
        var signature = bundle.Manifest.Signature;
        return new ServableModel(new GatedPredictor(this, signature), new InstanceDecoder(signature.Inputs[0]));
    }

    public static ModelSignature Signature { get; } = new(
        [new TensorSpec("x", "float32", [-1, 3]) { Min = 0, Max = 1 }],
        [new TensorSpec("probabilities", "float32", [-1, 2])],
        ["no", "yes"]);

    /// <summary>Writes a bundle of this flavor (its only file is a placeholder: the gated model has no weights).</summary>
    public static string WriteBundle(string directory, string name = "gated")
    {
        if (Directory.Exists(directory)) return directory;
        using var writer = ModelBundle.Create(directory);
        File.WriteAllText(writer.PathFor("weights/none.txt"), "no weights");
        writer.Commit(new ModelManifest { Name = name, Flavor = FlavorName, Signature = Signature });
        return directory;
    }

    private sealed class GatedPredictor(GatedLoader owner, ModelSignature signature) : IPredictor
    {
        public ModelSignature Signature { get; } = signature;

        public Prediction Predict(Table batch)
        {
            var rows = TestTables.Rows(batch);
            Interlocked.Increment(ref owner.ForwardCalls);
            owner.Entered.Release();
            owner.Gate.Wait();
            if (owner.Fault?.Invoke(rows) is { } fault) throw fault;
            // "yes" is as likely as the first value: deterministic, and different per row.
            return Prediction.Classes(Signature.Labels, rows.Select(r => new[] { 1 - r[0], r[0] }).ToArray());
        }

        public void Dispose()
        {
        }
    }
}

/// <summary>The rows of a test batch: each cell of its one tensor column as an array.</summary>
internal static class TestTables
{
    public static float[][] Rows(Table batch)
    {
        var column = (TensorColumn)batch.Columns[0];
        return Enumerable.Range(0, column.Length).Select(i => column[i].ToArray()).ToArray();
    }
}
