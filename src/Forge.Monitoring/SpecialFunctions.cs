namespace Forge.Monitoring;

/// <summary>
/// The special functions the drift tests need: log-gamma, the regularised incomplete gamma functions, erfc, the normal
/// and chi-squared tails. Written here because the pure projects take no numerics package; each is checked against
/// scipy's values in the golden tests.
/// </summary>
public static class SpecialFunctions
{
    private const double Epsilon = 1e-16;
    private const int MaxIterations = 100_000;
    private static readonly double LogSqrtTwoPi = 0.5 * Math.Log(2 * Math.PI);

    // Lanczos approximation, g = 7, nine terms: relative error below 2e-16 for the gamma function on x >= 0.5.
    private static readonly double[] Lanczos =
    [
        0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
        12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
    ];

    /// <summary>ln Γ(x) for x &gt; 0.</summary>
    public static double LogGamma(double x)
    {
        if (double.IsNaN(x) || x <= 0) return double.NaN;
        if (x < 0.5)
        {
            // Reflection keeps the Lanczos sum in the range where it is accurate.
            return Math.Log(Math.PI / Math.Abs(Math.Sin(Math.PI * x))) - LogGamma(1 - x);
        }
        if (x >= 15) return Stirling(x);
        x -= 1;
        var sum = Lanczos[0];
        var t = x + 7.5;
        for (var i = 1; i < Lanczos.Length; i++) sum += Lanczos[i] / (x + i);
        return LogSqrtTwoPi + (x + 0.5) * Math.Log(t) - t + Math.Log(sum);
    }

    /// <summary>Stirling's series: for large x it avoids the cancellation Lanczos suffers between (x+0.5)ln t and t.</summary>
    private static double Stirling(double x)
    {
        var r = 1 / x;
        var r2 = r * r;
        // Bernoulli terms B2k / (2k (2k-1) x^(2k-1)) for k = 1..7.
        var series = r * (1.0 / 12 + r2 * (-1.0 / 360 + r2 * (1.0 / 1260 + r2 * (-1.0 / 1680 + r2 * (1.0 / 1188
            + r2 * (-691.0 / 360360 + r2 * (1.0 / 156)))))));
        return (x - 0.5) * Math.Log(x) - x + LogSqrtTwoPi + series;
    }

    /// <summary>The regularised lower incomplete gamma function P(a, x) = γ(a, x) / Γ(a), for a &gt; 0 and x ≥ 0.</summary>
    public static double GammaP(double a, double x)
    {
        if (!(a > 0) || !(x >= 0)) return double.NaN;
        if (x == 0) return 0;
        if (double.IsPositiveInfinity(x)) return 1;
        return x < a + 1 ? GammaSeries(a, x) : 1 - GammaContinuedFraction(a, x);
    }

    /// <summary>The regularised upper incomplete gamma function Q(a, x) = 1 - P(a, x), accurate in its far tail.</summary>
    public static double GammaQ(double a, double x)
    {
        if (!(a > 0) || !(x >= 0)) return double.NaN;
        if (x == 0) return 1;
        if (double.IsPositiveInfinity(x)) return 0;
        return x < a + 1 ? 1 - GammaSeries(a, x) : GammaContinuedFraction(a, x);
    }

    private static double GammaPrefactor(double a, double x) => Math.Exp(a * Math.Log(x) - x - LogGamma(a));

    private static double GammaSeries(double a, double x)
    {
        // P(a, x) = x^a e^-x / Γ(a+1) · Σ x^n / ((a+1)…(a+n))
        var term = 1 / a;
        var sum = term;
        for (var n = 1; n < MaxIterations; n++)
        {
            term *= x / (a + n);
            sum += term;
            if (Math.Abs(term) < Math.Abs(sum) * Epsilon) break;
        }
        return sum * GammaPrefactor(a, x);
    }

    private static double GammaContinuedFraction(double a, double x)
    {
        // Q(a, x) = x^a e^-x / Γ(a) · 1/(x+1-a- 1·(1-a)/(x+3-a- 2·(2-a)/(x+5-a- …))), evaluated by the modified Lentz method.
        const double tiny = 1e-300;
        var b = x + 1 - a;
        var c = 1 / tiny;
        var d = 1 / b;
        var h = d;
        for (var i = 1; i < MaxIterations; i++)
        {
            var an = -i * (i - a);
            b += 2;
            d = an * d + b;
            if (Math.Abs(d) < tiny) d = tiny;
            c = b + an / c;
            if (Math.Abs(c) < tiny) c = tiny;
            d = 1 / d;
            var delta = d * c;
            h *= delta;
            if (Math.Abs(delta - 1) < Epsilon) break;
        }
        return h * GammaPrefactor(a, x);
    }

    /// <summary>The complementary error function erfc(x) = 1 - erf(x), accurate far into the right tail.</summary>
    public static double Erfc(double x)
    {
        if (double.IsNaN(x)) return double.NaN;
        if (x < 0) return 2 - Erfc(-x);
        // erfc(x) = Q(1/2, x²): one incomplete-gamma routine serves the normal and the chi-squared tails alike.
        return GammaQ(0.5, x * x);
    }

    /// <summary>The standard normal distribution function Φ(x).</summary>
    public static double NormalCdf(double x) => 0.5 * Erfc(-x / Math.Sqrt(2));

    /// <summary>The standard normal survival function 1 - Φ(x), computed without cancellation.</summary>
    public static double NormalSf(double x) => 0.5 * Erfc(x / Math.Sqrt(2));

    /// <summary>The chi-squared survival function P(X ≥ x) with <paramref name="degreesOfFreedom"/> degrees of freedom.</summary>
    public static double ChiSquaredSf(double x, double degreesOfFreedom)
    {
        if (!(degreesOfFreedom > 0) || double.IsNaN(x)) return double.NaN;
        if (x <= 0) return 1;
        return GammaQ(degreesOfFreedom / 2, x / 2);
    }
}
