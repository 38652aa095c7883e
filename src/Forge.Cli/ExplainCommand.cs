using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Forge.Core;
using Forge.Data;
using Forge.DeepLearning;
using Forge.DeepLearning.Transfer;
using Forge.Explainability;
using Forge.Explainability.Agnostic;
using Forge.Explainability.Trees;
using Forge.Reporting;
using Forge.Tabular;
using Forge.Text;

namespace Forge.Cli;

/// <summary>
/// <c>forge explain</c>: attributions for a bundle's predictions on rows, one image or one text, or for an XGBoost /
/// LightGBM model file on rows; an HTML report, a values CSV and JSON.
/// </summary>
internal static class ExplainCommand
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;
    private static readonly string[] ImageGradientMethods = ["ig", "saliency", "gradientshap"];

    public static Command Create(TextWriter output, TextWriter error, bool terminal)
    {
        var bundleArg = new Argument<string?>("bundle") { Description = "Bundle directory (or .forge file); omit with --xgboost/--lightgbm", Arity = ArgumentArity.ZeroOrOne };
        var rows = new Option<string?>("--rows") { Description = "Tabular bundles and model files: a CSV with the model's columns (a header line); every row is explained" };
        var method = new Option<string?>("--method") { Description = "tree, kernel, exact, permutation or lime (rows; default tree for tree models, else kernel); ig, saliency, gradientshap or lime (--image; default ig, lime for transfer models); lime or kernel (--text; default lime)" };
        var outFile = new Option<string?>("--out") { Description = "Write a self-contained HTML report here (a .png path writes the image heatmap instead)" };
        var valuesOut = new Option<string?>("--values-out") { Description = "Write the attributions as CSV: one row per input row (and class, in a leading 'class' column, when there are several outputs), a column per feature, then base_value" };
        var image = new Option<string?>("--image") { Description = "Image bundles: the PNG/JPEG image to explain" };
        var text = new Option<string?>("--text") { Description = "Text bundles: the text to explain" };
        var xgboost = new Option<string?>("--xgboost") { Description = "An XGBoost JSON model (save_model(\"m.json\")) to explain instead of a bundle" };
        var lightgbm = new Option<string?>("--lightgbm") { Description = "A LightGBM text model (save_model(\"m.txt\")) to explain instead of a bundle" };
        var limit = new Option<int?>("--limit") { Description = "Explain only the first N rows (default: all rows for tree, 100 for the other methods)" };
        var samples = new Option<int?>("--samples") { Description = "Samples per explanation for kernel, lime and gradientshap (default: each method's own)" };
        var background = new Option<int>("--background") { Description = "Background rows the model-agnostic SHAP methods average over", DefaultValueFactory = _ => 50 };
        var seed = new Option<int>("--seed") { Description = "Seed of every random choice", DefaultValueFactory = _ => 0 };
        var cmd = new Command("explain", "Explain a model's predictions: which features (columns, words or image regions) pushed each output up or down.\n\nExamples:\n  forge explain models/adult-lightgbm --rows adult-test.csv --out report.html --values-out shap.csv\n  forge explain models/adult-linear --rows few.csv --method kernel --json\n  forge explain models/mnist-cnn --image seven.png --method ig --out ig.png\n  forge explain models/support-sentiment --text \"my refund never came\" --method lime --out text.html\n  forge explain --xgboost model.json --rows data.csv --values-out shap.csv")
        {
            bundleArg, rows, method, outFile, valuesOut, image, text, xgboost, lightgbm, limit, samples, background, seed,
        };
        cmd.SetAction(p =>
        {
            var ctx = new CliContext(output, error, p.GetValue(CliApp.JsonOption), terminal);
            return CliApp.Guard(ctx, () =>
            {
                var request = new Request(p.GetValue(bundleArg), p.GetValue(rows), p.GetValue(method)?.Trim().ToLowerInvariant(), p.GetValue(outFile),
                    p.GetValue(valuesOut), p.GetValue(image), p.GetValue(text), p.GetValue(xgboost), p.GetValue(lightgbm), p.GetValue(limit),
                    p.GetValue(samples), p.GetValue(background), p.GetValue(seed));
                return Run(ctx, request);
            });
        });
        return cmd;
    }

    private sealed record Request(string? Bundle, string? Rows, string? Method, string? Out, string? ValuesOut, string? Image, string? Text,
        string? XGBoost, string? LightGbm, int? Limit, int? Samples, int Background, int Seed);

    private static int Run(CliContext ctx, Request r)
    {
        var problems = new List<string>();
        var inputs = new[] { r.Rows is null ? null : "--rows", r.Image is null ? null : "--image", r.Text is null ? null : "--text" }.OfType<string>().ToArray();
        if (inputs.Length > 1) problems.Add($"give one input: {string.Join(", ", inputs)} were all given");
        if (r.XGBoost is not null && r.LightGbm is not null) problems.Add("give --xgboost or --lightgbm, not both");
        if ((r.XGBoost ?? r.LightGbm) is not null && r.Bundle is not null) problems.Add($"a model file (--xgboost/--lightgbm) replaces the bundle; drop '{r.Bundle}' or the file");
        if ((r.XGBoost ?? r.LightGbm) is null && r.Bundle is null) problems.Add("name a bundle (forge explain BUNDLE --rows FILE.csv) or a model file (--xgboost FILE.json / --lightgbm FILE.txt)");
        if (r.Limit is < 1) problems.Add($"--limit must be at least 1 (is {r.Limit})");
        if (r.Samples is < 2) problems.Add($"--samples must be at least 2 (is {r.Samples})");
        if (r.Background < 1) problems.Add($"--background must be at least 1 (is {r.Background})");
        if (problems.Count > 0) throw new UsageException(string.Join("; ", problems));

        var clock = Stopwatch.StartNew();
        string description;
        Explanation explanation;
        if ((r.XGBoost ?? r.LightGbm) is { } file) (explanation, description) = ExplainModelFile(ctx, r, file);
        else
        {
            var bundle = ModelBundle.Load(r.Bundle!);
            description = $"{bundle.Manifest.Name} ({bundle.Manifest.Flavor})";
            if (TabularBundle.IsTabular(bundle.Manifest)) explanation = ExplainTabular(ctx, r, bundle);
            else if (bundle.Manifest.Flavor == TextModule.Flavor || SequenceTextClassifier.IsSequenceText(bundle.Manifest)) explanation = ExplainText(r, bundle);
            else if (bundle.Manifest.Flavor == ImageClassifier.Flavor) explanation = ExplainImage(r, bundle);
            else if (HourlyForecaster.IsForecaster(bundle.Manifest)) throw new UsageException(HourlyForecaster.NotExplained(bundle.Manifest.Name));
            else throw new UsageException($"{bundle.Manifest.Name} is a {bundle.Manifest.Flavor} bundle, which forge explain does not read; it explains mlnet-tabular (--rows), torch-image (--image), text-embedding and torch-sequence text (--text) bundles");
        }
        var seconds = clock.Elapsed.TotalSeconds;
        Write(r, explanation, description);
        Report(ctx, r, explanation, description, seconds);
        return 0;
    }

    // ---------------------------------------------------------------- tabular bundles

    private static Explanation ExplainTabular(CliContext ctx, Request r, ModelBundle bundle)
    {
        var name = bundle.Manifest.Name;
        if (r.Image is not null || r.Text is not null)
            throw new UsageException($"{name} is a tabular model: pass --rows FILE.csv (a header line and the model's columns), not {(r.Image is not null ? "--image" : "--text")}");
        if (r.Rows is null) throw new UsageException($"{name} is a tabular model: pass --rows FILE.csv with the columns it was trained on");
        if (r.Method is not null && ImageGradientMethods.Contains(r.Method))
            throw new UsageException($"--method {r.Method} is a gradient method for image models; {name} is tabular: use tree, kernel, exact, permutation or lime");
        using var model = TabularBundle.Load(bundle);
        var method = TabularExplaining.CheckMethod(r.Method ?? TabularExplaining.DefaultMethod(model));
        var data = TabularCsv.ReadFor(Path.GetFullPath(r.Rows), model.Features, TabularBundle.CsvOptions(bundle.Manifest, withLabel: false));
        var limit = r.Limit ?? (method == "tree" ? int.MaxValue : 100);
        var table = data.Features;
        if (table.RowCount > limit)
        {
            if (r.Limit is null) ctx.Err.WriteLine($"note: explaining the first {limit} of {table.RowCount:N0} rows with {method} (pass --limit N for more, or --method tree on a tree model for all)");
            table = table.Slice(0, limit);
        }
        var options = new TabularExplainOptions
        {
            BackgroundRows = r.Background, Seed = r.Seed, KernelSamples = r.Samples, LimeSamples = r.Samples ?? 2000,
        };
        // Tree SHAP is fast enough for one call; the others report progress batch by batch.
        var batch = method == "tree" ? table.RowCount : 10;
        var parts = new List<Explanation>();
        using (var bar = ctx.Progress($"explain ({method})"))
        {
            for (var start = 0; start < table.RowCount; start += batch)
            {
                var count = Math.Min(batch, table.RowCount - start);
                parts.Add(TabularExplaining.Explain(bundle, model, table.Slice(start, count), method, options));
                bar.Update((double)(start + count) / table.RowCount, $"{start + count:N0}/{table.RowCount:N0} rows");
            }
        }
        return ExplanationExport.Concat(parts);
    }

    // ---------------------------------------------------------------- model files

    private static (Explanation, string) ExplainModelFile(CliContext ctx, Request r, string file)
    {
        var path = Path.GetFullPath(file);
        if (!File.Exists(path)) throw new UsageException($"{(r.XGBoost is not null ? "--xgboost" : "--lightgbm")} {path}: no such file");
        if (r.Image is not null || r.Text is not null) throw new UsageException("a tree model file explains rows: pass --rows FILE.csv");
        if (r.Rows is null) throw new UsageException("pass --rows FILE.csv with the model's feature columns");
        var ensemble = r.XGBoost is not null ? TreeModels.FromXGBoostJson(path) : TreeModels.FromLightGbmText(path);
        var rows = ReadNumericRows(Path.GetFullPath(r.Rows), ensemble.FeatureNames, ensemble.Options.FeatureNames is not null);
        var method = r.Method ?? "tree";
        var limit = r.Limit ?? (method == "tree" ? int.MaxValue : 100);
        if (rows.GetLength(0) > limit) rows = Take(rows, limit);
        var names = ensemble.FeatureNames;
        Explanation e = method switch
        {
            "tree" => new TreeShapExplainer(ensemble).Explain(rows),
            "kernel" => new KernelShapExplainer(ensemble, Background.Sample(rows, r.Background, r.Seed), new KernelShapOptions { FeatureNames = names, Samples = r.Samples, Seed = r.Seed }).Explain(rows),
            "exact" when names.Count > ExactShapOptions.MaxFeatures => throw new UsageException($"the exact method takes at most {ExactShapOptions.MaxFeatures} features; the model has {names.Count}: use --method tree (exact for trees) or kernel"),
            "exact" => new ExactShapExplainer(ensemble, Background.Sample(rows, r.Background, r.Seed), new ExactShapOptions { FeatureNames = names }).Explain(rows),
            "permutation" => new PermutationShapExplainer(ensemble, Background.Sample(rows, r.Background, r.Seed), new PermutationShapOptions { FeatureNames = names, Seed = r.Seed }).Explain(rows),
            "lime" => new Forge.Explainability.Lime.LimeTabularExplainer(ensemble, rows, new Forge.Explainability.Lime.LimeTabularOptions { FeatureNames = names, Seed = r.Seed, Samples = r.Samples ?? 2000 }).Explain(rows),
            _ => throw new UsageException($"unknown method '{method}' for a tree model file{CliFlags.Suggest("", method, ["tree", "kernel", "exact", "permutation", "lime"])} (one of tree, kernel, exact, permutation, lime)"),
        };
        _ = ctx;
        return (e, ensemble.Options.Source);
    }

    /// <summary>
    /// The CSV's numbers in the model's feature order: by name when the model names its features and the header has
    /// them all, else the first columns in order when the header has at least as many. Empty, "?", "NA" and "nan" are missing.
    /// </summary>
    private static double[,] ReadNumericRows(string path, IReadOnlyList<string> features, bool named)
    {
        if (!File.Exists(path)) throw new UsageException($"--rows {path}: no such file");
        var records = Csv.ReadFile(path);
        if (records.Count < 2) throw new DataFormatException(path, "expected a header line and at least one row");
        var header = records[0];
        int[] columns;
        if (named && features.All(header.Contains)) columns = [.. features.Select(f => Array.IndexOf(header, f))];
        else if (named)
        {
            var missing = features.First(f => !header.Contains(f));
            throw new DataFormatException(path, $"no column '{missing}', which the model takes, in the header{CliFlags.Suggest("", missing, header)}");
        }
        else if (header.Length >= features.Count) columns = [.. Enumerable.Range(0, features.Count)];
        else throw new DataFormatException(path, $"{header.Length} columns; the model takes {features.Count} features");
        var result = new double[records.Count - 1, features.Count];
        for (var i = 1; i < records.Count; i++)
        {
            if (records[i].Length != header.Length) throw new DataFormatException(path, $"record {i + 1}: {records[i].Length} fields, the header has {header.Length}");
            for (var j = 0; j < columns.Length; j++)
            {
                var field = records[i][columns[j]].Trim();
                if (field.Length == 0 || field is "?" or "NA" || field.Equals("nan", StringComparison.OrdinalIgnoreCase)) result[i - 1, j] = double.NaN;
                else if (double.TryParse(field, NumberStyles.Float, Inv, out var v)) result[i - 1, j] = v;
                else throw new DataFormatException(path, $"record {i + 1}, column '{header[columns[j]]}': '{field}' is not a number");
            }
        }
        return result;
    }

    private static double[,] Take(double[,] rows, int n)
    {
        var d = rows.GetLength(1);
        var result = new double[n, d];
        for (var i = 0; i < n; i++)
        {
            for (var j = 0; j < d; j++) result[i, j] = rows[i, j];
        }
        return result;
    }

    // ---------------------------------------------------------------- text and image bundles

    private static Explanation ExplainText(Request r, ModelBundle bundle)
    {
        var name = bundle.Manifest.Name;
        if (r.Rows is not null || r.Image is not null) throw new UsageException($"{name} classifies text: pass --text \"...\", not {(r.Rows is not null ? "--rows" : "--image")}");
        if (r.Text is null) throw new UsageException($"{name} classifies text: pass --text \"...\" to explain");
        var method = r.Method ?? "lime";
        if (method is "tree" or "exact" or "permutation" || ImageGradientMethods.Contains(method))
            throw new UsageException($"--method {method} does not explain a text model; use lime or kernel (KernelSHAP over words)");
        using var model = SequenceTextClassifier.IsSequenceText(bundle.Manifest) ? (IPredictor)SequenceTextClassifier.Load(bundle) : TextClassifier.Load(bundle);
        return PredictorExplainers.ForText(model, method, r.Samples ?? 1000, r.Seed).Explain(r.Text);
    }

    private static Explanation ExplainImage(Request r, ModelBundle bundle)
    {
        var name = bundle.Manifest.Name;
        if (r.Rows is not null || r.Text is not null) throw new UsageException($"{name} classifies images: pass --image FILE.png, not {(r.Rows is not null ? "--rows" : "--text")}");
        if (r.Image is null) throw new UsageException($"{name} classifies images: pass --image FILE.png to explain");
        var imagePath = Path.GetFullPath(r.Image);
        if (!File.Exists(imagePath)) throw new UsageException($"--image {imagePath}: no such file");
        var transfer = TransferClassifier.IsTransfer(bundle);
        var method = r.Method ?? (transfer ? "lime" : "ig");
        if (method is "tree" or "kernel" or "exact" or "permutation")
            throw new UsageException($"--method {method} does not explain an image model ({method} needs tabular rows); use {(transfer ? "lime" : "ig, saliency, gradientshap or lime")}");
        if (transfer)
        {
            if (method != "lime") throw new UsageException($"{name} is a transfer model on a pretrained backbone; gradient methods run on Forge's own CNNs only: use --method lime");
            using var model = TransferClassifier.Load(bundle);
            var row = model.EncodeImage(File.ReadAllBytes(imagePath), imagePath);
            var input = PredictorExplainers.ToImageInput(row, model.Signature.Inputs[0].CellShape());
            return PredictorExplainers.LimeForImages(model, new Forge.Explainability.Lime.LimeImageOptions { Samples = r.Samples ?? 500, Seed = r.Seed }).Explain(input);
        }
        using var cnn = ImageClassifier.Load(bundle);
        var pixels = DigitImage.LoadAsMnist(imagePath);
        var image = new ImageInput(pixels, cnn.Height, cnn.Width, 1);
        return method switch
        {
            "lime" => PredictorExplainers.LimeForImages(cnn, new Forge.Explainability.Lime.LimeImageOptions { Samples = r.Samples ?? 1000, Seed = r.Seed, Segments = 40 }).Explain(image),
            "ig" => new GradientExplainer(cnn).Explain(image),
            "saliency" => new GradientExplainer(cnn, new GradientExplainerOptions { Method = GradientMethod.Saliency }).Explain(image),
            "gradientshap" => new GradientExplainer(cnn, new GradientExplainerOptions { Method = GradientMethod.GradientShap, Samples = r.Samples ?? 64, Seed = r.Seed }).Explain(image),
            _ => throw new UsageException($"unknown method '{method}' for an image model{CliFlags.Suggest("", method, ["ig", "saliency", "gradientshap", "lime"])} (one of ig, saliency, gradientshap, lime)"),
        };
    }

    // ---------------------------------------------------------------- output

    private static void Write(Request r, Explanation e, string description)
    {
        if (r.ValuesOut is { } values)
        {
            var path = Path.GetFullPath(values);
            AtomicFile.Write(path, s =>
            {
                using var writer = new StreamWriter(s, new UTF8Encoding(false), 1 << 16, leaveOpen: true);
                ExplanationExport.WriteValuesCsv(e, writer);
            });
        }
        if (r.Out is { } report)
        {
            var path = Path.GetFullPath(report);
            if (path.EndsWith(".png", StringComparison.OrdinalIgnoreCase))
            {
                if (e.Kind != ExplanationKind.Image) throw new UsageException($"--out {path}: a PNG heatmap is drawn for image explanations only; name an .html report");
                TextPlots.ImageOverlay(e, path);
            }
            else
            {
                ExplanationReport.Write(e, path, new ExplanationReportOptions
                {
                    Title = $"Explanation of {description}",
                    ModelDescription = description,
                    Output = Math.Min(e.OutputCount - 1, e.OutputCount == 2 ? 1 : 0),
                    Command = "forge explain " + string.Join(' ', Environment.GetCommandLineArgs().Skip(1)),
                });
            }
        }
    }

    private static void Report(CliContext ctx, Request r, Explanation e, string description, double seconds)
    {
        var gap = MaxGap(e);
        if (ctx.Json)
        {
            var json = ExplanationExport.ToJson(e, e.FeatureCount > 50 ? 20 : null);
            json["model"] = description;
            json["seconds"] = Math.Round(seconds, 3);
            if (gap is { } g) json["maxAdditivityGap"] = g;
            if (r.Out is not null) json["report"] = Path.GetFullPath(r.Out);
            if (r.ValuesOut is not null) json["valuesOut"] = Path.GetFullPath(r.ValuesOut);
            ctx.WriteJson(json);
            return;
        }
        ctx.Say(string.Create(Inv, $"{description}: {e.RowCount:N0} {(e.Kind == ExplanationKind.Tabular ? "rows" : e.Kind.ToString().ToLowerInvariant())} explained with {e.Method} in {seconds:F2} s; values are in {e.OutputSpace}"));
        if (gap is { } max) ctx.Say(string.Create(Inv, $"additivity: base value + Σ attributions − prediction is at most {max:G3} over all rows"));
        var output = e.OutputCount == 2 ? 1 : 0;
        for (var row = 0; row < Math.Min(3, e.RowCount); row++)
        {
            var values = e.Values(row, output).ToArray();
            var top = Enumerable.Range(0, values.Length).OrderByDescending(f => Math.Abs(values[f])).Take(5);
            ctx.Say(string.Create(Inv, $"row {row} ({e.OutputNames[output]}: base {e.BaseValue(row, output):G4}{(e.Predictions is null ? "" : $", prediction {e.Prediction(row, output):G4}")}):"));
            foreach (var f in top) ctx.Say(string.Create(Inv, $"  {values[f],10:+0.0000;-0.0000}  {e.DisplayLabel(row, f)}"));
        }
        if (r.Out is not null) ctx.Say($"report: {Path.GetFullPath(r.Out)}");
        if (r.ValuesOut is not null) ctx.Say($"values: {Path.GetFullPath(r.ValuesOut)}");
    }

    /// <summary>The largest |base + Σ values − prediction| of an additive explanation; null for LIME and saliency.</summary>
    private static double? MaxGap(Explanation e)
    {
        if (e.Predictions is null || e.Method is "lime" or "saliency") return null;
        var max = 0.0;
        for (var row = 0; row < e.RowCount; row++)
        {
            for (var k = 0; k < e.OutputCount; k++) max = Math.Max(max, Math.Abs(e.AdditivityGap(row, k)));
        }
        return max;
    }
}
