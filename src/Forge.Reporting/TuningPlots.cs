using ScottPlot;

namespace Forge.Reporting;

/// <summary>
/// PNG plots of a tuning study, from plain numbers so this project needs no reference to the tuner: the optimisation
/// history (each completed trial's value and the best so far) and slice plots (value against each parameter).
/// </summary>
public static class TuningPlots
{
    private static readonly Color PointColor = Color.FromHex("#1f77b4");
    private static readonly Color BestColor = Color.FromHex("#d62728");

    /// <summary>Writes the history: one point per completed trial (by trial number) and the best-so-far line.</summary>
    public static void History(IReadOnlyList<double> numbers, IReadOnlyList<double> values, IReadOnlyList<double> bestSoFar, string pngPath,
        string valueLabel = "Objective value", string title = "Optimisation history")
    {
        ArgumentNullException.ThrowIfNull(numbers);
        ArgumentNullException.ThrowIfNull(values);
        ArgumentNullException.ThrowIfNull(bestSoFar);
        ArgumentException.ThrowIfNullOrWhiteSpace(pngPath);
        if (numbers.Count != values.Count || numbers.Count != bestSoFar.Count || numbers.Count == 0)
            throw new ArgumentException($"{numbers.Count} trial numbers, {values.Count} values and {bestSoFar.Count} best-so-far values; they must be as many, and more than none", nameof(values));
        using var plot = Figure.NewPlot();
        var points = plot.Add.ScatterPoints(numbers.ToArray(), values.ToArray());
        points.Color = PointColor.WithAlpha(0.6);
        points.MarkerSize = 6;
        points.LegendText = "trial value";
        var best = plot.Add.ScatterLine(numbers.ToArray(), bestSoFar.ToArray());
        best.Color = BestColor;
        best.LineWidth = 2;
        best.ConnectStyle = ConnectStyle.StepHorizontal;
        best.LegendText = "best so far";
        plot.XLabel("Trial");
        plot.YLabel(valueLabel);
        plot.ShowLegend(Alignment.UpperRight);
        Figure.SavePng(pngPath, 900, 560, title, [plot]);
    }

    /// <summary>
    /// Writes one panel per parameter: the completed trials' values against the parameter's value. A categorical
    /// parameter (given its <see cref="SliceData.Categories"/>) is drawn at positions 0, 1, … labelled with its choices; a log
    /// parameter is drawn as its base-10 logarithm.
    /// </summary>
    public static void Slices(IReadOnlyList<SliceData> slices, string pngPath, string valueLabel = "Objective value", string title = "Slice plots")
    {
        ArgumentNullException.ThrowIfNull(slices);
        ArgumentException.ThrowIfNullOrWhiteSpace(pngPath);
        if (slices.Count == 0) throw new ArgumentException("no parameters to plot", nameof(slices));
        var panels = new List<Plot>();
        try
        {
            foreach (var s in slices)
            {
                var plot = Figure.NewPlot();
                panels.Add(plot);
                var xs = s.Log ? s.X.Select(Math.Log10).ToArray() : s.X.ToArray();
                var points = plot.Add.ScatterPoints(xs, s.Values.ToArray());
                points.Color = PointColor.WithAlpha(0.6);
                points.MarkerSize = 6;
                if (s.Categories is { } categories)
                {
                    plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual([.. categories.Select((_, i) => (double)i)], [.. categories]);
                    plot.Axes.SetLimitsX(-0.5, categories.Count - 0.5);
                }
                plot.XLabel(s.Log ? $"log10({s.Name})" : s.Name);
                plot.YLabel(valueLabel);
            }
            Figure.SavePng(pngPath, Math.Max(400, 330 * panels.Count), 420, title, panels);
        }
        finally
        {
            foreach (var p in panels) p.Dispose();
        }
    }
}

/// <summary>The parallel-coordinate plot of a study.</summary>
public static class ParallelCoordinatesPlot
{
    /// <summary>
    /// Writes one line per completed trial across one vertical axis per parameter, after an axis for the objective
    /// value; each axis is scaled to its own range (labelled at its ends) and lines are coloured by the objective, the
    /// best trials dark and drawn last so they stay visible. A categorical axis spreads its choices evenly and names them.
    /// </summary>
    /// <param name="axes">The parameter axes, each with one value per trial, in the order to draw them.</param>
    /// <param name="values">The objective value per trial.</param>
    /// <param name="pngPath">Where to write the PNG.</param>
    /// <param name="lowerIsBetter">True for a minimised objective (colour and drawing order follow it).</param>
    /// <param name="valueLabel">The objective axis's name.</param>
    /// <param name="title">The figure's title.</param>
    public static void Write(IReadOnlyList<SliceData> axes, IReadOnlyList<double> values, string pngPath, bool lowerIsBetter,
        string valueLabel = "Objective value", string title = "Parallel coordinates")
    {
        ArgumentNullException.ThrowIfNull(axes);
        ArgumentNullException.ThrowIfNull(values);
        ArgumentException.ThrowIfNullOrWhiteSpace(pngPath);
        if (axes.Count == 0) throw new ArgumentException("no parameters to plot", nameof(axes));
        if (values.Count == 0) throw new ArgumentException("no trials to plot", nameof(values));
        foreach (var a in axes)
            if (a.X.Count != values.Count) throw new ArgumentException($"axis '{a.Name}' has {a.X.Count} values for {values.Count} trials", nameof(axes));
        var columns = new List<(string Label, double[] Scaled, string Low, string High, IReadOnlyList<string>? Categories)>
        {
            Column(valueLabel, [.. values], false, null),
        };
        columns.AddRange(axes.Select(a => Column(a.Log ? $"{a.Name} (log)" : a.Name, [.. a.Log ? a.X.Select(Math.Log10) : a.X], a.Log, a.Categories)));

        // Rank 0 is the worst trial; lines are drawn worst first so the best end up on top.
        var order = Enumerable.Range(0, values.Count).OrderBy(i => lowerIsBetter ? -values[i] : values[i]).ToArray();
        var colormap = new ScottPlot.Colormaps.Viridis();
        using var plot = Figure.NewPlot();
        for (var k = 0; k < order.Length; k++)
        {
            var i = order[k];
            var line = plot.Add.ScatterLine(Enumerable.Range(0, columns.Count).Select(c => (double)c).ToArray(), columns.Select(c => c.Scaled[i]).ToArray());
            // Viridis runs dark to light; the best trial gets the dark end.
            var position = order.Length == 1 ? 0 : 1 - ((double)k / (order.Length - 1));
            line.Color = colormap.GetColor(position * 0.9).WithAlpha(0.75);
            line.LineWidth = 1.5f;
            line.MarkerSize = 0;
        }
        for (var c = 0; c < columns.Count; c++)
        {
            plot.Add.VerticalLine(c, 1, Colors.Gray);
            if (columns[c].Categories is { } choices)
            {
                for (var j = 0; j < choices.Count; j++)
                {
                    var label = plot.Add.Text(choices[j], c, choices.Count == 1 ? 0.5 : (double)j / (choices.Count - 1));
                    label.LabelFontSize = 11;
                }
                continue;
            }
            var low = plot.Add.Text(columns[c].Low, c, -0.06);
            low.LabelFontSize = 11;
            var high = plot.Add.Text(columns[c].High, c, 1.06);
            high.LabelFontSize = 11;
        }
        plot.Axes.Bottom.SetTicks([.. Enumerable.Range(0, columns.Count).Select(c => (double)c)], [.. columns.Select(c => c.Label)]);
        plot.Axes.Left.SetTicks([], []);
        plot.Axes.SetLimits(-0.3, columns.Count - 0.4, -0.15, 1.15);
        plot.YLabel("each axis scaled to its own range; dark = best");
        Figure.SavePng(pngPath, Math.Max(700, 170 * columns.Count), 520, title, [plot]);
    }

    private static (string, double[], string, string, IReadOnlyList<string>?) Column(string label, double[] raw, bool log, IReadOnlyList<string>? categories)
    {
        if (categories is { Count: > 0 })
        {
            var span = Math.Max(1, categories.Count - 1);
            return (label, [.. raw.Select(v => v / span)], "", "", categories);
        }
        var min = raw.Min();
        var max = raw.Max();
        var scaled = max > min ? raw.Select(v => (v - min) / (max - min)).ToArray() : raw.Select(_ => 0.5).ToArray();
        string F(double v) => (log ? Math.Pow(10, v) : v).ToString("G4", System.Globalization.CultureInfo.InvariantCulture);
        return (label, scaled, F(min), F(max), null);
    }
}

/// <summary>One parameter's slice: its value in each completed trial and the trial's objective value.</summary>
/// <param name="Name">The parameter.</param>
/// <param name="X">The parameter's value per trial (a categorical's choice index).</param>
/// <param name="Values">The objective value per trial.</param>
/// <param name="Log">Draw the parameter on a log axis.</param>
/// <param name="Categories">The choices of a categorical parameter, in index order; null for a number.</param>
public sealed record SliceData(string Name, IReadOnlyList<double> X, IReadOnlyList<double> Values, bool Log, IReadOnlyList<string>? Categories);
