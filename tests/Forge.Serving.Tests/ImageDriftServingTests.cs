using System.Net;
using System.Text.Json.Nodes;
using Forge.Core;
using Forge.Data;
using Forge.DeepLearning;
using Forge.Monitoring;
using Forge.Tests.Shared;
using Xunit.Abstractions;

namespace Forge.Serving.Tests;

/// <summary>
/// An image model watches its own drift: a tiny MNIST MLP trained through <see cref="ImageTraining"/> with the image
/// profile (per-image mean intensity and contrast, and the predictions on test images), served with a small window.
/// More MNIST digits pass; inverted digits (white background) drift on both summaries and on the predictions.
/// </summary>
[Collection(MnistServerCollection.Name)]
public sealed class ImageDriftServingTests(ITestOutputHelper output) : IDisposable
{
    private const int Window = 400;
    private readonly TempDir _temp = new("forge-serving-image-drift-");

    public void Dispose() => _temp.Dispose();

    private static JsonArray Numbers(IEnumerable<float> values) => new([.. values.Select(v => (JsonNode?)v)]);

    private static async Task SendAsync(RunningServer server, IEnumerable<float[]> rows)
    {
        foreach (var chunk in rows.Chunk(25))
        {
            var (response, body) = await server.PostAsync("/v1/models/digits/predict", new JsonObject { ["instances"] = new JsonArray([.. chunk.Select(Numbers)]) });
            Assert.True(response.StatusCode == HttpStatusCode.OK, body?.ToJsonString());
        }
    }

    private static async Task<JsonNode> DriftAsync(RunningServer server)
    {
        var (response, body) = await server.GetAsync("/v1/models/digits/drift?refresh=true");
        Assert.True(response.StatusCode == HttpStatusCode.OK, body?.ToJsonString());
        return body!;
    }

    // The numbers docs/monitoring.md quotes, printed with --logger "console;verbosity=detailed".
    private void Print(string what, JsonNode drift)
    {
        foreach (var c in drift["columns"]!.AsArray().Concat(drift["predictions"]!.AsArray()))
            output.WriteLine($"{what}: {c!["name"]} {c["test"]} statistic={(double)c["statistic"]!:G4} drifted={c["drifted"]}");
    }

    private static bool Drifted(JsonNode drift, string column) =>
        (bool)drift["columns"]!.AsArray().Concat(drift["predictions"]!.AsArray()).Single(c => (string)c!["name"]! == column)!["drifted"]!;

    [SharedDataFact]
    public async Task Inverted_digits_drift_on_mean_intensity_contrast_and_predictions_and_digits_do_not()
    {
        TorchRuntime.SetThreads(1);
        var dir = _temp.Combine("digits");
        ImageTraining.Run(new ImageTrainingRequest
        {
            DataDir = SharedData.Mnist, Spec = ModelSpec.Mlp() with { Hidden = [64] }, Limit = 1000, OutputDirectory = dir, Name = "digits",
            Options = new TrainerOptions { Epochs = 1, BatchSize = 32, Augment = false, Threads = 1 },
            ReferenceWriter = BundleProfile.WriteImages,
        });
        var profile = BundleProfile.TryLoad(ModelBundle.Load(dir))!;
        Assert.Equal(ImageTraining.ReferenceImages, profile.Rows);
        var input = ModelBundle.Load(dir).Manifest.Signature.Inputs[0].Name;
        Assert.Equal([$"{input}.mean", $"{input}.std", "prediction", "prediction_confidence"], profile.Columns.Select(c => c.Name).ToArray());
        // MNIST digits are mostly black: about 13% mean intensity.
        Assert.InRange(profile.Column($"{input}.mean").Numeric!.Mean, 0.08, 0.2);

        var test = MnistFormat.Load(SharedData.Mnist, "test");
        float[] Row(int i, bool invert) => [.. test.GetImage(i).ToArray().Select(b => invert ? 1 - (b / 255f) : b / 255f)];
        await using var server = await RunningServer.StartAsync(new ServerOptions
        {
            Models = [ModelSource.FromBundle(dir)],
            Drift = new DriftServingOptions { WindowRows = Window, EvaluateEveryRows = 100, MinRows = 100, EvaluateEvery = null },
        });

        // Odd test images spread over the whole test set: the reference holds the even ones, so these are other digits
        // from the same writers (the first 5,000 MNIST test digits come from other writers than the last 5,000, so a
        // run of consecutive images would be a real shift).
        await SendAsync(server, Enumerable.Range(0, Window).Select(i => Row((24 * i) + 1, invert: false)));
        var like = await DriftAsync(server);
        Print("MNIST digits", like);
        Assert.False((bool)like["datasetDrift"]!, like.ToJsonString());
        Assert.False(Drifted(like, $"{input}.mean"), like.ToJsonString());
        Assert.False(Drifted(like, $"{input}.std"), like.ToJsonString());

        await SendAsync(server, Enumerable.Range(0, Window).Select(i => Row((24 * i) + 1, invert: true)));
        var inverted = await DriftAsync(server);
        Print("inverted digits", inverted);
        Assert.True((bool)inverted["datasetDrift"]!, inverted.ToJsonString());
        Assert.True(Drifted(inverted, $"{input}.mean"), inverted.ToJsonString());
        Assert.True((bool)inverted["predictionDrift"]!, inverted.ToJsonString());
        var metrics = await server.Client.GetStringAsync("/metrics");
        Assert.Equal(1, DriftServingTests.Metric(metrics, $"forge_feature_drifted{{model=\"digits\",version=\"1\",feature=\"{input}.mean\"}}"));
    }
}
