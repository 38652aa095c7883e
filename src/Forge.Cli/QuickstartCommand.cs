using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Forge.Core;
using Forge.Data;
using Forge.DeepLearning;

namespace Forge.Cli;

/// <summary><c>forge quickstart</c>: the whole MNIST path in about a minute.</summary>
internal static class QuickstartCommand
{
    public static Command Create(TextWriter output, TextWriter error, bool terminal)
    {
        var outDir = new Option<string?>("--out") { Description = "Bundle directory (default: $FORGE_HOME/artifacts/quickstart-mnist, replaced on each run)" };
        var epochs = new Option<int>("--epochs") { Description = "Epochs", DefaultValueFactory = _ => 1 };
        var limit = new Option<int>("--limit") { Description = "Training images", DefaultValueFactory = _ => 12000 };
        var dataDir = CommonOptions.DataDir();
        var tracking = new TrackingOptions();
        var cmd = new Command("quickstart", "Train a CNN on MNIST briefly, write a bundle, evaluate it on the 10,000 test images, predict a few test digits from PNG files, and show what to try next. The run is logged to the tracking store unless --no-track is given.\n\nExamples:\n  forge quickstart\n  forge quickstart --experiment first-steps --run-name try-1\n  forge quickstart --no-track --limit 3000")
        {
            outDir, epochs, limit, dataDir,
        };
        tracking.AddTo(cmd);
        cmd.SetAction(p =>
        {
            var ctx = new CliContext(output, error, p.GetValue(CliApp.JsonOption), terminal);
            return CliApp.Guard(ctx, () =>
            {
                var outPath = Path.GetFullPath(p.GetValue(outDir) ?? Path.Combine(ForgePaths.Artifacts, "quickstart-mnist"));
                ctx.Say($"1/3 training a CNN on {p.GetValue(limit):N0} MNIST images for {p.GetValue(epochs)} epoch(s)…");
                var recipe = Recipes.For("cnn");
                var request = new ImageTrainingRequest
                {
                    Dataset = "mnist",
                    DataDir = p.GetValue(dataDir),
                    Spec = ModelSpec.Cnn(),
                    Options = recipe with { Epochs = p.GetValue(epochs) },
                    Limit = p.GetValue(limit),
                    OutputDirectory = outPath,
                    Overwrite = true,
                    Name = "quickstart-mnist",
                };
                ImageTraining.Validate(request);
                using var observer = tracking.Observer(p, ctx);
                var result = Training.Run(ctx, request with { Observer = observer });
                ctx.Say(string.Create(CultureInfo.InvariantCulture,
                    $"2/3 evaluated on {result.Test.Count:N0} test images: accuracy {result.Test.Accuracy * 100:F2}% ({result.ImagesPerSecond:N0} images/s); bundle at {outPath}"));

                // Predict from real image files, as a user would, to show the whole path from a picture to a label.
                var data = new DatasetResolver(new DatasetResolverOptions { DataDir = p.GetValue(dataDir) }).Resolve("mnist");
                var test = MnistFormat.Load(data.Directory, "test", data.Info.ClassNames);
                var samples = Path.Combine(outPath + ".samples");
                Directory.CreateDirectory(samples);
                var files = new List<(string File, int Truth)>();
                foreach (var i in new[] { 0, 1, 2, 3, 4 })
                {
                    var file = Path.Combine(samples, $"test-{i}-label-{test.Labels[i]}.png");
                    DigitImage.SavePng(test.Pixels.AsSpan(i * 784, 784).ToArray(), 28, 28, file);
                    files.Add((file, test.Labels[i]));
                }
                using var model = ImageClassifier.Load(result.Bundle);
                var probs = model.PredictRows(files.Select(f => DigitImage.LoadAsMnist(f.File)).ToArray());
                var predictions = files.Select((f, i) => (f.File, f.Truth, Label: model.Labels[ClassificationMetrics.ArgMax(probs[i])], P: probs[i].Max())).ToArray();
                ctx.Say("3/3 predictions from PNG files:");
                foreach (var pr in predictions)
                    ctx.Say(string.Create(CultureInfo.InvariantCulture, $"  {Path.GetFileName(pr.File)} -> {pr.Label} ({pr.P * 100:F1}%)"));
                ctx.Say("");
                ctx.Say("Next:");
                ctx.Say("  forge train mnist --out models/mnist-cnn          # the full recipe (≥ 99.3% test accuracy)");
                ctx.Say($"  forge evaluate {outPath}");
                ctx.Say($"  forge predict {outPath} your-digit.png --json");
                ctx.Say("  forge train --help                              # models, optimisers, schedules, resume");
                if (observer.RunId is { } runId)
                {
                    ctx.Say($"  forge runs show {TrackingCli.ShortId(runId)}                         # what this run logged");
                    ctx.Say($"  forge models register {TrackingCli.ShortId(runId)} --name mnist      # put the model in the registry");
                }
                if (ctx.Json)
                {
                    ctx.WriteJson(new JsonObject
                    {
                        ["bundle"] = outPath,
                        ["runId"] = observer.RunId,
                        ["testAccuracy"] = result.Test.Accuracy,
                        ["epochs"] = result.History.Count,
                        ["trainSeconds"] = Math.Round(result.TrainSeconds, 3),
                        ["evaluateImagesPerSecond"] = Math.Round(result.ImagesPerSecond),
                        ["predictions"] = new JsonArray(predictions.Select(x => (JsonNode)new JsonObject
                        {
                            ["file"] = x.File, ["truth"] = x.Truth.ToString(CultureInfo.InvariantCulture), ["label"] = x.Label, ["probability"] = x.P,
                        }).ToArray()),
                    });
                }
                return 0;
            });
        });
        return cmd;
    }
}
