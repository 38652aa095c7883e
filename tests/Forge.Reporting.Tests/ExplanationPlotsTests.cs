using Forge.Core;
using Forge.Explainability;
using Forge.Explainability.Agnostic;
using Forge.Explainability.Importance;
using Forge.Explainability.Lime;
using SkiaSharp;

namespace Forge.Reporting.Tests;

public sealed class ExplanationPlotsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("forge-explain-plots-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string PathFor(string name) => Path.Combine(_dir, name);

    private static readonly string[] Names = ["age", "income", "hours", "<script>alert(1)</script>", "noise"];

    /// <summary>Exact SHAP of f = 2·age − income + age·hours on 40 rows: positive and negative values, an interaction.</summary>
    private static Explanation Tabular(int rows = 40)
    {
        var model = ModelFunction.FromRow(5, x => 2 * x[0] - x[1] + x[0] * x[2] + 0.1 * x[3]);
        var rng = new Random(1);
        var data = new double[rows, 5];
        for (var i = 0; i < rows; i++)
        {
            for (var j = 0; j < 5; j++) data[i, j] = Math.Round(rng.NextDouble() * 4 - 2, 2);
        }
        data[0, 4] = double.NaN;
        return new ExactShapExplainer(model, Background.From(data), new ExactShapOptions { FeatureNames = Names }).Explain(data);
    }

    [Fact]
    public void Waterfall_is_1000_wide_grows_with_its_bars_and_shows_both_signs()
    {
        var path = PathFor("waterfall.png");

        ExplanationPlots.Waterfall(Tabular(), 1, path, maxDisplay: 4);

        using var png = PngAssert.Decode(path, ExplanationPlots.Width, ExplanationPlots.FrameHeight + 4 * ExplanationPlots.RowHeight);
        Assert.True(PngAssert.DistinctColours(png) > 20, "the image looks blank");
        Assert.True(Count(png, c => c.Red > 200 && c.Green < 60 && c.Blue < 120) > 200, "no red (positive) bar");
        Assert.True(Count(png, c => c.Red < 60 && c.Green > 100 && c.Blue > 200) > 200, "no blue (negative) bar");
    }

    [Fact]
    public void Waterfall_feature_labels_are_really_drawn()
    {
        var e = Tabular();
        using var text = SKBitmap.Decode(ExplanationPlots.WaterfallPng(e, 2, 0, 6, "", labels: true));
        using var blank = SKBitmap.Decode(ExplanationPlots.WaterfallPng(e, 2, 0, 6, "", labels: false));

        // The labels sit left of the data area (left padding 300 px), below the title band.
        var withWords = PngAssert.DarkPixels(text, 0, Figure.TitleBandHeight, 290, text.Height - 70);
        var withoutWords = PngAssert.DarkPixels(blank, 0, Figure.TitleBandHeight, 290, blank.Height - 70);
        Assert.True(withoutWords < 5, $"without labels the label column should be empty, has {withoutWords} dark pixels");
        Assert.True(withWords > 300, $"expected five drawn labels, found {withWords} dark pixels");
    }

    [Fact]
    public void Beeswarm_global_bar_dependence_and_importance_render()
    {
        var e = Tabular();

        ExplanationPlots.Beeswarm(e, PathFor("beeswarm.png"));
        ExplanationPlots.GlobalBar(e, PathFor("bar.png"), maxDisplay: 3);
        ExplanationPlots.Dependence(e, 0, PathFor("dependence.png"));
        var importance = new FeatureImportance(Names, "R²", 0.9, [0.5, 0.3, 0.2, 0.01, 0], [0.05, 0.02, 0.02, 0.01, 0], []);
        ExplanationPlots.ImportanceBar(importance, PathFor("importance.png"));

        using (var png = PngAssert.Decode(PathFor("beeswarm.png"), ExplanationPlots.Width, ExplanationPlots.FrameHeight + 5 * ExplanationPlots.RowHeight))
            Assert.True(PngAssert.DistinctColours(png) > 20);
        using (var png = PngAssert.Decode(PathFor("bar.png"), ExplanationPlots.Width, ExplanationPlots.FrameHeight + 3 * ExplanationPlots.RowHeight))
            Assert.True(PngAssert.DistinctColours(png) > 5);
        using (var png = PngAssert.Decode(PathFor("dependence.png"), 800, 560))
            Assert.True(PngAssert.DistinctColours(png) > 20);
        using (var png = PngAssert.Decode(PathFor("importance.png"), ExplanationPlots.Width, ExplanationPlots.FrameHeight + 5 * ExplanationPlots.RowHeight))
            Assert.True(PngAssert.DistinctColours(png) > 5);
        // age's attribution depends on hours through age·hours: hours is the colouring partner.
        Assert.Equal(2, ExplanationPlots.StrongestPartner(e, 0, 0));
    }

    [Fact]
    public void Colour_positions_run_from_the_5th_to_the_95th_percentile_and_keep_missing_apart()
    {
        var e = new Explanation("x", ["a"], 21, 1, new double[21], new double[21])
        {
            Data = Enumerable.Range(0, 21).Select(i => i == 20 ? double.NaN : (double)i).ToArray(),
        };

        var p = ExplanationPlots.ColourPositions(e, 0);

        // 20 values 0..19: the 5th percentile is 0 and the 95th 19 (rounded outwards), so 10 sits at 10/19.
        Assert.Equal(0.0, p[0]);
        Assert.Equal(1.0, p[19]);
        Assert.Equal(10.0 / 19, p[10], 12);
        Assert.True(double.IsNaN(p[20]));
    }

    [Fact]
    public void Text_highlighting_escapes_the_text_and_shades_each_word()
    {
        static double[][] Classifier(IReadOnlyList<string> texts) =>
            texts.Select(t => new[] { t.Contains("good", StringComparison.Ordinal) ? 0.9 : 0.2 }).ToArray();
        var e = new LimeTextExplainer(Classifier, new LimeTextOptions { Samples = 200 }).Explain("a good <b>day</b> & night");
        var path = PathFor("text.html");

        TextPlots.TextHighlight(e, path);

        var html = File.ReadAllText(path);
        Assert.Contains("&lt;", html, StringComparison.Ordinal);
        Assert.Contains("&amp;", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<b>", html, StringComparison.Ordinal);
        Assert.Equal(e.Text!.Tokens.Count, html.Split("<span ").Length - 1);
        Assert.Contains("title=\"good: +", html, StringComparison.Ordinal);
        Assert.Contains("background:rgba(255,0,81,0.85)", html, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => TextPlots.HighlightFragment(Tabular()));
    }

    [Fact]
    public void Image_overlay_is_scaled_up_and_tints_the_helpful_region_red()
    {
        // Left half bright, right half dark; the classifier looks at the left half's brightness.
        var pixels = new float[32 * 32 * 3];
        for (var p = 0; p < 32 * 32; p++)
        {
            for (var c = 0; c < 3; c++) pixels[p * 3 + c] = p % 32 < 16 ? 0.9f : 0.1f;
        }
        static double[][] Classifier(IReadOnlyList<float[]> images) => images.Select(img =>
        {
            var sum = 0.0;
            for (var p = 0; p < 32 * 32; p++)
            {
                if (p % 32 < 16) sum += img[p * 3];
            }
            return new[] { sum / 512 };
        }).ToArray();
        var segments = Enumerable.Range(0, 32 * 32).Select(p => p % 32 < 16 ? 0 : 1).ToArray();
        var e = new LimeImageExplainer(Classifier, new LimeImageOptions { Samples = 50, HideColor = [0f, 0f, 0f] }).Explain(new ImageInput(pixels, 32, 32, 3), segments, 2);
        var path = PathFor("overlay.png");

        TextPlots.ImageOverlay(e, path);

        using var png = PngAssert.Decode(path, 256, 256);
        var left = png.GetPixel(40, 128);
        var right = png.GetPixel(220, 128);
        Assert.True(left.Red > 200 && left.Green < 120, $"the helpful left half should be red, is {left}");
        Assert.True(Math.Abs(right.Red - right.Green) < 30, $"the ignored right half should stay grey, is {right}");
        Assert.Throws<ArgumentException>(() => TextPlots.ImageOverlay(Tabular(), PathFor("no.png")));
    }

    [Fact]
    public void The_report_is_one_self_contained_escaped_html_file()
    {
        var e = Tabular(30);
        var path = PathFor("report.html");
        var importance = new FeatureImportance(Names, "R²", 0.9, [0.5, 0.3, 0.2, 0.01, 0], [0.05, 0.02, 0.02, 0.01, 0], []);

        ExplanationReport.Write(e, path, new ExplanationReportOptions { Title = "Income <model>", ModelDescription = "a & b", Importance = importance, Command = "forge explain m --rows r.csv" });

        var html = File.ReadAllText(path);
        Assert.StartsWith("<!DOCTYPE html>", html, StringComparison.Ordinal);
        Assert.Contains("Income &lt;model&gt;", html, StringComparison.Ordinal);
        Assert.Contains("a &amp; b", html, StringComparison.Ordinal);
        Assert.Contains("&lt;script&gt;alert(1)&lt;/script&gt;", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<script>", html, StringComparison.Ordinal);
        Assert.DoesNotContain("http://", html, StringComparison.Ordinal);
        Assert.DoesNotContain("https://", html, StringComparison.Ordinal);
        // Global bar, beeswarm, importance, three waterfalls, three dependence plots.
        var images = html.Split("src=\"data:image/png;base64,").Skip(1).ToArray();
        Assert.Equal(9, images.Length);
        foreach (var image in images)
        {
            var bytes = Convert.FromBase64String(image[..image.IndexOf('"', StringComparison.Ordinal)]);
            using var bitmap = SKBitmap.Decode(bytes);
            Assert.NotNull(bitmap);
        }
        Assert.Contains("Exact SHAP", html, StringComparison.Ordinal);
    }

    [Fact]
    public void Reports_of_text_and_lime_say_what_the_values_mean()
    {
        static double[][] Classifier(IReadOnlyList<string> texts) => texts.Select(t => new[] { t.Length / 10.0, 1 - t.Length / 10.0 }).ToArray();
        var e = new LimeTextExplainer(Classifier, new LimeTextOptions { Samples = 100, OutputNames = ["short", "long"] }).Explain("one two three");

        var html = ExplanationReport.Render(e, new ExplanationReportOptions { Output = 1 });

        Assert.Contains("<div class=\"text\">", html, StringComparison.Ordinal);
        Assert.Contains("local linear surrogate", html, StringComparison.Ordinal);
        Assert.Contains("long", html, StringComparison.Ordinal);
        Assert.Throws<UsageException>(() => ExplanationReport.Render(e, new ExplanationReportOptions { Output = 2 }));
    }

    [Fact]
    public void Bad_plot_arguments_are_refused()
    {
        var e = Tabular(5);
        Assert.Throws<ArgumentOutOfRangeException>(() => ExplanationPlots.Waterfall(e, 5, PathFor("a.png")));
        Assert.Throws<ArgumentOutOfRangeException>(() => ExplanationPlots.Waterfall(e, 0, PathFor("a.png"), output: 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => ExplanationPlots.Waterfall(e, 0, PathFor("a.png"), maxDisplay: 1));
        Assert.Throws<ArgumentException>(() => ExplanationPlots.Waterfall(e, 0, " "));
        Assert.Throws<ArgumentOutOfRangeException>(() => ExplanationPlots.Dependence(e, 9, PathFor("a.png")));
        var noData = new Explanation("x", ["a"], 2, 1, [1, 2], [0, 0]);
        Assert.Throws<ArgumentException>(() => ExplanationPlots.Dependence(noData, 0, PathFor("a.png")));
        Assert.Throws<ArgumentException>(() => ExplanationPlots.Beeswarm(new Explanation("x", ["a"], 0, 1, [], []), PathFor("a.png")));
        Assert.False(File.Exists(PathFor("a.png")));
    }

    private static int Count(SKBitmap bitmap, Func<SKColor, bool> predicate)
    {
        var count = 0;
        for (var y = 0; y < bitmap.Height; y++)
        {
            for (var x = 0; x < bitmap.Width; x++) count += predicate(bitmap.GetPixel(x, y)) ? 1 : 0;
        }
        return count;
    }
}
