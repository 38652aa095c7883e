using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Forge.Core;

namespace Forge.Serving;

/// <summary>
/// Turns one request instance into one row of the model's input <see cref="Table"/>, checked against the signature's
/// first input: numbers only, finite, in the trained range, in the input's shape (flattened or nested). Flavors whose
/// instances are not plain numbers (images, text, tabular rows) derive from it.
/// </summary>
public class InstanceDecoder
{
    // A request body is at most a few MB; a claimed shape far beyond that is an error, not an allocation.
    private const long MaxValues = 64L * 1024 * 1024;

    /// <summary>Creates a decoder for the given input tensor, whose first dimension is the batch.</summary>
    public InstanceDecoder(TensorSpec input)
    {
        ArgumentNullException.ThrowIfNull(input);
        Input = input;
        InstanceShape = input.Shape.Length > 1 ? input.Shape[1..] : [];
        RowLength = InstanceShape.Any(d => d < 0) ? -1 : InstanceShape.Aggregate(1, (a, d) => a * d);
    }

    /// <summary>The input tensor instances are decoded for.</summary>
    public TensorSpec Input { get; }

    /// <summary>The shape of one instance: the input's shape without the batch dimension.</summary>
    public IReadOnlyList<int> InstanceShape { get; }

    /// <summary>The number of values in one row, or -1 when a dimension is free.</summary>
    public int RowLength { get; }

    /// <summary>The columns of the tables this decoder makes: the model's input.</summary>
    public virtual TableSchema Schema => new([Input.ToColumnSpec()]);

    /// <summary>
    /// Decodes one instance of a native request into a one-row table: a numeric array (flattened or nested to the
    /// instance shape) or an object <c>{"INPUT_NAME": [...]}</c>. Throws <see cref="InputException"/> naming
    /// <paramref name="field"/> or a part of it.
    /// </summary>
    public virtual Table Decode(JsonNode? instance, string field)
    {
        ArgumentNullException.ThrowIfNull(field);
        if (instance is JsonArray) return Row(DecodeNumbers(instance, field));
        if (instance is JsonObject obj && obj.Count == 1 && obj.TryGetPropertyValue(Input.Name, out var value))
            return Row(DecodeNumbers(value, $"{field}.{Input.Name}"));
        throw new InputException(field, $"expected {Describe()}; got {KindOf(instance)}");
    }

    /// <summary>Decodes one element of an Open Inference Protocol BYTES tensor into a one-row table; plain numeric models take none.</summary>
    public virtual Table DecodeBytes(string element, string field) =>
        throw new InputException(field, $"this model takes numbers (FP32), not BYTES; send {Describe()}");

    /// <summary>Checked numeric rows (e.g. an Open Inference Protocol FP32 tensor) as a table of the model's tensor input.</summary>
    public Table FromRows(IReadOnlyList<float[]> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        return new Table(Column.Tensor(Input.Name, Input.CellShape(), rows));
    }

    /// <summary>Checked rows stored one after another in <paramref name="values"/>, as a table sharing the array.</summary>
    internal Table FromFlat(float[] values) => new(Column.Tensor(Input.Name, Input.CellShape(), values));

    /// <summary>One checked numeric row as a one-row table, sharing the array.</summary>
    protected Table Row(float[] values) => new(Column.Tensor(Input.Name, Input.CellShape(), values));

    /// <summary>Whether rows may come as numbers (a numeric tensor); text models take only strings.</summary>
    public virtual bool TakesNumbers => true;

    /// <summary>Whether an instance is a row of named columns (a tabular model): CSV uploads then map columns by name.</summary>
    public virtual bool TakesColumns => false;

    /// <summary>How one instance of a predict request looks, for model metadata and error messages.</summary>
    public string InstanceFormat => Describe();

    /// <summary>A valid one-row batch for the warm-up prediction: every value at the low end of the trained range (0 when unknown).</summary>
    public virtual Table WarmupRow()
    {
        if (RowLength < 0) throw new InvalidOperationException($"input '{Input.Name}' has a free dimension; its decoder must override WarmupRow");
        var value = (float)Math.Clamp(0, Input.Min ?? double.MinValue, Input.Max ?? double.MaxValue);
        return Row(Enumerable.Repeat(value, RowLength).ToArray());
    }

    /// <summary>How a valid instance looks, for error messages.</summary>
    protected virtual string Describe() =>
        RowLength < 0
            ? $"an array of numbers for input '{Input.Name}'"
            : $"an array of {RowLength} numbers (shape {ShapeText(InstanceShape)}, flattened or nested)";

    /// <summary>Decodes a numeric array (flattened, or nested to the instance shape) into one checked row.</summary>
    public float[] DecodeNumbers(JsonNode? node, string field)
    {
        ArgumentNullException.ThrowIfNull(field);
        if (node is not JsonArray) throw new InputException(field, $"expected {Describe()}; got {KindOf(node)}");
        var (shape, values) = Flatten(node, field);
        if (!ShapeFits(shape))
        {
            throw new InputException(field, $"shape {ShapeText(shape)} does not fit the model's input '{Input.Name}' {ShapeText(InstanceShape)}"
                + (RowLength >= 0 ? $" (or {RowLength} values flattened)" : ""));
        }
        CheckValues(values, field);
        return values;
    }

    /// <summary>Checks a decoded row's length and that every value lies in the input's trained range.</summary>
    public void CheckValues(ReadOnlySpan<float> row, string field)
    {
        ArgumentNullException.ThrowIfNull(field);
        if (RowLength >= 0 && row.Length != RowLength)
            throw new InputException(field, $"{row.Length} values; the model's input '{Input.Name}' {ShapeText(InstanceShape)} takes {RowLength}");
        var (min, max) = (Input.Min ?? double.NegativeInfinity, Input.Max ?? double.PositiveInfinity);
        for (var i = 0; i < row.Length; i++)
        {
            var v = row[i];
            if (!float.IsFinite(v)) throw new InputException(field, $"value {i} is {v}; only finite numbers are accepted");
            if (v < min || v > max)
            {
                // The usual slip with images: 0–255 pixels sent to a model trained on 0–1.
                var hint = max == 1 && min == 0 && v is > 1 and <= 255 ? "; scale 0–255 pixels to 0–1 (divide by 255)" : "";
                throw new InputException(field, string.Create(CultureInfo.InvariantCulture,
                    $"value {i} is {v}, outside the range [{min}, {max}] the model was trained on{hint}"));
            }
        }
    }

    /// <summary>Flattens a regular nested array of numbers in row-major order; ragged arrays and non-numbers are errors naming the element.</summary>
    internal static (int[] Shape, float[] Values) Flatten(JsonNode node, string field)
    {
        var shape = new List<int>();
        long total = 1;
        for (var current = node; current is JsonArray array; current = array.Count > 0 ? array[0] : null)
        {
            shape.Add(array.Count);
            total *= array.Count;
            if (array.Count == 0 || total > MaxValues) break;
        }
        if (total > MaxValues) throw new InputException(field, $"more than {MaxValues} values");
        var values = new float[total];
        var index = new int[shape.Count];
        var written = 0;
        Walk(node, 0);
        return (shape.ToArray(), values);

        void Walk(JsonNode? n, int depth)
        {
            if (depth < shape.Count)
            {
                if (n is not JsonArray a)
                    throw new InputException(Path(depth), $"expected an array of {shape[depth]} items (the arrays are ragged); got {KindOf(n)}");
                if (a.Count != shape[depth])
                    throw new InputException(Path(depth), $"{a.Count} items where its siblings have {shape[depth]}; nested arrays must be regular");
                for (var i = 0; i < a.Count; i++)
                {
                    index[depth] = i;
                    Walk(a[i], depth + 1);
                }
                return;
            }
            values[written++] = Number(n, Path(depth));
        }

        string Path(int depth)
        {
            var sb = new StringBuilder(field);
            for (var d = 0; d < depth; d++) sb.Append('[').Append(index[d].ToString(CultureInfo.InvariantCulture)).Append(']');
            return sb.ToString();
        }
    }

    /// <summary>One JSON number as a finite float; anything else is an error naming the element.</summary>
    internal static float Number(JsonNode? node, string field)
    {
        if (node is JsonValue value && value.GetValueKind() == JsonValueKind.Number)
        {
            // JSON has no NaN or infinity literal, but 1e999 overflows to one, and 1e39 overflows a float.
            if (!value.TryGetValue<double>(out var d) || !double.IsFinite(d) || !float.IsFinite((float)d))
                throw new InputException(field, $"{value.ToJsonString()} is not a finite 32-bit number");
            return (float)d;
        }
        if (node is JsonValue s && s.GetValueKind() == JsonValueKind.String && s.GetValue<string>() is var text
            && (text.Contains("nan", StringComparison.OrdinalIgnoreCase) || text.Contains("inf", StringComparison.OrdinalIgnoreCase)))
            throw new InputException(field, $"\"{text}\" is not a finite number; NaN and infinities are rejected");
        throw new InputException(field, $"expected a number; got {KindOf(node)}");
    }

    private bool ShapeFits(int[] shape)
    {
        if (RowLength < 0) return shape.Length > 0 && shape.All(d => d > 0);
        if (shape.Length == 1 && shape[0] == RowLength) return true;
        // [28, 28] fits [1, 28, 28]: leading dimensions of 1 carry nothing, and people drop them.
        var expected = InstanceShape.SkipWhile(d => d == 1).ToArray();
        var given = shape.SkipWhile(d => d == 1).ToArray();
        return expected.AsSpan().SequenceEqual(given) && shape.Length <= InstanceShape.Count;
    }

    /// <summary>A shape as people write it: [1, 28, 28].</summary>
    internal static string ShapeText(IEnumerable<int> shape) => "[" + string.Join(", ", shape) + "]";

    /// <summary>What a JSON node is, for error messages.</summary>
    internal static string KindOf(JsonNode? node) => node switch
    {
        null => "null",
        JsonObject o => o.Count == 0 ? "an empty object" : $"an object with {string.Join(", ", o.Select(p => $"\"{p.Key}\"").Take(5))}",
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
}

/// <summary>
/// Decodes image instances: <c>{"image_b64": "&lt;PNG or JPEG, base64&gt;"}</c> (a <c>data:</c> URL prefix is allowed),
/// Open Inference Protocol BYTES elements holding the same base64 text, or numeric arrays as <see cref="InstanceDecoder"/> does.
/// </summary>
/// <param name="input">The image input tensor.</param>
/// <param name="decodeImage">Turns encoded image bytes into one row of pixels, given the field name for errors; throws <see cref="ForgeException"/> on a bad image.</param>
public sealed class ImageInstanceDecoder(TensorSpec input, Func<byte[], string, float[]> decodeImage) : InstanceDecoder(input)
{
    /// <summary>The instance field carrying a base64-encoded image.</summary>
    public const string ImageField = "image_b64";

    private readonly Func<byte[], string, float[]> _decodeImage = decodeImage ?? throw new ArgumentNullException(nameof(decodeImage));

    /// <inheritdoc />
    public override Table Decode(JsonNode? instance, string field)
    {
        ArgumentNullException.ThrowIfNull(field);
        if (instance is JsonObject obj && obj.TryGetPropertyValue(ImageField, out var b64))
        {
            var name = $"{field}.{ImageField}";
            if (b64 is not JsonValue v || v.GetValueKind() != JsonValueKind.String)
                throw new InputException(name, $"expected a base64 string; got {KindOf(b64)}");
            return DecodeBytes(v.GetValue<string>(), name);
        }
        return base.Decode(instance, field);
    }

    /// <inheritdoc />
    public override Table DecodeBytes(string element, string field)
    {
        ArgumentNullException.ThrowIfNull(element);
        ArgumentNullException.ThrowIfNull(field);
        var text = element.AsSpan().Trim();
        // Browsers hand out data URLs ("data:image/png;base64,…"); the part after the comma is the image.
        if (text.StartsWith("data:", StringComparison.OrdinalIgnoreCase) && text.IndexOf(',') is var comma and > 0) text = text[(comma + 1)..];
        if (text.IsEmpty) throw new InputException(field, "the image is empty");
        var bytes = new byte[(text.Length * 3 / 4) + 3];
        if (!Convert.TryFromBase64Chars(text, bytes, out var length))
            throw new InputException(field, "not valid base64; encode the PNG or JPEG file's bytes with standard base64");
        float[] row;
        try
        {
            row = _decodeImage(bytes[..length], field);
        }
        catch (ForgeException e)
        {
            // Decoders name the image by the field already; keep the problem without saying the field twice.
            var problem = e.Message.StartsWith(field + ": ", StringComparison.Ordinal) ? e.Message[(field.Length + 2)..] : e.Message;
            throw new InputException(field, problem);
        }
        CheckValues(row, field);
        return Row(row);
    }

    /// <inheritdoc />
    protected override string Describe() => $"{{\"{ImageField}\": \"<PNG or JPEG, base64>\"}} or " + base.Describe();
}
