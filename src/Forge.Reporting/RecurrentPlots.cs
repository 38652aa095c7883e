using ScottPlot;
using ScottPlot.TickGenerators;

namespace Forge.Reporting;

/// <summary>PNG plots of recurrent-network runs: a test-error curve over steps and the gradient norm through time.</summary>
public static class RecurrentPlots
{
    private const int Width = 1000;
    private const int Height = 500;
    private static readonly Color InitColor = Color.FromHex("#7f7f7f");
    private static readonly Color TrainedColor = Color.FromHex("#d62728");
    private static readonly Color CurveColor = Color.FromHex("#1f77b4");

    /// <summary>Test MSE per evaluation step, on a log10 y axis, with an optional dashed reference level (the constant answer's MSE).</summary>
    /// <param name="steps">Optimiser steps at each evaluation.</param>
    /// <param name="mse">Test MSE at each evaluation (non-positive or non-finite values are left out).</param>
    /// <param name="baseline">A level drawn dashed across the plot, e.g. 0.167; null for none.</param>
    /// <param name="pngPath">Where to write the 1000×500 PNG (replaced atomically).</param>
    /// <param name="title">Title above the plot.</param>
    public static void TestMseCurve(IReadOnlyList<long> steps, IReadOnlyList<double> mse, double? baseline, string pngPath, string title)
    {
        ArgumentNullException.ThrowIfNull(steps);
        ArgumentNullException.ThrowIfNull(mse);
        ArgumentException.ThrowIfNullOrWhiteSpace(pngPath);
        ArgumentNullException.ThrowIfNull(title);
        if (steps.Count != mse.Count) throw new ArgumentException($"{steps.Count} steps but {mse.Count} values", nameof(mse));
        var xs = new List<double>();
        var ys = new List<double>();
        for (var i = 0; i < steps.Count; i++)
        {
            if (mse[i] > 0 && double.IsFinite(mse[i]))
            {
                xs.Add(steps[i]);
                ys.Add(Math.Log10(mse[i]));
            }
        }
        if (xs.Count == 0) throw new ArgumentException("no test MSE is positive and finite", nameof(mse));
        using var plot = Figure.NewPlot();
        var line = plot.Add.Scatter(xs.ToArray(), ys.ToArray());
        line.LegendText = "test MSE";
        line.Color = CurveColor;
        line.LineWidth = 2;
        line.MarkerSize = xs.Count <= 60 ? 5 : 0;
        if (baseline is { } b && b > 0)
        {
            var level = plot.Add.HorizontalLine(Math.Log10(b));
            level.LinePattern = LinePattern.Dashed;
            level.Color = InitColor;
            level.LegendText = $"constant answer ({b:0.###})";
        }
        LogAxis(plot, ys.Append(baseline is { } lb && lb > 0 ? Math.Log10(lb) : ys[0]));
        plot.XLabel("Step");
        plot.YLabel("Test MSE (log scale)");
        plot.ShowLegend(Alignment.UpperRight);
        Figure.SavePng(pngPath, Width, Height, title, [plot]);
    }

    /// <summary>‖∂L/∂hₜ‖ against t = 1..T on a log10 y axis, at initialisation and after training.</summary>
    /// <param name="atInit">Norms at initialisation, t = 1..T.</param>
    /// <param name="afterTraining">Norms after training, t = 1..T.</param>
    /// <param name="pngPath">Where to write the 1000×500 PNG (replaced atomically).</param>
    /// <param name="title">Title above the plot.</param>
    public static void GradientProfile(IReadOnlyList<double> atInit, IReadOnlyList<double> afterTraining, string pngPath, string title)
    {
        ArgumentNullException.ThrowIfNull(atInit);
        ArgumentNullException.ThrowIfNull(afterTraining);
        ArgumentException.ThrowIfNullOrWhiteSpace(pngPath);
        ArgumentNullException.ThrowIfNull(title);
        using var plot = Figure.NewPlot();
        var logs = new List<double>();
        Add(plot, atInit, "at initialisation", InitColor, logs);
        Add(plot, afterTraining, "after training", TrainedColor, logs);
        if (logs.Count == 0) throw new ArgumentException("no gradient norm is positive and finite", nameof(atInit));
        LogAxis(plot, logs);
        plot.XLabel("Time step t");
        plot.YLabel("||dL/dh_t|| (log scale)");
        plot.ShowLegend(Alignment.LowerRight);
        Figure.SavePng(pngPath, Width, Height, title, [plot]);
    }

    private static void Add(Plot plot, IReadOnlyList<double> norms, string legend, Color color, List<double> logs)
    {
        var xs = new List<double>();
        var ys = new List<double>();
        for (var t = 0; t < norms.Count; t++)
        {
            if (norms[t] > 0 && double.IsFinite(norms[t]))
            {
                xs.Add(t + 1);
                ys.Add(Math.Log10(norms[t]));
            }
        }
        if (xs.Count == 0) return;
        logs.AddRange(ys);
        var line = plot.Add.Scatter(xs.ToArray(), ys.ToArray());
        line.LegendText = legend;
        line.Color = color;
        line.LineWidth = 2;
        line.MarkerSize = 0;
    }

    // Whole decades from below the lowest value to above the highest, so even a curve within one decade has labelled ticks.
    private static void LogAxis(Plot plot, IEnumerable<double> logs)
    {
        var all = logs.ToArray();
        var low = Math.Floor(all.Min());
        var high = Math.Max(low + 1, Math.Ceiling(all.Max()));
        plot.Axes.SetLimitsY(low, high);
        plot.Axes.Left.TickGenerator = new NumericAutomatic
        {
            IntegerTicksOnly = true,
            LabelFormatter = TrainingPlots.PowerOfTen,
            MinorTickGenerator = new LogMinorTickGenerator(),
        };
    }
}
