using Forge.Core;
using Forge.Monitoring;
using Forge.Tests.Shared;

namespace Forge.Cli.Tests;

/// <summary>
/// forge train mnist writes an image drift reference (per-image mean intensity and contrast of test images, and the
/// predictions on them); forge monitor, which reads CSV files, answers an image bundle with one line naming what to use.
/// </summary>
public sealed class ImageMonitorCommandTests(ForgeHomeFixture home, TrainedBundleFixture trained)
    : IClassFixture<ForgeHomeFixture>, IClassFixture<TrainedBundleFixture>, IDisposable
{
    private readonly TempDir _temp = new("forge-cli-image-monitor-");

    public void Dispose() => _temp.Dispose();

    [SharedDataFact]
    public void An_mnist_bundle_has_an_image_profile_and_forge_monitor_names_the_drift_endpoint_instead()
    {
        _ = home;
        Assert.True(trained.Train.ExitCode == 0, trained.Train.ToString());
        var bundle = ModelBundle.Load(trained.BundleDirectory);
        var input = bundle.Manifest.Signature.Inputs[0].Name;

        var profile = BundleProfile.TryLoad(bundle)!;
        Assert.Equal([$"{input}.mean", $"{input}.std", "prediction", "prediction_confidence"], profile.Columns.Select(c => c.Name).ToArray());
        Assert.Equal(5000, profile.Rows);
        // MNIST digits are white strokes on black: about 13% mean intensity, 0.3 contrast.
        Assert.InRange(profile.Column($"{input}.mean").Numeric!.Mean, 0.1, 0.16);
        Assert.InRange(profile.Column($"{input}.std").Numeric!.Mean, 0.25, 0.4);
        Assert.Equal(10, profile.Column("prediction").Categorical!.Top.Count);

        var csv = _temp.Combine("now.csv");
        File.WriteAllText(csv, "text\nhello\n");
        Cli.AssertFailed(Cli.Run("monitor", trained.BundleDirectory, "--current", csv, "--out", _temp.Combine("r.html")),
            "image model", "forge serve", "/v1/models/NAME/drift");
        Cli.AssertFailed(Cli.Run("monitor", "profile", trained.BundleDirectory, "--data", csv), "image model");
        Assert.False(File.Exists(_temp.Combine("r.html")));
    }
}
