using Forge.Tuning.Numerics;

namespace Forge.Tuning.Tests;

/// <summary>The special functions, linear algebra and optimiser against mpmath/scipy values and closed forms.</summary>
public sealed class NumericsTests
{
    private static readonly System.Text.Json.JsonElement Special = Golden.Load("special.json");

    [Fact]
    public void Erfc_matches_mpmath_to_2e7_relative()
    {
        foreach (var pair in Special.GetProperty("erfc").EnumerateArray())
        {
            var (x, expected) = (pair[0].GetDouble(), pair[1].GetDouble());
            var actual = SpecialFunctions.Erfc(x);
            Assert.True(Math.Abs(actual - expected) <= 2e-7 * expected + 1e-300, $"erfc({x}) = {actual:R}, expected {expected:R}");
        }
    }

    [Fact]
    public void Erfcx_matches_mpmath_to_2e7_relative()
    {
        foreach (var pair in Special.GetProperty("erfcx").EnumerateArray())
        {
            var (x, expected) = (pair[0].GetDouble(), pair[1].GetDouble());
            var actual = SpecialFunctions.Erfcx(x);
            Assert.True(Math.Abs(actual - expected) <= 2e-7 * expected, $"erfcx({x}) = {actual:R}, expected {expected:R}");
        }
    }

    [Fact]
    public void Log_normal_cdf_matches_mpmath_in_both_tails()
    {
        foreach (var pair in Special.GetProperty("logNormalCdf").EnumerateArray())
        {
            var (z, expected) = (pair[0].GetDouble(), pair[1].GetDouble());
            Golden.Close(expected, SpecialFunctions.LogNormalCdf(z), 2e-7, $"log Φ({z})");
        }
    }

    [Fact]
    public void Normal_quantile_matches_mpmath_to_2e9_relative()
    {
        foreach (var pair in Special.GetProperty("normalQuantile").EnumerateArray())
        {
            var (p, expected) = (pair[0].GetDouble(), pair[1].GetDouble());
            var actual = SpecialFunctions.NormalQuantile(p);
            Assert.True(Math.Abs(actual - expected) <= 2e-9 * Math.Max(1, Math.Abs(expected)), $"Φ⁻¹({p}) = {actual:R}, expected {expected:R}");
        }
        Assert.Equal(double.NegativeInfinity, SpecialFunctions.NormalQuantile(0));
        Assert.Equal(double.PositiveInfinity, SpecialFunctions.NormalQuantile(1));
        Assert.True(double.IsNaN(SpecialFunctions.NormalQuantile(1.5)));
        Assert.True(double.IsNaN(SpecialFunctions.NormalQuantile(-0.1)));
    }

    [Fact]
    public void Log_gauss_mass_matches_mpmath_in_tails_and_across_zero()
    {
        foreach (var row in Special.GetProperty("logGaussMass").EnumerateArray())
        {
            var (a, b, expected) = (row[0].GetDouble(), row[1].GetDouble(), row[2].GetDouble());
            Golden.Close(expected, SpecialFunctions.LogGaussMass(a, b), 3e-7, $"log mass [{a}, {b}]");
        }
        Assert.Equal(double.NegativeInfinity, SpecialFunctions.LogGaussMass(1, 1));
        Assert.Equal(double.NegativeInfinity, SpecialFunctions.LogGaussMass(2, 1));
    }

    [Fact]
    public void Log_h_matches_mpmath_from_the_asymptotic_tail_to_positive_z()
    {
        foreach (var row in Special.GetProperty("logH").EnumerateArray())
        {
            var (z, expected) = (row[0].GetDouble(), row[1].GetDouble());
            Golden.Close(expected, SpecialFunctions.LogH(z), 2e-6, $"log h({z})");
        }
    }

    [Theory]
    [InlineData(-35.0)]
    [InlineData(-10.0)]
    [InlineData(-0.5)]
    [InlineData(2.0)]
    public void Log_h_derivative_matches_a_central_difference(double z)
    {
        const double H = 1e-5;
        var numeric = (SpecialFunctions.LogH(z + H) - SpecialFunctions.LogH(z - H)) / (2 * H);
        Golden.Close(numeric, SpecialFunctions.LogHDerivative(z), 1e-5, $"d log h/dz at {z}");
    }

    [Theory]
    [InlineData(1e-12, 1e-12)]
    [InlineData(-1e-9, -1e-9)]
    [InlineData(0.5, 0.40546510810816438)]
    [InlineData(-0.5, -0.69314718055994531)]
    [InlineData(1e300, 690.77552789821368)]
    public void Log1p_keeps_small_arguments_exact(double x, double expected) => Golden.Close(expected, SpecialFunctions.Log1P(x), 1e-15, $"log1p({x})");

    [Theory]
    [InlineData(1e-12, 1e-12)]
    [InlineData(-3e-6, -2.9999955000045e-06)]
    [InlineData(0.5, 0.64872127070012819)]
    [InlineData(-2.0, -0.8646647167633873)]
    public void Expm1_keeps_small_arguments_exact(double x, double expected) => Golden.Close(expected, SpecialFunctions.ExpM1(x), 1e-13, $"expm1({x})");

    [Fact]
    public void Log1mexp_and_logsumexp_are_stable()
    {
        Golden.Close(Math.Log(1 - Math.Exp(-1e-3)), SpecialFunctions.Log1MExp(-1e-3), 1e-12, "log1mexp(-1e-3)");
        Golden.Close(-Math.Exp(-50), SpecialFunctions.Log1MExp(-50), 1e-12, "log1mexp(-50)");
        Assert.True(double.IsNaN(SpecialFunctions.Log1MExp(0.1)));
        Golden.Close(1000 + Math.Log(2), SpecialFunctions.LogSumExp([1000, 1000]), 1e-15, "logsumexp overflow");
        Assert.Equal(double.NegativeInfinity, SpecialFunctions.LogSumExp([]));
        Assert.Equal(double.NegativeInfinity, SpecialFunctions.LogSumExp([double.NegativeInfinity]));
        Golden.Close(Math.Log(Math.Exp(1) + Math.Exp(2) + Math.Exp(-1)), SpecialFunctions.LogSumExp([1, 2, -1]), 1e-15, "logsumexp");
    }

    [Fact]
    public void Normal_pdf_cdf_and_erf_have_their_textbook_values()
    {
        Golden.Close(0.3989422804014327, SpecialFunctions.NormalPdf(0), 1e-15, "φ(0)");
        Golden.Close(0.24197072451914337, SpecialFunctions.NormalPdf(-1), 1e-15, "φ(-1)");
        Golden.Close(0.5, SpecialFunctions.NormalCdf(0), 1e-7, "Φ(0)");
        Golden.Close(0.9750021048517795, SpecialFunctions.NormalCdf(1.96), 2e-7, "Φ(1.96)");
        Golden.Close(0.8427007929497149, SpecialFunctions.Erf(1), 2e-7, "erf(1)");
        Assert.True(double.IsNaN(SpecialFunctions.Erfc(double.NaN)));
        Assert.True(double.IsNaN(SpecialFunctions.LogNormalCdf(double.NaN)));
        Assert.True(double.IsNaN(SpecialFunctions.LogH(double.NaN)));
        Assert.Equal(0.0, SpecialFunctions.Erfc(30));
        Golden.Close(2.0, SpecialFunctions.Erfc(-30), 1e-15, "erfc(-30)");
    }

    [Fact]
    public void Cholesky_solves_inverts_and_takes_the_determinant()
    {
        double[] a = [4, 2, 0.6, 2, 5, 1.5, 0.6, 1.5, 3];
        var c = Cholesky.TryFactor(a, 3)!;
        double[] expectedL = [2, 0, 0, 1, 2, 0, 0.3, 0.6, Math.Sqrt(2.55)];
        for (var i = 0; i < 9; i++) Golden.Close(expectedL[i], c.Factor[i], 1e-14, $"L[{i}]");
        double[] b = [1, 2, 3];
        c.Solve(b);
        // A·x = (1, 2, 3)
        for (var i = 0; i < 3; i++)
        {
            var row = (a[i * 3] * b[0]) + (a[(i * 3) + 1] * b[1]) + (a[(i * 3) + 2] * b[2]);
            Golden.Close(i + 1, row, 1e-13, $"(A·x)[{i}]");
        }
        var inverse = c.Inverse();
        for (var i = 0; i < 3; i++)
        {
            for (var j = 0; j < 3; j++)
            {
                var sum = 0.0;
                for (var k = 0; k < 3; k++) sum += a[(i * 3) + k] * inverse[(k * 3) + j];
                Golden.Close(i == j ? 1 : 0, sum, 1e-13, $"(A·A⁻¹)[{i},{j}]");
            }
        }
        Golden.Close(Math.Log(4 * 4 * 2.55), c.LogDeterminant(), 1e-13, "log det");
        Assert.Null(Cholesky.TryFactor([1, 2, 2, 1], 2));
        Assert.Null(Cholesky.TryFactor([0, 0, 0, 1], 2));
    }

    [Fact]
    public void Lbfgs_finds_the_minimum_of_the_rosenbrock_valley()
    {
        static double F(ReadOnlySpan<double> x, Span<double> g)
        {
            g[0] = (-400 * x[0] * (x[1] - (x[0] * x[0]))) - (2 * (1 - x[0]));
            g[1] = 200 * (x[1] - (x[0] * x[0]));
            return (100 * Math.Pow(x[1] - (x[0] * x[0]), 2)) + Math.Pow(1 - x[0], 2);
        }
        var result = Lbfgs.Minimize(F, [-1.2, 1.0], maxIterations: 200);
        Assert.InRange(result.X[0], 1 - 1e-4, 1 + 1e-4);
        Assert.InRange(result.X[1], 1 - 1e-4, 1 + 1e-4);
        Assert.InRange(result.Value, 0, 1e-8);
        Assert.True(result.Evaluations > 10);
    }

    [Fact]
    public void Lbfgs_stops_at_once_on_a_non_finite_start()
    {
        var result = Lbfgs.Minimize((x, g) => double.NaN, [1.0]);
        Assert.Equal(1, result.Evaluations);
        Assert.Equal([1.0], result.X);
    }

    [Fact]
    public void Rng_streams_are_reproducible_and_depend_on_every_part()
    {
        var a = Rng.For(42, 7, "lr");
        var b = Rng.For(42, 7, "lr");
        for (var i = 0; i < 20; i++) Assert.Equal(a.NextUInt64(), b.NextUInt64());
        Assert.NotEqual(Rng.For(42, 7, "lr").NextUInt64(), Rng.For(42, 8, "lr").NextUInt64());
        Assert.NotEqual(Rng.For(42, 7, "lr").NextUInt64(), Rng.For(43, 7, "lr").NextUInt64());
        Assert.NotEqual(Rng.For(42, 7, "lr").NextUInt64(), Rng.For(42, 7, "wd").NextUInt64());
        Assert.NotEqual(Rng.For(42, 7).NextUInt64(), Rng.For(42, 8).NextUInt64());
        Assert.Equal(0xcbf29ce484222325UL, Rng.Hash(""));
        Assert.Equal(0xaf63dc4c8601ec8cUL, Rng.Hash("a"));
    }

    [Fact]
    public void Rng_draws_are_in_range_and_roughly_uniform()
    {
        var rng = new Rng(1);
        var counts = new int[5];
        var sum = 0.0;
        for (var i = 0; i < 50_000; i++)
        {
            var u = rng.NextDouble();
            Assert.InRange(u, 0, 1 - double.Epsilon);
            var o = rng.NextOpenDouble();
            Assert.True(o > 0 && o < 1);
            counts[rng.NextInt(5)]++;
            sum += rng.NextNormal();
        }
        foreach (var c in counts) Assert.InRange(c, 9_500, 10_500);
        Assert.InRange(sum / 50_000, -0.02, 0.02);
        Assert.Throws<ArgumentOutOfRangeException>(() => rng.NextInt(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => rng.NextLong(-1));
        Assert.Equal(1, rng.Choose([0.0, 2.0, 0.0], 2.0));
        int[] items = [1, 2, 3, 4, 5, 6];
        rng.Shuffle(items.AsSpan());
        Assert.Equal([1, 2, 3, 4, 5, 6], items.Order());
    }

    [Fact]
    public void Truncated_normal_draws_stay_inside_and_follow_the_density()
    {
        var rng = new Rng(3);
        var below = 0;
        for (var i = 0; i < 20_000; i++)
        {
            var x = TruncatedNormal.Sample(rng, 0.0, 1.0, -0.5, 2.0);
            Assert.InRange(x, -0.5, 2.0);
            if (x < 0) below++;
        }
        // P(X < 0 | -0.5 < X < 2) = (Φ(0) - Φ(-0.5)) / (Φ(2) - Φ(-0.5)) = 0.19146 / 0.66871 = 0.28632
        Assert.InRange(below / 20_000.0, 0.276, 0.296);
        // Far in the upper tail the draw still lands inside (reflection keeps precision).
        for (var i = 0; i < 100; i++) Assert.InRange(TruncatedNormal.Sample(rng, 0.0, 1.0, 30.0, 31.0), 30.0, 31.0);
        var logMass = TruncatedNormal.LogMass(0, 1, -0.5, 2.0);
        Golden.Close(Math.Log(0.6687123), logMass, 1e-6, "log mass");
        Golden.Close(-0.91893853320467274 - logMass, TruncatedNormal.LogPdf(0, 0, 1, logMass), 1e-12, "log pdf at the mean");
    }
}
