using Forge.Core;

namespace Forge.Explainability.Agnostic;

/// <summary>
/// Shared machinery of the interventional SHAP explainers: v(S) = Σ_b w_b f(x_S, b_rest), the model's output with the
/// features in S taken from the explained row and the others from each background row, averaged over the background.
/// Coalitions are evaluated in large batches so the model sees few, big calls.
/// </summary>
public abstract class CoalitionExplainer : IExplainer<double[,]>
{
    /// <summary>Largest number of rows handed to the model in one call.</summary>
    internal const int MaxRowsPerCall = 16_384;

    private readonly double[] _expected;

    /// <summary>Checks that the model and background agree and computes the expected output over the background.</summary>
    private protected CoalitionExplainer(IModelFunction model, Background background, IReadOnlyList<string>? featureNames, int maxDegreeOfParallelism)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(background);
        if (background.FeatureCount != model.FeatureCount)
            throw new ForgeException($"the background data has {background.FeatureCount} columns but the model takes {model.FeatureCount} features; pass background rows with the model's columns");
        if (featureNames is not null && featureNames.Count != model.FeatureCount)
            throw new UsageException($"{featureNames.Count} feature names for a model of {model.FeatureCount} features");
        if (maxDegreeOfParallelism < 0)
            throw new UsageException($"MaxDegreeOfParallelism must be 0 (all cores) or more (is {maxDegreeOfParallelism})");
        Model = model;
        Background = background;
        FeatureNames = featureNames?.ToArray() ?? Enumerable.Range(0, model.FeatureCount).Select(i => $"f{i}").ToArray();
        Parallelism = maxDegreeOfParallelism > 0 ? maxDegreeOfParallelism : Environment.ProcessorCount;
        var outputs = new double[background.Count * model.OutputCount];
        model.Evaluate(background.RowData, outputs);
        _expected = new double[model.OutputCount];
        for (var b = 0; b < background.Count; b++)
        {
            for (var o = 0; o < model.OutputCount; o++) _expected[o] += background.Weight(b) * outputs[b * model.OutputCount + o];
        }
    }

    /// <inheritdoc/>
    public abstract string Method { get; }

    /// <summary>The explained model.</summary>
    public IModelFunction Model { get; }

    /// <summary>The background rows that stand in for unknown features.</summary>
    public Background Background { get; }

    /// <summary>Feature names used in explanations.</summary>
    public IReadOnlyList<string> FeatureNames { get; }

    /// <summary>The base value per output: the model's mean output over the background.</summary>
    public IReadOnlyList<double> ExpectedValue => _expected;

    private protected int Parallelism { get; }

    private protected int D => Model.FeatureCount;

    private protected int K => Model.OutputCount;

    /// <inheritdoc/>
    public Explanation Explain(double[,] input)
    {
        ArgumentNullException.ThrowIfNull(input);
        Rows.CheckColumns(input, D, "rows", FeatureNames);
        Prepare();
        var n = input.GetLength(0);
        var predictions = new double[n * K];
        Model.Evaluate(Rows.AsSpan(input), predictions);
        var values = new double[(long)n * K * D];
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = Parallelism };
        Parallel.For(0, n, parallel, () => new Worker(this), (r, _, worker) =>
        {
            var x = Rows.AsSpan(input).Slice(r * D, D);
            ExplainRow(r, x, predictions.AsSpan(r * K, K), values.AsSpan((int)((long)r * K * D), K * D), worker);
            return worker;
        }, _ => { });
        var baseValues = new double[n * K];
        for (var r = 0; r < n; r++) _expected.CopyTo(baseValues, r * K);
        return new Explanation(Method, FeatureNames, n, K, values, baseValues)
        {
            OutputNames = Model.OutputNames ?? Explanation.DefaultOutputNames(K),
            Data = Rows.AsSpan(input).ToArray(),
            Predictions = predictions,
        };
    }

    /// <summary>Checks options against the model before any work; throws a <see cref="ForgeException"/> naming the alternative.</summary>
    private protected virtual void Prepare() { }

    /// <summary>Fills <paramref name="phi"/> ([output][feature]) for row <paramref name="x"/> whose model output is <paramref name="fx"/>.</summary>
    private protected abstract void ExplainRow(int row, ReadOnlySpan<double> x, ReadOnlySpan<double> fx, Span<double> phi, Worker worker);

    /// <summary>Per-thread buffers and the batched coalition evaluation.</summary>
    private protected sealed class Worker
    {
        private readonly CoalitionExplainer _owner;
        private readonly double[] _rows;
        private readonly double[] _outputs;
        private readonly int _perCall;

        internal Worker(CoalitionExplainer owner)
        {
            _owner = owner;
            var nb = owner.Background.Count;
            _perCall = Math.Max(1, MaxRowsPerCall / nb);
            _rows = new double[_perCall * nb * owner.D];
            _outputs = new double[_perCall * nb * owner.K];
        }

        /// <summary>v(S) for <paramref name="count"/> coalitions given as masks (count x d, 1 = taken from x); writes count x k values.</summary>
        internal void Evaluate(ReadOnlySpan<double> x, ReadOnlySpan<byte> masks, int count, Span<double> values)
        {
            var d = _owner.D;
            var k = _owner.K;
            var background = _owner.Background;
            var nb = background.Count;
            var bg = background.RowData;
            for (var start = 0; start < count; start += _perCall)
            {
                var c = Math.Min(_perCall, count - start);
                for (var j = 0; j < c; j++)
                {
                    var mask = masks.Slice((start + j) * d, d);
                    for (var b = 0; b < nb; b++)
                    {
                        var target = _rows.AsSpan((j * nb + b) * d, d);
                        bg.Slice(b * d, d).CopyTo(target);
                        for (var f = 0; f < d; f++)
                        {
                            if (mask[f] != 0) target[f] = x[f];
                        }
                    }
                }
                _owner.Model.Evaluate(_rows.AsSpan(0, c * nb * d), _outputs.AsSpan(0, c * nb * k));
                for (var j = 0; j < c; j++)
                {
                    var v = values.Slice((start + j) * k, k);
                    v.Clear();
                    for (var b = 0; b < nb; b++)
                    {
                        var w = background.Weight(b);
                        for (var o = 0; o < k; o++) v[o] += w * _outputs[(j * nb + b) * k + o];
                    }
                }
            }
        }
    }
}
