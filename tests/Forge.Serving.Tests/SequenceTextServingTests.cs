using System.Net;
using System.Text.Json.Nodes;
using Forge.Core;
using Forge.DeepLearning;
using Forge.Tests.Shared;

namespace Forge.Serving.Tests;

/// <summary>A recurrent text bundle (torch-sequence) behind the same text endpoints as other text models.</summary>
public sealed class SequenceTextServingTests : IAsyncLifetime
{
    private const string Folder = "sentiment-labelled-sentences";
    private readonly TempDir _temp = new("forge-serving-seqtext-");
    private RunningServer? _server;

    private string Bundle => _temp.Combine("sentiment-gru");

    public async Task InitializeAsync()
    {
        if (SharedData.DirOrNull(Folder) is null) return;
        TorchRuntime.SetThreads(1);
        SequenceTextTraining.Run(new SequenceTextRequest
        {
            DataDir = SharedData.Dir(Folder),
            Model = new SequenceModelOptions { Cell = RecurrentCell.Gru, HiddenSize = 16, EmbeddingSize = 16, Bidirectional = true },
            Options = SequenceTextTraining.DefaultOptions with { Epochs = 2, Threads = 1 },
            TrainShare = 0.25,
            OutputDirectory = Bundle,
            Name = "sentiment-gru",
        });
        _server = await RunningServer.StartAsync(new ServerOptions { Models = [ModelSource.FromBundle(Bundle)] });
    }

    public async Task DisposeAsync()
    {
        if (_server is not null) await _server.DisposeAsync();
        _temp.Dispose();
    }

    [SharedDataFact(Folder)]
    public async Task The_server_answers_what_the_bundle_answers_in_process_on_v1_and_v2_and_refuses_a_blank_text()
    {
        var server = _server!;
        string[] texts = ["Great phone, works perfectly!", "Terrible. Broke after a day.", "zzqx unknownword", "ok"];
        using var reference = SequenceTextClassifier.Load(ModelBundle.Load(Bundle));
        var expected = reference.PredictProbabilities(texts);

        var (response, body) = await server.PostAsync("/v1/models/sentiment-gru/predict",
            new JsonObject { ["instances"] = new JsonArray([.. texts.Select(t => (JsonNode)new JsonObject { ["text"] = t })]) });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        for (var i = 0; i < texts.Length; i++)
        {
            var probabilities = body!["probabilities"]![i]!.AsObject();
            for (var k = 0; k < 2; k++)
                Assert.InRange(probabilities[reference.Labels[k]]!.GetValue<float>() - expected[i][k], -1e-5f, 1e-5f);
            Assert.Equal(reference.Labels[ClassificationMetrics.ArgMax(expected[i])], (string?)body["predictions"]![i]);
        }

        var (v2, v2Body) = await server.PostAsync("/v2/models/sentiment-gru/infer", new JsonObject
        {
            ["inputs"] = new JsonArray(new JsonObject { ["name"] = "text", ["datatype"] = "BYTES", ["shape"] = new JsonArray(2), ["data"] = new JsonArray(texts[0], texts[1]) }),
        });
        Assert.Equal(HttpStatusCode.OK, v2.StatusCode);
        var outputs = v2Body!["outputs"]!.AsArray().ToDictionary(o => (string)o!["name"]!);
        var flat = outputs["probabilities"]!["data"]!.AsArray().Select(v => v!.GetValue<float>()).ToArray();
        for (var i = 0; i < 2; i++)
        {
            for (var k = 0; k < 2; k++) Assert.InRange(flat[(i * 2) + k] - expected[i][k], -1e-5f, 1e-5f);
        }

        var (blank, blankBody) = await server.PostAsync("/v1/models/sentiment-gru/predict", new JsonObject { ["text"] = "   " });
        Assert.Equal(HttpStatusCode.BadRequest, blank.StatusCode);
        Assert.Contains("the text is empty", (string?)blankBody!["detail"], StringComparison.Ordinal);
    }

    [SharedDataFact(Folder)]
    public async Task A_recurrent_text_model_is_explained_word_by_word_by_lime_and_kernel_shap_and_refuses_tree_shap()
    {
        var server = _server!;
        const string text = "Great phone but the battery died";
        foreach (var method in new[] { "lime", "kernel" })
        {
            var (response, body) = await server.PostAsync($"/v1/models/sentiment-gru/explain?method={method}", new JsonObject { ["text"] = text });
            Assert.True(response.StatusCode == HttpStatusCode.OK, body?.ToJsonString());
            Assert.Equal("text", (string)body!["kind"]!);
            Assert.Equal(method, (string)body["method"]!);
            var outputs = Assert.Single(body["instances"]!.AsArray())!["outputs"]!.AsArray();
            Assert.Equal(2, outputs.Count);
            foreach (var output in outputs)
            {
                // One attribution per word of the message, each a finite number.
                var attributions = output!["attributions"]!.AsArray();
                Assert.Equal(text.Split(' ').Order(StringComparer.Ordinal), attributions.Select(a => (string)a!["feature"]!).Order(StringComparer.Ordinal));
                Assert.All(attributions, a => Assert.True(double.IsFinite((double)a!["value"]!)));
            }
        }

        var (tree, treeBody) = await server.PostAsync("/v1/models/sentiment-gru/explain?method=tree", new JsonObject { ["text"] = text });
        Assert.Equal(HttpStatusCode.BadRequest, tree.StatusCode);
        Assert.Contains("lime", treeBody!.ToJsonString(), StringComparison.Ordinal);
    }
}
