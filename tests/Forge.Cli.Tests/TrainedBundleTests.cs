using System.Text.Json;
using Forge.Core;
using Forge.Data;
using Forge.Tests.Shared;

namespace Forge.Cli.Tests;

/// <summary>train → evaluate → predict on one bundle, and what happens when its files or the inputs are bad.</summary>
public sealed class TrainedBundleTests(ForgeHomeFixture home, TrainedBundleFixture trained)
    : IClassFixture<ForgeHomeFixture>, IClassFixture<TrainedBundleFixture>, IDisposable
{
    private readonly TempDir _temp = new("forge-cli-test-");

    public void Dispose() => _temp.Dispose();

    private string Bundle => trained.BundleDirectory;

    [SharedDataFact]
    public void Train_json_prints_one_object_and_writes_a_complete_bundle()
    {
        var result = trained.Train;

        Assert.True(result.ExitCode == 0, result.ToString());
        var json = result.Json();
        Assert.InRange(json.Number("testAccuracy"), double.Epsilon, 1);
        Assert.Equal(1, json.GetProperty("epochs").GetInt32());
        Assert.True(json.Number("trainSeconds") > 0, result.Out);
        Assert.Equal(Path.GetFullPath(Bundle), json.Text("bundle"));
        Assert.Equal(10_000, json.GetProperty("testImages").GetInt32());
        Assert.Equal(1500, json.GetProperty("trainImages").GetInt32() + json.GetProperty("validationImages").GetInt32());
        Assert.Equal(JsonValueKind.Null, json.GetProperty("gradientNorms").ValueKind);
        foreach (var file in new[] { "forge-model.json", "weights/model.dat", "plots/training-curves.png", "plots/confusion-matrix.png", "MODEL_CARD.md" })
            Assert.True(File.Exists(Path.Combine(Bundle, file)), $"{file} is missing from the bundle");
        var manifest = ModelBundle.Load(Bundle).Manifest;
        Assert.Equal(json.Number("testAccuracy"), manifest.Metrics["testAccuracy"]);
        Assert.Equal("mnist", manifest.Training!.Dataset);
        // Progress and the per-epoch line went to stderr; stdout held nothing but the JSON (parsed whole above).
        Assert.Contains("epoch 1/1: loss", result.Err, StringComparison.Ordinal);
        Assert.DoesNotContain("error", result.Err, StringComparison.OrdinalIgnoreCase);
        // The default checkpoint folder is removed after success, and no staging folder is left beside the bundle.
        Assert.Equal(["mnist-mlp"], Directory.EnumerateFileSystemEntries(Path.GetDirectoryName(Bundle)!).Select(Path.GetFileName));
    }

    [SharedDataFact]
    public void Train_with_gradient_diagnostics_reports_and_plots_them()
    {
        var bundle = _temp.Combine("diagnosed");

        var result = Cli.Run("train", "mnist", "--model", "mlp", "--hidden", "32,16", "--limit", "300", "--epochs", "1", "--threads", "1",
            "--diagnose-gradients", "--data-dir", SharedData.Mnist, "--out", bundle, "--json");

        Assert.True(result.ExitCode == 0, result.ToString());
        var epochs = result.Json().GetProperty("gradientNorms").EnumerateArray().ToArray();
        var norms = Assert.Single(epochs).EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetDouble());
        Assert.Equal(["fc1", "fc1_bn", "fc2", "fc2_bn", "head"], norms.Keys.Order(StringComparer.Ordinal));
        Assert.All(norms.Values, v => Assert.True(v > 0 && double.IsFinite(v), $"gradient norm {v}"));
        Assert.Contains("gradient norm per layer: ", result.Err, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(bundle, "plots", "gradient-norms.png")));
    }

    [SharedDataFact]
    public void Evaluate_reproduces_the_test_accuracy_of_training()
    {
        var trainJson = trained.Train.Json();

        var result = Cli.Run("evaluate", Bundle, "--data-dir", SharedData.Mnist, "--threads", "1", "--json");

        Assert.True(result.ExitCode == 0, result.ToString());
        var json = result.Json();
        Assert.Equal(trainJson.Number("testAccuracy"), json.Number("testAccuracy"));
        Assert.Equal(10_000, json.GetProperty("count").GetInt32());
        Assert.Equal("test", json.Text("split"));
        Assert.Equal(10, json.GetProperty("perClass").GetArrayLength());
        Assert.Equal(10_000, json.GetProperty("confusionMatrix").EnumerateArray().SelectMany(r => r.EnumerateArray()).Sum(v => v.GetInt32()));
    }

    [SharedDataFact]
    public void Predict_classifies_png_files_with_probabilities_that_sum_to_one()
    {
        _ = trained.Train;
        var test = MnistFormat.Load(SharedData.Mnist, "test");
        var files = new[] { _temp.Combine("a.png"), _temp.Combine("b.png") };
        for (var i = 0; i < files.Length; i++) DigitImage.SavePng(test.GetImage(i).ToArray(), 28, 28, files[i]);

        var result = Cli.Run("predict", Bundle, files[0], files[1], "--json");

        Assert.True(result.ExitCode == 0, result.ToString());
        var predictions = result.Json().GetProperty("predictions").EnumerateArray().ToArray();
        Assert.Equal(2, predictions.Length);
        for (var i = 0; i < predictions.Length; i++)
        {
            var p = predictions[i];
            Assert.Equal(files[i], p.Text("file"));
            var probabilities = p.GetProperty("probabilities").EnumerateObject().ToDictionary(q => q.Name, q => q.Value.GetDouble());
            Assert.Equal(["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"], probabilities.Keys);
            Assert.InRange(probabilities.Values.Sum(), 1 - 1e-4, 1 + 1e-4);
            Assert.All(probabilities.Values, v => Assert.InRange(v, 0, 1));
            Assert.Equal(probabilities.MaxBy(q => q.Value).Key, p.Text("label"));
        }
    }

    [SharedDataFact]
    public void Predict_refuses_a_text_file_named_png_and_prints_no_predictions()
    {
        _ = trained.Train;
        var good = _temp.Combine("good.png");
        DigitImage.SavePng(MnistFormat.Load(SharedData.Mnist, "test").GetImage(0).ToArray(), 28, 28, good);
        var fake = _temp.Combine("notes.png");
        File.WriteAllText(fake, "these are my notes, not a picture\n");

        var result = Cli.Run("predict", Bundle, good, fake);

        Cli.AssertFailed(result, fake, "not a PNG or JPEG");
        var json = Cli.Run("predict", Bundle, good, fake, "--json");
        Assert.NotEqual(0, json.ExitCode);
        Assert.Contains(fake, json.Json().Text("error"), StringComparison.Ordinal);
        Assert.False(json.Json().TryGetProperty("predictions", out _));
    }

    [SharedDataFact]
    public void Evaluate_refuses_a_bundle_whose_weights_were_altered()
    {
        _ = trained.Train;
        var copy = _temp.Combine("altered");
        Cli.CopyTree(Bundle, copy);
        var weights = Path.Combine(copy, "weights", "model.dat");
        var bytes = File.ReadAllBytes(weights);
        bytes[bytes.Length / 2] ^= 0x01;
        File.WriteAllBytes(weights, bytes);

        var result = Cli.Run("evaluate", copy, "--data-dir", SharedData.Mnist, "--threads", "1");

        Cli.AssertFailed(result, weights, "checksum mismatch");
        Assert.Contains("weights/model.dat", result.Err, StringComparison.Ordinal);
    }

    [SharedDataFact]
    public void Evaluate_refuses_a_bundle_with_a_file_missing()
    {
        _ = trained.Train;
        foreach (var relative in new[] { "weights/model.dat", "plots/confusion-matrix.png" })
        {
            var copy = _temp.Combine("missing-" + Path.GetFileNameWithoutExtension(relative));
            Cli.CopyTree(Bundle, copy);
            var path = Path.Combine(copy, relative);
            File.Delete(path);

            var result = Cli.Run("evaluate", copy, "--data-dir", SharedData.Mnist, "--threads", "1", "--json");

            Assert.NotEqual(0, result.ExitCode);
            var line = Assert.Single(result.ErrLines);
            Assert.StartsWith("error: ", line, StringComparison.Ordinal);
            Assert.Contains(path, line, StringComparison.Ordinal);
            Assert.Contains("missing", line, StringComparison.Ordinal);
            // With --json the failure is the one JSON object on stdout.
            Assert.Equal(line["error: ".Length..], result.Json().Text("error"));
        }
    }

    [SharedDataFact]
    public void Train_refuses_an_existing_out_directory_without_overwrite()
    {
        var existing = _temp.Combine("existing");
        Directory.CreateDirectory(existing);
        File.WriteAllText(Path.Combine(existing, "keep.txt"), "mine");

        var result = Cli.Run("train", "mnist", "--model", "mlp", "--limit", "200", "--epochs", "1", "--threads", "1",
            "--data-dir", SharedData.Mnist, "--out", existing);

        Cli.AssertFailed(result, existing, "already exists", "--overwrite");
        Assert.Equal(["keep.txt"], Directory.EnumerateFileSystemEntries(existing).Select(Path.GetFileName));
        Assert.Equal(["existing"], Directory.EnumerateFileSystemEntries(_temp.Path).Select(Path.GetFileName));
        Assert.Equal(home.Home, ForgePaths.Home);
    }
}
