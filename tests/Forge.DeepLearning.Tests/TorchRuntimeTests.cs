using TorchSharp;

namespace Forge.DeepLearning.Tests;

[Collection(TorchCollection.Name)]
public sealed class TorchRuntimeTests
{
    /// <summary>
    /// On Debian 12 the native library only loads when the build marked its GLIBCXX_3.4.32 requirement weak
    /// (build/TorchSharpCompat.targets); any tensor op proves it did.
    /// </summary>
    [Fact]
    public void Native_libtorch_loads_and_computes()
    {
        using var ones = torch.ones(2, 2);
        using var threes = ones * 3;
        using var sum = threes.sum();

        Assert.Equal(12f, sum.item<float>());
    }

    [Fact]
    public void Reports_TorchSharp_and_libtorch_versions()
    {
        Assert.Matches(@"^0\.107\.\d+", TorchRuntime.TorchSharpVersion);
        Assert.Matches(@"^2\.\d+\.\d+", TorchRuntime.LibTorchVersion);
    }

    [Fact]
    public void Threads_can_be_pinned_to_one()
    {
        TorchRuntime.SetThreads(1);
        Assert.Equal(1, torch.get_num_threads());
    }
}
