using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Forge.Core;
using Forge.Data;

namespace Forge.Tabular;

/// <summary>A tabular training job: the data, how to read and split it, the options, and where the bundle goes.</summary>
public sealed record TabularTrainingRequest
{
    /// <summary>The dataset's name: a catalog name (adult, bike-sharing), or a name for <see cref="DataPath"/>.</summary>
    public required string Dataset { get; init; }

    /// <summary>A CSV file to train on; null reads the catalog dataset's file.</summary>
    public string? DataPath { get; init; }

    /// <summary>The catalog dataset's own folder, when not found by the usual search.</summary>
    public string? DataDir { get; init; }

    /// <summary>How the file is read (label, header, missing values, column kinds, exclusions).</summary>
    public required TabularCsvOptions Csv { get; init; }

    /// <summary>The learner and its hyperparameters.</summary>
    public TabularOptions Options { get; init; } = new();

    /// <summary>How the rows become training and test rows (default: stratified 80/20 for classes, random for numbers).</summary>
    public TabularSplit? Split { get; init; }

    /// <summary>The bundle directory to write.</summary>
    public required string OutputDirectory { get; init; }

    /// <summary>Replace an existing bundle there.</summary>
    public bool Overwrite { get; init; }

    /// <summary>The model's name (default: the dataset and learner joined with '-').</summary>
    public string? Name { get; init; }

    /// <summary>When set, the split is written there as train.csv (the rows fitted), validation.csv and test.csv, for other tools to use the same rows.</summary>
    public string? SplitDirectory { get; init; }

    /// <summary>Follows the run (tracking); its run id is recorded in the bundle.</summary>
    public ITrainingObserver Observer { get; init; } = TrainingObservers.None;

    /// <summary>
    /// Writes the drift reference into the bundle from the rows the model was fitted on and its predictions on them
    /// (Forge.Monitoring's <c>BundleProfile.Write</c>, which the CLI passes); null writes none.
    /// </summary>
    public Action<BundleWriter, Table, Prediction>? ReferenceWriter { get; init; }

    /// <summary>
    /// Classifiers only: writes the confidence-based performance estimator's recalibration into the bundle from the
    /// model's predictions on held-out rows and their true labels — the validation rows, or the test rows when none are
    /// held out for validation; never the rows it was fitted on, where it is over-confident (Forge.Monitoring's
    /// <c>BundleCalibration.Write</c>, which the CLI passes); null writes none.
    /// </summary>
    public Action<BundleWriter, Prediction, IReadOnlyList<string>>? CalibrationWriter { get; init; }
}

/// <summary>What a tabular training run produced.</summary>
public sealed record TabularTrainingResult
{
    /// <summary>The bundle written.</summary>
    public required ModelBundle Bundle { get; init; }

    /// <summary>The fitted model.</summary>
    public required TabularModel Model { get; init; }

    /// <summary>Scores on the test rows.</summary>
    public required TabularEvaluation Test { get; init; }

    /// <summary>Scores on the validation rows, when some were held out.</summary>
    public TabularEvaluation? Validation { get; init; }

    /// <summary>Rows the model was fitted on.</summary>
    public required int TrainRows { get; init; }

    /// <summary>Rows held out for validation.</summary>
    public required int ValidationRows { get; init; }

    /// <summary>The split in words.</summary>
    public required string Split { get; init; }

    /// <summary>Seconds spent fitting.</summary>
    public required double TrainSeconds { get; init; }

    /// <summary>Seconds for the whole run (reading, fitting, scoring, writing).</summary>
    public required double TotalSeconds { get; init; }

    /// <summary>Every metric recorded in the manifest (test and validation).</summary>
    public required IReadOnlyDictionary<string, double> Metrics { get; init; }
}

/// <summary>Progress of a tabular run: the stage ("read", "fit", "evaluate", "write") and the share of the run done.</summary>
public sealed record TabularProgress(string Stage, double Fraction);

/// <summary>Trains a tabular model from a catalog dataset or a CSV file and writes an <c>mlnet-tabular</c> bundle.</summary>
public static class TabularTraining
{
    /// <summary>The trainer's name in tracked runs.</summary>
    public const string TrainerName = "tabular";

    /// <summary>The model zip inside the bundle.</summary>
    public const string WeightsFile = "weights/model.zip";

    /// <summary>The explainers' background sample inside the bundle.</summary>
    public const string BackgroundFile = "reference/background.csv";

    /// <summary>The most training rows <see cref="BackgroundFile"/> holds.</summary>
    public const int BackgroundRows = 200;

    /// <summary>Checks a request without reading any data: options, name, output directory. Every problem at once.</summary>
    public static void Validate(TabularTrainingRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var problems = new List<string>(request.Options.Problems());
        if (request.Split is { } s && !(s.TestFraction > 0 && s.TestFraction < 1))
            problems.Add(string.Create(CultureInfo.InvariantCulture, $"the test fraction must be in (0, 1) (got {s.TestFraction})"));
        if (request.Split is { Method: SplitMethod.Stratified } && request.Options.Task == TabularTask.Regression)
            problems.Add("a regression cannot be split by class; use a random or chronological split");
        if (string.IsNullOrWhiteSpace(request.OutputDirectory)) problems.Add("the output directory is empty");
        if (request.Csv.Label is null) problems.Add("the label column is not named");
        if (request.DataPath is null)
        {
            var info = DatasetCatalog.Get(request.Dataset);
            if (info.Kind != DatasetKind.Tabular) problems.Add($"dataset '{info.Name}' holds {info.Kind} data, not a table");
        }
        if (ModelNames.Problem(ModelName(request)) is { } p) problems.Add(p);
        if (problems.Count > 0) throw new UsageException(string.Join("; ", problems));
    }

    /// <summary>The model name the bundle gets.</summary>
    public static string ModelName(TabularTrainingRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return request.Name ?? ModelNames.Join(request.Dataset, request.Options.Learner.ToString().ToLowerInvariant());
    }

    /// <summary>The hyperparameters recorded in the manifest and the run: every option, the split and how the file was read.</summary>
    public static Dictionary<string, string> Hyperparameters(TabularTrainingRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var map = request.Options.ToDictionary();
        map["threads"] = request.Options.EffectiveThreads.ToString(CultureInfo.InvariantCulture);
        var split = request.Split;
        map["split"] = split is null ? "default" : split.Method.ToString().ToLowerInvariant();
        if (split is not null) map["testFraction"] = split.TestFraction.ToString("R", CultureInfo.InvariantCulture);
        map["label"] = request.Csv.Label ?? "";
        if (request.Csv.Exclude.Count > 0) map["exclude"] = string.Join(",", request.Csv.Exclude);
        return map;
    }

    /// <summary>
    /// Reads, splits, fits, scores and writes the bundle, reporting to the request's observer. <paramref name="addFiles"/>
    /// may add files (plots) to the bundle before it is committed.
    /// </summary>
    public static TabularTrainingResult Run(TabularTrainingRequest request, IProgress<TabularProgress>? progress = null,
        Action<BundleWriter, TabularModel, TabularEvaluation>? addFiles = null, CancellationToken cancellationToken = default)
    {
        Validate(request);
        var (path, datasetName, checksum) = Locate(request);
        var start = new TrainingStart(TrainerName, datasetName, Hyperparameters(request))
        {
            Tags = checksum is null ? new Dictionary<string, string>() : new Dictionary<string, string> { ["forge.datasetChecksum"] = checksum },
        };
        var observer = request.Observer;
        return observer.Run(start, runId => Train(request, path, datasetName, checksum, runId, progress, addFiles, cancellationToken), r =>
            new TrainingEnd(RunStatus.Finished, new Dictionary<string, double>(r.Metrics) { ["trainSeconds"] = r.TrainSeconds }, Steps(request.Options))
            {
                BundlePath = r.Bundle.Directory,
            });
    }

    /// <summary>The file a request reads, the dataset's name and its checksum when it is a catalog dataset.</summary>
    public static (string Path, string Dataset, string? Checksum) Locate(TabularTrainingRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.DataPath is { } file) return (Path.GetFullPath(file), request.Dataset, null);
        var resolved = new DatasetResolver(new DatasetResolverOptions { DataDir = request.DataDir, AllowDownload = true }).Resolve(request.Dataset);
        var info = resolved.Info;
        var main = TabularRecipes.DataFile(info.Name);
        var path = resolved.FindFile(main) ?? throw new ForgeException($"{resolved.Directory}: dataset '{info.Name}' lacks {main}");
        return (path, info.Name, info.FindFile(main)?.Sha256);
    }

    /// <summary>The rows of <paramref name="data"/> a request trains, validates and tests on.</summary>
    public static (int[] Fit, int[] Validation, int[] Test, TabularTask Task, IReadOnlyList<string> Labels, TabularSplit Split) SplitRows(
        TabularData data, TabularTrainingRequest request)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(request);
        var (task, labels) = TabularTrainer.ResolveTask(data, request.Options.Task);
        var split = request.Split ?? new TabularSplit(task == TabularTask.Regression ? SplitMethod.Random : SplitMethod.Stratified, 0.2);
        if (split.Method == SplitMethod.Stratified && task == TabularTask.Regression)
            throw new UsageException("a regression cannot be split by class; use a random or chronological split");
        int[]? classes = null;
        if (task != TabularTask.Regression)
        {
            var keys = TabularTrainer.ClassKeys(data.Labels!, labels);
            classes = [.. keys.Select(k => (int)k - 1)];
        }
        var seed = request.Options.Seed;
        var (train, test) = TabularSplit.Apply(split.Method, data.RowCount, split.TestFraction, seed, classes, labels.Count);
        var trainClasses = classes is null ? null : train.Select(i => classes[i]).ToArray();
        var (fitLocal, validationLocal) = TabularSplit.Apply(split.Method, train.Length, request.Options.ValidationFraction, seed + 1, trainClasses, labels.Count);
        return ([.. fitLocal.Select(i => train[i])], [.. validationLocal.Select(i => train[i])], test, task, labels, split);
    }

    private static TabularTrainingResult Train(TabularTrainingRequest request, string path, string datasetName, string? checksum, string? runId,
        IProgress<TabularProgress>? progress, Action<BundleWriter, TabularModel, TabularEvaluation>? addFiles, CancellationToken ct)
    {
        var total = Stopwatch.StartNew();
        progress?.Report(new TabularProgress("read", 0));
        var data = TabularCsv.Read(path, request.Csv);
        var (fitRows, validationRows, testRows, task, _, split) = SplitRows(data, request);
        var options = request.Options with { Task = task };
        var fit = data.Take(fitRows);
        var validation = validationRows.Length > 0 ? data.Take(validationRows) : null;
        var test = data.Take(testRows);
        if (test.RowCount == 0) throw new UsageException($"{path}: the test split is empty ({data.RowCount} rows); use more rows or a larger test fraction");
        if (request.SplitDirectory is { } dir) WriteSplit(dir, data, fit, validation, test);
        ct.ThrowIfCancellationRequested();

        progress?.Report(new TabularProgress("fit", 0.1));
        var clock = Stopwatch.StartNew();
        var model = TabularTrainer.Fit(fit, options, ct);
        var trainSeconds = clock.Elapsed.TotalSeconds;

        progress?.Report(new TabularProgress("evaluate", 0.8));
        var validationScore = validation is null ? null : TabularEvaluation.Evaluate(model, validation);
        var testScore = TabularEvaluation.Evaluate(model, test);
        var metrics = testScore.ToMetrics("test");
        if (validationScore is not null) foreach (var (k, v) in validationScore.ToMetrics("validation")) metrics[k] = v;
        request.Observer.Epoch(Steps(options), validationScore?.ToMetrics("validation") ?? testScore.ToMetrics("test"));

        progress?.Report(new TabularProgress("write", 0.9));
        var splitText = split.Describe(Path.GetFileName(path), options.Seed, fit.RowCount + (validation?.RowCount ?? 0), test.RowCount)
            + (validation is null ? "" : string.Create(CultureInfo.InvariantCulture, $"; {validation.RowCount:N0} of the training rows held out for validation ({(split.Method == SplitMethod.Chronological ? "the last ones" : $"seed {options.Seed + 1}")}), the model fitted on the other {fit.RowCount:N0}"));
        var hyper = Hyperparameters(request with { Options = options });
        ModelBundle bundle;
        using (var writer = ModelBundle.Create(request.OutputDirectory, request.Overwrite))
        {
            model.SaveWeights(writer.PathFor(WeightsFile));
            WriteBackground(writer.PathFor(BackgroundFile), fit, options.Seed);
            request.ReferenceWriter?.Invoke(writer, fit.Features, model.Predict(fit.Features));
            if (request.CalibrationWriter is { } calibrate && task != TabularTask.Regression && (validation ?? test) is { Labels: { } heldOutLabels } heldOut)
                calibrate(writer, model.Predict(heldOut.Features), heldOutLabels);
            addFiles?.Invoke(writer, model, testScore);
            var manifest = new ModelManifest
            {
                Name = ModelName(request),
                Flavor = ModelFlavors.MlNetTabular,
                Task = task == TabularTask.Regression ? "regression" : "classification",
                Description = $"{options.Learner} {Describe(task)} of '{data.LabelName}' from {data.Schema.Count} columns of {datasetName}",
                Signature = model.Signature,
                Preprocessing = Preprocessing(model, request.Csv, split, options, testRows),
                Model = ModelJson(model),
                Metrics = metrics,
                Training = new TrainingInfo
                {
                    RunId = runId,
                    Dataset = datasetName,
                    DatasetChecksum = checksum,
                    Hyperparameters = hyper,
                    Seed = options.Seed,
                    GitCommit = GitInfo.TryGetCommit(),
                    DurationSeconds = trainSeconds,
                    Epochs = Steps(options),
                    Split = splitText,
                },
                Versions = new RuntimeVersions("", null, null),
            };
            bundle = writer.Commit(manifest);
        }
        progress?.Report(new TabularProgress("done", 1));
        return new TabularTrainingResult
        {
            Bundle = bundle, Model = model, Test = testScore, Validation = validationScore, TrainRows = fit.RowCount,
            ValidationRows = validation?.RowCount ?? 0, Split = splitText, TrainSeconds = trainSeconds, TotalSeconds = total.Elapsed.TotalSeconds, Metrics = metrics,
        };
    }

    private static int Steps(TabularOptions o) => o.Learner == TabularLearner.Linear ? 1 : o.Trees;

    private static string Describe(TabularTask task) => task switch
    {
        TabularTask.Binary => "binary classifier",
        TabularTask.Multiclass => "multiclass classifier",
        _ => "regression",
    };

    private static JsonObject Preprocessing(TabularModel model, TabularCsvOptions csv, TabularSplit split, TabularOptions o, int[] testRows)
    {
        var features = new JsonArray();
        foreach (var f in model.Features)
            features.Add(new JsonObject { ["name"] = f.Name, ["kind"] = f.Kind.ToString().ToLowerInvariant(), ["missing"] = f.Missing });
        return new JsonObject
        {
            ["label"] = model.LabelName,
            ["task"] = model.Task.ToString().ToLowerInvariant(),
            ["positiveClass"] = model.Task == TabularTask.Binary ? model.Labels[1] : null,
            ["features"] = features,
            ["missingValues"] = new JsonArray([.. csv.MissingValues.Select(v => (JsonNode)v)]),
            ["trimFields"] = csv.TrimFields,
            ["columnNames"] = csv.ColumnNames is null ? null : new JsonArray([.. csv.ColumnNames.Select(v => (JsonNode)v)]),
            ["exclude"] = new JsonArray([.. csv.Exclude.Select(v => (JsonNode)v)]),
            ["split"] = new JsonObject
            {
                ["method"] = split.Method.ToString().ToLowerInvariant(),
                ["testFraction"] = split.TestFraction,
                ["validationFraction"] = o.ValidationFraction,
                ["seed"] = o.Seed,
                ["testRows"] = testRows.Length,
                // The test rows' numbers (0-based, file order), hashed: re-creating the split can be checked against it.
                ["testRowsSha256"] = RowsHash(testRows),
            },
        };
    }

    /// <summary>SHA-256 of the row numbers, one per line, so a re-created split can be checked against the recorded one.</summary>
    public static string RowsHash(IEnumerable<int> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var text = string.Join('\n', rows.Select(r => r.ToString(CultureInfo.InvariantCulture)));
        return Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(text)));
    }

    private static JsonObject ModelJson(TabularModel model)
    {
        var importance = new JsonObject();
        foreach (var (k, v) in model.Importance.OrderByDescending(p => p.Value)) importance[k] = v;
        return new JsonObject
        {
            ["kind"] = model.Learner.ToString().ToLowerInvariant(),
            ["importance"] = importance,
            ["importanceType"] = model.Learner == TabularLearner.Linear ? "abs-weight" : "gain",
        };
    }

    private static void WriteBackground(string path, TabularData fit, int seed)
    {
        var rows = Enumerable.Range(0, fit.RowCount).ToArray();
        new Random(seed).Shuffle(rows);
        var chosen = rows.Take(BackgroundRows).Order().ToArray();
        WriteFeatures(path, fit.Take(chosen), withLabel: false);
    }

    /// <summary>Writes rows as CSV: the features (missing as empty), then the label when asked.</summary>
    internal static void WriteFeatures(string path, TabularData data, bool withLabel)
    {
        using var writer = new StreamWriter(path, false, new UTF8Encoding(false));
        var names = data.Schema.Select(f => f.Name).ToList();
        if (withLabel && data.LabelName is not null) names.Add(data.LabelName);
        Csv.WriteRecord(writer, names);
        var columns = data.Schema.Select(f => data.Features[f.Name]).ToArray();
        var fields = new string[names.Count];
        for (var r = 0; r < data.RowCount; r++)
        {
            for (var c = 0; c < columns.Length; c++)
            {
                fields[c] = columns[c].GetValue(r) switch
                {
                    null => "",
                    float f => f.ToString("R", CultureInfo.InvariantCulture),
                    var v => Convert.ToString(v, CultureInfo.InvariantCulture)!,
                };
            }
            if (withLabel && data.Labels is { } labels) fields[^1] = labels[r];
            Csv.WriteRecord(writer, fields);
        }
    }

    private static void WriteSplit(string directory, TabularData all, TabularData fit, TabularData? validation, TabularData test)
    {
        Directory.CreateDirectory(directory);
        WriteFeatures(Path.Combine(directory, "train.csv"), fit, withLabel: true);
        WriteFeatures(Path.Combine(directory, "validation.csv"), validation ?? fit.Take([]), withLabel: true);
        WriteFeatures(Path.Combine(directory, "test.csv"), test, withLabel: true);
        var kinds = new JsonObject();
        foreach (var f in all.Schema) kinds[f.Name] = f.Kind.ToString().ToLowerInvariant();
        File.WriteAllText(Path.Combine(directory, "schema.json"), new JsonObject { ["label"] = all.LabelName, ["features"] = kinds }.ToJsonString(ForgeJson.Options) + "\n");
    }
}
