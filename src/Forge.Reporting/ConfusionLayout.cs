using ScottPlot;

namespace Forge.Reporting;

/// <summary>Figure size and margins of a confusion matrix, sized so cells stay square and the longest class name fits.</summary>
internal sealed record ConfusionLayout(int Width, int Height, PixelPadding Padding, float CountFontSize, bool RotateXLabels, float XLabelShift)
{
    private const int AxisLabelBand = 44;
    private const int ColorBarBand = 110;

    internal static ConfusionLayout For(int classes, IReadOnlyList<string> labels)
    {
        // Big enough for two classes to look like a matrix, small enough that 40 classes still fit on a screen.
        var side = Math.Clamp(classes * 64, 360, 1000);
        var cell = (float)side / classes;
        var countFontSize = Math.Clamp(cell * 0.3f, 8f, 18f);

        var (labelWidth, labelHeight) = Widest(labels);
        var rotate = labelWidth > cell * 0.9f;
        var bottomTicks = rotate ? (labelWidth + labelHeight) * MathF.Sqrt(0.5f) : labelHeight;

        var padding = new PixelPadding(
            left: MathF.Ceiling(labelWidth) + AxisLabelBand,
            right: ColorBarBand,
            bottom: MathF.Ceiling(bottomTicks) + AxisLabelBand,
            top: 12);
        var width = (int)(padding.Left + side + padding.Right);
        var height = Figure.TitleBandHeight + (int)(padding.Top + side + padding.Bottom);
        return new ConfusionLayout(width, height, padding, countFontSize, rotate, MathF.Ceiling(bottomTicks - labelHeight));
    }

    private static (float Width, float Height) Widest(IReadOnlyList<string> labels)
    {
        var style = new LabelStyle { FontName = PlotFonts.Family, FontSize = Figure.TickFontSize };
        using var paint = Paint.NewDisposablePaint();
        float width = 0, height = 0;
        foreach (var label in labels)
        {
            var size = style.Measure(label, paint).Size;
            width = Math.Max(width, size.Width);
            height = Math.Max(height, size.Height);
        }
        return (width, height);
    }
}
