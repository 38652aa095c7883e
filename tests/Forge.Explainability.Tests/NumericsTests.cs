using Forge.Explainability.Numerics;

namespace Forge.Explainability.Tests;

/// <summary>The hand-written numerics against scipy / numpy (golden/make_numerics_golden.py).</summary>
public sealed class NumericsTests
{
    private static readonly System.Text.Json.JsonElement G = Golden.Json("numerics.golden.json");

    [Fact]
    public void Erf_erfc_and_the_normal_cdf_match_scipy_to_near_machine_precision()
    {
        var xs = Golden.Flat(G.GetProperty("x"));
        var erf = Golden.Flat(G.GetProperty("erf"));
        var erfc = Golden.Flat(G.GetProperty("erfc"));
        var cdf = Golden.Flat(G.GetProperty("cdf"));
        for (var i = 0; i < xs.Length; i++)
        {
            AssertRelative(erf[i], Normal.Erf(xs[i]), 1e-14, $"erf({xs[i]})");
            AssertRelative(erfc[i], Normal.Erfc(xs[i]), 1e-13, $"erfc({xs[i]})");
            AssertRelative(cdf[i], Normal.Cdf(xs[i]), 1e-13, $"cdf({xs[i]})");
        }
    }

    [Fact]
    public void The_inverse_normal_cdf_matches_scipy_ppf()
    {
        var ps = Golden.Flat(G.GetProperty("p"));
        var ppf = Golden.Flat(G.GetProperty("ppf"));
        for (var i = 0; i < ps.Length; i++)
        {
            var got = Normal.InverseCdf(ps[i]);
            Assert.True(Math.Abs(got - ppf[i]) <= 1e-12 * Math.Max(1, Math.Abs(ppf[i])), $"ppf({ps[i]}) = {got}, scipy {ppf[i]}");
        }
        Assert.Equal(double.NegativeInfinity, Normal.InverseCdf(0));
        Assert.Equal(double.PositiveInfinity, Normal.InverseCdf(1));
        Assert.True(double.IsNaN(Normal.InverseCdf(1.5)));
        Assert.True(double.IsNaN(Normal.Erf(double.NaN)));
        Assert.True(double.IsNaN(Normal.Erfc(double.NaN)));
    }

    [Fact]
    public void Truncated_normal_draws_stay_inside_their_interval_and_centre_on_the_mean()
    {
        var rng = new Random(3);
        var sum = 0.0;
        for (var i = 0; i < 20_000; i++)
        {
            var v = Normal.TruncatedSample(rng, 1.0, 2.0, -1.0, 3.0);
            Assert.InRange(v, -1.0, 3.0);
            sum += v;
        }
        // Symmetric truncation around the mean: the mean of the draws is the mean (standard error ≈ 0.008).
        Assert.InRange(sum / 20_000, 0.97, 1.03);
        Assert.Equal(2.0, Normal.TruncatedSample(rng, 2.0, 0, 0, 5));
        Assert.Equal(5.0, Normal.TruncatedSample(rng, 9.0, 0, 0, 5));
        // An interval far in the tail falls back to a uniform draw inside it.
        Assert.InRange(Normal.TruncatedSample(rng, 0, 1, 40, 41), 40, 41);
    }

    [Fact]
    public void Standard_normal_draws_have_mean_zero_and_variance_one()
    {
        var rng = new Random(5);
        double sum = 0, squares = 0;
        const int n = 40_000;
        for (var i = 0; i < n; i++)
        {
            var z = Normal.Sample(rng);
            sum += z;
            squares += z * z;
        }
        Assert.InRange(sum / n, -0.02, 0.02);
        Assert.InRange(squares / n, 0.97, 1.03);
    }

    [Fact]
    public void Weighted_ridge_without_penalty_recovers_an_exact_linear_relation()
    {
        var rng = new Random(1);
        const int n = 50, p = 3;
        var x = new double[n * p];
        var y = new double[n];
        var w = new double[n];
        for (var i = 0; i < n; i++)
        {
            for (var j = 0; j < p; j++) x[i * p + j] = rng.NextDouble() * 4 - 2;
            y[i] = 1.5 + 2 * x[i * p] - 3 * x[i * p + 1] + 0.5 * x[i * p + 2];
            w[i] = 0.1 + rng.NextDouble();
        }

        var (beta, intercept, r2) = LinearAlgebra.WeightedRidge(x, y, w, n, p, 0);

        Assert.Equal(2.0, beta[0], 10);
        Assert.Equal(-3.0, beta[1], 10);
        Assert.Equal(0.5, beta[2], 10);
        Assert.Equal(1.5, intercept, 10);
        Assert.Equal(1.0, r2, 10);
    }

    [Fact]
    public void Ridge_penalty_shrinks_coefficients_to_the_closed_form()
    {
        // One centred feature x = ±1 with equal weights and y = 2x: β = Σwxy / (Σwx² + α) = 2n / (n + α).
        const int n = 10;
        var x = Enumerable.Range(0, n).Select(i => i % 2 == 0 ? 1.0 : -1.0).ToArray();
        var y = x.Select(v => 2 * v + 5).ToArray();
        var w = Enumerable.Repeat(1.0, n).ToArray();

        var (beta, intercept, _) = LinearAlgebra.WeightedRidge(x, y, w, n, 1, 1);

        Assert.Equal(2.0 * n / (n + 1), beta[0], 12);
        Assert.Equal(5.0, intercept, 12);
    }

    [Fact]
    public void A_singular_system_is_solved_with_the_smallest_ridge_instead_of_failing()
    {
        // Two identical columns: any split of the coefficient fits; the solver returns a finite one.
        double[] a = [2, 2, 2, 2];
        double[] b = [4, 4];

        var x = LinearAlgebra.SolveSymmetric(a, b, 2, 1);

        Assert.All(x, v => Assert.True(double.IsFinite(v)));
        Assert.Equal(2.0, x[0] + x[1], 6);
    }

    private static void AssertRelative(double expected, double actual, double tolerance, string what)
    {
        var error = Math.Abs(actual - expected);
        Assert.True(error <= tolerance * Math.Max(Math.Abs(expected), 1e-300), $"{what}: {actual} vs scipy {expected} (error {error:G3})");
    }
}
