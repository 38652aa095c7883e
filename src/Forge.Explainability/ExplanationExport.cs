using System.Globalization;
using System.Text.Json.Nodes;

namespace Forge.Explainability;

/// <summary>Joining explanations of row batches, and writing explanations as CSV and JSON.</summary>
public static class ExplanationExport
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>
    /// The rows of several explanations of the same method, features and outputs, in order (for explaining a file
    /// batch by batch). Text and image layouts are not joined: those explanations have one row each.
    /// </summary>
    public static Explanation Concat(IReadOnlyList<Explanation> parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        if (parts.Count == 0) throw new ArgumentException("no explanations to join", nameof(parts));
        if (parts.Count == 1) return parts[0];
        var first = parts[0];
        foreach (var p in parts)
        {
            if (p.Method != first.Method || p.OutputCount != first.OutputCount || !p.FeatureNames.SequenceEqual(first.FeatureNames))
                throw new ArgumentException("explanations to join must share method, features and outputs", nameof(parts));
            if (p.Kind != ExplanationKind.Tabular) throw new ArgumentException("only tabular explanations are joined", nameof(parts));
        }
        int d = first.FeatureCount, k = first.OutputCount, n = parts.Sum(p => p.RowCount);
        var values = new double[(long)n * k * d];
        var baseValues = new double[n * k];
        var offset = 0;
        foreach (var p in parts)
        {
            p.RawValues.CopyTo(values.AsSpan(offset * k * d));
            p.RawBaseValues.CopyTo(baseValues.AsSpan(offset * k));
            offset += p.RowCount;
        }
        return new Explanation(first.Method, first.FeatureNames, n, k, values, baseValues)
        {
            OutputNames = first.OutputNames,
            OutputSpace = first.OutputSpace,
            Data = Join(parts, p => p.Data),
            Predictions = Join(parts, p => p.Predictions),
            Interactions = Join(parts, p => p.Interactions),
            ValueLabels = Join(parts, p => p.ValueLabels),
            FitScores = Join(parts, p => p.FitScores),
        };
    }

    private static T[]? Join<T>(IReadOnlyList<Explanation> parts, Func<Explanation, IReadOnlyList<T>?> pick) =>
        parts.All(p => pick(p) is not null) ? [.. parts.SelectMany(p => pick(p)!)] : null;

    /// <summary>
    /// Writes one CSV record per explained row (per row and class when there are several outputs, with a leading
    /// <c>class</c> column): the attribution of each feature, then <c>base_value</c>.
    /// </summary>
    public static void WriteValuesCsv(Explanation explanation, TextWriter writer)
    {
        ArgumentNullException.ThrowIfNull(explanation);
        ArgumentNullException.ThrowIfNull(writer);
        var multi = explanation.OutputCount > 1;
        var header = new List<string>();
        if (multi) header.Add("class");
        header.AddRange(explanation.FeatureNames);
        header.Add("base_value");
        WriteRecord(writer, header);
        var fields = new string[header.Count];
        for (var r = 0; r < explanation.RowCount; r++)
        {
            for (var k = 0; k < explanation.OutputCount; k++)
            {
                var i = 0;
                if (multi) fields[i++] = explanation.OutputNames[k];
                foreach (var v in explanation.Values(r, k)) fields[i++] = v.ToString("R", Inv);
                fields[i] = explanation.BaseValue(r, k).ToString("R", Inv);
                WriteRecord(writer, fields);
            }
        }
    }

    /// <summary>
    /// The explanation as JSON: method, output space, outputs and features, and per row and output the base value, the
    /// prediction (when known) and the attributions by feature (the largest <paramref name="top"/> by magnitude when
    /// given, else all). Text explanations add the words' positions, image ones the region map.
    /// </summary>
    public static JsonObject ToJson(Explanation explanation, int? top = null)
    {
        ArgumentNullException.ThrowIfNull(explanation);
        var e = explanation;
        var rows = new JsonArray();
        for (var r = 0; r < e.RowCount; r++)
        {
            var outputs = new JsonArray();
            for (var k = 0; k < e.OutputCount; k++)
            {
                var values = e.Values(r, k).ToArray();
                var order = Enumerable.Range(0, values.Length).OrderByDescending(f => Math.Abs(values[f])).ThenBy(f => f);
                var picked = top is { } t ? order.Take(t) : Enumerable.Range(0, values.Length);
                var attributions = new JsonArray();
                foreach (var f in picked)
                {
                    var item = new JsonObject { ["feature"] = e.FeatureNames[f], ["value"] = Number(values[f]) };
                    if (e.Kind == ExplanationKind.Tabular) item["label"] = e.DisplayLabel(r, f);
                    attributions.Add(item);
                }
                var output = new JsonObject { ["output"] = e.OutputNames[k], ["baseValue"] = Number(e.BaseValue(r, k)) };
                if (e.Predictions is not null) output["prediction"] = Number(e.Prediction(r, k));
                if (e.FitScores is not null) output["fitScore"] = Number(e.FitScores[r * e.OutputCount + k]);
                output["attributions"] = attributions;
                outputs.Add(output);
            }
            rows.Add(new JsonObject { ["row"] = r, ["outputs"] = outputs });
        }
        var json = new JsonObject
        {
            ["method"] = e.Method,
            ["kind"] = e.Kind.ToString().ToLowerInvariant(),
            ["outputSpace"] = e.OutputSpace,
            ["outputs"] = new JsonArray([.. e.OutputNames.Select(n => (JsonNode)n)]),
            ["features"] = e.FeatureCount,
            ["rows"] = rows,
        };
        if (e.Text is { } text)
        {
            json["text"] = text.Text;
            json["tokens"] = new JsonArray([.. text.Tokens.Select(t => (JsonNode)new JsonObject
            {
                ["start"] = t.Start, ["length"] = t.Length, ["word"] = text.Text.Substring(t.Start, t.Length), ["feature"] = t.Feature,
            })]);
        }
        if (e.Image is { } image)
        {
            json["height"] = image.Height;
            json["width"] = image.Width;
            json["regions"] = new JsonArray([.. image.Segments.Select(s => (JsonNode)s)]);
        }
        return json;
    }

    /// <summary>One CSV record: a field with a comma, quote or line break is quoted, quotes doubled.</summary>
    private static void WriteRecord(TextWriter writer, IReadOnlyList<string> fields)
    {
        for (var i = 0; i < fields.Count; i++)
        {
            if (i > 0) writer.Write(',');
            var f = fields[i];
            if (f.AsSpan().IndexOfAny(",\"\r\n") >= 0) writer.Write('"' + f.Replace("\"", "\"\"", StringComparison.Ordinal) + '"');
            else writer.Write(f);
        }
        writer.Write('\n');
    }

    private static JsonNode? Number(double v) => double.IsFinite(v) ? JsonValue.Create(v) : null;
}
