using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Forge.Core;
using Forge.Data;
using Forge.DeepLearning;
using Forge.DeepLearning.Transfer;

namespace Forge.Cli;

/// <summary><c>forge predict DIR FILE…</c>: classifies images with a bundle.</summary>
internal static class PredictCommand
{
    public static Command Create(TextWriter output, TextWriter error, bool terminal)
    {
        var bundleArg = new Argument<string>("bundle") { Description = "Bundle directory (or .forge file)" };
        var files = new Argument<string[]>("files") { Description = "PNG or JPEG images of any size or colour; a dark digit on a light background is inverted, then the digit is centred and scaled as MNIST's are", Arity = ArgumentArity.OneOrMore };
        var cmd = new Command("predict", "Classify images with a trained bundle and print each class with its probabilities.\n\nExample:\n  forge predict models/mnist-cnn digit.png photo-of-a-7.jpg --json")
        {
            bundleArg, files,
        };
        cmd.SetAction(p =>
        {
            var ctx = new CliContext(output, error, p.GetValue(CliApp.JsonOption), terminal);
            return CliApp.Guard(ctx, () =>
            {
                var bundle = ModelBundle.Load(p.GetValue(bundleArg)!);
                var paths = p.GetValue(files)!;
                // Every input is read before anything is predicted, so one bad file fails the whole call with nothing printed.
                using IPredictor model = TransferClassifier.IsTransfer(bundle) ? TransferClassifier.Load(bundle) : ImageClassifier.Load(bundle);
                var probs = model is TransferClassifier transfer ? transfer.PredictFiles(paths) : model.Predict(paths.Select(DigitImage.LoadAsMnist).ToArray());
                var labels = model.Signature.Labels;
                var results = paths.Select((f, i) => (File: f, Probabilities: probs[i], Label: labels[ClassificationMetrics.ArgMax(probs[i])])).ToArray();
                if (ctx.Json)
                {
                    ctx.WriteJson(new JsonObject
                    {
                        ["predictions"] = new JsonArray(results.Select(r => (JsonNode)new JsonObject
                        {
                            ["file"] = r.File,
                            ["label"] = r.Label,
                            ["probabilities"] = Probabilities(labels, r.Probabilities),
                        }).ToArray()),
                    });
                    return 0;
                }
                foreach (var r in results)
                    ctx.Say(string.Create(CultureInfo.InvariantCulture, $"{r.File}: {r.Label} ({r.Probabilities.Max() * 100:F1}%)"));
                return 0;
            });
        });
        return cmd;
    }

    internal static JsonObject Probabilities(IReadOnlyList<string> labels, float[] p)
    {
        var o = new JsonObject();
        for (var k = 0; k < labels.Count; k++) o[labels[k]] = Math.Round(p[k], 6);
        return o;
    }
}
