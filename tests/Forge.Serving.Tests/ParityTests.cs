using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using Forge.Core;
using Forge.Data;
using Forge.DeepLearning;
using Forge.Tests.Shared;
using Forge.Text;

namespace Forge.Serving.Tests;

/// <summary>
/// The acceptance check "forge predict and the server return identical probabilities for the same PNG and the same
/// text": forge predict's own library path on one side (bundle loaded from disk, the file decoded as the CLI decodes it),
/// the server's native and Open Inference Protocol endpoints with default batching on the other; equal to the last bit.
/// </summary>
[Collection(MnistServerCollection.Name)]
public sealed class PngParityTests(MnistServerFixture mnist)
{
    [SharedDataFact]
    public async Task Forge_predict_and_the_server_give_identical_probabilities_for_the_same_png()
    {
        for (var index = 4; index < 8; index++)
        {
            var (path, bytes) = mnist.Png(index);
            // What forge predict DIR FILE.png does: load the bundle, read the file as an MNIST digit, predict.
            float[] expected;
            using (var cli = ImageClassifier.Load(ModelBundle.Load(mnist.BundleDirectory))) expected = cli.PredictRows([DigitImage.LoadAsMnist(path)])[0];
            var b64 = Convert.ToBase64String(bytes);

            var (native, nativeBody) = await mnist.Server.PostAsync("/v1/models/mnist/predict", new JsonObject { ["image_b64"] = b64 });
            var (v2, v2Body) = await mnist.Server.PostAsync("/v2/models/mnist/infer", new JsonObject
            {
                ["inputs"] = new JsonArray(new JsonObject { ["name"] = "image", ["datatype"] = "BYTES", ["shape"] = new JsonArray(1), ["data"] = new JsonArray(b64) }),
            });

            Assert.Equal(HttpStatusCode.OK, native.StatusCode);
            Assert.Equal(HttpStatusCode.OK, v2.StatusCode);
            var v2Probabilities = v2Body!["outputs"]!.AsArray().Single(o => (string?)o!["name"] == "probabilities")!["data"]!.AsArray();
            for (var k = 0; k < expected.Length; k++)
            {
                Assert.True(expected[k] == nativeBody!["probabilities"]![0]![k.ToString(CultureInfo.InvariantCulture)]!.GetValue<float>(), $"digit {index}, class {k}, /v1");
                Assert.True(expected[k] == v2Probabilities[k]!.GetValue<float>(), $"digit {index}, class {k}, /v2");
            }
        }
    }
}

/// <summary>The same check for texts, on the MiniLM sentiment bundle.</summary>
[Collection(SentimentServerCollection.Name)]
public sealed class TextParityTests(SentimentServerFixture sentiment)
{
    [SharedDataFact(SentimentServerFixture.Folder)]
    public async Task Forge_predict_and_the_server_give_identical_probabilities_for_the_same_text()
    {
        string[] texts = [.. SentimentServerFixture.Positive, .. SentimentServerFixture.Negative, "ok", "Where is my parcel? It's been two weeks."];
        // What forge predict DIR --text "…" does: load the bundle, predict the text given.
        using var cli = TextClassifier.Load(sentiment.BundleDirectory);
        foreach (var text in texts)
        {
            var expected = cli.Predict([text])[0];

            var (native, nativeBody) = await sentiment.Server.PostAsync("/v1/models/sentiment/predict", new JsonObject { ["text"] = text });
            var (v2, v2Body) = await sentiment.Server.PostAsync("/v2/models/sentiment/infer", new JsonObject
            {
                ["inputs"] = new JsonArray(new JsonObject { ["name"] = "text", ["datatype"] = "BYTES", ["shape"] = new JsonArray(1), ["data"] = new JsonArray(text) }),
            });

            Assert.Equal(HttpStatusCode.OK, native.StatusCode);
            Assert.Equal(HttpStatusCode.OK, v2.StatusCode);
            Assert.Equal(expected.Label, (string?)nativeBody!["predictions"]![0]);
            var v2Probabilities = v2Body!["outputs"]!.AsArray().Single(o => (string?)o!["name"] == "probabilities")!["data"]!.AsArray();
            for (var k = 0; k < expected.Probabilities.Length; k++)
            {
                var label = sentiment.Reference.Labels[k];
                Assert.True(expected.Probabilities[k] == nativeBody["probabilities"]![0]![label]!.GetValue<float>(), $"'{text}', {label}, /v1");
                Assert.True(expected.Probabilities[k] == v2Probabilities[k]!.GetValue<float>(), $"'{text}', {label}, /v2");
            }
        }
    }
}
