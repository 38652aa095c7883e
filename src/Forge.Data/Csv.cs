using System.Text;
using Forge.Core;

namespace Forge.Data;

/// <summary>
/// RFC 4180 CSV: comma-separated fields, fields quoted with '"' may hold commas, line breaks and doubled quotes.
/// Records end at CRLF or LF outside quotes; a final line break is optional.
/// </summary>
public static class Csv
{
    /// <summary>Reads every record of <paramref name="path"/> (UTF-8); a malformed field is a <see cref="DataFormatException"/> naming the file and line.</summary>
    public static List<string[]> ReadFile(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        using var reader = new StreamReader(path, Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        return Read(reader, path);
    }

    /// <summary>Reads every record from <paramref name="reader"/>; <paramref name="source"/> names the input in errors.</summary>
    public static List<string[]> Read(TextReader reader, string source)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(source);
        var records = new List<string[]>();
        var fields = new List<string>();
        var field = new StringBuilder();
        var line = 1;
        var recordLine = 1;
        var quoted = false;
        // Whether anything (even an empty quoted field) was seen in the current record, so a blank last line is no record.
        var started = false;
        while (true)
        {
            var c = reader.Read();
            if (quoted)
            {
                if (c < 0) throw new DataFormatException(source, $"line {recordLine}: a quoted field is not closed before the end of the file");
                if (c == '"')
                {
                    if (reader.Peek() == '"')
                    {
                        reader.Read();
                        field.Append('"');
                    }
                    else
                    {
                        quoted = false;
                        var next = reader.Peek();
                        if (next >= 0 && next != ',' && next != '\n' && next != '\r')
                            throw new DataFormatException(source, $"line {line}: unexpected '{(char)next}' after a closing quote");
                    }
                }
                else
                {
                    if (c == '\n') line++;
                    field.Append((char)c);
                }
                continue;
            }
            if (c < 0 || c == '\n' || c == '\r')
            {
                if (c == '\r' && reader.Peek() == '\n') reader.Read();
                if (started || field.Length > 0)
                {
                    fields.Add(field.ToString());
                    records.Add([.. fields]);
                }
                fields.Clear();
                field.Clear();
                started = false;
                if (c < 0) return records;
                line++;
                recordLine = line;
                continue;
            }
            if (c == ',')
            {
                fields.Add(field.ToString());
                field.Clear();
                started = true;
            }
            else if (c == '"')
            {
                if (field.Length > 0) throw new DataFormatException(source, $"line {line}: a quote inside an unquoted field (quote the whole field and double the quote)");
                quoted = true;
                started = true;
            }
            else
            {
                field.Append((char)c);
                started = true;
            }
        }
    }

    /// <summary>The index of each named column in <paramref name="header"/>; a missing column is a <see cref="DataFormatException"/> naming it.</summary>
    public static int[] Columns(string[] header, string source, params string[] names)
    {
        ArgumentNullException.ThrowIfNull(header);
        ArgumentNullException.ThrowIfNull(names);
        var indexes = new int[names.Length];
        for (var i = 0; i < names.Length; i++)
        {
            indexes[i] = Array.IndexOf(header, names[i]);
            if (indexes[i] < 0)
            {
                var suggestion = NameSuggester.Closest(names[i], header);
                var hint = suggestion is null ? $" (columns: {string.Join(", ", header)})" : $"; did you mean '{suggestion}'?";
                throw new DataFormatException(source, $"no column '{names[i]}' in the header{hint}");
            }
        }
        return indexes;
    }

    /// <summary>Writes one record, quoting only the fields that need it; lines end with CRLF as RFC 4180 says.</summary>
    public static void WriteRecord(TextWriter writer, IEnumerable<string> fields)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(fields);
        var first = true;
        foreach (var f in fields)
        {
            if (!first) writer.Write(',');
            first = false;
            writer.Write(Quote(f));
        }
        writer.Write("\r\n");
    }

    /// <summary>The field as it must appear in a CSV file: quoted, with quotes doubled, when it holds a comma, quote or line break.</summary>
    public static string Quote(string field)
    {
        ArgumentNullException.ThrowIfNull(field);
        return field.AsSpan().IndexOfAny(",\"\r\n") < 0 ? field : "\"" + field.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
    }
}
