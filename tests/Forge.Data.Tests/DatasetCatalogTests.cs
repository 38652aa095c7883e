using Forge.Core;
using Forge.Data;

namespace Forge.Data.Tests;

public sealed class DatasetCatalogTests
{
    [Fact]
    public void Lists_every_dataset_of_the_design()
    {
        Assert.Equal(
            ["mnist", "fashion-mnist", "plantvillage", "sentiment", "airline-tweets", "bike-sharing", "adult"],
            DatasetCatalog.All.Select(d => d.Name));
    }

    [Fact]
    public void Lookup_ignores_case()
    {
        Assert.Equal("fashion-mnist-test", DatasetCatalog.Get("Fashion-MNIST").Folder);
    }

    [Fact]
    public void Unknown_name_suggests_the_closest()
    {
        var ex = Assert.Throws<NotFoundException>(() => DatasetCatalog.Get("minst"));
        Assert.Equal("unknown dataset 'minst'; did you mean 'mnist'?", ex.Message);
        Assert.Equal("mnist", ex.Suggestion);
    }

    [Fact]
    public void Every_entry_is_complete()
    {
        foreach (var info in DatasetCatalog.All)
        {
            Assert.False(string.IsNullOrWhiteSpace(info.Folder));
            Assert.False(string.IsNullOrWhiteSpace(info.License));
            Assert.False(string.IsNullOrWhiteSpace(info.Citation));
            Assert.NotEmpty(info.Files);
            Assert.All(info.Files, f =>
            {
                Assert.Matches("^[0-9a-f]{64}$", f.Sha256);
                Assert.True(f.Size > 0, f.FileName);
            });
        }
    }

    [Fact]
    public void Mnist_downloads_from_the_torchvision_mirror_first()
    {
        var file = DatasetCatalog.Get("mnist").FindFile("train-images-idx3-ubyte")!;
        Assert.Equal(
            ["https://ossci-datasets.s3.amazonaws.com/mnist/train-images-idx3-ubyte.gz", "https://storage.googleapis.com/cvdf-datasets/mnist/train-images-idx3-ubyte.gz"],
            file.Urls);
    }

    /// <summary>The checksums in the catalog were computed from the shared copies; this keeps them honest.</summary>
    [SharedDataFact]
    public void Shared_copies_match_the_catalog()
    {
        foreach (var info in DatasetCatalog.All)
        {
            var dataset = new ResolvedDataset(info, Path.Combine(SharedData.DataRoot, info.Folder), "forge.json");
            Assert.True(dataset.MissingFiles.Count == 0 || info.AcceptsSingleSplit, info.Name);
            DatasetResolver.Verify(dataset);
        }
    }
}
