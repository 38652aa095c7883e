using Forge.Core;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Forge.Data;
using Forge.Tests.Shared;

namespace Forge.Serving.Tests;

[Collection(MnistServerCollection.Name)]
public sealed class NativeApiTests(MnistServerFixture mnist)
{
    private RunningServer Server => mnist.Server;

    private static JsonArray Numbers(IEnumerable<float> values) => new(values.Select(v => (JsonNode?)v).ToArray());

    private static JsonArray Nested(float[] row, int rows, int columns)
    {
        var outer = new JsonArray();
        for (var y = 0; y < rows; y++) outer.Add(Numbers(row.Skip(y * columns).Take(columns)));
        return outer;
    }

    [SharedDataFact]
    public async Task A_png_gets_exactly_the_probabilities_forge_predict_gives_for_the_same_file()
    {
        var (path, bytes) = mnist.Png(0);
        var expected = mnist.Reference.PredictRows([DigitImage.LoadAsMnist(path)])[0];

        var (response, body) = await Server.PostAsync("/v1/models/mnist-nobatch/predict",
            new JsonObject { ["image_b64"] = Convert.ToBase64String(bytes) });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("mnist-nobatch", (string?)body!["model"]);
        Assert.Equal("1", (string?)body["version"]);
        Assert.Equal("1", response.Headers.GetValues("X-Forge-Model-Version").Single());
        var probabilities = body["probabilities"]![0]!.AsObject();
        Assert.Equal(mnist.Reference.Labels, probabilities.Select(p => p.Key));
        for (var k = 0; k < 10; k++)
            Assert.True(expected[k] == probabilities[k.ToString(CultureInfo.InvariantCulture)]!.GetValue<float>(), $"class {k}: {expected[k]:R} in process");
        Assert.Equal(mnist.Reference.Labels[Forge.Core.ClassificationMetrics.ArgMax(expected)], (string?)body["predictions"]![0]);
    }

    [SharedDataFact]
    public async Task Instances_as_flat_or_nested_arrays_and_data_urls_all_give_the_in_process_answer()
    {
        var rows = new[] { mnist.Row(1), mnist.Row(2), mnist.Row(3) };
        var expected = mnist.Reference.PredictRows(rows);
        var (_, png) = mnist.Png(1);
        var instances = new JsonArray(
            Numbers(rows[0]),
            new JsonArray(Nested(rows[1], 28, 28)),
            Nested(rows[2], 28, 28));

        var (response, body) = await Server.PostAsync("/v1/models/mnist-nobatch/predict", new JsonObject { ["instances"] = instances });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        for (var i = 0; i < 3; i++)
        {
            for (var k = 0; k < 10; k++)
                Assert.True(expected[i][k] == body!["probabilities"]![i]![k.ToString(CultureInfo.InvariantCulture)]!.GetValue<float>(), $"instance {i} class {k}");
        }
        var (dataUrl, dataUrlBody) = await Server.PostAsync("/v1/models/mnist/predict",
            new JsonObject { ["instances"] = new JsonArray(new JsonObject { ["image_b64"] = "data:image/png;base64," + Convert.ToBase64String(png) }) });
        Assert.Equal(HttpStatusCode.OK, dataUrl.StatusCode);
        Assert.Single(dataUrlBody!["predictions"]!.AsArray());
    }

    [SharedDataFact]
    public async Task A_version_route_answers_with_that_version_and_an_unknown_version_lists_the_served_ones()
    {
        var (response, body) = await Server.PostAsync("/v1/models/mnist/versions/2/predict", new JsonObject { ["instances"] = new JsonArray(Numbers(mnist.Row(0))) });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("2", (string?)body!["version"]);
        Assert.Equal("2", response.Headers.GetValues("X-Forge-Model-Version").Single());

        var (missing, problem) = await Server.PostAsync("/v1/models/mnist/versions/7/predict", new JsonObject { ["instances"] = new JsonArray(Numbers(mnist.Row(0))) });
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal(["1", "2"], problem!["knownVersions"]!.AsArray().Select(v => (string?)v));
    }

    [SharedDataFact]
    public async Task Listing_and_describing_models_shows_versions_signature_and_counters()
    {
        var (list, listBody) = await Server.GetAsync("/v1/models");
        Assert.Equal(HttpStatusCode.OK, list.StatusCode);
        var models = listBody!["models"]!.AsArray();
        Assert.Equal(["mnist", "mnist-nobatch", "mnist-batched"], models.Select(m => (string?)m!["name"]));
        Assert.Equal(["1", "2"], models[0]!["versions"]!.AsArray().Select(v => (string?)v));
        Assert.True((bool)models[0]!["ready"]!);

        var (one, body) = await Server.GetAsync("/v1/models/mnist");
        Assert.Equal(HttpStatusCode.OK, one.StatusCode);
        var version = body!["versions"]![0]!;
        Assert.Equal("ready", (string?)version["state"]);
        Assert.Equal("torch-image", (string?)version["flavor"]);
        Assert.Equal([-1, 1, 28, 28], version["signature"]!["inputs"]![0]!["shape"]!.AsArray().Select(d => (int)d!));
        Assert.Equal(32, (int)version["batching"]!["maxBatchSize"]!);
        Assert.True((long)version["stats"]!["forwardCalls"]! >= 1, "the warm-up pass counts");
    }

    [SharedDataFact]
    public async Task An_unknown_model_is_404_naming_the_served_models_and_the_closest_one()
    {
        var (response, problem) = await Server.PostAsync("/v1/models/mnsit/predict", new JsonObject { ["instances"] = new JsonArray(Numbers(mnist.Row(0))) });

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("did you mean 'mnist'", (string?)problem!["detail"], StringComparison.Ordinal);
        Assert.Equal(["mnist", "mnist-nobatch", "mnist-batched"], problem["knownModels"]!.AsArray().Select(v => (string?)v));
        Assert.Equal(HttpStatusCode.NotFound, (await Server.GetAsync("/v1/models/nope")).Response.StatusCode);
    }

    [SharedDataFact]
    public async Task A_model_name_that_could_climb_out_of_a_folder_is_refused()
    {
        var (response, problem) = await Server.PostAsync("/v1/models/..%2F..%2Fetc/predict", new JsonObject { ["instances"] = new JsonArray() });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("name", (string?)problem!["field"]);
    }

    [SharedDataFact]
    public async Task Each_invalid_instance_is_a_400_naming_the_field_at_fault()
    {
        var good = Numbers(mnist.Row(0));
        async Task<(string? Field, string? Detail)> Bad(JsonNode instance, int at = 3)
        {
            var instances = new JsonArray();
            for (var i = 0; i < at; i++) instances.Add(good.DeepClone());
            instances.Add(instance);
            var (response, problem) = await Server.PostAsync("/v1/models/mnist/predict", new JsonObject { ["instances"] = instances });
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            return ((string?)problem!["field"], (string?)problem["detail"]);
        }

        var (field, detail) = await Bad(Numbers(mnist.Row(0).Take(783)));
        Assert.Equal("instances[3]", field);
        Assert.Contains("shape [783] does not fit", detail, StringComparison.Ordinal);

        var withNaNText = mnist.Row(0).Select(v => (JsonNode?)v).ToArray();
        withNaNText[100] = "NaN";
        (field, detail) = await Bad(new JsonArray(withNaNText));
        Assert.Equal("instances[3][100]", field);
        Assert.Contains("NaN", detail, StringComparison.Ordinal);

        var pixels = Numbers(mnist.Row(0).Select(v => v * 255));
        (field, detail) = await Bad(pixels, at: 0);
        Assert.Equal("instances[0]", field);
        Assert.Contains("divide by 255", detail, StringComparison.Ordinal);

        var ragged = Nested(mnist.Row(0), 28, 28);
        ragged[5]!.AsArray().RemoveAt(0);
        (field, detail) = await Bad(ragged, at: 1);
        Assert.Equal("instances[1][5]", field);
        Assert.Contains("regular", detail, StringComparison.Ordinal);

        (field, _) = await Bad(new JsonObject { ["image_b64"] = "not base64 !!" }, at: 2);
        Assert.Equal("instances[2].image_b64", field);
        (field, detail) = await Bad(new JsonObject { ["image_b64"] = Convert.ToBase64String(Encoding.UTF8.GetBytes("hello, not an image")) }, at: 0);
        Assert.Equal("instances[0].image_b64", field);
        Assert.Contains("not a PNG or JPEG", detail, StringComparison.Ordinal);
        (field, _) = await Bad(new JsonObject { ["text"] = "a digit" }, at: 0);
        Assert.Equal("instances[0]", field);

        var (empty, emptyProblem) = await Server.PostAsync("/v1/models/mnist/predict", new JsonObject { ["instances"] = new JsonArray() });
        Assert.Equal(HttpStatusCode.BadRequest, empty.StatusCode);
        Assert.Equal("instances", (string?)emptyProblem!["field"]);
    }

    [SharedDataFact]
    public async Task Non_finite_numbers_and_malformed_json_are_400()
    {
        var row = string.Join(",", mnist.Row(0).Select(v => v.ToString("R", CultureInfo.InvariantCulture)));
        var (overflow, problem) = await Server.PostRawAsync("/v1/models/mnist/predict", "{\"instances\":[[1e400," + row[(row.IndexOf(',', StringComparison.Ordinal) + 1)..] + "]]}");
        Assert.Equal(HttpStatusCode.BadRequest, overflow.StatusCode);
        Assert.Equal("instances[0][0]", (string?)problem!["field"]);
        Assert.Contains("not a finite", (string?)problem["detail"], StringComparison.Ordinal);

        var (nanLiteral, nanProblem) = await Server.PostRawAsync("/v1/models/mnist/predict", "{\"instances\":[[NaN]]}");
        Assert.Equal(HttpStatusCode.BadRequest, nanLiteral.StatusCode);
        Assert.Contains("not valid JSON", (string?)nanProblem!["detail"], StringComparison.Ordinal);

        var (truncated, _) = await Server.PostRawAsync("/v1/models/mnist/predict", "{\"instances\":[[0.1, 0.2");
        Assert.Equal(HttpStatusCode.BadRequest, truncated.StatusCode);
    }

    [SharedDataFact]
    public async Task The_body_is_read_as_json_whatever_content_type_curl_gave_it()
    {
        var json = "[" + string.Join(",", mnist.Row(0).Select(v => v.ToString("R", CultureInfo.InvariantCulture))) + "]";
        using var content = new StringContent(json, Encoding.UTF8, "application/x-www-form-urlencoded");

        var response = await Server.Client.PostAsync("/v1/models/mnist/predict", content);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var problem = (await Server.GetAsync("/v1/models/nope")).Body!;
        Assert.NotNull((string?)problem["requestId"]);
        Assert.Null(problem["traceId"]);
    }

    [SharedDataFact]
    public async Task A_body_over_the_size_limit_is_413()
    {
        Assert.Equal(10 * 1024 * 1024, new ServerOptions().MaxRequestBytes);
        var big = new StringBuilder("{\"instances\":[[");
        while (big.Length < MnistServerFixture.RequestLimit + 1000) big.Append("0.5,");
        big.Append("0.5]]}");

        var (response, problem) = await Server.PostRawAsync("/v1/models/mnist/predict", big.ToString());

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Contains("limit of 1 MB", (string?)problem!["detail"], StringComparison.Ordinal);
    }

    [SharedDataFact]
    public async Task Reload_needs_the_key_then_swaps_in_a_freshly_warmed_copy()
    {
        Assert.Equal(HttpStatusCode.Unauthorized, (await Server.PostAsync("/v1/models/mnist-nobatch/reload", new JsonObject())).Response.StatusCode);

        var (response, body) = await Server.PostAsync("/v1/models/mnist-nobatch/reload", new JsonObject(), MnistServerFixture.ApiKey);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("1", (string?)body!["versions"]![0]!["previousVersion"]);
        var (after, afterBody) = await Server.GetAsync("/v1/models/mnist-nobatch");
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
        Assert.Equal(1, (long)afterBody!["versions"]![0]!["stats"]!["forwardCalls"]!);
        Assert.Equal(HttpStatusCode.OK, (await Server.PostAsync("/v1/models/mnist-nobatch/predict", Numbers(mnist.Row(0)))).Response.StatusCode);
    }

    [SharedDataFact]
    public async Task The_request_id_is_echoed_and_carried_by_the_request_log()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/models/mnist/predict") { Content = System.Net.Http.Json.JsonContent.Create(Numbers(mnist.Row(0))) };
        request.Headers.Add("X-Request-Id", "req-0042");
        var response = await Server.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("req-0042", response.Headers.GetValues("X-Request-Id").Single());
        Assert.Contains(Server.Logs.Lines, l => l.Message.Contains("/v1/models/mnist/predict 200", StringComparison.Ordinal)
            && l.Scopes.OfType<IEnumerable<KeyValuePair<string, object>>>().Any(s => s.Any(kv => kv.Key == "RequestId" && (string)kv.Value == "req-0042")));

        using var odd = new HttpRequestMessage(HttpMethod.Get, "/health/live");
        odd.Headers.TryAddWithoutValidation("X-Request-Id", "<script>");
        var generated = (await Server.Client.SendAsync(odd)).Headers.GetValues("X-Request-Id").Single();
        Assert.Matches("^[0-9a-f]{32}$", generated);
    }

    [SharedDataFact]
    public async Task The_openapi_document_and_the_scalar_page_are_served()
    {
        var (response, doc) = await Server.GetAsync("/openapi/v1.json");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var paths = doc!["paths"]!.AsObject().Select(p => p.Key).ToArray();
        Assert.Contains("/v1/models/{name}/predict", paths);
        Assert.Contains("/v2/models/{name}/versions/{version}/infer", paths);
        Assert.Contains("/health/ready", paths);

        var scalar = await Server.Client.GetAsync("/scalar");
        Assert.Equal(HttpStatusCode.OK, scalar.StatusCode);
        Assert.Equal("text/html", scalar.Content.Headers.ContentType?.MediaType);
    }
}
