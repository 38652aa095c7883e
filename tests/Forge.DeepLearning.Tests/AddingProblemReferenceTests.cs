using System.Globalization;
using System.Text.RegularExpressions;

namespace Forge.DeepLearning.Tests;

/// <summary>
/// The adding problem follows the PyTorch reference's recipe to the random number: same initialisation order, one data
/// generator for test set, profiles and batches. So Forge's run reproduces the reference's printed figures
/// (golden/adding, made by golden/adding/generate.sh with the unchanged ../shared/reference/torch_lstm.py).
/// </summary>
[Collection(TorchCollection.Name)]
public sealed partial class AddingProblemReferenceTests(TorchFixture torchFixture)
{
    [Theory]
    [InlineData(RecurrentCell.Rnn)]
    [InlineData(RecurrentCell.Lstm)]
    [InlineData(RecurrentCell.Gru)]
    public void Ten_steps_long_100_steps_trained_matches_pytorch(RecurrentCell cell)
    {
        _ = torchFixture;
        var name = cell.ToString().ToLowerInvariant();
        var lines = File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "golden", "adding", $"{name}-T10-100steps-seed1.txt"));
        var r = AddingProblem.Run(new AddingProblemOptions { Cell = cell, Length = 10, MaxSteps = 100, Seed = 1, Threads = 1 });

        // The reference prints the MSE to 4 decimals, and norms to 3 significant digits.
        var mse = double.Parse(Mse().Match(lines[1]).Groups[1].Value, CultureInfo.InvariantCulture);
        Assert.Equal(100, r.Steps);
        Assert.InRange(r.FinalMse - mse, -6e-5, 6e-5);
        AssertProfile(lines[0], r.ProfileAtInit, "at initialisation");
        AssertProfile(lines[2], r.ProfileAfter, "after training");
    }

    private static void AssertProfile(string line, double[] profile, string when)
    {
        var ratio = double.Parse(Ratio().Match(line).Groups[1].Value, CultureInfo.InvariantCulture);
        AssertClose(ratio, profile[^1] / profile[0], $"{when}: decay ratio");
        foreach (Match m in Point().Matches(line))
        {
            var t = int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
            AssertClose(double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture), profile[t - 1], $"{when}: |dL/dh_{t}|");
        }
    }

    // Three significant digits: rounding alone moves a value by up to 0.5 % of it.
    private static void AssertClose(double expected, double actual, string what) =>
        Assert.True(Math.Abs(actual - expected) <= 0.006 * Math.Abs(expected), $"{what}: PyTorch {expected:G3}, Forge {actual:G6}");

    [GeneratedRegex(@"test MSE ([0-9.]+)")]
    private static partial Regex Mse();

    [GeneratedRegex(@"= ([0-9.e+-]+) \(")]
    private static partial Regex Ratio();

    [GeneratedRegex(@"t=(\d+): ([0-9.e+-]+)")]
    private static partial Regex Point();
}
