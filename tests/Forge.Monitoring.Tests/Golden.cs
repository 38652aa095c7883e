using System.Text.Json;
using System.Text.Json.Serialization;

namespace Forge.Monitoring.Tests;

/// <summary>Reads golden/drift.json, written by golden/make_drift_golden.py with Debian's scipy.</summary>
internal static class Golden
{
    private static readonly Lazy<JsonElement> Root = new(() =>
    {
        var path = Path.Combine(AppContext.BaseDirectory, "golden", "drift.json");
        return JsonDocument.Parse(File.ReadAllText(path)).RootElement;
    });

    private static readonly JsonSerializerOptions Options = new()
    {
        PropertyNameCaseInsensitive = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public static T[] Cases<T>(string name) => Root.Value.GetProperty(name).Deserialize<T[]>(Options)!;

    /// <summary>Asserts |actual - expected| ≤ tolerance, naming the case.</summary>
    public static void Near(double expected, double actual, double tolerance, string what)
    {
        if (double.IsPositiveInfinity(expected) && double.IsPositiveInfinity(actual)) return;
        var error = Math.Abs(actual - expected);
        Assert.True(error <= tolerance, $"{what}: expected {expected:R}, got {actual:R} (error {error:E2} > {tolerance:E1})");
    }

    /// <summary>Asserts a relative error of at most <paramref name="relative"/> (absolute 1e-300 for values at 0).</summary>
    public static void Relative(double expected, double actual, double relative, string what)
    {
        var error = Math.Abs(actual - expected);
        var bound = Math.Max(Math.Abs(expected) * relative, 1e-300);
        Assert.True(error <= bound, $"{what}: expected {expected:R}, got {actual:R} (relative error {error / Math.Max(Math.Abs(expected), 1e-300):E2} > {relative:E1})");
    }
}

internal sealed record KsCase(string Name, double[] A, double[] B, double Statistic, double PValue, string Method);
internal sealed record KstwoCase(int N, double X, double Sf);
internal sealed record XValue(double X, double Value);
internal sealed record XSf(double X, double Sf);
internal sealed record NxSf(int N, double X, double Sf);
internal sealed record GammaIncCase(double A, double X, double P, double Q);
internal sealed record NormalCase(double X, double Cdf, double Sf);
internal sealed record Chi2SfCase(double X, int Dof, double Sf);
internal sealed record ChiCase(string Name, double[] Observed, double[] Expected, double Statistic, double PValue);
internal sealed record ZCase(string Name, long ReferenceSuccesses, long ReferenceCount, long CurrentSuccesses, long CurrentCount, double Statistic, double PValue);
internal sealed record WCase(string Name, double[] U, double[] V, double Distance, double Normed);
internal sealed record JsCase(string Name, double[] P, double[] Q, double Distance);
internal sealed record PsiCase(string Name, double[] Reference, double[] Current, double[] ReferenceFilled, double[] CurrentFilled, double Psi);
internal sealed record EvidentlyNumericCase(string Name, double[] Reference, double[] Current, double JensenShannon, double Psi);
internal sealed record StatPair(double Statistic, double PValue);
internal sealed record EvidentlyCategoricalCase(string Name, string[] Reference, string[] Current, double JensenShannon, double Psi, StatPair ChiSquared, StatPair ChiSquaredContingency, StatPair? Z);
