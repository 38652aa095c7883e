using System.Globalization;
using Forge.Core;
using Forge.Data;

namespace Forge.Tabular;

/// <summary>How a CSV file is read into a table of features and a label.</summary>
public sealed record TabularCsvOptions
{
    /// <summary>The label column; null reads features only (data to predict).</summary>
    public string? Label { get; init; }

    /// <summary>The column names of a file without a header line; null when the first line is the header.</summary>
    public IReadOnlyList<string>? ColumnNames { get; init; }

    /// <summary>Drop spaces around unquoted fields (default true), which reads ", "-separated files such as UCI's Adult.</summary>
    public bool TrimFields { get; init; } = true;

    /// <summary>Fields that mean "no value" (default: empty and "?").</summary>
    public IReadOnlyList<string> MissingValues { get; init; } = ["", "?"];

    /// <summary>Kinds forced on columns; the others are inferred (numeric when every present value is a finite number).</summary>
    public IReadOnlyDictionary<string, FeatureKind> Types { get; init; } = new Dictionary<string, FeatureKind>();

    /// <summary>Columns that are not features (identifiers, leaks such as parts of the label).</summary>
    public IReadOnlyList<string> Exclude { get; init; } = [];

    /// <summary>A categorical column with more distinct values than this is refused: it is an identifier, a date or free text, not a category (default 1000).</summary>
    public int MaxCategories { get; init; } = 1000;
}

/// <summary>A table read from a file: its feature columns, the raw label of each row, and the line each row came from.</summary>
public sealed class TabularData
{
    internal TabularData(string source, Table features, IReadOnlyList<FeatureInfo> schema, string? labelName, string[]? labels, long[] lines, string[] header, string[][] records)
    {
        Source = source;
        Features = features;
        Schema = schema;
        LabelName = labelName;
        Labels = labels;
        Lines = lines;
        Header = header;
        Records = records;
    }

    /// <summary>The file the rows came from.</summary>
    public string Source { get; }

    /// <summary>One column per feature: float32 (numeric) or string (categorical), with missing values marked.</summary>
    public Table Features { get; }

    /// <summary>Each feature's kind, categories and range, as read.</summary>
    public IReadOnlyList<FeatureInfo> Schema { get; }

    /// <summary>The label column's name, when one was read.</summary>
    public string? LabelName { get; }

    /// <summary>The label of each row, as written in the file; null when no label was read.</summary>
    public IReadOnlyList<string>? Labels { get; }

    /// <summary>The line of the file each row starts on, for errors.</summary>
    public IReadOnlyList<long> Lines { get; }

    /// <summary>The file's column names.</summary>
    public IReadOnlyList<string> Header { get; }

    /// <summary>The raw fields of every row, for writing results beside the input.</summary>
    public IReadOnlyList<string[]> Records { get; }

    /// <summary>The number of rows.</summary>
    public int RowCount => Features.RowCount;

    /// <summary>The given rows, in the given order.</summary>
    public TabularData Take(IReadOnlyList<int> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var index = rows.ToArray();
        return new TabularData(Source, Features.Take(index), Schema, LabelName, Labels is null ? null : [.. index.Select(i => Labels[i])],
            [.. index.Select(i => Lines[i])], [.. Header], [.. index.Select(i => Records[i])]);
    }
}

/// <summary>Reads CSV files into <see cref="TabularData"/>: types inferred or given, missing values marked, every error naming file, line and column.</summary>
public static class TabularCsv
{
    /// <summary>Reads a training (or evaluation) file, inferring each feature's kind unless <see cref="TabularCsvOptions.Types"/> fixes it.</summary>
    public static TabularData Read(string path, TabularCsvOptions options)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentNullException.ThrowIfNull(options);
        var (header, records, lines) = ReadRecords(path, options);
        var labelIndex = LabelIndex(path, header, options.Label);
        foreach (var name in options.Exclude.Concat(options.Types.Keys))
        {
            if (!header.Contains(name, StringComparer.Ordinal))
                throw new DataFormatException(path, $"no column '{name}' (named by an option) in the header{Hint(name, header)}");
        }
        var missing = new HashSet<string>(options.MissingValues, StringComparer.Ordinal);
        var features = new List<FeatureInfo>();
        var columns = new List<Column>();
        for (var c = 0; c < header.Length; c++)
        {
            if (c == labelIndex || options.Exclude.Contains(header[c], StringComparer.Ordinal)) continue;
            var kind = options.Types.TryGetValue(header[c], out var forced) ? forced : Infer(records, c, missing);
            var (info, column) = Build(path, header[c], kind, records, lines, c, missing, options.MaxCategories);
            features.Add(info);
            columns.Add(column);
        }
        if (features.Count == 0) throw new DataFormatException(path, "no feature columns: every column is the label or excluded");
        string[]? labels = null;
        if (labelIndex >= 0)
        {
            labels = new string[records.Length];
            for (var r = 0; r < records.Length; r++)
            {
                var v = records[r][labelIndex];
                if (missing.Contains(v)) throw new DataFormatException(path, $"line {lines[r]}, column '{header[labelIndex]}': the label is missing");
                labels[r] = v;
            }
        }
        return new TabularData(path, new Table(columns), features, labelIndex >= 0 ? header[labelIndex] : null, labels, lines, header, records);
    }

    /// <summary>
    /// Reads a file for a trained model: each of <paramref name="features"/> must be a column (other columns are kept
    /// for the output but not read), numeric ones must hold numbers; the label is read when named.
    /// </summary>
    public static TabularData ReadFor(string path, IReadOnlyList<FeatureInfo> features, TabularCsvOptions options)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(options);
        var (header, records, lines) = ReadRecords(path, options);
        var labelIndex = LabelIndex(path, header, options.Label);
        var missing = new HashSet<string>(options.MissingValues, StringComparer.Ordinal);
        var columns = new List<Column>();
        foreach (var f in features)
        {
            var c = Array.IndexOf(header, f.Name);
            if (c < 0) throw new DataFormatException(path, $"no column '{f.Name}', which the model takes, in the header{Hint(f.Name, header)}");
            columns.Add(Build(path, f.Name, f.Kind, records, lines, c, missing, int.MaxValue).Column);
        }
        var labels = labelIndex < 0 ? null : records.Select((r, i) => missing.Contains(r[labelIndex])
            ? throw new DataFormatException(path, $"line {lines[i]}, column '{header[labelIndex]}': the label is missing")
            : r[labelIndex]).ToArray();
        return new TabularData(path, new Table(columns), features, labelIndex >= 0 ? header[labelIndex] : null, labels, lines, header, records);
    }

    private static (string[] Header, string[][] Records, long[] Lines) ReadRecords(string path, TabularCsvOptions options)
    {
        if (!File.Exists(path)) throw new DataFormatException(path, "no such file");
        using var reader = CsvRecordReader.Open(path, options.TrimFields);
        string[] header;
        var records = new List<string[]>();
        var lines = new List<long>();
        if (options.ColumnNames is { } names)
        {
            header = [.. names];
        }
        else
        {
            if (!reader.TryRead(out var first)) throw new DataFormatException(path, "empty file: expected a header line and rows");
            header = first.Fields;
        }
        var duplicate = header.GroupBy(h => h, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null) throw new DataFormatException(path, $"the header names column '{duplicate.Key}' twice");
        var blank = Array.FindIndex(header, string.IsNullOrWhiteSpace);
        if (blank >= 0) throw new DataFormatException(path, $"column {blank + 1} of the header has no name");
        while (reader.TryRead(out var record))
        {
            if (record.Fields.Length != header.Length)
            {
                throw new DataFormatException(path, string.Create(CultureInfo.InvariantCulture,
                    $"line {record.Line}: {record.Fields.Length} fields where the header has {header.Length} ({string.Join(", ", header.Take(6))}{(header.Length > 6 ? ", …" : "")})"));
            }
            records.Add(record.Fields);
            lines.Add(record.Line);
        }
        if (records.Count == 0)
            throw new DataFormatException(path, options.ColumnNames is null ? "no rows after the header line" : "empty file: no rows");
        return (header, [.. records], [.. lines]);
    }

    private static int LabelIndex(string path, string[] header, string? label)
    {
        if (label is null) return -1;
        var i = Array.IndexOf(header, label);
        return i >= 0 ? i : throw new DataFormatException(path, $"no label column '{label}' in the header{Hint(label, header)}");
    }

    private static string Hint(string name, string[] header) => NameSuggester.Closest(name, header) is { } s
        ? $"; did you mean '{s}'?"
        : $" (columns: {string.Join(", ", header.Take(20))}{(header.Length > 20 ? ", …" : "")})";

    private static FeatureKind Infer(string[][] records, int c, HashSet<string> missing)
    {
        foreach (var r in records)
        {
            var v = r[c];
            if (!missing.Contains(v) && !TryNumber(v, out _)) return FeatureKind.Categorical;
        }
        return FeatureKind.Numeric;
    }

    internal static bool TryNumber(string text, out double value) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out value) && double.IsFinite(value);

    private static (FeatureInfo Info, Column Column) Build(string path, string name, FeatureKind kind, string[][] records, long[] lines, int c,
        HashSet<string> missing, int maxCategories)
    {
        var n = records.Length;
        var absent = 0;
        if (kind == FeatureKind.Numeric)
        {
            var values = new float[n];
            var mask = new bool[n];
            double min = double.PositiveInfinity, max = double.NegativeInfinity;
            for (var r = 0; r < n; r++)
            {
                var v = records[r][c];
                if (missing.Contains(v))
                {
                    mask[r] = true;
                    absent++;
                    continue;
                }
                if (!TryNumber(v, out var d))
                    throw new DataFormatException(path, $"line {lines[r]}, column '{name}': '{Shorten(v)}' is not a number, and the column is numeric");
                values[r] = (float)d;
                min = Math.Min(min, values[r]);
                max = Math.Max(max, values[r]);
            }
            var present = absent < n;
            return (new FeatureInfo(name, kind, [], present ? min : null, present ? max : null, absent), Column.Float32(name, values, absent > 0 ? mask : null));
        }
        var texts = new string?[n];
        var distinct = new HashSet<string>(StringComparer.Ordinal);
        for (var r = 0; r < n; r++)
        {
            var v = records[r][c];
            if (missing.Contains(v))
            {
                absent++;
                continue;
            }
            texts[r] = v;
            distinct.Add(v);
        }
        if (distinct.Count > maxCategories)
        {
            throw new DataFormatException(path, string.Create(CultureInfo.InvariantCulture,
                $"column '{name}' has {distinct.Count:N0} distinct values, more than the {maxCategories:N0} categories allowed: it looks like an identifier, a date or free text; exclude it or derive a feature from it"));
        }
        return (new FeatureInfo(name, kind, [.. distinct.Order(StringComparer.Ordinal)], null, null, absent), Column.String(name, texts));
    }

    private static string Shorten(string text) => text.Length <= 40 ? text : text[..40] + "…";
}
