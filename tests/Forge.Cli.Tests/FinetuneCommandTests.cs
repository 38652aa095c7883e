using Forge.Core;
using Forge.DeepLearning.Transfer;
using Forge.Tests.Shared;

namespace Forge.Cli.Tests;

/// <summary>forge finetune end to end on a few PlantVillage images at a small size, then predict and evaluate on its bundle.</summary>
public sealed class FinetuneCommandTests : IClassFixture<ForgeHomeFixture>, IDisposable
{
    private readonly TempDir _temp = new("forge-cli-finetune-");

    public void Dispose() => _temp.Dispose();

    [SharedDataFact("plantvillage-subset")]
    public void Feature_extraction_writes_a_bundle_that_predict_and_evaluate_use()
    {
        var bundle = _temp.Combine("plants");
        var train = Cli.Run("finetune", "plantvillage", "--mode", "feature-extraction", "--limit", "4", "--image-size", "64", "--feature-views", "1",
            "--epochs", "5", "--threads", "1", "--out", bundle, "--json", "--no-track");
        Assert.True(train.ExitCode == 0, train.ToString());
        var json = train.Json();
        Assert.Equal("feature-extraction", json.Text("mode"));
        Assert.InRange(json.Number("testAccuracy"), 0, 1);
        Assert.True(json.Number("trainSeconds") > 0);
        Assert.Equal(32, json.Number("trainImages") + json.Number("validationImages"));
        // The drift reference: each test image's mean intensity and contrast as served, and the model's answers on them.
        var input = ModelBundle.Load(bundle).Manifest.Signature.Inputs[0].Name;
        var profile = Forge.Monitoring.BundleProfile.TryLoad(ModelBundle.Load(bundle))!;
        Assert.Equal([$"{input}.mean", $"{input}.std", "prediction", "prediction_confidence"], profile.Columns.Select(c => c.Name).ToArray());
        Assert.InRange(profile.Column($"{input}.mean").Numeric!.Mean, 0.05, 0.95);

        var image = Directory.EnumerateFiles(Path.Combine(SharedData.Dir("plantvillage-subset"), "images", "Potato___healthy")).Order(StringComparer.Ordinal).First();
        var predict = Cli.Run("predict", bundle, image, "--json");
        Assert.True(predict.ExitCode == 0, predict.ToString());
        var p = predict.Json().GetProperty("predictions")[0];
        Assert.Equal(8, p.GetProperty("probabilities").EnumerateObject().Count());

        var evaluate = Cli.Run("evaluate", bundle, "--json");
        Assert.True(evaluate.ExitCode == 0, evaluate.ToString());
        Assert.Equal(240, evaluate.Json().Number("count"));
    }

    [Fact]
    public void The_recipe_flags_are_documented_and_bad_values_are_refused_naming_each_flag()
    {
        var help = Cli.Run("finetune", "--help");
        foreach (var flag in new[] { "--mixup", "--cutmix", "--ema", "--layer-decay", "--test-crops", "--progressive", "--full-size-epochs" }) Assert.Contains(flag, help.Out, StringComparison.Ordinal);
        var bad = Cli.Run("finetune", "plantvillage", "--mixup", "-0.5", "--ema", "1", "--layer-decay", "0", "--test-crops", "3", "--out", _temp.Combine("z"));
        Cli.AssertFailed(bad, "--mixup: must be 0 (off) or positive (got -0.5)");
        foreach (var part in new[] { "--ema: must be 0 (off) or in (0, 1) (got 1)", "--layer-decay: must be in (0, 1]", "--test-crops: must be 1" })
            Assert.Contains(part, bad.Err, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_temp.Path));
        // The progressive size must be below the input size; the flag is named as the user typed it.
        var big = Cli.Run("finetune", "plantvillage", "--image-size", "160", "--progressive", "160", "--out", _temp.Combine("p"));
        Cli.AssertFailed(big, "--progressive: must be 0 (off) or at least 32 and below the image size 160 (got 160)");
        Assert.Empty(Directory.EnumerateFileSystemEntries(_temp.Path));
    }

    [Fact]
    public void Fine_tune_trains_at_224_and_predicts_at_256_by_default_and_a_chosen_image_size_is_used_for_both()
    {
        var ft = TransferOptions.For(TransferMode.FineTune);
        Assert.Equal((224, 0), FinetuneCommand.TrainingSides(ft, null, null, null, 8));
        Assert.Equal(256, ft.ImageSize);
        // --image-size 224 alone is the earlier default: 224 throughout.
        Assert.Equal((0, 0), FinetuneCommand.TrainingSides(ft, 224, null, null, 8));
        // --progressive alone finishes its last two epochs at full size, never more than the run has.
        Assert.Equal((160, 2), FinetuneCommand.TrainingSides(ft, null, 160, null, 8));
        Assert.Equal((160, 1), FinetuneCommand.TrainingSides(ft, 224, 160, null, 1));
        Assert.Equal((160, 0), FinetuneCommand.TrainingSides(ft, 224, 160, 0, 8));
        Assert.Equal((224, 3), FinetuneCommand.TrainingSides(ft, null, null, 3, 8));
        // Feature extraction has no training side of its own.
        Assert.Equal((0, 2), FinetuneCommand.TrainingSides(TransferOptions.For(TransferMode.FeatureExtraction), null, null, null, 60));
    }

    [Fact]
    public void A_bad_mode_and_a_missing_folder_are_named()
    {
        var bad = Cli.Run("finetune", "plantvillage", "--mode", "finetuning", "--out", _temp.Combine("x"));
        Cli.AssertFailed(bad, "unknown mode 'finetuning'");
        var missing = Cli.Run("finetune", "plantvilage", "--out", _temp.Combine("y"));
        Cli.AssertFailed(missing, "did you mean 'plantvillage'?");
        Assert.Empty(Directory.EnumerateFileSystemEntries(_temp.Path));
    }
}
