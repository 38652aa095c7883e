using System.Diagnostics;
using Forge.Core;
using Forge.Data;

namespace Forge.DeepLearning.Transfer;

/// <summary>What <c>forge finetune</c> asks for: a dataset, a backbone, a mode and where the bundle goes.</summary>
public sealed record TransferRequest
{
    /// <summary>A catalog image dataset (e.g. plantvillage) or an image-folder path.</summary>
    public string Dataset { get; init; } = "plantvillage";

    /// <summary>The catalog dataset's own folder, when given the only place looked in.</summary>
    public string? DataDir { get; init; }

    /// <summary>The pretrained backbone.</summary>
    public string Backbone { get; init; } = "resnet18";

    /// <summary>Training settings.</summary>
    public TransferOptions Options { get; init; } = new();

    /// <summary>Bundle directory to write.</summary>
    public required string OutputDirectory { get; init; }

    /// <summary>Whether an existing bundle directory may be replaced.</summary>
    public bool Overwrite { get; init; }

    /// <summary>Model name recorded in the bundle (default: dataset-backbone-mode).</summary>
    public string? Name { get; init; }

    /// <summary>Follows the run: start, epochs, bundle and outcome (Forge.Tracking's observer records it as a tracked run).</summary>
    public ITrainingObserver Observer { get; init; } = TrainingObservers.None;

    /// <summary>What to do with images that cannot be decoded.</summary>
    public BadImagePolicy BadImages { get; init; } = BadImagePolicy.Fail;

    /// <summary>Use only the first N images per class of each split (quick runs and tests).</summary>
    public int? LimitPerClass { get; init; }

    /// <summary>Share of the images used as the test split when the dataset has no split column.</summary>
    public double TestFraction { get; init; } = 0.2;

    /// <summary>
    /// Writes the drift reference into the bundle from test images (at most <see cref="TransferTraining.ReferenceImages"/>,
    /// evenly spaced, as the served input: centre-cropped RGB in 0–1) and the model's predictions on them
    /// (Forge.Monitoring's <c>BundleProfile.WriteImages</c>, which the CLI passes; Forge.DeepLearning may not reference
    /// Forge.Monitoring); null writes none.
    /// </summary>
    public Action<BundleWriter, Table, Prediction>? ReferenceWriter { get; init; }
}

/// <summary>The outcome of a transfer-learning run.</summary>
public sealed record TransferResult(
    ModelBundle Bundle,
    ClassificationReport Test,
    IReadOnlyList<EpochMetrics> History,
    double TrainSeconds,
    double TotalSeconds,
    int TrainImages,
    int ValidationImages,
    double? ValidationAccuracy,
    IReadOnlyList<SkippedImage> Skipped,
    long Parameters,
    long TrainableParameters,
    double ImagesPerSecond);

/// <summary>Runs transfer learning end to end: load and decode the images, train, evaluate on the test split, write the bundle.</summary>
public static class TransferTraining
{
    /// <summary>Checks a request before any work (output folder, options, dataset name or folder).</summary>
    public static void Validate(TransferRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var problems = new List<OptionProblem>(BundleOutput.FindProblems(request.OutputDirectory, request.Overwrite));
        if (request.LimitPerClass is < 2) problems.Add(new OptionProblem("limitPerClass", $"must be at least 2 (got {request.LimitPerClass})"));
        problems.AddRange(request.Options.FindProblems());
        OptionsException.ThrowIfAny(problems);
        _ = TransferNetwork.CheckBackbone(request.Backbone);
        if (!Directory.Exists(request.Dataset) && DatasetCatalog.Get(request.Dataset) is { Kind: not DatasetKind.ImageFolder } info)
            throw new UsageException($"dataset '{info.Name}' is not a folder of photos; transfer learning reads images in class folders ('forge train {info.Name}' trains it)");
        if (ModelNames.Problem(ModelName(request)) is { } problem)
            throw new UsageException(request.Name is null ? $"{problem} (taken from the dataset folder's name); pass --name NAME" : problem);
    }

    /// <summary>The name the bundle will carry: the request's, or dataset (folder or catalog name), backbone and mode joined with '-'.</summary>
    public static string ModelName(TransferRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Name is { } name) return name;
        var dataset = Directory.Exists(request.Dataset)
            ? Path.GetFileName(Path.GetFullPath(request.Dataset).TrimEnd('/'))
            : DatasetCatalog.Get(request.Dataset).Name;
        return ModelNames.Join(dataset, request.Backbone, TransferOptions.ModeName(request.Options.Mode));
    }

    /// <summary>Opens the request's dataset: an image-folder path, or a catalog name resolved like every other dataset.</summary>
    public static (ImageFolder Folder, string Name, DatasetInfo? Info) OpenDataset(TransferRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (Directory.Exists(request.Dataset)) return (ImageFolder.Open(request.Dataset), Path.GetFileName(Path.GetFullPath(request.Dataset).TrimEnd('/')), null);
        var data = new DatasetResolver(new DatasetResolverOptions { DataDir = request.DataDir }).Resolve(request.Dataset);
        return (ImageFolder.Open(data.Directory), data.Info.Name, data.Info);
    }

    /// <summary>
    /// The train and test entries: the dataset's own split column when it has one, else a stratified split of
    /// <see cref="TransferRequest.TestFraction"/> with seed 0 (fixed, so every mode sees the same test images).
    /// </summary>
    public static (IReadOnlyList<ImageFolderEntry> Train, IReadOnlyList<ImageFolderEntry> Test) SplitEntries(ImageFolder folder, TransferRequest request)
    {
        ArgumentNullException.ThrowIfNull(folder);
        ArgumentNullException.ThrowIfNull(request);
        IReadOnlyList<ImageFolderEntry> train, test;
        if (folder.Entries.Any(e => e.Split is not null))
        {
            train = folder.Split("train");
            test = folder.Split("test");
        }
        else
        {
            var (keep, held) = DataSplits.Stratified([.. folder.Entries.Select(e => e.Label)], folder.ClassNames.Count, request.TestFraction, 0);
            train = [.. keep.Select(i => folder.Entries[i])];
            test = [.. held.Select(i => folder.Entries[i])];
        }
        if (request.LimitPerClass is { } n)
        {
            train = [.. train.GroupBy(e => e.Label).SelectMany(g => g.Take(n)).OrderBy(e => e.Label)];
            test = [.. test.GroupBy(e => e.Label).SelectMany(g => g.Take(Math.Max(2, n / 4))).OrderBy(e => e.Label)];
        }
        return (train, test);
    }

    /// <summary>Trains, evaluates on the test split and writes the bundle; <paramref name="addArtifacts"/> may add plots before it is committed.</summary>
    public static TransferResult Run(TransferRequest request, IProgress<TransferProgress>? progress = null, Action<EpochMetrics>? epochEnded = null,
        Action<BundleWriter, TransferClassifier, ClassificationReport>? addArtifacts = null, CancellationToken cancellationToken = default)
    {
        Validate(request);
        var total = Stopwatch.StartNew();
        var info = Directory.Exists(request.Dataset) ? null : DatasetCatalog.Get(request.Dataset);
        var start = new TrainingStart("transfer", info?.Name ?? Path.GetFullPath(request.Dataset), Hyperparameters(request))
        {
            Tags = info is null ? new Dictionary<string, string>() : new Dictionary<string, string> { [RunTags.DatasetChecksum] = ImageTraining.DatasetChecksum(info) },
        };
        return request.Observer.Run(start, runId => Train(request, runId, total, progress, epochEnded, addArtifacts, cancellationToken), result =>
        {
            var metrics = result.Test.ToMetrics("test");
            metrics["trainSeconds"] = result.TrainSeconds;
            return new TrainingEnd(RunStatus.Finished, metrics, result.History.Count) { BundlePath = result.Bundle.Directory };
        });
    }

    private static TransferResult Train(TransferRequest request, string? runId, Stopwatch total, IProgress<TransferProgress>? progress, Action<EpochMetrics>? epochEnded,
        Action<BundleWriter, TransferClassifier, ClassificationReport>? addArtifacts, CancellationToken cancellationToken)
    {
        var o = request.Options;
        var (folder, datasetName, info) = OpenDataset(request);
        var (trainEntries, testEntries) = SplitEntries(folder, request);
        var decodeProgress = progress is null ? null : new SyncProgress<int>(n => progress.Report(new TransferProgress("decoding images", n, trainEntries.Count + testEntries.Count)));
        var (train, skippedTrain) = RgbImageSet.Decode(trainEntries, folder.ClassNames, o.StoreSize, request.BadImages, decodeProgress);
        var offset = trainEntries.Count;
        var testProgress = progress is null ? null : new SyncProgress<int>(n => progress.Report(new TransferProgress("decoding images", offset + n, trainEntries.Count + testEntries.Count)));
        var (test, skippedTest) = RgbImageSet.Decode(testEntries, folder.ClassNames, o.StoreSize, request.BadImages, testProgress);
        if (train.Count < 2 || test.Count == 0) throw new DataFormatException(folder.Root, $"too few readable images ({train.Count} train, {test.Count} test)");

        var trainer = new TransferTrainer(o, request.Backbone) { Progress = progress };
        trainer.EpochEnded += m => request.Observer.Epoch(m.Epoch, m.ToMetrics());
        if (epochEnded is not null) trainer.EpochEnded += epochEnded;
        using var model = trainer.Train(train, cancellationToken);
        var (report, imagesPerSecond) = Evaluate(model, test);

        var name = ModelName(request);
        using var writer = ModelBundle.Create(request.OutputDirectory, request.Overwrite);
        var manifest = model.WriteTo(writer, name);
        foreach (var (key, value) in report.ToMetrics("test")) manifest.Metrics[key] = value;
        if (model.ValidationAccuracy is { } va) manifest.Metrics["validationAccuracy"] = va;
        manifest.Description = $"{request.Backbone} ({TransferOptions.ModeName(o.Mode)}) image classifier trained on {datasetName} ({model.TrainCount} training images).";
        manifest.License = info?.License;
        manifest.Training = new TrainingInfo
        {
            RunId = runId,
            Dataset = info?.Name ?? folder.Root,
            DatasetChecksum = info is null ? null : ImageTraining.DatasetChecksum(info),
            Hyperparameters = Hyperparameters(request),
            Seed = o.Seed,
            GitCommit = GitInfo.TryGetCommit(),
            DurationSeconds = model.TrainSeconds,
            Epochs = model.History.Count,
        };
        if (request.ReferenceWriter is { } reference)
        {
            var inputs = ReferenceInputs(model, test);
            reference(writer, inputs, model.Predict(inputs));
        }
        addArtifacts?.Invoke(writer, model, report);
        var bundle = writer.Commit(manifest);
        var trainable = model.Network.parameters().Where(p => p.requires_grad).Sum(p => p.numel());
        return new TransferResult(bundle, report, model.History, model.TrainSeconds, total.Elapsed.TotalSeconds, model.TrainCount, model.ValidationCount,
            model.ValidationAccuracy, [.. skippedTrain, .. skippedTest], model.ParameterCount, trainable, imagesPerSecond);
    }

    /// <summary>Most test images a drift reference profiles: a network input is 3×224×224 floats, so a few hundred keep it small and quick.</summary>
    public const int ReferenceImages = 200;

    private static Table ReferenceInputs(TransferClassifier model, RgbImageSet images)
    {
        var count = Math.Min(ReferenceImages, images.Count);
        var per = images.Size * images.Size * 3;
        var rows = new float[count][];
        for (var i = 0; i < count; i++)
        {
            var index = (int)((long)i * images.Count / count);
            rows[i] = model.InputRow(images.Pixels.AsSpan(index * per, per));
        }
        var input = model.Signature.Inputs[0];
        return new Table(Column.Tensor(input.Name, input.CellShape(), rows));
    }

    /// <summary>Classifies a labelled image set and scores it; also returns images classified per second.</summary>
    public static (ClassificationReport Report, double ImagesPerSecond) Evaluate(TransferClassifier model, RgbImageSet images)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(images);
        var sw = Stopwatch.StartNew();
        var probs = model.PredictProbabilities(images);
        sw.Stop();
        var report = ClassificationMetrics.EvaluateProbabilities(images.Labels, probs, model.Labels);
        return (report, images.Count / Math.Max(1e-9, sw.Elapsed.TotalSeconds));
    }

    /// <summary>The settings recorded as run parameters and in the bundle: every option (generated), the backbone and the limit.</summary>
    public static Dictionary<string, string> Hyperparameters(TransferRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var map = new Dictionary<string, string>(OptionsMap.From(request.Options), StringComparer.Ordinal)
        {
            // The mode as the CLI spells it, so a recorded run can be repeated with the same words.
            ["mode"] = TransferOptions.ModeName(request.Options.Mode),
            ["backbone"] = request.Backbone,
            ["limitPerClass"] = request.LimitPerClass?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "all",
        };
        return map;
    }

    /// <summary>Reports on the calling thread, unlike <see cref="Progress{T}"/>, which posts to the thread pool.</summary>
    private sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
