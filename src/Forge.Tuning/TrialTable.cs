using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Forge.Tuning;

/// <summary>The trials of a study as rows: number, state, value, one column per parameter (sorted by name), duration, fail reason.</summary>
public sealed class TrialTable
{
    private TrialTable(IReadOnlyList<string> columns, IReadOnlyList<IReadOnlyList<object?>> rows)
    {
        Columns = columns;
        Rows = rows;
    }

    /// <summary>The column names: "number", "state", "value", "params.NAME"…, "duration_s", "fail_reason".</summary>
    public IReadOnlyList<string> Columns { get; }

    /// <summary>One row per trial, by number; missing parameters are null.</summary>
    public IReadOnlyList<IReadOnlyList<object?>> Rows { get; }

    /// <summary>Builds the table from trial snapshots.</summary>
    public static TrialTable From(IReadOnlyList<FrozenTrial> trials)
    {
        ArgumentNullException.ThrowIfNull(trials);
        var names = trials.SelectMany(t => t.Params.Keys).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var columns = new List<string> { "number", "state", "value" };
        columns.AddRange(names.Select(n => "params." + n));
        columns.Add("duration_s");
        columns.Add("fail_reason");
        var rows = trials.OrderBy(t => t.Number).Select(t =>
        {
            var row = new List<object?> { (long)t.Number, TuningText.Of(t.State), t.Value };
            row.AddRange(names.Select(n => t.Params.TryGetValue(n, out var v) ? v : null));
            row.Add(t.Duration?.TotalSeconds);
            row.Add(t.FailReason);
            return (IReadOnlyList<object?>)row;
        }).ToList();
        return new TrialTable(columns, rows);
    }

    /// <summary>Comma-separated values with a header line (RFC 4180 quoting).</summary>
    public string ToCsv()
    {
        var text = new StringBuilder();
        text.AppendLine(string.Join(",", Columns.Select(Quote)));
        foreach (var row in Rows) text.AppendLine(string.Join(",", row.Select(v => Quote(Cell(v)))));
        return text.ToString();

        static string Quote(string s) => s.AsSpan().IndexOfAny(",\"\n\r") >= 0 ? "\"" + s.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : s;
    }

    /// <summary>An aligned plain-text table for a terminal.</summary>
    public override string ToString()
    {
        var cells = Rows.Select(r => r.Select(Cell).ToArray()).ToList();
        var widths = Columns.Select((c, i) => Math.Max(c.Length, cells.Count == 0 ? 0 : cells.Max(r => r[i].Length))).ToArray();
        var text = new StringBuilder();
        text.AppendLine(string.Join("  ", Columns.Select((c, i) => c.PadRight(widths[i]))).TrimEnd());
        foreach (var row in cells) text.AppendLine(string.Join("  ", row.Select((c, i) => c.PadRight(widths[i]))).TrimEnd());
        return text.ToString();
    }

    private static string Cell(object? v) => v switch
    {
        null => "",
        double d => d.ToString("G6", CultureInfo.InvariantCulture),
        _ => ScalarValues.Describe(v),
    };
}

/// <summary>The JSON form of a study, for <c>--json</c> output and reports.</summary>
internal static class StudyJson
{
    public static string Write(Study study, IReadOnlyList<FrozenTrial> trials)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteString("study", study.Name);
            w.WriteString("direction", TuningText.Of(study.Direction).ToLowerInvariant());
            var best = study.FindBest(trials);
            if (best is not null)
            {
                w.WritePropertyName("bestValue");
                ScalarValues.Write(w, best.Value);
                w.WriteNumber("bestTrial", best.Number);
                w.WritePropertyName("bestParams");
                WriteMap(w, best.Params);
            }
            else
            {
                w.WriteNull("bestValue");
                w.WriteNull("bestTrial");
                w.WriteNull("bestParams");
            }
            w.WriteStartObject("counts");
            foreach (var state in Enum.GetValues<TrialState>()) w.WriteNumber(TuningText.Of(state).ToLowerInvariant(), trials.Count(t => t.State == state));
            w.WriteEndObject();
            w.WriteStartArray("trials");
            foreach (var t in trials.OrderBy(t => t.Number)) WriteTrial(w, t);
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    public static void WriteTrial(Utf8JsonWriter w, FrozenTrial t)
    {
        w.WriteStartObject();
        w.WriteNumber("number", t.Number);
        w.WriteString("state", TuningText.Of(t.State));
        w.WritePropertyName("value");
        if (t.Value is { } v) ScalarValues.Write(w, v);
        else w.WriteNullValue();
        w.WritePropertyName("params");
        WriteMap(w, t.Params);
        if (t.IntermediateValues.Count > 0)
        {
            w.WriteStartObject("intermediateValues");
            foreach (var (step, value) in t.IntermediateValues)
            {
                w.WritePropertyName(step.ToString(CultureInfo.InvariantCulture));
                ScalarValues.Write(w, value);
            }
            w.WriteEndObject();
        }
        if (t.UserAttributes.Count > 0)
        {
            w.WritePropertyName("userAttributes");
            WriteMap(w, t.UserAttributes);
        }
        if (t.Started is { } s) w.WriteString("start", s.UtcDateTime.ToString("O", CultureInfo.InvariantCulture));
        if (t.Completed is { } c) w.WriteString("complete", c.UtcDateTime.ToString("O", CultureInfo.InvariantCulture));
        if (t.Duration is { } d) w.WriteNumber("durationSeconds", Math.Round(d.TotalSeconds, 3));
        if (t.FailReason is { } reason) w.WriteString("failReason", reason);
        if (t.Retried) w.WriteBoolean("retried", true);
        w.WriteEndObject();
    }

    private static void WriteMap(Utf8JsonWriter w, IReadOnlyDictionary<string, object?> map)
    {
        w.WriteStartObject();
        foreach (var (k, v) in map)
        {
            w.WritePropertyName(k);
            ScalarValues.Write(w, v);
        }
        w.WriteEndObject();
    }
}
