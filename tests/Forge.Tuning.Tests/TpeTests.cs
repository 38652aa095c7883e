using System.Text.Json;

namespace Forge.Tuning.Tests;

/// <summary>TPE's pieces against Optuna 3.1 (golden/parzen.json, golden/tpe.json) and its behaviour on small studies.</summary>
public sealed class TpeTests
{
    [Fact]
    public void Parzen_estimator_log_densities_match_optuna()
    {
        var golden = Golden.Load("parzen.json");
        var cases = 0;
        foreach (var c in golden.GetProperty("cases").EnumerateArray())
        {
            var space = c.GetProperty("space").EnumerateObject().ToList();
            var names = space.Select(p => p.Name).ToArray();
            var distributions = space.Select(p => Distribution.FromJson(p.Value.GetRawText())).ToArray();
            var observations = c.GetProperty("observations").EnumerateArray().Select(o => o.Doubles()).ToList();
            var multivariate = c.GetProperty("multivariate").GetBoolean();
            var estimator = new ParzenEstimator(observations, TpeSampler.DefaultWeights(observations.Count), distributions,
                new ParzenParameters(1.0, MagicClip: true, Endpoints: false, multivariate));
            var weights = c.GetProperty("weights").Doubles();
            for (var k = 0; k < weights.Length; k++) Golden.Close(weights[k], estimator.Weights[k], 1e-12, $"weight {k}");
            for (var p = 0; p < names.Length; p++)
            {
                var kernels = c.GetProperty("kernels").GetProperty(names[p]);
                if (kernels.GetProperty("mu").ValueKind == JsonValueKind.Null) continue;
                var mu = kernels.GetProperty("mu").Doubles();
                var sigma = kernels.GetProperty("sigma").Doubles();
                for (var k = 0; k < mu.Length; k++)
                {
                    Golden.Close(mu[k], estimator.Centres(p)[k], 1e-12, $"{names[p]} centre {k}");
                    Golden.Close(sigma[k], estimator.Widths(p)[k], 1e-12, $"{names[p]} width {k} (n={observations.Count}, joint={multivariate})");
                }
            }
            var points = c.GetProperty("points").EnumerateArray().Select(p => p.Doubles()).ToArray();
            var expected = c.GetProperty("logPdf").Doubles();
            for (var i = 0; i < points.Length; i++)
            {
                Golden.Close(expected[i], estimator.LogPdf(points[i]), 1e-6,
                    $"{(multivariate ? "joint" : "single")} [{string.Join(",", names)}] n={observations.Count} point {i}");
            }
            cases++;
        }
        Assert.True(cases >= 20, $"only {cases} golden cases");
    }

    [Fact]
    public void Default_gamma_and_weights_match_optuna()
    {
        var golden = Golden.Load("tpe.json");
        foreach (var pair in golden.GetProperty("gamma").EnumerateArray())
            Assert.Equal(pair[1].GetInt32(), TpeSampler.DefaultGamma(pair[0].GetInt32()));
        foreach (var pair in golden.GetProperty("weights").EnumerateArray())
        {
            var n = pair[0].GetInt32();
            var expected = pair[1].Doubles();
            var actual = TpeSampler.DefaultWeights(n);
            Assert.Equal(expected.Length, actual.Length);
            for (var i = 0; i < n; i++) Golden.Close(expected[i], actual[i], 1e-15, $"weight {i} of {n}");
        }
    }
}
