namespace Forge.Explainability.Numerics;

/// <summary>The standard normal distribution: CDF through erf/erfc and its inverse, to double precision.</summary>
internal static class Normal
{
    private const double SqrtPi = 1.7724538509055160273;

    /// <summary>erf(x): the Maclaurin series for |x| &lt; 2 (where its terms stay small), 1 − erfc(x) beyond.</summary>
    internal static double Erf(double x)
    {
        if (double.IsNaN(x)) return double.NaN;
        if (Math.Abs(x) >= 2) return Math.Sign(x) * (1 - Erfc(Math.Abs(x)));
        // erf(x) = 2/√π Σ (−1)^n x^(2n+1) / (n! (2n+1))
        var x2 = x * x;
        var term = x;
        var sum = x;
        for (var n = 1; n < 200; n++)
        {
            term *= -x2 / n;
            var add = term / (2 * n + 1);
            sum += add;
            if (Math.Abs(add) < 1e-17 * Math.Abs(sum)) break;
        }
        return 2 / SqrtPi * sum;
    }

    /// <summary>erfc(x) = 1 − erf(x), accurate in the tails: a continued fraction (modified Lentz) for x ≥ 2, where it converges in under 60 steps.</summary>
    internal static double Erfc(double x)
    {
        if (double.IsNaN(x)) return double.NaN;
        if (x < 2) return 1 - Erf(x);
        // erfc(x) = e^{-x²}/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + …)))))
        const double tiny = 1e-300;
        var f = x;
        var c = x;
        var d = 0.0;
        for (var n = 1; n < 5000; n++)
        {
            var a = n / 2.0;
            d = x + a * d;
            d = Math.Abs(d) < tiny ? tiny : d;
            c = x + a / c;
            c = Math.Abs(c) < tiny ? tiny : c;
            d = 1 / d;
            var delta = c * d;
            f *= delta;
            if (Math.Abs(delta - 1) < 1e-16) break;
        }
        return Math.Exp(-x * x) / SqrtPi / f;
    }

    /// <summary>Φ(x), the standard normal CDF.</summary>
    internal static double Cdf(double x) => x < 0 ? 0.5 * Erfc(-x / Math.Sqrt(2)) : 1 - 0.5 * Erfc(x / Math.Sqrt(2));

    /// <summary>φ(x), the standard normal density.</summary>
    internal static double Pdf(double x) => Math.Exp(-0.5 * x * x) / Math.Sqrt(2 * Math.PI);

    /// <summary>Φ⁻¹(p): Abramowitz &amp; Stegun 26.2.23 as a start, then Newton steps on Φ to full precision.</summary>
    internal static double InverseCdf(double p)
    {
        if (!(p > 0 && p < 1)) return p == 0 ? double.NegativeInfinity : p == 1 ? double.PositiveInfinity : double.NaN;
        var q = p < 0.5 ? p : 1 - p;
        var t = Math.Sqrt(-2 * Math.Log(q));
        var x = t - (2.515517 + 0.802853 * t + 0.010328 * t * t) / (1 + 1.432788 * t + 0.189269 * t * t + 0.001308 * t * t * t);
        if (p < 0.5) x = -x;
        for (var i = 0; i < 8; i++)
        {
            // Φ(x) − p, computed on the side of the root where Φ keeps its relative precision.
            var difference = x < 0 ? Cdf(x) - p : (1 - p) - 0.5 * Erfc(x / Math.Sqrt(2));
            var density = Pdf(x);
            if (density == 0) break;
            var step = difference / density;
            x -= step;
            // Newton doubles the correct digits; below 1e-13 the step is rounding noise.
            if (Math.Abs(step) < 1e-13 * Math.Max(1, Math.Abs(x))) break;
        }
        return x;
    }

    /// <summary>A standard normal draw (Box–Muller).</summary>
    internal static double Sample(Random rng) =>
        Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());

    /// <summary>A draw from N(mean, sd²) truncated to [low, high], by inverting the CDF on the truncated range.</summary>
    internal static double TruncatedSample(Random rng, double mean, double sd, double low, double high)
    {
        if (!(sd > 0) || !(high > low)) return Math.Clamp(mean, Math.Min(low, high), Math.Max(low, high));
        return TruncatedSample(rng, mean, sd, low, high, Cdf((low - mean) / sd), Cdf((high - mean) / sd));
    }

    /// <summary>As above with Φ((low − mean)/sd) and Φ((high − mean)/sd) already known (they are fixed per LIME bin).</summary>
    internal static double TruncatedSample(Random rng, double mean, double sd, double low, double high, double a, double b)
    {
        if (!(sd > 0) || !(high > low)) return Math.Clamp(mean, Math.Min(low, high), Math.Max(low, high));
        if (!(b - a > 1e-12)) return low + rng.NextDouble() * (high - low);
        var z = InverseCdf(a + rng.NextDouble() * (b - a));
        return Math.Clamp(mean + sd * z, low, high);
    }
}
