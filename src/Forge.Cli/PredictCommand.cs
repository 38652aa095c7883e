using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Forge.Core;
using Forge.Data;
using Forge.DeepLearning;
using Forge.DeepLearning.Transfer;
using Forge.Text;

namespace Forge.Cli;

/// <summary><c>forge predict DIR FILE…</c> (image bundles) or <c>forge predict DIR --text …|--batch IN.csv --out OUT.csv</c> (text bundles).</summary>
internal static class PredictCommand
{
    public static Command Create(TextWriter output, TextWriter error, bool terminal)
    {
        var bundleArg = new Argument<string>("bundle") { Description = "Bundle directory (or .forge file)" };
        var files = new Argument<string[]>("files") { Description = "Image bundles: PNG or JPEG images of any size or colour; a dark digit on a light background is inverted, then the digit is centred and scaled as MNIST's are", Arity = ArgumentArity.ZeroOrMore };
        var texts = new Option<string[]>("--text") { Description = "Text bundles: a text to classify; repeatable" };
        var batch = new Option<string?>("--batch") { Description = "Text bundles: a CSV file with a 'text' column; every row is classified" };
        var outFile = new Option<string?>("--out") { Description = "With --batch: the CSV to write (the input's columns, then label and p_<label> per class), replaced atomically" };
        var cmd = new Command("predict", "Classify images or texts with a trained bundle and print each class with its probabilities.\n\nExamples:\n  forge predict models/mnist-cnn digit.png photo-of-a-7.jpg --json\n  forge predict models/support-sentiment --text \"my refund never came\" --text \"thanks, all sorted\"\n  forge predict models/support-sentiment --batch chats.csv --out scored.csv")
        {
            bundleArg, files, texts, batch, outFile,
        };
        TabularCli.AddPredictOptions(cmd);
        cmd.SetAction(p =>
        {
            var ctx = new CliContext(output, error, p.GetValue(CliApp.JsonOption), terminal);
            return CliApp.Guard(ctx, () =>
            {
                var bundle = ModelBundle.Load(p.GetValue(bundleArg)!);
                var paths = p.GetValue(files) ?? [];
                if (TabularCli.IsTabular(bundle)) return TabularCli.Predict(ctx, p, bundle);
                if (HourlyForecaster.IsForecaster(bundle.Manifest)) return ForecastPredict.Run(ctx, bundle, paths, p.GetResult(texts) is { Implicit: false }, p.GetValue(batch), p.GetValue(outFile));
                if (bundle.Manifest.Flavor == TextModule.Flavor || SequenceTextClassifier.IsSequenceText(bundle.Manifest))
                {
                    if (paths.Length > 0)
                        throw new UsageException($"{bundle.Manifest.Name} classifies text: pass --text \"...\" or --batch FILE.csv --out OUT.csv, not files ({paths[0]})");
                    return TextPredict.Run(ctx, bundle, p.GetValue(texts) ?? [], p.GetValue(batch), p.GetValue(outFile));
                }
                if (p.GetResult(texts) is { Implicit: false } || p.GetValue(batch) is not null || p.GetValue(outFile) is not null)
                    throw new UsageException($"--text, --batch and --out are for text bundles; {bundle.Manifest.Name} is a {bundle.Manifest.Flavor} bundle that takes image files");
                if (paths.Length == 0) throw new UsageException("no image files given (forge predict BUNDLE IMAGE...)");
                // Every input is read before anything is predicted, so one bad file fails the whole call with nothing printed.
                using IPredictor model = TransferClassifier.IsTransfer(bundle) ? TransferClassifier.Load(bundle) : ImageClassifier.Load(bundle);
                var probs = model is TransferClassifier transfer ? transfer.PredictFiles(paths) : model.PredictRows(paths.Select(DigitImage.LoadAsMnist).ToArray());
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
