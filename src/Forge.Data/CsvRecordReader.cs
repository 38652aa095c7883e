using System.Diagnostics.CodeAnalysis;
using System.Text;
using Forge.Core;

namespace Forge.Data;

/// <summary>One CSV record and the line of the file it starts on (1-based), for errors that name the line.</summary>
/// <param name="Line">The line the record starts on.</param>
/// <param name="Fields">The record's fields.</param>
public sealed record CsvRecord(long Line, string[] Fields);

/// <summary>
/// Reads CSV records one at a time (RFC 4180, as <see cref="Csv"/> does), keeping the line each starts on, so a large file
/// is never held whole and every error names its line. Blank lines are skipped. With <c>trimFields</c>, spaces around
/// unquoted fields are dropped, which reads files separated by ", " (UCI's Adult) as plain CSV.
/// </summary>
public sealed class CsvRecordReader : IDisposable
{
    private readonly TextReader _reader;
    private readonly bool _trim;
    private readonly StringBuilder _field = new();
    private readonly List<string> _fields = [];
    private long _line = 1;

    /// <summary>Reads records from <paramref name="reader"/>; <paramref name="source"/> names the input in errors.</summary>
    public CsvRecordReader(TextReader reader, string source, bool trimFields = false)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(source);
        _reader = reader;
        Source = source;
        _trim = trimFields;
    }

    /// <summary>Opens a UTF-8 file (a byte-order mark is skipped).</summary>
    public static CsvRecordReader Open(string path, bool trimFields = false)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        return new CsvRecordReader(new StreamReader(path, Encoding.UTF8, detectEncodingFromByteOrderMarks: true, bufferSize: 1 << 16), path, trimFields);
    }

    /// <summary>The file or stream named in errors.</summary>
    public string Source { get; }

    /// <summary>Reads the next record; false at the end of the input. A malformed record is a <see cref="DataFormatException"/> naming its line.</summary>
    public bool TryRead([NotNullWhen(true)] out CsvRecord? record)
    {
        while (true)
        {
            var start = _line;
            _fields.Clear();
            _field.Clear();
            var quoted = false;
            var wasQuoted = false;
            var any = false;
            int c;
            while (true)
            {
                c = _reader.Read();
                if (quoted)
                {
                    if (c < 0) throw new DataFormatException(Source, $"line {start}: a quoted field is not closed before the end of the file");
                    if (c == '"')
                    {
                        if (_reader.Peek() == '"')
                        {
                            _reader.Read();
                            _field.Append('"');
                        }
                        else
                        {
                            quoted = false;
                            if (_trim) SkipSpaces();
                            var next = _reader.Peek();
                            if (next >= 0 && next != ',' && next != '\n' && next != '\r')
                                throw new DataFormatException(Source, $"line {_line}: unexpected '{(char)next}' after a closing quote");
                        }
                    }
                    else
                    {
                        if (c == '\n') _line++;
                        _field.Append((char)c);
                    }
                    continue;
                }
                if (c < 0 || c == '\n' || c == '\r')
                {
                    if (c == '\r' && _reader.Peek() == '\n') _reader.Read();
                    break;
                }
                any = true;
                if (c == ',')
                {
                    _fields.Add(Finish(wasQuoted));
                    wasQuoted = false;
                }
                else if (c == '"')
                {
                    if ((_trim ? _field.ToString().Trim().Length : _field.Length) > 0)
                        throw new DataFormatException(Source, $"line {_line}: a quote inside an unquoted field (quote the whole field and double the quote)");
                    _field.Clear();
                    quoted = true;
                    wasQuoted = true;
                }
                else
                {
                    _field.Append((char)c);
                }
            }
            var blank = !any || (_fields.Count == 0 && !wasQuoted && string.IsNullOrWhiteSpace(_field.ToString()));
            if (c >= 0) _line++;
            if (blank)
            {
                if (c < 0)
                {
                    record = null;
                    return false;
                }
                continue;
            }
            _fields.Add(Finish(wasQuoted));
            record = new CsvRecord(start, [.. _fields]);
            return true;
        }
    }

    /// <summary>Closes the underlying reader.</summary>
    public void Dispose() => _reader.Dispose();

    private string Finish(bool wasQuoted)
    {
        var text = _field.ToString();
        _field.Clear();
        return _trim && !wasQuoted ? text.Trim() : text;
    }

    private void SkipSpaces()
    {
        while (_reader.Peek() is ' ' or '\t') _reader.Read();
    }
}
