namespace Forge.Reporting.Tests;

public sealed class RecurrentPlotsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("forge-reporting-rnn-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void The_test_mse_curve_is_a_1000x500_png_with_text_and_lines()
    {
        var path = Path.Combine(_dir, "mse.png");
        RecurrentPlots.TestMseCurve([100, 200, 300, 400], [0.17, 0.12, 0.02, 0.004], 1.0 / 6, path, "Adding problem: test MSE");
        using var png = PngAssert.Decode(path, 1000, 500);
        // The title band holds drawn text, and the plot more than two colours (curve, baseline, grid).
        Assert.True(PngAssert.DarkPixels(png, 300, 0, 700, 44) > 50);
        Assert.True(PngAssert.DistinctColours(png) > 3);
    }

    [Fact]
    public void The_gradient_profile_draws_both_lines_and_refuses_nothing_to_draw()
    {
        var path = Path.Combine(_dir, "profile.png");
        var init = Enumerable.Range(1, 100).Select(t => Math.Pow(10, -19 + (0.19 * t))).ToArray();
        var after = Enumerable.Range(1, 100).Select(t => 0.01 * (1 + (t / 100.0))).ToArray();
        RecurrentPlots.GradientProfile(init, after, path, "Gradient profile");
        using var png = PngAssert.Decode(path, 1000, 500);
        Assert.True(PngAssert.DarkPixels(png, 300, 0, 700, 44) > 50);
        Assert.Throws<ArgumentException>(() => RecurrentPlots.GradientProfile([0, double.NaN], [-1], path, "none"));
        Assert.Throws<ArgumentException>(() => RecurrentPlots.TestMseCurve([1, 2], [0.1], null, path, "mismatch"));
    }
}
