using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Forge.Core;
using Forge.Data;
using Forge.DeepLearning;
using Forge.Monitoring;
using Forge.Serving;
using Forge.Tabular;
using Forge.Text;
using Forge.Tests.Shared;
using Forge.Tracking;
using Forge.Tuning;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;

namespace Forge.Ui.Tests;

/// <summary>
/// One small tracking store seeded with what every page shows: runs (with metric histories, params, tags, an artifact,
/// a parent and child, and a run named like a script tag), a registered tabular model with two versions, aliases and a
/// reference profile, a finished study and one with a trial still running. Two real servers on 127.0.0.1 read it:
/// <c>forge serve</c> (the registry model, a text model for the chat and explain pages, a small MNIST CNN for the
/// image explanation when the shared MNIST copy is there, drift windows filled by traffic) and <c>forge ui</c> (the store
/// alone).
/// </summary>
public sealed class UiFixture : IAsyncLifetime
{
    public const string ApiKey = "ui-test-key";
    public const string ScriptName = "<script>alert(1)</script>";
    public const string Experiment = "churn-lgbm";

    private readonly TempDir _temp = new("forge-ui-tests-");

    public string Database => _temp.Combine("forge.db");

    public string Artifacts => _temp.Combine("artifacts");

    public WebApplication Serve { get; private set; } = null!;

    public WebApplication Ui { get; private set; } = null!;

    public string ServeUrl { get; private set; } = "";

    public string UiUrl { get; private set; } = "";

    public HttpClient Client { get; } = new() { Timeout = TimeSpan.FromSeconds(60) };

    /// <summary>The run ids by name.</summary>
    public Dictionary<string, string> Runs { get; } = new(StringComparer.Ordinal);

    /// <summary>The id of the live study's running trial, finished by the live-update test.</summary>
    public long LiveStudyId { get; private set; }

    public SqlStudyStorage Studies { get; private set; } = null!;

    /// <summary>The served MNIST model's name.</summary>
    public const string ImageModel = "mnist";

    /// <summary>The served text model's name.</summary>
    public const string TextModel = "sentiment";

    private string? _digitPng;

    /// <summary>One MNIST test digit as a PNG file; the test using it fails when MNIST is missing (it runs without it only off CI, skipped).</summary>
    public string DigitPng => _digitPng ?? throw new InvalidOperationException("no image model is served: MNIST was not found at ../shared/data/mnist next to the repository");

    /// <summary>The true label of <see cref="DigitPng"/>.</summary>
    public string DigitLabel { get; private set; } = "";

    public async Task InitializeAsync()
    {
        using (var store = TrackingStore.Open(Database, new TrackingStoreOptions { ArtifactRoot = Artifacts }))
        {
            var trainingRun = SeedRuns(store);
            var bundle = TrainBundle();
            store.RegisterModelVersion("churn", bundle, runId: trainingRun, description: "LightGBM on the synthetic churn table");
            store.RegisterModelVersion("churn", bundle, runId: trainingRun);
            store.SetAlias("churn", "champion", 1);
            store.SetAlias("churn", "challenger", 2);
            store.SetModelTag("churn", "team", "retention");
            store.SetModelVersionTag("churn", 2, "stage", "candidate");
        }
        Studies = SqlStudyStorage.Open(Database);
        SeedStudies(Studies);

        var textBundle = TrainSentiment();
        List<ModelSource> models = [ModelSource.FromRegistry("churn@champion"), ModelSource.FromBundle(textBundle)];
        // Without MNIST the other pages are still tested off CI; the image test is then skipped (and fails under CI=true).
        if (SharedData.MnistOrNull is not null) models.Add(ModelSource.FromBundle(TrainDigits()));
        Serve = ForgeServer.Build(new ServerOptions
        {
            Models = models,
            TrackingUri = Database,
            ArtifactRoot = Artifacts,
            Host = "127.0.0.1",
            Port = 0,
            ApiKey = ApiKey,
            WatchInterval = TimeSpan.Zero,
            BatchJobs = new BatchJobOptions { Directory = _temp.Combine("jobs") },
            Drift = new DriftServingOptions { WindowRows = 400, EvaluateEveryRows = 100, MinRows = 100, EvaluateEvery = null },
            ConfigureLogging = b => b.ClearProviders(),
        });
        await Serve.StartAsync();
        ServeUrl = ForgeServer.Addresses(Serve).Single();
        await ForgeServer.WaitUntilReadyAsync(Serve).WaitAsync(TimeSpan.FromSeconds(120));

        Ui = UiServer.Build(new UiOptions { TrackingUri = Database, ArtifactRoot = Artifacts, Port = 0, ApiKey = ApiKey, ConfigureLogging = b => b.ClearProviders() });
        await Ui.StartAsync();
        UiUrl = ForgeServer.Addresses(Ui).Single();

        await SendTrafficAsync();
    }

    public async Task DisposeAsync()
    {
        await Serve.StopAsync();
        await Ui.StopAsync();
        await ((IAsyncDisposable)Serve).DisposeAsync();
        await ((IAsyncDisposable)Ui).DisposeAsync();
        Studies.Dispose();
        Client.Dispose();
        _temp.Dispose();
    }

    /// <summary>Fifteen runs in two experiments; returns the id of the run the model is registered from.</summary>
    private string SeedRuns(ITrackingStore store)
    {
        var t0 = DateTimeOffset.UtcNow.AddHours(-2);
        string? training = null;
        for (var i = 0; i < 12; i++)
        {
            var name = $"lgbm-{i:00}";
            var run = store.CreateRun(Experiment, name);
            Runs[name] = run.RunId;
            var lr = 0.02 * (i + 1);
            store.LogParams(run.RunId, new Dictionary<string, string>
            {
                ["learning_rate"] = lr.ToString("0.00", CultureInfo.InvariantCulture), ["leaves"] = (8 + (i % 4 * 8)).ToString(CultureInfo.InvariantCulture),
            });
            store.SetTags(run.RunId, new Dictionary<string, string> { ["owner"] = i % 2 == 0 ? "ana" : "ben" });
            // Accuracy grows with the step and peaks for run 7, so sorting by it has one clear winner.
            var peak = 0.95 - (Math.Abs(i - 7) * 0.01);
            var points = Enumerable.Range(0, 10).SelectMany(step => new[]
            {
                new MetricPoint("accuracy", peak - (0.3 * Math.Exp(-step / 2.0)), step, t0.AddMinutes(step)),
                new MetricPoint("loss", 0.2 + Math.Exp(-step / 3.0) + (i * 0.01), step, t0.AddMinutes(step)),
            }).ToList();
            store.LogMetrics(run.RunId, points);
            store.SetRunStatus(run.RunId, i == 11 ? RunStatus.Failed : RunStatus.Finished);
            if (i == 7) training = run.RunId;
        }
        var notes = _temp.Combine("notes.txt");
        File.WriteAllText(notes, "trained on the synthetic churn table\n");
        store.LogArtifact(training!, notes);

        var sweep = store.CreateRun("sweeps", "sweep-parent");
        Runs["sweep-parent"] = sweep.RunId;
        var child = store.CreateRun("sweeps", "sweep-child", parentRunId: sweep.RunId);
        Runs["sweep-child"] = child.RunId;
        store.LogMetrics(child.RunId, [new MetricPoint("accuracy", 0.5, 0, t0)]);
        store.SetRunStatus(child.RunId, RunStatus.Finished);
        store.SetRunStatus(sweep.RunId, RunStatus.Finished);

        var script = store.CreateRun(Experiment, ScriptName);
        Runs[ScriptName] = script.RunId;
        store.SetTags(script.RunId, new Dictionary<string, string> { ["note"] = "<img src=x onerror=alert(2)>" });
        store.LogParams(script.RunId, new Dictionary<string, string> { ["learning_rate"] = "<b>bold</b>" });
        store.SetRunStatus(script.RunId, RunStatus.Finished);
        return training!;
    }

    private string TrainBundle()
    {
        var data = SyntheticTable.Write(_temp.Combine("churn.csv"));
        return TabularTraining.Run(new TabularTrainingRequest
        {
            Dataset = "synthetic-churn",
            DataPath = data,
            Csv = SyntheticTable.Csv("binary"),
            OutputDirectory = _temp.Combine("churn-bundle"),
            Name = "churn",
            Options = new TabularOptions { Trees = 20, Leaves = 8, LearningRate = 0.2, MinDataPerLeaf = 5, Threads = 1 },
            ReferenceWriter = BundleProfile.Write,
        }).Bundle.Directory;
    }

    /// <summary>
    /// A tiny CNN (4 and 8 channels) trained for one epoch on 1,000 MNIST images, seconds on one thread: Integrated
    /// Gradients needs a Forge CNN, not a good one. Also writes the first test digit as a PNG for the upload.
    /// </summary>
    /// <summary>
    /// A real text model for the chat and explain pages: the TF-IDF baseline on the UCI sentences trains in seconds, where
    /// the MiniLM model would spend most of the fixture's time encoding.
    /// </summary>
    private string TrainSentiment()
    {
        var directory = _temp.Combine("sentiment-tfidf");
        SentimentTraining.Run(new SentimentTrainingRequest
        {
            DataDir = SharedData.Dir("sentiment-labelled-sentences"), Baseline = true, Folds = 3, CGrid = [10, 30],
            OutputDirectory = directory, Name = TextModel, Seed = 1,
        }).Model.Dispose();
        return directory;
    }

    private string TrainDigits()
    {
        TorchRuntime.SetThreads(1);
        var train = MnistFormat.Load(SharedData.Mnist, "train").Take(1000);
        var test = MnistFormat.Load(SharedData.Mnist, "test").Take(1);
        var directory = _temp.Combine("mnist-bundle");
        using (var model = new ImageClassifierTrainer(ModelSpec.Cnn() with { Channels = [4, 8] },
            new TrainerOptions { Epochs = 1, BatchSize = 32, Augment = false, Threads = 1, Seed = 0 }).Fit(train))
        using (var writer = ModelBundle.Create(directory))
        {
            writer.Commit(model.WriteTo(writer, ImageModel));
        }
        _digitPng = _temp.Combine("digit.png");
        DigitImage.SavePng(test.GetImage(0).ToArray(), test.Width, test.Height, _digitPng);
        DigitLabel = test.ClassNames[test.Labels[0]];
        return directory;
    }

    private void SeedStudies(SqlStudyStorage storage)
    {
        var study = Study.Create(new StudyOptions { Name = "tune-churn", Storage = storage, Sampler = new RandomSampler(3), Direction = StudyDirection.Minimize });
        study.Optimize(t =>
        {
            var lr = t.SuggestFloat("learning_rate", 1e-3, 0.3, log: true);
            var leaves = t.SuggestInt("leaves", 4, 64);
            var boost = t.SuggestCategorical("boosting", "gbdt", "dart");
            return Math.Pow(Math.Log10(lr) + 1.3, 2) + (leaves / 200.0) + (boost == "dart" ? 0.05 : 0);
        }, 40);

        var live = Study.Create(new StudyOptions { Name = "live-study", Storage = storage, Sampler = new RandomSampler(4), Direction = StudyDirection.Maximize });
        live.Optimize(t => t.SuggestFloat("x", 0, 1), 5);
        var running = live.Ask();
        running.SuggestFloat("x", 0, 1);
        LiveStudyId = live.Id;
        LiveTrial = running;
        LiveStudy = live;
    }

    /// <summary>The live study's running trial, which the live-update test finishes.</summary>
    internal Trial LiveTrial { get; private set; } = null!;

    internal Study LiveStudy { get; private set; } = null!;

    /// <summary>400 rows like the training data, then 200 shifted ones, each 100 followed by a look at the drift timeline.</summary>
    private async Task SendTrafficAsync()
    {
        var rng = new Random(11);
        string[] colours = ["red", "green", "blue"];
        for (var batch = 0; batch < 6; batch++)
        {
            var shifted = batch >= 4;
            var instances = new JsonArray();
            for (var i = 0; i < 100; i++)
            {
                instances.Add(new JsonObject
                {
                    ["x1"] = (rng.NextDouble() * 10) + (shifted ? 6 : 0),
                    ["x2"] = rng.NextDouble() - 0.5 + (shifted ? 2 : 0),
                    ["colour"] = shifted ? "blue" : colours[rng.Next(3)],
                    ["size"] = shifted || rng.Next(2) == 0 ? "L" : "S",
                });
            }
            using var response = await Client.PostAsJsonAsync(ServeUrl + "/v1/models/churn/predict", new JsonObject { ["instances"] = instances });
            response.EnsureSuccessStatusCode();
            // Reading the timeline takes the evaluation this batch triggered, so each shows as its own point.
            using var timeline = await Client.GetAsync(ServeUrl + "/api/ui/drift/churn/timeline");
            timeline.EnsureSuccessStatusCode();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class UiCollection : ICollectionFixture<UiFixture>
{
    public const string Name = "web UI";
}
