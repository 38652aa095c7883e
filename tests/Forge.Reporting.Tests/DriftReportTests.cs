using System.Text.Json;
using Forge.Monitoring;

namespace Forge.Reporting.Tests;

public sealed class DriftReportTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("forge-drift-report-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static double[] Normal(int n, double mean, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => mean + Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble())).ToArray();
    }

    private static DriftResult Result(string evilName = "<script>alert('x')</script>")
    {
        string?[] Colors(int n, int seed, double redShare)
        {
            var rng = new Random(seed);
            return Enumerable.Range(0, n).Select(_ => rng.NextDouble() < redShare ? "red" : rng.NextDouble() < 0.5 ? "green & blue" : "blue").ToArray();
        }
        var reference = new ColumnSet(
            DataColumn.Numeric("temperature", Normal(3000, 0, 1)),
            DataColumn.Numeric(evilName, Normal(3000, 5, 2)),
            DataColumn.Categorical("colour", Colors(3000, 3, 0.5)),
            DataColumn.Categorical("prediction", Colors(3000, 4, 0.3), ColumnRole.Prediction));
        var current = new ColumnSet(
            DataColumn.Numeric("temperature", Normal(2000, 0.6, 5)),
            DataColumn.Numeric(evilName, Normal(2000, 5, 6)),
            DataColumn.Categorical("colour", Colors(2000, 7, 0.2)),
            DataColumn.Categorical("prediction", Colors(2000, 8, 0.3), ColumnRole.Prediction));
        return DataDrift.Compare(ReferenceProfile.Build(reference), current);
    }

    [Fact]
    public void Column_histograms_are_pngs_with_both_distributions_and_text()
    {
        var result = Result();
        foreach (var column in result.AllColumns())
        {
            var path = Path.Combine(Environment.GetEnvironmentVariable("FORGE_KEEP_PLOTS") ?? _dir, $"drift-{result.AllColumns().ToList().IndexOf(column)}.png");

            DriftPlots.ColumnHistogram(column, path);

            using var png = PngAssert.Decode(path, DriftPlots.Width, DriftPlots.Height);
            Assert.True(PngAssert.DistinctColours(png) > 20, $"{column.Name}: the image looks blank");
            Assert.True(PngAssert.DarkPixels(png, 0, 0, DriftPlots.Width, Figure.TitleBandHeight) > 100, $"{column.Name}: no title text");
            var orange = 0;
            var blue = 0;
            for (var y = Figure.TitleBandHeight; y < png.Height; y += 2)
            {
                for (var x = 0; x < png.Width; x += 2)
                {
                    var c = png.GetPixel(x, y);
                    if (c.Red > 200 && c.Green is > 120 and < 200 && c.Blue < 120) orange++;
                    if (c.Blue > 150 && c.Red < 140) blue++;
                }
            }
            Assert.True(orange > 50 && blue > 50, $"{column.Name}: expected both reference (blue) and current (orange) bars, got {blue} and {orange} pixels");
        }
    }

    [Fact]
    public void Html_report_is_self_contained_escapes_names_and_states_the_verdicts()
    {
        var path = Path.Combine(_dir, "report.html");

        DriftReport.WriteHtml(Result(), path, new DriftReportOptions { ReferenceSource = "bundle <v1>", CurrentSource = "may.csv" });

        var html = File.ReadAllText(path);
        Assert.DoesNotContain("<script>", html);
        Assert.Contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;", html);
        Assert.Contains("bundle &lt;v1&gt;", html);
        Assert.Contains("Dataset drift detected", html);
        Assert.Contains("No prediction drift", html);
        Assert.Contains("wasserstein", html);
        Assert.Equal(4, CountOf(html, "src=\"data:image/png;base64,"));
        Assert.DoesNotContain("http://", html);
        Assert.DoesNotContain("https://", html);
    }

    private static int CountOf(string text, string part)
    {
        var count = 0;
        for (var i = text.IndexOf(part, StringComparison.Ordinal); i >= 0; i = text.IndexOf(part, i + 1, StringComparison.Ordinal)) count++;
        return count;
    }

    [Fact]
    public void Json_report_has_the_documented_fields()
    {
        var path = Path.Combine(_dir, "drift.json");

        DriftReport.WriteJson(Result("humidity"), path);

        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        var root = doc.RootElement;
        Assert.True(root.GetProperty("datasetDrift").GetBoolean());
        Assert.Equal(2.0 / 3, root.GetProperty("driftShare").GetDouble(), 12);
        var columns = root.GetProperty("columns");
        Assert.Equal(3, columns.GetArrayLength());
        foreach (var c in columns.EnumerateArray())
        {
            Assert.False(string.IsNullOrEmpty(c.GetProperty("name").GetString()));
            Assert.False(string.IsNullOrEmpty(c.GetProperty("test").GetString()));
            Assert.True(double.IsFinite(c.GetProperty("statistic").GetDouble()));
            c.GetProperty("drifted").GetBoolean();
        }
        Assert.False(root.GetProperty("predictionDrift").GetBoolean());
    }

    [Fact]
    public void A_column_without_histogram_is_refused_by_name()
    {
        var column = Result().Columns[0] with { Histogram = null };

        var e = Assert.Throws<ArgumentException>(() => DriftPlots.ColumnHistogramPng(column));
        Assert.Contains("temperature", e.Message);
    }
}
