using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Forge.Core;
using Forge.Tests.Shared;
using Forge.Tracking;

namespace Forge.Serving.Tests;

/// <summary>A registry in a temporary folder holding versions of one small test model, and helpers to talk about versions.</summary>
internal sealed class TestRegistry
{
    public TestRegistry(TempDir temp, string name = "sentinel")
    {
        Name = name;
        Database = temp.Combine("forge.db");
        ArtifactRoot = temp.Combine("artifacts");
        Temp = temp;
    }

    public string Name { get; }

    public string Database { get; }

    public string ArtifactRoot { get; }

    public TempDir Temp { get; }

    public ITrackingStore Open() => TrackingStore.Open(Database, new TrackingStoreOptions { ArtifactRoot = ArtifactRoot });

    /// <summary>Registers each bundle as the next version, then points the aliases.</summary>
    public TestRegistry With(string[] bundles, params (string Alias, int Version)[] aliases)
    {
        using var store = Open();
        foreach (var bundle in bundles) store.RegisterModelVersion(Name, bundle);
        foreach (var (alias, version) in aliases) store.SetAlias(Name, alias, version);
        return this;
    }

    public void SetAlias(string alias, int version)
    {
        using var store = Open();
        store.SetAlias(Name, alias, version);
    }

    /// <summary>Server options serving <c>NAME@champion</c> from this registry with the test loaders and API key "k".</summary>
    public ServerOptions Options(params IModelLoader[] loaders)
    {
        var registry = ModelLoaderRegistry.CreateDefault();
        foreach (var loader in loaders) registry.Add(loader);
        return new ServerOptions
        {
            Models = [ModelSource.FromRegistry($"{Name}@champion")],
            TrackingUri = Database,
            ArtifactRoot = ArtifactRoot,
            ApiKey = "k",
            Loaders = registry,
            WatchInterval = TimeSpan.Zero,
        };
    }
}

internal static class Versions
{
    public static readonly JsonArray Instance = new(0.25f, 0.5f, 0.75f);

    /// <summary>Predicts once (by name unless a path is given) and returns the version that answered, from the header.</summary>
    public static async Task<string> PredictAsync(RunningServer server, string? requestId = null, string? path = null, string model = "sentinel")
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path ?? $"/v1/models/{model}/predict") { Content = JsonContent.Create(Instance.DeepClone()) };
        if (requestId is not null) request.Headers.Add("X-Request-Id", requestId);
        using var response = await server.Client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode}: {text}");
        var header = response.Headers.GetValues(PredictionService.VersionHeader).Single();
        Assert.Equal(header, (string?)JsonNode.Parse(text)!["version"]);
        return header;
    }

    public static async Task<(HttpResponseMessage Response, JsonNode? Body)> SendAsync(RunningServer server, HttpMethod method, string path, HttpContent? content, string? apiKey)
    {
        using var request = new HttpRequestMessage(method, path) { Content = content };
        if (apiKey is not null) request.Headers.Add("X-API-Key", apiKey);
        var response = await server.Client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        var json = response.Content.Headers.ContentType?.MediaType?.Contains("json", StringComparison.Ordinal) == true && text.Length > 0 ? JsonNode.Parse(text) : null;
        return (response, json);
    }

    public static ByteArrayContent Bytes(byte[] bytes, string contentType = "application/octet-stream")
    {
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(contentType);
        return content;
    }

    public static StringContent Json(string json) => new(json, System.Text.Encoding.UTF8, "application/json");

    /// <summary>The value of one series in a Prometheus text page (labels in the family's order), 0 when absent.</summary>
    public static double Metric(string page, string series)
    {
        foreach (var line in page.Split('\n'))
        {
            if (line.StartsWith(series + " ", StringComparison.Ordinal))
                return double.Parse(line[(series.Length + 1)..], CultureInfo.InvariantCulture);
        }
        return 0;
    }

    public static async Task<string> MetricsAsync(RunningServer server) => await server.Client.GetStringAsync("/metrics");

    /// <summary>Polls until the condition holds (at most 30 s); the condition, not the clock, decides.</summary>
    public static async Task WaitForAsync(Func<Task<bool>> condition, string what)
    {
        for (var i = 0; i < 600; i++)
        {
            if (await condition()) return;
            await Task.Delay(50);
        }
        throw new TimeoutException($"never happened: {what}");
    }
}

/// <summary>
/// A test flavor whose behaviour after warm-up is written in the bundle's description: "ok" answers like the gated
/// model, "fails" throws, "blocks" waits at <see cref="Gate"/>. It makes a broken or stuck shadow without touching the primary.
/// </summary>
internal sealed class TwoFacedLoader : IModelLoader
{
    public const string FlavorName = "test-two-faced";

    public ManualResetEventSlim Gate { get; } = new(true);

    public string Flavor => FlavorName;

    public bool CanLoad(ModelManifest manifest) => true;

    public ServableModel Load(ModelBundle bundle) =>
        new(new Predictor(this, bundle.Manifest.Signature, bundle.Manifest.Description ?? "ok"), new InstanceDecoder(bundle.Manifest.Signature.Inputs[0]));

    public static string WriteBundle(string directory, string behaviour, string name = "sentinel")
    {
        using var writer = ModelBundle.Create(directory);
        File.WriteAllText(writer.PathFor("weights/none.txt"), behaviour);
        writer.Commit(new ModelManifest { Name = name, Flavor = FlavorName, Signature = GatedLoader.Signature, Description = behaviour });
        return directory;
    }

    private sealed class Predictor(TwoFacedLoader owner, ModelSignature signature, string behaviour) : IPredictor
    {
        private int _calls;

        public ModelSignature Signature { get; } = signature;

        public Prediction Predict(Table batch)
        {
            var rows = TestTables.Rows(batch);
            // The first call is the warm-up: every face loads and warms fine.
            if (Interlocked.Increment(ref _calls) > 1)
            {
                if (behaviour == "fails") throw new InvalidOperationException("the shadow broke (test)");
                if (behaviour == "blocks") owner.Gate.Wait();
            }
            return Prediction.Classes(Signature.Labels, rows.Select(r => new[] { 1 - r[0], r[0] }).ToArray());
        }

        public void Dispose()
        {
        }
    }
}
