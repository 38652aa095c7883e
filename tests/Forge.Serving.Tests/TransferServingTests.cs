using System.Net;
using System.Text.Json.Nodes;
using Forge.Core;
using Forge.Data;
using Forge.DeepLearning.Transfer;
using Forge.Tests.Shared;

namespace Forge.Serving.Tests;

/// <summary>A transfer-learning bundle (ResNet18 backbone, small input) served like any other: a leaf photo in, the in-process answer out.</summary>
public sealed class TransferServingTests : IDisposable
{
    private readonly TempDir _temp = new("forge-serving-transfer-");

    public void Dispose() => _temp.Dispose();

    [SharedDataFact("plantvillage-subset")]
    public Task A_leaf_photo_gets_the_probabilities_the_model_gives_in_process() => ServeAndCompare(testCrops: 1);

    // With five test crops the served input is the whole decoded image and the model crops it itself, so the HTTP answer is
    // still the in-process (and evaluated) one.
    [SharedDataFact("plantvillage-subset")]
    public Task With_five_test_crops_a_leaf_photo_still_gets_the_in_process_probabilities() => ServeAndCompare(testCrops: 5);

    private async Task ServeAndCompare(int testCrops)
    {
        var folder = ImageFolder.Open(SharedData.Dir("plantvillage-subset"));
        var entries = folder.Split("train").GroupBy(e => e.Label).SelectMany(g => g.Take(3)).ToArray();
        var options = TransferOptions.For(TransferMode.FeatureExtraction) with { Epochs = 3, ImageSize = 64, StoreSize = 73, FeatureViews = 0, ValidationFraction = 0, TestCrops = testCrops };
        var (images, _) = RgbImageSet.Decode(entries, folder.ClassNames, 73);
        var bundleDir = _temp.Combine("plants");
        using (var model = new TransferTrainer(options).Train(images))
        using (var writer = ModelBundle.Create(bundleDir))
        {
            writer.Commit(model.WriteTo(writer, "plants"));
        }
        var photo = folder.Split("test")[0].Path;
        float[] expected;
        using (var reference = TransferClassifier.Load(ModelBundle.Load(bundleDir))) expected = reference.PredictFiles([photo])[0];

        await using var server = await RunningServer.StartAsync(new ServerOptions { Models = [ModelSource.FromBundle(bundleDir)] });
        var (response, body) = await server.PostAsync("/v1/models/plants/predict",
            new JsonObject { ["image_b64"] = Convert.ToBase64String(await File.ReadAllBytesAsync(photo)) });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var probabilities = body!["probabilities"]![0]!.AsObject();
        Assert.Equal(folder.ClassNames, probabilities.Select(p => p.Key));
        for (var k = 0; k < expected.Length; k++)
            Assert.True(Math.Abs(expected[k] - probabilities[folder.ClassNames[k]]!.GetValue<float>()) < 1e-5, $"class {k}");
        Assert.Equal(folder.ClassNames[ClassificationMetrics.ArgMax(expected)], (string?)body["predictions"]![0]);
    }
}
