using Forge.Core;

namespace Forge.Monitoring.Tests;

/// <summary>
/// ADWIN's cut test and exponential histogram at known answers. The step streams are 30 zeros followed by ones; with
/// MaxBuckets = 100 no bucket merges before input 101, so every split point is tested.
/// </summary>
public sealed class AdwinTests
{
    private static readonly double[] Step = [.. Enumerable.Repeat(0.0, 30), .. Enumerable.Repeat(1.0, 60)];

    /// <summary>One letter per input: S stable, W warning, D drift.</summary>
    private static string Trace(Adwin d, IEnumerable<double> stream) =>
        string.Concat(stream.Select(x => d.Update(x) switch
        {
            DetectorState.Drift => 'D',
            DetectorState.Warning => 'W',
            _ => 'S',
        }));

    /// <summary>A deterministic noisy level: the fractional parts of i·φ spread evenly over [level, level + 0.2).</summary>
    private static IEnumerable<double> Noisy(double level, int from, int count) =>
        Enumerable.Range(from, count).Select(i => level + 0.2 * (i * 0.6180339887498949 % 1.0));

    [Fact]
    public void A_step_warns_after_18_ones_and_drifts_when_30_ones_face_the_30_zeros()
    {
        var d = new Adwin(new AdwinOptions { MaxBuckets = 100 });

        var trace = Trace(d, Step.Take(60));

        // At 30 zeros | 30 ones: 1/m = 1/26 + 1/26 (sides less MinSubWindow - 1), σ² = 1/4, dd = ln(2·ln 60/0.002) = 8.317,
        // so ε = √(2·σ²·dd/m) + 2·dd/(3m) = 0.992 < 1 = the gap. One input earlier (29 ones) ε = 1.006.
        // At the looser δ = 0.02 the same split passes from 18 ones on (ε = 0.991; 1.021 at 17 ones).
        Assert.Equal(new string('S', 47) + new string('W', 12) + "D", trace);
        Assert.Equal(1, d.Detections);
        Assert.Equal(59, d.Width);
        Assert.Equal(30.0 / 59, d.Mean, 15);
        Assert.Equal(60, d.Seen);
        Assert.Equal(59, d.BucketCount);

        // Each further one makes the oldest zero stand out again, until the zeros thin out.
        Assert.Equal("DDDWDWDWDWDWWDWWDWWWDWWWWWDWWW", Trace(d, Step.Skip(60)));
        Assert.Equal(12, d.Detections);
        Assert.Equal(78, d.Width);
        Assert.Equal(60.0 / 78, d.Mean, 15);
    }

    [Fact]
    public void Buckets_limit_the_split_points_and_a_cut_drops_the_oldest_bucket_whole()
    {
        var standard = new Adwin();
        var trace = Trace(standard, Step);
        Assert.Equal(50, trace.IndexOf('W'));
        Assert.Equal(64, trace.IndexOf('D'));
        Assert.Equal(2, standard.Detections);
        Assert.Equal(74, standard.Width);
        Assert.Equal(19, standard.BucketCount);

        // With two buckets per size the window is 32 + 16 + 8 + 4 + 2 + 1 + 1 + 1 at input 65: the first cut drops the
        // 32 (every zero and two ones), after which the window is constant and nothing more is cut.
        var coarse = new Adwin(new AdwinOptions { MaxBuckets = 2 });
        var before = Trace(coarse, Step.Take(64));
        Assert.DoesNotContain('D', before);
        Assert.Equal(64, coarse.Width);
        Assert.Equal(7, coarse.BucketCount);
        Assert.Equal(DetectorState.Drift, coarse.Update(1));
        Assert.Equal(33, coarse.Width);
        Assert.Equal(1, coarse.Mean);
        Assert.Equal(6, coarse.BucketCount);
        Assert.Equal(new string('S', 25), Trace(coarse, Step.Skip(65)));
        Assert.Equal(1, coarse.Detections);
        Assert.Equal(58, coarse.Width);
    }

    [Fact]
    public void The_exponential_histogram_merges_the_two_oldest_buckets_when_a_size_overflows()
    {
        var d = new Adwin(new AdwinOptions { MaxBuckets = 2 });
        Assert.Equal(0, d.BucketCount);
        Assert.Equal(0, d.Mean);
        Assert.Equal(0, d.Width);

        var counts = new List<int>();
        for (var i = 0; i < 8; i++)
        {
            d.Update(0);
            counts.Add(d.BucketCount);
        }

        // Sizes after each input: 1 | 1 1 | 1 2 | 1 1 2 | 1 2 2 | 1 1 2 2 | 1 2 4 | 1 1 2 4.
        Assert.Equal([1, 2, 2, 3, 3, 4, 3, 4], counts);
        Assert.Equal(8, d.Width);
    }

    [Fact]
    public void Larger_minimum_sub_windows_delay_the_cut()
    {
        var d = new Adwin(new AdwinOptions { MaxBuckets = 100, MinSubWindow = 10 });

        var trace = Trace(d, Step);

        Assert.Equal(55, trace.IndexOf('W'));
        Assert.Equal(71, trace.IndexOf('D'));
        Assert.Equal(6, d.Detections);
        Assert.Equal(84, d.Width);
    }

    [Fact]
    public void Checking_every_seventh_input_reports_only_on_those_inputs()
    {
        var d = new Adwin(new AdwinOptions { MaxBuckets = 100, CheckEvery = 7 });

        var trace = Trace(d, Step);

        for (var i = 0; i < trace.Length; i++)
        {
            if ((i + 1) % 7 != 0) Assert.Equal('S', trace[i]);
        }
        // The 49th input finds the warning (first possible from the 48th) and the 63rd the cut (from the 60th).
        Assert.Equal(48, trace.IndexOf('W'));
        Assert.Equal(62, trace.IndexOf('D'));
        Assert.Equal(4, d.Detections);
        Assert.Equal(79, d.Width);
        Assert.Equal(90, d.Seen);
    }

    [Fact]
    public void A_noisy_level_shift_is_found_and_the_window_keeps_the_new_level()
    {
        var d = new Adwin();
        var stream = Noisy(0.2, 1, 300).Concat(Noisy(0.4, 301, 300)).ToArray();

        var trace = Trace(d, stream);

        Assert.DoesNotContain('W', trace[..300]);
        Assert.Equal(338, trace.IndexOf('W'));
        Assert.Equal(353, trace.IndexOf('D'));
        Assert.Equal(7, d.Detections);
        Assert.Equal(344, d.Width);
        Assert.Equal(28, d.BucketCount);
        Assert.Equal(stream[^344..].Average(), d.Mean, 12);
    }

    [Fact]
    public void Reset_forgets_the_window_and_the_counts()
    {
        var d = new Adwin(new AdwinOptions { MaxBuckets = 100, CheckEvery = 7 });
        var first = Trace(d, Step.Take(65));
        Assert.Equal(DetectorState.Stable, d.Update(1));

        d.Reset();

        Assert.Equal(0, d.Seen);
        Assert.Equal(0, d.Detections);
        Assert.Equal(0, d.Width);
        Assert.Equal(0, d.Mean);
        Assert.Equal(0, d.BucketCount);
        Assert.Equal(DetectorState.Stable, d.State);
        // The check counter starts over too: the same stream gives the same answers.
        Assert.Equal(first, Trace(d, Step.Take(65)));
        Assert.Equal(1, d.Detections);
    }

    [Fact]
    public void Invalid_options_are_listed_together_with_their_values()
    {
        var e = Assert.Throws<UsageException>(() => new Adwin(new AdwinOptions { Delta = 1, WarningDelta = 1, MaxBuckets = 1, MinSubWindow = 0, CheckEvery = 0 }));

        Assert.Equal("invalid ADWIN options: Delta must be in (0, 1), got 1; WarningDelta (1) must be in (Delta, 1); "
            + "MaxBuckets must be at least 2, got 1; MinSubWindow must be positive, got 0; CheckEvery must be positive, got 0", e.Message);
        Assert.Equal("invalid ADWIN options: Delta must be in (0, 1), got 0",
            Assert.Throws<UsageException>(() => new Adwin(new AdwinOptions { Delta = 0 })).Message);
        Assert.Equal("invalid ADWIN options: WarningDelta (0.002) must be in (Delta, 1)",
            Assert.Throws<UsageException>(() => new Adwin(new AdwinOptions { WarningDelta = 0.002 })).Message);
        Assert.Equal("invalid ADWIN options: WarningDelta (1) must be in (Delta, 1)",
            Assert.Throws<UsageException>(() => new Adwin(new AdwinOptions { Delta = 0.5, WarningDelta = 1 })).Message);

        // The edges of every range are accepted.
        var edge = new Adwin(new AdwinOptions { Delta = 0.5, WarningDelta = 0.999, MaxBuckets = 2, MinSubWindow = 1, CheckEvery = 1 });
        Assert.Equal(DetectorState.Stable, edge.Update(0));
        Assert.Equal(DetectorState.Stable, new Adwin(null).Update(0));
    }
}
