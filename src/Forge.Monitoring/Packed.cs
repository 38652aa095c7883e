using System.Buffers.Binary;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Forge.Monitoring;

/// <summary>
/// Writes a number array in whichever exact form is shortest: plain JSON numbers (short for values read from a CSV,
/// such as 0.24), or base64 of the little-endian IEEE-754 bytes — 4 bytes a value ("f32:…") when every value is exactly
/// a float (model features usually are), else 8 ("f64:…", 10.7 characters a value where a 17-digit number takes up
/// to 24). Reading accepts every form. This is what keeps a 100-column profile within a megabyte.
/// </summary>
internal sealed class PackedDoublesConverter : JsonConverter<double[]>
{
    public override double[]? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.TokenType switch
        {
            JsonTokenType.Null => null,
            JsonTokenType.String => Unpack(reader.GetString() ?? ""),
            JsonTokenType.StartArray => ReadArray(ref reader),
            _ => throw new JsonException("a number array must be a JSON array or a packed string"),
        };

    internal static double[] ReadArray(ref Utf8JsonReader reader)
    {
        var values = new List<double>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.Number) throw new JsonException("a number array holds a non-number");
            values.Add(reader.GetDouble());
        }
        return [.. values];
    }

    public override void Write(Utf8JsonWriter writer, double[] value, JsonSerializerOptions options) => WriteShortest(writer, value);

    internal static void WriteShortest(Utf8JsonWriter writer, IReadOnlyList<double> values)
    {
        var asFloat = true;
        long textLength = 2;
        foreach (var x in values)
        {
            if (!double.IsFinite(x)) asFloat = false;
            else if ((double)(float)x != x) asFloat = false;
            textLength += x.ToString("R", CultureInfo.InvariantCulture).Length + 1;
        }
        var packedLength = 6 + (values.Count * (asFloat ? 4 : 8) + 2) / 3 * 4;
        if (textLength <= packedLength && values.All(double.IsFinite))
        {
            writer.WriteStartArray();
            foreach (var x in values) writer.WriteNumberValue(x);
            writer.WriteEndArray();
            return;
        }
        writer.WriteStringValue(Pack(values, asFloat));
    }

    internal static string Pack(IReadOnlyList<double> values, bool asFloat)
    {
        var width = asFloat ? 4 : 8;
        var bytes = new byte[values.Count * width];
        for (var i = 0; i < values.Count; i++)
        {
            if (asFloat) BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * 4), (float)values[i]);
            else BinaryPrimitives.WriteDoubleLittleEndian(bytes.AsSpan(i * 8), values[i]);
        }
        return (asFloat ? "f32:" : "f64:") + Convert.ToBase64String(bytes);
    }

    internal static double[] Unpack(string text)
    {
        var asFloat = text.StartsWith("f32:", StringComparison.Ordinal);
        var body = asFloat || text.StartsWith("f64:", StringComparison.Ordinal) ? text[4..] : text;
        byte[] bytes;
        try
        {
            bytes = Convert.FromBase64String(body);
        }
        catch (FormatException e)
        {
            throw new JsonException("a packed number array is not valid base64", e);
        }
        var width = asFloat ? 4 : 8;
        if (bytes.Length % width != 0) throw new JsonException($"a packed number array has {bytes.Length} bytes, not a multiple of {width}");
        var values = new double[bytes.Length / width];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = asFloat
                ? BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(i * 4))
                : BinaryPrimitives.ReadDoubleLittleEndian(bytes.AsSpan(i * 8));
        }
        return values;
    }
}

/// <summary><see cref="PackedDoublesConverter"/> for read-only lists.</summary>
internal sealed class PackedDoubleListConverter : JsonConverter<IReadOnlyList<double>>
{
    public override IReadOnlyList<double> Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.TokenType switch
        {
            JsonTokenType.String => PackedDoublesConverter.Unpack(reader.GetString() ?? ""),
            JsonTokenType.StartArray => PackedDoublesConverter.ReadArray(ref reader),
            _ => throw new JsonException("a number array must be a JSON array or a packed string"),
        };

    public override void Write(Utf8JsonWriter writer, IReadOnlyList<double> value, JsonSerializerOptions options) =>
        PackedDoublesConverter.WriteShortest(writer, value);
}

/// <summary>Packs each level of a sketch as <see cref="PackedDoublesConverter"/> does.</summary>
internal sealed class PackedDoubleLevelsConverter : JsonConverter<IReadOnlyList<double[]>>
{
    public override IReadOnlyList<double[]> Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.StartArray) throw new JsonException("sketch levels must be an array");
        var levels = new List<double[]>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            levels.Add(reader.TokenType switch
            {
                JsonTokenType.String => PackedDoublesConverter.Unpack(reader.GetString() ?? ""),
                JsonTokenType.StartArray => PackedDoublesConverter.ReadArray(ref reader),
                _ => throw new JsonException("a sketch level must be an array or a packed string"),
            });
        }
        return levels;
    }

    public override void Write(Utf8JsonWriter writer, IReadOnlyList<double[]> value, JsonSerializerOptions options)
    {
        writer.WriteStartArray();
        foreach (var level in value) PackedDoublesConverter.WriteShortest(writer, level);
        writer.WriteEndArray();
    }
}
