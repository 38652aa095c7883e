using System.Text.Json;

namespace Forge.Tuning.Tests;

/// <summary>The Gaussian process against scikit-learn (golden/gp.json), its gradients against finite differences, and the sampler's encoding.</summary>
public sealed class GpTests
{
    private static readonly JsonElement Data = Golden.Load("gp.json");

    private static (double[][] X, double[] Y, double[] Theta, JsonElement Case)[] Cases() =>
        Data.GetProperty("cases").EnumerateArray().Select(c =>
        {
            var x = c.GetProperty("x").EnumerateArray().Select(r => r.Doubles()).ToArray();
            var y = c.GetProperty("y").Doubles();
            var lengths = c.GetProperty("lengthScales").Doubles();
            var theta = lengths.Select(l => Math.Log(l)).Append(Math.Log(c.GetProperty("signal").GetDouble()))
                .Append(Math.Log(c.GetProperty("noise").GetDouble() - GaussianProcess.MinNoise)).ToArray();
            return (x, y, theta, c);
        }).ToArray();

    [Fact]
    public void Marginal_likelihood_and_gradient_match_scikit_learn()
    {
        foreach (var (x, y, theta, c) in Cases())
        {
            var dims = x[0].Length;
            var gradient = new double[dims + 2];
            var value = GaussianProcess.NegativeLogMarginalLikelihood(theta, gradient, GaussianProcess.SquaredDifferences(x, dims), y, dims);
            Golden.Close(-c.GetProperty("logMarginalLikelihood").GetDouble(), value, 1e-10, $"-log p (n={y.Length})");
            var g = c.GetProperty("gradient");
            var lengths = g.GetProperty("logLengths").Doubles();
            for (var d = 0; d < dims; d++) Golden.Close(-lengths[d], gradient[d], 1e-8, $"∂/∂log ℓ{d}");
            Golden.Close(-g.GetProperty("logSignal").GetDouble(), gradient[dims], 1e-8, "∂/∂log σ²");
            // scikit-learn differentiates by log(noise); Forge by log(noise - floor).
            var noise = c.GetProperty("noise").GetDouble();
            Golden.Close(-g.GetProperty("logNoise").GetDouble() * (noise - GaussianProcess.MinNoise) / noise, gradient[dims + 1], 1e-8, "∂/∂log σn²");
        }
    }

    [Fact]
    public void Posterior_mean_and_latent_variance_match_scikit_learn()
    {
        foreach (var (x, y, theta, c) in Cases())
        {
            var gp = GaussianProcess.Create(x, y, theta);
            var predict = c.GetProperty("predict");
            var points = predict.GetProperty("x").EnumerateArray().Select(r => r.Doubles()).ToArray();
            var mean = predict.GetProperty("mean").Doubles();
            var variance = predict.GetProperty("latentVariance").Doubles();
            for (var i = 0; i < points.Length; i++)
            {
                var (m, v) = gp.Predict(points[i]);
                Golden.Close(mean[i], m, 1e-9, $"mean {i}");
                Golden.Close(variance[i], v, 1e-8, $"variance {i}");
            }
        }
    }

    [Fact]
    public void Posterior_gradient_matches_finite_differences()
    {
        var (x, y, theta, _) = Cases()[1];
        var dims = x[0].Length;
        var squared = GaussianProcess.SquaredDifferences(x, dims);
        var gradient = new double[dims + 2];
        GaussianProcess.NegativeLogPosterior(theta, gradient, squared, y, dims);
        var scratch = new double[dims + 2];
        for (var j = 0; j < theta.Length; j++)
        {
            const double H = 1e-6;
            var plus = (double[])theta.Clone();
            var minus = (double[])theta.Clone();
            plus[j] += H;
            minus[j] -= H;
            var numeric = (GaussianProcess.NegativeLogPosterior(plus, scratch, squared, y, dims) - GaussianProcess.NegativeLogPosterior(minus, scratch, squared, y, dims)) / (2 * H);
            Golden.Close(numeric, gradient[j], 1e-5, $"∂/∂θ{j}");
        }
    }

    [Fact]
    public void Log_expected_improvement_gradient_matches_finite_differences()
    {
        var (x, y, theta, _) = Cases()[2];
        var gp = GaussianProcess.Create(x, y, theta);
        var best = y.Min();
        foreach (var point in new[] { new[] { 0.3, 0.7 }, new[] { 0.05, 0.95 }, x[0].Select(v => Math.Clamp(v + 0.01, 0, 1)).ToArray() })
        {
            var gradient = new double[2];
            var value = gp.LogExpectedImprovement(point, best, gradient);
            Assert.True(double.IsFinite(value));
            Golden.Close(value, gp.LogExpectedImprovement(point, best, []), 1e-15, "value without gradient");
            for (var d = 0; d < 2; d++)
            {
                const double H = 1e-6;
                var plus = (double[])point.Clone();
                var minus = (double[])point.Clone();
                plus[d] += H;
                minus[d] -= H;
                var numeric = (gp.LogExpectedImprovement(plus, best, []) - gp.LogExpectedImprovement(minus, best, [])) / (2 * H);
                Golden.Close(numeric, gradient[d], 1e-4, $"∂ log EI/∂x{d} at ({point[0]}, {point[1]})");
            }
        }
    }

    [Fact]
    public void Expected_improvement_is_highest_where_the_mean_is_low_and_the_spread_wide()
    {
        var x = new[] { new[] { 0.1 }, new[] { 0.5 }, new[] { 0.9 } };
        var y = new[] { 1.0, -1.0, 1.0 };
        var gp = GaussianProcess.Create(x, y, [Math.Log(0.2), 0, Math.Log(1e-4)]);
        var nearBest = gp.LogExpectedImprovement([0.52], -1.0, []);
        var nearWorst = gp.LogExpectedImprovement([0.12], -1.0, []);
        Assert.True(nearBest > nearWorst);
        var (mean, variance) = gp.Predict([0.5]);
        Assert.InRange(mean, -1.01, -0.99);
        Assert.InRange(variance, 0, 1e-3);
        Assert.InRange(gp.Predict([3.0]).Variance, 0.99, 1.0);
    }

    [Fact]
    public void Fitting_recovers_a_long_length_scale_for_a_smooth_function_and_a_short_one_for_a_wiggly_one()
    {
        var rng = new Numerics.Rng(5);
        var x = Enumerable.Range(0, 30).Select(_ => new[] { rng.NextDouble(), rng.NextDouble() }).ToArray();
        // Smooth in x0, fast in x1: ARD must give x1 the shorter length scale.
        var y = x.Select(p => Math.Sin(1.0 * p[0]) + Math.Sin(12 * p[1])).ToArray();
        var mean = y.Average();
        var sd = Math.Sqrt(y.Sum(v => (v - mean) * (v - mean)) / y.Length);
        var z = y.Select(v => (v - mean) / sd).ToArray();
        var gp = GaussianProcess.Fit(x, z, [GaussianProcess.DefaultTheta(2)]);
        Assert.True(gp.Theta[1] < gp.Theta[0] - 0.5, $"log ℓ = [{gp.Theta[0]:F2}, {gp.Theta[1]:F2}]");
        Assert.InRange(gp.NoiseVariance, GaussianProcess.MinNoise, 0.05);
    }

    [Fact]
    public void Yeo_johnson_lambda_matches_scipy()
    {
        foreach (var c in Golden.Load("yeojohnson.json").GetProperty("cases").EnumerateArray())
        {
            var y = c.GetProperty("y").Doubles();
            Golden.Close(c.GetProperty("lambda").GetDouble(), YeoJohnson.FitLambda(y), 2e-5, $"λ of {y.Length} values");
        }
        Assert.Equal(Math.Log(3.0), YeoJohnson.Transform(2, 0), 15);
        Assert.Equal(-Math.Log(3.0), YeoJohnson.Transform(-2, 2), 15);
        Assert.Equal(2.0, YeoJohnson.Transform(2, 1), 15);
        Assert.Equal(-2.0, YeoJohnson.Transform(-2, 1), 15);
        Assert.Equal((Math.Pow(3, 0.5) - 1) / 0.5, YeoJohnson.Transform(2, 0.5), 15);
        Assert.Equal(-(Math.Pow(3, 1.5) - 1) / 1.5, YeoJohnson.Transform(-2, 0.5), 15);
    }

    [Fact]
    public void Encoder_maps_every_kind_to_the_unit_cube_and_back()
    {
        var space = new Dictionary<string, Distribution>
        {
            ["a"] = new CategoricalDistribution(["x", "y", "z"]),
            ["f"] = new FloatDistribution(-2, 2),
            ["i"] = new IntDistribution(1, 5),
            ["l"] = new FloatDistribution(1e-4, 1, log: true),
        };
        var encoder = new UnitCubeEncoder(space);
        Assert.Equal(6, encoder.Dimensions);
        var trial = Trials.WithParams(0, TrialState.Complete, 1, new Dictionary<string, (double, Distribution)>
        {
            ["a"] = (2, space["a"]),
            ["f"] = (1, space["f"]),
            ["i"] = (3, space["i"]),
            ["l"] = (1e-2, space["l"]),
        });
        Assert.True(encoder.Covers(trial));
        var x = encoder.Encode(trial);
        Assert.Equal([0, 0, 1, 0.75, 0.5, 0.5], x.Select(v => Math.Round(v, 12)));
        Assert.Equal([2, 1, 3, 1e-2], encoder.Decode(x).Select(v => Math.Round(v, 12)));
        // Snapping picks the largest one-hot coordinate and moves the integer to the middle of its cell:
        // 0.33 is 0.5 + 0.33·5 = 2.15 on [0.5, 5.5], so 2, whose cell centre is (2 - 0.5)/5 = 0.3.
        var snapped = encoder.Snap([0.2, 0.6, 0.1, 0.3, 0.33, 0.9]);
        Assert.Equal([0, 1, 0, 0.3, 0.3, 0.9], snapped.Select(v => Math.Round(v, 12)));
        Assert.Equal(2, encoder.CategoricalNeighbours(snapped).Count());
        Assert.False(encoder.Covers(Trials.Make(1, TrialState.Complete, 1)));
    }
}
