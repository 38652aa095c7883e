using System.Globalization;
using Forge.Core;
using Forge.Monitoring;
using ScottPlot;

namespace Forge.Reporting;

/// <summary>PNG plots of a drift comparison: the reference and current distributions of a column, overlaid.</summary>
public static class DriftPlots
{
    internal const int Width = 800;
    internal const int Height = 420;

    internal static readonly Color ReferenceColor = Color.FromHex("#1f77b4");
    internal static readonly Color CurrentColor = Color.FromHex("#ff7f0e");

    /// <summary>
    /// Writes the overlaid reference and current histograms of one column (density per bin for numeric columns, share
    /// per category for categorical ones) with the test and verdict in the title.
    /// </summary>
    /// <param name="column">A column result that carries its histogram (<see cref="DriftOptions.IncludeHistograms"/>).</param>
    /// <param name="pngPath">Where to write the 800×420 PNG; an existing file is replaced atomically.</param>
    public static void ColumnHistogram(ColumnDrift column, string pngPath)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(pngPath);
        var bytes = ColumnHistogramPng(column);
        AtomicFile.Write(pngPath, stream => stream.Write(bytes));
    }

    /// <summary>The PNG of <see cref="ColumnHistogram"/> as bytes.</summary>
    public static byte[] ColumnHistogramPng(ColumnDrift column)
    {
        ArgumentNullException.ThrowIfNull(column);
        var h = column.Histogram ?? throw new ArgumentException($"column '{column.Name}' carries no histogram (compute drift with IncludeHistograms = true)", nameof(column));
        if (h.Reference.Count != h.Current.Count || h.Reference.Count != h.Labels.Count || h.Reference.Count == 0)
            throw new ArgumentException($"column '{column.Name}' has a malformed histogram", nameof(column));

        using var plot = Figure.NewPlot();
        if (h.Edges is { } edges && edges.Count == h.Reference.Count + 1)
            NumericBars(plot, edges, h.Reference, h.Current);
        else
            CategoryBars(plot, h.Labels, h.Reference, h.Current);

        plot.Legend.ManualItems.Add(new LegendItem { LabelText = "reference", FillColor = ReferenceColor.WithAlpha(0.55) });
        plot.Legend.ManualItems.Add(new LegendItem { LabelText = "current", FillColor = CurrentColor.WithAlpha(0.55) });
        plot.ShowLegend(Alignment.UpperRight);
        plot.Axes.Margins(bottom: 0);
        return Figure.RenderPng(Width, Height, Title(column), [plot]);
    }

    internal static string Title(ColumnDrift c)
    {
        var score = c.PValue is { } p
            ? string.Create(CultureInfo.InvariantCulture, $"{c.Test} = {c.Statistic:G3}, p = {p:G3}")
            : string.Create(CultureInfo.InvariantCulture, $"{c.Test} = {c.Statistic:G3}");
        return $"{c.Name}: {score} ({(c.Drifted ? "drift" : "no drift")})";
    }

    private static void NumericBars(Plot plot, IReadOnlyList<double> edges, IReadOnlyList<double> reference, IReadOnlyList<double> current)
    {
        // Bins have unequal widths (reference deciles), so heights are densities: area, not height, is the share.
        Bar[] Bars(IReadOnlyList<double> shares, Color color) => shares.Select((s, i) =>
        {
            var width = edges[i + 1] - edges[i];
            return new Bar
            {
                Position = (edges[i] + edges[i + 1]) / 2,
                Value = width > 0 ? s / width : 0,
                Size = width,
                FillColor = color.WithAlpha(0.55),
                LineColor = color,
                LineWidth = 1,
            };
        }).ToArray();
        plot.Add.Bars(Bars(reference, ReferenceColor));
        plot.Add.Bars(Bars(current, CurrentColor));
        plot.XLabel("value");
        plot.YLabel("density");
    }

    private static void CategoryBars(Plot plot, IReadOnlyList<string> labels, IReadOnlyList<double> reference, IReadOnlyList<double> current)
    {
        var n = labels.Count;
        Bar[] Bars(IReadOnlyList<double> shares, Color color, double offset) => shares.Select((s, i) => new Bar
        {
            Position = i + offset,
            Value = s,
            Size = 0.4,
            FillColor = color.WithAlpha(0.75),
            LineColor = color,
            LineWidth = 1,
        }).ToArray();
        plot.Add.Bars(Bars(reference, ReferenceColor, -0.2));
        plot.Add.Bars(Bars(current, CurrentColor, 0.2));
        // Long category lists keep every 1 in k labels so they stay readable.
        var step = Math.Max(1, (int)Math.Ceiling(n / 25.0));
        var positions = Enumerable.Range(0, n).Where(i => i % step == 0).Select(i => (double)i).ToArray();
        var names = positions.Select(p => Shorten(labels[(int)p])).ToArray();
        plot.Axes.Bottom.SetTicks(positions, names);
        if (n > 6)
        {
            plot.Axes.Bottom.TickLabelStyle.Rotation = -45;
            plot.Axes.Bottom.TickLabelStyle.Alignment = Alignment.MiddleRight;
        }
        plot.YLabel("share");
    }

    private static string Shorten(string label) => label.Length <= 18 ? label : label[..17] + "…";
}
