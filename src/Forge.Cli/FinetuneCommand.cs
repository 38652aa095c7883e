using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Forge.Core;
using Forge.Data;
using Forge.DeepLearning;
using Forge.DeepLearning.Transfer;
using Forge.Reporting;

namespace Forge.Cli;

/// <summary><c>forge finetune DATASET</c>: transfer learning from a pretrained backbone.</summary>
internal static class FinetuneCommand
{
    public static Command Create(TextWriter output, TextWriter error, bool terminal)
    {
        var dataset = new Argument<string>("dataset") { Description = "Catalog image dataset (e.g. plantvillage) or a folder with one sub-folder of JPEG/PNG images per class (and optionally a manifest.csv with path,label,split)" };
        var backbone = new Option<string>("--backbone") { Description = "Pretrained network: resnet18 (ImageNet ResNet18, shipped with Forge as ONNX and imported into TorchSharp)", DefaultValueFactory = _ => "resnet18" };
        var mode = new Option<string>("--mode") { Description = "fine-tune (warm up a new head, then train the last --unfreeze stages too), feature-extraction (frozen backbone, cached features, head only) or scratch (same network from random weights: the baseline)", DefaultValueFactory = _ => "fine-tune" };
        var unfreeze = new Option<int?>("--unfreeze") { Description = "Backbone stages trained in fine-tune mode, counted from the last (resnet18 has 5: stem, then one per resolution); default 4, all but the stem" };
        var epochs = new Option<int?>("--epochs") { Description = "Training epochs (fine-tune 8, scratch 6; feature-extraction: head epochs over the cached features, 60)" };
        var lr = new Option<double?>("--lr") { Description = "Peak learning rate of the head (and of every layer in scratch mode); defaults 1e-3 fine-tune, 3e-3 feature-extraction, 2e-3 scratch" };
        var lrMult = new Option<double?>("--backbone-lr-mult") { Description = "Backbone learning rate as a multiple of --lr in fine-tune mode (default 0.3)" };
        var batch = new Option<int?>("--batch-size") { Description = "Images per step (default 32)" };
        var views = new Option<int?>("--feature-views") { Description = "Augmented views per image whose features are cached in feature-extraction mode (default 4)" };
        var warmup = new Option<int?>("--head-warmup-epochs") { Description = "Head-only epochs on cached features before fine-tuning (default 30)" };
        var freezeBn = new Option<bool?>("--freeze-bn-stats") { Description = "Fine-tune mode: batch norms in the unfrozen stages keep their pretrained running statistics; their scale and shift still train (default true; false lets the statistics follow the new data)" };
        var augment = new Option<bool?>("--augment") { Description = "Random resized crops, flips, rotations and colour jitter on training images (default on)" };
        var flip = new Option<bool?>("--flip-averaging") { Description = "Predict each image as the mean of it and its mirror image (twice the inference cost; default on for fine-tune and feature extraction, off for scratch; --flip-averaging false turns it off)" };
        var imageSize = new Option<int?>("--image-size") { Description = "Network input side in pixels when predicting, and when training unless --progressive sets another (images are decoded at 256/224 of it and centre-cropped). Fine-tune's default trains at 224 and predicts at 256 (since 2026-12-07: cross-validation put prediction at 256 px 0.6 points ahead of 224 on the same models), at about 1.3 times the cost per served image; --image-size 224 trains and predicts at 224 (the earlier default), 160 trains in about half the time and scored 2.2 points lower in cross-validation. Other modes: 224" };
        var valFraction = new Option<double?>("--validation-fraction") { Description = "Share of training images held out to pick the best epoch and report validation accuracy (default 0.15; fine-tune 0: its defaults were chosen on a held-out part already, so it trains on every image)" };
        var mixup = new Option<double?>("--mixup") { Description = "Mixup α for end-to-end training: each batch is blended with a shuffled copy of itself by λ ~ Beta(α, α) and trained against the blended labels (default 0: off; e.g. 0.2)" };
        var cutmix = new Option<bool?>("--cutmix") { Description = "With --mixup α: CutMix instead of blending, a box of the partner image covering 1 − λ of the area pasted into each image (default off)" };
        var ema = new Option<double?>("--ema") { Description = "Decay of an exponential moving average of the weights, updated every end-to-end step; the model and its validation use the average after the last epoch (default 0: off; e.g. 0.999)" };
        var layerDecay = new Option<double?>("--layer-decay") { Description = "Layer-wise rate decay in (0, 1]: the last unfrozen stage trains at the backbone rate, each earlier one this factor slower (default 1: off; e.g. 0.7)" };
        var testCrops = new Option<int?>("--test-crops") { Description = "Views averaged per image when predicting, validation and serving alike: 1 (centre crop; the default for fine-tune and scratch) or 5 (centre and four corners of the decoded image, the default for feature extraction; 5× the inference cost, twice that with --flip-averaging)" };
        var progressive = new Option<int?>("--progressive") { Description = "Training side: every end-to-end epoch but the last --full-size-epochs trains on crops of this side, the rest (and prediction) at --image-size; a smaller side costs about (this/image-size)² as much per epoch (fine-tune default 224 with --image-size 256 and no full-size epochs; 0: train at --image-size; e.g. 160 with --image-size 224)" };
        var fullSizeEpochs = new Option<int?>("--full-size-epochs") { Description = "With --progressive: how many final end-to-end epochs train at the full --image-size (default 2 when --progressive is given; fine-tune's own default: 0)" };
        var seed = CommonOptions.Seed();
        var threads = CommonOptions.Threads();
        var limit = new Option<int?>("--limit") { Description = "Use only the first N training images per class (and N/4 test images per class), for quick runs" };
        var skipBad = new Option<bool>("--skip-bad-images") { Description = "Leave out images that cannot be decoded (each is reported) instead of stopping" };
        var outDir = CommonOptions.Out();
        var overwrite = CommonOptions.Overwrite();
        var dataDir = CommonOptions.DataDir();
        var name = CommonOptions.Name();
        var tracking = new TrackingOptions();
        var cmd = new Command("finetune", "Transfer learning: reuse a pretrained ImageNet backbone for a small labelled image dataset. Three modes share one code path, so you can see which wins on your data: fine-tune, feature-extraction and scratch. Writes a torch-image bundle that 'forge predict' and 'forge evaluate' use; the run is tracked unless --no-track.\n\nExamples:\n  forge finetune plantvillage --out models/plants\n  forge finetune plantvillage --mode feature-extraction --out models/plants-fe\n  forge finetune plantvillage --mode fine-tune --unfreeze 1 --epochs 4 --out models/plants-ft1\n  forge finetune ./my-photos --mode feature-extraction --out models/mine --skip-bad-images")
        {
            dataset, backbone, mode, unfreeze, epochs, lr, lrMult, batch, views, warmup, freezeBn, augment, flip, imageSize, valFraction, mixup, cutmix, ema, layerDecay, testCrops, progressive, fullSizeEpochs, seed, threads, limit, skipBad,
            outDir, overwrite, dataDir, name,
        };
        tracking.AddTo(cmd);
        cmd.SetAction(p =>
        {
            var ctx = new CliContext(output, error, p.GetValue(CliApp.JsonOption), terminal);
            return CliApp.Guard(ctx, () =>
            {
                var m = TransferOptions.ParseMode(p.GetValue(mode)!);
                var d = TransferOptions.For(m);
                var size = p.GetValue(imageSize) ?? d.ImageSize;
                if (size is < 32 or > 1024) throw new UsageException($"--image-size must be between 32 and 1024 (got {size})");
                var epochCount = p.GetValue(epochs) ?? d.Epochs;
                var (progressiveSize, fullSize) = TrainingSides(d, p.GetValue(imageSize), p.GetValue(progressive), p.GetValue(fullSizeEpochs), epochCount);
                var options = (d with
                {
                    Unfreeze = p.GetValue(unfreeze) ?? d.Unfreeze,
                    Epochs = epochCount,
                    LearningRate = p.GetValue(lr) ?? d.LearningRate,
                    BackboneLrMultiplier = p.GetValue(lrMult) ?? d.BackboneLrMultiplier,
                    BatchSize = p.GetValue(batch) ?? d.BatchSize,
                    FeatureViews = p.GetValue(views) ?? d.FeatureViews,
                    HeadWarmupEpochs = p.GetValue(warmup) ?? d.HeadWarmupEpochs,
                    FreezeBatchNormStatistics = p.GetValue(freezeBn) ?? d.FreezeBatchNormStatistics,
                    Augmentation = p.GetValue(augment) == false ? RgbAugmentation.None : d.Augmentation,
                    FlipAveraging = p.GetValue(flip) ?? d.FlipAveraging,
                    ValidationFraction = p.GetValue(valFraction) ?? d.ValidationFraction,
                    MixupAlpha = p.GetValue(mixup) ?? d.MixupAlpha,
                    CutMix = p.GetValue(cutmix) ?? d.CutMix,
                    EmaDecay = p.GetValue(ema) ?? d.EmaDecay,
                    LayerDecay = p.GetValue(layerDecay) ?? d.LayerDecay,
                    TestCrops = p.GetValue(testCrops) ?? d.TestCrops,
                    ProgressiveSize = progressiveSize,
                    FullSizeEpochs = fullSize,
                    Seed = p.GetValue(seed) ?? d.Seed,
                    Threads = p.GetValue(threads) ?? d.Threads,
                }).AtImageSize(size);
                if (options.FeatureViews < 0) throw new UsageException("--feature-views cannot be negative");
                if (options.ValidationFraction is < 0 or >= 1) throw new UsageException("--validation-fraction must be in [0, 1)");
                var request = new TransferRequest
                {
                    Dataset = p.GetValue(dataset)!,
                    DataDir = p.GetValue(dataDir),
                    Backbone = p.GetValue(backbone)!.ToLowerInvariant(),
                    Options = options,
                    OutputDirectory = Path.GetFullPath(p.GetValue(outDir)!),
                    Overwrite = p.GetValue(overwrite),
                    Name = p.GetValue(name),
                    BadImages = p.GetValue(skipBad) ? BadImagePolicy.Skip : BadImagePolicy.Fail,
                    LimitPerClass = p.GetValue(limit),
                };
                TransferTraining.Validate(request);
                using var observer = tracking.Observer(p, ctx);
                var result = Run(ctx, request with { Observer = observer });
                Report(ctx, request, result, observer.RunId);
                return 0;
            });
        });
        return cmd;
    }

    /// <summary>
    /// The training side (--progressive) and full-size epochs a run gets. The fine-tuning default trains at 224 px and predicts
    /// at 256; a chosen --image-size trains and predicts at that side unless --progressive sets a training side too, and
    /// --progressive alone finishes its last epochs at full size. The default full-size count never exceeds the run's epochs,
    /// so --progressive with --epochs 1 is still valid.
    /// </summary>
    internal static (int ProgressiveSize, int FullSizeEpochs) TrainingSides(TransferOptions defaults, int? imageSize, int? progressive, int? fullSizeEpochs, int epochs)
    {
        var progressiveSize = progressive ?? (imageSize is null ? defaults.ProgressiveSize : 0);
        var fullSize = fullSizeEpochs ?? Math.Min(progressive is null ? defaults.FullSizeEpochs : new TransferOptions().FullSizeEpochs, epochs);
        return (progressiveSize, fullSize);
    }

    private static TransferResult Run(CliContext ctx, TransferRequest request)
    {
        using var bar = ctx.Progress("finetune");
        using var cancel = new SignalCancellation();
        var inv = CultureInfo.InvariantCulture;
        var result = TransferTraining.Run(request with { ReferenceWriter = Forge.Monitoring.BundleProfile.WriteImages }, new BarProgress(bar), e =>
        {
            // Head epochs on cached features take milliseconds each; print every one only when they are real epochs.
            if (e.Seconds > 1 || e.Epoch % 10 == 0)
            {
                var val = e.ValidationAccuracy is { } v ? string.Create(inv, $", val acc {v * 100:F2}%") : "";
                bar.Line(string.Create(inv, $"epoch {e.Epoch}: loss {e.TrainLoss:F4}, train acc {e.TrainAccuracy * 100:F2}%{val}, lr {e.LearningRate:G3}, {e.Seconds:F1} s"));
            }
        }, (writer, model, report) =>
        {
            if (model.History.Count > 0)
                TrainingPlots.TrainingCurves(model.History, writer.PathFor("plots/training-curves.png"), $"{request.Dataset} {request.Backbone} {TransferOptions.ModeName(request.Options.Mode)}: training curves");
            TrainingPlots.ConfusionMatrix(report.ConfusionMatrix, report.Labels, writer.PathFor("plots/confusion-matrix.png"),
                $"{request.Dataset} {TransferOptions.ModeName(request.Options.Mode)}: test confusion matrix (accuracy {report.Accuracy * 100:F2}%)");
        }, cancel.Token);
        foreach (var s in result.Skipped) ctx.Err.WriteLine($"warning: skipped {s.Path}: {s.Reason}");
        return result;
    }

    private static void Report(CliContext ctx, TransferRequest request, TransferResult r, string? runId)
    {
        var mode = TransferOptions.ModeName(request.Options.Mode);
        if (ctx.Json)
        {
            ctx.WriteJson(new JsonObject
            {
                ["bundle"] = r.Bundle.Directory,
                ["runId"] = runId,
                ["dataset"] = request.Dataset,
                ["backbone"] = request.Backbone,
                ["mode"] = mode,
                ["unfreeze"] = request.Options.Mode == TransferMode.FineTune ? request.Options.Unfreeze : null,
                ["testAccuracy"] = r.Test.Accuracy,
                ["testMacroF1"] = r.Test.MacroF1,
                ["testLogLoss"] = r.Test.LogLoss,
                ["validationAccuracy"] = r.ValidationAccuracy,
                ["epochs"] = r.History.Count,
                ["trainSeconds"] = Math.Round(r.TrainSeconds, 3),
                ["totalSeconds"] = Math.Round(r.TotalSeconds, 3),
                ["trainImages"] = r.TrainImages,
                ["validationImages"] = r.ValidationImages,
                ["testImages"] = r.Test.Count,
                ["skippedImages"] = new JsonArray(r.Skipped.Select(s => (JsonNode)new JsonObject { ["path"] = s.Path, ["reason"] = s.Reason }).ToArray()),
                ["parameters"] = r.Parameters,
                ["trainableParameters"] = r.TrainableParameters,
                ["evaluateImagesPerSecond"] = Math.Round(r.ImagesPerSecond, 1),
            });
            return;
        }
        ctx.Say(string.Create(CultureInfo.InvariantCulture,
            $"{mode}: test accuracy {r.Test.Accuracy * 100:F2}% (macro-F1 {r.Test.MacroF1:F4}) on {r.Test.Count:N0} test images, {r.TrainSeconds:F0} s training"));
        ctx.Say($"bundle written to {r.Bundle.Directory}");
        if (runId is not null) ctx.Say($"tracked as run {runId} (forge runs show {TrackingCli.ShortId(runId)})");
    }

    private sealed class BarProgress(ProgressDisplay bar) : IProgress<TransferProgress>
    {
        public void Report(TransferProgress value) =>
            bar.Update(value.Done / (double)Math.Max(1, value.Total), $"{value.Phase} {value.Done}/{value.Total}");
    }
}
