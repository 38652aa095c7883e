using Forge.Core;
using Forge.Explainability.Numerics;

namespace Forge.Explainability.Agnostic;

/// <summary>How KernelSHAP picks the features it fits when the coalition budget is small.</summary>
public enum KernelFeatureSelection
{
    /// <summary>Fit every feature that varies (default).</summary>
    None,

    /// <summary>Pick features on the lasso path by AIC, but only when fewer than 20% of all coalitions are evaluated.</summary>
    Auto,

    /// <summary>Keep the first <see cref="KernelShapOptions.MaxFeatures"/> features to enter the lasso path.</summary>
    TopFeatures,
}

/// <summary>Options of <see cref="KernelShapExplainer"/>.</summary>
public sealed record KernelShapOptions
{
    /// <summary>Coalitions evaluated per row; null for 2·d + 2048. When it covers all 2^d − 2 coalitions the result is exact.</summary>
    public int? Samples { get; init; }

    /// <summary>Seed of the coalition sampling. Default 0.</summary>
    public int Seed { get; init; }

    /// <summary>L1 feature selection. Default <see cref="KernelFeatureSelection.None"/>.</summary>
    public KernelFeatureSelection FeatureSelection { get; init; } = KernelFeatureSelection.None;

    /// <summary>For <see cref="KernelFeatureSelection.TopFeatures"/>: how many features keep non-zero values.</summary>
    public int MaxFeatures { get; init; } = 10;

    /// <summary>Feature names for the explanation; null for "f0", "f1", ….</summary>
    public IReadOnlyList<string>? FeatureNames { get; init; }

    /// <summary>Threads used for rows; 0 means one per core. Default 0.</summary>
    public int MaxDegreeOfParallelism { get; init; }

    /// <summary>Reports every problem at once.</summary>
    public void Validate()
    {
        var problems = new List<string>();
        if (Samples is < 2) problems.Add($"Samples must be at least 2 (is {Samples})");
        if (FeatureSelection == KernelFeatureSelection.TopFeatures && MaxFeatures < 1) problems.Add($"MaxFeatures must be at least 1 (is {MaxFeatures})");
        if (MaxDegreeOfParallelism < 0) problems.Add($"MaxDegreeOfParallelism must be 0 (all cores) or more (is {MaxDegreeOfParallelism})");
        if (problems.Count > 0) throw new UsageException("invalid KernelSHAP options: " + string.Join("; ", problems));
    }
}

/// <summary>
/// KernelSHAP (Lundberg &amp; Lee 2017): SHAP values as the weighted least-squares fit of v(S) − E[f] on coalition masks
/// with the Shapley kernel weight (M−1) / (C(M,|S|)·|S|·(M−|S|)), constrained so the values add up to f(x) − E[f].
/// Coalition sizes are enumerated completely from the smallest and largest inward while the budget allows, the rest
/// sampled in complementary pairs. With a budget of all 2^M − 2 coalitions the answer is the exact Shapley value.
/// Features equal to every background row cannot change the output and get zero without being fitted.
/// </summary>
public sealed class KernelShapExplainer : CoalitionExplainer
{
    /// <summary>Prepares the explainer; the base value is the model's mean output over <paramref name="background"/>.</summary>
    public KernelShapExplainer(IModelFunction model, Background background, KernelShapOptions? options = null)
        : base(model, background, Validated(options ??= new KernelShapOptions()).FeatureNames, options.MaxDegreeOfParallelism)
    {
        Options = options;
    }

    private static KernelShapOptions Validated(KernelShapOptions options)
    {
        options.Validate();
        return options;
    }

    /// <inheritdoc/>
    public override string Method => "kernel";

    /// <summary>The options in force.</summary>
    public KernelShapOptions Options { get; }

    private protected override void ExplainRow(int row, ReadOnlySpan<double> x, ReadOnlySpan<double> fx, Span<double> phi, Worker worker)
    {
        var d = D;
        var k = K;
        var varying = VaryingFeatures(x);
        var m = varying.Length;
        if (m == 0) return;
        if (m == 1)
        {
            for (var o = 0; o < k; o++) phi[o * d + varying[0]] = fx[o] - ExpectedValue[o];
            return;
        }
        var budget = Options.Samples ?? 2 * d + 2048;
        // Seeded per row so a row's values do not depend on which thread or batch it landed in.
        var rng = new Random(Numerics.Seeds.For(Options.Seed, row));
        var plan = CoalitionPlan.Build(m, budget, rng);

        var count = plan.Count;
        var masks = new byte[count * d];
        for (var s = 0; s < count; s++)
        {
            for (var j = 0; j < m; j++)
            {
                if (plan.Masks[s * m + j] != 0) masks[s * d + varying[j]] = 1;
            }
        }
        var v = new double[count * k];
        worker.Evaluate(x, masks, count, v);

        var selected = Enumerable.Range(0, m).ToArray();
        var fraction = count / (Math.Pow(2, m) - 2);
        if (Options.FeatureSelection == KernelFeatureSelection.TopFeatures && Options.MaxFeatures < m
            || Options.FeatureSelection == KernelFeatureSelection.Auto && fraction < 0.2)
        {
            selected = Lasso.Select(plan, v, k, fx, ExpectedValue, Options.FeatureSelection == KernelFeatureSelection.TopFeatures ? Options.MaxFeatures : -1);
        }
        var solution = Solve(plan, v, selected, fx);
        for (var o = 0; o < k; o++)
        {
            for (var j = 0; j < selected.Length; j++) phi[o * d + varying[selected[j]]] = solution[j * k + o];
        }
    }

    /// <summary>Features where the row differs from at least one background row (NaN equals NaN).</summary>
    private int[] VaryingFeatures(ReadOnlySpan<double> x)
    {
        var bg = Background.RowData;
        var d = D;
        var result = new List<int>();
        for (var f = 0; f < d; f++)
        {
            for (var b = 0; b < Background.Count; b++)
            {
                var v = bg[b * d + f];
                if (v.Equals(x[f])) continue;
                result.Add(f);
                break;
            }
        }
        return result.ToArray();
    }

    /// <summary>
    /// Weighted least squares with the efficiency constraint: the last selected feature is eliminated as
    /// Δ − Σ others, so the fit runs on z_j − z_last against y − z_last·Δ.
    /// </summary>
    private double[] Solve(CoalitionPlan plan, double[] v, int[] selected, ReadOnlySpan<double> fx)
    {
        var k = K;
        var p = selected.Length;
        var result = new double[p * k];
        if (p == 0) return result;
        var delta = new double[k];
        for (var o = 0; o < k; o++) delta[o] = fx[o] - ExpectedValue[o];
        if (p == 1)
        {
            for (var o = 0; o < k; o++) result[o] = delta[o];
            return result;
        }
        var q = p - 1;
        var last = selected[p - 1];
        var a = new double[q * q];
        var b = new double[q * k];
        var z = new double[q];
        var m = plan.FeatureCount;
        for (var s = 0; s < plan.Count; s++)
        {
            var w = plan.Weights[s];
            var zl = plan.Masks[s * m + last];
            for (var j = 0; j < q; j++) z[j] = plan.Masks[s * m + selected[j]] - zl;
            for (var i = 0; i < q; i++)
            {
                if (z[i] == 0) continue;
                var wz = w * z[i];
                for (var j = 0; j <= i; j++) a[i * q + j] += wz * z[j];
                for (var o = 0; o < k; o++) b[i * k + o] += wz * (v[s * k + o] - ExpectedValue[o] - zl * delta[o]);
            }
        }
        for (var i = 0; i < q; i++)
        {
            for (var j = 0; j < i; j++) a[j * q + i] = a[i * q + j];
        }
        var x = LinearAlgebra.SolveSymmetric(a, b, q, k);
        for (var o = 0; o < k; o++)
        {
            var rest = 0.0;
            for (var j = 0; j < q; j++)
            {
                result[j * k + o] = x[j * k + o];
                rest += x[j * k + o];
            }
            result[q * k + o] = delta[o] - rest;
        }
        return result;
    }
}

/// <summary>The coalitions KernelSHAP evaluates for one row, over the M varying features, with their kernel weights.</summary>
internal sealed class CoalitionPlan
{
    private CoalitionPlan(int m, byte[] masks, double[] weights)
    {
        FeatureCount = m;
        Masks = masks;
        Weights = weights;
    }

    internal int FeatureCount { get; }

    /// <summary>Count x M, 1 = the feature is taken from the row.</summary>
    internal byte[] Masks { get; }

    internal double[] Weights { get; }

    internal int Count => Weights.Length;

    internal static double Binomial(int n, int k)
    {
        var r = 1.0;
        for (var i = 1; i <= k; i++) r = r * (n - k + i) / i;
        return r;
    }

    /// <summary>
    /// Sizes s and M − s share the kernel weight (M−1)/(s(M−s)); going from the smallest size inward, a size (with its
    /// mirror) is enumerated completely when the remaining budget covers it in proportion to its weight. The remaining
    /// sizes are sampled by weight, each sample with its complement, repeats adding weight; their total weight is then
    /// set to what the enumerated sizes left.
    /// </summary>
    internal static CoalitionPlan Build(int m, int budget, Random rng)
    {
        var total = Math.Pow(2, m) - 2;
        var masks = new List<byte[]>();
        var weights = new List<double>();
        if (budget >= total)
        {
            for (long s = 1; s < (1L << m) - 1; s++)
            {
                var mask = new byte[m];
                var size = 0;
                for (var j = 0; j < m; j++)
                {
                    mask[j] = (byte)(s >> j & 1);
                    size += mask[j];
                }
                masks.Add(mask);
                weights.Add((m - 1) / (Binomial(m, size) * size * (m - size)));
            }
            return Pack(m, masks, weights);
        }

        var sizes = (m - 1 + 1) / 2;            // ceil((M-1)/2)
        var paired = (m - 1) / 2;               // floor((M-1)/2)
        var sizeWeight = new double[sizes + 1];
        for (var s = 1; s <= sizes; s++) sizeWeight[s] = (m - 1.0) / (s * (m - s)) * (s <= paired ? 2 : 1);
        var norm = sizeWeight.Sum();
        for (var s = 1; s <= sizes; s++) sizeWeight[s] /= norm;
        var remaining = (double[])sizeWeight.Clone();
        var left = budget;
        var complete = 0;
        var weightLeft = 1.0;
        for (var s = 1; s <= sizes; s++)
        {
            var subsets = Binomial(m, s) * (s <= paired ? 2 : 1);
            if (!(left * remaining[s] / subsets >= 1 - 1e-8)) break;
            complete = s;
            left -= (int)subsets;
            weightLeft -= sizeWeight[s];
            var w = sizeWeight[s] / Binomial(m, s) / (s <= paired ? 2 : 1);
            foreach (var mask in Combinations(m, s))
            {
                masks.Add(mask);
                weights.Add(w);
                if (s <= paired)
                {
                    masks.Add(mask.Select(b => (byte)(1 - b)).ToArray());
                    weights.Add(w);
                }
            }
            if (remaining[s] < 1)
            {
                var scale = 1 - remaining[s];
                for (var t = s + 1; t <= sizes; t++) remaining[t] /= scale;
            }
        }

        if (complete < sizes && left > 0)
        {
            var probabilities = sizeWeight.Skip(complete + 1).ToArray();
            var psum = probabilities.Sum();
            var sampled = new Dictionary<string, int>(StringComparer.Ordinal);
            var first = masks.Count;
            var attempts = 0;
            var added = 0;
            while (added < left && attempts < 8 * left + 1000)
            {
                attempts++;
                var u = rng.NextDouble() * psum;
                var size = complete + 1;
                for (var i = 0; i < probabilities.Length - 1 && (u -= probabilities[i]) > 0; i++) size++;
                var mask = new byte[m];
                foreach (var j in RandomSubset(m, size, rng)) mask[j] = 1;
                Add(mask);
                if (added < left) Add(mask.Select(b => (byte)(1 - b)).ToArray());
            }
            var sampledWeight = 0.0;
            for (var i = first; i < weights.Count; i++) sampledWeight += weights[i];
            for (var i = first; i < weights.Count; i++) weights[i] *= weightLeft / sampledWeight;

            void Add(byte[] mask)
            {
                var key = Convert.ToBase64String(mask);
                if (sampled.TryGetValue(key, out var at))
                {
                    weights[at] += 1;
                    return;
                }
                sampled[key] = masks.Count;
                masks.Add(mask);
                weights.Add(1);
                added++;
            }
        }
        return Pack(m, masks, weights);
    }

    private static CoalitionPlan Pack(int m, List<byte[]> masks, List<double> weights)
    {
        var flat = new byte[masks.Count * m];
        for (var i = 0; i < masks.Count; i++) masks[i].CopyTo(flat, i * m);
        return new CoalitionPlan(m, flat, weights.ToArray());
    }

    private static IEnumerable<byte[]> Combinations(int m, int size)
    {
        var index = Enumerable.Range(0, size).ToArray();
        while (true)
        {
            var mask = new byte[m];
            foreach (var i in index) mask[i] = 1;
            yield return mask;
            var p = size - 1;
            while (p >= 0 && index[p] == m - size + p) p--;
            if (p < 0) yield break;
            index[p]++;
            for (var q = p + 1; q < size; q++) index[q] = index[q - 1] + 1;
        }
    }

    private static int[] RandomSubset(int m, int size, Random rng)
    {
        var all = Enumerable.Range(0, m).ToArray();
        for (var i = 0; i < size; i++)
        {
            var j = rng.Next(i, m);
            (all[i], all[j]) = (all[j], all[i]);
        }
        return all[..size];
    }
}
