using System.Text.Json;

namespace Forge.Tuning.Tests;

/// <summary>Reads the committed golden files (golden/make_tuning_golden.py writes them with scipy, mpmath, scikit-learn and Optuna).</summary>
internal static class Golden
{
    public static JsonElement Load(string name)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "golden", name);
        using var document = JsonDocument.Parse(File.ReadAllText(path));
        return document.RootElement.Clone();
    }

    public static double[] Doubles(this JsonElement e) => e.EnumerateArray().Select(v => v.GetDouble()).ToArray();

    /// <summary>Asserts |actual - expected| ≤ tolerance·max(1, |expected|), naming the case.</summary>
    public static void Close(double expected, double actual, double tolerance, string what)
    {
        var scale = Math.Max(1.0, Math.Abs(expected));
        var error = Math.Abs(actual - expected);
        Assert.True(error <= tolerance * scale, $"{what}: expected {expected:R}, got {actual:R} (error {error:G3}, tolerance {tolerance * scale:G3})");
    }
}
