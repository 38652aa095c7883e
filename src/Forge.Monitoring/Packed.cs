using System.Buffers.Binary;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Forge.Monitoring;

/// <summary>
/// Writes a double array as base64 of its little-endian IEEE-754 bytes: exact, and 10.7 characters a value where a JSON
/// number of full precision takes up to 24. Keeps a profile of 100 columns within a megabyte.
/// </summary>
internal sealed class PackedDoublesConverter : JsonConverter<double[]>
{
    public override double[]? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.TokenType == JsonTokenType.Null ? null : Unpack(reader.GetString() ?? "");

    public override void Write(Utf8JsonWriter writer, double[] value, JsonSerializerOptions options) =>
        writer.WriteStringValue(Pack(value));

    internal static string Pack(ReadOnlySpan<double> values)
    {
        var bytes = new byte[values.Length * 8];
        for (var i = 0; i < values.Length; i++) BinaryPrimitives.WriteDoubleLittleEndian(bytes.AsSpan(i * 8), values[i]);
        return Convert.ToBase64String(bytes);
    }

    internal static double[] Unpack(string text)
    {
        byte[] bytes;
        try
        {
            bytes = Convert.FromBase64String(text);
        }
        catch (FormatException e)
        {
            throw new JsonException("a packed number array is not valid base64", e);
        }
        if (bytes.Length % 8 != 0) throw new JsonException($"a packed number array has {bytes.Length} bytes, not a multiple of 8");
        var values = new double[bytes.Length / 8];
        for (var i = 0; i < values.Length; i++) values[i] = BinaryPrimitives.ReadDoubleLittleEndian(bytes.AsSpan(i * 8));
        return values;
    }
}

/// <summary>Packs each level of a sketch as <see cref="PackedDoublesConverter"/> does.</summary>
internal sealed class PackedDoubleLevelsConverter : JsonConverter<IReadOnlyList<double[]>>
{
    public override IReadOnlyList<double[]> Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.StartArray) throw new JsonException("sketch levels must be an array of strings");
        var levels = new List<double[]>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            levels.Add(PackedDoublesConverter.Unpack(reader.GetString() ?? ""));
        return levels;
    }

    public override void Write(Utf8JsonWriter writer, IReadOnlyList<double[]> value, JsonSerializerOptions options)
    {
        writer.WriteStartArray();
        foreach (var level in value) writer.WriteStringValue(PackedDoublesConverter.Pack(level));
        writer.WriteEndArray();
    }
}
