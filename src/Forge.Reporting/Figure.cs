using Forge.Core;
using ScottPlot;
using SkiaSharp;

namespace Forge.Reporting;

/// <summary>Lays ScottPlot panels side by side under one figure title and saves the result as a PNG.</summary>
internal static class Figure
{
    /// <summary>Height of the band at the top that holds the figure title, kept even when the title is empty.</summary>
    internal const int TitleBandHeight = 44;

    /// <summary>Point size of the figure title.</summary>
    internal const float TitleFontSize = 20;

    /// <summary>Point size of axis labels.</summary>
    internal const float AxisLabelFontSize = 16;

    /// <summary>Point size of tick labels and legends.</summary>
    internal const float TickFontSize = 13;

    /// <summary>Black, so tests can tell drawn text from the pale grid and the white background.</summary>
    internal static readonly Color TextColor = Colors.Black;

    /// <summary>Creates a plot with Forge's font, text sizes and colours.</summary>
    internal static Plot NewPlot()
    {
        var plot = new Plot();
        var family = PlotFonts.Family;
        plot.Font.Set(family);
        plot.Legend.FontName = family;
        plot.Legend.FontSize = TickFontSize;
        foreach (var axis in plot.Axes.GetAxes())
        {
            axis.Label.FontSize = AxisLabelFontSize;
            axis.Label.ForeColor = TextColor;
            axis.TickLabelStyle.FontSize = TickFontSize;
            axis.TickLabelStyle.ForeColor = TextColor;
        }
        return plot;
    }

    /// <summary>Renders <paramref name="panels"/> in equal-width columns below the title band and writes the PNG atomically.</summary>
    internal static void SavePng(string pngPath, int width, int height, string title, IReadOnlyList<Plot> panels)
    {
        var bytes = RenderPng(width, height, title, panels);
        AtomicFile.Write(pngPath, stream => stream.Write(bytes));
    }

    /// <summary>Renders <paramref name="panels"/> as <see cref="SavePng"/> does and returns the PNG's bytes (for reports that embed it).</summary>
    internal static byte[] RenderPng(int width, int height, string title, IReadOnlyList<Plot> panels)
    {
        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul);
        using var surface = SKSurface.Create(info)
            ?? throw new InvalidOperationException($"Skia could not create a {width}x{height} drawing surface");
        var canvas = surface.Canvas;
        canvas.Clear(SKColors.White);

        // The title band is drawn by this class, not by ScottPlot's title panel, so one title spans several panels and
        // the panels sit in the same place whether or not there is a title.
        if (title.Length > 0)
        {
            var label = new LabelStyle
            {
                Text = title,
                FontName = PlotFonts.Family,
                FontSize = TitleFontSize,
                ForeColor = TextColor,
                Alignment = Alignment.MiddleCenter,
            };
            using var paint = Paint.NewDisposablePaint();
            label.Render(canvas, new Pixel(width / 2f, TitleBandHeight / 2f), paint);
        }

        var columnWidth = (float)width / panels.Count;
        for (var i = 0; i < panels.Count; i++)
        {
            var rect = new PixelRect(left: i * columnWidth, right: (i + 1) * columnWidth, bottom: height, top: TitleBandHeight);
            canvas.Save();
            // ScottPlot fills its whole canvas with the figure background; clipping keeps each panel to its own column.
            canvas.ClipRect(rect.ToSKRect());
            panels[i].Render(canvas, rect);
            canvas.Restore();
        }

        using var image = surface.Snapshot();
        using var png = image.Encode(SKEncodedImageFormat.Png, 100);
        return png.ToArray();
    }
}
