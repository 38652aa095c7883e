using Forge.Data;
using Forge.Tests.Shared;

namespace Forge.DeepLearning.Tests;

/// <summary>Every TorchSharp test runs in this one collection: one at a time, on one thread, sharing one MNIST load.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TorchCollection : ICollectionFixture<TorchFixture>
{
    public const string Name = "torch";
}

/// <summary>Pins libtorch to one thread and loads MNIST once, when a test first asks for it.</summary>
public sealed class TorchFixture
{
    private readonly Lazy<ImageSet> _train = new(() => MnistFormat.Load(SharedData.Mnist, "train"));
    private readonly Lazy<ImageSet> _test = new(() => MnistFormat.Load(SharedData.Mnist, "test"));

    public TorchFixture() => TorchRuntime.SetThreads(1);

    /// <summary>The first <paramref name="count"/> MNIST training images.</summary>
    public ImageSet Train(int count) => _train.Value.Take(count);

    /// <summary>The first <paramref name="count"/> MNIST test images.</summary>
    public ImageSet Test(int count) => _test.Value.Take(count);
}
