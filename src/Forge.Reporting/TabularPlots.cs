using System.Globalization;
using Forge.Core;
using ScottPlot;

namespace Forge.Reporting;

/// <summary>PNG plots of a tabular model: the ROC curve (binary classifiers), residuals (regressions) and per-feature importance.</summary>
public static class TabularPlots
{
    private static readonly Color CurveColor = Color.FromHex("#1f77b4");
    private static readonly Color ChanceColor = Color.FromHex("#999999");

    /// <summary>Writes the ROC curve with the chance diagonal, the AUC in the legend.</summary>
    public static void Roc(RocCurve roc, string pngPath, string title = "ROC curve")
    {
        ArgumentNullException.ThrowIfNull(roc);
        ArgumentException.ThrowIfNullOrWhiteSpace(pngPath);
        ArgumentNullException.ThrowIfNull(title);
        using var plot = Figure.NewPlot();
        var chance = plot.Add.Line(0, 0, 1, 1);
        chance.Color = ChanceColor;
        chance.LinePattern = LinePattern.Dashed;
        var curve = plot.Add.ScatterLine(roc.FalsePositiveRates, roc.TruePositiveRates);
        curve.Color = CurveColor;
        curve.LineWidth = 2;
        curve.LegendText = string.Create(CultureInfo.InvariantCulture, $"AUC {roc.Auc:0.0000}");
        plot.Axes.SetLimits(0, 1, 0, 1);
        plot.XLabel("False positive rate");
        plot.YLabel("True positive rate");
        plot.ShowLegend(Alignment.LowerRight);
        Figure.SavePng(pngPath, 700, 640, title, [plot]);
    }

    /// <summary>Writes residuals (actual − predicted) against the predicted value, with the zero line.</summary>
    public static void Residuals(IReadOnlyList<double> actual, IReadOnlyList<double> predicted, string pngPath, string title = "Residuals")
    {
        ArgumentNullException.ThrowIfNull(actual);
        ArgumentNullException.ThrowIfNull(predicted);
        ArgumentException.ThrowIfNullOrWhiteSpace(pngPath);
        ArgumentNullException.ThrowIfNull(title);
        if (actual.Count != predicted.Count || actual.Count == 0)
            throw new ArgumentException($"{actual.Count} actual and {predicted.Count} predicted values; they must be as many, and more than none", nameof(predicted));
        using var plot = Figure.NewPlot();
        var xs = predicted.ToArray();
        var ys = actual.Select((a, i) => a - predicted[i]).ToArray();
        var points = plot.Add.ScatterPoints(xs, ys);
        points.Color = CurveColor.WithAlpha(0.35);
        points.MarkerSize = 3;
        var zero = plot.Add.HorizontalLine(0);
        zero.Color = ChanceColor;
        zero.LinePattern = LinePattern.Dashed;
        plot.XLabel("Predicted");
        plot.YLabel("Actual − predicted");
        Figure.SavePng(pngPath, 900, 600, title, [plot]);
    }

    /// <summary>Writes the features' importance as horizontal bars, largest on top (at most <paramref name="top"/> features).</summary>
    public static void Importance(IReadOnlyDictionary<string, double> importance, string pngPath, string title = "Feature importance (gain)", int top = 20)
    {
        ArgumentNullException.ThrowIfNull(importance);
        ArgumentException.ThrowIfNullOrWhiteSpace(pngPath);
        ArgumentNullException.ThrowIfNull(title);
        if (importance.Count == 0) throw new ArgumentException("no importance values to plot", nameof(importance));
        var rows = importance.OrderByDescending(p => p.Value).ThenBy(p => p.Key, StringComparer.Ordinal).Take(top).Reverse().ToArray();
        var max = rows.Max(r => r.Value);
        using var plot = Figure.NewPlot();
        var bars = rows.Select((r, i) => new Bar
        {
            Position = i,
            Value = max > 0 ? r.Value / max : 0,
            FillColor = CurveColor,
            Orientation = Orientation.Horizontal,
        }).ToArray();
        plot.Add.Bars(bars);
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual([.. rows.Select((_, i) => (double)i)], [.. rows.Select(r => r.Key)]);
        plot.Axes.Left.MajorTickStyle.Length = 0;
        plot.Axes.SetLimitsX(0, 1.05);
        plot.XLabel("Share of the largest");
        plot.Layout.Fixed(new PixelPadding(left: 170, right: 24, bottom: 60, top: 12));
        Figure.SavePng(pngPath, 900, 120 + (28 * rows.Length), title, [plot]);
    }
}
