using System.Diagnostics;
using System.Globalization;
using Forge.Core;
using Forge.Data;

namespace Forge.DeepLearning;

/// <summary>What to train: a catalog text dataset and a recurrent model learned from scratch on its words.</summary>
public sealed record SequenceTextRequest
{
    /// <summary>Catalog dataset: "sentiment" (UCI sentences) or "airline-tweets".</summary>
    public string Dataset { get; init; } = "sentiment";

    /// <summary>The dataset's own folder; when set it is the only place looked in.</summary>
    public string? DataDir { get; init; }

    /// <summary>The architecture.</summary>
    public SequenceModelOptions Model { get; init; } = new() { Dropout = 0.3 };

    /// <summary>The training loop's options (augmentation does not apply).</summary>
    public TrainerOptions Options { get; init; } = SequenceTextTraining.DefaultOptions;

    /// <summary>Fewest occurrences in the training split for a word to enter the vocabulary (default 2).</summary>
    public int MinCount { get; init; } = 2;

    /// <summary>Most tokens read per text; the first ones are kept (default 64).</summary>
    public int MaxLength { get; init; } = 64;

    /// <summary>Seed of the stratified train/test split (default 0, the split of <c>forge train sentiment</c>, so models compare on the same test texts).</summary>
    public int SplitSeed { get; init; }

    /// <summary>Share of texts held out for testing (default 0.2).</summary>
    public double TestFraction { get; init; } = 0.2;

    /// <summary>Train on this share of the training split (a stratified sample; default 1). The test split stays whole.</summary>
    public double TrainShare { get; init; } = 1;

    /// <summary>Bundle directory to write; null writes none.</summary>
    public string? OutputDirectory { get; init; }

    /// <summary>Replace an existing bundle directory.</summary>
    public bool Overwrite { get; init; }

    /// <summary>Model name recorded in the manifest (default: dataset-cell).</summary>
    public string? Name { get; init; }

    /// <summary>Follows the run (Forge.Tracking's observer records it as a tracked run).</summary>
    public ITrainingObserver Observer { get; init; } = TrainingObservers.None;

    /// <summary>
    /// Writes the drift reference into the bundle from the held-out test texts (a one-column table, <c>text</c>) and the
    /// model's predictions on them: texts it never trained on, as served texts are, so its confidence on them is the
    /// baseline rather than its over-confidence on the training texts (Forge.Monitoring's <c>BundleProfile.WriteText</c>, which the CLI passes;
    /// Forge.DeepLearning may not reference Forge.Monitoring); null writes none.
    /// </summary>
    public Action<BundleWriter, Table, Prediction>? ReferenceWriter { get; init; }
}

/// <summary>The outcome of <see cref="SequenceTextTraining.Run"/>.</summary>
/// <param name="Bundle">The bundle written, when one was.</param>
/// <param name="Test">Metrics on the test split.</param>
/// <param name="History">Per-epoch metrics.</param>
/// <param name="TrainSeconds">Seconds in training steps.</param>
/// <param name="TotalSeconds">Seconds from start to end.</param>
/// <param name="TrainTexts">Texts in the training split used (validation included).</param>
/// <param name="TestTexts">Texts in the test split.</param>
/// <param name="VocabularySize">Ids of the vocabulary (padding and unknown included).</param>
/// <param name="Truncated">Training texts longer than the maximum length.</param>
public sealed record SequenceTextResult(ModelBundle? Bundle, ClassificationReport Test, IReadOnlyList<EpochMetrics> History, double TrainSeconds,
    double TotalSeconds, int TrainTexts, int TestTexts, int VocabularySize, int Truncated);

/// <summary>Text classification from scratch with a recurrent network: the workflow behind <c>forge train sentiment --model lstm</c>.</summary>
public static class SequenceTextTraining
{
    /// <summary>The text datasets this trainer reads.</summary>
    public static IReadOnlyList<string> Datasets { get; } = ["sentiment", "airline-tweets"];

    /// <summary>The loop options of the text recipe: Adam 2e-3, batch 32, up to 10 epochs with early stopping (patience 3) on a 10 % validation split, clipping at 1.</summary>
    public static TrainerOptions DefaultOptions { get; } = new()
    {
        Epochs = 10,
        BatchSize = 32,
        Optimizer = OptimizerKind.Adam,
        LearningRate = 2e-3,
        WeightDecay = 0,
        Schedule = LearningRateScheduleKind.None,
        ClipGradNorm = 1,
        EarlyStoppingPatience = 3,
        ValidationFraction = 0.1,
        Augment = false,
    };

    /// <summary>Every hyperparameter of a request, as its manifest and tracked run record them.</summary>
    public static Dictionary<string, string> Hyperparameters(SequenceTextRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var map = SequenceClassifierTrainer.Hyperparameters(request.Model, request.Options);
        map["minCount"] = request.MinCount.ToString(CultureInfo.InvariantCulture);
        map["maxLength"] = request.MaxLength.ToString(CultureInfo.InvariantCulture);
        map["splitSeed"] = request.SplitSeed.ToString(CultureInfo.InvariantCulture);
        map["testFraction"] = request.TestFraction.ToString("R", CultureInfo.InvariantCulture);
        map["trainShare"] = request.TrainShare.ToString("R", CultureInfo.InvariantCulture);
        return map;
    }

    /// <summary>Checks a request without reading data; every problem at once.</summary>
    public static void Validate(SequenceTextRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var problems = new List<OptionProblem>();
        if (request.OutputDirectory is not null) problems.AddRange(BundleOutput.FindProblems(request.OutputDirectory, request.Overwrite));
        if (!Datasets.Contains(request.Dataset)) problems.Add(new OptionProblem("dataset", $"'{request.Dataset}' is not a text dataset ({string.Join(", ", Datasets)})"));
        if (request.MinCount < 1) problems.Add(new OptionProblem("minCount", $"must be at least 1 (got {request.MinCount})"));
        if (request.MaxLength < 1) problems.Add(new OptionProblem("maxLength", $"must be at least 1 (got {request.MaxLength})"));
        if (request.TestFraction is <= 0 or >= 1 || double.IsNaN(request.TestFraction)) problems.Add(new OptionProblem("testFraction", $"must be in (0, 1) (got {request.TestFraction})"));
        if (request.TrainShare is <= 0 or > 1 || double.IsNaN(request.TrainShare)) problems.Add(new OptionProblem("trainShare", $"must be in (0, 1] (got {request.TrainShare})"));
        problems.AddRange(request.Model.FindProblems());
        problems.AddRange(request.Options.FindProblems());
        OptionsException.ThrowIfAny(problems);
        if (request.Name is not null || request.OutputDirectory is not null) ModelNames.Validate(ModelName(request));
    }

    /// <summary>The name the bundle carries: the request's, or the dataset and cell joined (<c>sentiment-lstm</c>).</summary>
    public static string ModelName(SequenceTextRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return request.Name ?? ModelNames.Join(request.Dataset, request.Model.Cell.ToString().ToLowerInvariant());
    }

    /// <summary>Loads the dataset, splits it, builds the vocabulary from the training split, trains, tests and writes the bundle.</summary>
    public static SequenceTextResult Run(SequenceTextRequest request, IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var total = Stopwatch.StartNew();
        Validate(request);
        var info = DatasetCatalog.Get(request.Dataset);
        var start = new TrainingStart("sequence", info.Name, Hyperparameters(request))
        {
            Tags = new Dictionary<string, string> { [RunTags.DatasetChecksum] = ImageTraining.DatasetChecksum(info) },
        };
        return request.Observer.Run(start, runId => Train(request, info, runId, total, progress, cancellationToken), r =>
        {
            var metrics = r.Test.ToMetrics("test");
            metrics["trainSeconds"] = r.TrainSeconds;
            metrics["vocabularySize"] = r.VocabularySize;
            return new TrainingEnd(RunStatus.Finished, metrics, r.History.Count) { BundlePath = r.Bundle?.Directory };
        });
    }

    private static SequenceTextResult Train(SequenceTextRequest request, DatasetInfo info, string? runId, Stopwatch total, IProgress<TrainingProgress>? progress,
        CancellationToken cancellationToken)
    {
        var dir = TextDatasets.Resolve(request.Dataset, request.DataDir).Directory;
        var set = request.Dataset == "sentiment" ? TextDatasets.LoadSentiment(dir) : TextDatasets.LoadAirlineTweets(dir);
        var (trainIdx, testIdx) = DataSplits.Stratified(set.Labels, set.ClassNames.Count, request.TestFraction, request.SplitSeed);
        var train = set.Select(trainIdx);
        var test = set.Select(testIdx);
        train = train.StratifiedShare(request.TrainShare, request.Options.Seed);
        // The vocabulary sees the training texts only: a test word counts as unknown, as it would for a new message.
        var vocabulary = WordVocabulary.Build(train.Texts, request.MinCount, request.MaxLength);
        var truncated = train.Texts.Count(t => WordTokenizer.Tokenize(t).Count > request.MaxLength);
        var sequences = new SequenceSet([.. train.Texts.Select(vocabulary.Encode)], train.Labels, train.ClassNames);
        var observed = new ObservedProgress(progress, request.Observer);
        var classifier = new SequenceClassifierTrainer(request.Model, request.Options).Fit(sequences, vocabulary.Size, observed, cancellationToken);
        // Owns the classifier from here on: disposing the text model disposes the network.
        using var model = new SequenceTextClassifier(classifier, vocabulary);
        var probabilities = model.PredictProbabilities(test.Texts);
        var report = ClassificationMetrics.EvaluateProbabilities(test.Labels, [.. probabilities.SelectMany(p => p)], test.ClassNames);
        ModelBundle? bundle = null;
        if (request.OutputDirectory is { } output)
        {
            using var writer = ModelBundle.Create(output, request.Overwrite);
            var manifest = model.WriteTo(writer, ModelName(request));
            // A recurrent model has no cross-validation to give out-of-fold answers, so its reference is the test split,
            // already predicted above.
            request.ReferenceWriter?.Invoke(writer, new Table(Column.String(model.Signature.Inputs[0].Name, [.. test.Texts])),
                Prediction.Classes(model.Labels, probabilities));
            foreach (var (key, value) in report.ToMetrics("test")) manifest.Metrics[key] = value;
            if (classifier.History.Count > 0 && classifier.History[^1].ValidationAccuracy is { } va) manifest.Metrics["validationAccuracy"] = va;
            manifest.Description = string.Create(CultureInfo.InvariantCulture,
                $"{request.Model.Cell.ToString().ToLowerInvariant()} text classifier trained from scratch on {info.Name} ({train.Count:N0} training texts, {vocabulary.Size:N0} vocabulary ids).");
            manifest.License = info.License;
            manifest.Training = new TrainingInfo
            {
                RunId = runId,
                Dataset = info.Name,
                DatasetChecksum = ImageTraining.DatasetChecksum(info),
                Hyperparameters = Hyperparameters(request),
                Seed = request.Options.Seed,
                GitCommit = GitInfo.TryGetCommit(),
                DurationSeconds = classifier.TrainSeconds,
                Epochs = classifier.History.Count,
                Split = string.Create(CultureInfo.InvariantCulture, $"stratified {1 - request.TestFraction:P0}/{request.TestFraction:P0} with seed {request.SplitSeed}; vocabulary from the training part only"),
            };
            bundle = writer.Commit(manifest);
        }
        return new SequenceTextResult(bundle, report, classifier.History, classifier.TrainSeconds, total.Elapsed.TotalSeconds, train.Count, test.Count,
            vocabulary.Size, truncated);
    }

    private sealed class ObservedProgress(IProgress<TrainingProgress>? inner, ITrainingObserver observer) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value)
        {
            if (value.Completed is { } epoch) observer.Epoch(epoch.Epoch, epoch.ToMetrics());
            inner?.Report(value);
        }
    }
}
