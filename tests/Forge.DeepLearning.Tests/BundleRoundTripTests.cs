using Forge.Core;
using Forge.Tests.Shared;

namespace Forge.DeepLearning.Tests;

[Collection(TorchCollection.Name)]
public sealed class BundleRoundTripTests(TorchFixture mnist) : IDisposable
{
    private readonly TempDir _temp = new("forge-dl-bundle-");

    public void Dispose() => _temp.Dispose();

    [SharedDataFact]
    public void A_loaded_bundle_gives_exactly_the_probabilities_of_the_model_that_wrote_it()
    {
        // Batch norm (running statistics are buffers) and dropout (off at inference) both have to survive the trip.
        var spec = ModelSpec.Cnn() with { Channels = [8, 16] };
        using var model = new ImageClassifierTrainer(spec, new TrainerOptions { Epochs = 1, Augment = false, Threads = 1 }).Fit(mnist.Train(1000));
        var dir = _temp.Combine("bundle");

        using (var writer = ModelBundle.Create(dir))
        {
            var manifest = model.WriteTo(writer, "round-trip");
            manifest.Metrics["note"] = 1;
            writer.Commit(manifest);
        }
        using var loaded = ImageClassifier.Load(ModelBundle.Load(dir));

        Assert.Equal(model.Spec.ToJson().ToJsonString(), loaded.Spec.ToJson().ToJsonString());
        Assert.Equal(model.Normalization, loaded.Normalization);
        Assert.Equal(model.Signature, loaded.Signature);
        Assert.Equal(model.ParameterCount, loaded.ParameterCount);
        var test = mnist.Test(200);
        var expected = model.PredictProbabilities(test);
        var actual = loaded.PredictProbabilities(test);
        Assert.Equal(200 * 10, actual.Length);
        for (var i = 0; i < expected.Length; i++)
            Assert.True(expected[i] == actual[i], $"probability {i} (image {i / 10}, class {i % 10}): {expected[i]:R} in memory, {actual[i]:R} loaded");

        // The IPredictor path (rows of 0–1 floats) agrees with the image-set path.
        var rows = Enumerable.Range(0, test.Count).Select(i => test.GetImage(i).ToArray().Select(b => b / 255f).ToArray()).ToArray();
        var byRow = loaded.PredictRows(rows);
        for (var i = 0; i < rows.Length; i++)
        {
            for (var k = 0; k < 10; k++)
                Assert.True(Math.Abs(byRow[i][k] - actual[i * 10 + k]) <= 1e-6, $"image {i} class {k}: {byRow[i][k]:R} by row, {actual[i * 10 + k]:R} by set");
        }
    }

    [SharedDataFact]
    public void A_bundle_of_another_flavor_is_refused_naming_the_manifest()
    {
        var dir = _temp.Combine("other");
        using (var writer = ModelBundle.Create(dir))
        {
            File.WriteAllText(writer.PathFor("weights/model.onnx"), "not really");
            writer.Commit(new ModelManifest { Name = "x", Flavor = ModelFlavors.Onnx });
        }

        var ex = Assert.Throws<BundleException>(() => ImageClassifier.Load(ModelBundle.Load(dir)));

        Assert.Equal(Path.Combine(dir, ModelBundle.ManifestFileName), ex.Path);
        Assert.Contains("flavor 'onnx'", ex.Message, StringComparison.Ordinal);
    }
}
