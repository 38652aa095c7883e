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

/// <summary>One parameter's slice: its value in each completed trial and the trial's objective value.</summary>
/// <param name="Name">The parameter.</param>
/// <param name="X">The parameter's value per trial (a categorical's choice index).</param>
/// <param name="Values">The objective value per trial.</param>
/// <param name="Log">Draw the parameter on a log axis.</param>
/// <param name="Categories">The choices of a categorical parameter, in index order; null for a number.</param>
public sealed record SliceData(string Name, IReadOnlyList<double> X, IReadOnlyList<double> Values, bool Log, IReadOnlyList<string>? Categories);
