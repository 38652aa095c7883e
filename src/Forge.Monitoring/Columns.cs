using System.Collections;
using System.Text.Json.Serialization;
using Forge.Core;

namespace Forge.Monitoring;

/// <summary>What a column holds, which decides how it is profiled and which drift tests apply.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ColumnKind>))]
public enum ColumnKind
{
    /// <summary>Real numbers; NaN marks a missing value.</summary>
    Numeric,

    /// <summary>Labels from a finite set; null marks a missing value.</summary>
    Categorical,

    /// <summary>Free text, profiled by its length and, when given, the mean and spread of its embeddings.</summary>
    Text,
}

/// <summary>What a column is to the model: an input, the model's output, or the true answer.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ColumnRole>))]
public enum ColumnRole
{
    /// <summary>A model input; feature columns decide dataset drift.</summary>
    Feature,

    /// <summary>A model output (a label, a class probability or a regression value); decides prediction drift.</summary>
    Prediction,

    /// <summary>The true label or value; decides target drift.</summary>
    Target,
}

/// <summary>
/// One named column of data handed to monitoring: numbers (NaN = missing), categories (null = missing) or texts
/// (null = missing) with optional embeddings. A typed <c>Table</c> column maps onto one of the factory methods.
/// </summary>
public sealed class DataColumn
{
    private DataColumn(string name, ColumnKind kind, ColumnRole role, int length)
    {
        Name = name;
        Kind = kind;
        Role = role;
        Length = length;
    }

    /// <summary>The column's name, as the model's signature spells it.</summary>
    public string Name { get; }

    /// <summary>Numeric, categorical or text.</summary>
    public ColumnKind Kind { get; }

    /// <summary>Feature, prediction or target.</summary>
    public ColumnRole Role { get; }

    /// <summary>Number of rows, missing ones included.</summary>
    public int Length { get; }

    internal double[]? Numbers { get; private init; }

    internal string?[]? Strings { get; private init; }

    internal float[]?[]? Embeddings { get; private init; }

    /// <summary>The values of a numeric column (NaN = missing); empty for other kinds.</summary>
    public ReadOnlySpan<double> NumericValues => Numbers;

    /// <summary>The values of a categorical or text column (null = missing); empty for numeric columns.</summary>
    public IReadOnlyList<string?> StringValues => Strings ?? [];

    /// <summary>A numeric column; NaN marks a missing value, infinities are refused.</summary>
    public static DataColumn Numeric(string name, double[] values, ColumnRole role = ColumnRole.Feature)
    {
        CheckName(name);
        ArgumentNullException.ThrowIfNull(values);
        for (var i = 0; i < values.Length; i++)
        {
            if (double.IsInfinity(values[i]))
                throw new DataFormatException(name, $"row {i} is {values[i]}; numeric columns take finite numbers (NaN for missing)");
        }
        return new DataColumn(name, ColumnKind.Numeric, role, values.Length) { Numbers = values };
    }

    /// <summary>A numeric column from single-precision values (what models take); NaN marks a missing value.</summary>
    public static DataColumn Numeric(string name, float[] values, ColumnRole role = ColumnRole.Feature)
    {
        ArgumentNullException.ThrowIfNull(values);
        var widened = new double[values.Length];
        for (var i = 0; i < values.Length; i++) widened[i] = values[i];
        return Numeric(name, widened, role);
    }

    /// <summary>A categorical column; null marks a missing value.</summary>
    public static DataColumn Categorical(string name, string?[] values, ColumnRole role = ColumnRole.Feature)
    {
        CheckName(name);
        ArgumentNullException.ThrowIfNull(values);
        return new DataColumn(name, ColumnKind.Categorical, role, values.Length) { Strings = values };
    }

    /// <summary>
    /// A text column; null marks a missing text. <paramref name="embeddings"/>, when given, holds one vector per row
    /// (null where the text is missing), all of one dimension.
    /// </summary>
    public static DataColumn Text(string name, string?[] texts, float[]?[]? embeddings = null, ColumnRole role = ColumnRole.Feature)
    {
        CheckName(name);
        ArgumentNullException.ThrowIfNull(texts);
        if (embeddings is not null)
        {
            if (embeddings.Length != texts.Length)
                throw new DataFormatException(name, $"{embeddings.Length} embeddings for {texts.Length} texts");
            var dimension = -1;
            for (var i = 0; i < embeddings.Length; i++)
            {
                if (embeddings[i] is not { } e) continue;
                if (dimension < 0) dimension = e.Length;
                else if (e.Length != dimension)
                    throw new DataFormatException(name, $"row {i}'s embedding has {e.Length} dimensions, earlier rows {dimension}");
            }
        }
        return new DataColumn(name, ColumnKind.Text, role, texts.Length) { Strings = texts, Embeddings = embeddings };
    }

    private static void CheckName(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
    }

    /// <summary>How many rows are missing.</summary>
    public int MissingCount()
    {
        var missing = 0;
        if (Numbers is { } n)
        {
            foreach (var x in n)
            {
                if (double.IsNaN(x)) missing++;
            }
        }
        else if (Strings is { } s)
        {
            foreach (var x in s)
            {
                if (x is null) missing++;
            }
        }
        return missing;
    }

    /// <summary>Rows [start, start + count) of this column.</summary>
    internal DataColumn Slice(int start, int count) => new(Name, Kind, Role, count)
    {
        Numbers = Numbers?.AsSpan(start, count).ToArray(),
        Strings = Strings?.AsSpan(start, count).ToArray(),
        Embeddings = Embeddings?.AsSpan(start, count).ToArray(),
    };

    /// <summary>The same values under another role (e.g. a label column used as the prediction).</summary>
    public DataColumn WithRole(ColumnRole role) =>
        new(Name, Kind, role, Length) { Numbers = Numbers, Strings = Strings, Embeddings = Embeddings };
}

/// <summary>Columns of equal length with distinct names: a batch of rows for profiling or drift.</summary>
public sealed class ColumnSet : IReadOnlyList<DataColumn>
{
    private readonly DataColumn[] _columns;
    private readonly Dictionary<string, DataColumn> _byName;

    /// <summary>Checks that the columns have distinct names and one length.</summary>
    public ColumnSet(IEnumerable<DataColumn> columns)
    {
        ArgumentNullException.ThrowIfNull(columns);
        _columns = columns.ToArray();
        _byName = new Dictionary<string, DataColumn>(StringComparer.Ordinal);
        foreach (var c in _columns)
        {
            ArgumentNullException.ThrowIfNull(c, nameof(columns));
            if (!_byName.TryAdd(c.Name, c))
                throw new UsageException($"column '{c.Name}' appears twice");
        }
        if (_columns.Length > 0)
        {
            var length = _columns[0].Length;
            var odd = _columns.FirstOrDefault(c => c.Length != length);
            if (odd is not null)
                throw new UsageException($"column '{odd.Name}' has {odd.Length} rows but '{_columns[0].Name}' has {length}");
            RowCount = length;
        }
    }

    /// <summary>Creates a set from the given columns.</summary>
    public ColumnSet(params DataColumn[] columns) : this((IEnumerable<DataColumn>)columns) { }

    /// <summary>Number of rows.</summary>
    public int RowCount { get; }

    /// <summary>Number of columns.</summary>
    public int Count => _columns.Length;

    /// <summary>The column at <paramref name="index"/>.</summary>
    public DataColumn this[int index] => _columns[index];

    /// <summary>The column called <paramref name="name"/>; an unknown name fails with the closest known one.</summary>
    public DataColumn this[string name] =>
        _byName.TryGetValue(name, out var c) ? c : throw new NotFoundException("column", name, _byName.Keys);

    /// <summary>Whether a column of that name exists.</summary>
    public bool TryGetColumn(string name, out DataColumn column) => _byName.TryGetValue(name, out column!);

    /// <summary>Rows [start, start + count) of every column.</summary>
    internal ColumnSet Slice(int start, int count) =>
        start == 0 && count == RowCount ? this : new ColumnSet(_columns.Select(c => c.Slice(start, count)));

    /// <summary>The column names, in order.</summary>
    public IEnumerable<string> Names => _columns.Select(c => c.Name);

    /// <inheritdoc />
    public IEnumerator<DataColumn> GetEnumerator() => ((IEnumerable<DataColumn>)_columns).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
