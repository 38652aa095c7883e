using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Forge.Core;
using Forge.Data;
using Forge.DeepLearning;
using Forge.DeepLearning.Transfer;

namespace Forge.Cli;

/// <summary><c>forge evaluate DIR</c>: scores a bundle on a labelled split.</summary>
internal static class EvaluateCommand
{
    public static Command Create(TextWriter output, TextWriter error, bool terminal)
    {
        var bundleArg = new Argument<string>("bundle") { Description = "Bundle directory (or .forge file) written by 'forge train'" };
        var dataset = new Option<string?>("--dataset") { Description = "Catalog dataset to evaluate on (default: the one the model was trained on)" };
        var split = new Option<string>("--split") { Description = "train or test", DefaultValueFactory = _ => "test" };
        var dataDir = CommonOptions.DataDir();
        var threads = CommonOptions.Threads();
        var cmd = new Command("evaluate", "Evaluate a bundle on a labelled dataset split: accuracy, per-class precision/recall/F1, macro-F1, log-loss, confusion matrix, speed.\n\nExample:\n  forge evaluate models/mnist-cnn --split test")
        {
            bundleArg, dataset, split, dataDir, threads,
        };
        TabularCli.AddEvaluateOptions(cmd);
        cmd.SetAction(p =>
        {
            var ctx = new CliContext(output, error, p.GetValue(CliApp.JsonOption), terminal);
            return CliApp.Guard(ctx, () =>
            {
                var splitName = p.GetValue(split)!;
                if (splitName is not ("train" or "test"))
                    throw new NotFoundException("split", splitName, ["train", "test"]);
                var bundle = ModelBundle.Load(p.GetValue(bundleArg)!);
                if (TabularCli.IsTabular(bundle)) return TabularCli.Evaluate(ctx, p, bundle, splitName);
                if (NotEvaluated(bundle.Manifest) is { } why) throw new UsageException(why);
                TorchRuntime.SetThreads(p.GetValue(threads) ?? 0);
                var name = p.GetValue(dataset) ?? bundle.Manifest.Training?.Dataset
                    ?? throw new UsageException("the bundle does not record its dataset; pass --dataset");
                var (report, imagesPerSecond, datasetName) = TransferClassifier.IsTransfer(bundle)
                    ? EvaluateTransfer(bundle, name, splitName, p.GetValue(dataDir))
                    : EvaluateMnistFormat(bundle, name, splitName, p.GetValue(dataDir));
                if (ctx.Json)
                {
                    ctx.WriteJson(new JsonObject
                    {
                        ["bundle"] = bundle.Directory,
                        ["dataset"] = datasetName,
                        ["split"] = splitName,
                        ["count"] = report.Count,
                        ["testAccuracy"] = report.Accuracy,
                        ["accuracy"] = report.Accuracy,
                        ["macroF1"] = report.MacroF1,
                        ["logLoss"] = report.LogLoss,
                        ["imagesPerSecond"] = Math.Round(imagesPerSecond),
                        ["epochs"] = bundle.Manifest.Training?.Epochs,
                        ["trainSeconds"] = bundle.Manifest.Training?.DurationSeconds,
                        ["perClass"] = new JsonArray(report.PerClass.Select(c => (JsonNode)new JsonObject
                        {
                            ["label"] = c.Label, ["precision"] = c.Precision, ["recall"] = c.Recall, ["f1"] = c.F1, ["support"] = c.Support,
                        }).ToArray()),
                        ["confusionMatrix"] = new JsonArray(report.ConfusionMatrix.Select(r => (JsonNode)new JsonArray(r.Select(v => (JsonNode)v).ToArray())).ToArray()),
                    });
                    return 0;
                }
                var inv = CultureInfo.InvariantCulture;
                ctx.Say(string.Create(inv, $"{bundle.Manifest.Name} on {datasetName} {splitName}: accuracy {report.Accuracy * 100:F2}%, macro-F1 {report.MacroF1:F4}, log-loss {report.LogLoss:F4} ({report.Count:N0} images, {imagesPerSecond:N0} images/s)"));
                ctx.Say("label  precision  recall     f1  support");
                foreach (var c in report.PerClass)
                    ctx.Say(string.Create(inv, $"{c.Label,-6} {c.Precision,9:F4} {c.Recall,7:F4} {c.F1,6:F4} {c.Support,8}"));
                return 0;
            });
        });
        return cmd;
    }

    private static (ClassificationReport Report, double ImagesPerSecond, string Dataset) EvaluateMnistFormat(ModelBundle bundle, string name, string split, string? dataDir)
    {
        using var model = ImageClassifier.Load(bundle);
        var data = new DatasetResolver(new DatasetResolverOptions { DataDir = dataDir }).Resolve(name);
        var images = MnistFormat.Load(data.Directory, split, data.Info.ClassNames);
        var (report, speed) = ImageTraining.Evaluate(model, images);
        return (report, speed, data.Info.Name);
    }

    private static (ClassificationReport Report, double ImagesPerSecond, string Dataset) EvaluateTransfer(ModelBundle bundle, string name, string split, string? dataDir)
    {
        using var model = TransferClassifier.Load(bundle);
        var request = new TransferRequest { Dataset = name, DataDir = dataDir, OutputDirectory = "" };
        var (folder, datasetName, _) = TransferTraining.OpenDataset(request);
        var (train, test) = TransferTraining.SplitEntries(folder, request);
        var (images, _) = RgbImageSet.Decode(split == "train" ? train : test, folder.ClassNames, model.Options.StoreSize);
        if (!folder.ClassNames.SequenceEqual(model.Labels))
            throw new UsageException($"{datasetName} has classes {string.Join(", ", folder.ClassNames)}; the model predicts {string.Join(", ", model.Labels)}");
        var (report, speed) = TransferTraining.Evaluate(model, images);
        return (report, speed, datasetName);
    }

    /// <summary>Why forge evaluate does not score a text or forecasting bundle, and what gives its metrics instead; null for image bundles.</summary>
    private static string? NotEvaluated(ModelManifest manifest)
    {
        if (HourlyForecaster.IsForecaster(manifest))
            return $"{manifest.Name} is an hourly forecaster ({manifest.Flavor}), which forge evaluate does not score; forge predict BUNDLE --batch hour.csv --out forecasts.csv prints its RMSE and MAE per period (the test period's equal the bundle's metrics)";
        if (SequenceTextClassifier.IsSequenceText(manifest) || manifest.Flavor == Forge.Text.TextModule.Flavor)
            return $"{manifest.Name} is a text model ({manifest.Flavor}), which forge evaluate does not score; its test metrics are in its manifest (forge-model.json, metrics), and forge predict BUNDLE --batch texts.csv --out predictions.csv labels any CSV with a 'text' column";
        return null;
    }
}
