namespace Forge.Tuning.Tests;

/// <summary>
/// ε² parameter importance against values worked by hand: six trials with values 1…6. A parameter splitting them into
/// {1,2,3} and {4,5,6} explains between-group 13.5 of the total 17.5 with within-group variance 1, so
/// ε² = (13.5 − 1·1) / 17.5 = 5/7; one splitting them into odds and evens explains 1.5 against within 4, clipped to 0.
/// </summary>
public sealed class ParameterImportanceTests
{
    private static readonly CategoricalDistribution Choice = new(["a", "b"]);
    private static readonly FloatDistribution Range = new(0, 10);
    private static readonly FloatDistribution LogRange = new(0.1, 100, log: true);

    private static FrozenTrial Trial(int number, double? value, double c, double x, double w, double z, double l) => new(
        number, number, value is null ? TrialState.Fail : TrialState.Complete, value,
        new Dictionary<string, Distribution> { ["c"] = Choice, ["x"] = Range, ["w"] = Choice, ["z"] = Range, ["l"] = LogRange },
        new Dictionary<string, double> { ["c"] = c, ["x"] = x, ["w"] = w, ["z"] = z, ["l"] = l });

    private static List<FrozenTrial> Six() =>
        [.. Enumerable.Range(1, 6).Select(i => Trial(i, i, c: i <= 3 ? 0 : 1, x: i, w: i % 2, z: 2, l: Math.Pow(10, i / 3.0)))];

    [Fact]
    public void Each_parameter_gets_its_bias_corrected_correlation_ratio()
    {
        var importance = ParameterImportance.EpsilonSquared(Six());
        Assert.Equal(["c", "l", "w", "x"], importance.Keys.Order(StringComparer.Ordinal));
        Assert.InRange(importance["c"] - (5.0 / 7), -1e-12, 1e-12);
        // Numbers are binned into min(5, n/3) = 2 equal-count bins: {1,2,3} and {4,5,6} again, on a log scale too.
        Assert.InRange(importance["x"] - (5.0 / 7), -1e-12, 1e-12);
        Assert.InRange(importance["l"] - (5.0 / 7), -1e-12, 1e-12);
        Assert.Equal(0, importance["w"]);
    }

    [Fact]
    public void Too_few_trials_or_a_constant_parameter_get_none_and_trials_without_a_value_are_left_out()
    {
        Assert.Empty(ParameterImportance.EpsilonSquared(Six().Take(3).ToList()));
        Assert.False(ParameterImportance.EpsilonSquared(Six()).ContainsKey("z"));
        var withFailures = Six();
        withFailures.Add(Trial(7, null, c: 0, x: 9, w: 0, z: 2, l: 50));
        Assert.InRange(ParameterImportance.EpsilonSquared(withFailures)["c"] - (5.0 / 7), -1e-12, 1e-12);
        var flat = Enumerable.Range(1, 6).Select(i => Trial(i, 3, c: i % 2, x: i, w: 0, z: 1, l: 1)).ToList();
        Assert.Empty(ParameterImportance.EpsilonSquared(flat));
        Assert.Throws<ArgumentNullException>(() => ParameterImportance.EpsilonSquared(null!));
    }
}
