using System.CommandLine;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using Forge.Core;
using Forge.Data;
using Forge.DeepLearning;
using Forge.Reporting;
using Forge.Text;

namespace Forge.Cli;

/// <summary><c>forge train DATASET</c>: trains a model and writes a bundle.</summary>
internal static class TrainCommand
{
    public static Command Create(TextWriter output, TextWriter error, bool terminal)
    {
        var dataset = new Argument<string>("dataset") { Description = "Catalog dataset to train on (see 'forge datasets list'): an image set (mnist, fashion-mnist) or a text set (sentiment, airline-tweets)" };
        var model = new Option<string>("--model") { Description = "Architecture: cnn (Forge's default recipe), mlp, or reference-cnn (the pytorch/examples network)", DefaultValueFactory = _ => "cnn" };
        var outDir = CommonOptions.Out();
        var overwrite = CommonOptions.Overwrite();
        var epochs = new Option<int?>("--epochs") { Description = "Passes over the training images (recipe default: cnn 8, mlp 12, reference-cnn 3)" };
        var batch = new Option<int?>("--batch-size") { Description = "Images per step (cnn 64, mlp 128, reference-cnn 64)" };
        var lr = new Option<double?>("--lr") { Description = "Learning rate; the peak rate for the one-cycle schedule" };
        var optimizer = new Option<string?>("--optimizer") { Description = "sgd, adam, adamw or adadelta" };
        var schedule = new Option<string?>("--schedule") { Description = "none, step, cosine, onecycle or plateau" };
        var momentum = new Option<double?>("--momentum") { Description = "SGD momentum (default 0.9)" };
        var nesterov = new Option<bool>("--nesterov") { Description = "Nesterov momentum for SGD" };
        var weightDecay = new Option<double?>("--weight-decay") { Description = "L2 penalty (decoupled for adamw)" };
        var clip = new Option<double?>("--clip-grad") { Description = "Clip the global gradient norm to this value" };
        var early = new Option<int?>("--early-stopping") { Description = "Stop after N epochs without validation improvement and keep the best weights" };
        var valFraction = new Option<double?>("--validation-fraction") { Description = "Share of training images held out for validation (default 1/12; 0 for reference-cnn)" };
        var seed = CommonOptions.Seed("Random seed (default 1; text: the train/test split and CV folds, default 0)");
        var threads = CommonOptions.Threads();
        var limit = new Option<int?>("--limit") { Description = "Train on the first N training images only (the test set is always whole); text: a stratified sample of N texts before the 80/20 split" };
        var include = new Option<string[]>("--include") { Description = "Text: another dataset to train on with sentiment (airline-tweets, neutral tweets dropped); repeatable", AllowMultipleArgumentsPerToken = false };
        var baseline = new Option<bool>("--baseline") { Description = "Text: train the TF-IDF + logistic-regression baseline instead of the MiniLM sentence-encoder model" };
        var augment = new Option<bool?>("--augment") { Description = "Random shifts and rotations of training images (default on for cnn/mlp)" };
        var hidden = new Option<string?>("--hidden") { Description = "Hidden layer widths, comma-separated, e.g. 512,256" };
        var channels = new Option<string?>("--channels") { Description = "CNN block channels, comma-separated, e.g. 32,64,128" };
        var activation = new Option<string?>("--activation") { Description = "relu, gelu, tanh or sigmoid" };
        var batchNorm = new Option<bool?>("--batch-norm") { Description = "Batch normalisation after each layer" };
        var dropout = new Option<double?>("--dropout") { Description = "Dropout probability" };
        var diagnose = new Option<bool>("--diagnose-gradients") { Description = "Record per-layer gradient norms each epoch (printed, and plotted into the bundle)" };
        var checkpointDir = new Option<string?>("--checkpoint-dir") { Description = "Where per-epoch checkpoints go (default: OUT.checkpoint, removed after success)" };
        var resume = new Option<bool>("--resume") { Description = "Continue an interrupted run from its last checkpoint" };
        var dataDir = CommonOptions.DataDir();
        var name = CommonOptions.Name();
        var tracking = new TrackingOptions();

        var cmd = new Command("train", "Train a model on a catalog dataset and write a bundle (weights, manifest, metrics, plots, model card). The run is logged to the tracking store (params, per-epoch metrics, the bundle as artifact \"model\") unless --no-track is given.\n\nExamples:\n  forge train mnist --out models/mnist-cnn\n  forge train sentiment --include airline-tweets --out models/support-sentiment\n  forge train sentiment --baseline --out models/sentiment-tfidf\n  forge train airline-tweets --out models/airline-3class\n  forge train mnist --model mlp --epochs 10 --out models/mnist-mlp --experiment mnist --run-name mlp-10\n  forge train mnist --epochs 1 --limit 12000 --out /tmp/quick --no-track\n  forge runs list --experiment mnist           # then look at what was logged")
        {
            dataset, model, outDir, overwrite, epochs, batch, lr, optimizer, schedule, momentum, nesterov, weightDecay, clip, early,
            valFraction, seed, threads, limit, augment, hidden, channels, activation, batchNorm, dropout, diagnose, checkpointDir, resume,
            dataDir, name, include, baseline,
        };
        tracking.AddTo(cmd);
        TabularCli.AddTrainOptions(cmd);
        RecurrentCli.AddTrainOptions(cmd);
        ForecastCli.AddTrainOptions(cmd);
        cmd.SetAction(p =>
        {
            var ctx = new CliContext(output, error, p.GetValue(CliApp.JsonOption), terminal);
            return CliApp.Guard(ctx, () =>
            {
                var datasetName = p.GetValue(dataset)!;
                if (RecurrentCli.IsAddingProblem(datasetName)) return RecurrentCli.TrainAddingProblem(ctx, p, tracking);
                if (ForecastCli.IsForecast(p, datasetName)) return ForecastCli.Train(ctx, p, tracking);
                ForecastCli.RefuseOptions(p, datasetName);
                if (RecurrentCli.IsRecurrentText(p, datasetName)) return RecurrentCli.TrainText(ctx, p, tracking);
                RecurrentCli.RefuseOptions(p, datasetName);
                if (TabularCli.IsTabularDataset(datasetName)) return TabularCli.Train(ctx, p, tracking);
                TabularCli.RefuseTabularOptions(p, datasetName);
                var text = TextTrainingCli.IsTextDataset(datasetName);
                TextTrainingCli.CheckOptions(p, text,
                    [model, epochs, batch, lr, optimizer, schedule, momentum, nesterov, weightDecay, clip, early, valFraction, augment,
                        hidden, channels, activation, batchNorm, dropout, diagnose, checkpointDir, resume],
                    [include, baseline]);
                if (text)
                {
                    return TextTrainingCli.Run(ctx, p, new SentimentTrainingRequest
                    {
                        Dataset = datasetName.Trim().ToLowerInvariant(),
                        Include = [.. (p.GetValue(include) ?? []).Select(i => i.Trim().ToLowerInvariant())],
                        Baseline = p.GetValue(baseline),
                        Seed = p.GetValue(seed) ?? 0,
                        Limit = p.GetValue(limit),
                        TrainShare = RecurrentCli.TrainShare(p),
                        DataDir = p.GetValue(dataDir),
                        OutputDirectory = p.GetValue(outDir)!,
                        Overwrite = p.GetValue(overwrite),
                        Name = p.GetValue(name),
                    }, p.GetValue(threads), tracking);
                }
                var modelName = p.GetValue(model)!.ToLowerInvariant();
                var spec = ModelSpec.FromName(modelName);
                spec = spec with
                {
                    Hidden = ParseInts(p.GetValue(hidden), "--hidden") ?? spec.Hidden,
                    Channels = ParseInts(p.GetValue(channels), "--channels") ?? spec.Channels,
                    Activation = p.GetValue(activation) ?? spec.Activation,
                    BatchNorm = p.GetValue(batchNorm) ?? spec.BatchNorm,
                    Dropout = p.GetValue(dropout) ?? spec.Dropout,
                };
                if (modelName == "reference-cnn" && (p.GetValue(hidden) ?? p.GetValue(channels) ?? p.GetValue(activation)) is not null)
                    throw new UsageException("reference-cnn is a fixed architecture; use --model cnn or mlp to change layers");
                var recipe = Recipes.For(modelName);
                var outPath = Path.GetFullPath(p.GetValue(outDir)!);
                var explicitCheckpoint = p.GetValue(checkpointDir);
                var valueProblems = new List<OptionProblem>();
                var options = recipe with
                {
                    Epochs = p.GetValue(epochs) ?? recipe.Epochs,
                    BatchSize = p.GetValue(batch) ?? recipe.BatchSize,
                    LearningRate = p.GetValue(lr) ?? recipe.LearningRate,
                    Optimizer = CliFlags.Parse(p.GetValue(optimizer), "optimizer", recipe.Optimizer, valueProblems),
                    Schedule = CliFlags.Parse(p.GetValue(schedule), "schedule", recipe.Schedule, valueProblems),
                    Momentum = p.GetValue(momentum) ?? recipe.Momentum,
                    Nesterov = p.GetValue(nesterov) || recipe.Nesterov,
                    WeightDecay = p.GetValue(weightDecay) ?? recipe.WeightDecay,
                    ClipGradNorm = p.GetValue(clip) ?? recipe.ClipGradNorm,
                    EarlyStoppingPatience = p.GetValue(early) ?? recipe.EarlyStoppingPatience,
                    ValidationFraction = p.GetValue(valFraction) ?? recipe.ValidationFraction,
                    Seed = p.GetValue(seed) ?? recipe.Seed,
                    Threads = p.GetValue(threads) ?? recipe.Threads,
                    Augment = p.GetValue(augment) ?? recipe.Augment,
                    DiagnoseGradients = p.GetValue(diagnose),
                    CheckpointDirectory = explicitCheckpoint is null ? outPath + ".checkpoint" : Path.GetFullPath(explicitCheckpoint),
                    Resume = p.GetValue(resume),
                };
                var request = new ImageTrainingRequest
                {
                    Dataset = p.GetValue(dataset)!,
                    DataDir = p.GetValue(dataDir),
                    Spec = spec,
                    Options = options,
                    Limit = p.GetValue(limit),
                    OutputDirectory = outPath,
                    Overwrite = p.GetValue(overwrite),
                    Name = p.GetValue(name),
                };
                // A mistyped --optimizer or --schedule is reported with every other problem of the command, not alone.
                try
                {
                    ImageTraining.Validate(request);
                }
                catch (OptionsException e) when (valueProblems.Count > 0)
                {
                    throw new OptionsException([.. valueProblems, .. e.Problems]);
                }
                OptionsException.ThrowIfAny(valueProblems);
                using var observer = tracking.Observer(p, ctx);
                var result = Training.Run(ctx, request with { Observer = observer });
                // A finished run no longer needs its default checkpoint; an explicit folder is the user's to keep.
                if (explicitCheckpoint is null && Directory.Exists(options.CheckpointDirectory)) Directory.Delete(options.CheckpointDirectory!, true);
                Training.Report(ctx, request, result, observer.RunId);
                return 0;
            });
        });
        return cmd;
    }

    private static int[]? ParseInts(string? text, string option)
    {
        if (text is null) return null;
        var parts = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var values = new int[parts.Length];
        for (var i = 0; i < parts.Length; i++)
        {
            if (!int.TryParse(parts[i], NumberStyles.Integer, CultureInfo.InvariantCulture, out values[i]) || values[i] <= 0)
                throw new UsageException($"{option}: '{parts[i]}' is not a positive whole number (expected e.g. 512,256)");
        }
        return values;
    }
}

/// <summary>Runs a training request with progress, plots and tracking, and reports it; shared by train and quickstart.</summary>
internal static class Training
{
    /// <summary>Trains with a progress bar and adds the plots to the bundle; the request's observer records the run.</summary>
    public static ImageTrainingResult Run(CliContext ctx, ImageTrainingRequest request)
    {
        using var bar = ctx.Progress("train");
        using var cancel = new SignalCancellation();
        return ImageTraining.Run(request with { ReferenceWriter = Forge.Monitoring.BundleProfile.WriteImages }, new Progress(bar), (writer, model, report) =>
        {
            if (model.History.Count > 0)
                TrainingPlots.TrainingCurves(model.History, writer.PathFor("plots/training-curves.png"), $"{request.Dataset} {request.Spec.Kind}: training curves");
            TrainingPlots.ConfusionMatrix(report.ConfusionMatrix, report.Labels, writer.PathFor("plots/confusion-matrix.png"),
                $"{request.Dataset} {request.Spec.Kind}: test confusion matrix (accuracy {report.Accuracy * 100:F2}%)");
            if (model.GradientNorms.Count > 0)
                TrainingPlots.GradientNorms(model.GradientNorms, writer.PathFor("plots/gradient-norms.png"));
        }, cancel.Token);
    }

    public static void Report(CliContext ctx, ImageTrainingRequest request, ImageTrainingResult r, string? runId)
    {
        var lastVal = r.History.Count > 0 ? r.History[^1].ValidationAccuracy : null;
        if (ctx.Json)
        {
            var json = new JsonObject
            {
                ["bundle"] = r.Bundle.Directory,
                ["runId"] = runId,
                ["dataset"] = request.Dataset,
                ["model"] = request.Spec.Kind,
                ["testAccuracy"] = r.Test.Accuracy,
                ["testMacroF1"] = r.Test.MacroF1,
                ["testLogLoss"] = r.Test.LogLoss,
                ["validationAccuracy"] = lastVal,
                ["epochs"] = r.History.Count,
                ["trainSeconds"] = Math.Round(r.TrainSeconds, 3),
                ["totalSeconds"] = Math.Round(r.TotalSeconds, 3),
                ["trainImages"] = r.TrainImages,
                ["validationImages"] = r.ValidationImages,
                ["testImages"] = r.Test.Count,
                ["parameters"] = r.Parameters,
                ["evaluateImagesPerSecond"] = Math.Round(r.ImagesPerSecond),
                ["gradientNorms"] = r.GradientNorms.Count == 0 ? null : new JsonArray(r.GradientNorms.Select(e =>
                {
                    var o = new JsonObject();
                    foreach (var (layer, norm) in e) o[layer] = norm;
                    return (JsonNode)o;
                }).ToArray()),
                ["history"] = new JsonArray(r.History.Select(h => (JsonNode)new JsonObject
                {
                    ["epoch"] = h.Epoch,
                    ["trainLoss"] = h.TrainLoss,
                    ["trainAccuracy"] = h.TrainAccuracy,
                    ["validationLoss"] = h.ValidationLoss,
                    ["validationAccuracy"] = h.ValidationAccuracy,
                    ["learningRate"] = h.LearningRate,
                    ["seconds"] = h.Seconds,
                }).ToArray()),
            };
            ctx.WriteJson(json);
            return;
        }
        ctx.Say(string.Create(CultureInfo.InvariantCulture,
            $"test accuracy {r.Test.Accuracy * 100:F2}% (macro-F1 {r.Test.MacroF1:F4}) on {r.Test.Count:N0} test images after {r.History.Count} epochs, {r.TrainSeconds:F1} s training"));
        ctx.Say($"bundle written to {r.Bundle.Directory}");
        if (runId is not null) ctx.Say($"tracked as run {runId} (forge runs show {TrackingCli.ShortId(runId)})");
    }

    /// <summary>
    /// Reports synchronously on the training thread (unlike <see cref="System.Progress{T}"/>), so an epoch's metrics are in
    /// the store before the next epoch starts and survive the process being killed.
    /// </summary>
    private sealed class Progress(ProgressDisplay bar) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value)
        {
            if (value.Completed is { } m)
            {
                var val = m.ValidationAccuracy is { } v ? string.Create(CultureInfo.InvariantCulture, $", val acc {v * 100:F2}%") : "";
                bar.Line(string.Create(CultureInfo.InvariantCulture,
                    $"epoch {m.Epoch}/{value.Epochs}: loss {m.TrainLoss:F4}, train acc {m.TrainAccuracy * 100:F2}%{val}, lr {m.LearningRate:G3}, {m.Seconds:F1} s"));
                if (value.GradientNorms is { } norms)
                    bar.Line("  gradient norm per layer: " + string.Join(", ", norms.Select(kv => string.Create(CultureInfo.InvariantCulture, $"{kv.Key} {kv.Value:G3}"))));
                Failpoint.AfterEpoch(m.Epoch, Console.Error);
                return;
            }
            var fraction = ((value.Epoch - 1) + (double)value.Step / value.StepsPerEpoch) / value.Epochs;
            bar.Update(fraction, string.Create(CultureInfo.InvariantCulture,
                $"epoch {value.Epoch}/{value.Epochs} step {value.Step}/{value.StepsPerEpoch} loss {value.Loss:F4} acc {value.Accuracy * 100:F1}%"));
        }

    }
}

/// <summary>
/// Turns the first Ctrl+C (SIGINT) or SIGTERM into a cancellation, so training stops between steps and the run is
/// recorded KILLED; a second signal is left to end the process as usual.
/// </summary>
internal sealed class SignalCancellation : IDisposable
{
    private readonly CancellationTokenSource _source = new();
    private readonly PosixSignalRegistration[] _registrations;

    public SignalCancellation()
    {
        _registrations = [PosixSignalRegistration.Create(PosixSignal.SIGINT, Handle), PosixSignalRegistration.Create(PosixSignal.SIGTERM, Handle)];
    }

    public CancellationToken Token => _source.Token;

    public void Dispose()
    {
        foreach (var r in _registrations) r.Dispose();
        _source.Dispose();
    }

    private void Handle(PosixSignalContext context)
    {
        if (_source.IsCancellationRequested) return;
        context.Cancel = true;
        _source.Cancel();
    }
}
