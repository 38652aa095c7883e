using Forge.Core;
using Forge.Data;
using Forge.DeepLearning.Training;
using Forge.DeepLearning.Transfer;
using Forge.Tests.Shared;
using TorchSharp;
using static TorchSharp.torch;

namespace Forge.DeepLearning.Tests;

/// <summary>
/// The fine-tuning recipe options (mixup, a moving average of the weights, layer-wise rate decay, multi-crop prediction): each
/// checked against a hand computation on tiny inputs; accuracy is the cross-validation bench's business.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class TransferRecipeTests
{
    private static readonly Lazy<(RgbImageSet Train, RgbImageSet Test)> Images = new(Load);

    private static (RgbImageSet, RgbImageSet) Load() => PlantVillageSample.Load(trainPerClass: 3, testPerClass: 1);

    private static TransferOptions Small => TransferOptions.For(TransferMode.FineTune) with
    {
        Epochs = 1, HeadWarmupEpochs = 1, Unfreeze = 1, ImageSize = 64, StoreSize = 73, BatchSize = 8, ValidationFraction = 0.25, Seed = 5, ProgressiveSize = 0,
    };

    [Fact]
    public void Beta_draws_stay_in_0_1_and_have_the_distribution_s_mean_and_variance()
    {
        foreach (var (alpha, variance) in new[] { (0.2, 1 / (4 * 1.4)), (2.0, 1 / (4 * 5.0)) })
        {
            var rng = new Random(11);
            var draws = Enumerable.Range(0, 20_000).Select(_ => Mixup.Beta(alpha, alpha, rng)).ToArray();
            Assert.All(draws, d => Assert.InRange(d, 0, 1));
            var mean = draws.Average();
            // Standard errors at 20,000 draws are about 0.003 (mean) and 0.002 (variance): these bounds are 3-4 of them.
            Assert.InRange(mean, 0.49, 0.51);
            Assert.InRange(draws.Select(d => (d - mean) * (d - mean)).Average(), variance - 0.006, variance + 0.006);
        }
        var g = new Random(3);
        Assert.InRange(Enumerable.Range(0, 20_000).Select(_ => Mixup.Gamma(0.5, g)).Average(), 0.48, 0.52);
        Assert.InRange(Enumerable.Range(0, 20_000).Select(_ => Mixup.Gamma(3, g)).Average(), 2.95, 3.05);
    }

    [Fact]
    public void Mixup_blends_each_image_with_its_partner_by_lambda_against_blended_smoothed_targets_and_repeats_at_a_seed()
    {
        const int b = 6, classes = 4;
        var values = Enumerable.Range(0, b * 3 * 2 * 2).Select(i => (float)((i * 37) % 101)).ToArray();
        using var x = torch.tensor(values, [b, 3, 2, 2]);
        long[] labels = [0, 1, 2, 3, 0, 1];

        var (mixed, soft, lambda) = Mixup.Apply(x, labels, classes, 0.4, 0.1, new Random(9));
        var (again, softAgain, lambdaAgain) = Mixup.Apply(x, labels, classes, 0.4, 0.1, new Random(9));

        // The same draws, replayed by hand: λ first, then the partner shuffle.
        var rng = new Random(9);
        var expectedLambda = Mixup.Beta(0.4, 0.4, rng);
        var partner = Enumerable.Range(0, b).ToArray();
        rng.Shuffle(partner);
        Assert.Equal(expectedLambda, lambda);
        Assert.InRange(lambda, 0, 1);
        Assert.NotEqual(Enumerable.Range(0, b), partner);
        var m = mixed.data<float>().ToArray();
        var per = 12;
        for (var i = 0; i < b; i++)
            for (var k = 0; k < per; k++)
            {
                var expected = (float)lambda * values[(i * per) + k] + (float)(1 - lambda) * values[(partner[i] * per) + k];
                Assert.True(Math.Abs(m[(i * per) + k] - expected) < 1e-4, $"image {i} value {k}: {m[(i * per) + k]} vs {expected}");
            }
        var t = soft.data<float>().ToArray();
        for (var i = 0; i < b; i++)
            for (var c = 0; c < classes; c++)
            {
                var expected = (0.1 / classes) + (0.9 * ((labels[i] == c ? lambda : 0) + (labels[partner[i]] == c ? 1 - lambda : 0)));
                Assert.True(Math.Abs(t[(i * classes) + c] - expected) < 1e-6, $"target {i},{c}: {t[(i * classes) + c]} vs {expected}");
            }
        Assert.Equal(lambda, lambdaAgain);
        Assert.True(mixed.allclose(again, 0, 0));
        Assert.True(soft.allclose(softAgain, 0, 0));

        // Soft cross-entropy by hand: −Σ target · log softmax, averaged over rows.
        using var logits = torch.tensor(Enumerable.Range(0, b * classes).Select(i => (float)Math.Sin(i)).ToArray(), [b, classes]);
        var l = logits.data<float>().ToArray();
        double total = 0;
        for (var i = 0; i < b; i++)
        {
            var row = l.AsSpan(i * classes, classes).ToArray();
            var logZ = Math.Log(row.Sum(v => Math.Exp(v)));
            for (var c = 0; c < classes; c++) total -= t[(i * classes) + c] * (row[c] - logZ);
        }
        Assert.Equal(total / b, Mixup.SoftCrossEntropy(logits, soft).item<float>(), 5);
    }

    [Fact]
    public void CutMix_pastes_the_partner_s_box_and_lambda_becomes_the_share_of_the_area_kept()
    {
        const int b = 4, classes = 3, h = 8, w = 6;
        var values = Enumerable.Range(0, b * 3 * h * w).Select(i => (float)i).ToArray();
        using var x = torch.tensor(values, [b, 3, h, w]);
        long[] labels = [0, 1, 2, 0];

        var (mixed, soft, lambda) = Mixup.Apply(x, labels, classes, 1.0, 0, new Random(4), cutMix: true);

        var rng = new Random(4);
        var drawn = Mixup.Beta(1, 1, rng);
        var partner = Enumerable.Range(0, b).ToArray();
        rng.Shuffle(partner);
        var (top, bottom, left, right) = Mixup.CutBox(h, w, drawn, rng);
        var area = (bottom - top) * (right - left);
        Assert.InRange(area, 1, (h * w) - 1);
        Assert.Equal(1 - (area / (double)(h * w)), lambda, 12);
        var m = mixed.data<float>().ToArray();
        for (var i = 0; i < b; i++)
            for (var c = 0; c < 3; c++)
                for (var y = 0; y < h; y++)
                    for (var xx = 0; xx < w; xx++)
                    {
                        var inside = y >= top && y < bottom && xx >= left && xx < right;
                        var at = (((c * h) + y) * w) + xx;
                        Assert.Equal(values[((inside ? partner[i] : i) * 3 * h * w) + at], m[(i * 3 * h * w) + at]);
                    }
        var t = soft.data<float>().ToArray();
        for (var i = 0; i < b; i++)
            for (var k = 0; k < classes; k++)
            {
                var expected = (labels[i] == k ? lambda : 0) + (labels[partner[i]] == k ? 1 - lambda : 0);
                Assert.True(Math.Abs(t[(i * classes) + k] - expected) < 1e-6, $"target {i},{k}");
            }
        // An unclipped box covers 1 − λ of the area: λ = 0.75 on 8×8 is a 4×4 box.
        var (t2, b2, l2, r2) = Mixup.CutBox(8, 8, 0.75, new Random(1));
        Assert.True((b2 - t2) * (r2 - l2) <= 16);
        Assert.Contains(Enumerable.Range(0, 50).Select(s => Mixup.CutBox(8, 8, 0.75, new Random(s))), q => (q.Bottom - q.Top, q.Right - q.Left) == (4, 4));
    }

    [Fact]
    public void The_moving_average_follows_a_hand_computed_average_swaps_in_for_evaluation_and_stays_at_the_end()
    {
        using var module = nn.Sequential(("lin", nn.Linear(2, 2)), ("bn", nn.BatchNorm1d(2)));
        var live = module.parameters().Cast<Tensor>().Concat(module.buffers()).ToArray();
        var floating = live.Where(p => p.is_floating_point()).ToArray();
        using var average = new MovingAverage(module, 0.95);
        var expected = floating.Select(p => p.data<float>().ToArray()).ToList();
        var rng = new Random(2);
        for (var step = 0; step < 3; step++)
        {
            using (torch.no_grad())
            {
                foreach (var p in floating) p.copy_(torch.tensor(Enumerable.Range(0, (int)p.numel()).Select(_ => (float)rng.NextDouble()).ToArray()).reshape(p.shape));
            }
            average.Update();
            // Warm-up: step t decays by min(0.95, (1 + t)/(10 + t)): 0.1, 0.1818…, 0.25.
            var d = Math.Min(0.95, (1.0 + step) / (10.0 + step));
            Assert.Equal(d, MovingAverage.DecayAt(0.95, step));
            for (var j = 0; j < floating.Length; j++)
            {
                var now = floating[j].data<float>().ToArray();
                for (var k = 0; k < now.Length; k++) expected[j][k] = (float)((d * expected[j][k]) + ((1 - d) * now[k]));
            }
        }
        var averages = average.Averages.Where(a => a.is_floating_point()).Select(a => a.data<float>().ToArray()).ToList();
        var raw = floating.Select(p => p.data<float>().ToArray()).ToList();
        for (var j = 0; j < floating.Length; j++)
            for (var k = 0; k < raw[j].Length; k++) Assert.True(Math.Abs(averages[j][k] - expected[j][k]) < 1e-6, $"tensor {j} value {k}: {averages[j][k]} vs {expected[j][k]}");
        Assert.Contains(Enumerable.Range(0, floating.Length), j => !raw[j].SequenceEqual(averages[j]));

        var seen = average.WithAverage(() => floating.Select(p => p.data<float>().ToArray()).ToList());
        for (var j = 0; j < floating.Length; j++)
        {
            Assert.Equal(averages[j], seen[j]);
            Assert.Equal(raw[j], floating[j].data<float>().ToArray());
        }
        average.OnTrainEnd(new LoopState { Module = module });
        for (var j = 0; j < floating.Length; j++) Assert.Equal(averages[j], floating[j].data<float>().ToArray());
    }

    [Fact]
    public void Layer_decay_gives_the_head_the_full_rate_the_last_stage_the_backbone_rate_and_each_earlier_stage_less()
    {
        using var net = TransferNetwork.Create("resnet18", 8, 0);
        net.Freeze(3);
        var o = TransferOptions.For(TransferMode.FineTune) with { LearningRate = 1e-3, BackboneLrMultiplier = 0.3 };

        var plain = TransferTrainer.RateGroups(net, o);
        var decayed = TransferTrainer.RateGroups(net, o with { LayerDecay = 0.7 });

        Assert.Equal(2, plain.Count);
        Assert.Equal(1e-3, plain[0].Rate, 12);
        Assert.Equal(3e-4, plain[1].Rate, 12);
        var rates = decayed.Select(g => g.Rate).ToArray();
        double[] expected = [1e-3, 3e-4, 3e-4 * 0.7, 3e-4 * 0.49];
        Assert.Equal(expected.Length, rates.Length);
        for (var i = 0; i < expected.Length; i++) Assert.Equal(expected[i], rates[i], 12);
        var stages = net.Backbone.Stages;
        for (var i = 1; i < 4; i++) Assert.Equal(stages[^i].Parameters.Count, decayed[i].Parameters.Length);
        Assert.Equal(net.Head.parameters().Count(), decayed[0].Parameters.Length);
        // Every trained parameter is in exactly one group, and no frozen one is.
        var trainable = net.parameters().Count(p => p.requires_grad);
        Assert.Equal(trainable, decayed.Sum(g => g.Parameters.Length));
        Assert.Equal(trainable, decayed.SelectMany(g => g.Parameters).Distinct().Count());
        Assert.Equal(trainable, plain.Sum(g => g.Parameters.Length));
    }

    [SharedDataFact("plantvillage-subset")]
    public void Five_test_crops_average_the_centre_and_corner_crops_everywhere_and_one_crop_is_the_old_path()
    {
        var test = Images.Value.Test;
        var idx = Enumerable.Range(0, test.Count).ToArray();
        var o = Small with { FlipAveraging = true };
        var net = TransferNetwork.Create("resnet18", 8, 0);
        net.eval();
        using var model = new TransferClassifier(net, test.ClassNames, o with { TestCrops = 5 }, [], 0, 0, 0, null);
        float[] byHand;
        using (torch.no_grad())
        {
            using var one = TestViews.Probabilities(net, test, idx, o);
            using var old = net.Probabilities(RgbViews.Batch(test, idx, 64, RgbAugmentation.None, new Random(0)), flipAveraging: true);
            Assert.True(one.allclose(old, 0, 0), "one crop must be the centre-crop path exactly");
            // By hand: each crop cut from the stored bytes, its probabilities (with the mirror image's), then the mean.
            var sums = new double[test.Count * 8];
            (int, int)[] offsets = [(4, 4), (0, 0), (0, 9), (9, 0), (9, 9)];
            Assert.Equal(offsets, TestViews.Crops(73, 64, 5).Select(c => (c.Top, c.Left)));
            foreach (var (top, left) in offsets)
            {
                var crop = new float[test.Count * 3 * 64 * 64];
                for (var n = 0; n < test.Count; n++)
                    for (var c = 0; c < 3; c++)
                        for (var y = 0; y < 64; y++)
                            for (var x = 0; x < 64; x++)
                                crop[(((n * 3) + c) * 64 * 64) + (y * 64) + x] = test.Pixels[(n * 73 * 73 * 3) + ((((y + top) * 73) + x + left) * 3) + c];
                using var p = net.Probabilities(torch.tensor(crop, [test.Count, 3, 64, 64]), flipAveraging: true);
                var v = p.data<float>().ToArray();
                for (var i = 0; i < v.Length; i++) sums[i] += v[i] / 5;
            }
            byHand = [.. sums.Select(s => (float)s)];
        }
        var predicted = model.PredictProbabilities(test);
        var (report, _) = TransferTraining.Evaluate(model, test);
        var served = model.PredictRows([.. Enumerable.Range(0, test.Count).Select(i => model.EncodeImage(File.ReadAllBytes(test.Paths[i]), test.Paths[i]))]);
        Assert.Equal([-1, 3, 73, 73], model.Signature.Inputs[0].Shape);
        for (var i = 0; i < byHand.Length; i++)
        {
            Assert.True(Math.Abs(predicted[i] - byHand[i]) < 1e-5, $"probability {i}: {predicted[i]} vs {byHand[i]}");
            Assert.True(Math.Abs(served[i / 8][i % 8] - byHand[i]) < 1e-5, $"served probability {i}: {served[i / 8][i % 8]} vs {byHand[i]}");
        }
        var argmax = Enumerable.Range(0, test.Count).Select(n => Array.IndexOf(byHand, byHand.Skip(n * 8).Take(8).Max(), n * 8) - (n * 8)).ToArray();
        Assert.Equal(Enumerable.Range(0, test.Count).Count(n => argmax[n] == test.Labels[n]) / (double)test.Count, report.Accuracy, 12);

        using var dir = new TempDir();
        using (var writer = ModelBundle.Create(dir.Combine("bundle"))) writer.Commit(model.WriteTo(writer, "plants"));
        using var loaded = TransferClassifier.Load(ModelBundle.Load(dir.Combine("bundle")));
        Assert.Equal(5, loaded.Options.TestCrops);
        Assert.Equal(model.Signature.Inputs[0].Shape, loaded.Signature.Inputs[0].Shape);
        var reloaded = loaded.PredictProbabilities(test);
        for (var i = 0; i < byHand.Length; i++) Assert.True(Math.Abs(reloaded[i] - byHand[i]) < 1e-5, $"reloaded probability {i}");
    }

    [SharedDataFact("plantvillage-subset")]
    public void Fine_tuning_with_mixup_a_moving_average_and_layer_decay_repeats_at_a_seed_and_mixup_or_cutmix_changes_the_result()
    {
        var train = Images.Value.Train;
        var o = Small with { MixupAlpha = 0.4, EmaDecay = 0.99, LayerDecay = 0.7, Unfreeze = 2 };
        float[] HeadWeights(TransferClassifier m) => m.Network.Head.weight!.data<float>().ToArray();
        using var a = new TransferTrainer(o).Train(train);
        using var b = new TransferTrainer(o).Train(train);
        using var plain = new TransferTrainer(o with { MixupAlpha = 0 }).Train(train);

        Assert.Equal(HeadWeights(a), HeadWeights(b));
        Assert.NotEqual(HeadWeights(a), HeadWeights(plain));
        using var cut = new TransferTrainer(o with { CutMix = true }).Train(train);
        Assert.NotEqual(HeadWeights(a), HeadWeights(cut));
        Assert.All(cut.History, h => Assert.True(double.IsFinite(h.TrainLoss)));
        Assert.All(a.History, h => Assert.True(double.IsFinite(h.TrainLoss)));
        // With the moving average on, the model is the last epoch's average, so the score reported is that epoch's.
        Assert.Equal(a.History[^1].ValidationAccuracy, a.ValidationAccuracy);
    }

    [Fact]
    public void Progressive_resizing_trains_the_early_epochs_small_and_the_last_ones_at_full_size()
    {
        var o = new TransferOptions { Epochs = 8, ProgressiveSize = 160, FullSizeEpochs = 2 }.AtImageSize(224);
        Assert.Equal([160, 160, 160, 160, 160, 160, 224, 224], Enumerable.Range(0, 8).Select(o.TrainSizeAt));
        Assert.All(Enumerable.Range(0, 8), e => Assert.Equal(160, (o with { FullSizeEpochs = 0 }).TrainSizeAt(e)));
        Assert.All(Enumerable.Range(0, 8), e => Assert.Equal(224, (o with { ProgressiveSize = 0 }).TrainSizeAt(e)));
        Assert.Equal([160, 224, 224, 224, 224, 224, 224, 224], Enumerable.Range(0, 8).Select((o with { FullSizeEpochs = 7 }).TrainSizeAt));
    }

    [SharedDataFact("plantvillage-subset")]
    public void A_progressive_run_differs_from_a_full_size_one_only_through_its_small_epochs()
    {
        var train = Images.Value.Train;
        var o = Small with { Epochs = 2 };
        float[] HeadWeights(TransferClassifier m) => m.Network.Head.weight!.data<float>().ToArray();
        using var plain = new TransferTrainer(o).Train(train);
        // Every epoch at full size is the plain run, step for step; one small epoch changes it.
        using var allFull = new TransferTrainer(o with { ProgressiveSize = 48, FullSizeEpochs = 2 }).Train(train);
        using var oneSmall = new TransferTrainer(o with { ProgressiveSize = 48, FullSizeEpochs = 1 }).Train(train);
        Assert.Equal(HeadWeights(plain), HeadWeights(allFull));
        Assert.NotEqual(HeadWeights(plain), HeadWeights(oneSmall));
        Assert.All(oneSmall.History, h => Assert.True(double.IsFinite(h.TrainLoss)));
    }

    [Fact]
    public void Bad_recipe_values_are_refused_each_naming_its_option()
    {
        var o = new TransferOptions { MixupAlpha = -0.1, EmaDecay = 1, LayerDecay = 0, TestCrops = 3 };
        var ex = Assert.Throws<OptionsException>(o.Validate);
        Assert.Equal(["mixupAlpha", "emaDecay", "layerDecay", "testCrops"], ex.Problems.Select(p => p.Option));
        Assert.Contains("5 (centre and four corners) (got 3)", ex.Message, StringComparison.Ordinal);
        Assert.Equal("cutMix", Assert.Single(new TransferOptions { CutMix = true }.FindProblems()).Option);
        Assert.Empty((new TransferOptions { MixupAlpha = 1, CutMix = true }).FindProblems());
        Assert.Empty((new TransferOptions { MixupAlpha = 0.2, EmaDecay = 0.999, LayerDecay = 0.7, TestCrops = 5 }).FindProblems());
        Assert.Empty(TransferOptions.For(TransferMode.FineTune).FindProblems());
        var progressive = new TransferOptions { ImageSize = 224, ProgressiveSize = 224, FullSizeEpochs = 7, Epochs = 6 };
        Assert.Equal(["progressiveSize", "fullSizeEpochs"], progressive.FindProblems().Select(p => p.Option));
        Assert.Equal("progressiveSize", Assert.Single((progressive with { ProgressiveSize = 31, FullSizeEpochs = 6 }).FindProblems()).Option);
        Assert.Equal("fullSizeEpochs", Assert.Single((progressive with { ProgressiveSize = 32, FullSizeEpochs = -1 }).FindProblems()).Option);
        Assert.Empty((progressive with { ProgressiveSize = 223, FullSizeEpochs = 0 }).FindProblems());
        Assert.Empty((progressive with { ProgressiveSize = 0 }).FindProblems());
        var defaults = TransferOptions.For(TransferMode.FineTune);
        Assert.Equal((0.0, 0.0, 1.0, 1), (defaults.MixupAlpha, defaults.EmaDecay, defaults.LayerDecay, defaults.TestCrops));
    }
}
