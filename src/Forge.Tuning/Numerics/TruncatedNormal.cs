namespace Forge.Tuning.Numerics;

/// <summary>A normal distribution N(μ, σ²) cut to [low, high] and renormalised: the kernel of TPE's Parzen estimators.</summary>
internal static class TruncatedNormal
{
    /// <summary>log of the probability the untruncated normal gives [low, high]: the renormalising constant, in log form.</summary>
    public static double LogMass(double mu, double sigma, double low, double high) =>
        SpecialFunctions.LogGaussMass((low - mu) / sigma, (high - mu) / sigma);

    /// <summary>Draws one value by inverting the CDF of one uniform (tails handled by reflection so no precision is lost).</summary>
    public static double Sample(Rng rng, double mu, double sigma, double low, double high)
    {
        var a = (low - mu) / sigma;
        var b = (high - mu) / sigma;
        var u = rng.NextDouble();
        double z;
        if (a >= 0)
        {
            // Both ends in the upper tail, where Φ is close to 1: work in the mirrored lower tail instead.
            var pa = SpecialFunctions.NormalCdf(-b);
            var pb = SpecialFunctions.NormalCdf(-a);
            z = -SpecialFunctions.NormalQuantile(pa + (u * (pb - pa)));
        }
        else
        {
            var pa = SpecialFunctions.NormalCdf(a);
            var pb = SpecialFunctions.NormalCdf(b);
            z = SpecialFunctions.NormalQuantile(pa + (u * (pb - pa)));
        }
        if (double.IsNaN(z)) z = 0.5 * (a + b);
        return Math.Clamp(mu + (sigma * z), low, high);
    }

    /// <summary>log density at x, given the precomputed <paramref name="logMass"/> of the kernel.</summary>
    public static double LogPdf(double x, double mu, double sigma, double logMass)
    {
        var z = (x - mu) / sigma;
        return (-0.5 * z * z) - SpecialFunctions.LogSqrt2Pi - Math.Log(sigma) - logMass;
    }

    /// <summary>log probability of the bin [x - q/2, x + q/2] ∩ [low, high], for distributions on a step grid.</summary>
    public static double LogBinMass(double x, double q, double mu, double sigma, double low, double high, double logMass)
    {
        var lower = Math.Max(x - (0.5 * q), low);
        var upper = Math.Min(x + (0.5 * q), high);
        return SpecialFunctions.LogGaussMass((lower - mu) / sigma, (upper - mu) / sigma) - logMass;
    }
}
