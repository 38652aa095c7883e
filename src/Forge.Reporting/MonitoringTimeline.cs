using Forge.Core;
using ScottPlot;

namespace Forge.Reporting;

/// <summary>One period of a monitored model's life: its drift share, prediction drift and error from feedback.</summary>
/// <param name="Label">The period's name on the x axis, e.g. "2011-07".</param>
/// <param name="DriftShare">Share of the features that drifted against the reference.</param>
/// <param name="PredictionDrift">The prediction column's drift statistic (distance or p-value, as tested).</param>
/// <param name="Error">The model's error over the period from feedback (e.g. MAE).</param>
/// <param name="Retrain">Whether a retrain was triggered at the end of the period.</param>
public sealed record MonitoringPeriod(string Label, double DriftShare, double PredictionDrift, double Error, bool Retrain);

/// <summary>A timeline PNG of live monitoring: drift share and prediction drift beside the error from feedback, retrains marked.</summary>
public static class MonitoringTimeline
{
    /// <summary>Writes the 1200×460 two-panel PNG to <paramref name="pngPath"/> atomically.</summary>
    public static void WritePng(IReadOnlyList<MonitoringPeriod> periods, double driftShareThreshold, string errorName, string title, string pngPath)
    {
        ArgumentNullException.ThrowIfNull(periods);
        ArgumentException.ThrowIfNullOrWhiteSpace(pngPath);
        if (periods.Count == 0) throw new ArgumentException("no periods to plot", nameof(periods));
        var x = Enumerable.Range(0, periods.Count).Select(i => (double)i).ToArray();
        var ticks = periods.Select((p, i) => new Tick(i, i % 2 == 0 ? p.Label : "")).ToArray();

        using var drift = Figure.NewPlot();
        var share = drift.Add.Scatter(x, periods.Select(p => p.DriftShare).ToArray());
        share.LegendText = "feature drift share";
        share.MarkerSize = 7;
        var prediction = drift.Add.Scatter(x, periods.Select(p => p.PredictionDrift).ToArray());
        prediction.LegendText = "prediction drift (distance)";
        prediction.MarkerSize = 7;
        var threshold = drift.Add.HorizontalLine(driftShareThreshold);
        threshold.LinePattern = LinePattern.Dashed;
        threshold.LegendText = "dataset drift threshold";
        drift.Axes.SetLimitsY(0, Math.Max(1.05, periods.Max(p => p.PredictionDrift) * 1.1));
        drift.YLabel("share / distance");
        drift.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(ticks);
        drift.ShowLegend(Alignment.UpperLeft);

        using var error = Figure.NewPlot();
        var line = error.Add.Scatter(x, periods.Select(p => p.Error).ToArray());
        line.LegendText = errorName + " from feedback";
        line.MarkerSize = 7;
        error.YLabel(errorName);
        error.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(ticks);
        var first = true;
        foreach (var (p, i) in periods.Select((p, i) => (p, i)).Where(t => t.p.Retrain))
        {
            var v = error.Add.VerticalLine(i);
            v.LinePattern = LinePattern.Dotted;
            if (first) v.LegendText = "retrain triggered";
            first = false;
        }
        error.ShowLegend(Alignment.UpperLeft);
        error.Axes.SetLimitsY(0, periods.Max(p => p.Error) * 1.15);

        Figure.SavePng(pngPath, 1200, 460, title, [drift, error]);
    }
}
