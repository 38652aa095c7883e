namespace Forge.Reporting.Tests;

public sealed class TuningPlotsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("forge-reporting-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void History_is_a_900x560_png_with_points_and_the_best_line_drawn()
    {
        var path = Path.Combine(_dir, "history.png");
        double[] values = [5, 3, 4, 1, 2];
        double[] best = [5, 3, 3, 1, 1];

        TuningPlots.History([0, 1, 2, 3, 4], values, best, path);

        using var bitmap = PngAssert.Decode(path, 900, 560);
        // Axis text, the points and the red best-so-far line: more than a blank frame's few colours.
        Assert.True(PngAssert.DistinctColours(bitmap) > 10);
        Assert.True(PngAssert.DarkPixels(bitmap, 0, 60, 900, 560) > 500);
    }

    [Fact]
    public void Slices_put_one_panel_per_parameter_side_by_side()
    {
        var path = Path.Combine(_dir, "slices.png");
        SliceData[] slices =
        [
            new("lr", [1e-4, 1e-3, 1e-2], [3, 2, 1], Log: true, Categories: null),
            new("act", [0, 1, 0], [3, 2, 1], Log: false, Categories: ["relu", "gelu"]),
        ];

        TuningPlots.Slices(slices, path);

        using var bitmap = PngAssert.Decode(path, 660, 420);
        Assert.True(PngAssert.DarkPixels(bitmap, 0, 60, 330, 420) > 200);
        Assert.True(PngAssert.DarkPixels(bitmap, 330, 60, 660, 420) > 200);
    }

    [Fact]
    public void Mismatched_or_empty_inputs_are_refused()
    {
        var path = Path.Combine(_dir, "x.png");
        Assert.Throws<ArgumentException>(() => TuningPlots.History([0, 1], [1], [1], path));
        Assert.Throws<ArgumentException>(() => TuningPlots.History([], [], [], path));
        Assert.Throws<ArgumentException>(() => TuningPlots.Slices([], path));
        Assert.False(File.Exists(path));
    }
}
