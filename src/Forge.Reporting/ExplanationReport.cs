using System.Globalization;
using System.Net;
using System.Text;
using Forge.Core;
using Forge.Explainability;
using Forge.Explainability.Importance;
using SkiaSharp;

namespace Forge.Reporting;

/// <summary>What goes into an explanation report besides the explanation.</summary>
public sealed record ExplanationReportOptions
{
    /// <summary>The report's heading. Default "Explanation report".</summary>
    public string Title { get; init; } = "Explanation report";

    /// <summary>A line about the model, e.g. its bundle name or "xgboost 1.7.4 JSON"; null for none.</summary>
    public string? ModelDescription { get; init; }

    /// <summary>Which output (class) the plots show. Default 0.</summary>
    public int Output { get; init; }

    /// <summary>Waterfalls for the first this many rows. Default 3.</summary>
    public int WaterfallRows { get; init; } = 3;

    /// <summary>Dependence plots for the top this many features (tabular explanations of 2+ rows). Default 3.</summary>
    public int DependencePlots { get; init; } = 3;

    /// <summary>Permutation importance to show beside the attributions, or null.</summary>
    public FeatureImportance? Importance { get; init; }

    /// <summary>The command or call that produced the explanation, shown for reproducibility; null for none.</summary>
    public string? Command { get; init; }
}

/// <summary>
/// One self-contained HTML page per explanation run: summary, global importance, beeswarm, waterfalls, dependence plots,
/// highlighted text or image overlay, all PNGs embedded as base64 so the file can be mailed or archived alone.
/// Every user-supplied string is HTML-escaped.
/// </summary>
public static class ExplanationReport
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>Writes the report for <paramref name="explanation"/> to <paramref name="htmlPath"/> (replaced atomically).</summary>
    public static void Write(Explanation explanation, string htmlPath, ExplanationReportOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(htmlPath);
        var html = Render(explanation, options);
        AtomicFile.Write(htmlPath, s => s.Write(Encoding.UTF8.GetBytes(html)));
    }

    /// <summary>The report as an HTML string.</summary>
    public static string Render(Explanation explanation, ExplanationReportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(explanation);
        options ??= new ExplanationReportOptions();
        var o = options.Output;
        if (o < 0 || o >= explanation.OutputCount)
            throw new UsageException($"output {o} does not exist; the explanation has {explanation.OutputCount} output(s) ({string.Join(", ", explanation.OutputNames)})");
        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>").Append(E(options.Title)).Append("</title>\n<style>")
          .Append("body{font-family:'DejaVu Sans',Arial,sans-serif;margin:2em auto;max-width:1060px;color:#222}")
          .Append("table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 10px;text-align:left}")
          .Append("th{background:#f4f4f4}td.num{text-align:right;font-variant-numeric:tabular-nums}img{max-width:100%;display:block;margin:0.5em 0}")
          .Append(".text{font-size:1.15em;line-height:2;border:1px solid #ddd;padding:1em}.note{color:#666;font-size:0.9em}")
          .Append("</style></head><body>\n");
        sb.Append("<h1>").Append(E(options.Title)).Append("</h1>\n");
        sb.Append("<table>");
        Row(sb, "method", ExplanationPlots.Method(explanation) + $" ({explanation.Method})");
        if (options.ModelDescription is not null) Row(sb, "model", options.ModelDescription);
        Row(sb, "explained", $"{explanation.RowCount.ToString("N0", Inv)} row(s), {explanation.FeatureCount} feature(s), {explanation.OutputCount} output(s)");
        Row(sb, "values are in", explanation.OutputSpace);
        if (explanation.OutputCount > 1) Row(sb, "plots show output", explanation.OutputNames[o]);
        var gap = MaxAdditivityGap(explanation);
        if (!double.IsNaN(gap))
            Row(sb, "largest |base + Σ values − prediction| over all rows and outputs", gap.ToString("G3", Inv));
        if (options.Command is not null) Row(sb, "produced by", options.Command);
        sb.Append("</table>\n");
        if (explanation.Method == "lime")
        {
            sb.Append("<p class=\"note\">LIME values are the coefficients of a local linear surrogate fitted around each input; the base value is its intercept. ")
              .Append("They need not add up to the prediction; the surrogate's weighted R² says how well it fits.</p>\n");
        }

        switch (explanation.Kind)
        {
            case ExplanationKind.Text:
                sb.Append("<h2>Words</h2>\n").Append(TextPlots.HighlightFragment(explanation, o)).Append('\n');
                TopTable(sb, explanation, 0, o, 15);
                break;
            case ExplanationKind.Image:
                sb.Append("<h2>Regions</h2>\n");
                Image(sb, TextPlots.ImageOverlayPng(explanation, o), "attributions painted over the image: red raises the output, blue lowers it");
                TopTable(sb, explanation, 0, o, 10);
                break;
            default:
                if (explanation.RowCount > 1)
                {
                    sb.Append("<h2>Global importance</h2>\n");
                    Image(sb, ExplanationPlots.GlobalBarPng(explanation, o, 20, null), "mean absolute attribution per feature");
                    sb.Append("<h2>Every row</h2>\n");
                    Image(sb, ExplanationPlots.BeeswarmPng(explanation, o, 20, null), "beeswarm of attributions, coloured by feature value");
                }
                if (options.Importance is { } importance)
                {
                    sb.Append("<h2>Permutation importance</h2>\n");
                    Image(sb, ExplanationPlots.ImportanceBarPng(importance, 20, null), "drop in score when each feature is shuffled");
                }
                var rows = Math.Min(options.WaterfallRows, explanation.RowCount);
                if (rows > 0) sb.Append("<h2>Single rows</h2>\n");
                for (var r = 0; r < rows; r++)
                    Image(sb, ExplanationPlots.WaterfallPng(explanation, r, o, 10, null, labels: true), $"waterfall of row {r}");
                if (explanation.RowCount > 1 && explanation.Data is not null && options.DependencePlots > 0)
                {
                    sb.Append("<h2>Dependence</h2>\n");
                    foreach (var f in explanation.RankFeatures(o).Take(options.DependencePlots))
                        Image(sb, ExplanationPlots.DependencePng(explanation, f, o, null, null), $"dependence on {explanation.FeatureNames[f]}");
                }
                if (explanation.RowCount > 0) TopTable(sb, explanation, -1, o, 20);
                break;
        }
        sb.Append("<p class=\"note\">Written by Forge on ").Append(DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm", Inv)).Append(" UTC.</p>\n</body></html>\n");
        return sb.ToString();
    }

    private static double MaxAdditivityGap(Explanation e)
    {
        if (e.Predictions is null || e.Method == "lime") return double.NaN;
        var max = 0.0;
        for (var r = 0; r < e.RowCount; r++)
        {
            for (var k = 0; k < e.OutputCount; k++) max = Math.Max(max, Math.Abs(e.AdditivityGap(r, k)));
        }
        return max;
    }

    /// <summary>A table of the largest attributions: of one row (<paramref name="row"/> ≥ 0) or mean |value| over all rows.</summary>
    private static void TopTable(StringBuilder sb, Explanation e, int row, int o, int count)
    {
        var values = row >= 0 ? e.Values(row, o).ToArray() : e.MeanAbsoluteValues(o);
        var order = Enumerable.Range(0, e.FeatureCount).OrderByDescending(f => Math.Abs(values[f])).ThenBy(f => f).Take(count);
        sb.Append("<table><tr><th>feature</th><th>").Append(row >= 0 ? "attribution" : "mean |attribution|").Append("</th></tr>");
        foreach (var f in order)
        {
            sb.Append("<tr><td>").Append(E(row >= 0 ? e.DisplayLabel(row, f) : e.FeatureNames[f])).Append("</td><td class=\"num\">")
              .Append(values[f].ToString("0.#####", Inv)).Append("</td></tr>");
        }
        sb.Append("</table>\n");
    }

    private static void Row(StringBuilder sb, string name, string value) =>
        sb.Append("<tr><th>").Append(E(name)).Append("</th><td>").Append(E(value)).Append("</td></tr>");

    private static void Image(StringBuilder sb, byte[] png, string alt) =>
        sb.Append("<img alt=\"").Append(E(alt)).Append("\" src=\"data:image/png;base64,").Append(Convert.ToBase64String(png)).Append("\">\n");

    internal static string E(string s) => WebUtility.HtmlEncode(s);
}

/// <summary>Text highlighting (HTML) and image overlays (PNG) for text and image explanations.</summary>
public static class TextPlots
{
    /// <summary>Writes a self-contained HTML page with each word of the text shaded by its attribution (red up, blue down).</summary>
    public static void TextHighlight(Explanation explanation, string htmlPath, int output = 0)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(htmlPath);
        var fragment = HighlightFragment(explanation, output);
        var html = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Text explanation</title>"
            + "<style>body{font-family:'DejaVu Sans',Arial,sans-serif;margin:2em auto;max-width:900px}.text{font-size:1.15em;line-height:2;border:1px solid #ddd;padding:1em}</style>"
            + "</head><body>\n" + fragment + "\n</body></html>\n";
        AtomicFile.Write(htmlPath, s => s.Write(Encoding.UTF8.GetBytes(html)));
    }

    /// <summary>The highlighted text as an HTML fragment (a div); each word's exact value is in its tooltip.</summary>
    public static string HighlightFragment(Explanation explanation, int output = 0)
    {
        ArgumentNullException.ThrowIfNull(explanation);
        var layout = explanation.Text ?? throw new ArgumentException($"a {explanation.Kind} explanation has no text to highlight", nameof(explanation));
        ArgumentOutOfRangeException.ThrowIfNegative(output);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(output, explanation.OutputCount);
        var values = explanation.Values(0, output).ToArray();
        var scale = values.Length == 0 ? 0 : values.Max(Math.Abs);
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder("<div class=\"text\">");
        var text = layout.Text;
        var position = 0;
        foreach (var token in layout.Tokens)
        {
            sb.Append(ExplanationReport.E(text[position..token.Start]));
            var v = values[token.Feature];
            var alpha = scale > 0 ? Math.Abs(v) / scale * 0.85 : 0;
            var rgb = v >= 0 ? "255,0,81" : "0,139,251";
            sb.Append("<span title=\"").Append(ExplanationReport.E($"{explanation.FeatureNames[token.Feature]}: {v.ToString("+0.#####;-0.#####;0", inv)}"))
              .Append("\" style=\"background:rgba(").Append(rgb).Append(',').Append(alpha.ToString("0.###", inv)).Append(")\">")
              .Append(ExplanationReport.E(text.Substring(token.Start, token.Length))).Append("</span>");
            position = token.Start + token.Length;
        }
        sb.Append(ExplanationReport.E(text[position..]));
        sb.Append("</div>\n<p class=\"note\">Output '").Append(ExplanationReport.E(explanation.OutputNames[output]))
          .Append("': red words raise it, blue words lower it; hover for the value.</p>");
        return sb.ToString();
    }

    /// <summary>
    /// Writes the image with its regions tinted by attribution (red raises the output, blue lowers it, stronger colour
    /// for larger values) and region borders drawn; small images are scaled up to at least 256 px.
    /// </summary>
    public static void ImageOverlay(Explanation explanation, string pngPath, int output = 0)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(pngPath);
        var png = ImageOverlayPng(explanation, output);
        AtomicFile.Write(pngPath, s => s.Write(png));
    }

    internal static byte[] ImageOverlayPng(Explanation explanation, int output)
    {
        ArgumentNullException.ThrowIfNull(explanation);
        var layout = explanation.Image ?? throw new ArgumentException($"a {explanation.Kind} explanation has no image to paint on", nameof(explanation));
        ArgumentOutOfRangeException.ThrowIfNegative(output);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(output, explanation.OutputCount);
        int h = layout.Height, w = layout.Width, c = layout.Channels;
        var values = explanation.Values(0, output).ToArray();
        var scaleMax = values.Length == 0 ? 0 : values.Max(Math.Abs);
        var max = 0f;
        foreach (var v in layout.Pixels) max = Math.Max(max, v);
        var toByte = max > 1.5f ? 1f : 255f;
        var zoom = Math.Max(1, (int)Math.Ceiling(256.0 / Math.Max(h, w)));
        using var bitmap = new SKBitmap(w * zoom, h * zoom, SKColorType.Rgba8888, SKAlphaType.Premul);
        for (var y = 0; y < h; y++)
        {
            for (var x = 0; x < w; x++)
            {
                var p = y * w + x;
                double r, g, b;
                if (c >= 3)
                {
                    r = layout.Pixels[p * c] * toByte;
                    g = layout.Pixels[p * c + 1] * toByte;
                    b = layout.Pixels[p * c + 2] * toByte;
                }
                else
                {
                    r = g = b = layout.Pixels[p * c] * toByte;
                }
                // Grey the image a little so the tint reads, then blend towards red or blue by the region's share.
                var grey = 0.3 * r + 0.59 * g + 0.11 * b;
                r = g = b = 0.5 * grey + 0.5 * 255;
                var segment = layout.Segments[p];
                var value = segment < values.Length ? values[segment] : 0;
                var alpha = scaleMax > 0 ? Math.Abs(value) / scaleMax * 0.75 : 0;
                var (tr, tg, tb) = value >= 0 ? (255.0, 0.0, 81.0) : (0.0, 139.0, 251.0);
                r = r * (1 - alpha) + tr * alpha;
                g = g * (1 - alpha) + tg * alpha;
                b = b * (1 - alpha) + tb * alpha;
                var border = (x + 1 < w && layout.Segments[p + 1] != segment) || (y + 1 < h && layout.Segments[p + w] != segment);
                var colour = border ? new SKColor(40, 40, 40) : new SKColor(ToByte(r), ToByte(g), ToByte(b));
                for (var dy = 0; dy < zoom; dy++)
                {
                    for (var dx = 0; dx < zoom; dx++) bitmap.SetPixel(x * zoom + dx, y * zoom + dy, colour);
                }
            }
        }
        using var image = SKImage.FromBitmap(bitmap);
        using var data = image.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();

        static byte ToByte(double v) => (byte)Math.Clamp(Math.Round(v), 0, 255);
    }
}
