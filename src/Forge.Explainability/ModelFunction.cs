using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Forge.Core;

namespace Forge.Explainability;

/// <summary>
/// A model as model-agnostic explainers see it: a batched function from numeric rows to numeric outputs.
/// Categorical inputs are passed as numeric codes.
/// </summary>
/// <remarks>Explainers call <see cref="Evaluate"/> with many rows at once and, when allowed to run in parallel, from several threads.</remarks>
public interface IModelFunction
{
    /// <summary>How many columns each input row has.</summary>
    int FeatureCount { get; }

    /// <summary>How many numbers the model gives per row (1 for a score, one per class for probabilities).</summary>
    int OutputCount { get; }

    /// <summary>Names of the outputs (class labels), or null.</summary>
    IReadOnlyList<string>? OutputNames { get; }

    /// <summary>Evaluates n rows: <paramref name="rows"/> holds n x <see cref="FeatureCount"/> values row-major, <paramref name="outputs"/> receives n x <see cref="OutputCount"/>.</summary>
    void Evaluate(ReadOnlySpan<double> rows, Span<double> outputs);
}

/// <summary>Evaluates a batch of rows (n x d, row-major) into outputs (n x k).</summary>
public delegate void BatchEvaluator(ReadOnlySpan<double> rows, Span<double> outputs);

/// <summary>Builds an <see cref="IModelFunction"/> from a delegate.</summary>
public static class ModelFunction
{
    /// <summary>A model from a batched delegate.</summary>
    /// <param name="featureCount">Columns per row.</param>
    /// <param name="outputCount">Outputs per row.</param>
    /// <param name="evaluate">Fills n x <paramref name="outputCount"/> outputs from n x <paramref name="featureCount"/> inputs.</param>
    /// <param name="outputNames">Optional output (class) names.</param>
    public static IModelFunction FromBatch(int featureCount, int outputCount, BatchEvaluator evaluate, IReadOnlyList<string>? outputNames = null)
    {
        ArgumentNullException.ThrowIfNull(evaluate);
        return new DelegateModel(featureCount, outputCount, evaluate, outputNames);
    }

    /// <summary>A single-output model from a function of one row (convenient, but allocation per row makes it slow for big jobs).</summary>
    public static IModelFunction FromRow(int featureCount, Func<double[], double> predict)
    {
        ArgumentNullException.ThrowIfNull(predict);
        return new DelegateModel(featureCount, 1, (rows, outputs) =>
        {
            var row = new double[featureCount];
            for (var i = 0; i < outputs.Length; i++)
            {
                rows.Slice(i * featureCount, featureCount).CopyTo(row);
                outputs[i] = predict(row);
            }
        }, null);
    }

    /// <summary>A multi-output model from a function of one row that returns one value per output.</summary>
    public static IModelFunction FromRow(int featureCount, int outputCount, Func<double[], double[]> predict, IReadOnlyList<string>? outputNames = null)
    {
        ArgumentNullException.ThrowIfNull(predict);
        return new DelegateModel(featureCount, outputCount, (rows, outputs) =>
        {
            var row = new double[featureCount];
            var n = outputs.Length / outputCount;
            for (var i = 0; i < n; i++)
            {
                rows.Slice(i * featureCount, featureCount).CopyTo(row);
                var y = predict(row);
                if (y is null || y.Length != outputCount)
                    throw new ForgeException($"the model returned {y?.Length ?? 0} outputs for a row; it declared {outputCount}");
                y.CopyTo(outputs.Slice(i * outputCount, outputCount));
            }
        }, outputNames);
    }

    /// <summary>Evaluates rows given as a matrix; returns n x k outputs.</summary>
    public static double[,] Evaluate(this IModelFunction model, double[,] rows)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(rows);
        Rows.CheckColumns(rows, model.FeatureCount, "rows");
        var outputs = new double[rows.GetLength(0), model.OutputCount];
        model.Evaluate(Rows.AsSpan(rows), Rows.AsWritableSpan(outputs));
        return outputs;
    }

    private sealed class DelegateModel : IModelFunction
    {
        private readonly BatchEvaluator _evaluate;

        public DelegateModel(int featureCount, int outputCount, BatchEvaluator evaluate, IReadOnlyList<string>? outputNames)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(featureCount, 1);
            ArgumentOutOfRangeException.ThrowIfLessThan(outputCount, 1);
            if (outputNames is not null && outputNames.Count != outputCount)
                throw new ArgumentException($"{outputNames.Count} output names for {outputCount} outputs", nameof(outputNames));
            FeatureCount = featureCount;
            OutputCount = outputCount;
            OutputNames = outputNames?.ToArray();
            _evaluate = evaluate;
        }

        public int FeatureCount { get; }

        public int OutputCount { get; }

        public IReadOnlyList<string>? OutputNames { get; }

        public void Evaluate(ReadOnlySpan<double> rows, Span<double> outputs) => _evaluate(rows, outputs);
    }
}

/// <summary>Helpers for row matrices (double[n, d], row-major).</summary>
internal static class Rows
{
    internal static ReadOnlySpan<double> AsSpan(double[,] matrix) =>
        matrix.Length == 0
            ? []
            : MemoryMarshal.CreateReadOnlySpan(ref Unsafe.As<byte, double>(ref MemoryMarshal.GetArrayDataReference(matrix)), matrix.Length);

    internal static Span<double> AsWritableSpan(double[,] matrix) =>
        matrix.Length == 0
            ? []
            : MemoryMarshal.CreateSpan(ref Unsafe.As<byte, double>(ref MemoryMarshal.GetArrayDataReference(matrix)), matrix.Length);

    /// <summary>Refuses a matrix whose column count differs from what the model takes, naming both.</summary>
    internal static void CheckColumns(double[,] rows, int expected, string what, IReadOnlyList<string>? featureNames = null)
    {
        var columns = rows.GetLength(1);
        if (columns == expected) return;
        var names = featureNames is { Count: > 0 and <= 20 } ? $" ({string.Join(", ", featureNames)})" : "";
        throw new ForgeException($"{what} have {columns} columns but the model takes {expected} features{names}; pass the columns the model was trained on, in the same order");
    }

    internal static double[,] FromJagged(IReadOnlyList<double[]> rows, string what)
    {
        ArgumentNullException.ThrowIfNull(rows);
        if (rows.Count == 0) throw new ArgumentException($"{what} has no rows", what);
        var d = rows[0]?.Length ?? throw new ArgumentException($"{what}: row 0 is null", what);
        var m = new double[rows.Count, d];
        for (var i = 0; i < rows.Count; i++)
        {
            var r = rows[i] ?? throw new ArgumentException($"{what}: row {i} is null", what);
            if (r.Length != d) throw new ForgeException($"{what}: row {i} has {r.Length} values, row 0 has {d}");
            for (var j = 0; j < d; j++) m[i, j] = r[j];
        }
        return m;
    }

    internal static double[] Row(double[,] matrix, int i)
    {
        var d = matrix.GetLength(1);
        var r = new double[d];
        AsSpan(matrix).Slice(i * d, d).CopyTo(r);
        return r;
    }
}
