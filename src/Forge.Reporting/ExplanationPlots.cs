using System.Globalization;
using Forge.Core;
using Forge.Explainability;
using Forge.Explainability.Importance;
using ScottPlot;

namespace Forge.Reporting;

/// <summary>
/// PNG plots of an <see cref="Explanation"/>: waterfall (one row), beeswarm and mean-|value| bar (all rows), dependence
/// scatter (one feature), and the image overlay. Every plot reads only the explanation.
/// </summary>
public static class ExplanationPlots
{
    internal const int Width = 1000;
    internal const int RowHeight = 34;
    internal const int FrameHeight = 150;

    /// <summary>Red for attributions that push the output up, blue for those that pull it down (SHAP's convention).</summary>
    internal static readonly Color Positive = Color.FromHex("#ff0051");

    /// <summary>Blue for negative attributions.</summary>
    internal static readonly Color Negative = Color.FromHex("#008bfb");

    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>
    /// Writes a waterfall for one row: from the base value, each feature's attribution as a bar (largest first), ending at
    /// the model output. Features beyond <paramref name="maxDisplay"/> − 1 are summed into one bar.
    /// </summary>
    /// <param name="explanation">The explanation.</param>
    /// <param name="row">Which row.</param>
    /// <param name="pngPath">Where to write the PNG (1000 px wide, taller with more bars); replaced atomically.</param>
    /// <param name="output">Which output (class).</param>
    /// <param name="maxDisplay">Most bars, the summed rest included. Default 10.</param>
    /// <param name="title">Title; null for a default naming the row and output.</param>
    public static void Waterfall(Explanation explanation, int row, string pngPath, int output = 0, int maxDisplay = 10, string? title = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(pngPath);
        var png = WaterfallPng(explanation, row, output, maxDisplay, title, labels: true);
        AtomicFile.Write(pngPath, s => s.Write(png));
    }

    internal static byte[] WaterfallPng(Explanation explanation, int row, int output, int maxDisplay, string? title, bool labels)
    {
        ArgumentNullException.ThrowIfNull(explanation);
        CheckRowOutput(explanation, row, output);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxDisplay, 2);
        var values = explanation.Values(row, output).ToArray();
        var order = Enumerable.Range(0, values.Length).OrderByDescending(f => Math.Abs(values[f])).ThenBy(f => f).ToArray();
        var shown = order.Length <= maxDisplay ? order : order[..(maxDisplay - 1)];
        var rest = order.Length <= maxDisplay ? 0.0 : order[(maxDisplay - 1)..].Sum(f => values[f]);
        var items = shown.Select(f => (Label: explanation.DisplayLabel(row, f), Value: values[f])).ToList();
        if (order.Length > maxDisplay) items.Add(($"{order.Length - maxDisplay + 1} other features", rest));
        // Drawn bottom-up from the base value, so the largest attribution ends at the top next to f(x).
        items.Reverse();

        using var plot = Figure.NewPlot();
        var start = explanation.BaseValue(row, output);
        var bars = new List<Bar>();
        var position = 0;
        double low = start, high = start;
        foreach (var (_, value) in items)
        {
            bars.Add(new Bar
            {
                Position = position++,
                ValueBase = start,
                Value = start + value,
                FillColor = value >= 0 ? Positive : Negative,
                LineWidth = 0,
                Size = 0.7,
                Orientation = Orientation.Horizontal,
            });
            start += value;
            low = Math.Min(low, start);
            high = Math.Max(high, start);
        }
        plot.Add.Bars(bars).Horizontal = true;
        var span = Math.Max(high - low, 1e-12);
        for (var i = 0; i < items.Count; i++)
        {
            var bar = bars[i];
            var text = plot.Add.Text(Signed(items[i].Value), Math.Max(bar.Value, bar.ValueBase) + span * 0.01, i);
            text.LabelFontName = PlotFonts.Family;
            text.LabelFontSize = Figure.TickFontSize;
            text.LabelFontColor = Figure.TextColor;
            text.LabelAlignment = Alignment.MiddleLeft;
        }
        plot.Add.VerticalLine(explanation.BaseValue(row, output), 1, Colors.Gray, LinePattern.Dashed);
        plot.Axes.Left.SetTicks(Enumerable.Range(0, items.Count).Select(i => (double)i).ToArray(),
            items.Select(i => labels ? Shorten(i.Label, 40) : "").ToArray());
        plot.Axes.SetLimits(low - span * 0.05, high + span * 0.2, -0.7, items.Count - 0.3);
        var prediction = explanation.Prediction(row, output);
        plot.XLabel(labels
            ? $"E[f(x)] = {Fmt(explanation.BaseValue(row, output))}" + (double.IsNaN(prediction) ? "" : $"   f(x) = {Fmt(prediction)}") + $"   ({explanation.OutputSpace})"
            : "");
        plot.Grid.YAxisStyle.IsVisible = false;
        plot.Layout.Fixed(new PixelPadding(left: labels ? 300 : 300, right: 30, bottom: 60, top: 10));
        var height = FrameHeight + RowHeight * items.Count;
        return Figure.RenderPng(Width, height, title ?? $"{Method(explanation)} for row {row}{OutputSuffix(explanation, output)}", [plot]);
    }

    /// <summary>
    /// Writes a beeswarm summary: one line per feature (largest mean |value| on top), one dot per row at its attribution,
    /// coloured from blue (low feature value) to red (high).
    /// </summary>
    public static void Beeswarm(Explanation explanation, string pngPath, int output = 0, int maxDisplay = 20, string? title = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(pngPath);
        var png = BeeswarmPng(explanation, output, maxDisplay, title);
        AtomicFile.Write(pngPath, s => s.Write(png));
    }

    internal static byte[] BeeswarmPng(Explanation explanation, int output, int maxDisplay, string? title)
    {
        ArgumentNullException.ThrowIfNull(explanation);
        CheckOutput(explanation, output);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxDisplay, 1);
        if (explanation.RowCount == 0) throw new ArgumentException("the explanation has no rows", nameof(explanation));
        var features = explanation.RankFeatures(output).Take(maxDisplay).Reverse().ToArray();
        var colormap = new ScottPlot.Colormaps.Turbo();
        using var plot = Figure.NewPlot();
        const int colourBins = 12;
        var n = explanation.RowCount;
        double min = double.PositiveInfinity, max = double.NegativeInfinity;
        for (var i = 0; i < features.Length; i++)
        {
            var f = features[i];
            var xs = Enumerable.Range(0, n).Select(r => explanation.Value(r, f, output)).ToArray();
            min = Math.Min(min, xs.Min());
            max = Math.Max(max, xs.Max());
            var ys = Jitter(xs, i);
            var colour = ColourPositions(explanation, f);
            // One marker set per colour band keeps the plot to a few dozen plottables however many rows there are.
            for (var band = -1; band < colourBins; band++)
            {
                var members = Enumerable.Range(0, n).Where(r => Band(colour[r], colourBins) == band).ToArray();
                if (members.Length == 0) continue;
                var markers = plot.Add.Markers(members.Select(r => xs[r]).ToArray(), members.Select(r => ys[r]).ToArray(), MarkerShape.FilledCircle, 5,
                    band < 0 ? Colors.Gray : colormap.GetColor((band + 0.5) / colourBins));
                markers.MarkerLineWidth = 0;
            }
        }
        plot.Add.VerticalLine(0, 1, Colors.Gray);
        plot.Axes.Left.SetTicks(Enumerable.Range(0, features.Length).Select(i => (double)i).ToArray(),
            features.Select(f => Shorten(explanation.FeatureNames[f], 40)).ToArray());
        var pad = Math.Max(max - min, 1e-12) * 0.05;
        plot.Axes.SetLimits(min - pad, max + pad, -0.7, features.Length - 0.3);
        plot.XLabel($"attribution ({explanation.OutputSpace}); colour: feature value, blue low to red high");
        plot.Grid.YAxisStyle.IsVisible = false;
        plot.Layout.Fixed(new PixelPadding(left: 300, right: 30, bottom: 60, top: 10));
        return Figure.RenderPng(Width, FrameHeight + RowHeight * features.Length, title ?? $"{Method(explanation)}: every row{OutputSuffix(explanation, output)}", [plot]);
    }

    /// <summary>Writes the global importance bar chart: mean |attribution| per feature over all rows, largest on top.</summary>
    public static void GlobalBar(Explanation explanation, string pngPath, int output = 0, int maxDisplay = 20, string? title = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(pngPath);
        var png = GlobalBarPng(explanation, output, maxDisplay, title);
        AtomicFile.Write(pngPath, s => s.Write(png));
    }

    internal static byte[] GlobalBarPng(Explanation explanation, int output, int maxDisplay, string? title)
    {
        ArgumentNullException.ThrowIfNull(explanation);
        CheckOutput(explanation, output);
        var mean = explanation.MeanAbsoluteValues(output);
        var order = explanation.RankFeatures(output).Take(maxDisplay).ToArray();
        return Bars(order.Select(f => explanation.FeatureNames[f]).ToArray(), order.Select(f => mean[f]).ToArray(), null,
            $"mean |attribution| ({explanation.OutputSpace})", title ?? $"{Method(explanation)}: global importance{OutputSuffix(explanation, output)}");
    }

    /// <summary>Writes permutation importance as bars with ± one standard deviation over repeats.</summary>
    public static void ImportanceBar(FeatureImportance importance, string pngPath, int maxDisplay = 20, string? title = null)
    {
        ArgumentNullException.ThrowIfNull(importance);
        ArgumentException.ThrowIfNullOrWhiteSpace(pngPath);
        var png = ImportanceBarPng(importance, maxDisplay, title);
        AtomicFile.Write(pngPath, s => s.Write(png));
    }

    internal static byte[] ImportanceBarPng(FeatureImportance importance, int maxDisplay, string? title)
    {
        var order = importance.Ranking().Take(maxDisplay).ToArray();
        return Bars(order.Select(f => importance.FeatureNames[f]).ToArray(), order.Select(f => importance.Mean[f]).ToArray(),
            order.Select(f => importance.StandardDeviation[f]).ToArray(),
            $"drop in {importance.Metric} when shuffled (baseline {Fmt(importance.BaselineScore)})", title ?? "Permutation importance");
    }

    private static byte[] Bars(string[] names, double[] values, double[]? errors, string xLabel, string title)
    {
        if (names.Length == 0) throw new ArgumentException("there are no features to plot");
        using var plot = Figure.NewPlot();
        var bars = new List<Bar>();
        // Largest on top: the first name goes to the highest position.
        for (var i = 0; i < names.Length; i++)
        {
            bars.Add(new Bar
            {
                Position = names.Length - 1 - i,
                Value = values[i],
                Error = errors?[i] ?? 0,
                FillColor = Positive,
                LineWidth = 0,
                Size = 0.7,
                Orientation = Orientation.Horizontal,
            });
        }
        plot.Add.Bars(bars).Horizontal = true;
        plot.Axes.Left.SetTicks(Enumerable.Range(0, names.Length).Select(i => (double)(names.Length - 1 - i)).ToArray(), names.Select(n => Shorten(n, 40)).ToArray());
        var top = values.Select((v, i) => v + (errors?[i] ?? 0)).Max();
        var bottom = Math.Min(0, values.Select((v, i) => v - (errors?[i] ?? 0)).Min());
        plot.Axes.SetLimits(bottom, Math.Max(top * 1.08, bottom + 1e-12), -0.7, names.Length - 0.3);
        plot.XLabel(xLabel);
        plot.Grid.YAxisStyle.IsVisible = false;
        plot.Layout.Fixed(new PixelPadding(left: 300, right: 30, bottom: 60, top: 10));
        return Figure.RenderPng(Width, FrameHeight + RowHeight * names.Length, title, [plot]);
    }

    /// <summary>
    /// Writes a dependence scatter: each row's value of <paramref name="feature"/> against its attribution, coloured by
    /// <paramref name="colorFeature"/> (by default the feature whose value best tracks the spread of the attributions).
    /// </summary>
    public static void Dependence(Explanation explanation, int feature, string pngPath, int output = 0, int? colorFeature = null, string? title = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(pngPath);
        var png = DependencePng(explanation, feature, output, colorFeature, title);
        AtomicFile.Write(pngPath, s => s.Write(png));
    }

    internal static byte[] DependencePng(Explanation explanation, int feature, int output, int? colorFeature, string? title)
    {
        ArgumentNullException.ThrowIfNull(explanation);
        CheckOutput(explanation, output);
        ArgumentOutOfRangeException.ThrowIfNegative(feature);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(feature, explanation.FeatureCount);
        if (explanation.Data is null) throw new ArgumentException("the explanation kept no data; a dependence plot needs the feature values", nameof(explanation));
        var n = explanation.RowCount;
        var colour = colorFeature ?? StrongestPartner(explanation, feature, output);
        using var plot = Figure.NewPlot();
        var xs = Enumerable.Range(0, n).Select(r => explanation.DataValue(r, feature)).ToArray();
        var ys = Enumerable.Range(0, n).Select(r => explanation.Value(r, feature, output)).ToArray();
        var positions = colour >= 0 ? ColourPositions(explanation, colour) : Enumerable.Repeat(0.5, n).ToArray();
        var colormap = new ScottPlot.Colormaps.Turbo();
        const int bands = 12;
        for (var band = -1; band < bands; band++)
        {
            var members = Enumerable.Range(0, n).Where(r => !double.IsNaN(xs[r]) && Band(positions[r], bands) == band).ToArray();
            if (members.Length == 0) continue;
            var markers = plot.Add.Markers(members.Select(r => xs[r]).ToArray(), members.Select(r => ys[r]).ToArray(), MarkerShape.FilledCircle, 5,
                band < 0 ? Colors.Gray : colormap.GetColor((band + 0.5) / bands));
            markers.MarkerLineWidth = 0;
        }
        plot.XLabel(explanation.FeatureNames[feature]);
        plot.YLabel($"attribution of {Shorten(explanation.FeatureNames[feature], 30)}");
        plot.Layout.Fixed(new PixelPadding(left: 90, right: 30, bottom: 60, top: 10));
        var subtitle = colour >= 0 ? $" (colour: {explanation.FeatureNames[colour]}, blue low to red high)" : "";
        return Figure.RenderPng(800, 560, title ?? $"Dependence on {explanation.FeatureNames[feature]}{subtitle}", [plot]);
    }

    /// <summary>
    /// The other feature that best explains the vertical spread of a dependence plot: rows are cut into bins along
    /// <paramref name="feature"/>, and within each bin the attribution's correlation with every other feature is
    /// measured; the largest total |correlation| wins (an interaction shows up inside bins even when it cancels overall).
    /// -1 when nothing correlates.
    /// </summary>
    internal static int StrongestPartner(Explanation e, int feature, int output)
    {
        var order = Enumerable.Range(0, e.RowCount).Where(r => !double.IsNaN(e.DataValue(r, feature))).OrderBy(r => e.DataValue(r, feature)).ToArray();
        var bins = Math.Clamp(order.Length / 10, 1, 10);
        var best = -1;
        var bestScore = 0.0;
        for (var g = 0; g < e.FeatureCount; g++)
        {
            if (g == feature) continue;
            var score = 0.0;
            for (var b = 0; b < bins; b++)
            {
                var members = order[(b * order.Length / bins)..((b + 1) * order.Length / bins)];
                score += Math.Abs(Correlation(members.Select(r => e.DataValue(r, g)).ToArray(), members.Select(r => e.Value(r, feature, output)).ToArray()));
            }
            if (score > bestScore)
            {
                bestScore = score;
                best = g;
            }
        }
        return best;
    }

    private static double Correlation(double[] x, double[] y)
    {
        var pairs = x.Zip(y).Where(p => !double.IsNaN(p.First) && !double.IsNaN(p.Second)).ToArray();
        if (pairs.Length < 3) return 0;
        var mx = pairs.Average(p => p.First);
        var my = pairs.Average(p => p.Second);
        double sxy = 0, sxx = 0, syy = 0;
        foreach (var (a, b) in pairs)
        {
            sxy += (a - mx) * (b - my);
            sxx += (a - mx) * (a - mx);
            syy += (b - my) * (b - my);
        }
        return sxx > 0 && syy > 0 ? sxy / Math.Sqrt(sxx * syy) : 0;
    }

    /// <summary>Per row, where its value of feature <paramref name="f"/> sits between the 5th and 95th percentile (0..1), NaN when missing.</summary>
    internal static double[] ColourPositions(Explanation e, int f)
    {
        var values = Enumerable.Range(0, e.RowCount).Select(r => e.DataValue(r, f)).ToArray();
        var present = values.Where(v => !double.IsNaN(v)).Order().ToArray();
        if (present.Length == 0) return values;
        var lo = present[(int)(0.05 * (present.Length - 1))];
        var hi = present[(int)Math.Ceiling(0.95 * (present.Length - 1))];
        return values.Select(v => double.IsNaN(v) ? double.NaN : hi > lo ? Math.Clamp((v - lo) / (hi - lo), 0, 1) : 0.5).ToArray();
    }

    private static int Band(double position, int bands) => double.IsNaN(position) ? -1 : Math.Min(bands - 1, (int)(position * bands));

    /// <summary>Vertical offsets that spread dots where many share an x value (a deterministic beeswarm).</summary>
    private static double[] Jitter(double[] xs, int line)
    {
        var min = xs.Min();
        var width = Math.Max(xs.Max() - min, 1e-12);
        const int bins = 120;
        var counts = new int[bins];
        var ys = new double[xs.Length];
        var crowd = new int[bins];
        foreach (var x in xs) crowd[Math.Min(bins - 1, (int)((x - min) / width * bins))]++;
        var densest = Math.Max(1, crowd.Max());
        for (var i = 0; i < xs.Length; i++)
        {
            var b = Math.Min(bins - 1, (int)((xs[i] - min) / width * bins));
            var k = counts[b]++;
            // Alternate above and below the line, spreading up to ±0.4 for the most crowded bin.
            var offset = (k + 1) / 2 * (k % 2 == 0 ? 1 : -1) * 0.8 / densest;
            ys[i] = line + offset;
        }
        return ys;
    }

    private static void CheckOutput(Explanation e, int output)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(output);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(output, e.OutputCount);
    }

    private static void CheckRowOutput(Explanation e, int row, int output)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(row);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(row, e.RowCount);
        CheckOutput(e, output);
    }

    internal static string Method(Explanation e) => e.Method switch
    {
        "tree" => "TreeSHAP",
        "kernel" => "KernelSHAP",
        "exact" => "Exact SHAP",
        "permutation" => "Permutation SHAP",
        "lime" => "LIME",
        var m => m,
    };

    internal static string OutputSuffix(Explanation e, int output) => e.OutputCount > 1 ? $", output '{e.OutputNames[output]}'" : "";

    internal static string Fmt(double v) => v.ToString("0.####", Inv);

    private static string Signed(double v) => (v >= 0 ? "+" : "") + v.ToString("0.###", Inv);

    internal static string Shorten(string s, int max) => s.Length <= max ? s : s[..(max - 1)] + "…";
}
