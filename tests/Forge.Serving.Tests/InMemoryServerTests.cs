using Forge.Core;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Forge.Tests.Shared;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Forge.Serving.Tests;

/// <summary>
/// ASP.NET Core's <see cref="WebApplicationFactory{TEntryPoint}"/> around the very app <c>forge serve</c> runs
/// (<see cref="ForgeServer.Build"/>), with Kestrel swapped for the in-memory <see cref="TestServer"/>: requests go through
/// the whole middleware and endpoint pipeline without a socket.
/// </summary>
/// <remarks>
/// The factory's usual route, running the entry point's <c>Main</c> and intercepting the host it builds, does not fit:
/// the <c>forge</c> CLI's <c>Main</c> parses a command line the factory cannot supply. So the factory is handed the host
/// directly (<see cref="CreateHost"/>); the host builder it prepares for that route is never built.
/// </remarks>
public sealed class ForgeServerFactory(ServerOptions options) : WebApplicationFactory<ForgeServerFactory>
{
    /// <summary>The log lines the server wrote, for assertions on structured logs.</summary>
    internal LogCapture Logs { get; } = new();

    private WebApplication? _app;

    /// <inheritdoc />
    protected override IHostBuilder CreateHostBuilder() => new HostBuilder();

    /// <inheritdoc />
    protected override IHost CreateHost(IHostBuilder builder)
    {
        var app = ForgeServer.Build(options with
        {
            ApiKey = options.ApiKey ?? "",
            ConfigureLogging = b =>
            {
                b.ClearProviders();
                b.AddProvider(Logs);
                b.SetMinimumLevel(LogLevel.Debug);
            },
            ConfigureHost = b => b.WebHost.UseTestServer(),
        });
        app.Start();
        _app = app;
        return app;
    }

    /// <summary>Completes when every served model is loaded and warm.</summary>
    public Task WaitUntilReadyAsync()
    {
        // Touching Services builds and starts the host on first use.
        _ = Services;
        return ForgeServer.WaitUntilReadyAsync(_app!).WaitAsync(TimeSpan.FromSeconds(60));
    }
}

/// <summary>Functional tests of the server through <see cref="WebApplicationFactory{TEntryPoint}"/> (in memory, no Kestrel).</summary>
[Collection(MnistServerCollection.Name)]
public sealed class InMemoryServerTests(MnistServerFixture mnist) : IAsyncLifetime
{
    private const string Key = "in-memory-key";
    private ForgeServerFactory? _factory;
    private HttpClient _client = null!;

    public async Task InitializeAsync()
    {
        if (SharedData.MnistOrNull is null) return;
        _factory = new ForgeServerFactory(new ServerOptions
        {
            Models =
            [
                ModelSource.FromBundle(mnist.BundleDirectory),
                new ModelSource { BundlePath = mnist.BundleDirectory, Name = "digits", Batching = new BatchingOptions { MaxBatchSize = 1 } },
            ],
            ApiKey = Key,
        });
        _client = _factory.CreateClient();
        await _factory.WaitUntilReadyAsync();
    }

    public async Task DisposeAsync()
    {
        if (_factory is not null) await _factory.DisposeAsync();
    }

    private static JsonArray Numbers(IEnumerable<float> values) => new(values.Select(v => (JsonNode?)v).ToArray());

    private async Task<(HttpResponseMessage Response, JsonNode? Body)> SendAsync(HttpMethod method, string path, JsonNode? body = null, string? apiKey = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null) request.Content = JsonContent.Create(body);
        if (apiKey is not null) request.Headers.Add("X-API-Key", apiKey);
        var response = await _client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        var json = response.Content.Headers.ContentType?.MediaType?.Contains("json", StringComparison.Ordinal) == true && text.Length > 0 ? JsonNode.Parse(text) : null;
        return (response, json);
    }

    [SharedDataFact]
    public void The_factory_runs_the_server_on_TestServer_not_Kestrel()
    {
        Assert.IsType<TestServer>(_factory!.Services.GetRequiredService<IServer>());
        Assert.Equal(["mnist", "digits"], _factory.Services.GetRequiredService<ModelCatalog>().Entries.Select(e => e.Name));
    }

    [SharedDataFact]
    public async Task Health_and_the_model_list_answer_once_the_models_are_warm()
    {
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Get, "/health/live")).Response.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Get, "/health/ready")).Response.StatusCode);

        var (response, body) = await SendAsync(HttpMethod.Get, "/v1/models");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var names = body!["models"]!.AsArray().Select(m => (string)m!["name"]!);
        Assert.Equal(["mnist", "digits"], names);
    }

    [SharedDataFact]
    public async Task Predict_gives_the_in_process_probabilities_with_the_answering_version()
    {
        var row = mnist.Row(4);
        var expected = mnist.Reference.PredictRows([row])[0];

        var (response, body) = await SendAsync(HttpMethod.Post, "/v1/models/digits/predict", new JsonObject { ["instances"] = new JsonArray(Numbers(row)) });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("1", response.Headers.GetValues("X-Forge-Model-Version").Single());
        var requestId = response.Headers.GetValues("X-Request-Id").Single();
        var probabilities = body!["probabilities"]![0]!.AsObject();
        for (var k = 0; k < 10; k++)
            Assert.Equal(expected[k], probabilities[k.ToString(CultureInfo.InvariantCulture)]!.GetValue<float>());
        // The request's log line carries the id the response header gave.
        Assert.Contains(_factory!.Logs.Lines, l => l.Message.Contains("/v1/models/digits/predict 200", StringComparison.Ordinal)
            && l.Scopes.OfType<IEnumerable<KeyValuePair<string, object>>>().Any(sc => sc.Any(kv => kv.Key == "RequestId" && (string)kv.Value == requestId)));
    }

    [SharedDataFact]
    public async Task Bad_input_is_a_400_problem_naming_the_field_and_an_unknown_model_a_404()
    {
        var shortRow = new JsonObject { ["instances"] = new JsonArray(Numbers(new float[783])) };
        var (wrongShape, problem) = await SendAsync(HttpMethod.Post, "/v1/models/digits/predict", shortRow);
        Assert.Equal(HttpStatusCode.BadRequest, wrongShape.StatusCode);
        Assert.Equal("application/problem+json", wrongShape.Content.Headers.ContentType!.MediaType);
        Assert.Contains("instances[0]", (string?)problem!["detail"], StringComparison.Ordinal);

        var malformed = await _client.PostAsync("/v1/models/digits/predict", new StringContent("{\"instances\": [", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);

        var (unknown, unknownProblem) = await SendAsync(HttpMethod.Post, "/v1/models/nope/predict", shortRow);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Contains("nope", (string?)unknownProblem!["detail"], StringComparison.Ordinal);
    }

    [SharedDataFact]
    public async Task Open_inference_protocol_metadata_and_infer_work_in_memory()
    {
        var (meta, server) = await SendAsync(HttpMethod.Get, "/v2");
        Assert.Equal(HttpStatusCode.OK, meta.StatusCode);
        Assert.Equal("forge", (string?)server!["name"]);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Get, "/v2/models/digits/ready")).Response.StatusCode);

        var row = mnist.Row(5);
        var request = new JsonObject
        {
            ["inputs"] = new JsonArray(new JsonObject { ["name"] = "image", ["shape"] = new JsonArray(1, 784), ["datatype"] = "FP32", ["data"] = Numbers(row) }),
        };
        var (response, body) = await SendAsync(HttpMethod.Post, "/v2/models/digits/infer", request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("digits", (string?)body!["model_name"]);
        var expected = mnist.Reference.PredictRows([row])[0];
        var probabilities = body["outputs"]!.AsArray().Single(o => (string?)o!["name"] == "probabilities")!["data"]!.AsArray();
        Assert.Equal(expected, probabilities.Select(p => p!.GetValue<float>()));
    }

    [SharedDataFact]
    public async Task Management_endpoints_need_the_api_key()
    {
        var version = new JsonObject { ["version"] = 1 };
        var (noKey, problem) = await SendAsync(HttpMethod.Put, "/v1/models/digits/aliases/champion", version);
        Assert.Equal(HttpStatusCode.Unauthorized, noKey.StatusCode);
        Assert.NotNull(problem!["detail"]);
        var (wrongKey, _) = await SendAsync(HttpMethod.Post, "/v1/models/digits/reload", null, "wrong");
        Assert.Equal(HttpStatusCode.Unauthorized, wrongKey.StatusCode);
        // Predict is open unless the server was told to guard it.
        var (open, _) = await SendAsync(HttpMethod.Post, "/v1/models/digits/predict", new JsonObject { ["instances"] = new JsonArray(Numbers(mnist.Row(0))) });
        Assert.Equal(HttpStatusCode.OK, open.StatusCode);
    }

    [SharedDataFact]
    public async Task Metrics_count_the_requests_and_the_openapi_document_lists_the_endpoints()
    {
        await SendAsync(HttpMethod.Post, "/v1/models/digits/predict", new JsonObject { ["instances"] = new JsonArray(Numbers(mnist.Row(1))) });

        var metrics = await _client.GetStringAsync("/metrics");
        Assert.Contains("forge_requests_total{", metrics, StringComparison.Ordinal);
        Assert.Contains("model=\"digits\"", metrics, StringComparison.Ordinal);

        var (openapi, document) = await SendAsync(HttpMethod.Get, "/openapi/v1.json");
        Assert.Equal(HttpStatusCode.OK, openapi.StatusCode);
        var paths = document!["paths"]!.AsObject().Select(p => p.Key).ToArray();
        Assert.Contains("/v1/models/{name}/predict", paths);
        Assert.Contains("/v2/models/{name}/infer", paths);
        Assert.Contains("/v1/batch-jobs", paths);
    }
}
