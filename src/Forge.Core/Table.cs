using System.Globalization;

namespace Forge.Core;

/// <summary>The element type of a <see cref="Column"/>.</summary>
public enum ColumnType
{
    /// <summary>32-bit floating point numbers.</summary>
    Float32,

    /// <summary>64-bit floating point numbers.</summary>
    Float64,

    /// <summary>32-bit integers.</summary>
    Int32,

    /// <summary>64-bit integers.</summary>
    Int64,

    /// <summary>True or false.</summary>
    Boolean,

    /// <summary>Text: a free text or a category.</summary>
    String,

    /// <summary>A fixed-shape block of 32-bit floats per row, e.g. an image.</summary>
    Tensor,
}

/// <summary>A column's name and type; a <see cref="ColumnType.Tensor"/> column also has the shape of each of its cells.</summary>
/// <param name="Name">The column's name, unique within its table.</param>
/// <param name="Type">The element type.</param>
public sealed record ColumnSpec(string Name, ColumnType Type)
{
    /// <summary>The shape of one cell of a tensor column, e.g. [1, 28, 28]; empty for scalar columns.</summary>
    public IReadOnlyList<int> CellShape { get; init; } = [];

    /// <summary>Values in one cell: the product of <see cref="CellShape"/> (1 for scalar columns).</summary>
    public int CellLength => CellShape.Aggregate(1, (a, d) => a * d);

    /// <summary>Equal when name, type and cell shape are equal.</summary>
    public bool Equals(ColumnSpec? other) =>
        other is not null && Name == other.Name && Type == other.Type && CellShape.SequenceEqual(other.CellShape);

    /// <summary>A hash consistent with <see cref="Equals(ColumnSpec?)"/>.</summary>
    public override int GetHashCode() => HashCode.Combine(Name, Type, CellLength);

    /// <summary>"name (type)" or "name (tensor [1, 28, 28])".</summary>
    public override string ToString() =>
        Type == ColumnType.Tensor ? $"{Name} (tensor [{string.Join(", ", CellShape)}])" : $"{Name} ({Type.ToString().ToLowerInvariant()})";
}

/// <summary>The ordered columns of a table; names are unique (case-sensitive).</summary>
public sealed class TableSchema : IReadOnlyList<ColumnSpec>, IEquatable<TableSchema>
{
    private readonly ColumnSpec[] _columns;
    private readonly Dictionary<string, int> _index;

    /// <summary>Creates a schema; a repeated or empty name is refused.</summary>
    public TableSchema(IEnumerable<ColumnSpec> columns)
    {
        ArgumentNullException.ThrowIfNull(columns);
        _columns = [.. columns];
        _index = new Dictionary<string, int>(_columns.Length, StringComparer.Ordinal);
        for (var i = 0; i < _columns.Length; i++)
        {
            var c = _columns[i] ?? throw new ArgumentException($"column {i} is null", nameof(columns));
            if (string.IsNullOrEmpty(c.Name)) throw new UsageException($"column {i} has no name");
            if (c.Type == ColumnType.Tensor && (c.CellShape.Count == 0 || c.CellShape.Any(d => d < 1)))
                throw new UsageException($"tensor column '{c.Name}' needs a cell shape of positive sizes");
            if (c.Type != ColumnType.Tensor && c.CellShape.Count > 0)
                throw new UsageException($"column '{c.Name}' is {c.Type}; only tensor columns have a cell shape");
            if (!_index.TryAdd(c.Name, i)) throw new UsageException($"column '{c.Name}' appears twice");
        }
    }

    /// <summary>The number of columns.</summary>
    public int Count => _columns.Length;

    /// <summary>The column at <paramref name="index"/>.</summary>
    public ColumnSpec this[int index] => _columns[index];

    /// <summary>The column named <paramref name="name"/>; <see cref="NotFoundException"/> with the closest name otherwise.</summary>
    public ColumnSpec this[string name] => _columns[IndexOf(name)];

    /// <summary>The position of the column named <paramref name="name"/>; <see cref="NotFoundException"/> with the closest name otherwise.</summary>
    public int IndexOf(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return _index.TryGetValue(name, out var i) ? i : throw new NotFoundException("column", name, _columns.Select(c => c.Name));
    }

    /// <summary>Whether a column of that name exists.</summary>
    public bool Contains(string name) => _index.ContainsKey(name);

    /// <inheritdoc />
    public IEnumerator<ColumnSpec> GetEnumerator() => ((IEnumerable<ColumnSpec>)_columns).GetEnumerator();

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>Equal when the columns are equal, in order.</summary>
    public bool Equals(TableSchema? other) => other is not null && _columns.SequenceEqual(other._columns);

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as TableSchema);

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (var c in _columns) hash.Add(c);
        return hash.ToHashCode();
    }

    /// <summary>The columns, comma-separated.</summary>
    public override string ToString() => string.Join(", ", _columns.Select(c => c.ToString()));
}

/// <summary>
/// One typed column of a <see cref="Table"/>. Values live in one array; <see cref="Slice"/> is a view over it (no copy),
/// <see cref="Take"/> copies the rows asked for. A missing value is marked in a mask (strings may also be null).
/// </summary>
public abstract class Column
{
    private protected Column(ColumnSpec spec, int length, ReadOnlyMemory<bool> missing)
    {
        Spec = spec;
        Length = length;
        if (!missing.IsEmpty && missing.Length != length)
            throw new ArgumentException($"column '{spec.Name}': the missing mask has {missing.Length} entries for {length} rows", nameof(missing));
        Missing = missing;
    }

    /// <summary>The column's name, type and cell shape.</summary>
    public ColumnSpec Spec { get; }

    /// <summary>The column's name.</summary>
    public string Name => Spec.Name;

    /// <summary>The element type.</summary>
    public ColumnType Type => Spec.Type;

    /// <summary>The number of rows.</summary>
    public int Length { get; }

    /// <summary>One flag per row, true where the value is missing; empty when no value is.</summary>
    public ReadOnlyMemory<bool> Missing { get; }

    /// <summary>Whether the value in <paramref name="row"/> is missing.</summary>
    public virtual bool IsMissing(int row)
    {
        CheckRow(row);
        return !Missing.IsEmpty && Missing.Span[row];
    }

    /// <summary>How many values are missing.</summary>
    public int MissingCount
    {
        get
        {
            var n = 0;
            for (var i = 0; i < Length; i++) if (IsMissing(i)) n++;
            return n;
        }
    }

    /// <summary>The value of one row, boxed (null when missing; a float[] for a tensor cell), for code that handles any type.</summary>
    public abstract object? GetValue(int row);

    /// <summary>The rows <paramref name="start"/> to <paramref name="start"/> + <paramref name="count"/> − 1, sharing this column's storage.</summary>
    public abstract Column Slice(int start, int count);

    /// <summary>A copy holding the given rows in the given order (a row may repeat).</summary>
    public abstract Column Take(ReadOnlySpan<int> rows);

    /// <summary>A copy of this column's rows followed by each other column's; all must have this column's spec.</summary>
    internal abstract Column Append(IReadOnlyList<Column> others);

    /// <summary>A float32 column.</summary>
    public static ScalarColumn<float> Float32(string name, float[] values, bool[]? missing = null) => new(new(name, ColumnType.Float32), values, missing);

    /// <summary>A float64 column.</summary>
    public static ScalarColumn<double> Float64(string name, double[] values, bool[]? missing = null) => new(new(name, ColumnType.Float64), values, missing);

    /// <summary>An int32 column.</summary>
    public static ScalarColumn<int> Int32(string name, int[] values, bool[]? missing = null) => new(new(name, ColumnType.Int32), values, missing);

    /// <summary>An int64 column.</summary>
    public static ScalarColumn<long> Int64(string name, long[] values, bool[]? missing = null) => new(new(name, ColumnType.Int64), values, missing);

    /// <summary>A boolean column.</summary>
    public static ScalarColumn<bool> Boolean(string name, bool[] values, bool[]? missing = null) => new(new(name, ColumnType.Boolean), values, missing);

    /// <summary>A string column; a null entry is a missing value.</summary>
    public static StringColumn String(string name, string?[] values) => new(new(name, ColumnType.String), values);

    /// <summary>A tensor column: <paramref name="values"/> holds every cell in row-major order, one cell after another.</summary>
    public static TensorColumn Tensor(string name, IReadOnlyList<int> cellShape, float[] values, bool[]? missing = null) =>
        new(new(name, ColumnType.Tensor) { CellShape = [.. cellShape] }, values, missing);

    /// <summary>A tensor column from one array per row, each of the cell's length.</summary>
    public static TensorColumn Tensor(string name, IReadOnlyList<int> cellShape, IReadOnlyList<float[]> rows)
    {
        ArgumentNullException.ThrowIfNull(cellShape);
        ArgumentNullException.ThrowIfNull(rows);
        var spec = new ColumnSpec(name, ColumnType.Tensor) { CellShape = [.. cellShape] };
        var per = spec.CellLength;
        var flat = new float[(long)rows.Count * per];
        for (var i = 0; i < rows.Count; i++)
        {
            if (rows[i].Length != per)
                throw new UsageException($"column '{name}' row {i} has {rows[i].Length} values; its cells hold {per} ([{string.Join(", ", cellShape)}])");
            rows[i].CopyTo(flat, (long)i * per);
        }
        return new TensorColumn(spec, flat, null);
    }

    private protected void CheckRow(int row)
    {
        if ((uint)row >= (uint)Length) throw new ArgumentOutOfRangeException(nameof(row), row, $"column '{Name}' has {Length} rows");
    }

    private protected void CheckRange(int start, int count)
    {
        if (start < 0 || count < 0 || start > Length - count)
            throw new ArgumentOutOfRangeException(nameof(start), string.Create(CultureInfo.InvariantCulture, $"rows {start}..{start + count} are outside column '{Name}' of {Length} rows"));
    }

    private protected ReadOnlyMemory<bool> SliceMissing(int start, int count) => Missing.IsEmpty ? default : Missing.Slice(start, count);

    private protected bool[]? TakeMissing(ReadOnlySpan<int> rows)
    {
        if (Missing.IsEmpty) return null;
        var span = Missing.Span;
        var result = new bool[rows.Length];
        for (var i = 0; i < rows.Length; i++)
        {
            CheckRow(rows[i]);
            result[i] = span[rows[i]];
        }
        return result;
    }

    private protected bool[]? AppendMissing(IReadOnlyList<Column> others, int total)
    {
        if (Missing.IsEmpty && others.All(o => o.Missing.IsEmpty)) return null;
        var result = new bool[total];
        var offset = 0;
        foreach (var part in others.Prepend(this))
        {
            if (!part.Missing.IsEmpty) part.Missing.Span.CopyTo(result.AsSpan(offset));
            offset += part.Length;
        }
        return result;
    }

    private protected T CheckSame<T>(Column other) where T : Column =>
        other is T same && same.Spec.Equals(Spec) ? same : throw new UsageException($"column '{Name}' ({Spec}) cannot be joined with column '{other.Name}' ({other.Spec})");
}

/// <summary>A column of numbers or booleans.</summary>
/// <typeparam name="T">float, double, int, long or bool.</typeparam>
public sealed class ScalarColumn<T> : Column where T : struct
{
    internal ScalarColumn(ColumnSpec spec, ReadOnlyMemory<T> values, ReadOnlyMemory<bool> missing)
        : base(spec, values.Length, missing) => Values = values;

    internal ScalarColumn(ColumnSpec spec, T[] values, bool[]? missing)
        : this(spec, values ?? throw new ArgumentNullException(nameof(values)), missing is null ? default : (ReadOnlyMemory<bool>)missing) { }

    /// <summary>The values; where <see cref="Column.IsMissing"/> holds, the value is meaningless.</summary>
    public ReadOnlyMemory<T> Values { get; }

    /// <summary>The value of one row.</summary>
    public T this[int row]
    {
        get
        {
            CheckRow(row);
            return Values.Span[row];
        }
    }

    /// <inheritdoc />
    public override object? GetValue(int row) => IsMissing(row) ? null : this[row];

    /// <inheritdoc />
    public override Column Slice(int start, int count)
    {
        CheckRange(start, count);
        return new ScalarColumn<T>(Spec, Values.Slice(start, count), SliceMissing(start, count));
    }

    /// <inheritdoc />
    public override Column Take(ReadOnlySpan<int> rows)
    {
        var span = Values.Span;
        var result = new T[rows.Length];
        for (var i = 0; i < rows.Length; i++)
        {
            CheckRow(rows[i]);
            result[i] = span[rows[i]];
        }
        return new ScalarColumn<T>(Spec, result, TakeMissing(rows));
    }

    internal override Column Append(IReadOnlyList<Column> others)
    {
        var parts = others.Select(CheckSame<ScalarColumn<T>>).ToArray();
        var result = new T[Length + parts.Sum(p => p.Length)];
        Values.Span.CopyTo(result);
        var offset = Length;
        foreach (var p in parts)
        {
            p.Values.Span.CopyTo(result.AsSpan(offset));
            offset += p.Length;
        }
        return new ScalarColumn<T>(Spec, result, AppendMissing(others, result.Length));
    }
}

/// <summary>A column of texts or categories; null is a missing value.</summary>
public sealed class StringColumn : Column
{
    internal StringColumn(ColumnSpec spec, ReadOnlyMemory<string?> values) : base(spec, values.Length, default) => Values = values;

    /// <summary>The values, null where missing.</summary>
    public ReadOnlyMemory<string?> Values { get; }

    /// <summary>The value of one row (null when missing).</summary>
    public string? this[int row]
    {
        get
        {
            CheckRow(row);
            return Values.Span[row];
        }
    }

    /// <inheritdoc />
    public override bool IsMissing(int row) => this[row] is null;

    /// <inheritdoc />
    public override object? GetValue(int row) => this[row];

    /// <inheritdoc />
    public override Column Slice(int start, int count)
    {
        CheckRange(start, count);
        return new StringColumn(Spec, Values.Slice(start, count));
    }

    /// <inheritdoc />
    public override Column Take(ReadOnlySpan<int> rows)
    {
        var result = new string?[rows.Length];
        for (var i = 0; i < rows.Length; i++) result[i] = this[rows[i]];
        return new StringColumn(Spec, result);
    }

    internal override Column Append(IReadOnlyList<Column> others)
    {
        var parts = others.Select(CheckSame<StringColumn>).ToArray();
        var result = new string?[Length + parts.Sum(p => p.Length)];
        Values.Span.CopyTo(result);
        var offset = Length;
        foreach (var p in parts)
        {
            p.Values.Span.CopyTo(result.AsSpan(offset));
            offset += p.Length;
        }
        return new StringColumn(Spec, result);
    }
}

/// <summary>A column whose every cell is a fixed-shape block of floats (an image, a window of a time series), stored row after row.</summary>
public sealed class TensorColumn : Column
{
    internal TensorColumn(ColumnSpec spec, ReadOnlyMemory<float> values, ReadOnlyMemory<bool> missing)
        : base(spec, CountRows(spec, values.Length), missing) => Values = values;

    internal TensorColumn(ColumnSpec spec, float[] values, bool[]? missing)
        : this(spec, values ?? throw new ArgumentNullException(nameof(values)), missing is null ? default : (ReadOnlyMemory<bool>)missing) { }

    /// <summary>Every cell's values, row-major, one cell after another: row i is <c>Values[i·CellLength .. (i+1)·CellLength]</c>.</summary>
    public ReadOnlyMemory<float> Values { get; }

    /// <summary>Values in one cell.</summary>
    public int CellLength => Spec.CellLength;

    /// <summary>The cell of one row.</summary>
    public ReadOnlySpan<float> this[int row]
    {
        get
        {
            CheckRow(row);
            return Values.Span.Slice(row * CellLength, CellLength);
        }
    }

    /// <inheritdoc />
    public override object? GetValue(int row) => IsMissing(row) ? null : this[row].ToArray();

    /// <inheritdoc />
    public override Column Slice(int start, int count)
    {
        CheckRange(start, count);
        return new TensorColumn(Spec, Values.Slice(start * CellLength, count * CellLength), SliceMissing(start, count));
    }

    /// <inheritdoc />
    public override Column Take(ReadOnlySpan<int> rows)
    {
        var result = new float[(long)rows.Length * CellLength];
        for (var i = 0; i < rows.Length; i++) this[rows[i]].CopyTo(result.AsSpan(i * CellLength));
        return new TensorColumn(Spec, result, TakeMissing(rows));
    }

    internal override Column Append(IReadOnlyList<Column> others)
    {
        var parts = others.Select(CheckSame<TensorColumn>).ToArray();
        var result = new float[Values.Length + parts.Sum(p => (long)p.Values.Length)];
        Values.Span.CopyTo(result);
        var offset = Values.Length;
        foreach (var p in parts)
        {
            p.Values.Span.CopyTo(result.AsSpan(offset));
            offset += p.Values.Length;
        }
        return new TensorColumn(Spec, result, AppendMissing(others, Length + parts.Sum(p => p.Length)));
    }

    private static int CountRows(ColumnSpec spec, int values)
    {
        var per = spec.CellLength;
        if (values % per != 0) throw new UsageException($"tensor column '{spec.Name}' has {values} values, not a whole number of {per}-value cells");
        return values / per;
    }
}

/// <summary>
/// A batch of rows with typed columns: what models take (<see cref="IPredictor.Predict"/>), what the server batches and
/// what explainers and drift profiles read. Immutable; <see cref="Slice"/> shares storage, <see cref="Take"/> and
/// <see cref="Concat"/> copy.
/// </summary>
public sealed class Table
{
    private readonly Column[] _columns;

    /// <summary>Creates a table from columns of equal length and distinct names.</summary>
    public Table(IEnumerable<Column> columns)
    {
        ArgumentNullException.ThrowIfNull(columns);
        _columns = [.. columns];
        Schema = new TableSchema(_columns.Select(c => c.Spec));
        RowCount = _columns.Length == 0 ? 0 : _columns[0].Length;
        foreach (var c in _columns)
        {
            if (c.Length != RowCount) throw new UsageException($"column '{c.Name}' has {c.Length} rows; column '{_columns[0].Name}' has {RowCount}");
        }
    }

    /// <summary>Creates a table from columns of equal length and distinct names.</summary>
    public Table(params Column[] columns) : this((IEnumerable<Column>)columns) { }

    /// <summary>The columns' names and types.</summary>
    public TableSchema Schema { get; }

    /// <summary>The columns, in schema order.</summary>
    public IReadOnlyList<Column> Columns => _columns;

    /// <summary>The number of rows.</summary>
    public int RowCount { get; }

    /// <summary>The column named <paramref name="name"/>; <see cref="NotFoundException"/> with the closest name otherwise.</summary>
    public Column this[string name] => _columns[Schema.IndexOf(name)];

    /// <summary>The column named <paramref name="name"/> as <typeparamref name="T"/>; a clear error when it has another type.</summary>
    public T Get<T>(string name) where T : Column =>
        this[name] as T ?? throw new UsageException($"column '{name}' is {this[name].Spec}, not {typeof(T).Name}");

    /// <summary>Rows <paramref name="start"/> to <paramref name="start"/> + <paramref name="count"/> − 1, sharing storage with this table.</summary>
    public Table Slice(int start, int count) => new(_columns.Select(c => c.Slice(start, count)));

    /// <summary>A copy holding the given rows in the given order.</summary>
    public Table Take(ReadOnlySpan<int> rows)
    {
        var taken = new Column[_columns.Length];
        for (var i = 0; i < taken.Length; i++) taken[i] = _columns[i].Take(rows);
        return new Table(taken);
    }

    /// <summary>The rows of every table, in order; all must have the same schema. One table is returned as it is.</summary>
    public static Table Concat(IReadOnlyList<Table> tables)
    {
        ArgumentNullException.ThrowIfNull(tables);
        if (tables.Count == 0) throw new ArgumentException("no tables to join", nameof(tables));
        if (tables.Count == 1) return tables[0];
        var first = tables[0];
        for (var t = 1; t < tables.Count; t++)
        {
            if (!tables[t].Schema.Equals(first.Schema))
                throw new UsageException($"table {t} has columns {tables[t].Schema}; table 0 has {first.Schema}");
        }
        return new Table(first._columns.Select((c, i) => c.Append([.. tables.Skip(1).Select(t => t._columns[i])])));
    }
}
