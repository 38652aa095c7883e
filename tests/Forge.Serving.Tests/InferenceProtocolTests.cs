using Forge.Core;
using System.Net;
using System.Text.Json.Nodes;
using Forge.Tests.Shared;

namespace Forge.Serving.Tests;

/// <summary>The Open Inference Protocol v2 endpoints, checked field by field against the specification's JSON.</summary>
[Collection(MnistServerCollection.Name)]
public sealed class InferenceProtocolTests(MnistServerFixture mnist)
{
    private RunningServer Server => mnist.Server;

    private static JsonArray Numbers(IEnumerable<float> values) => new(values.Select(v => (JsonNode?)v).ToArray());

    private static JsonObject Request(JsonNode data, int[] shape, string datatype = "FP32", string name = "image") => new()
    {
        ["id"] = "42",
        ["inputs"] = new JsonArray(new JsonObject
        {
            ["name"] = name,
            ["shape"] = new JsonArray(shape.Select(d => (JsonNode?)d).ToArray()),
            ["datatype"] = datatype,
            ["data"] = data,
        }),
    };

    [SharedDataFact]
    public async Task Server_metadata_liveness_and_readiness_follow_the_protocol()
    {
        var (meta, body) = await Server.GetAsync("/v2");
        Assert.Equal(HttpStatusCode.OK, meta.StatusCode);
        Assert.Equal("forge", (string?)body!["name"]);
        Assert.False(string.IsNullOrEmpty((string?)body["version"]));
        Assert.Empty(body["extensions"]!.AsArray());

        var (live, liveBody) = await Server.GetAsync("/v2/health/live");
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.True((bool)liveBody!["live"]!);
        var (ready, readyBody) = await Server.GetAsync("/v2/health/ready");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.True((bool)readyBody!["ready"]!);
        var (modelReady, modelBody) = await Server.GetAsync("/v2/models/mnist/versions/2/ready");
        Assert.Equal(HttpStatusCode.OK, modelReady.StatusCode);
        Assert.Equal("mnist", (string?)modelBody!["name"]);
        Assert.True((bool)modelBody["ready"]!);
    }

    [SharedDataFact]
    public async Task Model_metadata_names_the_input_and_outputs_with_protocol_datatypes()
    {
        var (response, body) = await Server.GetAsync("/v2/models/mnist");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("mnist", (string?)body!["name"]);
        Assert.Equal(["1", "2"], body["versions"]!.AsArray().Select(v => (string?)v));
        Assert.Equal("forge_torch_image", (string?)body["platform"]);
        var input = body["inputs"]![0]!;
        Assert.Equal("image", (string?)input["name"]);
        Assert.Equal("FP32", (string?)input["datatype"]);
        Assert.Equal([-1, 1, 28, 28], input["shape"]!.AsArray().Select(d => (int)d!));
        Assert.Equal(["probabilities", "label"], body["outputs"]!.AsArray().Select(o => (string?)o!["name"]));
        Assert.Equal(["FP32", "BYTES"], body["outputs"]!.AsArray().Select(o => (string?)o!["datatype"]));
        Assert.Equal(HttpStatusCode.OK, (await Server.GetAsync("/v2/models/mnist/versions/2")).Response.StatusCode);

        var (missing, error) = await Server.GetAsync("/v2/models/mnist/versions/9");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Contains("served versions: 1, 2", (string?)error!["error"], StringComparison.Ordinal);
    }

    [SharedDataFact]
    public async Task Infer_takes_a_batch_flat_or_nested_and_returns_the_in_process_probabilities()
    {
        var rows = new[] { mnist.Row(4), mnist.Row(5) };
        var expected = mnist.Reference.PredictRows(rows);

        var flat = await Server.PostAsync("/v2/models/mnist-nobatch/infer", Request(Numbers(rows.SelectMany(r => r)), [2, 1, 28, 28]));
        var nested = await Server.PostAsync("/v2/models/mnist-nobatch/infer", Request(new JsonArray(Numbers(rows[0]), Numbers(rows[1])), [2, 784]));

        foreach (var (response, body) in new[] { flat, nested })
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("mnist-nobatch", (string?)body!["model_name"]);
            Assert.Equal("1", (string?)body["model_version"]);
            Assert.Equal("42", (string?)body["id"]);
            var outputs = body["outputs"]!.AsArray();
            Assert.Equal("probabilities", (string?)outputs[0]!["name"]);
            Assert.Equal("FP32", (string?)outputs[0]!["datatype"]);
            Assert.Equal([2, 10], outputs[0]!["shape"]!.AsArray().Select(d => (int)d!));
            var data = outputs[0]!["data"]!.AsArray().Select(v => v!.GetValue<float>()).ToArray();
            for (var i = 0; i < 20; i++) Assert.True(expected[i / 10][i % 10] == data[i], $"value {i}");
            Assert.Equal("label", (string?)outputs[1]!["name"]);
            Assert.Equal("BYTES", (string?)outputs[1]!["datatype"]);
            Assert.Equal([2], outputs[1]!["shape"]!.AsArray().Select(d => (int)d!));
        }
    }

    [SharedDataFact]
    public async Task Infer_takes_base64_images_as_bytes_and_returns_only_the_outputs_asked_for()
    {
        var (_, png) = mnist.Png(6);
        var request = Request(new JsonArray(Convert.ToBase64String(png)), [1], "BYTES");
        request["outputs"] = new JsonArray(new JsonObject { ["name"] = "label" });

        var (response, body) = await Server.PostAsync("/v2/models/mnist/versions/2/infer", request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("2", (string?)body!["model_version"]);
        var output = Assert.Single(body["outputs"]!.AsArray());
        Assert.Equal("label", (string?)output!["name"]);
        var (_, native) = await Server.PostAsync("/v1/models/mnist/predict", new JsonObject { ["image_b64"] = Convert.ToBase64String(png) });
        Assert.Equal((string?)native!["predictions"]![0], (string?)output["data"]![0]);
    }

    [SharedDataFact]
    public async Task Infer_errors_are_the_protocols_error_object_naming_the_field()
    {
        var row = mnist.Row(0);
        async Task<string> Error(string path, JsonNode request, HttpStatusCode status = HttpStatusCode.BadRequest)
        {
            var (response, body) = await Server.PostAsync(path, request);
            Assert.Equal(status, response.StatusCode);
            Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
            return (string)body!["error"]!;
        }

        Assert.Contains("inputs[0].shape", await Error("/v2/models/mnist/infer", Request(Numbers(row.Take(756)), [1, 1, 28, 27])), StringComparison.Ordinal);
        Assert.Contains("unknown input 'pixels'", await Error("/v2/models/mnist/infer", Request(Numbers(row), [1, 784], name: "pixels")), StringComparison.Ordinal);
        Assert.Contains("783 values", await Error("/v2/models/mnist/infer", Request(Numbers(row.Take(783)), [1, 784])), StringComparison.Ordinal);
        Assert.Contains("inputs[0].datatype", await Error("/v2/models/mnist/infer", Request(Numbers(row), [1, 784], "BOOL")), StringComparison.Ordinal);
        var withText = row.Select(v => (JsonNode?)v).ToArray();
        withText[9] = "Infinity";
        Assert.Contains("inputs[0].data[9]", await Error("/v2/models/mnist/infer", Request(new JsonArray(withText), [1, 784])), StringComparison.Ordinal);
        var outputs = Request(Numbers(row), [1, 784]);
        outputs["outputs"] = new JsonArray(new JsonObject { ["name"] = "logits" });
        Assert.Contains("unknown output 'logits'", await Error("/v2/models/mnist/infer", outputs), StringComparison.Ordinal);
        Assert.Contains("inputs", await Error("/v2/models/mnist/infer", new JsonObject { ["id"] = "1" }), StringComparison.Ordinal);
        Assert.Contains("did you mean 'mnist'", await Error("/v2/models/mnits/infer", Request(Numbers(row), [1, 784]), HttpStatusCode.NotFound), StringComparison.Ordinal);
    }
}
