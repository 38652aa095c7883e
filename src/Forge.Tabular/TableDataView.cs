using Forge.Core;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Forge.Tabular;

/// <summary>
/// A <see cref="Table"/> as an ML.NET <see cref="IDataView"/>: each feature becomes a column named <c>f0</c>, <c>f1</c>, …
/// (so no user column can collide with ML.NET's own names), numeric features as Single with NaN for missing,
/// categorical ones as text (empty for missing), and an optional label column. Values are converted once, up front.
/// </summary>
internal sealed class TableDataView : IDataView
{
    public const string LabelColumn = "__label";

    private readonly Array[] _getters;
    private readonly int _rows;

    private TableDataView(DataViewSchema schema, Array[] getters, int rows)
    {
        Schema = schema;
        _getters = getters;
        _rows = rows;
    }

    public static string ViewName(int feature) => "f" + feature.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The schema of the features alone, as a saved model expects its input.</summary>
    public static DataViewSchema FeatureSchema(IReadOnlyList<FeatureInfo> features)
    {
        var builder = new DataViewSchema.Builder();
        for (var i = 0; i < features.Count; i++)
            builder.AddColumn(ViewName(i), features[i].Kind == FeatureKind.Numeric ? NumberDataViewType.Single : TextDataViewType.Instance);
        return builder.ToSchema();
    }

    /// <summary>
    /// A view of <paramref name="batch"/>'s feature columns (matched by name; other columns are ignored). A numeric
    /// feature takes any numeric or boolean column; a categorical one takes strings, or numbers written invariantly.
    /// </summary>
    public static TableDataView Create(Table batch, IReadOnlyList<FeatureInfo> features, Label? label = null)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var builder = new DataViewSchema.Builder();
        var getters = new List<Array>();
        for (var i = 0; i < features.Count; i++)
        {
            var f = features[i];
            if (!batch.Schema.Contains(f.Name))
                throw new UsageException($"the batch has no column '{f.Name}' (it has {batch.Schema}); the model takes {string.Join(", ", features.Select(x => x.Name))}");
            var column = batch[f.Name];
            if (f.Kind == FeatureKind.Numeric)
            {
                var values = NumericValues(column);
                builder.AddColumn(ViewName(i), NumberDataViewType.Single);
                getters.Add(values);
            }
            else
            {
                builder.AddColumn(ViewName(i), TextDataViewType.Instance);
                getters.Add(TextValues(column));
            }
        }
        if (label is not null)
        {
            builder.AddColumn(LabelColumn, label.Type);
            getters.Add(label.Values);
        }
        return new TableDataView(builder.ToSchema(), [.. getters], batch.RowCount);
    }

    /// <summary>A label column: booleans (binary), keys 1…K (multiclass) or numbers (regression).</summary>
    internal sealed record Label(DataViewType Type, Array Values)
    {
        public static Label Binary(bool[] values) => new(BooleanDataViewType.Instance, values);

        public static Label Classes(uint[] keys, int classes) => new(new KeyDataViewType(typeof(uint), classes), keys);

        public static Label Numbers(float[] values) => new(NumberDataViewType.Single, values);
    }

    internal static float[] NumericValues(Column column)
    {
        var result = new float[column.Length];
        switch (column)
        {
            case ScalarColumn<float> c:
                c.Values.Span.CopyTo(result);
                break;
            case ScalarColumn<double> c:
                for (var r = 0; r < result.Length; r++) result[r] = (float)c[r];
                break;
            case ScalarColumn<int> c:
                for (var r = 0; r < result.Length; r++) result[r] = c[r];
                break;
            case ScalarColumn<long> c:
                for (var r = 0; r < result.Length; r++) result[r] = c[r];
                break;
            case ScalarColumn<bool> c:
                for (var r = 0; r < result.Length; r++) result[r] = c[r] ? 1 : 0;
                break;
            default:
                throw new UsageException($"column '{column.Name}' is {column.Spec}; the model takes numbers there");
        }
        for (var r = 0; r < result.Length; r++)
        {
            if (column.IsMissing(r)) result[r] = float.NaN;
        }
        return result;
    }

    internal static ReadOnlyMemory<char>[] TextValues(Column column)
    {
        var result = new ReadOnlyMemory<char>[column.Length];
        for (var r = 0; r < result.Length; r++)
        {
            result[r] = column.GetValue(r) switch
            {
                null => ReadOnlyMemory<char>.Empty,
                string s => s.AsMemory(),
                IFormattable f => f.ToString(null, System.Globalization.CultureInfo.InvariantCulture).AsMemory(),
                var other => throw new UsageException($"column '{column.Name}' holds {other.GetType().Name} values; the model takes categories there"),
            };
        }
        return result;
    }

    public bool CanShuffle => false;

    public DataViewSchema Schema { get; }

    public long? GetRowCount() => _rows;

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) => new Cursor(this);

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) => [new Cursor(this)];

    private sealed class Cursor(TableDataView view) : DataViewRowCursor
    {
        private long _position = -1;

        public override long Position => _position;

        public override long Batch => 0;

        public override DataViewSchema Schema => view.Schema;

        public override bool IsColumnActive(DataViewSchema.Column column) => true;

        public override bool MoveNext()
        {
            if (_position + 1 >= view._rows)
            {
                _position = view._rows;
                return false;
            }
            _position++;
            return true;
        }

        public override ValueGetter<DataViewRowId> GetIdGetter() => (ref DataViewRowId id) => id = new DataViewRowId((ulong)_position, 0);

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            var values = view._getters[column.Index];
            if (values is not TValue[] typed)
                throw new InvalidOperationException($"column {column.Name} holds {values.GetType().GetElementType()?.Name}, not {typeof(TValue).Name}");
            return (ref TValue value) => value = typed[_position];
        }
    }
}
