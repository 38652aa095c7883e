namespace Forge.Tuning.Numerics;

/// <summary>
/// The normal distribution's special functions, written out so the tuner needs no numerics package. Accuracy: erfc and
/// erfcx to 1.2e-7 relative (a Chebyshev fit of erfc·exp(z²)), the inverse normal CDF to 1.2e-9 relative (Acklam's
/// rational approximation); both are far finer than a sampler's decisions need.
/// </summary>
internal static class SpecialFunctions
{
    public const double Sqrt2 = 1.4142135623730951;
    public const double LogSqrt2Pi = 0.91893853320467274; // log(√(2π))
    private const double SqrtHalfPi = 1.2533141373155003; // √(π/2)

    /// <summary>erfc(x)·exp(x²) for x ≥ 0, the Chebyshev-fitted form that keeps its relative accuracy far into the tail.</summary>
    private static double ErfcxNonNegative(double x)
    {
        var t = 1.0 / (1.0 + (0.5 * x));
        var poly = -1.26551223 + (t * (1.00002368 + (t * (0.37409196 + (t * (0.09678418 + (t * (-0.18628806 + (t * (0.27886807
            + (t * (-1.13520398 + (t * (1.48851587 + (t * (-0.82215223 + (t * 0.17087277)))))))))))))))));
        return t * Math.Exp(poly);
    }

    /// <summary>The scaled complementary error function exp(x²)·erfc(x).</summary>
    public static double Erfcx(double x)
    {
        if (double.IsNaN(x)) return double.NaN;
        if (x >= 0) return ErfcxNonNegative(x);
        // For negative x the value grows like 2·exp(x²); past x ≈ -26.6 it is infinite.
        return (2.0 * Math.Exp(x * x)) - ErfcxNonNegative(-x);
    }

    /// <summary>The complementary error function 1 - erf(x).</summary>
    public static double Erfc(double x)
    {
        if (double.IsNaN(x)) return double.NaN;
        if (x >= 0) return x > 27.3 ? 0.0 : ErfcxNonNegative(x) * Math.Exp(-x * x);
        return 2.0 - Erfc(-x);
    }

    /// <summary>The error function.</summary>
    public static double Erf(double x) => 1.0 - Erfc(x);

    /// <summary>The standard normal density.</summary>
    public static double NormalPdf(double z) => Math.Exp((-0.5 * z * z) - LogSqrt2Pi);

    /// <summary>The standard normal CDF Φ(z).</summary>
    public static double NormalCdf(double z) => 0.5 * Erfc(-z / Sqrt2);

    /// <summary>log Φ(z), accurate in both tails (no underflow to -∞ for very negative z).</summary>
    public static double LogNormalCdf(double z)
    {
        if (double.IsNaN(z)) return double.NaN;
        if (z > 0) return Log1P(-0.5 * Erfc(z / Sqrt2));
        if (z > -1) return Math.Log(0.5 * Erfc(-z / Sqrt2));
        // Φ(z) = ½·erfcx(-z/√2)·exp(-z²/2): the exponential is kept in log form.
        return Math.Log(0.5 * ErfcxNonNegative(-z / Sqrt2)) - (0.5 * z * z);
    }

    /// <summary>log(Φ(b) - Φ(a)) for a ≤ b, the log probability a standard normal lands in [a, b], stable in the tails.</summary>
    public static double LogGaussMass(double a, double b)
    {
        if (!(a < b)) return double.NegativeInfinity;
        if (b <= 0)
        {
            var logB = LogNormalCdf(b);
            return logB + Log1MExp(LogNormalCdf(a) - logB);
        }
        if (a >= 0) return LogGaussMass(-b, -a);
        // The interval straddles 0: the mass is 1 minus two tails, each at most one half.
        return Log1P(-NormalCdf(a) - NormalCdf(-b));
    }

    /// <summary>The inverse of the standard normal CDF (Acklam's algorithm); ±∞ at 1 and 0.</summary>
    public static double NormalQuantile(double p)
    {
        if (double.IsNaN(p) || p < 0 || p > 1) return double.NaN;
        if (p == 0) return double.NegativeInfinity;
        if (p == 1) return double.PositiveInfinity;
        const double PLow = 0.02425;
        if (p < PLow)
        {
            var q = Math.Sqrt(-2 * Math.Log(p));
            return TailQuantile(q);
        }
        if (p > 1 - PLow)
        {
            var q = Math.Sqrt(-2 * Math.Log(1 - p));
            return -TailQuantile(q);
        }
        var r = p - 0.5;
        var s = r * r;
        return Horner(s, A) * r / Horner(s, B);
    }

    // Acklam's coefficients, highest power first; B and D have an implicit trailing 1.
    private static readonly double[] A = [-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00];
    private static readonly double[] B = [-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01, -1.328068155288572e+01, 1.0];
    private static readonly double[] C = [-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00];
    private static readonly double[] D = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00, 1.0];

    private static double TailQuantile(double q) => Horner(q, C) / Horner(q, D);

    private static double Horner(double x, double[] coefficients)
    {
        var sum = 0.0;
        foreach (var c in coefficients) sum = (sum * x) + c;
        return sum;
    }

    /// <summary>log(1 + x), accurate for small x (the BCL's LogP1 is computed as Log(x + 1)).</summary>
    public static double Log1P(double x)
    {
        if (double.IsNaN(x) || x < -1) return double.NaN;
        if (x == -1) return double.NegativeInfinity;
        var u = 1.0 + x;
        if (u == 1.0) return x;
        // log(u)·x/(u-1) cancels the rounding error made when forming u.
        return double.IsPositiveInfinity(u) ? Math.Log(u) : Math.Log(u) * x / (u - 1.0);
    }

    /// <summary>exp(x) - 1, accurate for small x.</summary>
    public static double ExpM1(double x)
    {
        if (Math.Abs(x) < 1e-5) return x + (0.5 * x * x) + (x * x * x / 6.0);
        var u = Math.Exp(x);
        if (u == 1.0) return x;
        var um1 = u - 1.0;
        if (um1 == -1.0) return -1.0;
        return double.IsPositiveInfinity(u) ? u : um1 * x / Math.Log(u);
    }

    /// <summary>log(1 - exp(x)) for x ≤ 0.</summary>
    public static double Log1MExp(double x)
    {
        if (x > 0 || double.IsNaN(x)) return double.NaN;
        return x > -0.6931471805599453 ? Math.Log(-ExpM1(x)) : Log1P(-Math.Exp(x));
    }

    /// <summary>log Σ exp(values), without overflow; -∞ for no values.</summary>
    public static double LogSumExp(ReadOnlySpan<double> values)
    {
        var max = double.NegativeInfinity;
        foreach (var v in values) if (v > max) max = v;
        if (double.IsNegativeInfinity(max) || double.IsPositiveInfinity(max)) return max;
        var sum = 0.0;
        foreach (var v in values) sum += Math.Exp(v - max);
        return max + Math.Log(sum);
    }

    /// <summary>
    /// log h(z) with h(z) = φ(z) + z·Φ(z), the expected improvement of a unit normal over a threshold z standard deviations
    /// below its mean. Direct for z ≥ -1, through erfcx down to -30, and by its asymptotic series beyond (where φ and Φ
    /// both underflow and their difference cancels).
    /// </summary>
    public static double LogH(double z)
    {
        if (double.IsNaN(z)) return double.NaN;
        if (z >= -1) return Math.Log(NormalPdf(z) + (z * NormalCdf(z)));
        var logPdf = (-0.5 * z * z) - LogSqrt2Pi;
        if (z >= -30)
        {
            // h = φ(z)·(1 - |z|·√(π/2)·erfcx(|z|/√2)).
            var inner = 1.0 - (-z * SqrtHalfPi * ErfcxNonNegative(-z / Sqrt2));
            return logPdf + Math.Log(inner);
        }
        var w = 1.0 / (z * z);
        // h/φ = w - 3w² + 15w³ - 105w⁴ + …
        var series = w * (1.0 - (w * (3.0 - (w * (15.0 - (105.0 * w))))));
        return logPdf + Math.Log(series);
    }

    /// <summary>d/dz log h(z) = Φ(z)/h(z).</summary>
    public static double LogHDerivative(double z) => Math.Exp(LogNormalCdf(z) - LogH(z));
}
