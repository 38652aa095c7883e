using Forge.Data;
using Forge.Tests.Shared;

namespace Forge.Cli.Tests;

/// <summary><c>forge explain</c> on an image bundle: Integrated Gradients with its completeness, a PNG heatmap, and the errors.</summary>
public sealed class ExplainImageCommandTests(TrainedBundleFixture trained)
    : IClassFixture<ForgeHomeFixture>, IClassFixture<TrainedBundleFixture>, IDisposable
{
    private readonly TempDir _temp = new("forge-cli-explain-image-");

    public void Dispose() => _temp.Dispose();

    private string Digit()
    {
        var test = MnistFormat.Load(SharedData.Mnist, "test");
        var file = _temp.Combine("digit.png");
        DigitImage.SavePng(test.GetImage(0).ToArray(), 28, 28, file);
        return file;
    }

    [SharedDataFact]
    public void Integrated_gradients_on_a_digit_are_complete_and_draw_a_heatmap()
    {
        Assert.True(trained.Train.ExitCode == 0, trained.Train.ToString());
        var png = _temp.Combine("ig.png");
        var result = Cli.Run("explain", trained.BundleDirectory, "--image", Digit(), "--method", "ig", "--out", png, "--json");

        Assert.True(result.ExitCode == 0, result.ToString());
        var json = result.Json();
        Assert.Equal("ig", json.Text("method"));
        Assert.Equal("image", json.Text("kind"));
        var output = json.GetProperty("rows")[0].GetProperty("outputs")[0];
        var delta = Math.Abs(output.Number("prediction") - output.Number("baseValue"));
        Assert.InRange(json.Number("maxAdditivityGap"), 0, (0.01 * delta) + 1e-9);
        var bytes = File.ReadAllBytes(png);
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, bytes[..4]);
    }

    [SharedDataFact]
    public void Tabular_methods_and_rows_on_an_image_bundle_name_the_image_methods()
    {
        Assert.True(trained.Train.ExitCode == 0, trained.Train.ToString());
        Cli.AssertFailed(Cli.Run("explain", trained.BundleDirectory, "--image", Digit(), "--method", "tree"), "ig, saliency, gradientshap or lime");
        Cli.AssertFailed(Cli.Run("explain", trained.BundleDirectory, "--rows", "data.csv"), "classifies images", "--image");
        var lime = Cli.Run("explain", trained.BundleDirectory, "--image", Digit(), "--method", "lime", "--samples", "100", "--json");
        Assert.True(lime.ExitCode == 0, lime.ToString());
        Assert.Equal("lime", lime.Json().Text("method"));
    }
}
