using Forge.Core;

namespace Forge.Monitoring.Tests;

/// <summary>
/// Short streams whose detector states follow by hand from each method's formulas, so that every threshold, restart
/// and boundary is pinned to one input.
/// </summary>
public sealed class DetectorKnownAnswerTests
{
    private static double[] Gaps(params int[] gaps) => gaps.SelectMany(g => Enumerable.Repeat(0.0, g - 1).Append(1.0)).ToArray();

    private static string States(IConceptDriftDetector d, IEnumerable<double> stream) =>
        string.Concat(stream.Select(x => d.Update(x) switch { DetectorState.Warning => 'W', DetectorState.Drift => 'D', _ => 'S' }));

    private static double[] Every(int period, int count) => Enumerable.Range(1, count).Select(i => i % period == 0 ? 1.0 : 0.0).ToArray();

    [Fact]
    public void Ddm_decides_from_its_minimum_on_with_the_paper_s_p_plus_s()
    {
        // Nine right, then wrong every time, MinInstances 10. n = 10: p = 0.1, s = √(0.1·0.9/10) = 0.0949, the minimum
        // p + s = 0.195. n = 13: p = 4/13, s = 0.128, p + s = 0.436 ≥ 0.1 + 3·0.0949 = 0.385 (warning).
        // n = 14: p = 5/14, s = 0.128, p + s = 0.485 ≥ 0.1 + 4·0.0949 = 0.480 (drift).
        var states = States(new Ddm(new DdmOptions { MinInstances = 10 }), Enumerable.Repeat(0.0, 9).Concat(Enumerable.Repeat(1.0, 3)).Concat([1.0, 1.0]));

        Assert.Equal("SSSSSSSSSSSSWD", states);
    }

    [Fact]
    public void Ddm_ignores_a_first_error_after_a_clean_start()
    {
        // Twenty right answers give p = s = 0: no minimum is recorded, so the first error only sets one.
        var d = new Ddm(new DdmOptions { MinInstances = 10 });

        var states = States(d, Enumerable.Repeat(0.0, 20).Append(1.0).Concat(Enumerable.Repeat(0.0, 20)));

        Assert.Equal(new string('S', 41), states);
        Assert.Equal(0, d.Detections);
    }

    [Fact]
    public void Ddm_pins_warning_and_drift_on_a_rise_from_one_in_ten_to_one_in_three()
    {
        var d = new Ddm();
        var states = States(d, Every(10, 1000).Concat(Every(3, 1000)));

        Assert.Equal(1086, states.IndexOf('W', StringComparison.Ordinal));
        Assert.Equal(1137, states.IndexOf('D', StringComparison.Ordinal));
        Assert.Equal(1, d.Detections);
    }

    [Fact]
    public void Eddm_pins_its_ratio_to_the_hand_computed_one()
    {
        // MinErrors 3, gaps 5, 5, 20: mean 10, std √50 = 7.07, level 24.14 (the maximum). A 4th gap of 5: mean 8.75,
        // std 6.50, level 21.74 = 0.9005 of it (warning below 0.95). A 5th: mean 8, std 6, level 20 = 0.828 (drift below
        // 0.85). Then a fresh start: gaps of 5 only, level 5 = its own maximum, nothing more.
        var d = new Eddm(new EddmOptions { MinErrors = 3, WarningRatio = 0.95, DriftRatio = 0.85 });
        var stream = Gaps([5, 5, 20, .. Enumerable.Repeat(5, 30)]);

        var states = States(d, stream);

        Assert.Equal(new string('S', 34) + "WWWWW" + "D" + new string('S', stream.Length - 40), states);
        Assert.Equal(1, d.Detections);
    }

    [Fact]
    public void Eddm_counts_a_half_as_an_error()
    {
        var ones = Gaps([5, 5, 20, .. Enumerable.Repeat(5, 10)]);
        var halves = ones.Select(x => x / 2).ToArray();
        EddmOptions options = new() { MinErrors = 3, WarningRatio = 0.95, DriftRatio = 0.85 };

        Assert.Equal(States(new Eddm(options), ones), States(new Eddm(options), halves));
    }

    [Fact]
    public void Eddm_at_its_default_ratios_drifts_on_the_fifth_error_of_the_hand_example()
    {
        // Same stream with MinErrors 3 and the default ratios: 0.9005 is no warning (≥ 0.90), 0.828 is a drift (< 0.85).
        var states = States(new Eddm(new EddmOptions { MinErrors = 3 }), Gaps([5, 5, 20, 5, 5, 5]));

        Assert.Equal(new string('S', 39) + "D" + new string('S', 5), states);
    }

    [Fact]
    public void Page_hinkley_rise_follows_the_cumulative_sum_by_hand()
    {
        // δ = 0, no forgetting, stream 0, 0, 0, 1: the mean after four inputs is 0.25 and the sum 0.75 (minimum 0).
        static PageHinkley Ph(int min, double threshold, double delta = 0) =>
            new(new PageHinkleyOptions { MinInstances = min, Threshold = threshold, Delta = delta, Alpha = 1 });
        double[] stream = [0, 0, 0, 1];

        Assert.Equal("SSSD", States(Ph(4, 0.5), stream));        // decides on its 4th input
        Assert.Equal("SSSW", States(Ph(1, 0.75), stream));       // a rise of exactly λ is no drift
        Assert.Equal("SSSS", States(Ph(1, 1.5), stream));        // nor exactly λ/2 a warning
        // δ = 0.1: the sum goes -0.1, -0.2, -0.3, then +0.65 to 0.35; the rise above the minimum is 0.65.
        Assert.Equal("SSSW", States(Ph(1, 1.0, 0.1), stream));
        Assert.Equal("SSSD", States(Ph(1, 0.6, 0.1), stream));
    }

    [Fact]
    public void Page_hinkley_starts_afresh_after_a_drift()
    {
        var d = new PageHinkley(new PageHinkleyOptions { MinInstances = 4, Threshold = 0.5, Delta = 0, Alpha = 1 });

        Assert.Equal("SSSDSSSD", States(d, [0, 0, 0, 1, 0, 0, 0, 1]));
        Assert.Equal(2, d.Detections);
        Assert.Equal(8, d.Seen);
    }

    [Fact]
    public void Page_hinkley_forgets_old_deviations_at_its_alpha()
    {
        // α = 0.5, δ = 0: after 0, 0, 0, 1 the sum is 0.75 (the zeros add nothing); without forgetting a further
        // 0 would add -0.2 (mean 0.2) to 0.55; with α = 0.5 it is 0.375 - 0.2 = 0.175.
        var keep = new PageHinkley(new PageHinkleyOptions { MinInstances = 1, Threshold = 1.0, Delta = 0, Alpha = 1 });
        var forget = new PageHinkley(new PageHinkleyOptions { MinInstances = 1, Threshold = 1.0, Delta = 0, Alpha = 0.5 });

        Assert.Equal("SSSWW", States(keep, [0, 0, 0, 1, 0]));
        Assert.Equal("SSSWS", States(forget, [0, 0, 0, 1, 0]));
    }

    public static TheoryData<string> Names() => ["ddm", "eddm", "adwin", "page-hinkley"];

    [Theory]
    [MemberData(nameof(Names))]
    public void After_reset_a_detector_answers_exactly_as_a_new_one(string name)
    {
        var stream = Every(10, 2000).Concat(Every(2, 1000)).ToArray();
        var used = DetectorTests.Published(name);
        foreach (var x in Enumerable.Repeat(1.0, 300)) used.Update(x);

        used.Reset();

        Assert.Equal(States(DetectorTests.Published(name), stream), States(used, stream));
    }

    [Fact]
    public void Option_problems_are_listed_with_their_values()
    {
        static string Message(Action create) => Assert.Throws<UsageException>(create).Message;

        Assert.Equal("invalid DDM options: MinInstances must be positive, got 0; WarningLevel must be positive, got 0; DriftLevel (0) must exceed WarningLevel (0)",
            Message(() => _ = new Ddm(new DdmOptions { MinInstances = 0, WarningLevel = 0, DriftLevel = 0 })));
        Assert.Equal("invalid DDM options: DriftLevel (3) must exceed WarningLevel (3)",
            Message(() => _ = new Ddm(new DdmOptions { WarningLevel = 3, DriftLevel = 3 })));
        Assert.Equal("invalid EDDM options: MinErrors must be positive, got 0; WarningRatio must be in (0, 1), got 1; DriftRatio (1) must be in (0, WarningRatio)",
            Message(() => _ = new Eddm(new EddmOptions { MinErrors = 0, WarningRatio = 1, DriftRatio = 1 })));
        Assert.Equal("invalid EDDM options: WarningRatio must be in (0, 1), got 0; DriftRatio (0) must be in (0, WarningRatio)",
            Message(() => _ = new Eddm(new EddmOptions { WarningRatio = 0, DriftRatio = 0 })));
        Assert.Contains("WarningRatio must be in (0, 1), got 1.5", Message(() => _ = new Eddm(new EddmOptions { WarningRatio = 1.5 })));
        Assert.Contains("DriftRatio (0.9) must be in (0, WarningRatio)", Message(() => _ = new Eddm(new EddmOptions { WarningRatio = 0.9, DriftRatio = 0.9 })));
        Assert.Equal("invalid Page-Hinkley options: Delta must not be negative, got -0.1; WarningShare must be in (0, 1), got 0; Alpha must be in (0, 1], got 0",
            Message(() => _ = new PageHinkley(new PageHinkleyOptions { Delta = -0.1, WarningShare = 0, Alpha = 0 })));
        Assert.Contains("WarningShare must be in (0, 1), got 1;", Message(() => _ = new PageHinkley(new PageHinkleyOptions { WarningShare = 1, Alpha = 1.5 })));
        Assert.Contains("Alpha must be in (0, 1], got 1.5", Message(() => _ = new PageHinkley(new PageHinkleyOptions { WarningShare = 1.5, Alpha = 1.5 })));
        Assert.Contains("WarningShare must be in (0, 1), got 1.5", Message(() => _ = new PageHinkley(new PageHinkleyOptions { WarningShare = 1.5 })));

        // The edges that are allowed.
        _ = new Eddm(new EddmOptions { WarningRatio = 0.99, DriftRatio = 0.01 });
        _ = new PageHinkley(new PageHinkleyOptions { Delta = 0, Alpha = 1, WarningShare = 0.99 });
        _ = new Ddm(new DdmOptions { MinInstances = 1, WarningLevel = 0.5, DriftLevel = 0.6 });
    }

    [Fact]
    public void Out_of_range_inputs_name_the_range_and_the_edges_are_accepted()
    {
        var unit = Assert.Throws<ArgumentOutOfRangeException>(() => new Eddm().Update(1.5));
        Assert.StartsWith("an error indicator lies in [0, 1]", unit.Message, StringComparison.Ordinal);
        var finite = Assert.Throws<ArgumentOutOfRangeException>(() => new PageHinkley().Update(double.NaN));
        Assert.StartsWith("the stream's values must be finite", finite.Message, StringComparison.Ordinal);

        Assert.Equal(DetectorState.Stable, new Ddm().Update(0));
        Assert.Equal(DetectorState.Stable, new Ddm().Update(1));
        Assert.Throws<ArgumentNullException>(() => DetectorStatus.Of(null!));
    }
}
