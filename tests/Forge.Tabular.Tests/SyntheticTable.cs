using System.Globalization;
using System.Text;
using Forge.Tabular;

namespace Forge.Tests.Shared;

/// <summary>
/// A small seeded table with numeric and categorical columns, missing values ("?" and empty) and three labels: binary
/// (yes/no), multiclass (low/mid/high) and a regression target, each driven by the features plus noise.
/// </summary>
internal static class SyntheticTable
{
    public static readonly string[] Labels = ["binary", "multi", "target"];

    public static string Write(string path, int rows = 400, int seed = 7)
    {
        var rng = new Random(seed);
        var inv = CultureInfo.InvariantCulture;
        var text = new StringBuilder("x1,x2,colour,size,binary,multi,target\n");
        string[] colours = ["red", "green", "blue"];
        for (var i = 0; i < rows; i++)
        {
            var x1 = rng.NextDouble() * 10;
            var x2 = Gaussian(rng);
            var colour = colours[rng.Next(3)];
            var size = rng.Next(2) == 0 ? "S" : "L";
            var score = x1 + (colour == "red" ? 2 : 0) + (0.8 * Gaussian(rng));
            var binary = score > 6 ? "yes" : "no";
            var multi = score < 4 ? "low" : score < 8 ? "mid" : "high";
            var target = (3 * x1) + (colour == "blue" ? 5 : 0) + x2 + (0.5 * Gaussian(rng));
            var x2Text = rng.Next(25) == 0 ? "" : x2.ToString("0.###", inv);
            var colourText = rng.Next(20) == 0 ? "?" : colour;
            text.Append(inv, $"{x1:0.###},{x2Text},{colourText},{size},{binary},{multi},{target:0.###}\n");
        }
        File.WriteAllText(path, text.ToString());
        return path;
    }

    /// <summary>Reading options for one of the labels, the other two excluded.</summary>
    public static TabularCsvOptions Csv(string label) => new() { Label = label, Exclude = [.. Labels.Where(l => l != label)] };

    private static double Gaussian(Random rng) => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
}
