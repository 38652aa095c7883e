using System.Globalization;
using System.Net;
using System.Text;
using Forge.Core;
using Forge.Monitoring;

namespace Forge.Reporting;

/// <summary>What a drift report says about where its data came from.</summary>
public sealed record DriftReportOptions
{
    /// <summary>Heading of the page.</summary>
    public string Title { get; init; } = "Data drift report";

    /// <summary>Where the reference came from (a bundle, a file); shown as given, escaped.</summary>
    public string? ReferenceSource { get; init; }

    /// <summary>Where the current data came from.</summary>
    public string? CurrentSource { get; init; }

    /// <summary>Whether to embed a histogram per column (default true; off for very wide data).</summary>
    public bool Plots { get; init; } = true;
}

/// <summary>
/// A drift result as one self-contained HTML page (styles inline, plots embedded as PNG data URIs; opens offline)
/// and as JSON. Every name and value that came from data is HTML-escaped.
/// </summary>
public static class DriftReport
{
    /// <summary>Writes the HTML report to <paramref name="htmlPath"/> atomically.</summary>
    public static void WriteHtml(DriftResult result, string htmlPath, DriftReportOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(htmlPath);
        var html = Html(result, options);
        AtomicFile.Write(htmlPath, stream => stream.Write(Encoding.UTF8.GetBytes(html)));
    }

    /// <summary>Writes the result as indented camelCase JSON to <paramref name="jsonPath"/> atomically.</summary>
    public static void WriteJson(DriftResult result, string jsonPath)
    {
        ArgumentNullException.ThrowIfNull(result);
        ArgumentException.ThrowIfNullOrWhiteSpace(jsonPath);
        var json = result.ToJson();
        AtomicFile.Write(jsonPath, stream => stream.Write(Encoding.UTF8.GetBytes(json)));
    }

    /// <summary>The HTML report as a string.</summary>
    public static string Html(DriftResult result, DriftReportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(result);
        options ??= new DriftReportOptions();
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>").Append(E(options.Title)).Append("</title>\n");
        sb.Append("""
            <style>
            body{font-family:"DejaVu Sans",Arial,Helvetica,sans-serif;margin:2em auto;max-width:1100px;color:#222;padding:0 1em}
            h1{font-size:1.6em;margin-bottom:.2em} h2{font-size:1.25em;margin-top:1.6em;border-bottom:1px solid #ddd;padding-bottom:.2em}
            .verdict{display:inline-block;padding:.4em .9em;border-radius:4px;font-weight:bold;margin:.6em 0}
            .drift{background:#fde2e1;color:#a61b1b} .stable{background:#e1f5e4;color:#1b6e2a}
            table{border-collapse:collapse;width:100%;font-size:.92em} th,td{padding:.35em .6em;border-bottom:1px solid #eee;text-align:left}
            th{background:#f6f6f6} td.num{text-align:right;font-variant-numeric:tabular-nums}
            .yes{color:#a61b1b;font-weight:bold} .no{color:#1b6e2a}
            .meta{color:#666;font-size:.9em} figure{margin:1em 0} figure img{max-width:100%;border:1px solid #eee}
            figcaption{color:#555;font-size:.88em}
            </style>
            </head>
            <body>

            """);
        sb.Append("<h1>").Append(E(options.Title)).Append("</h1>\n<p class=\"meta\">");
        if (options.ReferenceSource is not null) sb.Append("Reference: ").Append(E(options.ReferenceSource)).Append(" · ");
        if (options.CurrentSource is not null) sb.Append("Current: ").Append(E(options.CurrentSource)).Append(" · ");
        sb.Append(inv, $"{result.ReferenceRows:N0} reference rows, {result.CurrentRows:N0} current rows · computed {result.ComputedAt:yyyy-MM-dd HH:mm:ss} UTC</p>\n");

        var cls = result.DatasetDrift ? "drift" : "stable";
        sb.Append(inv, $"<div class=\"verdict {cls}\">{(result.DatasetDrift ? "Dataset drift detected" : "No dataset drift")}: ")
          .Append(inv, $"{result.DriftedColumns} of {result.Columns.Count} features drifted ({result.DriftShare:P0}; threshold {result.DriftShareThreshold:P0})</div>\n");
        if (result.PredictionDrift is { } pd)
            sb.Append(inv, $"<div class=\"verdict {(pd ? "drift" : "stable")}\">{(pd ? "Prediction drift detected" : "No prediction drift")}</div>\n");
        if (result.TargetDrift is { } td)
            sb.Append(inv, $"<div class=\"verdict {(td ? "drift" : "stable")}\">{(td ? "Target drift detected" : "No target drift")}</div>\n");

        Section(sb, "Features", result.Columns, options.Plots);
        Section(sb, "Predictions", result.Predictions, options.Plots);
        Section(sb, "Target", result.Targets, options.Plots);

        sb.Append("""
            <p class="meta">Tests: ks = two-sample Kolmogorov–Smirnov (drift when p ≤ threshold); chisquare and z = chi-squared and
            two-proportion Z-test (drift when p &lt; threshold); wasserstein = Wasserstein distance divided by the reference's
            standard deviation, jensenshannon = Jensen–Shannon distance (base 2), psi = population stability index (drift when
            the distance reaches the threshold). Generated by Forge.</p>
            </body>
            </html>

            """);
        return sb.ToString();
    }

    private static void Section(StringBuilder sb, string heading, IReadOnlyList<ColumnDrift> columns, bool plots)
    {
        if (columns.Count == 0) return;
        var inv = CultureInfo.InvariantCulture;
        sb.Append("<h2>").Append(E(heading)).Append("</h2>\n<table>\n<tr><th>column</th><th>kind</th><th>test</th><th>statistic</th><th>p-value</th><th>threshold</th><th>drift</th><th>method</th><th>current missing</th></tr>\n");
        foreach (var c in columns)
        {
            sb.Append("<tr><td>").Append(E(c.Name)).Append("</td><td>").Append(E(c.Kind.ToString().ToLowerInvariant()))
              .Append("</td><td>").Append(E(c.Test)).Append(c.PsiBand is null ? "" : $" ({E(c.PsiBand)})")
              .Append("</td><td class=\"num\">").Append(E(Number(c.Statistic)))
              .Append("</td><td class=\"num\">").Append(c.PValue is { } p ? E(Number(p)) : "–")
              .Append("</td><td class=\"num\">").Append(E(Number(c.Threshold)))
              .Append("</td><td class=\"").Append(c.Drifted ? "yes\">yes" : "no\">no")
              .Append("</td><td>").Append(E(c.Method ?? ""))
              .Append("</td><td class=\"num\">").Append(c.CurrentMissingShare.ToString("P1", inv)).Append("</td></tr>\n");
        }
        sb.Append("</table>\n");
        if (!plots) return;
        foreach (var c in columns)
        {
            if (c.Histogram is null) continue;
            var png = Convert.ToBase64String(DriftPlots.ColumnHistogramPng(c));
            sb.Append("<figure><img alt=\"").Append(E($"{c.Name}: reference and current distributions")).Append("\" src=\"data:image/png;base64,")
              .Append(png).Append("\"><figcaption>").Append(E(DriftPlots.Title(c)));
            if (c.Note is not null) sb.Append(" — ").Append(E(c.Note));
            sb.Append("</figcaption></figure>\n");
        }
    }

    private static string Number(double x) =>
        double.IsPositiveInfinity(x) ? "∞" : x.ToString(Math.Abs(x) is > 0 and < 1e-4 ? "E3" : "G4", CultureInfo.InvariantCulture);

    private static string E(string text) => WebUtility.HtmlEncode(text);
}
