using System.Text.Json;
using Forge.Core;

namespace Forge.Serving;

/// <summary>
/// The fast path for the commonest prediction bodies: flat arrays of numbers for a model with one fixed-shape numeric
/// input, read straight from the request bytes into one tensor column. A JSON document tree costs a node per number
/// (about 60 KB of garbage for one 784-pixel digit); this reads each number once and keeps only the floats.
/// </summary>
/// <remarks>
/// It accepts only bodies that are entirely valid; at the first thing it does not expect (another shape, a bad value,
/// an extra property, malformed JSON) it gives up and the caller parses the body the general way, which names the
/// problem. Numbers go through the same parse as the general path (<see cref="Utf8JsonReader.TryGetDouble"/>, then a
/// cast to float), so both paths give the very same values.
/// </remarks>
internal static class FastNumericDecoder
{
    // Properties the fast v2 path understands; any other (outputs, parameters) sends the request the general way.
    private static readonly byte[] Instances = "instances"u8.ToArray();
    private static readonly byte[] Inputs = "inputs"u8.ToArray();
    private static readonly byte[] Id = "id"u8.ToArray();
    private static readonly byte[] Name = "name"u8.ToArray();
    private static readonly byte[] Shape = "shape"u8.ToArray();
    private static readonly byte[] DataType = "datatype"u8.ToArray();
    private static readonly byte[] Data = "data"u8.ToArray();

    /// <summary>
    /// Reads <c>{"instances": [[n, …], …]}</c> or one flat instance <c>[n, …]</c>; null when the body is anything else
    /// or any value does not pass the decoder's checks.
    /// </summary>
    public static Table? TryInstances(ReadOnlySpan<byte> json, InstanceDecoder decoder)
    {
        if (!Eligible(decoder)) return null;
        try
        {
            var reader = new Utf8JsonReader(json);
            if (!reader.Read()) return null;
            var values = new List<float>(decoder.RowLength);
            if (reader.TokenType == JsonTokenType.StartArray)
            {
                if (!ReadRow(ref reader, decoder, values)) return null;
            }
            else
            {
                if (reader.TokenType != JsonTokenType.StartObject || !reader.Read() || reader.TokenType != JsonTokenType.PropertyName
                    || !reader.ValueTextEquals(Instances) || !reader.Read() || reader.TokenType != JsonTokenType.StartArray)
                    return null;
                var rows = 0;
                while (reader.Read() && reader.TokenType == JsonTokenType.StartArray)
                {
                    if (!ReadRow(ref reader, decoder, values)) return null;
                    rows++;
                }
                if (rows == 0 || reader.TokenType != JsonTokenType.EndArray || !reader.Read() || reader.TokenType != JsonTokenType.EndObject) return null;
            }
            return reader.Read() ? null : decoder.FromFlat([.. values]);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>
    /// Reads an Open Inference Protocol request whose only input is the model's numeric input with flat <c>data</c>
    /// (and perhaps an <c>id</c>); null when it is anything else or a value does not pass the decoder's checks.
    /// </summary>
    public static (Table Rows, string? Id)? TryInferRequest(ReadOnlySpan<byte> json, InstanceDecoder decoder, IReadOnlySet<string> numericTypes)
    {
        if (!Eligible(decoder)) return null;
        try
        {
            var reader = new Utf8JsonReader(json);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return null;
            string? id = null;
            float[]? values = null;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals(Id))
                {
                    if (!reader.Read() || reader.TokenType != JsonTokenType.String || id is not null) return null;
                    id = reader.GetString();
                }
                else if (reader.ValueTextEquals(Inputs))
                {
                    if (values is not null || !reader.Read() || reader.TokenType != JsonTokenType.StartArray || !reader.Read()) return null;
                    values = ReadInput(ref reader, decoder, numericTypes);
                    if (values is null || !reader.Read() || reader.TokenType != JsonTokenType.EndArray) return null;
                }
                else
                {
                    return null;
                }
            }
            if (values is null || reader.TokenType != JsonTokenType.EndObject || reader.Read()) return null;
            return (decoder.FromFlat(values), id);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    // Numeric, fixed-shape input, and a decoder that reads numbers the base way (images and text have their own rules).
    private static bool Eligible(InstanceDecoder decoder) => decoder.TakesNumbers && decoder.RowLength > 0 && decoder.Input.DType == "float32";

    // One input tensor object: name, datatype, shape and flat data in any order; the values once all agree.
    private static float[]? ReadInput(ref Utf8JsonReader reader, InstanceDecoder decoder, IReadOnlySet<string> numericTypes)
    {
        if (reader.TokenType != JsonTokenType.StartObject) return null;
        string? name = null, datatype = null;
        List<long>? shape = null;
        List<float>? data = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals(Name) && name is null)
            {
                if (!reader.Read() || reader.TokenType != JsonTokenType.String) return null;
                name = reader.GetString();
            }
            else if (reader.ValueTextEquals(DataType) && datatype is null)
            {
                if (!reader.Read() || reader.TokenType != JsonTokenType.String) return null;
                datatype = reader.GetString();
            }
            else if (reader.ValueTextEquals(Shape) && shape is null)
            {
                if (!reader.Read() || reader.TokenType != JsonTokenType.StartArray) return null;
                shape = [];
                while (reader.Read() && reader.TokenType == JsonTokenType.Number)
                {
                    if (!reader.TryGetInt64(out var d) || d < 1) return null;
                    shape.Add(d);
                }
                if (reader.TokenType != JsonTokenType.EndArray || shape.Count == 0) return null;
            }
            else if (reader.ValueTextEquals(Data) && data is null)
            {
                if (!reader.Read() || reader.TokenType != JsonTokenType.StartArray) return null;
                data = new List<float>(decoder.RowLength);
                while (reader.Read() && reader.TokenType == JsonTokenType.Number)
                {
                    if (!TryFloat(ref reader, out var v)) return null;
                    data.Add(v);
                }
                if (reader.TokenType != JsonTokenType.EndArray) return null;
            }
            else
            {
                return null;
            }
        }
        if (reader.TokenType != JsonTokenType.EndObject || name != decoder.Input.Name || datatype is null || !numericTypes.Contains(datatype)
            || shape is null || data is null)
            return null;
        var declared = shape.Aggregate(1L, (a, d) => a * d);
        if (declared != data.Count || declared / shape[0] != decoder.RowLength || declared % shape[0] != 0) return null;
        var values = data.ToArray();
        return InRange(values, decoder) ? values : null;
    }

    // One flat instance: exactly the input's number of values, each finite and in the trained range.
    private static bool ReadRow(ref Utf8JsonReader reader, InstanceDecoder decoder, List<float> values)
    {
        var start = values.Count;
        while (reader.Read() && reader.TokenType == JsonTokenType.Number)
        {
            if (!TryFloat(ref reader, out var v)) return false;
            values.Add(v);
        }
        if (reader.TokenType != JsonTokenType.EndArray || values.Count - start != decoder.RowLength) return false;
        var min = decoder.Input.Min ?? double.NegativeInfinity;
        var max = decoder.Input.Max ?? double.PositiveInfinity;
        for (var i = start; i < values.Count; i++)
        {
            if (values[i] < min || values[i] > max) return false;
        }
        return true;
    }

    private static bool InRange(float[] values, InstanceDecoder decoder)
    {
        var min = decoder.Input.Min ?? double.NegativeInfinity;
        var max = decoder.Input.Max ?? double.PositiveInfinity;
        foreach (var v in values)
        {
            if (v < min || v > max) return false;
        }
        return true;
    }

    // The general path's rule: a JSON number that is a finite double and a finite float.
    private static bool TryFloat(ref Utf8JsonReader reader, out float value)
    {
        value = 0;
        if (!reader.TryGetDouble(out var d) || !double.IsFinite(d)) return false;
        value = (float)d;
        return float.IsFinite(value);
    }
}
