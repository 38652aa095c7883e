using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Forge.Core;

namespace Forge.Tabular;

/// <summary>A request row that does not fit the model's columns: names the field (e.g. <c>instances[2].age</c>) and the problem.</summary>
public sealed class TabularInputException : UsageException
{
    /// <summary>Creates an error naming <paramref name="field"/>.</summary>
    public TabularInputException(string field, string problem) : base($"{field}: {problem}")
    {
        Field = field;
        Problem = problem;
    }

    /// <summary>The field at fault, as a JSON path.</summary>
    public string Field { get; }

    /// <summary>What is wrong with it.</summary>
    public string Problem { get; }
}

/// <summary>
/// Turns JSON rows keyed by column name (<c>{"age": 39, "workclass": "Private", …}</c>) into one-row tables for a
/// tabular model, the same way for <c>forge predict --row</c>, the server and batch jobs. Numbers go to numeric columns,
/// strings to categorical ones (a number there is read as its text); null or a missing-value marker ("", "?") is a
/// missing value. A missing column, an unknown one, a mistyped value or a non-finite number is an error naming it.
/// </summary>
public sealed class TabularInstances
{
    private readonly IReadOnlyList<FeatureInfo> _features;
    private readonly HashSet<string> _missing;
    private readonly HashSet<string> _names;

    /// <summary>Creates a decoder for <paramref name="features"/>; <paramref name="missingValues"/> are the strings that mean "no value".</summary>
    public TabularInstances(IReadOnlyList<FeatureInfo> features, IReadOnlyList<string> missingValues)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(missingValues);
        _features = features;
        _missing = new HashSet<string>(missingValues, StringComparer.Ordinal);
        _names = new HashSet<string>(features.Select(f => f.Name), StringComparer.Ordinal);
    }

    /// <summary>A decoder for a loaded bundle's model.</summary>
    public static TabularInstances For(ModelManifest manifest)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        return new TabularInstances([.. manifest.Signature.Inputs.Select(FeatureInfo.FromTensorSpec)], TabularBundle.CsvOptions(manifest, withLabel: false).MissingValues);
    }

    /// <summary>The columns the rows are decoded into.</summary>
    public TableSchema Schema => new(_features.Select(f => new ColumnSpec(f.Name, f.Kind == FeatureKind.Numeric ? ColumnType.Float32 : ColumnType.String)));

    /// <summary>An "id" key is allowed beside the columns (it is not a feature): rows are often sent with one.</summary>
    public const string IdKey = "id";

    /// <summary>Decodes one JSON object into a one-row table.</summary>
    public Table Decode(JsonNode? instance, string field)
    {
        ArgumentNullException.ThrowIfNull(field);
        if (instance is not JsonObject obj)
            throw new TabularInputException(field, $"expected an object keyed by column name ({Example()}); got {Kind(instance)}");
        var unknown = obj.Select(p => p.Key).Where(k => !_names.Contains(k) && k != IdKey).ToList();
        if (unknown.Count > 0)
        {
            var hint = NameSuggester.Closest(unknown[0], _names) is { } s ? $"; did you mean '{s}'?" : $" (columns: {string.Join(", ", _names.Take(20))})";
            throw new TabularInputException($"{field}.{unknown[0]}", $"unknown column{hint}");
        }
        var columns = new Column[_features.Count];
        for (var i = 0; i < _features.Count; i++)
        {
            var f = _features[i];
            var name = $"{field}.{f.Name}";
            if (!obj.TryGetPropertyValue(f.Name, out var node))
            {
                var near = NameSuggester.Closest(f.Name, unknown) is { } typo ? $" ('{typo}' is not a column)" : "";
                throw new TabularInputException(name, $"missing: the model takes column '{f.Name}' ({Describe(f)}); send null for no value{near}");
            }
            columns[i] = f.Kind == FeatureKind.Numeric ? Numeric(f, node, name) : Categorical(f, node, name);
        }
        return new Table(columns);
    }

    /// <summary>A valid row: every numeric column at its smallest training value, every categorical one at its first category.</summary>
    public Table Example(int rows = 1)
    {
        var columns = _features.Select(f => f.Kind == FeatureKind.Numeric
            ? (Column)Column.Float32(f.Name, Enumerable.Repeat((float)(f.Min ?? 0), rows).ToArray())
            : Column.String(f.Name, Enumerable.Repeat(f.Categories.FirstOrDefault(), rows).ToArray()));
        return new Table(columns);
    }

    /// <summary>How a row looks, for messages: <c>{"age": 17, "workclass": "Federal-gov", …}</c>.</summary>
    public string Example()
    {
        var parts = _features.Take(3).Select(f => f.Kind == FeatureKind.Numeric
            ? string.Create(CultureInfo.InvariantCulture, $"\"{f.Name}\": {f.Min ?? 0}")
            : $"\"{f.Name}\": \"{f.Categories.FirstOrDefault() ?? "…"}\"");
        return "{" + string.Join(", ", parts) + (_features.Count > 3 ? ", …}" : "}");
    }

    private static string Describe(FeatureInfo f) => f.Kind == FeatureKind.Numeric
        ? "a number"
        : $"a category such as '{f.Categories.FirstOrDefault() ?? "…"}'";

    private Column Numeric(FeatureInfo f, JsonNode? node, string field)
    {
        if (node is null) return Column.Float32(f.Name, [0], [true]);
        if (node is JsonValue v)
        {
            switch (v.GetValueKind())
            {
                case JsonValueKind.Number:
                    // JSON has no NaN or infinity literal, but 1e999 overflows to one, and 1e39 overflows a float.
                    if (!v.TryGetValue<double>(out var d) || !double.IsFinite(d) || !float.IsFinite((float)d))
                        throw new TabularInputException(field, $"{v.ToJsonString()} is not a finite 32-bit number");
                    return Column.Float32(f.Name, [(float)d]);
                case JsonValueKind.String:
                    var text = v.GetValue<string>();
                    if (_missing.Contains(text)) return Column.Float32(f.Name, [0], [true]);
                    if (text.Contains("nan", StringComparison.OrdinalIgnoreCase) || text.Contains("inf", StringComparison.OrdinalIgnoreCase))
                        throw new TabularInputException(field, $"\"{text}\" is not a finite number; NaN and infinities are rejected (send null for no value)");
                    throw new TabularInputException(field, $"expected a number; got the string \"{Shorten(text)}\" (column '{f.Name}' is numeric)");
            }
        }
        throw new TabularInputException(field, $"expected a number or null; got {Kind(node)}");
    }

    private Column Categorical(FeatureInfo f, JsonNode? node, string field)
    {
        if (node is null) return Column.String(f.Name, [null]);
        if (node is JsonValue v)
        {
            switch (v.GetValueKind())
            {
                case JsonValueKind.String:
                    var text = v.GetValue<string>();
                    return Column.String(f.Name, [_missing.Contains(text) ? null : text]);
                case JsonValueKind.Number:
                    // A CSV cell "1" arrives as the number 1; its category is the text a file would hold.
                    var d = v.GetValue<double>();
                    return Column.String(f.Name, [d == Math.Floor(d) && Math.Abs(d) < 1e15 ? ((long)d).ToString(CultureInfo.InvariantCulture) : d.ToString("R", CultureInfo.InvariantCulture)]);
                case JsonValueKind.True or JsonValueKind.False:
                    return Column.String(f.Name, [v.GetValue<bool>() ? "true" : "false"]);
            }
        }
        throw new TabularInputException(field, $"expected a category (a string) or null; got {Kind(node)}");
    }

    private static string Kind(JsonNode? node) => node switch
    {
        null => "null",
        JsonObject => "an object",
        JsonArray => "an array",
        JsonValue v => v.GetValueKind() switch
        {
            JsonValueKind.String => "a string",
            JsonValueKind.Number => "a number",
            JsonValueKind.True or JsonValueKind.False => "a boolean",
            var k => k.ToString().ToLowerInvariant(),
        },
        _ => "something else",
    };

    private static string Shorten(string text) => text.Length <= 40 ? text : text[..40] + "…";
}
