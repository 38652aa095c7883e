using System.Globalization;
using System.Text.Json;
using Forge.Core;

namespace Forge.Tuning;

/// <summary>
/// The scalar values the tuner stores: categorical choices, enqueued parameters and attributes are each null, a string,
/// a bool, a long or a double once stored. Storages keep them as JSON text; this turns values into that text and back.
/// </summary>
public static class ScalarValues
{
    /// <summary>
    /// The stored form of a value: integers become long, floating-point numbers double, enums their name, chars and
    /// other types their invariant text.
    /// </summary>
    public static object? Canonical(object? value) => value switch
    {
        null => null,
        string s => s,
        bool b => b,
        double d => d,
        float f => (double)f,
        decimal m => (double)m,
        long l => l,
        int i => (long)i,
        short s16 => (long)s16,
        sbyte s8 => (long)s8,
        byte u8 => (long)u8,
        ushort u16 => (long)u16,
        uint u32 => (long)u32,
        ulong u64 => u64 <= long.MaxValue ? (object)(long)u64 : (double)u64,
        char c => c.ToString(),
        Enum e => e.ToString(),
        JsonElement element => FromJsonElement(element),
        IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString(),
    };

    /// <summary>True when two values have the same stored form (1 and 1.0 are equal; "1" and 1 are not).</summary>
    public static bool AreEqual(object? a, object? b)
    {
        var x = Canonical(a);
        var y = Canonical(b);
        return (x, y) switch
        {
            (null, null) => true,
            (long l1, long l2) => l1 == l2,
            (long l, double d) => l == d,
            (double d, long l) => l == d,
            (double d1, double d2) => d1.Equals(d2),
            (string s1, string s2) => string.Equals(s1, s2, StringComparison.Ordinal),
            (bool b1, bool b2) => b1 == b2,
            _ => false,
        };
    }

    /// <summary>The JSON text of a value (NaN and infinities as the strings "NaN", "Infinity", "-Infinity").</summary>
    public static string ToJson(object? value)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            Write(writer, value);
        }
        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>Reads JSON text written by <see cref="ToJson"/> back into the stored form.</summary>
    public static object? FromJson(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        try
        {
            using var document = JsonDocument.Parse(json);
            return FromJsonElement(document.RootElement);
        }
        catch (JsonException ex)
        {
            throw new ForgeException($"'{json}' is not a stored tuning value: {ex.Message}", ex);
        }
    }

    /// <summary>The stored form of a JSON scalar; arrays and objects are kept as their JSON text.</summary>
    public static object? FromJsonElement(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Null or JsonValueKind.Undefined => null,
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        JsonValueKind.String => element.GetString(),
        JsonValueKind.Number => IsIntegerText(element.GetRawText()) && element.TryGetInt64(out var l) ? (object)l : element.GetDouble(),
        _ => element.GetRawText(),
    };

    internal static void Write(Utf8JsonWriter writer, object? value)
    {
        switch (Canonical(value))
        {
            case null:
                writer.WriteNullValue();
                break;
            case string s:
                writer.WriteStringValue(s);
                break;
            case bool b:
                writer.WriteBooleanValue(b);
                break;
            case long l:
                writer.WriteNumberValue(l);
                break;
            case double d when double.IsFinite(d):
                writer.WriteNumberValue(d);
                break;
            case double d:
                writer.WriteStringValue(double.IsNaN(d) ? "NaN" : d > 0 ? "Infinity" : "-Infinity");
                break;
        }
    }

    /// <summary>Reads a number that may be written as "NaN"/"Infinity" strings (how non-finite doubles are stored).</summary>
    internal static double ToDouble(object? value) => value switch
    {
        long l => l,
        double d => d,
        "NaN" => double.NaN,
        "Infinity" => double.PositiveInfinity,
        "-Infinity" => double.NegativeInfinity,
        _ => throw new UsageException($"'{Describe(value)}' is not a number"),
    };

    /// <summary>A value as a person reads it in a message or a table.</summary>
    public static string Describe(object? value) => Canonical(value) switch
    {
        null => "null",
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        long l => l.ToString(CultureInfo.InvariantCulture),
        bool b => b ? "true" : "false",
        var other => other.ToString() ?? "",
    };

    private static bool IsIntegerText(string raw) => raw.AsSpan().IndexOfAny(".eE") < 0;
}
