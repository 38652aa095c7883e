using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Forge.Core;
using Forge.Data;

namespace Forge.DeepLearning;

/// <summary>What to train: a catalog image dataset, an architecture, options and where the bundle goes.</summary>
public sealed record ImageTrainingRequest
{
    /// <summary>Catalog name of the dataset, e.g. "mnist".</summary>
    public string Dataset { get; init; } = "mnist";

    /// <summary>The dataset's own folder; when set it is the only place looked in.</summary>
    public string? DataDir { get; init; }

    /// <summary>The architecture.</summary>
    public ModelSpec Spec { get; init; } = ModelSpec.Cnn();

    /// <summary>The training options.</summary>
    public TrainerOptions Options { get; init; } = new();

    /// <summary>Use only the first N training images (the test set stays whole).</summary>
    public int? Limit { get; init; }

    /// <summary>Bundle directory to write.</summary>
    public required string OutputDirectory { get; init; }

    /// <summary>Replace an existing bundle directory.</summary>
    public bool Overwrite { get; init; }

    /// <summary>Model name recorded in the manifest (default: dataset-model).</summary>
    public string? Name { get; init; }

    /// <summary>Follows the run: start, epochs, bundle and outcome (Forge.Tracking's observer records it as a tracked run).</summary>
    public ITrainingObserver Observer { get; init; } = TrainingObservers.None;

    /// <summary>
    /// Writes the drift reference into the bundle from test images (at most <see cref="ImageTraining.ReferenceImages"/>,
    /// evenly spaced, as the served input: pixels in 0–1) and the model's predictions on them — images it never trained
    /// on, so its confidence on them is what new images like them get (Forge.Monitoring's
    /// <c>BundleProfile.WriteImages</c>, which the CLI passes; Forge.DeepLearning may not reference Forge.Monitoring); null writes none.
    /// </summary>
    public Action<BundleWriter, Table, Prediction>? ReferenceWriter { get; init; }
}

/// <summary>The outcome of <see cref="ImageTraining.Run"/>.</summary>
/// <param name="Bundle">The bundle written.</param>
/// <param name="Test">Metrics on the full test split.</param>
/// <param name="History">Per-epoch metrics.</param>
/// <param name="TrainSeconds">Seconds in training steps.</param>
/// <param name="TotalSeconds">Seconds from start to bundle written.</param>
/// <param name="TrainImages">Images trained on.</param>
/// <param name="ValidationImages">Images held out for validation.</param>
/// <param name="Parameters">Trainable parameters.</param>
/// <param name="ImagesPerSecond">Test-set classification speed.</param>
/// <param name="GradientNorms">Per-epoch mean gradient norm of each layer, when gradients were diagnosed.</param>
public sealed record ImageTrainingResult(
    ModelBundle Bundle, ClassificationReport Test, IReadOnlyList<EpochMetrics> History, double TrainSeconds, double TotalSeconds,
    int TrainImages, int ValidationImages, long Parameters, double ImagesPerSecond, IReadOnlyList<Dictionary<string, double>> GradientNorms);

/// <summary>The train → evaluate → bundle workflow behind <c>forge train</c>, usable from any C# program.</summary>
public static class ImageTraining
{
    /// <summary>Loads the dataset, trains, evaluates on the whole test split and writes the bundle atomically.</summary>
    /// <param name="request">What to train.</param>
    /// <param name="progress">Receives training progress.</param>
    /// <param name="addArtifacts">Adds files (plots) to the bundle before it is committed.</param>
    /// <param name="cancellationToken">Stops training between steps.</param>
    public static ImageTrainingResult Run(ImageTrainingRequest request, IProgress<TrainingProgress>? progress = null,
        Action<BundleWriter, ImageClassifier, ClassificationReport>? addArtifacts = null, CancellationToken cancellationToken = default)
    {
        var total = Stopwatch.StartNew();
        Validate(request);
        var info = DatasetCatalog.Get(request.Dataset);
        var start = new TrainingStart("image", info.Name, Hyperparameters(request))
        {
            Tags = new Dictionary<string, string> { [RunTags.DatasetChecksum] = DatasetChecksum(info) },
        };
        return request.Observer.Run(start, runId => Train(request, runId, total, progress, addArtifacts, cancellationToken), result =>
        {
            var metrics = result.Test.ToMetrics("test");
            metrics["trainSeconds"] = result.TrainSeconds;
            return new TrainingEnd(RunStatus.Finished, metrics, result.History.Count) { BundlePath = result.Bundle.Directory };
        });
    }

    /// <summary>Most images a drift reference profiles: enough for stable per-image summaries, a few seconds of inference.</summary>
    public const int ReferenceImages = 5000;

    /// <summary>Up to <see cref="ReferenceImages"/> images, evenly spaced, as the model's input table (pixels in 0–1, as served).</summary>
    internal static Table ReferenceInputs(ImageSet images, TensorSpec input)
    {
        var count = Math.Min(ReferenceImages, images.Count);
        var per = images.Height * images.Width;
        var rows = new float[count][];
        for (var i = 0; i < count; i++)
        {
            var image = images.GetImage((int)((long)i * images.Count / count));
            var row = new float[per];
            for (var p = 0; p < per; p++) row[p] = image[p] / 255f;
            rows[i] = row;
        }
        return new Table(Column.Tensor(input.Name, input.CellShape(), rows));
    }

    /// <summary>Every hyperparameter of a request, as its manifest and tracked run record them.</summary>
    public static Dictionary<string, string> Hyperparameters(ImageTrainingRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return new Dictionary<string, string>(request.Options.ToDictionary(), StringComparer.Ordinal)
        {
            ["model"] = request.Spec.Kind,
            ["limit"] = request.Limit?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "all",
        };
    }

    private static ImageTrainingResult Train(ImageTrainingRequest request, string? runId, Stopwatch total, IProgress<TrainingProgress>? progress,
        Action<BundleWriter, ImageClassifier, ClassificationReport>? addArtifacts, CancellationToken cancellationToken)
    {
        var observed = new ObservedProgress(progress, request.Observer);
        var data = new DatasetResolver(new DatasetResolverOptions { DataDir = request.DataDir }).Resolve(request.Dataset);
        var train = MnistFormat.Load(data.Directory, "train", data.Info.ClassNames);
        var test = MnistFormat.Load(data.Directory, "test", data.Info.ClassNames);
        if (request.Limit is { } limit) train = train.Take(limit);

        var options = request.Options;
        using var model = new ImageClassifierTrainer(request.Spec, options).Fit(train, observed, cancellationToken);
        var (report, imagesPerSecond) = Evaluate(model, test);

        using var writer = ModelBundle.Create(request.OutputDirectory, request.Overwrite);
        var name = ModelName(request);
        var manifest = model.WriteTo(writer, name);
        var validation = ImageClassifierTrainer.StratifiedSplit(train.Labels, train.ClassCount, options.ValidationFraction, options.Seed).Validation.Length;
        foreach (var (key, value) in report.ToMetrics("test")) manifest.Metrics[key] = value;
        if (model.History.Count > 0 && model.History[^1].ValidationAccuracy is { } va) manifest.Metrics["validationAccuracy"] = va;
        manifest.Description = $"{request.Spec.Kind} image classifier trained on {data.Info.Name} ({train.Count - validation} training images).";
        manifest.License = data.Info.License;
        manifest.Training = new TrainingInfo
        {
            RunId = runId,
            Dataset = data.Info.Name,
            DatasetChecksum = DatasetChecksum(data.Info),
            Hyperparameters = Hyperparameters(request),
            Seed = options.Seed,
            GitCommit = GitInfo.TryGetCommit(),
            DurationSeconds = model.TrainSeconds,
            Epochs = model.History.Count,
        };
        if (request.ReferenceWriter is { } reference)
        {
            var inputs = ReferenceInputs(test, model.Signature.Inputs[0]);
            reference(writer, inputs, model.Predict(inputs));
        }
        addArtifacts?.Invoke(writer, model, report);
        var bundle = writer.Commit(manifest);
        return new ImageTrainingResult(bundle, report, model.History, model.TrainSeconds, total.Elapsed.TotalSeconds,
            train.Count - validation, validation, model.ParameterCount, imagesPerSecond, model.GradientNorms);
    }

    /// <summary>
    /// Checks a request without touching data: limit, output folder, architecture, options, dataset name, and an explicit
    /// data folder. Callers that open a tracking run call it first, so a typo leaves no failed run behind.
    /// </summary>
    public static void Validate(ImageTrainingRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var problems = new List<OptionProblem>(BundleOutput.FindProblems(request.OutputDirectory, request.Overwrite));
        if (request.Limit is < 2) problems.Add(new OptionProblem("limit", $"must be at least 2 (got {request.Limit})"));
        problems.AddRange(request.Options.FindProblems());
        OptionsException.ThrowIfAny(problems);
        request.Spec.Validate();
        var info = DatasetCatalog.Get(request.Dataset);
        // Checked here, before a tracked run starts: the IDX reader would otherwise fail on a photo folder halfway in.
        if (info.Kind != DatasetKind.IdxImages)
            throw new UsageException($"dataset '{info.Name}' holds {Describe(info.Kind)}; this trainer reads IDX digit images ({Alternative(info)})");
        ModelNames.Validate(ModelName(request));
        // Only an explicit folder is checked: finding the dataset elsewhere may mean a download, which belongs to the run.
        if (request.DataDir is not null)
            new DatasetResolver(new DatasetResolverOptions { DataDir = request.DataDir, AllowDownload = false }).Resolve(request.Dataset);
    }

    private static string Describe(DatasetKind kind) => kind switch
    {
        DatasetKind.ImageFolder => "photos in class folders",
        DatasetKind.Text => "labelled texts",
        DatasetKind.Tabular => "a table",
        _ => kind.ToString(),
    };

    private static string Alternative(DatasetInfo info) => info.Kind switch
    {
        DatasetKind.ImageFolder => $"use 'forge finetune {info.Name}'",
        _ => $"'forge train {info.Name}' picks the right trainer",
    };

    /// <summary>The name the bundle will carry: the request's, or the dataset and architecture joined (<c>mnist-cnn</c>).</summary>
    public static string ModelName(ImageTrainingRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return request.Name ?? ModelNames.Join(DatasetCatalog.Get(request.Dataset).Name, request.Spec.Kind);
    }

    /// <summary>Classifies a labelled image set and scores it; also returns images classified per second.</summary>
    public static (ClassificationReport Report, double ImagesPerSecond) Evaluate(ImageClassifier model, ImageSet images)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(images);
        // Warm-up first: libtorch builds its kernels for each batch shape on first use, a one-off start-up cost. The pass
        // below uses two shapes, full batches and the remainder, so both are built here.
        var tail = images.Count % ImageClassifier.InferenceBatch;
        foreach (var warm in new[] { Math.Min(images.Count, ImageClassifier.InferenceBatch), tail }.Where(n => n > 0).Distinct())
            model.PredictProbabilities(images.Take(warm));
        var sw = Stopwatch.StartNew();
        var probs = model.PredictProbabilities(images);
        sw.Stop();
        var truth = images.Labels.Select(b => (int)b).ToArray();
        var report = ClassificationMetrics.EvaluateProbabilities(truth, probs, model.Labels);
        return (report, images.Count / Math.Max(1e-9, sw.Elapsed.TotalSeconds));
    }

    /// <summary>One checksum for a dataset version: SHA-256 over the catalog's per-file checksums, in file order.</summary>
    public static string DatasetChecksum(DatasetInfo info)
    {
        ArgumentNullException.ThrowIfNull(info);
        var text = string.Join("\n", info.Files.Select(f => $"{f.FileName} {f.Sha256}"));
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
    }

    /// <summary>Passes progress on and tells the observer each finished epoch.</summary>
    private sealed class ObservedProgress(IProgress<TrainingProgress>? inner, ITrainingObserver observer) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value)
        {
            if (value.Completed is { } epoch) observer.Epoch(epoch.Epoch, epoch.ToMetrics());
            inner?.Report(value);
        }
    }
}
