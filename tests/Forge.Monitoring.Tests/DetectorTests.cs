using Forge.Core;

namespace Forge.Monitoring.Tests;

public sealed class DetectorTests
{
    /// <summary>A deterministic error stream: one error every <paramref name="period"/> inputs.</summary>
    private static IEnumerable<double> Every(int period, int count) => Enumerable.Range(1, count).Select(i => i % period == 0 ? 1.0 : 0.0);

    private static (int FirstWarning, int FirstDrift) Feed(IConceptDriftDetector d, IEnumerable<double> stream)
    {
        int i = 0, warning = -1, drift = -1;
        foreach (var x in stream)
        {
            var s = d.Update(x);
            if (s == DetectorState.Warning && warning < 0) warning = i;
            if (s == DetectorState.Drift && drift < 0) drift = i;
            i++;
        }
        return (warning, drift);
    }

    public static TheoryData<string> Names() => ["ddm", "eddm", "adwin", "page-hinkley"];

    private static IConceptDriftDetector Create(string name) => name switch
    {
        "ddm" => new Ddm(),
        "eddm" => new Eddm(),
        "adwin" => new Adwin(),
        _ => new PageHinkley(),
    };

    // The algorithms' mechanics are checked at their published settings, which react quickly enough for short streams.
    internal static IConceptDriftDetector Published(string name) => name switch
    {
        "ddm" => new Ddm(DdmOptions.Published),
        "eddm" => new Eddm(EddmOptions.Published),
        "adwin" => new Adwin(),
        _ => new PageHinkley(PageHinkleyOptions.Published),
    };

    [Theory]
    [MemberData(nameof(Names))]
    public void The_defaults_stay_quiet_on_long_steady_streams_yet_still_catch_a_jump(string name)
    {
        // Three seeded streams of 100,000 inputs at a 10 % error rate: at most one false alarm each (the bench runs 100).
        for (var seed = 0; seed < 3; seed++)
        {
            var d = Create(name);
            var rng = new Random(500 + seed);
            for (var i = 0; i < 100_000; i++) d.Update(rng.NextDouble() < 0.1 ? 1 : 0);
            Assert.True(d.Detections <= 1, $"{name}, seed {seed}: {d.Detections} false alarms");
        }

        // A random 0.1 → 0.4 jump is caught within the next 5,000 inputs on every seed.
        const int horizon = 5000;
        var caught = 0;
        for (var seed = 0; seed < 5; seed++)
        {
            var random = new Random(77 + seed);
            var (_, drift) = Feed(Create(name), Enumerable.Range(0, 5000 + horizon).Select(i => random.NextDouble() < (i < 5000 ? 0.1 : 0.4) ? 1.0 : 0.0));
            Assert.True(drift is -1 or >= 5000, $"{name}, seed {seed}: drift before the change at {drift}");
            if (drift >= 5000) caught++;
        }
        Assert.Equal(5, caught);
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void A_steady_error_rate_raises_nothing(string name)
    {
        var d = Create(name);

        var (warning, drift) = Feed(d, Every(10, 5000));

        Assert.Equal(-1, drift);
        Assert.Equal(0, d.Detections);
        Assert.Equal(5000, d.Seen);
        Assert.Equal(name, d.Name);
        if (name != "eddm") Assert.Equal(-1, warning);
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void A_jump_in_the_error_rate_is_detected_soon_after_it_at_the_published_settings(string name)
    {
        var d = Published(name);

        var (warning, drift) = Feed(d, Every(10, 2000).Concat(Every(2, 2000)));

        // EDDM averages the gaps between errors since its last reset, so it reacts once enough new gaps outweigh the old.
        Assert.InRange(drift, 2000, name == "eddm" ? 2800 : 2400);
        Assert.True(d.Detections >= 1);
        if (warning >= 0) Assert.True(warning <= drift);
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Reset_forgets_everything(string name)
    {
        var d = Create(name);
        Feed(d, Every(10, 2000).Concat(Every(2, 2000)));

        d.Reset();

        Assert.Equal(0, d.Seen);
        Assert.Equal(0, d.Detections);
        Assert.Equal(DetectorState.Stable, d.State);
        Assert.Equal(-1, Feed(d, Every(10, 3000)).FirstDrift);
    }

    [Fact]
    public void Ddm_warns_before_it_signals_drift_and_restarts_after()
    {
        var d = new Ddm();
        var (warning, drift) = Feed(d, Every(10, 1000).Concat(Every(3, 1000)));

        Assert.InRange(warning, 1000, drift - 1);
        Assert.Equal(DetectorState.Stable, d.Update(0));
    }

    [Fact]
    public void Ddm_does_not_decide_before_its_minimum()
    {
        var d = new Ddm(new DdmOptions { MinInstances = 50 });
        for (var i = 0; i < 49; i++) Assert.Equal(DetectorState.Stable, d.Update(1));
    }

    [Fact]
    public void Eddm_sees_errors_come_closer_together()
    {
        var d = new Eddm(EddmOptions.Published);
        var (warning, drift) = Feed(d, Every(20, 4000).Concat(Every(4, 3000)));

        Assert.InRange(drift, 4000, 6000);
        Assert.InRange(warning, 4000, drift);
    }

    [Fact]
    public void Eddm_takes_its_maximum_only_once_it_has_its_minimum_of_errors()
    {
        // One error in ten on average, as gaps 5, 30, 5, 5, 5 over and over: the long-run mean + 2·std of the gaps is
        // 10 + 2·10 = 30, but after the first two gaps (5, 30) it is 17.5 + 2·12.5 = 42.5. A maximum taken that early
        // puts every later error at 30 / 42.5 ≈ 0.71 of it, a drift at the 30th error and again after each restart.
        int[] gaps = [5, 30, 5, 5, 5];
        var stream = Enumerable.Range(0, 120).SelectMany(k => Enumerable.Repeat(0.0, gaps[k % 5] - 1).Append(1.0)).ToArray();
        var d = new Eddm(EddmOptions.Published);

        var (warning, drift) = Feed(d, stream);

        Assert.Equal(-1, drift);
        Assert.Equal(-1, warning);
        Assert.Equal(0, d.Detections);
        Assert.Equal(1200, d.Seen);
    }

    [Fact]
    public void Adwin_shrinks_its_window_to_the_new_level()
    {
        var d = new Adwin();
        foreach (var x in Every(10, 3000)) d.Update(x);
        Assert.Equal(3000, d.Width);
        Assert.Equal(0.1, d.Mean, 3);
        Assert.InRange(d.BucketCount, 1, 5 * 12);

        for (var i = 0; i < 500; i++) d.Update(1);

        Assert.True(d.Detections >= 1);
        Assert.InRange(d.Width, 100, 1000);
        Assert.InRange(d.Mean, 0.8, 1.0);
    }

    [Fact]
    public void Adwin_keeps_the_window_variance_exactly()
    {
        var d = new Adwin(new AdwinOptions { CheckEvery = 1_000_000 });
        var x = Data.Normal(777, 0, 1, 3).Select(v => Math.Clamp(v, -3, 3)).ToArray();
        foreach (var v in x) d.Update(v);

        Assert.Equal(x.Average(), d.Mean, 12);
        Assert.Equal(777, d.Width);
    }

    [Fact]
    public void Adwin_detects_a_bernoulli_jump_from_0_1_to_0_3_within_a_few_hundred_inputs()
    {
        var rng = new Random(5);
        var d = new Adwin();
        for (var i = 0; i < 5000; i++) d.Update(rng.NextDouble() < 0.1 ? 1 : 0);
        var delay = -1;
        for (var i = 0; i < 2000 && delay < 0; i++)
        {
            if (d.Update(rng.NextDouble() < 0.3 ? 1 : 0) == DetectorState.Drift) delay = i;
        }

        Assert.InRange(delay, 20, 400);
    }

    [Fact]
    public void Page_hinkley_detects_a_rise_after_about_threshold_over_step()
    {
        var d = new PageHinkley(new PageHinkleyOptions { Threshold = 10, Delta = 0 });
        for (var i = 0; i < 1000; i++) d.Update(0);

        var (warning, drift) = Feed(d, Enumerable.Repeat(1.0, 100));

        Assert.InRange(warning, 4, 6);
        Assert.InRange(drift, 9, 12);
    }

    [Fact]
    public void Inputs_out_of_range_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new Ddm().Update(2));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Eddm().Update(-0.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adwin().Update(double.NaN));
        Assert.Throws<ArgumentOutOfRangeException>(() => new PageHinkley().Update(double.PositiveInfinity));
    }

    [Fact]
    public void Invalid_detector_options_list_every_problem()
    {
        var ddm = Assert.Throws<UsageException>(() => new Ddm(new DdmOptions { MinInstances = 0, WarningLevel = 3, DriftLevel = 2 }));
        Assert.Contains("MinInstances", ddm.Message);
        Assert.Contains("DriftLevel", ddm.Message);
        var adwin = Assert.Throws<UsageException>(() => new Adwin(new AdwinOptions { Delta = 0, MaxBuckets = 1 }));
        Assert.Contains("Delta", adwin.Message);
        Assert.Contains("MaxBuckets", adwin.Message);
        Assert.Throws<UsageException>(() => new Eddm(new EddmOptions { DriftRatio = 0.99 }));
        Assert.Throws<UsageException>(() => new PageHinkley(new PageHinkleyOptions { Threshold = -1, Alpha = 2 }));
    }

    [Fact]
    public void Status_reports_the_detector()
    {
        var d = new Adwin();
        d.Update(0);

        Assert.Equal(new DetectorStatus("adwin", DetectorState.Stable, 1, 0), DetectorStatus.Of(d));
    }
}
