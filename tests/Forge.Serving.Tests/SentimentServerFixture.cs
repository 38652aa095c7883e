using Forge.Core;
using Forge.Tests.Shared;
using Forge.Text;

namespace Forge.Serving.Tests;

/// <summary>The text server tests share two trained sentiment bundles and one server; they run one at a time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SentimentServerCollection : ICollectionFixture<SentimentServerFixture>
{
    public const string Name = "sentiment-server";
}

/// <summary>
/// Trains two real sentiment bundles on the UCI sentences: MiniLM + softmax regression on a stratified sample (a few
/// seconds of encoding) and the TF-IDF baseline on all 3,000, each with its reference profile. Serves them as "sentiment" (default batching),
/// "sentiment-batched" (a long batching window, so concurrent requests surely coalesce) and "sentiment-tfidf".
/// </summary>
public sealed class SentimentServerFixture : IAsyncLifetime
{
    public const string Folder = "sentiment-labelled-sentences";

    /// <summary>Chat messages any decent sentiment model gets right, and with confidence.</summary>
    public static readonly string[] Positive =
    [
        "Thank you so much, the refund came through and everything works perfectly now!",
        "Great service, the agent was friendly and solved my problem quickly.",
        "Perfect, that fixed it. I really appreciate your help!",
        "Thanks a lot, you were really helpful and kind.",
    ];

    /// <summary>Clearly negative chat messages.</summary>
    public static readonly string[] Negative =
    [
        "This is terrible. My order arrived broken and nobody answers my emails.",
        "Worst service ever, I am angry and very disappointed.",
        "The product is useless and your support is awful, I want my money back.",
        "I have been waiting for hours, this is ridiculous and unacceptable.",
    ];

    private readonly TempDir _temp = new("forge-serving-sentiment-");
    private RunningServer? _server;
    private TextClassifier? _reference;

    internal RunningServer Server => _server ?? throw new InvalidOperationException($"{Folder} is missing, so no server was started");

    /// <summary>The served MiniLM bundle loaded in-process, as forge predict loads it.</summary>
    public TextClassifier Reference => _reference ?? throw new InvalidOperationException($"{Folder} is missing");

    public string BundleDirectory => _temp.Combine("sentiment");

    public string TfidfDirectory => _temp.Combine("sentiment-tfidf");

    public string TempDirectory => _temp.Path;

    public async Task InitializeAsync()
    {
        if (SharedData.DirOrNull(Folder) is null) return;
        var data = SharedData.Dir(Folder);
        // Extracted once per machine and re-used while its SHA-256 matches; apart from Forge.Text's tests so two runs never race.
        var files = MiniLmFiles.Extract(Path.Combine(Path.GetTempPath(), "forge-serving-tests-encoder"));
        using (var encoder = new SentenceEncoder(files))
        {
            var request = new SentimentTrainingRequest
            {
                DataDir = data, Limit = 1200, Folds = 3, CGrid = [10, 30, 100], OutputDirectory = BundleDirectory, Name = "sentiment", Seed = 1,
                ReferenceWriter = Forge.Monitoring.BundleProfile.WriteText,
            };
            SentimentTraining.Run(request, encoder: encoder).Model.Dispose();
        }
        SentimentTraining.Run(new SentimentTrainingRequest
        {
            DataDir = data, Baseline = true, Folds = 3, CGrid = [10, 30], OutputDirectory = TfidfDirectory, Name = "sentiment-tfidf", Seed = 1,
            ReferenceWriter = Forge.Monitoring.BundleProfile.WriteText,
        }).Model.Dispose();
        _reference = TextClassifier.Load(ModelBundle.Load(BundleDirectory));
        _server = await RunningServer.StartAsync(new ServerOptions
        {
            Models =
            [
                ModelSource.FromBundle(BundleDirectory),
                new ModelSource { BundlePath = BundleDirectory, Name = "sentiment-batched", Batching = new BatchingOptions { MaxBatchSize = 64, MaxDelayMs = 300 } },
                ModelSource.FromBundle(TfidfDirectory),
            ],
        });
    }

    public async Task DisposeAsync()
    {
        if (_server is not null) await _server.DisposeAsync();
        _reference?.Dispose();
        _temp.Dispose();
    }
}
