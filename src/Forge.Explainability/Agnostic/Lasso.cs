namespace Forge.Explainability.Agnostic;

/// <summary>
/// L1 feature selection for KernelSHAP: a weighted lasso path (coordinate descent, warm-started from the largest penalty
/// down) on the coalition masks, keeping either the first features to enter or the step with the best AIC.
/// </summary>
internal static class Lasso
{
    private const int PathSteps = 60;

    /// <summary>Indices (into the plan's features) to fit; the union over outputs. <paramref name="maxFeatures"/> &lt; 0 selects by AIC.</summary>
    internal static int[] Select(CoalitionPlan plan, double[] v, int k, ReadOnlySpan<double> fx, IReadOnlyList<double> expected, int maxFeatures)
    {
        var chosen = new SortedSet<int>();
        for (var o = 0; o < k; o++)
        {
            var y = new double[plan.Count];
            for (var s = 0; s < plan.Count; s++) y[s] = v[s * k + o] - expected[o];
            foreach (var j in SelectOne(plan, y, maxFeatures)) chosen.Add(j);
        }
        return chosen.ToArray();
    }

    private static int[] SelectOne(CoalitionPlan plan, double[] y, int maxFeatures)
    {
        var m = plan.FeatureCount;
        var n = plan.Count;
        var w = plan.Weights;
        var z = plan.Masks;
        var scale = new double[m];
        var correlation = new double[m];
        var weightSum = 0.0;
        for (var s = 0; s < n; s++)
        {
            weightSum += w[s];
            for (var j = 0; j < m; j++)
            {
                if (z[s * m + j] == 0) continue;
                scale[j] += w[s];
                correlation[j] += w[s] * y[s];
            }
        }
        var lambdaMax = correlation.Select(Math.Abs).Max();
        var beta = new double[m];
        var residual = (double[])y.Clone();
        int[] best = [Array.IndexOf(correlation, correlation.MaxBy(Math.Abs))];
        var bestAic = double.PositiveInfinity;
        for (var step = 1; step <= PathSteps && lambdaMax > 0; step++)
        {
            var lambda = lambdaMax * Math.Pow(1e-4, step / (double)PathSteps);
            for (var sweep = 0; sweep < 200; sweep++)
            {
                var change = 0.0;
                for (var j = 0; j < m; j++)
                {
                    if (scale[j] == 0) continue;
                    // rho = Σ w z_j (r + z_j β_j); masks are 0/1, so z_j² = z_j.
                    var rho = scale[j] * beta[j];
                    for (var s = 0; s < n; s++)
                    {
                        if (z[s * m + j] != 0) rho += w[s] * residual[s];
                    }
                    var updated = Math.Sign(rho) * Math.Max(Math.Abs(rho) - lambda, 0) / scale[j];
                    var delta = updated - beta[j];
                    if (delta == 0) continue;
                    for (var s = 0; s < n; s++)
                    {
                        if (z[s * m + j] != 0) residual[s] -= delta;
                    }
                    beta[j] = updated;
                    change = Math.Max(change, Math.Abs(delta));
                }
                if (change < 1e-10 * Math.Max(1, lambdaMax)) break;
            }
            var active = Enumerable.Range(0, m).Where(j => beta[j] != 0).ToArray();
            if (maxFeatures > 0)
            {
                if (active.Length >= maxFeatures)
                    return active.OrderByDescending(j => Math.Abs(beta[j])).Take(maxFeatures).Order().ToArray();
                if (active.Length > 0) best = active;
                continue;
            }
            var rss = 0.0;
            for (var s = 0; s < n; s++) rss += w[s] * residual[s] * residual[s];
            var aic = n * Math.Log(Math.Max(rss / weightSum, 1e-300)) + 2 * active.Length;
            if (active.Length > 0 && aic < bestAic)
            {
                bestAic = aic;
                best = active;
            }
        }
        return best;
    }
}
