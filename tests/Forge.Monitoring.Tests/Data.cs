namespace Forge.Monitoring.Tests;

/// <summary>Seeded synthetic data for the tests.</summary>
internal static class Data
{
    public static double[] Normal(int n, double mean, double sd, int seed)
    {
        var rng = new Random(seed);
        var x = new double[n];
        for (var i = 0; i < n; i++)
        {
            // Box–Muller: two uniforms to one standard normal.
            var u1 = 1.0 - rng.NextDouble();
            var u2 = rng.NextDouble();
            x[i] = mean + sd * Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
        }
        return x;
    }

    public static string?[] Categories(int n, string[] names, double[] shares, int seed)
    {
        var rng = new Random(seed);
        var values = new string?[n];
        for (var i = 0; i < n; i++)
        {
            var u = rng.NextDouble();
            var k = 0;
            while (k < shares.Length - 1 && u >= shares[k])
            {
                u -= shares[k];
                k++;
            }
            values[i] = names[k];
        }
        return values;
    }

    public static ColumnSet Table(int n, double shift, int seed, bool withMissing = false)
    {
        var x = Normal(n, shift, 1, seed);
        var y = Normal(n, 10 + shift, 3, seed + 1);
        if (withMissing)
        {
            for (var i = 0; i < n; i += 17) x[i] = double.NaN;
        }
        var color = Categories(n, ["red", "green", "blue"], shift == 0 ? [0.5, 0.3, 0.2] : [0.3, 0.3, 0.4], seed + 2);
        var label = Categories(n, ["no", "yes"], [0.7, 0.3], seed + 3);
        return new ColumnSet(
            DataColumn.Numeric("x", x),
            DataColumn.Numeric("y", y),
            DataColumn.Categorical("color", color),
            DataColumn.Categorical("prediction", label, ColumnRole.Prediction));
    }
}
