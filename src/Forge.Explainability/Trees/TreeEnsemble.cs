using Forge.Core;

namespace Forge.Explainability.Trees;

/// <summary>How an ensemble's raw margin becomes its prediction. TreeSHAP explains the raw margin.</summary>
public enum TreeLink
{
    /// <summary>The margin is the prediction (regression, ranking).</summary>
    Identity,

    /// <summary>Probability = 1 / (1 + e^-margin) (binary classification); margins are log-odds.</summary>
    Logistic,

    /// <summary>Class probabilities = softmax of the per-class margins (multi-class).</summary>
    Softmax,

    /// <summary>Prediction = e^margin (Poisson, gamma, Tweedie).</summary>
    Exp,
}

/// <summary>Everything about a tree ensemble except its trees.</summary>
public sealed record TreeEnsembleOptions
{
    /// <summary>Columns the model reads. Required.</summary>
    public int FeatureCount { get; init; }

    /// <summary>Outputs (margins) per row: 1, or the class count of a multi-class model. Default 1.</summary>
    public int OutputCount { get; init; } = 1;

    /// <summary>A constant added to each output's margin (XGBoost's base_score in margin space). Default all zero.</summary>
    public IReadOnlyList<double>? BaseScore { get; init; }

    /// <summary>How margins become predictions. Default <see cref="TreeLink.Identity"/>.</summary>
    public TreeLink Link { get; init; } = TreeLink.Identity;

    /// <summary>Column names, or null for "f0", "f1", ….</summary>
    public IReadOnlyList<string>? FeatureNames { get; init; }

    /// <summary>Output (class) names, or null.</summary>
    public IReadOnlyList<string>? OutputNames { get; init; }

    /// <summary>
    /// Round inputs to 32-bit floats before comparing them with thresholds, as XGBoost and ML.NET do; without it a value
    /// such as 0.3 can fall on the other side of a float threshold than in the library that trained the model. Default false.
    /// </summary>
    public bool SinglePrecisionInputs { get; init; }

    /// <summary>Where the model came from, e.g. "xgboost 1.7.4 JSON"; shown in reports.</summary>
    public string Source { get; init; } = "programmatic";

    /// <summary>Reports every problem at once.</summary>
    public void Validate()
    {
        var problems = new List<string>();
        if (FeatureCount < 1) problems.Add($"FeatureCount must be at least 1 (is {FeatureCount})");
        if (OutputCount < 1) problems.Add($"OutputCount must be at least 1 (is {OutputCount})");
        if (BaseScore is not null && BaseScore.Count != OutputCount)
            problems.Add($"BaseScore has {BaseScore.Count} values for {OutputCount} outputs");
        if (BaseScore is not null && BaseScore.Any(b => !double.IsFinite(b)))
            problems.Add("BaseScore values must be finite");
        if (FeatureNames is not null && FeatureNames.Count != FeatureCount)
            problems.Add($"FeatureNames has {FeatureNames.Count} names for {FeatureCount} features");
        if (OutputNames is not null && OutputNames.Count != OutputCount)
            problems.Add($"OutputNames has {OutputNames.Count} names for {OutputCount} outputs");
        if (Link == TreeLink.Softmax && OutputCount < 2)
            problems.Add("the softmax link needs at least 2 outputs");
        if (problems.Count > 0)
            throw new UsageException("invalid tree ensemble: " + string.Join("; ", problems));
    }
}

/// <summary>
/// A tree model as plain data (boosted trees, random forests): trees, base score and link. Build one with
/// <see cref="TreeModels"/> from XGBoost or LightGBM files, or directly from <see cref="DecisionTree"/>s.
/// As an <see cref="IModelFunction"/> it evaluates the raw margin, so any explainer can use it.
/// </summary>
public sealed class TreeEnsemble : IModelFunction
{
    private readonly double[] _baseScore;
    private readonly Lazy<CompiledEnsemble> _compiled;

    /// <summary>Creates an ensemble, checking every tree against the options.</summary>
    public TreeEnsemble(IEnumerable<DecisionTree> trees, TreeEnsembleOptions options)
    {
        ArgumentNullException.ThrowIfNull(trees);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Trees = trees.ToArray();
        Options = options;
        _baseScore = options.BaseScore?.ToArray() ?? new double[options.OutputCount];
        FeatureNames = options.FeatureNames?.ToArray() ?? Enumerable.Range(0, options.FeatureCount).Select(i => $"f{i}").ToArray();
        for (var t = 0; t < Trees.Count; t++)
        {
            var tree = Trees[t] ?? throw new ArgumentException($"tree {t} is null", nameof(trees));
            if (tree.Output + tree.LeafWidth > options.OutputCount)
                throw new ForgeException($"tree {t} adds {tree.LeafWidth} value(s) from output {tree.Output}, but the ensemble has {options.OutputCount} output(s)");
            foreach (var node in tree.Nodes)
            {
                if (!node.IsLeaf && node.Feature >= options.FeatureCount)
                    throw new ForgeException($"tree {t} splits on feature {node.Feature}, but the ensemble has {options.FeatureCount} features");
            }
        }
        _compiled = new Lazy<CompiledEnsemble>(() => new CompiledEnsemble(this));
    }

    /// <summary>The trees.</summary>
    public IReadOnlyList<DecisionTree> Trees { get; }

    /// <summary>Feature count, outputs, base score, link and names.</summary>
    public TreeEnsembleOptions Options { get; }

    /// <summary>Columns the model reads.</summary>
    public int FeatureCount => Options.FeatureCount;

    /// <summary>Margins per row.</summary>
    public int OutputCount => Options.OutputCount;

    /// <summary>Output (class) names, or null.</summary>
    public IReadOnlyList<string>? OutputNames => Options.OutputNames;

    /// <summary>Column names ("f0", … when the model had none).</summary>
    public IReadOnlyList<string> FeatureNames { get; }

    /// <summary>The constant added to each output's margin.</summary>
    public IReadOnlyList<double> BaseScore => _baseScore;

    /// <summary>How margins become predictions.</summary>
    public TreeLink Link => Options.Link;

    internal CompiledEnsemble Compiled => _compiled.Value;

    /// <summary>The expected raw margin per output under the trees' own covers (TreeSHAP's base value).</summary>
    public double[] ExpectedValue() => Compiled.ExpectedValue();

    /// <summary>Raw margins, n x outputs, exactly as the trees compute them.</summary>
    public double[,] PredictRaw(double[,] rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        Rows.CheckColumns(rows, FeatureCount, "rows", FeatureNames);
        var outputs = new double[rows.GetLength(0), OutputCount];
        Compiled.Predict(Rows.AsSpan(rows), Rows.AsWritableSpan(outputs));
        return outputs;
    }

    /// <summary>Predictions after the link: probabilities for logistic/softmax, e^margin for exp, margins otherwise.</summary>
    public double[,] Predict(double[,] rows)
    {
        var raw = PredictRaw(rows);
        ApplyLink(Link, Rows.AsWritableSpan(raw), OutputCount);
        return raw;
    }

    /// <inheritdoc/>
    public void Evaluate(ReadOnlySpan<double> rows, Span<double> outputs)
    {
        if (rows.Length % FeatureCount != 0 || rows.Length / FeatureCount * OutputCount != outputs.Length)
            throw new ArgumentException($"{rows.Length} input values and {outputs.Length} output slots do not fit {FeatureCount} features and {OutputCount} outputs per row");
        Compiled.Predict(rows, outputs);
    }

    /// <summary>Applies a link to margins laid out n x <paramref name="outputCount"/>, in place.</summary>
    public static void ApplyLink(TreeLink link, Span<double> margins, int outputCount)
    {
        switch (link)
        {
            case TreeLink.Logistic:
                for (var i = 0; i < margins.Length; i++) margins[i] = 1 / (1 + Math.Exp(-margins[i]));
                break;
            case TreeLink.Exp:
                for (var i = 0; i < margins.Length; i++) margins[i] = Math.Exp(margins[i]);
                break;
            case TreeLink.Softmax:
                for (var r = 0; r + outputCount <= margins.Length; r += outputCount)
                {
                    var row = margins.Slice(r, outputCount);
                    var max = double.NegativeInfinity;
                    foreach (var m in row) max = Math.Max(max, m);
                    var sum = 0.0;
                    for (var k = 0; k < row.Length; k++) sum += row[k] = Math.Exp(row[k] - max);
                    for (var k = 0; k < row.Length; k++) row[k] /= sum;
                }
                break;
            case TreeLink.Identity:
            default:
                break;
        }
    }
}
