using Forge.Core;
using Forge.Data;
using Forge.DeepLearning;
using Forge.Tests.Shared;

namespace Forge.Serving.Tests;

/// <summary>The MNIST server tests share one trained bundle and one server; they run one at a time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MnistServerCollection : ICollectionFixture<MnistServerFixture>
{
    public const string Name = "mnist-server";
}

/// <summary>
/// Trains a tiny MLP on 1,000 MNIST images (about a second) and serves its bundle four ways: "mnist" versions 1 and 2,
/// "mnist-nobatch" (batching off, so each request is its own forward pass and matches an in-process prediction bit for
/// bit) and "mnist-batched" (a long batching window, so concurrent requests surely coalesce).
/// </summary>
public sealed class MnistServerFixture : IAsyncLifetime
{
    public const string ApiKey = "test-key";
    public const long RequestLimit = 1024 * 1024;
    private readonly TempDir _temp = new("forge-serving-mnist-");
    private RunningServer? _server;
    private ImageClassifier? _reference;

    internal RunningServer Server => _server ?? throw new InvalidOperationException("MNIST is missing, so no server was started");

    /// <summary>The served bundle loaded in-process, as forge predict would load it.</summary>
    public ImageClassifier Reference => _reference ?? throw new InvalidOperationException("MNIST is missing");

    public string BundleDirectory => _temp.Combine("bundle");

    public string TempDirectory => _temp.Path;

    public ImageSet Test { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        if (SharedData.MnistOrNull is null) return;
        TorchRuntime.SetThreads(1);
        var train = MnistFormat.Load(SharedData.Mnist, "train").Take(1000);
        Test = MnistFormat.Load(SharedData.Mnist, "test").Take(20);
        var spec = ModelSpec.Mlp() with { Hidden = [64] };
        using (var model = new ImageClassifierTrainer(spec, new TrainerOptions { Epochs = 1, BatchSize = 32, Augment = false, Threads = 1 }).Fit(train))
        using (var writer = ModelBundle.Create(BundleDirectory))
        {
            writer.Commit(model.WriteTo(writer, "mnist"));
        }
        _reference = ImageClassifier.Load(ModelBundle.Load(BundleDirectory));
        _server = await RunningServer.StartAsync(new ServerOptions
        {
            Models =
            [
                ModelSource.FromBundle(BundleDirectory),
                new ModelSource { BundlePath = BundleDirectory, Version = "2" },
                new ModelSource { BundlePath = BundleDirectory, Name = "mnist-nobatch", Batching = new BatchingOptions { MaxBatchSize = 1 } },
                new ModelSource { BundlePath = BundleDirectory, Name = "mnist-batched", Batching = new BatchingOptions { MaxBatchSize = 64, MaxDelayMs = 300 } },
            ],
            ApiKey = ApiKey,
            MaxRequestBytes = RequestLimit,
        });
    }

    /// <summary>Test image <paramref name="index"/> as 784 values in 0–1.</summary>
    public float[] Row(int index) => Test.GetImage(index).ToArray().Select(b => b / 255f).ToArray();

    /// <summary>Test image <paramref name="index"/> written as a PNG file, and its bytes.</summary>
    public (string Path, byte[] Bytes) Png(int index)
    {
        var path = _temp.Combine($"digit-{index}.png");
        if (!File.Exists(path)) DigitImage.SavePng(Test.GetImage(index).ToArray(), 28, 28, path);
        return (path, File.ReadAllBytes(path));
    }

    public async Task DisposeAsync()
    {
        if (_server is not null) await _server.DisposeAsync();
        _reference?.Dispose();
        _temp.Dispose();
    }
}
