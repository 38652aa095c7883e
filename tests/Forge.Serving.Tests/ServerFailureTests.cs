using System.Net;
using System.Net.Http.Json;
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using Forge.Tests.Shared;

namespace Forge.Serving.Tests;

/// <summary>A model that fails natively answers 500 with a short message and the request id; the native text stays in the log.</summary>
public sealed class ServerFailureTests : IAsyncLifetime
{
    private const string NativeMessage = "Unknown scalar type.\nException raised from type at /pytorch/c10/core/Scalar.h:339";
    private readonly TempDir _temp = new("forge-failure-");
    private readonly GatedLoader _loader = new();
    private ForgeServerFactory _factory = null!;
    private HttpClient _client = null!;

    public async Task InitializeAsync()
    {
        _loader.Gate.Set();
        _factory = new ForgeServerFactory(new ServerOptions
        {
            Models = [ModelSource.FromBundle(GatedLoader.WriteBundle(_temp.Combine("gated")))],
            Loaders = ModelLoaderRegistry.CreateDefault().Add(_loader),
        });
        _client = _factory.CreateClient();
        await _factory.WaitUntilReadyAsync();
        _loader.Fault = rows => rows.Any(r => r[0] == 0.5f) ? new ExternalException(NativeMessage) : null;
    }

    public async Task DisposeAsync()
    {
        await _factory.DisposeAsync();
        _temp.Dispose();
    }

    [Fact]
    public async Task The_native_api_answers_problem_details_with_the_request_id_and_no_native_text()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/models/gated/predict")
        {
            Content = JsonContent.Create(new JsonObject { ["instances"] = new JsonArray(new JsonArray(0.5f, 0.1f, 0.1f)) }),
        };
        request.Headers.Add("X-Request-Id", "req-500-native");

        var response = await _client.SendAsync(request);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("req-500-native", (string?)body["requestId"]);
        Assert.Contains("req-500-native", (string?)body["detail"], StringComparison.Ordinal);
        Assert.DoesNotContain("Scalar", body.ToJsonString(), StringComparison.Ordinal);
        Assert.Contains(_factory.Logs.Lines, l => l.Message.Contains("failed", StringComparison.Ordinal) && l.Scopes.Any(s => s?.ToString()?.Contains("req-500-native", StringComparison.Ordinal) == true));
    }

    [Fact]
    public async Task The_inference_protocol_answers_its_error_object_and_the_request_id_header()
    {
        var infer = new JsonObject
        {
            ["inputs"] = new JsonArray(new JsonObject
            {
                ["name"] = "x", ["shape"] = new JsonArray(1, 3), ["datatype"] = "FP32", ["data"] = new JsonArray(0.5f, 0.1f, 0.1f),
            }),
        };

        var response = await _client.PostAsJsonAsync("/v2/models/gated/infer", infer);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        var id = response.Headers.GetValues("X-Request-Id").Single();
        Assert.Contains(id, (string?)body["error"], StringComparison.Ordinal);
        Assert.DoesNotContain("Scalar", body.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Rows_batched_with_a_failing_row_are_answered()
    {
        var good = Enumerable.Range(0, 8).Select(i => _client.PostAsJsonAsync("/v1/models/gated/predict",
            new JsonObject { ["instances"] = new JsonArray(new JsonArray(0.1f * (i % 4), 0f, 0f)) })).ToList();
        var bad = _client.PostAsJsonAsync("/v1/models/gated/predict", new JsonObject { ["instances"] = new JsonArray(new JsonArray(0.5f, 0f, 0f)) });

        var responses = await Task.WhenAll(good);

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        Assert.Equal(HttpStatusCode.InternalServerError, (await bad).StatusCode);
    }
}
