using Forge.Core;
using Forge.Data;

namespace Forge.Data.Tests;

public sealed class MnistFormatTests : IDisposable
{
    private readonly TempDir temp = new();

    public void Dispose() => temp.Dispose();

    [Theory]
    [InlineData("train", "train", false)]
    [InlineData("test", "t10k", true)]
    [InlineData("TEST", "t10k", false)]
    public void Loads_a_split_raw_or_gzip(string split, string prefix, bool gzip)
    {
        var (images, _) = Idx.WriteSplit(temp.Path, prefix, count: 5, gzip);

        var set = MnistFormat.Load(temp.Path, split);

        Assert.Equal(5, set.Count);
        Assert.Equal(4, set.Height);
        Assert.Equal(3, set.Width);
        Assert.Equal(images[16..], set.Pixels);
        Assert.Equal([0, 1, 2, 3, 4], set.Labels);
        Assert.Equal(10, set.ClassCount);
        Assert.Equal("7", set.ClassNames[7]);
        Assert.Equal(images.AsSpan(16 + 12, 12).ToArray(), set.GetImage(1).ToArray());
    }

    [Fact]
    public void Prefers_the_raw_file_when_both_exist()
    {
        Idx.WriteSplit(temp.Path, "t10k", count: 3, gzip: true);
        Idx.WriteSplit(temp.Path, "t10k", count: 2, gzip: false);
        Assert.Equal(2, MnistFormat.Load(temp.Path, "test").Count);
    }

    [Fact]
    public void Count_mismatch_names_both_files_and_both_counts()
    {
        Idx.WriteSplit(temp.Path, "t10k", count: 5, gzip: true, labelCount: 4);
        var ex = Assert.Throws<DataFormatException>(() => MnistFormat.Load(temp.Path, "test"));
        var images = temp.Combine("t10k-images-idx3-ubyte.gz");
        var labels = temp.Combine("t10k-labels-idx1-ubyte.gz");
        Assert.Equal($"{images}: holds 5 images but {labels} holds 4 labels", ex.Message);
    }

    [Fact]
    public void Label_out_of_range_is_refused()
    {
        Idx.WriteSplit(temp.Path, "t10k", count: 2, gzip: false);
        File.WriteAllBytes(temp.Combine("t10k-labels-idx1-ubyte"), Idx.Build([2], [3, 12]));
        var ex = Assert.Throws<DataFormatException>(() => MnistFormat.Load(temp.Path, "test"));
        Assert.Contains("label 12 at index 1 is out of range; expected 0 to 9", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Images_must_be_three_dimensional()
    {
        Idx.WriteSplit(temp.Path, "t10k", count: 2, gzip: false);
        File.WriteAllBytes(temp.Combine("t10k-images-idx3-ubyte"), Idx.Build([2, 12], new byte[24]));
        var ex = Assert.Throws<DataFormatException>(() => MnistFormat.Load(temp.Path, "test"));
        Assert.Equal(temp.Combine("t10k-images-idx3-ubyte"), ex.Path);
        Assert.Contains("expected 3 dimensions", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_split_names_the_folder_and_the_files()
    {
        Idx.WriteSplit(temp.Path, "t10k", count: 2, gzip: true);
        var ex = Assert.Throws<ForgeException>(() => MnistFormat.Load(temp.Path, "train"));
        Assert.Contains(temp.Path, ex.Message, StringComparison.Ordinal);
        Assert.Contains("train-images-idx3-ubyte[.gz] and train-labels-idx1-ubyte[.gz]", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_split_of_a_known_partial_folder_says_how_to_get_it()
    {
        var folder = temp.Combine("fashion-mnist-test");
        Idx.WriteSplit(folder, "t10k", count: 2, gzip: true);
        var ex = Assert.Throws<ForgeException>(() => MnistFormat.Load(folder, "train"));
        Assert.Contains("install the Debian package dataset-fashion-mnist", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_split_suggests_the_closest()
    {
        var ex = Assert.Throws<NotFoundException>(() => MnistFormat.Load(temp.Path, "tset"));
        Assert.Equal("unknown split 'tset'; did you mean 'test'?", ex.Message);
    }

    [Fact]
    public void Custom_class_names_are_used_and_checked()
    {
        Idx.WriteSplit(temp.Path, "t10k", count: 3, gzip: false);
        Assert.Equal("c", MnistFormat.Load(temp.Path, "test", ["a", "b", "c"]).ClassNames[2]);
        Assert.Throws<DataFormatException>(() => MnistFormat.Load(temp.Path, "test", ["a", "b"]));
    }

    [SharedDataFact]
    public void Real_mnist_test_split_has_the_published_class_counts()
    {
        var set = MnistFormat.Load(Path.Combine(SharedData.DataRoot, "mnist"), "test");

        Assert.Equal(10_000, set.Count);
        Assert.Equal((28, 28), (set.Height, set.Width));
        Assert.Equal(10_000 * 784, set.Pixels.Length);
        var counts = new int[10];
        foreach (var label in set.Labels)
            counts[label]++;
        Assert.Equal([980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009], counts);
        Assert.Equal(7, set.Labels[0]);
    }

    [SharedDataFact]
    public void Fashion_mnist_test_split_loads_with_clothing_names()
    {
        var info = DatasetCatalog.Get("fashion-mnist");
        var dataset = new ResolvedDataset(info, Path.Combine(SharedData.DataRoot, "fashion-mnist-test"), "forge.json");

        var set = MnistFormat.Load(dataset, "test");

        Assert.Equal(10_000, set.Count);
        Assert.Equal("Ankle boot", set.ClassNames[9]);
        Assert.All(Enumerable.Range(0, 10), c => Assert.Equal(1000, set.Labels.Count(l => l == c)));
        Assert.False(dataset.Has("train-images-idx3-ubyte"));
        var ex = Assert.Throws<ForgeException>(() => MnistFormat.Load(dataset, "train"));
        Assert.StartsWith($"fashion-mnist train split not found in {dataset.Directory}; install the Debian package dataset-fashion-mnist", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Loading_a_non_image_dataset_as_mnist_is_a_usage_error()
    {
        var dataset = new ResolvedDataset(DatasetCatalog.Get("adult"), temp.Path, "data-dir");
        Assert.Throws<UsageException>(() => MnistFormat.Load(dataset, "test"));
    }
}
