using Forge.Core;

namespace Forge.Explainability.Trees;

/// <summary>Which TreeSHAP implementation computes the values; both give the same numbers.</summary>
public enum TreeShapAlgorithm
{
    /// <summary>Precomputed per-leaf tables where a tree's paths have at most 12 distinct features, the recursion elsewhere.</summary>
    Auto,

    /// <summary>The published recursion (Algorithm 2) for every tree.</summary>
    Recursive,
}

/// <summary>Options of <see cref="TreeShapExplainer"/>.</summary>
public sealed record TreeShapOptions
{
    /// <summary>Also compute SHAP interaction values (feature x feature per row; much slower). Default false.</summary>
    public bool Interactions { get; init; }

    /// <summary>Threads used for rows; 0 means one per core. Default 0.</summary>
    public int MaxDegreeOfParallelism { get; init; }

    /// <summary>The implementation; default <see cref="TreeShapAlgorithm.Auto"/>.</summary>
    public TreeShapAlgorithm Algorithm { get; init; } = TreeShapAlgorithm.Auto;

    /// <summary>Keep the explained rows in the explanation (plots need them; streaming jobs may drop them). Default true.</summary>
    public bool KeepData { get; init; } = true;

    /// <summary>Reports every problem at once.</summary>
    public void Validate()
    {
        if (MaxDegreeOfParallelism < 0)
            throw new UsageException($"invalid TreeSHAP options: MaxDegreeOfParallelism must be 0 (all cores) or more (is {MaxDegreeOfParallelism})");
    }
}

/// <summary>
/// Exact path-dependent TreeSHAP for a <see cref="TreeEnsemble"/>: Shapley values of the raw margin where a missing
/// feature is integrated out along the trees' own cover (Lundberg et al. 2018), optionally with interaction values.
/// Every row satisfies base value + Σ values = margin up to rounding.
/// </summary>
public sealed class TreeShapExplainer : IExplainer<double[,]>
{
    private readonly TreeEnsemble _ensemble;
    private readonly CompiledEnsemble _compiled;
    private readonly TreeShapTables _tables;
    private readonly double[] _expected;
    private readonly int[][] _treeFeatures;

    /// <summary>Prepares the explainer (the per-leaf tables are built here, once).</summary>
    public TreeShapExplainer(TreeEnsemble ensemble, TreeShapOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(ensemble);
        Options = options ?? new TreeShapOptions();
        Options.Validate();
        _ensemble = ensemble;
        _compiled = ensemble.Compiled;
        _tables = new TreeShapTables(_compiled, Options.Algorithm == TreeShapAlgorithm.Auto);
        _expected = _compiled.ExpectedValue();
        // The features each tree splits on: interaction values condition on these only.
        _treeFeatures = new int[_compiled.TreeCount][];
        for (var t = 0; t < _compiled.TreeCount; t++)
        {
            var used = new SortedSet<int>();
            for (var g = _compiled.TreeStart[t]; g < _compiled.TreeStart[t + 1]; g++)
            {
                if (!_compiled.IsLeaf(g)) used.Add(_compiled.Feature[g]);
            }
            _treeFeatures[t] = used.ToArray();
        }
    }

    /// <inheritdoc/>
    public string Method => "tree";

    /// <summary>The options in force.</summary>
    public TreeShapOptions Options { get; }

    /// <summary>The base value per output: the expected margin under the trees' covers.</summary>
    public IReadOnlyList<double> ExpectedValue => _expected;

    /// <summary>How many trees use the precomputed tables (the rest use the recursion).</summary>
    public int TabulatedTreeCount => _tables.Tabulated.Count(t => t);

    /// <summary>What the values add up to for this ensemble's link.</summary>
    public static string OutputSpaceOf(TreeLink link) => link switch
    {
        TreeLink.Logistic => "raw margin (log-odds)",
        TreeLink.Softmax => "raw margin (per-class log-odds, before softmax)",
        TreeLink.Exp => "raw margin (log of the prediction)",
        _ => "model output",
    };

    /// <inheritdoc/>
    public Explanation Explain(double[,] input)
    {
        ArgumentNullException.ThrowIfNull(input);
        Rows.CheckColumns(input, _ensemble.FeatureCount, "rows", _ensemble.FeatureNames);
        var n = input.GetLength(0);
        var d = _ensemble.FeatureCount;
        var k = _ensemble.OutputCount;
        var rows = Rows.AsSpan(input);
        var values = new double[(long)n * k * d];
        var interactions = Options.Interactions ? new double[(long)n * k * d * d] : null;
        var predictions = new double[n * k];
        var baseValues = new double[n * k];
        for (var r = 0; r < n; r++) _expected.CopyTo(baseValues, r * k);
        Compute(input, values, interactions);
        _compiled.Predict(rows, predictions);
        return new Explanation(Method, _ensemble.FeatureNames, n, k, values, baseValues)
        {
            OutputNames = _ensemble.OutputNames ?? Explanation.DefaultOutputNames(k),
            OutputSpace = OutputSpaceOf(_ensemble.Link),
            Data = Options.KeepData ? rows.ToArray() : null,
            Predictions = predictions,
            Interactions = interactions,
        };
    }

    private void Compute(double[,] input, double[] values, double[]? interactions)
    {
        var n = input.GetLength(0);
        var d = _compiled.FeatureCount;
        var k = _compiled.OutputCount;
        // Rows in blocks: enough blocks for every thread to stay busy, few enough that scheduling costs nothing.
        const int block = 32;
        var blocks = (n + block - 1) / block;
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = Options.MaxDegreeOfParallelism > 0 ? Options.MaxDegreeOfParallelism : Environment.ProcessorCount };
        Parallel.For(0, blocks, parallel, () => new Scratch(_compiled, Options.Interactions, block), (b, _, scratch) =>
        {
            var rows = Rows.AsSpan(input);
            var first = b * block;
            var count = Math.Min(n, first + block) - first;
            for (var i = 0; i < count; i++)
                _compiled.LoadRow(rows.Slice((first + i) * d, d), scratch.Block.AsSpan(i * d, d));
            // Tree by tree over the whole block: one tree's nodes and tables stay in cache for all its rows.
            var blockPhi = values.AsSpan((int)((long)first * k * d), count * k * d);
            for (var t = 0; t < _compiled.TreeCount; t++)
            {
                var tabulated = _tables.Tabulated[t];
                for (var i = 0; i < count; i++)
                {
                    var row = scratch.Block.AsSpan(i * d, d);
                    var phi = blockPhi.Slice(i * k * d, k * d);
                    if (tabulated) _tables.AddTree(t, row, phi, scratch.Masks);
                    else scratch.Recursion.AddTree(t, row, phi);
                }
            }
            if (interactions is not null)
            {
                for (var i = 0; i < count; i++)
                {
                    var r = first + i;
                    AddInteractions(scratch, scratch.Block.AsSpan(i * d, d), blockPhi.Slice(i * k * d, k * d), interactions.AsSpan((int)((long)r * k * d * d), k * d * d));
                }
            }
            return scratch;
        }, _ => { });
    }

    /// <summary>
    /// SHAP interaction values: Φ_ij (i ≠ j) is half the difference between j's attribution with i held known and with i
    /// held unknown; Φ_ii is what is left of φ_i. A tree that never splits on i gives the same both ways, so only the
    /// features each tree uses are conditioned on.
    /// </summary>
    private void AddInteractions(Scratch scratch, ReadOnlySpan<double> row, ReadOnlySpan<double> phi, Span<double> result)
    {
        var d = _compiled.FeatureCount;
        var k = _compiled.OutputCount;
        var on = scratch.On;
        var off = scratch.Off;
        for (var t = 0; t < _compiled.TreeCount; t++)
        {
            foreach (var i in _treeFeatures[t])
            {
                Array.Clear(on);
                Array.Clear(off);
                scratch.Recursion.AddTree(t, row, on, condition: 1, conditionFeature: i);
                scratch.Recursion.AddTree(t, row, off, condition: -1, conditionFeature: i);
                for (var o = 0; o < k; o++)
                {
                    var rowI = result.Slice((o * d + i) * d, d);
                    for (var j = 0; j < d; j++)
                    {
                        if (j != i) rowI[j] += (on[o * d + j] - off[o * d + j]) / 2;
                    }
                }
            }
        }
        for (var o = 0; o < k; o++)
        {
            for (var i = 0; i < d; i++)
            {
                var rowI = result.Slice((o * d + i) * d, d);
                var rest = 0.0;
                for (var j = 0; j < d; j++)
                {
                    if (j != i) rest += rowI[j];
                }
                rowI[i] = phi[o * d + i] - rest;
            }
        }
    }

    /// <summary>Per-thread buffers, so the inner loops allocate nothing.</summary>
    private sealed class Scratch
    {
        internal Scratch(CompiledEnsemble e, bool interactions, int block)
        {
            Block = new double[block * e.FeatureCount];
            Masks = new uint[Math.Max(1, e.MaxNodes)];
            Recursion = new RecursiveTreeShap(e);
            if (!interactions) return;
            On = new double[e.FeatureCount * e.OutputCount];
            Off = new double[e.FeatureCount * e.OutputCount];
        }

        internal double[] Block { get; }

        internal uint[] Masks { get; }

        internal RecursiveTreeShap Recursion { get; }

        internal double[] On { get; } = [];

        internal double[] Off { get; } = [];
    }
}
