namespace Forge.Text;

/// <summary>A sparse row: the column indexes (ascending) of its non-zero values and the values.</summary>
/// <param name="Indices">Column indexes, ascending, no repeats.</param>
/// <param name="Values">The value at each index.</param>
public sealed record SparseVector(int[] Indices, float[] Values);

/// <summary>Feature rows for a linear model, dense (embeddings) or sparse (TF-IDF); only products with weights are needed.</summary>
public abstract class FeatureMatrix
{
    /// <summary>Creates a dense matrix; every row must have <paramref name="columns"/> values.</summary>
    public static FeatureMatrix Dense(IReadOnlyList<float[]> rows, int columns) => new DenseFeatureMatrix(rows, columns);

    /// <summary>Creates a sparse matrix with <paramref name="columns"/> columns.</summary>
    public static FeatureMatrix Sparse(IReadOnlyList<SparseVector> rows, int columns) => new SparseFeatureMatrix(rows, columns);

    /// <summary>The number of rows (samples).</summary>
    public abstract int Rows { get; }

    /// <summary>The number of columns (features).</summary>
    public abstract int Columns { get; }

    /// <summary>The rows at <paramref name="indexes"/>, in that order (shared, not copied).</summary>
    public abstract FeatureMatrix Select(IReadOnlyList<int> indexes);

    /// <summary>output[i, c] = Σ_j x[i, j] · weights[c, j], for <paramref name="classes"/> weight rows laid out row-major.</summary>
    internal abstract void Multiply(double[] weights, int classes, double[] output);

    /// <summary>output[c, j] += Σ_i x[i, j] · g[i, c]: the gradient of a linear layer from the per-row gradients <paramref name="g"/>.</summary>
    internal abstract void MultiplyTransposedAdd(double[] g, int classes, double[] output);
}

internal sealed class DenseFeatureMatrix : FeatureMatrix
{
    private readonly IReadOnlyList<float[]> _rows;

    public DenseFeatureMatrix(IReadOnlyList<float[]> rows, int columns)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(columns);
        for (var i = 0; i < rows.Count; i++)
        {
            if (rows[i] is null || rows[i].Length != columns)
                throw new ArgumentException($"row {i} has {rows[i]?.Length ?? 0} values, expected {columns}", nameof(rows));
        }
        _rows = rows;
        Columns = columns;
    }

    public override int Rows => _rows.Count;

    public override int Columns { get; }

    public override FeatureMatrix Select(IReadOnlyList<int> indexes) => new DenseFeatureMatrix(indexes.Select(i => _rows[i]).ToArray(), Columns);

    internal override void Multiply(double[] weights, int classes, double[] output)
    {
        var d = Columns;
        for (var i = 0; i < _rows.Count; i++)
        {
            var x = _rows[i];
            for (var c = 0; c < classes; c++)
            {
                var w = weights.AsSpan(c * d, d);
                double sum = 0;
                for (var j = 0; j < d; j++) sum += x[j] * w[j];
                output[(i * classes) + c] = sum;
            }
        }
    }

    internal override void MultiplyTransposedAdd(double[] g, int classes, double[] output)
    {
        var d = Columns;
        for (var i = 0; i < _rows.Count; i++)
        {
            var x = _rows[i];
            for (var c = 0; c < classes; c++)
            {
                var gi = g[(i * classes) + c];
                if (gi == 0) continue;
                var o = output.AsSpan(c * d, d);
                for (var j = 0; j < d; j++) o[j] += gi * x[j];
            }
        }
    }
}

internal sealed class SparseFeatureMatrix : FeatureMatrix
{
    private readonly IReadOnlyList<SparseVector> _rows;

    public SparseFeatureMatrix(IReadOnlyList<SparseVector> rows, int columns)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(columns);
        for (var i = 0; i < rows.Count; i++)
        {
            var r = rows[i] ?? throw new ArgumentException($"row {i} is null", nameof(rows));
            if (r.Indices.Length != r.Values.Length || r.Indices.Any(j => (uint)j >= (uint)columns))
                throw new ArgumentException($"row {i} has indexes outside 0..{columns - 1} or mismatched values", nameof(rows));
        }
        _rows = rows;
        Columns = columns;
    }

    public override int Rows => _rows.Count;

    public override int Columns { get; }

    public override FeatureMatrix Select(IReadOnlyList<int> indexes) => new SparseFeatureMatrix(indexes.Select(i => _rows[i]).ToArray(), Columns);

    internal override void Multiply(double[] weights, int classes, double[] output)
    {
        var d = Columns;
        for (var i = 0; i < _rows.Count; i++)
        {
            var r = _rows[i];
            for (var c = 0; c < classes; c++)
            {
                double sum = 0;
                var offset = c * d;
                for (var k = 0; k < r.Indices.Length; k++) sum += r.Values[k] * weights[offset + r.Indices[k]];
                output[(i * classes) + c] = sum;
            }
        }
    }

    internal override void MultiplyTransposedAdd(double[] g, int classes, double[] output)
    {
        var d = Columns;
        for (var i = 0; i < _rows.Count; i++)
        {
            var r = _rows[i];
            for (var c = 0; c < classes; c++)
            {
                var gi = g[(i * classes) + c];
                var offset = c * d;
                for (var k = 0; k < r.Indices.Length; k++) output[offset + r.Indices[k]] += gi * r.Values[k];
            }
        }
    }
}
