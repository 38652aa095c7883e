using Forge.Data;
using Forge.Tests.Shared;

namespace Forge.Cli.Tests;

public sealed class DatasetsCommandTests : IClassFixture<ForgeHomeFixture>
{
    [SharedDataFact]
    public void List_shows_mnist_as_available_from_the_data_root()
    {
        var root = Path.GetDirectoryName(SharedData.Mnist)!;
        Environment.SetEnvironmentVariable(DatasetResolver.DataDirVariable, root);
        CliResult result;
        try
        {
            result = Cli.Run("datasets", "list", "--json");
        }
        finally
        {
            Environment.SetEnvironmentVariable(DatasetResolver.DataDirVariable, null);
        }

        Assert.True(result.ExitCode == 0, result.ToString());
        var datasets = result.Json().GetProperty("datasets").EnumerateArray().ToArray();
        Assert.Equal(DatasetCatalog.All.Select(d => d.Name), datasets.Select(d => d.Text("name")));
        var mnist = datasets.Single(d => d.Text("name") == "mnist");
        Assert.True(mnist.GetProperty("available").GetBoolean());
        Assert.Equal(SharedData.Mnist, mnist.Text("path"));
        Assert.Equal(DatasetResolver.DataDirVariable, mnist.Text("source"));
    }

    [Fact]
    public void Fetch_of_an_unknown_dataset_fails_without_downloading()
    {
        var result = Cli.Run("datasets", "fetch", "nope");

        Assert.Equal(2, result.ExitCode);
        Cli.AssertFailed(result, "unknown dataset 'nope'");
        Assert.False(Directory.Exists(ForgePaths.DatasetCache));
    }

    [Fact]
    public void Fetch_of_a_misspelt_dataset_suggests_the_closest_name()
    {
        var result = Cli.Run("datasets", "fetch", "fashion-mnsit");

        Assert.Equal(2, result.ExitCode);
        Cli.AssertFailed(result, "unknown dataset 'fashion-mnsit'; did you mean 'fashion-mnist'?");
    }
}
