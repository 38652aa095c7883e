using Forge.Core;

namespace Forge.Explainability.Agnostic;

/// <summary>Options of <see cref="ExactShapExplainer"/>.</summary>
public sealed record ExactShapOptions
{
    /// <summary>Most features exact enumeration accepts: 2^15 coalitions per row. Default and ceiling 15.</summary>
    public const int MaxFeatures = 15;

    /// <summary>Feature names for the explanation; null for "f0", "f1", ….</summary>
    public IReadOnlyList<string>? FeatureNames { get; init; }

    /// <summary>Threads used for rows; 0 means one per core. Default 0.</summary>
    public int MaxDegreeOfParallelism { get; init; }
}

/// <summary>
/// Exact interventional SHAP for any model: every one of the 2^d coalitions is evaluated against the background and the
/// Shapley sums are taken directly. Exponential in the feature count, so limited to <see cref="ExactShapOptions.MaxFeatures"/>.
/// </summary>
public sealed class ExactShapExplainer : CoalitionExplainer
{
    /// <summary>Prepares the explainer; the base value is the model's mean output over <paramref name="background"/>.</summary>
    public ExactShapExplainer(IModelFunction model, Background background, ExactShapOptions? options = null)
        : base(model, background, (options ??= new ExactShapOptions()).FeatureNames, options.MaxDegreeOfParallelism)
    {
        Options = options;
    }

    /// <inheritdoc/>
    public override string Method => "exact";

    /// <summary>The options in force.</summary>
    public ExactShapOptions Options { get; }

    private protected override void Prepare()
    {
        if (D > ExactShapOptions.MaxFeatures)
        {
            throw new UsageException(
                $"exact SHAP enumerates 2^d coalitions; {D} features is too many (max {ExactShapOptions.MaxFeatures}); use --method kernel or permutation (KernelShapExplainer, PermutationShapExplainer), or tree for tree models");
        }
    }

    private protected override void ExplainRow(int row, ReadOnlySpan<double> x, ReadOnlySpan<double> fx, Span<double> phi, Worker worker)
    {
        var d = D;
        var k = K;
        var coalitions = 1 << d;
        var masks = new byte[coalitions * d];
        for (var s = 0; s < coalitions; s++)
        {
            for (var f = 0; f < d; f++) masks[s * d + f] = (byte)((s >> f) & 1);
        }
        var v = new double[coalitions * k];
        worker.Evaluate(x, masks, coalitions, v);
        var weight = new double[d];
        for (var size = 0; size < d; size++) weight[size] = Trees.TreeShapTables.ShapleyWeight(size, d);
        for (var s = 0; s < coalitions; s++)
        {
            var size = System.Numerics.BitOperations.PopCount((uint)s);
            if (size == d) continue;
            var w = weight[size];
            for (var f = 0; f < d; f++)
            {
                if ((s >> f & 1) != 0) continue;
                var with = (s | 1 << f) * k;
                for (var o = 0; o < k; o++) phi[o * d + f] += w * (v[with + o] - v[s * k + o]);
            }
        }
    }
}
