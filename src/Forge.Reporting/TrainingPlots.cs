using System.Globalization;
using Forge.Core;
using ScottPlot;
using ScottPlot.TickGenerators;

namespace Forge.Reporting;

/// <summary>PNG plots of a training run: loss and accuracy curves, a confusion matrix and per-layer gradient norms.</summary>
public static class TrainingPlots
{
    internal const int CurvesWidth = 1200;
    internal const int CurvesHeight = 500;
    internal const int GradientNormsWidth = 1000;
    internal const int GradientNormsHeight = 500;

    /// <summary>Space around each training-curve panel's data area, fixed so both panels line up and the axes never move.</summary>
    internal static readonly PixelPadding CurvesPadding = new(left: 80, right: 24, bottom: 60, top: 12);

    private static readonly Color TrainColor = Color.FromHex("#1f77b4");
    private static readonly Color ValidationColor = Color.FromHex("#ff7f0e");

    /// <summary>Writes loss per epoch (left) and accuracy in % per epoch (right), train and, where recorded, validation.</summary>
    /// <param name="history">One entry per epoch, in any order; non-finite values are left out of the lines.</param>
    /// <param name="pngPath">Where to write the 1200×500 PNG; an existing file is replaced atomically.</param>
    /// <param name="title">Title above both panels; empty for none.</param>
    public static void TrainingCurves(IReadOnlyList<EpochMetrics> history, string pngPath, string title = "Training curves") =>
        TrainingCurves(history, pngPath, title, new CurveLabels("Epoch", "Loss", "Accuracy (%)"));

    /// <summary>Axis label texts of the training-curve panels; tests blank them to see that text is really drawn.</summary>
    internal sealed record CurveLabels(string Epoch, string Loss, string Accuracy);

    internal static void TrainingCurves(IReadOnlyList<EpochMetrics> history, string pngPath, string title, CurveLabels labels)
    {
        ArgumentNullException.ThrowIfNull(history);
        ArgumentException.ThrowIfNullOrWhiteSpace(pngPath);
        ArgumentNullException.ThrowIfNull(title);
        ArgumentNullException.ThrowIfNull(labels);
        if (history.Count == 0)
            throw new ArgumentException("the history has no epochs to plot", nameof(history));
        if (history.Any(m => m is null))
            throw new ArgumentException("the history contains a null entry", nameof(history));

        var epochs = history.OrderBy(m => m.Epoch).ToArray();
        var hasValidation = epochs.Any(m => m.ValidationLoss.HasValue || m.ValidationAccuracy.HasValue);

        using var loss = Figure.NewPlot();
        AddCurve(loss, epochs, m => m.TrainLoss, "train", TrainColor);
        if (hasValidation)
            AddCurve(loss, epochs, m => m.ValidationLoss, "validation", ValidationColor);
        StyleCurvePanel(loss, labels.Epoch, labels.Loss);
        // Loss falls from the upper left, so the upper right is where the legend hides the least.
        loss.ShowLegend(Alignment.UpperRight);

        using var accuracy = Figure.NewPlot();
        AddCurve(accuracy, epochs, m => m.TrainAccuracy * 100, "train", TrainColor);
        if (hasValidation)
            AddCurve(accuracy, epochs, m => m.ValidationAccuracy * 100, "validation", ValidationColor);
        StyleCurvePanel(accuracy, labels.Epoch, labels.Accuracy);
        accuracy.ShowLegend(Alignment.LowerRight);

        Figure.SavePng(pngPath, CurvesWidth, CurvesHeight, title, [loss, accuracy]);
    }

    /// <summary>Writes a heatmap of a confusion matrix with the count written in each cell.</summary>
    /// <param name="matrix">Square counts: <c>matrix[t][p]</c> is how many examples of true class t were predicted as p.</param>
    /// <param name="labels">Class names, one per row, used as tick labels on both axes.</param>
    /// <param name="pngPath">Where to write the PNG (its size grows with the number of classes); an existing file is replaced atomically.</param>
    /// <param name="title">Title above the heatmap; empty for none.</param>
    public static void ConfusionMatrix(int[][] matrix, IReadOnlyList<string> labels, string pngPath, string title = "Confusion matrix")
    {
        ArgumentNullException.ThrowIfNull(matrix);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentException.ThrowIfNullOrWhiteSpace(pngPath);
        ArgumentNullException.ThrowIfNull(title);
        var n = matrix.Length;
        if (n == 0)
            throw new ArgumentException("the confusion matrix has no classes", nameof(matrix));
        for (var t = 0; t < n; t++)
        {
            if (matrix[t] is null || matrix[t].Length != n)
                throw new ArgumentException($"the confusion matrix must be square: row {t} has {matrix[t]?.Length ?? 0} cells, expected {n}", nameof(matrix));
            if (matrix[t].Any(c => c < 0))
                throw new ArgumentException($"row {t} of the confusion matrix has a negative count", nameof(matrix));
        }
        if (labels.Count != n)
            throw new ArgumentException($"{labels.Count} labels for a {n}x{n} confusion matrix", nameof(labels));
        if (labels.Any(l => l is null))
            throw new ArgumentException("a class label is null", nameof(labels));

        var layout = ConfusionLayout.For(n, labels);
        var counts = new double[n, n];
        var max = 0;
        for (var t = 0; t < n; t++)
        {
            for (var p = 0; p < n; p++)
            {
                counts[t, p] = matrix[t][p];
                max = Math.Max(max, matrix[t][p]);
            }
        }

        using var plot = Figure.NewPlot();
        // ScottPlot centres cell (t, p) on x = p, y = n-1-t: true class 0 on the top row, as confusion matrices are read.
        var heatmap = plot.Add.Heatmap(counts);
        heatmap.Colormap = new ScottPlot.Colormaps.Reversed(new ScottPlot.Colormaps.Blues());
        var colorBar = plot.Add.ColorBar(heatmap);
        colorBar.Axis.TickLabelStyle.FontName = PlotFonts.Family;
        colorBar.Axis.TickLabelStyle.FontSize = Figure.TickFontSize;

        for (var t = 0; t < n; t++)
        {
            for (var p = 0; p < n; p++)
            {
                var text = plot.Add.Text(matrix[t][p].ToString(CultureInfo.InvariantCulture), p, n - 1 - t);
                text.LabelFontName = PlotFonts.Family;
                text.LabelFontSize = layout.CountFontSize;
                text.LabelAlignment = Alignment.MiddleCenter;
                // Dark cells get white digits so every count stays readable against its own colour.
                text.LabelFontColor = max > 0 && matrix[t][p] > max / 2.0 ? Colors.White : Figure.TextColor;
            }
        }

        var positions = Enumerable.Range(0, n).Select(i => (double)i).ToArray();
        plot.Axes.Bottom.SetTicks(positions, labels.ToArray());
        plot.Axes.Left.SetTicks(positions, labels.Reverse().ToArray());
        if (layout.RotateXLabels)
        {
            plot.Axes.Bottom.TickLabelStyle.Rotation = -45;
            plot.Axes.Bottom.TickLabelStyle.Alignment = Alignment.MiddleRight;
            // ScottPlot places the axis label below the unrotated height of the tick labels; move it below the rotated ones.
            plot.Axes.Bottom.Label.OffsetY = layout.XLabelShift;
        }
        plot.XLabel("Predicted");
        plot.YLabel("True");
        plot.Axes.SetLimits(-0.5, n - 0.5, -0.5, n - 0.5);
        plot.Grid.IsVisible = false;
        plot.Layout.Fixed(layout.Padding);

        Figure.SavePng(pngPath, layout.Width, layout.Height, title, [plot]);
    }

    /// <summary>Writes one line per layer of its gradient norm per epoch, on a log10 y axis.</summary>
    /// <param name="perEpochLayerNorms">Entry i holds each layer's gradient norm in epoch i+1; a layer may be missing from some epochs.</param>
    /// <param name="pngPath">Where to write the 1000×500 PNG (taller when the legend needs it); an existing file is replaced atomically.</param>
    /// <param name="title">Title above the plot; empty for none.</param>
    /// <remarks>A norm that is zero, negative or not finite has no logarithm and is left out of its line.</remarks>
    public static void GradientNorms(
        IReadOnlyList<IReadOnlyDictionary<string, double>> perEpochLayerNorms,
        string pngPath,
        string title = "Gradient norm per layer")
    {
        ArgumentNullException.ThrowIfNull(perEpochLayerNorms);
        ArgumentException.ThrowIfNullOrWhiteSpace(pngPath);
        ArgumentNullException.ThrowIfNull(title);
        if (perEpochLayerNorms.Count == 0)
            throw new ArgumentException("there are no epochs to plot", nameof(perEpochLayerNorms));
        if (perEpochLayerNorms.Any(e => e is null))
            throw new ArgumentException("an epoch's layer norms are null", nameof(perEpochLayerNorms));

        // Layers keep the order in which they first appear, which for a trainer is the order of the network.
        var layers = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var name in perEpochLayerNorms.SelectMany(e => e.Keys))
        {
            if (seen.Add(name))
                layers.Add(name);
        }
        if (!perEpochLayerNorms.Any(e => e.Values.Any(IsLoggable)))
            throw new ArgumentException("no gradient norm is positive and finite, so none can be drawn on a log scale", nameof(perEpochLayerNorms));

        using var plot = Figure.NewPlot();
        var palette = new ScottPlot.Palettes.Category10();
        LinePattern[] patterns = [LinePattern.Solid, LinePattern.Dashed, LinePattern.Dotted, LinePattern.DenselyDashed];
        for (var i = 0; i < layers.Count; i++)
        {
            var xs = new List<double>();
            var ys = new List<double>();
            for (var e = 0; e < perEpochLayerNorms.Count; e++)
            {
                if (perEpochLayerNorms[e].TryGetValue(layers[i], out var norm) && IsLoggable(norm))
                {
                    xs.Add(e + 1);
                    ys.Add(Math.Log10(norm));
                }
            }
            if (xs.Count == 0)
                continue;
            var line = plot.Add.Scatter(xs.ToArray(), ys.ToArray());
            line.LegendText = layers[i];
            line.Color = palette.GetColor(i);
            // Ten colours run out on deeper networks; the dash pattern tells apart layers that share one.
            line.LinePattern = patterns[i / palette.Colors.Length % patterns.Length];
            line.LineWidth = 2;
            line.MarkerSize = perEpochLayerNorms.Count <= 30 ? 5 : 0;
        }

        plot.Axes.Bottom.TickGenerator = new NumericAutomatic { IntegerTicksOnly = true };
        plot.Axes.Left.TickGenerator = new NumericAutomatic
        {
            IntegerTicksOnly = true,
            LabelFormatter = PowerOfTen,
            MinorTickGenerator = new LogMinorTickGenerator(),
        };
        plot.XLabel("Epoch");
        plot.YLabel("Gradient norm (log scale)");
        plot.ShowLegend(Edge.Right);

        // ScottPlot wraps a legend taller than the plot into columns but reserves room for one, cutting the rest off;
        // a deep network's figure grows taller instead, so every layer keeps its entry.
        int legendHeight;
        using (var legendImage = plot.GetLegendImage())
            legendHeight = legendImage.Height;
        // The legend panel is as tall as the data area, which loses the x axis (~60 px) and the top margin to the figure.
        var height = Math.Max(GradientNormsHeight, Figure.TitleBandHeight + legendHeight + 110);

        Figure.SavePng(pngPath, GradientNormsWidth, height, title, [plot]);
    }

    private static bool IsLoggable(double norm) => norm > 0 && double.IsFinite(norm);

    /// <summary>Labels a log10 tick with the value it stands for: 0.01, 1, 100, or 1e-05 where decimals get long.</summary>
    internal static string PowerOfTen(double exponent)
    {
        var e = (int)Math.Round(exponent);
        return e is >= -3 and <= 4
            ? Math.Pow(10, e).ToString("0.###", CultureInfo.InvariantCulture)
            : "1e" + e.ToString(CultureInfo.InvariantCulture);
    }

    private static void AddCurve(Plot plot, EpochMetrics[] epochs, Func<EpochMetrics, double?> value, string legend, Color color)
    {
        var xs = new List<double>();
        var ys = new List<double>();
        foreach (var m in epochs)
        {
            if (value(m) is { } y && double.IsFinite(y))
            {
                xs.Add(m.Epoch);
                ys.Add(y);
            }
        }
        if (xs.Count == 0)
            return;
        var line = plot.Add.Scatter(xs.ToArray(), ys.ToArray());
        line.LegendText = legend;
        line.Color = color;
        line.LineWidth = 2;
        line.MarkerSize = epochs.Length <= 40 ? 6 : 0;
    }

    private static void StyleCurvePanel(Plot plot, string xLabel, string yLabel)
    {
        plot.XLabel(xLabel, Figure.AxisLabelFontSize);
        plot.YLabel(yLabel, Figure.AxisLabelFontSize);
        plot.Axes.Bottom.TickGenerator = new NumericAutomatic { IntegerTicksOnly = true };
        plot.Layout.Fixed(CurvesPadding);
    }
}
