using System.CommandLine;
using System.CommandLine.Parsing;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Forge.Core;
using Forge.Data;
using Forge.Reporting;
using Forge.Tabular;
using Forge.Tracking;

namespace Forge.Cli;

/// <summary>
/// The tabular branch of <c>forge train</c> (<c>adult</c>, <c>bike-sharing</c>, <c>table --data FILE --label COL</c>),
/// <c>forge evaluate</c> and <c>forge predict</c> for <c>mlnet-tabular</c> bundles. The verbs call in here with a few
/// lines each; the options only tabular models take are added to their commands from here.
/// </summary>
internal static class TabularCli
{
    /// <summary>The dataset argument that trains on any CSV file (<c>forge train table --data x.csv --label COL</c>).</summary>
    public const string TableDataset = "table";

    private static readonly Option<string?> Data = new("--data") { Description = "Tabular: the CSV file (with a header line) to train on (forge train table) or to evaluate on (forge evaluate)" };
    private static readonly Option<string?> Label = new("--label") { Description = "Tabular: the label column (forge train table)" };
    private static readonly Option<string?> Task = new("--task") { Description = "Tabular: binary, multiclass or regression (default: inferred from the label)" };
    private static readonly Option<string?> Learner = new("--learner") { Description = "Tabular: lightgbm (default), fasttree or linear" };
    private static readonly Option<int?> Trees = new("--trees") { Description = "Tabular: boosting rounds (default 300)" };
    private static readonly Option<int?> Leaves = new("--leaves") { Description = "Tabular: leaves per tree (default 15)" };
    private static readonly Option<int?> MinDataPerLeaf = new("--min-data-per-leaf") { Description = "Tabular: fewest training rows in a leaf (default 20)" };
    private static readonly Option<double?> FeatureFraction = new("--feature-fraction") { Description = "Tabular: share of features each tree may use (default 1)" };
    private static readonly Option<double?> TestFraction = new("--test-fraction") { Description = "Tabular (table): share of rows held out for testing (default 0.2)" };
    private static readonly Option<bool> Chronological = new("--chronological") { Description = "Tabular (table): hold out the last rows in file order instead of a seeded shuffle (for rows in time order)" };
    private static readonly Option<string?> Exclude = new("--exclude") { Description = "Tabular (table): columns that are not features, comma-separated (identifiers, leaks)" };
    private static readonly Option<string?> Categorical = new("--categorical") { Description = "Tabular (table): columns to treat as categories even if they hold numbers, comma-separated" };
    private static readonly Option<string?> WriteSplit = new("--write-split") { Description = "Tabular: write the split rows to this folder (train.csv, validation.csv, test.csv) for other tools" };
    private static readonly Option<string?> Row = new("--row") { Description = "Tabular bundles: one row to predict as JSON keyed by column, e.g. '{\"age\": 39, \"workclass\": \"Private\", ...}'" };
    private static readonly Option<string?> Plots = new("--plots") { Description = "Tabular bundles: folder for the ROC or residual plot and the importance plot (default: BUNDLE.evaluation)" };

    private static readonly Option[] TrainOptions = [Data, Label, Task, Learner, Trees, Leaves, MinDataPerLeaf, FeatureFraction, TestFraction, Chronological, Exclude, Categorical, WriteSplit];

    // Options of the train command that tabular training reads; any other given explicitly is refused.
    private static readonly HashSet<string> SharedTrainOptions = new(StringComparer.Ordinal)
    {
        "--out", "--overwrite", "--lr", "--seed", "--validation-fraction", "--threads", "--name", "--data-dir", "--experiment", "--run-name", "--no-track", "--tracking", "--json",
    };

    public static void AddTrainOptions(Command train)
    {
        foreach (var o in TrainOptions) train.Options.Add(o);
    }

    public static void AddEvaluateOptions(Command evaluate)
    {
        evaluate.Options.Add(Data);
        evaluate.Options.Add(Plots);
    }

    public static void AddPredictOptions(Command predict) => predict.Options.Add(Row);

    /// <summary>Whether <paramref name="dataset"/> is trained by this branch: "table" or a tabular catalog dataset.</summary>
    public static bool IsTabularDataset(string dataset)
    {
        var name = dataset.Trim().ToLowerInvariant();
        return name == TableDataset || DatasetCatalog.All.Any(d => d.Name == name && d.Kind == DatasetKind.Tabular);
    }

    /// <summary>Refuses tabular-only options on an image or text dataset.</summary>
    public static void RefuseTabularOptions(ParseResult p, string dataset)
    {
        var given = TrainOptions.Where(o => p.GetResult(o) is { Implicit: false }).Select(o => o.Name).ToArray();
        if (given.Length > 0)
            throw new UsageException($"{string.Join(", ", given)} {(given.Length == 1 ? "applies" : "apply")} to tabular datasets (adult, bike-sharing, table) only, not to '{dataset}'");
    }

    public static bool IsTabular(ModelBundle bundle) => TabularBundle.IsTabular(bundle.Manifest);

    // ---------------------------------------------------------------- train

    public static int Train(CliContext ctx, ParseResult p, TrackingOptions tracking)
    {
        var dataset = p.GetValue<string>("dataset")!.Trim().ToLowerInvariant();
        RefuseOtherOptions(p, dataset);
        var request = BuildRequest(p, dataset);
        try
        {
            TabularTraining.Validate(request);
        }
        catch (UsageException e)
        {
            throw new UsageException(FlagNames(e.Message));
        }
        using var observer = tracking.Observer(p, ctx);
        TabularTrainingResult result;
        using (var bar = ctx.Progress("train"))
        using (var cancel = new SignalCancellation())
        {
            var progress = new SyncProgress<TabularProgress>(s => bar.Update(s.Fraction, s.Stage));
            result = TabularTraining.Run(request with { Observer = observer, ReferenceWriter = Forge.Monitoring.BundleProfile.Write, CalibrationWriter = Forge.Monitoring.BundleCalibration.Write }, progress, AddPlots(dataset), cancel.Token);
        }
        ReportTraining(ctx, request, result, observer.RunId);
        return 0;
    }

    private static void RefuseOtherOptions(ParseResult p, string dataset)
    {
        var allowed = new HashSet<string>(SharedTrainOptions.Concat(TrainOptions.Select(o => o.Name)), StringComparer.Ordinal);
        var wrong = p.CommandResult.Children.OfType<OptionResult>().Where(r => !r.Implicit && !allowed.Contains(r.Option.Name)).Select(r => r.Option.Name).ToArray();
        if (wrong.Length > 0)
            throw new UsageException($"{string.Join(", ", wrong)} {(wrong.Length == 1 ? "applies" : "apply")} to image or text datasets, not to the tabular '{dataset}' (see 'forge train --help': tabular training takes --learner, --trees, --leaves, --lr, --min-data-per-leaf, --feature-fraction, --seed, --validation-fraction)");
        if (dataset != TableDataset)
        {
            var tableOnly = new Option[] { Data, Label, TestFraction, Chronological, Exclude, Categorical }.Where(o => p.GetResult(o) is { Implicit: false }).Select(o => o.Name).ToArray();
            if (tableOnly.Length > 0)
                throw new UsageException($"{string.Join(", ", tableOnly)} {(tableOnly.Length == 1 ? "is" : "are")} for 'forge train table'; '{dataset}' has its own columns and split (docs/tabular.md)");
        }
    }

    private static TabularTrainingRequest BuildRequest(ParseResult p, string dataset)
    {
        var output = p.GetValue<string>("--out")!;
        TabularTrainingRequest request;
        if (dataset == TableDataset)
        {
            var data = p.GetValue(Data) ?? throw new UsageException("forge train table needs --data FILE.csv (with a header line) and --label COLUMN");
            var label = p.GetValue(Label) ?? throw new UsageException("forge train table needs --label COLUMN, the column to predict");
            request = TableRequest(data, label, output, p.GetValue(Exclude), p.GetValue(Categorical), p.GetValue(TestFraction), p.GetValue(Chronological));
        }
        else
        {
            request = TabularRecipes.For(dataset, output) with { DataDir = p.GetValue<string?>("--data-dir") };
        }
        var o = request.Options;
        var taskText = p.GetValue(Task);
        o = o with
        {
            Task = taskText is null ? o.Task : ParseEnum<TabularTask>(taskText, "task"),
            Learner = p.GetValue(Learner) is { } l ? ParseEnum<TabularLearner>(l, "learner") : o.Learner,
            Trees = p.GetValue(Trees) ?? o.Trees,
            Leaves = p.GetValue(Leaves) ?? o.Leaves,
            LearningRate = p.GetValue<double?>("--lr") ?? o.LearningRate,
            MinDataPerLeaf = p.GetValue(MinDataPerLeaf) ?? o.MinDataPerLeaf,
            FeatureFraction = p.GetValue(FeatureFraction) ?? o.FeatureFraction,
            Seed = p.GetValue<int?>("--seed") ?? o.Seed,
            ValidationFraction = p.GetValue<double?>("--validation-fraction") ?? o.ValidationFraction,
            Threads = p.GetValue<int?>("--threads") ?? o.Threads,
        };
        if (dataset != TableDataset && taskText is not null && o.Task != request.Options.Task)
            throw new UsageException($"--task: '{dataset}' is a {request.Options.Task.ToString()!.ToLowerInvariant()} task");
        return request with
        {
            Options = o,
            OutputDirectory = Path.GetFullPath(output),
            Overwrite = p.GetValue<bool>("--overwrite"),
            Name = p.GetValue<string?>("--name"),
            SplitDirectory = p.GetValue(WriteSplit) is { } s ? Path.GetFullPath(s) : null,
        };
    }

    private static T ParseEnum<T>(string text, string what) where T : struct, Enum
    {
        var names = Enum.GetNames<T>().Select(n => n.ToLowerInvariant()).ToArray();
        var key = text.Trim().ToLowerInvariant();
        return names.Contains(key) ? Enum.Parse<T>(key, ignoreCase: true) : throw new NotFoundException(what, text, names);
    }

    /// <summary>
    /// The request for an arbitrary CSV table, as `forge train table` and `forge tune table` build it: named after the file
    /// when that is a valid model name, with the label, excluded and categorical columns and the split the flags give.
    /// </summary>
    internal static TabularTrainingRequest TableRequest(string data, string label, string output, string? exclude, string? categorical,
        double? testFraction, bool chronological)
    {
        var name = Path.GetFileNameWithoutExtension(data);
        return new TabularTrainingRequest
        {
            Dataset = ModelNames.Problem(name) is null ? name : TableDataset,
            DataPath = data,
            OutputDirectory = output,
            Csv = new TabularCsvOptions
            {
                Label = label,
                Exclude = List(exclude),
                Types = List(categorical).ToDictionary(c => c, _ => FeatureKind.Categorical, StringComparer.Ordinal),
            },
            Split = testFraction is null && !chronological
                ? null
                : new TabularSplit(chronological ? SplitMethod.Chronological : SplitMethod.Random, testFraction ?? 0.2),
        };
    }

    private static List<string> List(string? text) =>
        text is null ? [] : [.. text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];

    /// <summary>The library names its options as properties ("Trees must be…"); a command-line user typed flags.</summary>
    internal static string FlagNames(string message)
    {
        var map = new (string Property, string Flag)[]
        {
            ("MinDataPerLeaf", "--min-data-per-leaf"), ("FeatureFraction", "--feature-fraction"), ("ValidationFraction", "--validation-fraction"),
            ("LearningRate", "--lr"), ("Trees", "--trees"), ("Leaves", "--leaves"), ("Threads", "--threads"), ("the test fraction", "--test-fraction"),
        };
        foreach (var (property, flag) in map) message = message.Replace(property + " must", flag + " must", StringComparison.Ordinal);
        return message;
    }

    private static Action<BundleWriter, TabularModel, TabularEvaluation> AddPlots(string dataset) => (writer, model, test) =>
        WritePlots(model, test, dir => writer.PathFor("plots/" + dir), $"{dataset} {model.Learner.ToString().ToLowerInvariant()}");

    private static void WritePlots(TabularModel model, TabularEvaluation score, Func<string, string> path, string what)
    {
        if (score.Roc is { } roc) TabularPlots.Roc(roc, path("roc.png"), $"{what}: test ROC curve");
        if (score.Actual is { } actual) TabularPlots.Residuals(actual, score.Predicted!, path("residuals.png"), $"{what}: test residuals");
        if (model.Importance.Count > 0)
        {
            var type = model.Learner == TabularLearner.Linear ? "|weight| on scaled inputs" : "gain";
            TabularPlots.Importance(model.Importance, path("importance.png"), $"{what}: feature importance ({type})");
        }
    }

    private static void ReportTraining(CliContext ctx, TabularTrainingRequest request, TabularTrainingResult r, string? runId)
    {
        if (ctx.Json)
        {
            var json = new JsonObject
            {
                ["bundle"] = r.Bundle.Directory,
                ["runId"] = runId,
                ["dataset"] = request.Dataset,
                ["task"] = r.Model.Task.ToString().ToLowerInvariant(),
                ["learner"] = r.Model.Learner.ToString().ToLowerInvariant(),
                ["split"] = r.Split,
                ["trainRows"] = r.TrainRows,
                ["validationRows"] = r.ValidationRows,
                ["testRows"] = r.Test.Count,
                ["trainSeconds"] = Math.Round(r.TrainSeconds, 3),
                ["totalSeconds"] = Math.Round(r.TotalSeconds, 3),
                ["metrics"] = Metrics(r.Metrics),
                ["importance"] = Metrics(r.Model.Importance),
            };
            ctx.WriteJson(json);
            return;
        }
        if (r.Validation is { } v) ctx.Say($"validation: {v.Summary()}");
        ctx.Say(string.Create(CultureInfo.InvariantCulture, $"test: {r.Test.Summary()} ({r.Model.Learner.ToString().ToLowerInvariant()}, {r.TrainRows:N0} training rows, {r.TrainSeconds:F1} s fitting)"));
        ctx.Say($"split: {r.Split}");
        ctx.Say($"bundle written to {r.Bundle.Directory}");
        if (runId is not null) ctx.Say($"tracked as run {runId} (forge runs show {TrackingCli.ShortId(runId)})");
    }

    private static JsonObject Metrics(IReadOnlyDictionary<string, double> metrics)
    {
        var o = new JsonObject();
        foreach (var (k, v) in metrics.OrderBy(p => p.Key, StringComparer.Ordinal)) o[k] = TrackingCli.Json(v);
        return o;
    }

    // ---------------------------------------------------------------- evaluate

    public static int Evaluate(CliContext ctx, ParseResult p, ModelBundle bundle, string split)
    {
        var manifest = bundle.Manifest;
        var model = TabularBundle.Load(bundle);
        var file = p.GetValue(Data);
        TabularData data;
        string source;
        using (var bar = ctx.Progress("evaluate"))
        {
            bar.Update(0, "reading");
            if (file is not null)
            {
                data = TabularCsv.ReadFor(Path.GetFullPath(file), model.Features, TabularBundle.CsvOptions(manifest, withLabel: true));
                source = data.Source;
            }
            else
            {
                (data, source) = RecreateSplit(manifest, model, split, p.GetValue<string?>("--data-dir"));
            }
            bar.Update(0.3, "predicting");
        }
        var clock = Stopwatch.StartNew();
        var score = TabularEvaluation.Evaluate(model, data);
        var seconds = clock.Elapsed.TotalSeconds;
        var plots = Path.GetFullPath(p.GetValue(Plots) ?? bundle.Directory.TrimEnd(Path.DirectorySeparatorChar) + ".evaluation");
        Directory.CreateDirectory(plots);
        WritePlots(model, score, name => Path.Combine(plots, name), manifest.Name);
        var metrics = score.ToMetrics("");
        if (ctx.Json)
        {
            var json = new JsonObject
            {
                ["bundle"] = bundle.Directory,
                ["data"] = source,
                ["task"] = model.Task.ToString().ToLowerInvariant(),
                ["count"] = score.Count,
                ["metrics"] = Metrics(metrics),
                ["rowsPerSecond"] = Math.Round(score.Count / Math.Max(seconds, 1e-9)),
                ["unseenCategories"] = Counts(model.UnseenCategories),
                ["plots"] = plots,
            };
            if (score.Classification is { } c)
            {
                json["perClass"] = new JsonArray([.. c.PerClass.Select(k => (JsonNode)new JsonObject
                {
                    ["label"] = k.Label, ["precision"] = k.Precision, ["recall"] = k.Recall, ["f1"] = k.F1, ["support"] = k.Support,
                })]);
                json["confusionMatrix"] = new JsonArray([.. c.ConfusionMatrix.Select(r => (JsonNode)new JsonArray([.. r.Select(v => (JsonNode)v)]))]);
            }
            ctx.WriteJson(json);
            return 0;
        }
        ctx.Say($"{manifest.Name} on {source}: {score.Summary()}");
        if (score.Classification is { } report)
        {
            ctx.Say("label  precision  recall     f1  support");
            foreach (var c in report.PerClass)
                ctx.Say(string.Create(CultureInfo.InvariantCulture, $"{c.Label,-6} {c.Precision,9:F4} {c.Recall,7:F4} {c.F1,6:F4} {c.Support,8}"));
        }
        var unseen = model.UnseenCategories;
        if (unseen.Count > 0) ctx.Say("categories unseen in training (answered as no category): " + string.Join(", ", unseen.Select(u => $"{u.Key} {u.Value:N0}")));
        ctx.Say($"plots written to {plots}");
        return 0;
    }

    /// <summary>Re-creates a catalog dataset's recorded split and checks it is the one the bundle was tested on.</summary>
    private static (TabularData Data, string Source) RecreateSplit(ModelManifest manifest, TabularModel model, string split, string? dataDir)
    {
        var dataset = manifest.Training?.Dataset ?? throw new UsageException("the bundle does not record its dataset; pass --data FILE.csv");
        if (!TabularRecipes.Datasets.Contains(dataset))
            throw new UsageException($"{manifest.Name} was trained on '{dataset}', not a catalog dataset; pass --data FILE.csv with the rows to evaluate");
        var recorded = manifest.Preprocessing["split"] as JsonObject ?? throw new UsageException("the bundle does not record its split; pass --data FILE.csv");
        var request = TabularRecipes.For(dataset, "") with { DataDir = dataDir };
        request = request with
        {
            Options = request.Options with
            {
                Seed = recorded["seed"]!.GetValue<int>(),
                ValidationFraction = recorded["validationFraction"]!.GetValue<double>(),
                Task = model.Task,
            },
        };
        var (path, _, _) = TabularTraining.Locate(request);
        var all = TabularCsv.ReadFor(path, model.Features, request.Csv);
        var (fit, _, test, _, _, _) = TabularTraining.SplitRows(all, request);
        if (TabularTraining.RowsHash(test) != recorded["testRowsSha256"]?.GetValue<string>())
            throw new ForgeException($"{path}: re-creating the recorded split gave other test rows than the bundle's; the data or the split code changed (pass --data with the test rows)");
        var rows = split == "train" ? fit : test;
        return (all.Take(rows), $"{dataset} {split} split ({rows.Length:N0} rows)");
    }

    // ---------------------------------------------------------------- predict

    public static int Predict(CliContext ctx, ParseResult p, ModelBundle bundle)
    {
        var row = p.GetValue(Row);
        var batch = p.GetValue<string?>("--batch");
        var output = p.GetValue<string?>("--out");
        var files = p.GetValue<string[]>("files") ?? [];
        if (files.Length > 0 || (p.GetValue<string[]>("--text") ?? []).Length > 0)
            throw new UsageException($"{bundle.Manifest.Name} is a tabular model: pass --row '{{...}}' or --batch FILE.csv --out OUT.csv");
        if ((row is null) == (batch is null)) throw new UsageException($"{bundle.Manifest.Name} is a tabular model: pass --row '{{\"column\": value, ...}}' or --batch FILE.csv --out OUT.csv (one of them)");
        if (batch is not null && output is null) throw new UsageException("--batch needs --out, the CSV file to write");
        if (row is not null && output is not null) throw new UsageException("--out goes with --batch (the CSV to write)");
        return row is not null ? PredictRow(ctx, bundle, row) : PredictBatch(ctx, bundle, batch!, output!);
    }

    private static int PredictRow(CliContext ctx, ModelBundle bundle, string json)
    {
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(json);
        }
        catch (JsonException e)
        {
            throw new UsageException($"--row is not valid JSON: {e.Message}");
        }
        var decoder = TabularInstances.For(bundle.Manifest);
        Table table;
        try
        {
            table = node is JsonArray rows ? Table.Concat([.. rows.Select((r, i) => decoder.Decode(r, $"--row[{i}]"))]) : decoder.Decode(node, "--row");
        }
        catch (TabularInputException e)
        {
            throw new UsageException(e.Message);
        }
        using var model = TabularBundle.Load(bundle);
        var prediction = model.Predict(table);
        var unseen = model.UnseenCategories;
        if (ctx.Json)
        {
            var list = new JsonArray();
            for (var i = 0; i < prediction.RowCount; i++)
            {
                list.Add(prediction.Values is { } values
                    ? new JsonObject { ["value"] = values[i] }
                    : new JsonObject { ["label"] = prediction.PredictedLabel(i), ["probabilities"] = PredictCommand.Probabilities(prediction.Labels, prediction.Probabilities![i]) });
            }
            ctx.WriteJson(new JsonObject { ["predictions"] = list, ["unseenCategories"] = Counts(unseen) });
            return 0;
        }
        for (var i = 0; i < prediction.RowCount; i++)
        {
            ctx.Say(prediction.Values is { } values
                ? values[i].ToString("0.####", CultureInfo.InvariantCulture)
                : string.Create(CultureInfo.InvariantCulture, $"{prediction.PredictedLabel(i)} ({prediction.Probabilities![i].Max() * 100:F1}%)"));
        }
        if (unseen.Count > 0) ctx.Err.WriteLine("note: categories unseen in training, answered as no category: " + string.Join(", ", unseen.Keys));
        return 0;
    }

    private static int PredictBatch(CliContext ctx, ModelBundle bundle, string input, string output)
    {
        var inputPath = Path.GetFullPath(input);
        var outputPath = Path.GetFullPath(output);
        if (!File.Exists(inputPath)) throw new UsageException($"--batch {inputPath}: no such file");
        if (string.Equals(inputPath, outputPath, StringComparison.Ordinal)) throw new UsageException("--out must not be the --batch file itself");
        if (Directory.Exists(outputPath)) throw new UsageException($"--out {outputPath} is a directory; name the CSV file to write");
        using var model = TabularBundle.Load(bundle);
        var clock = Stopwatch.StartNew();
        Prediction prediction;
        TabularData data;
        using (var bar = ctx.Progress("predict"))
        {
            bar.Update(0, "reading");
            // The whole input is read and checked before anything is written, so a bad row leaves no half-written output.
            data = TabularCsv.ReadFor(inputPath, model.Features, TabularBundle.CsvOptions(bundle.Manifest, withLabel: false));
            bar.Update(0.4, $"predicting {data.RowCount:N0} rows");
            prediction = model.Predict(data.Features);
            bar.Update(0.9, "writing");
            var added = prediction.Values is not null ? ["value"] : new[] { "label" }.Concat(prediction.Labels.Select(l => "p_" + l)).ToArray();
            var clash = added.FirstOrDefault(data.Header.Contains);
            if (clash is not null) throw new DataFormatException(inputPath, $"already has a '{clash}' column, which the output adds; rename or drop it first");
            var temp = $"{outputPath}.tmp-{Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(6))}";
            try
            {
                Directory.CreateDirectory(Path.GetDirectoryName(outputPath)!);
                using (var writer = new StreamWriter(temp, false, new UTF8Encoding(false), 1 << 16))
                {
                    Csv.WriteRecord(writer, [.. data.Header, .. added]);
                    var fields = new string[data.Header.Count + added.Length];
                    for (var i = 0; i < data.RowCount; i++)
                    {
                        data.Records[i].CopyTo(fields, 0);
                        var k = data.Header.Count;
                        if (prediction.Values is { } values)
                        {
                            fields[k] = values[i].ToString("R", CultureInfo.InvariantCulture);
                        }
                        else
                        {
                            var probabilities = prediction.Probabilities![i];
                            fields[k++] = prediction.Labels[ClassificationMetrics.ArgMax(probabilities)];
                            foreach (var v in probabilities) fields[k++] = v.ToString("R", CultureInfo.InvariantCulture);
                        }
                        Csv.WriteRecord(writer, fields);
                    }
                }
                File.Move(temp, outputPath, overwrite: true);
            }
            finally
            {
                if (File.Exists(temp)) File.Delete(temp);
            }
        }
        var seconds = clock.Elapsed.TotalSeconds;
        var rate = data.RowCount / Math.Max(seconds, 1e-9);
        var unseen = model.UnseenCategories;
        if (ctx.Json)
        {
            ctx.WriteJson(new JsonObject
            {
                ["input"] = inputPath, ["output"] = outputPath, ["rows"] = data.RowCount, ["seconds"] = Math.Round(seconds, 3),
                ["rowsPerSecond"] = Math.Round(rate), ["unseenCategories"] = Counts(unseen),
            });
            return 0;
        }
        ctx.Say(string.Create(CultureInfo.InvariantCulture, $"{data.RowCount:N0} rows predicted in {seconds:F2} s ({rate:N0} rows/s); written to {outputPath}"));
        if (unseen.Count > 0) ctx.Say("categories unseen in training (answered as no category): " + string.Join(", ", unseen.Select(u => $"{u.Key} {u.Value:N0}")));
        return 0;
    }

    private static JsonObject Counts(IReadOnlyDictionary<string, long> counts)
    {
        var o = new JsonObject();
        foreach (var (k, v) in counts.OrderBy(p => p.Key, StringComparer.Ordinal)) o[k] = v;
        return o;
    }

    /// <summary>Reports on the calling thread at once (System.Progress posts to the thread pool, out of order).</summary>
    private sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
