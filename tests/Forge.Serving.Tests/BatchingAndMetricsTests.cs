using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Forge.Tests.Shared;

namespace Forge.Serving.Tests;

[Collection(MnistServerCollection.Name)]
public sealed partial class BatchingAndMetricsTests(MnistServerFixture mnist, Xunit.Abstractions.ITestOutputHelper output)
{
    private RunningServer Server => mnist.Server;

    private async Task<(long Forward, long Rows)> Stats(string model)
    {
        var (_, body) = await Server.GetAsync($"/v1/models/{model}");
        var stats = body!["versions"]![0]!["stats"]!;
        return ((long)stats["forwardCalls"]!, (long)stats["rowsPredicted"]!);
    }

    private async Task<int> Concurrently(string model, int requests)
    {
        var row = new JsonArray(mnist.Row(7).Select(v => (JsonNode?)v).ToArray());
        var responses = await Task.WhenAll(Enumerable.Range(0, requests).Select(_ => Server.PostAsync($"/v1/models/{model}/predict", row.DeepClone())));
        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.Response.StatusCode));
        return responses.Select(r => (string?)r.Body!["predictions"]![0]).Distinct().Count();
    }

    [SharedDataFact]
    public async Task Concurrent_requests_are_coalesced_into_fewer_forward_passes()
    {
        var before = await Stats("mnist-batched");

        Assert.Equal(1, await Concurrently("mnist-batched", 32));

        var after = await Stats("mnist-batched");
        output.WriteLine($"32 concurrent requests: {after.Forward - before.Forward} forward passes");
        Assert.Equal(32, after.Rows - before.Rows);
        Assert.True(after.Forward - before.Forward < 32, $"{after.Forward - before.Forward} forward passes for 32 concurrent requests");
    }

    [SharedDataFact]
    public async Task With_batching_off_every_request_is_its_own_forward_pass()
    {
        var before = await Stats("mnist-nobatch");

        await Concurrently("mnist-nobatch", 32);

        var after = await Stats("mnist-nobatch");
        Assert.Equal(32, after.Forward - before.Forward);
    }

    [SharedDataFact]
    public async Task Metrics_are_prometheus_text_with_every_series()
    {
        await Server.PostAsync("/v1/models/mnist/predict", new JsonArray(mnist.Row(0).Select(v => (JsonNode?)v).ToArray()));
        await Server.PostAsync("/v1/models/mnist/predict", new JsonObject { ["instances"] = new JsonArray() });

        var response = await Server.Client.GetAsync("/metrics");
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain; version=0.0.4; charset=utf-8", response.Content.Headers.ContentType?.ToString());
        Assert.Contains("# TYPE forge_requests_total counter", text, StringComparison.Ordinal);
        Assert.Matches(@"(?m)^forge_requests_total\{model=""mnist"",version=""1"",status=""200""\} [1-9]", text);
        Assert.Matches(@"(?m)^forge_requests_total\{model=""mnist"",version=""1"",status=""400""\} [1-9]", text);
        Assert.Contains("# TYPE forge_request_duration_seconds histogram", text, StringComparison.Ordinal);
        Assert.Matches(@"(?m)^forge_request_duration_seconds_bucket\{model=""mnist"",version=""1"",status=""200"",le=""\+Inf""\} [1-9]", text);
        Assert.Matches(@"(?m)^forge_request_duration_seconds_count\{model=""mnist"",version=""1"",status=""200""\} [1-9]", text);
        Assert.Matches(@"(?m)^forge_batch_size_bucket\{model=""mnist"",version=""1"",le=""1""\} [1-9]", text);
        Assert.Matches(@"(?m)^forge_queue_depth\{model=""mnist"",version=""1""\} 0$", text);
        Assert.Matches(@"(?m)^forge_inflight_requests [1-9]", text);
        Assert.Matches(@"(?m)^forge_model_load_seconds\{model=""mnist-batched"",version=""1""\} \d", text);
        Assert.Matches(@"(?m)^forge_model_ready\{model=""mnist"",version=""2""\} 1$", text);
        Assert.Matches(@"(?m)^forge_predictions_total\{model=""mnist"",version=""1"",label=""\d""\} [1-9]", text);
        // Every sample line is a name, optional labels and a number: what a Prometheus scrape parses.
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !l.StartsWith('#')))
            Assert.Matches(SampleLine(), line);
    }

    [GeneratedRegex(@"^[a-z_][a-z0-9_]*(\{([a-z_]+=""[^""\\]*"",?)+\})? (-?[0-9.]+(e[+-]?[0-9]+)?|\+Inf|NaN)$", RegexOptions.IgnoreCase)]
    private static partial Regex SampleLine();
}
