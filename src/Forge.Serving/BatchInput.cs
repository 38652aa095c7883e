using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Forge.Core;
using Forge.Data;

namespace Forge.Serving;

/// <summary>The two upload formats of a batch job.</summary>
internal enum BatchFormat
{
    Jsonl,
    Csv,
}

/// <summary>One input record: its bytes without the line end, or null bytes when it is longer than the row limit.</summary>
internal readonly record struct InputRecord(byte[]? Bytes, long Length);

/// <summary>
/// Splits an upload into records without holding more than one record: JSONL lines (blank lines skipped) or CSV records
/// (a line break inside quotes stays in its record). Works on bytes: every delimiter is ASCII, so UTF-8 text splits
/// correctly without being decoded.
/// </summary>
internal sealed class RecordReader(Stream stream, BatchFormat format, int maxRecordBytes)
{
    private readonly byte[] _buffer = new byte[64 * 1024];
    private readonly ArrayBufferWriter<byte> _record = new(4096);
    private int _position;
    private int _end;
    private bool _eof;

    /// <summary>Reads the next non-blank record; <paramref name="keepBytes"/> false only counts (no copy is made).</summary>
    public bool TryRead(out InputRecord record, bool keepBytes = true)
    {
        while (true)
        {
            _record.ResetWrittenCount();
            long length = 0;
            var over = !keepBytes;
            var quoted = false;
            var any = false;
            var blank = true;
            while (true)
            {
                if (_position == _end && !Fill())
                {
                    if (!any)
                    {
                        record = default;
                        return false;
                    }
                    break;
                }
                any = true;
                var span = _buffer.AsSpan(_position, _end - _position);
                var end = FindEnd(span, ref quoted);
                var take = end < 0 ? span.Length : end;
                if (blank && span[..take].IndexOfAnyExcept(" \t\r"u8) >= 0) blank = false;
                if (!over && length + take > maxRecordBytes)
                {
                    over = true;
                    _record.ResetWrittenCount();
                }
                if (!over) _record.Write(span[..take]);
                length += take;
                _position += take;
                if (end >= 0)
                {
                    _position++;
                    break;
                }
            }
            if (blank) continue;
            var bytes = over ? null : _record.WrittenSpan.ToArray();
            if (bytes is [.., (byte)'\r'])
            {
                bytes = bytes[..^1];
                length--;
            }
            record = new InputRecord(bytes, length);
            return true;
        }
    }

    private int FindEnd(ReadOnlySpan<byte> span, ref bool quoted)
    {
        if (format == BatchFormat.Jsonl) return span.IndexOf((byte)'\n');
        var offset = 0;
        while (true)
        {
            var i = span[offset..].IndexOfAny((byte)'"', (byte)'\n');
            if (i < 0) return -1;
            i += offset;
            // A doubled quote inside a quoted field toggles twice, which is right: it stays quoted.
            if (span[i] == '"') quoted = !quoted;
            else if (!quoted) return i;
            offset = i + 1;
        }
    }

    private bool Fill()
    {
        if (_eof) return false;
        _position = 0;
        _end = stream.Read(_buffer, 0, _buffer.Length);
        if (_end == 0) _eof = true;
        return _end > 0;
    }
}

/// <summary>
/// Turns input records into the instances the native predict endpoint takes, so the model's own
/// <see cref="InstanceDecoder"/> reads them and any flavor works: a JSONL line is one instance as is; a CSV row becomes
/// a numeric array, a one-field object (<c>image_b64</c>, <c>text</c>) or an object of its columns (see <see cref="CsvLayout"/>).
/// </summary>
internal static class BatchRows
{
    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 16 };

    /// <summary>The field a row's errors are named by.</summary>
    public static string Field(long row) => "rows[" + row.ToString(CultureInfo.InvariantCulture) + "]";

    /// <summary>Parses one JSONL line into an instance; malformed JSON is an <see cref="InputException"/> for the row.</summary>
    public static JsonNode ParseJsonLine(byte[] bytes, string field)
    {
        try
        {
            return JsonNode.Parse(bytes, documentOptions: DocumentOptions) ?? throw new InputException(field, "null is not an instance");
        }
        catch (JsonException e)
        {
            throw new InputException(field, $"not valid JSON at byte {(e.BytePositionInLine ?? 0) + 1}: {FirstSentence(e.Message)}");
        }
    }

    /// <summary>Splits one CSV record into its fields; a malformed record is an <see cref="InputException"/> for the row.</summary>
    public static string[] ParseCsvRecord(byte[] bytes, string field)
    {
        List<string[]> records;
        try
        {
            records = Csv.Read(new StringReader(Encoding.UTF8.GetString(bytes)), field);
        }
        catch (DataFormatException e)
        {
            throw new InputException(field, e.Message.StartsWith(field + ": ", StringComparison.Ordinal) ? e.Message[(field.Length + 2)..] : e.Message);
        }
        return records.Count == 1 ? records[0] : throw new InputException(field, "a bare carriage return splits this record; end lines with LF or CRLF");
    }

    private static string FirstSentence(string message)
    {
        var cut = message.IndexOf(". ", StringComparison.Ordinal);
        return cut > 0 ? message[..cut] : message.TrimEnd('.');
    }
}

/// <summary>
/// How the columns of a CSV upload make an instance, chosen once from the header. In order: numbered columns
/// <c>PREFIX0…PREFIX(n-1)</c> (or 1…n) covering every value of a fixed-size input, e.g. MNIST's <c>p0</c>…<c>p783</c>, are
/// a numeric array; a column named as the input, <c>pixels</c> or <c>values</c> holds the numbers in one cell (space,
/// comma or semicolon separated, or a JSON array); an <c>image_b64</c> or <c>text</c> column is a one-field object; else
/// every column but <c>id</c> goes into an object (numbers as numbers), the form of a tabular row. Columns the instance
/// does not use are passed through to the results.
/// </summary>
internal sealed partial class CsvLayout
{
    private static readonly string[] PackedNames = ["pixels", "values"];
    private static readonly string[] SingleFieldNames = [ImageInstanceDecoder.ImageField, "text"];
    private readonly Kind _kind;
    private readonly int[] _used;

    private CsvLayout(string[] header, Kind kind, int[] used, string description)
    {
        Header = header;
        _kind = kind;
        _used = used;
        Passthrough = Enumerable.Range(0, header.Length).Where(i => !used.Contains(i)).ToArray();
        Description = description;
    }

    private enum Kind
    {
        Vector,
        Packed,
        SingleField,
        Object,
    }

    public string[] Header { get; }

    /// <summary>The indexes of the columns copied into the results unchanged.</summary>
    public int[] Passthrough { get; }

    /// <summary>What the layout reads, for the job's status.</summary>
    public string Description { get; }

    /// <summary>Chooses the layout for a header; a header that cannot be read is a <see cref="UsageException"/>.</summary>
    public static CsvLayout Create(string[] header, InstanceDecoder decoder)
    {
        ArgumentNullException.ThrowIfNull(header);
        ArgumentNullException.ThrowIfNull(decoder);
        if (header.Length == 0 || header.All(string.IsNullOrWhiteSpace)) throw new UsageException("the CSV header is empty");
        var duplicate = header.GroupBy(h => h, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null) throw new UsageException($"the CSV header names column '{duplicate.Key}' twice");

        if (decoder.TakesColumns)
        {
            // A tabular row: the model's columns by name; the others (an id, the true label) are passed through.
            var absent = decoder.Schema.Select(c => c.Name).FirstOrDefault(n => !header.Contains(n, StringComparer.Ordinal));
            if (absent is not null)
                throw new UsageException($"the CSV has no column '{absent}', which the model takes" + (NameSuggester.Closest(absent, header) is { } s ? $"; did you mean '{s}'?" : ""));
            var names = decoder.Schema.Select(c => c.Name).ToHashSet(StringComparer.Ordinal);
            return new CsvLayout(header, Kind.Object, [.. Enumerable.Range(0, header.Length).Where(i => names.Contains(header[i]))], "the model's columns by name, as an object");
        }
        if (decoder.RowLength > 0 && FindNumbered(header, decoder.RowLength) is { } numbered)
            return new CsvLayout(header, Kind.Vector, numbered.Columns, $"{decoder.RowLength} numbered columns {numbered.Name}");
        var packed = Array.FindIndex(header, h => string.Equals(h, decoder.Input.Name, StringComparison.OrdinalIgnoreCase)
            || PackedNames.Contains(h, StringComparer.OrdinalIgnoreCase));
        if (packed >= 0) return new CsvLayout(header, Kind.Packed, [packed], $"the numbers in column '{header[packed]}'");
        var single = Array.FindIndex(header, h => SingleFieldNames.Contains(h, StringComparer.Ordinal));
        if (single >= 0) return new CsvLayout(header, Kind.SingleField, [single], $"column '{header[single]}'");
        var columns = Enumerable.Range(0, header.Length).Where(i => header[i] != "id").ToArray();
        if (columns.Length == 0) throw new UsageException("the CSV has only an 'id' column; nothing to predict from");
        return new CsvLayout(header, Kind.Object, columns, "every column but 'id', as an object");
    }

    /// <summary>The instance one record makes; its problems are <see cref="InputException"/>s naming the row and column.</summary>
    public JsonNode ToInstance(string[] fields, string field)
    {
        if (fields.Length != Header.Length)
            throw new InputException(field, $"{fields.Length} fields where the header has {Header.Length}");
        switch (_kind)
        {
            case Kind.Vector:
            {
                var array = new JsonArray();
                foreach (var c in _used) array.Add(Number(fields[c], $"{field}.{Header[c]}"));
                return array;
            }
            case Kind.Packed:
                return Packed(fields[_used[0]], $"{field}.{Header[_used[0]]}");
            case Kind.SingleField:
                return new JsonObject { [Header[_used[0]]] = fields[_used[0]] };
            default:
            {
                var obj = new JsonObject();
                foreach (var c in _used) obj[Header[c]] = double.TryParse(fields[c], NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d)
                    ? JsonValue.Create(d) : JsonValue.Create(fields[c]);
                return obj;
            }
        }
    }

    private static JsonArray Packed(string cell, string field)
    {
        var text = cell.Trim();
        if (text.StartsWith('['))
        {
            var node = BatchRows.ParseJsonLine(Encoding.UTF8.GetBytes(text), field);
            return node as JsonArray ?? throw new InputException(field, "expected a JSON array of numbers");
        }
        var array = new JsonArray();
        foreach (var token in text.Split([' ', ',', ';', '\t'], StringSplitOptions.RemoveEmptyEntries))
            array.Add(Number(token, $"{field}[{array.Count.ToString(CultureInfo.InvariantCulture)}]"));
        return array.Count > 0 ? array : throw new InputException(field, "the cell is empty; expected numbers separated by spaces");
    }

    private static JsonValue Number(string text, string field)
    {
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d))
            throw new InputException(field, text.Length == 0 ? "empty; expected a number" : $"'{Shorten(text)}' is not a number");
        if (!double.IsFinite(d) || !float.IsFinite((float)d))
            throw new InputException(field, $"{text} is not a finite 32-bit number; NaN and infinities are rejected");
        return JsonValue.Create(d);
    }

    private static string Shorten(string text) => text.Length <= 40 ? text : text[..40] + "…";

    /// <summary>Columns PREFIX0…PREFIX(n-1) or PREFIX1…PREFIXn with one prefix, in index order.</summary>
    private static (string Name, int[] Columns)? FindNumbered(string[] header, int count)
    {
        var groups = header.Select((h, i) => (Match: NumberedColumn().Match(h), Index: i))
            .Where(m => m.Match.Success)
            .GroupBy(m => m.Match.Groups[1].Value, StringComparer.Ordinal);
        foreach (var g in groups)
        {
            var byNumber = new Dictionary<long, int>();
            foreach (var (match, index) in g)
            {
                if (long.TryParse(match.Groups[2].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var n)) byNumber.TryAdd(n, index);
            }
            if (byNumber.Count != count) continue;
            var first = byNumber.Keys.Min();
            if (first is not (0 or 1) || byNumber.Keys.Max() != first + count - 1) continue;
            var columns = Enumerable.Range(0, count).Select(k => byNumber[first + k]).ToArray();
            return ($"{g.Key}{first}…{g.Key}{first + count - 1}", columns);
        }
        return null;
    }

    [GeneratedRegex(@"^(.*?)(\d+)$", RegexOptions.CultureInvariant)]
    private static partial Regex NumberedColumn();
}
