using Forge.Core;

namespace Forge.Explainability.Agnostic;

/// <summary>Options of <see cref="PermutationShapExplainer"/>.</summary>
public sealed record PermutationShapOptions
{
    /// <summary>Random permutations per row, each walked forward and backward (antithetic). Default 10.</summary>
    public int Permutations { get; init; } = 10;

    /// <summary>Seed of the permutations. Default 0.</summary>
    public int Seed { get; init; }

    /// <summary>Feature names for the explanation; null for "f0", "f1", ….</summary>
    public IReadOnlyList<string>? FeatureNames { get; init; }

    /// <summary>Threads used for rows; 0 means one per core. Default 0.</summary>
    public int MaxDegreeOfParallelism { get; init; }

    /// <summary>Reports every problem at once.</summary>
    public void Validate()
    {
        var problems = new List<string>();
        if (Permutations < 1) problems.Add($"Permutations must be at least 1 (is {Permutations})");
        if (MaxDegreeOfParallelism < 0) problems.Add($"MaxDegreeOfParallelism must be 0 (all cores) or more (is {MaxDegreeOfParallelism})");
        if (problems.Count > 0) throw new UsageException("invalid permutation SHAP options: " + string.Join("; ", problems));
    }
}

/// <summary>
/// Permutation SHAP: the average marginal contribution of each feature as features are switched from background to
/// the row in random orders. Each order is also walked in reverse (antithetic sampling), which cancels much of the
/// noise. Every walk telescopes from E[f] to f(x), so the values always add up exactly; 2·(d−1) coalitions per permutation.
/// </summary>
public sealed class PermutationShapExplainer : CoalitionExplainer
{
    /// <summary>Prepares the explainer; the base value is the model's mean output over <paramref name="background"/>.</summary>
    public PermutationShapExplainer(IModelFunction model, Background background, PermutationShapOptions? options = null)
        : base(model, background, Validated(options ??= new PermutationShapOptions()).FeatureNames, options.MaxDegreeOfParallelism)
    {
        Options = options;
    }

    private static PermutationShapOptions Validated(PermutationShapOptions options)
    {
        options.Validate();
        return options;
    }

    /// <inheritdoc/>
    public override string Method => "permutation";

    /// <summary>The options in force.</summary>
    public PermutationShapOptions Options { get; }

    private protected override void ExplainRow(int row, ReadOnlySpan<double> x, ReadOnlySpan<double> fx, Span<double> phi, Worker worker)
    {
        var d = D;
        var k = K;
        if (d == 1)
        {
            for (var o = 0; o < k; o++) phi[o] = fx[o] - ExpectedValue[o];
            return;
        }
        var rng = new Random(Numerics.Seeds.For(Options.Seed, row));
        var walks = 2 * Options.Permutations;
        var steps = d - 1;                       // coalitions strictly between empty and full
        var orders = new int[walks][];
        var masks = new byte[walks * steps * d];
        for (var p = 0; p < Options.Permutations; p++)
        {
            var order = Enumerable.Range(0, d).ToArray();
            rng.Shuffle(order);
            orders[2 * p] = order;
            orders[2 * p + 1] = order.Reverse().ToArray();
        }
        for (var walk = 0; walk < walks; walk++)
        {
            for (var i = 0; i < steps; i++)
            {
                var mask = masks.AsSpan((walk * steps + i) * d, d);
                for (var j = 0; j <= i; j++) mask[orders[walk][j]] = 1;
            }
        }
        var v = new double[walks * steps * k];
        worker.Evaluate(x, masks, walks * steps, v);
        for (var walk = 0; walk < walks; walk++)
        {
            var order = orders[walk];
            for (var o = 0; o < k; o++)
            {
                var previous = ExpectedValue[o];
                for (var i = 0; i < d; i++)
                {
                    var current = i < steps ? v[(walk * steps + i) * k + o] : fx[o];
                    phi[o * d + order[i]] += (current - previous) / walks;
                    previous = current;
                }
            }
        }
    }
}
