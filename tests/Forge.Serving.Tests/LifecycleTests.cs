using System.Net;
using System.Text.Json.Nodes;
using Forge.Core;
using Forge.Tests.Shared;

namespace Forge.Serving.Tests;

/// <summary>Readiness, queueing, timeouts, draining and the API key, on a model whose forward pass waits at a gate.</summary>
public sealed class LifecycleTests : IDisposable
{
    private readonly TempDir _temp = new("forge-serving-");
    private readonly GatedLoader _loader = new();

    public void Dispose()
    {
        _loader.Gate.Set();
        _temp.Dispose();
    }

    private ServerOptions Options(BatchingOptions? batching = null) => new()
    {
        Models = [ModelSource.FromBundle(GatedLoader.WriteBundle(_temp.Combine("gated")))],
        Loaders = ModelLoaderRegistry.CreateDefault().Add(_loader),
        Batching = batching ?? new BatchingOptions(),
    };

    private static JsonObject Instance(float x) => new() { ["instances"] = new JsonArray(new JsonArray(x, 0, 0)) };

    [Fact]
    public async Task The_server_is_live_at_once_but_ready_only_after_every_model_has_been_warmed()
    {
        await using var server = await RunningServer.StartAsync(Options(), waitReady: false);
        // The warm-up pass has started and waits at the gate.
        Assert.True(await _loader.Entered.WaitAsync(TimeSpan.FromSeconds(30)));

        Assert.Equal(HttpStatusCode.OK, (await server.GetAsync("/health/live")).Response.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await server.GetAsync("/v2/health/live")).Response.StatusCode);
        var (ready, readyBody) = await server.GetAsync("/health/ready");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        Assert.Equal("loading", (string?)readyBody!["status"]);
        var (v2Ready, v2Body) = await server.GetAsync("/v2/health/ready");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, v2Ready.StatusCode);
        Assert.False((bool)v2Body!["ready"]!);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await server.GetAsync("/v2/models/gated/ready")).Response.StatusCode);
        var (predict, problem) = await server.PostAsync("/v1/models/gated/predict", Instance(0.5f));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, predict.StatusCode);
        Assert.Contains("still loading", (string?)problem!["detail"], StringComparison.Ordinal);

        _loader.Gate.Set();
        await ForgeServer.WaitUntilReadyAsync(server.App).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(HttpStatusCode.OK, (await server.GetAsync("/health/ready")).Response.StatusCode);
        var (v2ReadyAfter, v2After) = await server.GetAsync("/v2/health/ready");
        Assert.Equal(HttpStatusCode.OK, v2ReadyAfter.StatusCode);
        Assert.True((bool)v2After!["ready"]!);
        var (modelReady, modelBody) = await server.GetAsync("/v2/models/gated/ready");
        Assert.Equal(HttpStatusCode.OK, modelReady.StatusCode);
        Assert.Equal("gated", (string?)modelBody!["name"]);
        Assert.True((bool)modelBody["ready"]!);
        var (ok, body) = await server.PostAsync("/v1/models/gated/predict", Instance(0.75f));
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal("yes", (string?)body!["predictions"]![0]);
    }

    [Fact]
    public async Task A_model_that_fails_to_load_keeps_the_server_unready_and_says_why()
    {
        _loader.FailLoad = true;
        await using var server = await RunningServer.StartAsync(Options(), waitReady: false);

        var error = await Assert.ThrowsAsync<ForgeException>(() => ForgeServer.WaitUntilReadyAsync(server.App).WaitAsync(TimeSpan.FromSeconds(30)));

        Assert.Contains("damaged", error.Message, StringComparison.Ordinal);
        var (ready, body) = await server.GetAsync("/health/ready");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        Assert.Equal("failed", (string?)body!["status"]);
        Assert.Contains("damaged", (string?)body["models"]![0]!["error"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_full_queue_answers_503_at_once_and_the_queued_requests_are_still_answered()
    {
        _loader.Gate.Set();
        await using var server = await RunningServer.StartAsync(Options(new BatchingOptions { MaxBatchSize = 1, QueueCapacity = 1 }));
        _loader.Gate.Reset();
        while (_loader.Entered.CurrentCount > 0) await _loader.Entered.WaitAsync();

        var first = server.PostAsync("/v1/models/gated/predict", Instance(0.1f));
        Assert.True(await _loader.Entered.WaitAsync(TimeSpan.FromSeconds(30)));
        // The first request holds the inference thread; the second fills the one-place queue.
        var second = server.PostAsync("/v1/models/gated/predict", Instance(0.2f));
        await WaitFor(async () => (await server.GetAsync("/v1/models/gated")).Body!["versions"]![0]!["stats"]!["queueDepth"]!.GetValue<int>() == 1);
        var (third, problem) = await server.PostAsync("/v1/models/gated/predict", Instance(0.3f));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, third.StatusCode);
        Assert.Contains("requests waiting", (string?)problem!["detail"], StringComparison.Ordinal);
        Assert.True(third.Headers.RetryAfter is not null);
        _loader.Gate.Set();
        Assert.Equal(HttpStatusCode.OK, (await first).Response.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await second).Response.StatusCode);
    }

    [Fact]
    public async Task A_request_the_model_does_not_answer_in_time_is_answered_504()
    {
        _loader.Gate.Set();
        await using var server = await RunningServer.StartAsync(Options() with { RequestTimeout = TimeSpan.FromMilliseconds(300) });
        _loader.Gate.Reset();

        var (response, problem) = await server.PostAsync("/v1/models/gated/predict", Instance(0.5f));

        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        Assert.Contains("did not answer within 0.3 s", (string?)problem!["detail"], StringComparison.Ordinal);
        _loader.Gate.Set();
    }

    [Fact]
    public async Task Shutdown_waits_for_the_requests_in_flight_and_answers_them()
    {
        _loader.Gate.Set();
        var server = await RunningServer.StartAsync(Options());
        _loader.Gate.Reset();
        while (_loader.Entered.CurrentCount > 0) await _loader.Entered.WaitAsync();

        var inFlight = server.PostAsync("/v1/models/gated/predict", Instance(0.9f));
        Assert.True(await _loader.Entered.WaitAsync(TimeSpan.FromSeconds(30)));
        var stopping = server.App.StopAsync();
        Assert.False(stopping.IsCompleted);
        _loader.Gate.Set();

        var (response, body) = await inFlight;
        await stopping;
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("yes", (string?)body!["predictions"]![0]);
        await server.DisposeAsync();
    }

    [Fact]
    public async Task Management_needs_the_api_key_and_is_refused_when_the_server_has_none()
    {
        _loader.Gate.Set();
        await using (var noKey = await RunningServer.StartAsync(Options()))
        {
            var (refused, problem) = await noKey.PostAsync("/v1/models/gated/reload", new JsonObject());
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
            Assert.Contains("FORGE_API_KEY", (string?)problem!["detail"], StringComparison.Ordinal);
        }

        await using var server = await RunningServer.StartAsync(Options() with { ApiKey = "s3cret", RequireApiKeyForPredict = true });
        Assert.Equal(HttpStatusCode.Unauthorized, (await server.PostAsync("/v1/models/gated/reload", new JsonObject())).Response.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await server.PostAsync("/v1/models/gated/reload", new JsonObject(), apiKey: "wrong")).Response.StatusCode);
        var (reloaded, body) = await server.PostAsync("/v1/models/gated/reload", new JsonObject(), apiKey: "s3cret");
        Assert.Equal(HttpStatusCode.OK, reloaded.StatusCode);
        Assert.Equal("1", (string?)body!["versions"]![0]!["version"]);

        // Predict requires the key too when asked to, on both protocols.
        var (unauthorized, _) = await server.PostAsync("/v1/models/gated/predict", Instance(0.5f));
        Assert.Equal(HttpStatusCode.Unauthorized, unauthorized.StatusCode);
        var (v2Unauthorized, v2Error) = await server.PostAsync("/v2/models/gated/infer", new JsonObject());
        Assert.Equal(HttpStatusCode.Unauthorized, v2Unauthorized.StatusCode);
        Assert.NotNull((string?)v2Error!["error"]);
        using var bearer = new HttpRequestMessage(HttpMethod.Post, "/v1/models/gated/predict") { Content = System.Net.Http.Json.JsonContent.Create(Instance(0.5f)) };
        bearer.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "s3cret");
        Assert.Equal(HttpStatusCode.OK, (await server.Client.SendAsync(bearer)).StatusCode);
    }

    [Fact]
    public async Task Options_problems_are_reported_all_at_once()
    {
        var options = new ServerOptions
        {
            Models = [ModelSource.FromBundle(_temp.Combine("missing")), new ModelSource { BundlePath = "x", Name = "../etc" }],
            Port = 70000,
            Batching = new BatchingOptions { MaxBatchSize = 0 },
            ApiKey = "",
            RequireApiKeyForPredict = true,
        };

        var e = Assert.Throws<UsageException>(() => ForgeServer.Build(options));

        Assert.Contains("port 70000", e.Message, StringComparison.Ordinal);
        Assert.Contains("maxBatchSize 0", e.Message, StringComparison.Ordinal);
        Assert.Contains("models[1].name", e.Message, StringComparison.Ordinal);
        Assert.Contains("FORGE_API_KEY", e.Message, StringComparison.Ordinal);
        await Task.CompletedTask;
    }

    [Fact]
    public void A_missing_bundle_or_an_unknown_flavor_is_named_before_the_server_starts()
    {
        var unknown = _temp.Combine("unknown");
        using (var writer = ModelBundle.Create(unknown))
        {
            File.WriteAllText(writer.PathFor("weights/w.bin"), "x");
            writer.Commit(new ModelManifest { Name = "odd", Flavor = "onnx-generic", Signature = GatedLoader.Signature });
        }
        var options = new ServerOptions { Models = [ModelSource.FromBundle(_temp.Combine("nowhere")), ModelSource.FromBundle(unknown)], ApiKey = "" };

        var e = Assert.Throws<UsageException>(() => ForgeServer.Build(options));

        Assert.Contains("nowhere", e.Message, StringComparison.Ordinal);
        Assert.Contains("cannot serve flavor 'onnx-generic'", e.Message, StringComparison.Ordinal);
    }

    private static async Task WaitFor(Func<Task<bool>> condition)
    {
        for (var i = 0; i < 600; i++)
        {
            if (await condition()) return;
            await Task.Delay(50);
        }
        throw new TimeoutException("the condition never held");
    }
}
