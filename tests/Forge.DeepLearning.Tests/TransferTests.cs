using Forge.Core;
using Forge.Data;
using Forge.DeepLearning.Transfer;
using Forge.Tests.Shared;
using TorchSharp;
using static TorchSharp.torch;

namespace Forge.DeepLearning.Tests;

/// <summary>
/// Transfer learning on a few PlantVillage images at a small input size: what each mode trains, and the bundle round trip.
/// Accuracy is the bench's business (bench/run-transfer.sh); here the mechanics must hold.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class TransferTests
{
    private static readonly Lazy<(RgbImageSet Train, RgbImageSet Test)> Images = new(Load);

    private static TransferOptions Small(TransferMode mode) => TransferOptions.For(mode) with
    {
        Epochs = mode == TransferMode.FeatureExtraction ? 5 : 1,
        HeadWarmupEpochs = 3,
        Unfreeze = 1,
        ImageSize = 64,
        StoreSize = 73,
        BatchSize = 8,
        FeatureViews = 1,
        ValidationFraction = 0.25,
        Seed = 3,
        ProgressiveSize = 0,
    };

    private static (RgbImageSet, RgbImageSet) Load() => PlantVillageSample.Load(trainPerClass: 4, testPerClass: 1);

    /// <summary>Each backbone stage's parameters and batch-norm statistics, as plain arrays.</summary>
    private static List<float[][]> StageState(TransferNetwork net) =>
        [.. net.Backbone.Stages.Select(s => s.Parameters.Select(p => p.detach().cpu().data<float>().ToArray()).ToArray())];

    private static bool Same(float[][] a, float[][] b) => a.Length == b.Length && a.Zip(b).All(x => x.First.AsSpan().SequenceEqual(x.Second));

    [SharedDataFact("plantvillage-subset")]
    public void Fine_tuning_the_last_stage_leaves_every_frozen_stage_and_its_batch_norm_statistics_untouched()
    {
        using var pretrained = TransferNetwork.Create("resnet18", 8, 0);
        var before = StageState(pretrained);
        using var model = new TransferTrainer(Small(TransferMode.FineTune) with { FreezeBatchNormStatistics = false }).Train(Images.Value.Train);
        var after = StageState(model.Network);

        Assert.Equal(5, before.Count);
        for (var s = 0; s < 4; s++) Assert.True(Same(before[s], after[s]), $"frozen stage {s} changed");
        Assert.False(Same(before[4], after[4]), "the unfrozen last stage did not train");
        // Running statistics of frozen stages stay as pretrained: frozen batch norms run in eval mode; the last stage's move.
        var meansBefore = RunningMeans(pretrained);
        var meansAfter = RunningMeans(model.Network);
        for (var s = 0; s < 5; s++)
        {
            Assert.NotEmpty(meansBefore[s]);
            Assert.Equal(s < 4, Same(meansBefore[s], meansAfter[s]));
        }
    }

    [SharedDataFact("plantvillage-subset")]
    public void By_default_fine_tuning_keeps_every_batch_norm_statistic_while_the_unfrozen_weights_train()
    {
        using var pretrained = TransferNetwork.Create("resnet18", 8, 0);
        using var model = new TransferTrainer(Small(TransferMode.FineTune)).Train(Images.Value.Train);
        Assert.True(model.Options.FreezeBatchNormStatistics);
        var meansBefore = RunningMeans(pretrained);
        var meansAfter = RunningMeans(model.Network);
        for (var s = 0; s < 5; s++) Assert.True(Same(meansBefore[s], meansAfter[s]), $"stage {s} statistics moved");
        Assert.False(Same(StageState(pretrained)[4], StageState(model.Network)[4]), "the unfrozen last stage did not train");
        // The score reported is that of the network returned, the best fine-tuning epoch, never a head warm-up epoch's.
        var options = model.Options;
        Assert.Equal(options.HeadWarmupEpochs + options.Epochs, model.History.Count);
        Assert.Equal(model.History.Skip(options.HeadWarmupEpochs).Max(h => h.ValidationAccuracy), model.ValidationAccuracy);
    }

    private static List<float[][]> RunningMeans(TransferNetwork net) =>
        [.. net.Backbone.Stages.Select(s => s.Modules.Select(m => m.Module).OfType<TorchSharp.Modules.BatchNorm2d>()
            .Select(bn => bn.running_mean!.data<float>().ToArray()).ToArray())];

    [SharedDataFact("plantvillage-subset")]
    public void Feature_extraction_trains_only_the_head_and_scratch_starts_from_other_weights()
    {
        using var pretrained = TransferNetwork.Create("resnet18", 8, 0);
        var before = StageState(pretrained);
        using (var fe = new TransferTrainer(Small(TransferMode.FeatureExtraction)).Train(Images.Value.Train))
        {
            var after = StageState(fe.Network);
            for (var s = 0; s < 5; s++) Assert.True(Same(before[s], after[s]), $"stage {s} changed in feature extraction");
            Assert.Equal(5, fe.History.Count);
        }
        using var scratch = new TransferTrainer(Small(TransferMode.Scratch)).Train(Images.Value.Train);
        var fresh = StageState(scratch.Network);
        Assert.False(Same(before[0], fresh[0]), "scratch mode kept the pretrained stem");
        // Fresh batch-norm statistics must follow the data at the usual rate, not the pretrained graph's slow one.
        Assert.All(scratch.Network.Backbone.Stages.SelectMany(s => s.Modules).Select(m => m.Module).OfType<TorchSharp.Modules.BatchNorm2d>(),
            bn => Assert.Equal(0.1, bn.momentum));
    }

    [SharedDataFact("plantvillage-subset")]
    public void A_transfer_bundle_loads_back_and_predicts_the_same_probabilities()
    {
        var (train, test) = Images.Value;
        using var model = new TransferTrainer(Small(TransferMode.FeatureExtraction)).Train(train);
        using var dir = new TempDir();
        var expected = model.PredictProbabilities(test);
        using (var writer = ModelBundle.Create(dir.Combine("bundle")))
        {
            var manifest = model.WriteTo(writer, "plants");
            writer.Commit(manifest);
        }
        var bundle = ModelBundle.Load(dir.Combine("bundle"));
        Assert.True(TransferClassifier.IsTransfer(bundle));
        Assert.Equal("torch-image", bundle.Manifest.Flavor);
        using var loaded = TransferClassifier.Load(bundle);
        var actual = loaded.PredictProbabilities(test);
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++) Assert.True(Math.Abs(expected[i] - actual[i]) < 1e-5, $"probability {i}: {expected[i]} vs {actual[i]}");
        // From files, decoded the same way as training did.
        var fromFiles = loaded.PredictFiles([test.Paths[0]]);
        for (var k = 0; k < 8; k++) Assert.True(Math.Abs(fromFiles[0][k] - expected[k]) < 1e-5);
    }

    [SharedDataFact("plantvillage-subset")]
    public void With_flip_averaging_a_mirrored_image_gets_the_same_probabilities_and_the_bundle_keeps_the_setting()
    {
        var (train, test) = Images.Value;
        // One crop, so the served row is the centre crop this test mirrors (feature extraction's default averages 5 crops).
        var oneCrop = Small(TransferMode.FeatureExtraction) with { TestCrops = 1 };
        using var model = new TransferTrainer(oneCrop with { FlipAveraging = true }).Train(train);
        var s = model.Options.ImageSize;
        var row = model.EncodeImage(File.ReadAllBytes(test.Paths[0]), test.Paths[0]);
        var mirrored = new float[row.Length];
        for (var c = 0; c < 3; c++)
            for (var y = 0; y < s; y++)
                for (var x = 0; x < s; x++) mirrored[(c * s * s) + (y * s) + x] = row[(c * s * s) + (y * s) + (s - 1 - x)];

        var both = model.PredictRows([row, mirrored]);

        Assert.Equal(both[0], both[1]);
        using var plain = new TransferTrainer(oneCrop with { FlipAveraging = false }).Train(train);
        var unaveraged = plain.PredictRows([row, mirrored]);
        Assert.NotEqual(unaveraged[0], unaveraged[1]);
        using var dir = new TempDir();
        using (var writer = ModelBundle.Create(dir.Combine("bundle"))) writer.Commit(model.WriteTo(writer, "plants"));
        using var loaded = TransferClassifier.Load(ModelBundle.Load(dir.Combine("bundle")));
        Assert.True(loaded.Options.FlipAveraging);
        var again = loaded.PredictRows([row]);
        for (var k = 0; k < 8; k++) Assert.True(Math.Abs(again[0][k] - both[0][k]) < 1e-5);
    }

    [Fact]
    public void Every_input_size_decodes_at_256_224_of_it_and_the_fine_tune_default_is_224_px_throughout()
    {
        var o = new TransferOptions();
        Assert.Equal((224, 256), (o.AtImageSize(224).ImageSize, o.AtImageSize(224).StoreSize));
        Assert.Equal(183, o.AtImageSize(160).StoreSize);
        Assert.Equal(219, o.AtImageSize(192).StoreSize);
        Assert.Equal(73, o.AtImageSize(64).StoreSize);
        var ft = TransferOptions.For(TransferMode.FineTune);
        // Fine-tune trains at 224 px and predicts at 256 (images decoded at 293), chosen by cross-validation on 2026-12-07.
        Assert.Equal((256, 293), (ft.ImageSize, ft.StoreSize));
        Assert.All(Enumerable.Range(0, ft.Epochs), e => Assert.Equal(224, ft.TrainSizeAt(e)));
        // Feature extraction predicts with 5 crops and their mirror images (chosen by cross-validation on 2026-12-07).
        var fe = TransferOptions.For(TransferMode.FeatureExtraction);
        Assert.Equal((true, 5, 224), (fe.FlipAveraging, fe.TestCrops, fe.ImageSize));
    }

    [Fact]
    public void The_evaluation_view_is_the_centre_crop_and_augmented_views_follow_the_seed()
    {
        var size = 10;
        var pixels = new byte[size * size * 3];
        for (var i = 0; i < pixels.Length; i++) pixels[i] = (byte)(i % 251);
        var set = new RgbImageSet(pixels, [0], size, ["a"], ["x"]);
        using var centre = RgbViews.Batch(set, [0], 8, RgbAugmentation.None, new Random(1));
        Assert.Equal([1L, 3, 8, 8], centre.shape);
        // The centre 8×8 crop of a 10×10 image starts at pixel (1, 1): red channel of that pixel.
        Assert.Equal(pixels[((1 * size) + 1) * 3], centre[0, 0, 0, 0].item<float>(), 3);
        using var a = RgbViews.Batch(set, [0], 8, new RgbAugmentation(), new Random(7));
        using var b = RgbViews.Batch(set, [0], 8, new RgbAugmentation(), new Random(7));
        using var c = RgbViews.Batch(set, [0], 8, new RgbAugmentation(), new Random(8));
        Assert.True(a.allclose(b, 0, 0));
        Assert.False(a.allclose(c, 0, 0));
        Assert.InRange(a.min().item<float>(), 0, 255);
        Assert.InRange(a.max().item<float>(), 0, 255);
    }

    [Fact]
    public void Quarter_turns_give_the_same_view_turned_by_0_90_180_or_270_degrees_each_drawn_over_seeds()
    {
        var size = 12;
        var pixels = new byte[size * size * 3];
        for (var i = 0; i < pixels.Length; i++) pixels[i] = (byte)((i * 37) % 251);
        var set = new RgbImageSet(pixels, [0], size, ["a"], ["x"]);
        // No jitter: its factors are drawn after the geometry, so they would move with the extra draw.
        var plain = new RgbAugmentation { ColorJitter = 0 };
        var turned = plain with { QuarterTurns = true };
        var seen = new HashSet<int>();
        for (var seed = 0; seed < 40; seed++)
        {
            using var p = RgbViews.Batch(set, [0], 8, plain, new Random(seed));
            using var t = RgbViews.Batch(set, [0], 8, turned, new Random(seed));
            // A quarter turn of the output grid maps pixel centres onto pixel centres, so the turned view is the plain one turned.
            var matches = Enumerable.Range(0, 4).Where(k =>
            {
                using var r = p.rot90(k, (2, 3));
                return t.allclose(r, rtol: 0, atol: 1e-2);
            }).ToList();
            Assert.True(matches.Count == 1, $"seed {seed}: the turned view matches {matches.Count} quarter turns of the plain one");
            seen.Add(matches[0]);
        }
        Assert.Equal([0, 1, 2, 3], seen.Order());
        Assert.False(new RgbAugmentation().QuarterTurns);
    }

    [Fact]
    public void Mode_names_round_trip_and_a_bad_one_is_a_usage_error()
    {
        foreach (var m in Enum.GetValues<TransferMode>()) Assert.Equal(m, TransferOptions.ParseMode(TransferOptions.ModeName(m)));
        Assert.Throws<UsageException>(() => TransferOptions.ParseMode("finetuning"));
    }
}
