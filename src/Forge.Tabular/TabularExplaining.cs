using Forge.Core;
using Forge.Explainability;
using Forge.Explainability.Agnostic;
using Forge.Explainability.Lime;
using Forge.Explainability.Trees;
using ShapBackground = Forge.Explainability.Agnostic.Background;

namespace Forge.Tabular;

/// <summary>How <see cref="TabularExplaining.Explain"/> runs a method on a tabular bundle.</summary>
public sealed record TabularExplainOptions
{
    /// <summary>Background rows the model-agnostic SHAP methods average over (drawn from the bundle's sample). Default 50.</summary>
    public int BackgroundRows { get; init; } = 50;

    /// <summary>KernelSHAP's coalition budget per row; null for its default. Default null.</summary>
    public int? KernelSamples { get; init; }

    /// <summary>Permutation SHAP's permutations per row. Default 10.</summary>
    public int Permutations { get; init; } = 10;

    /// <summary>LIME's samples per row. Default 2000.</summary>
    public int LimeSamples { get; init; } = 2000;

    /// <summary>Seed of every random choice. Default 0.</summary>
    public int Seed { get; init; }

    /// <summary>Threads; 0 means one per core. Default 0.</summary>
    public int MaxDegreeOfParallelism { get; init; }

    /// <summary>Reports every problem at once.</summary>
    public void Validate()
    {
        var problems = new List<string>();
        if (BackgroundRows < 1) problems.Add($"BackgroundRows must be at least 1 (is {BackgroundRows})");
        if (KernelSamples is < 2) problems.Add($"KernelSamples must be at least 2 (is {KernelSamples})");
        if (Permutations < 1) problems.Add($"Permutations must be at least 1 (is {Permutations})");
        if (LimeSamples < 2) problems.Add($"LimeSamples must be at least 2 (is {LimeSamples})");
        if (MaxDegreeOfParallelism < 0) problems.Add($"MaxDegreeOfParallelism must be 0 or more (is {MaxDegreeOfParallelism})");
        if (problems.Count > 0) throw new UsageException("invalid explain options: " + string.Join("; ", problems));
    }
}

/// <summary>
/// Explains the rows of an <c>mlnet-tabular</c> bundle with any method, in terms of its original columns: exact
/// TreeSHAP on the converted trees ("tree"), or a model-agnostic method over the model's predictions ("exact", "kernel",
/// "permutation", "lime") with the bundle's background sample standing in for unknown features.
/// </summary>
public static class TabularExplaining
{
    /// <summary>The methods a tabular bundle can be explained with.</summary>
    public static readonly IReadOnlyList<string> Methods = ["tree", "kernel", "exact", "permutation", "lime"];

    /// <summary>The bundle's background sample (<see cref="TabularTraining.BackgroundFile"/>) as a table of the model's columns.</summary>
    public static Table Background(ModelBundle bundle, TabularModel model)
    {
        ArgumentNullException.ThrowIfNull(bundle);
        ArgumentNullException.ThrowIfNull(model);
        var path = Path.Combine(bundle.Directory, TabularTraining.BackgroundFile);
        if (!File.Exists(path))
            throw new BundleException(path, "is missing: the bundle carries no background sample for explainers; retrain it with this Forge, or pass rows to explain with the tree method of a tree model only");
        return TabularCsv.ReadFor(path, model.Features, TabularBundle.CsvOptions(bundle.Manifest, withLabel: false)).Features;
    }

    /// <summary>The method to use when none is named: exact TreeSHAP for tree models, KernelSHAP otherwise.</summary>
    public static string DefaultMethod(TabularModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return TabularTrees.IsTreeModel(model) ? "tree" : "kernel";
    }

    /// <summary>
    /// Explains <paramref name="rows"/> with <paramref name="method"/>. Tree explanations are in the raw-score space
    /// (log-odds for binary models); the model-agnostic ones explain the predicted probabilities (or the value).
    /// Categorical values are shown by name in the explanation's value labels.
    /// </summary>
    public static Explanation Explain(ModelBundle bundle, TabularModel model, Table rows, string method, TabularExplainOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(bundle);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(method);
        options ??= new TabularExplainOptions();
        options.Validate();
        var m = CheckMethod(method);
        var function = PredictorFunction.Create(model);
        var names = function.FeatureNames;
        var x = function.Encode(rows);
        var background = function.Encode(Background(bundle, model));
        var parallel = options.MaxDegreeOfParallelism;
        Explanation explanation;
        switch (m)
        {
            case "tree":
                if (!TabularTrees.IsTreeModel(model))
                    throw new UsageException($"the tree method needs a tree model; {bundle.Manifest.Name} is a {model.Learner.ToString().ToLowerInvariant()} model: use --method kernel, exact, permutation or lime");
                explanation = new TreeShapExplainer(TabularTrees.ToTreeEnsemble(model, Background(bundle, model)), new TreeShapOptions { MaxDegreeOfParallelism = parallel }).Explain(x);
                break;
            case "exact":
                if (names.Count > ExactShapOptions.MaxFeatures)
                    throw new UsageException($"the exact method enumerates every coalition and takes at most {ExactShapOptions.MaxFeatures} features; {bundle.Manifest.Name} has {names.Count}: use --method {(TabularTrees.IsTreeModel(model) ? "tree (exact for tree models) or " : "")}kernel");
                explanation = new ExactShapExplainer(function, ShapBackground.Sample(background, options.BackgroundRows, options.Seed),
                    new ExactShapOptions { FeatureNames = names, MaxDegreeOfParallelism = parallel }).Explain(x);
                break;
            case "kernel":
                explanation = new KernelShapExplainer(function, ShapBackground.Sample(background, options.BackgroundRows, options.Seed),
                    new KernelShapOptions { FeatureNames = names, Samples = options.KernelSamples, Seed = options.Seed, MaxDegreeOfParallelism = parallel }).Explain(x);
                break;
            case "permutation":
                explanation = new PermutationShapExplainer(function, ShapBackground.Sample(background, options.BackgroundRows, options.Seed),
                    new PermutationShapOptions { FeatureNames = names, Permutations = options.Permutations, Seed = options.Seed, MaxDegreeOfParallelism = parallel }).Explain(x);
                break;
            default:
                // LIME learns bins and frequencies from the sample; a missing value there would be a bin of its own.
                return new LimeTabularExplainer(function, Impute(background, function), new LimeTabularOptions
                {
                    FeatureNames = names, CategoricalFeatures = [.. function.CategoricalFeatures], Samples = options.LimeSamples, Seed = options.Seed,
                    MaxDegreeOfParallelism = parallel,
                }).Explain(x);
        }
        return WithCategoryNames(explanation, function);
    }

    /// <summary>The method's name in lower case; an unknown one is refused with the closest name and the list.</summary>
    public static string CheckMethod(string method)
    {
        ArgumentNullException.ThrowIfNull(method);
        var m = method.Trim().ToLowerInvariant();
        if (Methods.Contains(m)) return m;
        var hint = NameSuggester.Closest(m, Methods) is { } close ? $"; did you mean '{close}'?" : "";
        throw new UsageException($"unknown method '{method}' for a tabular model{hint} (one of {string.Join(", ", Methods)}; ig and saliency are for image models)");
    }

    /// <summary>A copy whose value labels show categories by name ("colour = red") instead of by index.</summary>
    internal static Explanation WithCategoryNames(Explanation e, PredictorFunction function)
    {
        if (e.Data is null || function.CategoricalFeatures.Count == 0) return e;
        var labels = new string[e.RowCount * e.FeatureCount];
        for (var r = 0; r < e.RowCount; r++)
        {
            for (var f = 0; f < e.FeatureCount; f++)
            {
                var v = e.DataValue(r, f);
                var categories = function.CategoriesOf(f);
                var shown = categories is null ? Explanation.FormatValue(v)
                    : double.IsNaN(v) || v < 0 || v >= categories.Count ? "missing" : categories[(int)v];
                labels[r * e.FeatureCount + f] = $"{e.FeatureNames[f]} = {shown}";
            }
        }
        var values = new double[e.RowCount * e.OutputCount * e.FeatureCount];
        var baseValues = new double[e.RowCount * e.OutputCount];
        for (var r = 0; r < e.RowCount; r++)
        {
            for (var k = 0; k < e.OutputCount; k++)
            {
                e.Values(r, k).CopyTo(values.AsSpan((r * e.OutputCount + k) * e.FeatureCount));
                baseValues[r * e.OutputCount + k] = e.BaseValue(r, k);
            }
        }
        return new Explanation(e.Method, e.FeatureNames, e.RowCount, e.OutputCount, values, baseValues)
        {
            OutputNames = e.OutputNames, OutputSpace = e.OutputSpace, Data = e.Data, Predictions = e.Predictions,
            Interactions = e.Interactions, FitScores = e.FitScores, ValueLabels = labels,
        };
    }

    /// <summary>Missing values replaced by the column's median (numbers) or most frequent code (categories).</summary>
    private static double[,] Impute(double[,] rows, PredictorFunction function)
    {
        var n = rows.GetLength(0);
        var d = rows.GetLength(1);
        var result = (double[,])rows.Clone();
        for (var j = 0; j < d; j++)
        {
            var seen = Enumerable.Range(0, n).Select(i => rows[i, j]).Where(v => !double.IsNaN(v)).ToArray();
            if (seen.Length == n) continue;
            double fill;
            if (seen.Length == 0) fill = 0;
            else if (function.CategoriesOf(j) is not null) fill = seen.GroupBy(v => v).OrderByDescending(g => g.Count()).ThenBy(g => g.Key).First().Key;
            else
            {
                Array.Sort(seen);
                fill = seen[seen.Length / 2];
            }
            for (var i = 0; i < n; i++)
            {
                if (double.IsNaN(result[i, j])) result[i, j] = fill;
            }
        }
        return result;
    }
}
