using Forge.Core;
using SkiaSharp;

namespace Forge.Reporting.Tests;

public sealed class TrainingPlotsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("forge-reporting-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string PathFor(string name) => Path.Combine(_dir, name);

    private static List<EpochMetrics> History(int epochs, bool validation) =>
        Enumerable.Range(1, epochs)
            .Select(e => new EpochMetrics(
                Epoch: e,
                TrainLoss: 2.3 / e,
                TrainAccuracy: 1 - 0.9 / e,
                ValidationLoss: validation ? 2.4 / e + 0.05 : null,
                ValidationAccuracy: validation ? 1 - 0.95 / e : null,
                LearningRate: 1e-3,
                Seconds: 1.5))
            .ToList();

    private static List<IReadOnlyDictionary<string, double>> Norms(int epochs) =>
        Enumerable.Range(1, epochs)
            .Select(e => (IReadOnlyDictionary<string, double>)new Dictionary<string, double>
            {
                ["conv1"] = 2.0 / e,
                ["conv2"] = 0.5 / e,
                ["fc1"] = 0.01 * e,
                ["fc2"] = 1e-5 * Math.Pow(3, e),
            })
            .ToList();

    [Fact]
    public void Training_curves_are_a_1200x500_png_with_both_panels_drawn()
    {
        var path = PathFor("curves.png");

        TrainingPlots.TrainingCurves(History(8, validation: true), path);

        using var png = PngAssert.Decode(path, TrainingPlots.CurvesWidth, TrainingPlots.CurvesHeight);
        Assert.True(PngAssert.DistinctColours(png) > 20, "the image looks blank");
    }

    [Fact]
    public void Training_curves_without_validation_still_render()
    {
        var path = PathFor("train-only.png");

        TrainingPlots.TrainingCurves(History(3, validation: false), path, title: "");

        using var png = PngAssert.Decode(path, TrainingPlots.CurvesWidth, TrainingPlots.CurvesHeight);
        Assert.True(PngAssert.DistinctColours(png) > 20, "the image looks blank");
    }

    [Fact]
    public void Confusion_matrix_is_a_png_sized_by_its_class_count()
    {
        var path = PathFor("confusion.png");
        string[] labels = ["cat", "dog", "horse"];
        int[][] matrix = [[50, 3, 1], [4, 40, 6], [0, 2, 44]];

        TrainingPlots.ConfusionMatrix(matrix, labels, path);

        var layout = ConfusionLayout.For(labels.Length, labels);
        using var png = PngAssert.Decode(path, layout.Width, layout.Height);
        Assert.True(PngAssert.DistinctColours(png) > 20, "the image looks blank");
    }

    [Fact]
    public void Confusion_matrix_puts_true_class_zero_on_the_top_row_and_predictions_along_x()
    {
        var path = PathFor("orientation.png");
        string[] labels = ["a", "b"];
        // Only true "a" predicted as "b" is non-zero: the top-right cell must be the dark one.
        int[][] matrix = [[0, 90], [0, 0]];

        TrainingPlots.ConfusionMatrix(matrix, labels, path, title: "");

        var layout = ConfusionLayout.For(2, labels);
        using var png = PngAssert.Decode(path, layout.Width, layout.Height);
        var left = layout.Padding.Left;
        var top = Figure.TitleBandHeight + layout.Padding.Top;
        var cell = (layout.Width - layout.Padding.Left - layout.Padding.Right) / 2f;
        // A quarter into each cell, away from the count written in its centre.
        SKColor At(int row, int column) => png.GetPixel((int)(left + (column + 0.25f) * cell), (int)(top + (row + 0.25f) * cell));
        var brightness = (SKColor c) => c.Red + c.Green + c.Blue;
        Assert.True(brightness(At(0, 1)) < 250, $"top-right cell should be dark, is {At(0, 1)}");
        Assert.True(brightness(At(0, 0)) > 600, $"top-left cell should be pale, is {At(0, 0)}");
        Assert.True(brightness(At(1, 0)) > 600, $"bottom-left cell should be pale, is {At(1, 0)}");
        Assert.True(brightness(At(1, 1)) > 600, $"bottom-right cell should be pale, is {At(1, 1)}");
    }

    [Theory]
    [InlineData(1, 0)]
    [InlineData(1, 7)]
    [InlineData(3, 0)]
    public void Confusion_matrix_of_one_class_or_all_zeros_still_renders(int classes, int count)
    {
        var path = PathFor($"degenerate-{classes}-{count}.png");
        var labels = Enumerable.Range(0, classes).Select(i => $"c{i}").ToArray();
        var matrix = Enumerable.Range(0, classes).Select(_ => Enumerable.Repeat(count, classes).ToArray()).ToArray();

        TrainingPlots.ConfusionMatrix(matrix, labels, path);

        var layout = ConfusionLayout.For(classes, labels);
        using var png = PngAssert.Decode(path, layout.Width, layout.Height);
    }

    [Fact]
    public void Confusion_matrix_with_many_long_labels_renders()
    {
        var path = PathFor("many.png");
        var labels = Enumerable.Range(0, 12).Select(i => $"Tomato___Late_blight_{i}").ToArray();
        var matrix = Enumerable.Range(0, 12).Select(t => Enumerable.Range(0, 12).Select(p => t == p ? 100 : (t + p) % 4).ToArray()).ToArray();

        TrainingPlots.ConfusionMatrix(matrix, labels, path);

        var layout = ConfusionLayout.For(labels.Length, labels);
        Assert.True(layout.RotateXLabels);
        using var png = PngAssert.Decode(path, layout.Width, layout.Height);
        Assert.True(PngAssert.DistinctColours(png) > 20, "the image looks blank");
    }

    [Fact]
    public void Gradient_norms_are_a_1000x500_png()
    {
        var path = PathFor("grad.png");

        TrainingPlots.GradientNorms(Norms(6), path);

        using var png = PngAssert.Decode(path, TrainingPlots.GradientNormsWidth, TrainingPlots.GradientNormsHeight);
        Assert.True(PngAssert.DistinctColours(png) > 20, "the image looks blank");
    }

    [Fact]
    public void Gradient_norms_of_a_deep_network_grow_taller_so_every_layer_keeps_its_legend_entry()
    {
        var path = PathFor("deep.png");
        var norms = Enumerable.Range(1, 3)
            .Select(e => (IReadOnlyDictionary<string, double>)Enumerable.Range(0, 40).ToDictionary(l => $"layer{l}", l => Math.Pow(10, -l / 10.0) / e))
            .ToList();

        TrainingPlots.GradientNorms(norms, path);

        using var png = SKBitmap.Decode(path);
        Assert.Equal(TrainingPlots.GradientNormsWidth, png.Width);
        Assert.True(png.Height > TrainingPlots.GradientNormsHeight, $"40 legend entries fit in {png.Height} px only by being cut off");
    }

    [Fact]
    public void Gradient_norms_skip_values_that_have_no_logarithm()
    {
        var path = PathFor("grad-gaps.png");
        var norms = Norms(4);
        norms[1] = new Dictionary<string, double> { ["conv1"] = 0, ["conv2"] = double.NaN, ["fc1"] = double.PositiveInfinity };

        TrainingPlots.GradientNorms(norms, path);

        using var png = PngAssert.Decode(path, TrainingPlots.GradientNormsWidth, TrainingPlots.GradientNormsHeight);
    }

    [Theory]
    [InlineData(-5, "1e-5")]
    [InlineData(-3, "0.001")]
    [InlineData(0, "1")]
    [InlineData(2, "100")]
    [InlineData(6, "1e6")]
    public void Log_axis_ticks_are_labelled_with_the_value_they_stand_for(double exponent, string expected) =>
        Assert.Equal(expected, TrainingPlots.PowerOfTen(exponent));

    /// <summary>
    /// ScottPlot built against one SkiaSharp and run on another draws every line but no text, and says nothing.
    /// Rendering the same figure with and without words and looking where the words go catches that.
    /// </summary>
    [Fact]
    public void Title_and_axis_labels_are_really_drawn()
    {
        var history = History(6, validation: true);
        var withText = PathFor("with-text.png");
        var withoutText = PathFor("without-text.png");

        TrainingPlots.TrainingCurves(history, withText, "Training curves", new TrainingPlots.CurveLabels("Epoch", "Loss", "Accuracy (%)"));
        TrainingPlots.TrainingCurves(history, withoutText, "", new TrainingPlots.CurveLabels("", "", ""));

        const int w = TrainingPlots.CurvesWidth, h = TrainingPlots.CurvesHeight;
        using var text = PngAssert.Decode(withText, w, h);
        using var blank = PngAssert.Decode(withoutText, w, h);
        var pad = TrainingPlots.CurvesPadding;

        // The figure title: a bold 20 pt line in the band above both panels.
        AssertTextOnlyIn(text, blank, "title", 0, 0, w, Figure.TitleBandHeight);
        for (var panel = 0; panel < 2; panel++)
        {
            var panelLeft = panel * w / 2;
            var dataLeft = panelLeft + (int)pad.Left;
            var dataRight = (panel + 1) * w / 2 - (int)pad.Right;
            var dataTop = Figure.TitleBandHeight + (int)pad.Top;
            var dataBottom = h - (int)pad.Bottom;
            // "Epoch": below the tick labels, under the data area.
            AssertTextOnlyIn(text, blank, $"x label of panel {panel}", dataLeft, dataBottom + 20, dataRight, h);
            // "Loss" / "Accuracy (%)": rotated, left of the tick labels, whose width decides how far left.
            var tickLabelsLeft = LeftmostDarkColumn(blank, panelLeft, dataTop, dataLeft, dataBottom);
            AssertTextOnlyIn(text, blank, $"y label of panel {panel}", panelLeft, dataTop, tickLabelsLeft - 1, dataBottom);
        }
    }

    private static int LeftmostDarkColumn(SKBitmap bitmap, int left, int top, int right, int bottom)
    {
        for (var x = left; x < right; x++)
        {
            if (PngAssert.DarkPixels(bitmap, x, top, x + 1, bottom) > 0)
                return x;
        }
        return right;
    }

    private static void AssertTextOnlyIn(SKBitmap text, SKBitmap blank, string what, int left, int top, int right, int bottom)
    {
        var withWords = PngAssert.DarkPixels(text, left, top, right, bottom);
        var withoutWords = PngAssert.DarkPixels(blank, left, top, right, bottom);
        Assert.True(withoutWords < 5, $"{what}: the region should be empty without text, has {withoutWords} dark pixels");
        // The shortest label, "Loss" at 16 px, covers about 90 such pixels and the title about 480; no text covers none.
        Assert.True(withWords > 40, $"{what}: expected drawn text, found only {withWords} dark pixels");
    }

    [Fact]
    public void Writing_replaces_an_existing_file_and_leaves_no_temporary_file()
    {
        var path = PathFor("replace.png");
        File.WriteAllText(path, "old content");

        TrainingPlots.GradientNorms(Norms(3), path);

        using var png = PngAssert.Decode(path, TrainingPlots.GradientNormsWidth, TrainingPlots.GradientNormsHeight);
        Assert.Equal(["replace.png"], Directory.GetFiles(_dir).Select(Path.GetFileName));
    }

    [Fact]
    public void Writing_creates_the_missing_folder()
    {
        var path = Path.Combine(_dir, "plots", "nested", "curves.png");

        TrainingPlots.TrainingCurves(History(2, validation: false), path);

        Assert.True(File.Exists(path));
    }

    [Fact]
    public void The_font_is_one_named_family_that_skia_really_has()
    {
        var family = PlotFonts.Family;

        using var typeface = SKFontManager.Default.MatchFamily(family);
        Assert.NotNull(typeface);
        Assert.Equal(family, typeface.FamilyName, ignoreCase: true);
    }

    [Fact]
    public void Bad_arguments_are_refused_with_the_parameter_named()
    {
        var path = PathFor("bad.png");
        int[][] square = [[1, 0], [0, 1]];
        string[] two = ["a", "b"];

        Assert.Throws<ArgumentNullException>("history", () => TrainingPlots.TrainingCurves(null!, path));
        Assert.Throws<ArgumentException>("history", () => TrainingPlots.TrainingCurves([], path));
        Assert.Throws<ArgumentException>("pngPath", () => TrainingPlots.TrainingCurves(History(2, false), " "));
        Assert.Throws<ArgumentNullException>("title", () => TrainingPlots.TrainingCurves(History(2, false), path, null!));

        Assert.Throws<ArgumentNullException>("matrix", () => TrainingPlots.ConfusionMatrix(null!, two, path));
        Assert.Throws<ArgumentException>("matrix", () => TrainingPlots.ConfusionMatrix([], [], path));
        Assert.Throws<ArgumentException>("matrix", () => TrainingPlots.ConfusionMatrix([[1, 0], [0]], two, path));
        Assert.Throws<ArgumentException>("matrix", () => TrainingPlots.ConfusionMatrix([[1, -1], [0, 1]], two, path));
        Assert.Throws<ArgumentException>("labels", () => TrainingPlots.ConfusionMatrix(square, ["a"], path));

        Assert.Throws<ArgumentNullException>("perEpochLayerNorms", () => TrainingPlots.GradientNorms(null!, path));
        Assert.Throws<ArgumentException>("perEpochLayerNorms", () => TrainingPlots.GradientNorms([], path));
        Assert.Throws<ArgumentException>("perEpochLayerNorms",
            () => TrainingPlots.GradientNorms([new Dictionary<string, double> { ["fc"] = 0 }], path));

        Assert.False(File.Exists(path));
    }
}
