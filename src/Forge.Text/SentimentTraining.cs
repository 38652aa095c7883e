using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Forge.Core;
using Forge.Data;

namespace Forge.Text;

/// <summary>What to train: a text dataset (plus extra ones), the featuriser, the split and where the bundle goes.</summary>
public sealed record SentimentTrainingRequest
{
    /// <summary>"sentiment" (binary, UCI) or "airline-tweets" (3 classes on its own).</summary>
    public string Dataset { get; init; } = "sentiment";

    /// <summary>More datasets trained on with <see cref="Dataset"/>; only "airline-tweets" with "sentiment" (neutral tweets dropped).</summary>
    public IReadOnlyList<string> Include { get; init; } = [];

    /// <summary>Train the TF-IDF baseline instead of the sentence-encoder model.</summary>
    public bool Baseline { get; init; }

    /// <summary>Seed of the train/test split and of the cross-validation folds.</summary>
    public int Seed { get; init; }

    /// <summary>Share of each class held out for the test (default 0.2).</summary>
    public double TestFraction { get; init; } = 0.2;

    /// <summary>Folds of the cross-validation that picks C on the training part.</summary>
    public int Folds { get; init; } = 5;

    /// <summary>The values of C cross-validation chooses from.</summary>
    public IReadOnlyList<double> CGrid { get; init; } = [0.1, 0.3, 1, 3, 10, 30, 100];

    /// <summary>Use a stratified sample of this many texts (before the split), for quick runs.</summary>
    public int? Limit { get; init; }

    /// <summary>
    /// Train on this stratified share of the training part (default 1; the test part stays whole). The sample is drawn as
    /// the recurrent text trainer draws it, so at the same split seed and share both learn from the same texts.
    /// </summary>
    public double TrainShare { get; init; } = 1;

    /// <summary>A folder holding the dataset folders (or the one dataset's folder); resolved as <c>--data-dir</c>.</summary>
    public string? DataDir { get; init; }

    /// <summary>Bundle directory to write; nothing is written when null.</summary>
    public string? OutputDirectory { get; init; }

    /// <summary>Replace an existing bundle directory.</summary>
    public bool Overwrite { get; init; }

    /// <summary>Model name recorded in the manifest (default: datasets and featuriser).</summary>
    public string? Name { get; init; }

    /// <summary>Follows the run: start, outcome and bundle (Forge.Tracking's observer records it as a tracked run).</summary>
    public ITrainingObserver Observer { get; init; } = TrainingObservers.None;

    /// <summary>How the encoder uses the machine.</summary>
    public SentenceEncoderOptions? EncoderOptions { get; init; }

    /// <summary>
    /// Writes the drift reference into the bundle from the held-out test texts (a one-column table, <c>text</c>) and the
    /// model's answers on them, which carry the sentence embeddings computed for the evaluation (Forge.Monitoring's
    /// <c>BundleProfile.WriteText</c>, which the CLI passes; Forge.Text may not reference Forge.Monitoring); null writes
    /// none. Test texts, not training texts: the model is over-confident on texts it was fitted on, so their answers would
    /// make new texts like them look like prediction drift.
    /// </summary>
    public Action<BundleWriter, Table, Prediction>? ReferenceWriter { get; init; }

    /// <summary>All dataset names trained on, main first.</summary>
    public IReadOnlyList<string> AllDatasets => [Dataset, .. Include];
}

/// <summary>The outcome of <see cref="SentimentTraining.Run"/>.</summary>
/// <param name="Model">The fitted classifier (dispose it).</param>
/// <param name="Bundle">The bundle written, when an output directory was given.</param>
/// <param name="Test">Metrics on the held-out test part.</param>
/// <param name="C">The C cross-validation chose.</param>
/// <param name="CrossValidation">Mean cross-validated accuracy of each C tried.</param>
/// <param name="TrainSeconds">Seconds from data loaded to model fitted (featurising the training part included).</param>
/// <param name="TotalSeconds">Seconds from start to bundle written.</param>
/// <param name="TrainCount">Texts trained on.</param>
/// <param name="TestCount">Texts tested on.</param>
/// <param name="Labels">The labels.</param>
public sealed record SentimentTrainingResult(
    TextClassifier Model, ModelBundle? Bundle, ClassificationReport Test, double C, IReadOnlyDictionary<double, double> CrossValidation,
    double TrainSeconds, double TotalSeconds, int TrainCount, int TestCount, IReadOnlyList<string> Labels);

/// <summary>Progress of a sentiment training run, as one line for people.</summary>
/// <param name="Stage">"load", "encode", "cross-validate", "fit", "evaluate" or "write".</param>
/// <param name="Fraction">How far the stage is, 0-1.</param>
/// <param name="Detail">What is happening.</param>
public sealed record TextTrainingProgress(string Stage, double Fraction, string Detail);

/// <summary>The load → split → cross-validate → fit → evaluate → bundle workflow behind <c>forge train sentiment</c>.</summary>
public static class SentimentTraining
{
    /// <summary>The datasets text training knows.</summary>
    public static IReadOnlyList<string> Datasets { get; } = ["sentiment", "airline-tweets"];

    /// <summary>Checks a request without touching data; reports every problem at once.</summary>
    public static void Validate(SentimentTrainingRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var problems = new List<string>();
        if (!Datasets.Contains(request.Dataset)) problems.Add($"dataset '{request.Dataset}' is not a text dataset ({string.Join(", ", Datasets)})");
        foreach (var extra in request.Include)
        {
            if (request.Dataset != "sentiment" || extra != "airline-tweets")
                problems.Add($"--include {extra}: only 'airline-tweets' can be added, and only to 'sentiment'");
        }
        if (request.Include.Distinct(StringComparer.Ordinal).Count() != request.Include.Count) problems.Add("--include names a dataset twice");
        if (!(request.TestFraction > 0 && request.TestFraction < 1)) problems.Add($"test fraction must be in (0, 1) (got {request.TestFraction})");
        if (request.Folds < 2) problems.Add($"folds must be at least 2 (got {request.Folds})");
        if (request.CGrid.Count == 0 || request.CGrid.Any(c => !(c > 0) || double.IsInfinity(c))) problems.Add("the C grid needs one or more positive numbers");
        if (request.Limit is < 20) problems.Add($"--limit must be at least 20 (got {request.Limit})");
        if (request.TrainShare is <= 0 or > 1 || double.IsNaN(request.TrainShare)) problems.Add($"the training share must be in (0, 1] (got {request.TrainShare})");
        if (request.OutputDirectory is { } output)
        {
            if (File.Exists(output)) problems.Add($"{output} is a file; --out names a bundle directory");
            else if (!request.Overwrite && Directory.Exists(output)) problems.Add($"{output} already exists; choose another --out or pass --overwrite");
        }
        request.EncoderOptions?.Validate();
        if (ModelNames.Problem(ModelName(request)) is { } nameProblem) problems.Add(nameProblem);
        if (problems.Count > 0) throw new UsageException(string.Join("; ", problems));
    }

    /// <summary>The name the bundle will carry: the request's, or the datasets and the featuriser joined with '-' (<c>sentiment-airline-tweets-minilm-logreg</c>).</summary>
    public static string ModelName(SentimentTrainingRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return request.Name ?? ModelNames.Join([.. request.AllDatasets, FeaturiserKind(request)]);
    }

    /// <summary>The labelled texts a request trains and tests on, before the split (after <see cref="SentimentTrainingRequest.Limit"/>).</summary>
    public static TextSet Load(SentimentTrainingRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var main = TextDatasets.Resolve(request.Dataset, request.DataDir);
        var set = request.Dataset == "sentiment"
            ? TextDatasets.LoadSentiment(main.Directory)
            : TextDatasets.LoadAirlineTweets(main.Directory);
        foreach (var extra in request.Include)
            set = set.Concat(TextDatasets.LoadAirlineTweets(TextDatasets.Resolve(extra, request.DataDir).Directory, binary: true));
        if (request.Limit is { } limit && limit < set.Count)
        {
            var (_, sample) = DataSplits.Stratified(set.Labels, set.ClassNames.Count, (double)limit / set.Count, request.Seed);
            set = set.Select(sample);
        }
        return set;
    }

    /// <summary>Trains and evaluates as the request says, and writes the bundle when it names a directory.</summary>
    /// <param name="request">What to train.</param>
    /// <param name="progress">Receives progress lines.</param>
    /// <param name="encoder">An open encoder to use (not disposed); one is opened (and owned by the model) when null.</param>
    /// <param name="cache">Remembers embeddings across runs (the bench trains five seeds on the same sentences).</param>
    /// <param name="cancellationToken">Stops between batches and fits.</param>
    public static SentimentTrainingResult Run(SentimentTrainingRequest request, IProgress<TextTrainingProgress>? progress = null,
        SentenceEncoder? encoder = null, EmbeddingCache? cache = null, CancellationToken cancellationToken = default)
    {
        var total = Stopwatch.StartNew();
        Validate(request);
        var start = new TrainingStart("sentiment", string.Join("+", request.AllDatasets), Hyperparameters(request))
        {
            Tags = new Dictionary<string, string> { [RunTags.DatasetChecksum] = DatasetChecksum([.. request.AllDatasets.Select(DatasetCatalog.Get)]) },
        };
        return request.Observer.Run(start, runId => Train(request, runId, total, progress, encoder, cache, cancellationToken), result =>
        {
            var metrics = result.Test.ToMetrics("test");
            metrics["trainSeconds"] = result.TrainSeconds;
            metrics["cvAccuracy"] = result.CrossValidation[result.C];
            metrics["c"] = result.C;
            return new TrainingEnd(RunStatus.Finished, metrics, 0)
            {
                BundlePath = result.Bundle?.Directory,
                ChosenParameters = new Dictionary<string, string> { ["c"] = result.C.ToString("R", CultureInfo.InvariantCulture) },
            };
        });
    }

    private static SentimentTrainingResult Train(SentimentTrainingRequest request, string? runId, Stopwatch total, IProgress<TextTrainingProgress>? progress,
        SentenceEncoder? encoder, EmbeddingCache? cache, CancellationToken cancellationToken)
    {
        progress?.Report(new TextTrainingProgress("load", 0, $"loading {string.Join(" + ", request.AllDatasets)}"));
        var set = Load(request);
        var (trainIdx, testIdx) = DataSplits.Stratified(set.Labels, set.ClassNames.Count, request.TestFraction, request.Seed);
        var train = set.Select(trainIdx);
        var test = set.Select(testIdx);
        train = train.StratifiedShare(request.TrainShare, request.Seed);
        progress?.Report(new TextTrainingProgress("load", 1, string.Create(CultureInfo.InvariantCulture,
            $"{set.Count:N0} texts ({TextDatasets.Describe(set)}): {train.Count:N0} train, {test.Count:N0} test")));

        var trainClock = Stopwatch.StartNew();
        TextClassifier model;
        IReadOnlyDictionary<double, double> cv;
        var ownsEncoder = false;
        if (request.Baseline)
        {
            (model, cv) = FitTfidf(train, request, progress, cancellationToken);
        }
        else
        {
            if (encoder is null)
            {
                encoder = new SentenceEncoder(MiniLmFiles.Extract(), request.EncoderOptions);
                ownsEncoder = true;
            }
            try
            {
                (model, cv) = FitOnEmbeddings(train, request, encoder, ownsEncoder, cache, progress, cancellationToken);
            }
            catch
            {
                if (ownsEncoder) encoder.Dispose();
                throw;
            }
        }
        trainClock.Stop();

        try
        {
            progress?.Report(new TextTrainingProgress("evaluate", 0, $"evaluating on {test.Count:N0} test texts"));
            // One pass over the test texts gives the metrics and, with its embeddings, the drift reference.
            var answers = model.Answer(test.Texts, Counter("evaluate", test.Count, progress), cancellationToken);
            var report = model.Evaluate(answers.Probabilities!, test.Labels);
            ModelBundle? bundle = null;
            if (request.OutputDirectory is { } output)
            {
                progress?.Report(new TextTrainingProgress("write", 0, $"writing {output}"));
                Action<BundleWriter>? reference = null;
                if (request.ReferenceWriter is { } writeProfile)
                    reference = w => writeProfile(w, new Table(Column.String(model.Signature.Inputs[0].Name, [.. test.Texts])), answers);
                bundle = WriteBundle(request, runId, model, report, cv, train.Count, trainClock.Elapsed.TotalSeconds, reference);
            }
            return new SentimentTrainingResult(model, bundle, report, model.C, cv, trainClock.Elapsed.TotalSeconds, total.Elapsed.TotalSeconds,
                train.Count, test.Count, set.ClassNames);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    private static (TextClassifier, IReadOnlyDictionary<double, double>) FitOnEmbeddings(TextSet train, SentimentTrainingRequest request,
        SentenceEncoder encoder, bool ownsEncoder, EmbeddingCache? cache, IProgress<TextTrainingProgress>? progress, CancellationToken ct)
    {
        progress?.Report(new TextTrainingProgress("encode", 0, $"encoding {train.Count:N0} training texts with {MiniLmFiles.EncoderName}"));
        var counter = Counter("encode", train.Count, progress);
        var vectors = cache is null ? encoder.Encode(train.Texts, counter, ct) : cache.Encode(encoder, train.Texts, counter, ct);
        var x = FeatureMatrix.Dense(vectors, SentenceEncoder.Dimension);
        var k = train.ClassNames.Count;
        var cv = CrossValidate(train.Labels, k, request, (trainRows, _) => x.Select(trainRows), (_, rows) => x.Select(rows), progress, ct);
        var c = Best(cv);
        progress?.Report(new TextTrainingProgress("fit", 0, string.Create(CultureInfo.InvariantCulture, $"fitting the head with C={c:G4} on all {train.Count:N0} texts")));
        var head = SoftmaxRegression.Fit(x, train.Labels, k, new SoftmaxRegressionOptions { C = c }, ct);
        return (TextClassifier.OnEmbeddings(train.ClassNames, head, c, encoder, ownsEncoder, cache), cv);
    }

    private static (TextClassifier, IReadOnlyDictionary<double, double>) FitTfidf(TextSet train, SentimentTrainingRequest request,
        IProgress<TextTrainingProgress>? progress, CancellationToken ct)
    {
        var k = train.ClassNames.Count;
        // TF-IDF learns its vocabulary and idf from data, so each fold fits its own on the fold's training texts only.
        var vectorizers = new Dictionary<int[], TfidfVectorizer>(ReferenceEqualityComparer.Instance);
        TfidfVectorizer For(int[] trainRows)
        {
            lock (vectorizers)
            {
                if (!vectorizers.TryGetValue(trainRows, out var v))
                    vectorizers[trainRows] = v = TfidfVectorizer.Fit(trainRows.Select(i => train.Texts[i]).ToArray());
                return v;
            }
        }
        var cv = CrossValidate(train.Labels, k, request,
            (trainRows, _) => For(trainRows).Transform(trainRows.Select(i => train.Texts[i]).ToArray()),
            (trainRows, rows) => For(trainRows).Transform(rows.Select(i => train.Texts[i]).ToArray()),
            progress, ct);
        var c = Best(cv);
        progress?.Report(new TextTrainingProgress("fit", 0, string.Create(CultureInfo.InvariantCulture, $"fitting TF-IDF + logistic regression with C={c:G4} on all {train.Count:N0} texts")));
        var tfidf = TfidfVectorizer.Fit(train.Texts);
        var head = SoftmaxRegression.Fit(tfidf.Transform(train.Texts), train.Labels, k, new SoftmaxRegressionOptions { C = c }, ct);
        return (TextClassifier.OnTfidf(train.ClassNames, head, c, tfidf), cv);
    }

    /// <summary>
    /// Mean accuracy of each C over stratified folds of the training part. Fits run in parallel, one per core; each is
    /// deterministic, so the result does not depend on the schedule.
    /// </summary>
    private static Dictionary<double, double> CrossValidate(IReadOnlyList<int> labels, int classes, SentimentTrainingRequest request,
        Func<int[], int[], FeatureMatrix> trainFeatures, Func<int[], int[], FeatureMatrix> heldOutFeatures,
        IProgress<TextTrainingProgress>? progress, CancellationToken ct)
    {
        var folds = DataSplits.StratifiedFolds(labels, classes, request.Folds, request.Seed);
        var splits = folds.Select((heldOut, f) => (Train: folds.Where((_, g) => g != f).SelectMany(x => x).Order().ToArray(), HeldOut: heldOut)).ToArray();
        var jobs = request.CGrid.SelectMany(c => splits.Select(s => (C: c, s.Train, s.HeldOut))).ToArray();
        var correct = new int[jobs.Length];
        var done = 0;
        progress?.Report(new TextTrainingProgress("cross-validate", 0, $"{request.Folds}-fold cross-validation of C over {string.Join(", ", request.CGrid.Select(c => c.ToString("G4", CultureInfo.InvariantCulture)))}"));
        Parallel.For(0, jobs.Length, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount, CancellationToken = ct }, j =>
        {
            var (c, trainRows, heldOut) = jobs[j];
            var head = SoftmaxRegression.Fit(trainFeatures(trainRows, trainRows), trainRows.Select(i => labels[i]).ToArray(), classes,
                new SoftmaxRegressionOptions { C = c, Tolerance = 1e-5, MaxIterations = 1000 }, ct);
            var p = head.PredictProbabilities(heldOutFeatures(trainRows, heldOut));
            for (var i = 0; i < heldOut.Length; i++)
            {
                if (ClassificationMetrics.ArgMax(p[i]) == labels[heldOut[i]]) correct[j]++;
            }
            var n = Interlocked.Increment(ref done);
            progress?.Report(new TextTrainingProgress("cross-validate", (double)n / jobs.Length, $"fit {n}/{jobs.Length}"));
        });
        var result = new Dictionary<double, double>();
        foreach (var c in request.CGrid)
        {
            var total = 0;
            for (var j = 0; j < jobs.Length; j++)
            {
                if (jobs[j].C == c) total += correct[j];
            }
            result[c] = (double)total / labels.Count;
        }
        return result;
    }

    // The most accurate C; on a tie the smaller (stronger regularisation), the safer choice on so few samples.
    private static double Best(IReadOnlyDictionary<double, double> cv) =>
        cv.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key).First().Key;

    private static Progress? Counter(string stage, int total, IProgress<TextTrainingProgress>? progress) =>
        progress is null ? null : new Progress(stage, total, progress);

    private sealed class Progress(string stage, int total, IProgress<TextTrainingProgress> inner) : IProgress<int>
    {
        public void Report(int value) => inner.Report(new TextTrainingProgress(stage, total == 0 ? 1 : (double)value / total,
            string.Create(CultureInfo.InvariantCulture, $"{value:N0}/{total:N0} texts")));
    }

    private static string FeaturiserKind(SentimentTrainingRequest request) => request.Baseline ? "tfidf-logreg" : "minilm-logreg";

    private static ModelBundle WriteBundle(SentimentTrainingRequest request, string? runId, TextClassifier model, ClassificationReport report,
        IReadOnlyDictionary<double, double> cv, int trainCount, double trainSeconds, Action<BundleWriter>? writeReference)
    {
        using var writer = ModelBundle.Create(request.OutputDirectory!, request.Overwrite);
        var datasets = request.AllDatasets.Select(DatasetCatalog.Get).ToArray();
        var manifest = model.WriteTo(writer, ModelName(request));
        writeReference?.Invoke(writer);
        foreach (var (key, value) in report.ToMetrics("test")) manifest.Metrics[key] = value;
        manifest.Metrics["cvAccuracy"] = cv[model.C];
        var featurizer = request.Baseline ? "TF-IDF (word 1-2-grams)" : $"{MiniLmFiles.EncoderName} sentence embeddings";
        manifest.Description = $"Sentiment classifier ({string.Join("/", model.Labels)}): softmax regression on {featurizer}, trained on {trainCount:N0} texts of {string.Join(" + ", request.AllDatasets)}"
            + (request.Include.Count > 0 ? " (neutral tweets dropped)." : ".");
        manifest.License = LicenseText(datasets, request.Baseline);
        manifest.Training = new TrainingInfo
        {
            RunId = runId,
            Dataset = string.Join("+", request.AllDatasets),
            DatasetChecksum = DatasetChecksum(datasets),
            Hyperparameters = Hyperparameters(request, model.C),
            Seed = request.Seed,
            GitCommit = GitInfo.TryGetCommit(),
            DurationSeconds = trainSeconds,
            Epochs = 0,
        };
        return writer.Commit(manifest);
    }

    /// <summary>The licence section of the model card: every training set's licence, and the encoder's.</summary>
    internal static string LicenseText(IReadOnlyList<DatasetInfo> datasets, bool baseline)
    {
        var text = new StringBuilder("Training data: ");
        text.Append(string.Join("; ", datasets.Select(d => $"{d.Name} — {d.Description.Split(':')[0]} — {d.License}")));
        text.Append(". ");
        if (datasets.Any(d => d.License.Contains("NC", StringComparison.Ordinal)))
            text.Append("A training set is licensed non-commercially (CC BY-NC-SA 4.0): this model may not be used commercially, and derived models must keep that licence. ");
        if (!baseline) text.Append("The bundled encoder, all-MiniLM-L6-v2, is Apache-2.0.");
        return text.ToString().Trim();
    }

    /// <summary>The hyperparameters recorded in the bundle and the tracking run.</summary>
    public static Dictionary<string, string> Hyperparameters(SentimentTrainingRequest request, double? chosenC = null)
    {
        ArgumentNullException.ThrowIfNull(request);
        var inv = CultureInfo.InvariantCulture;
        var h = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["datasets"] = string.Join("+", request.AllDatasets),
            ["featurizer"] = request.Baseline ? TextClassifier.TfidfFeaturizer : TextClassifier.SentenceEncoderFeaturizer,
            ["head"] = "softmax-regression",
            ["seed"] = request.Seed.ToString(inv),
            ["testFraction"] = request.TestFraction.ToString("R", inv),
            ["folds"] = request.Folds.ToString(inv),
            ["cGrid"] = string.Join(",", request.CGrid.Select(c => c.ToString("R", inv))),
            ["limit"] = request.Limit?.ToString(inv) ?? "all",
            ["trainShare"] = request.TrainShare.ToString("R", inv),
        };
        if (chosenC is { } c) h["c"] = c.ToString("R", inv);
        return h;
    }

    /// <summary>One checksum for the datasets trained on: SHA-256 over each catalog file's name and checksum.</summary>
    public static string DatasetChecksum(IReadOnlyList<DatasetInfo> datasets)
    {
        ArgumentNullException.ThrowIfNull(datasets);
        var text = string.Join("\n", datasets.SelectMany(d => d.Files.Select(f => $"{d.Name}/{f.FileName} {f.Sha256}")));
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
    }
}
