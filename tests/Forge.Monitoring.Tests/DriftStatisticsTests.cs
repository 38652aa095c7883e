using System.Numerics;

namespace Forge.Monitoring.Tests;

/// <summary>The drift statistics on small inputs whose answers follow from their definitions by hand.</summary>
public sealed class DriftStatisticsTests
{
    /// <summary>
    /// P(D ≥ every attainable D) under the null, by counting: each of the C(n1+n2, n1) ways to interleave the two
    /// samples is equally likely, and D is the largest |i/n1 - j/n2| along the interleaving.
    /// </summary>
    private static SortedDictionary<int, double> EnumeratedKsTail(int n1, int n2)
    {
        var counts = new SortedDictionary<int, long>();
        long total = 0;
        for (var mask = 0; mask < 1 << (n1 + n2); mask++)
        {
            if (BitOperations.PopCount((uint)mask) != n1) continue;
            total++;
            int i = 0, j = 0, largest = 0;
            for (var r = 0; r < n1 + n2; r++)
            {
                if ((mask >> r & 1) == 1) i++;
                else j++;
                largest = Math.Max(largest, Math.Abs(i * n2 - j * n1));
            }
            counts[largest] = counts.GetValueOrDefault(largest) + 1;
        }
        var tail = new SortedDictionary<int, double>();
        long atLeast = 0;
        foreach (var (gap, count) in counts.Reverse())
        {
            atLeast += count;
            tail[gap] = (double)atLeast / total;
        }
        return tail;
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(1, 4)]
    [InlineData(2, 2)]
    [InlineData(3, 3)]
    [InlineData(6, 6)]
    [InlineData(3, 5)]
    [InlineData(5, 3)]
    [InlineData(4, 6)]
    [InlineData(2, 7)]
    [InlineData(4, 8)]
    [InlineData(5, 7)]
    public void The_exact_ks_p_value_is_the_share_of_interleavings_at_least_as_extreme(int n1, int n2)
    {
        foreach (var (gap, p) in EnumeratedKsTail(n1, n2))
        {
            var d = (double)gap / (n1 * n2);
            var r = DriftStatistics.KsPValue(n1, n2, d);

            Assert.Equal(KsMethod.Exact, r.Method);
            Assert.Equal(d, r.Statistic);
            Golden.Near(p, r.PValue, 1e-12, $"n1={n1}, n2={n2}, D={gap}/{n1 * n2}");
        }
    }

    [Fact]
    public void Ks_statistic_reads_both_cdfs_after_each_tied_value()
    {
        // After 1: 2/3 against 1/3; after 2: both 1. A tie across the samples must not open a gap.
        var r = DriftStatistics.KolmogorovSmirnov([2, 1, 1], [1, 2, 2]);
        Assert.Equal(1.0 / 3, r.Statistic, 15);
        Assert.Equal(1, r.PValue, 12);

        Assert.Equal(0, DriftStatistics.KolmogorovSmirnov([3, 1, 2], [1, 2, 3]).Statistic);
        Assert.Equal(1, DriftStatistics.KolmogorovSmirnov([3, 1, 2], [1, 2, 3]).PValue);
        // b wholly below a: the gap is 1 whichever sample leads, and only 2 of the C(5, 2) = 10 orders reach it.
        var apart = DriftStatistics.KolmogorovSmirnov([5, 6], [1, 2, 3]);
        Assert.Equal(1, apart.Statistic);
        Assert.Equal(0.2, apart.PValue, 14);
        Assert.Equal(1, DriftStatistics.KolmogorovSmirnov([1, 2, 3], [5, 6]).Statistic);
        // The gap may open in either direction: here a's CDF trails by 1/2 after 1 and never leads.
        Assert.Equal(0.5, DriftStatistics.KolmogorovSmirnov([2, 2, 3, 4], [1, 3]).Statistic, 15);
        Assert.Equal(0.5, DriftStatistics.KolmogorovSmirnov([1, 3], [2, 2, 3, 4]).Statistic, 15);
    }

    [Fact]
    public void Samples_beyond_the_exact_limit_use_kstwo_at_the_rounded_effective_size()
    {
        Assert.Equal(KsMethod.Exact, DriftStatistics.KsPValue(DriftStatistics.KsExactMaxSize, 2, 0.75).Method);

        // n1·n2/(n1+n2) = 20002/10003 rounds to 2, and kstwo.sf(0.75, 2) = 2·0.25².
        var r = DriftStatistics.KsPValue(DriftStatistics.KsExactMaxSize + 1, 2, 0.75);
        Assert.Equal(KsMethod.Asymptotic, r.Method);
        Assert.Equal(0.125, r.PValue, 14);
        Assert.Equal(0.75, r.Statistic);
        Assert.Equal(r, DriftStatistics.KsPValue(2, DriftStatistics.KsExactMaxSize + 1, 0.75));

        // 10011·71/10082 = 70.5 exactly: scipy's np.round takes it to the even 70.
        var half = DriftStatistics.KsPValue(10_011, 71, 0.1);
        Assert.Equal(Kolmogorov.Sf(70, 0.1), half.PValue);
        Assert.NotEqual(Kolmogorov.Sf(71, 0.1), half.PValue);
        // A single value against a large sample: the effective size 20000/20001 rounds to 1.
        Assert.Equal(Kolmogorov.Sf(1, 0.9), DriftStatistics.KsPValue(20_000, 1, 0.9).PValue);
    }

    [Fact]
    public void Ks_p_value_refuses_a_statistic_outside_0_1_naming_it()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => DriftStatistics.KsPValue(3, 3, double.NaN));
        Assert.Equal("d", e.ParamName);
        Assert.StartsWith("a KS statistic lies in [0, 1]", e.Message);
        Assert.Equal(1, DriftStatistics.KsPValue(3, 3, 0).PValue);
        Assert.Equal(0.1, DriftStatistics.KsPValue(3, 3, 1).PValue, 14);
        Assert.Equal("both samples need at least one value",
            Assert.Throws<ArgumentException>(() => DriftStatistics.KolmogorovSmirnov([1.0], [])).Message);
        var nan = Assert.Throws<ArgumentException>(() => DriftStatistics.KolmogorovSmirnov([1.0], [double.NaN]));
        Assert.Equal("b", nan.ParamName);
        Assert.StartsWith("the sample contains NaN; remove missing values first", nan.Message);
    }

    [Fact]
    public void Chi_squared_treats_cells_with_no_expectation_by_what_was_observed_there()
    {
        // Nothing expected and nothing seen: the cell is no evidence but still counts towards the degrees of freedom.
        var quiet = DriftStatistics.ChiSquared([10, 0, 20], [20, 0, 10]);
        Assert.Equal(15, quiet.Statistic, 12);
        Assert.Equal(2, quiet.DegreesOfFreedom);
        Assert.Equal(Math.Exp(-7.5), quiet.PValue, 14);

        var impossible = DriftStatistics.ChiSquared([10, 1, 20], [20, 0, 10]);
        Assert.Equal(double.PositiveInfinity, impossible.Statistic);
        Assert.Equal(0, impossible.PValue);

        Assert.Equal("2 observed cells but 3 expected cells", Assert.Throws<ArgumentException>(() => DriftStatistics.ChiSquared([1, 2], [1, 2, 3])).Message);
        Assert.Equal("a chi-squared test needs at least two cells", Assert.Throws<ArgumentException>(() => DriftStatistics.ChiSquared([1], [1])).Message);
        Assert.Equal("cell 1 has observed NaN and expected 2; counts must be finite and non-negative",
            Assert.Throws<ArgumentException>(() => DriftStatistics.ChiSquared([1, double.NaN], [1, 2])).Message);
        Assert.Equal("cell 0 has observed 1 and expected -1; counts must be finite and non-negative",
            Assert.Throws<ArgumentException>(() => DriftStatistics.ChiSquared([1, 2], [-1, 2])).Message);
        Assert.Throws<ArgumentException>(() => DriftStatistics.ChiSquared([double.PositiveInfinity, 2], [1, 2]));
    }

    [Fact]
    public void Chi_squared_against_reference_scales_the_reference_to_the_current_total()
    {
        // Reference 5, 5, 10 scaled by 40/20 to 10, 10, 20: (20-10)²/10 + 0 + (10-20)²/20 = 15.
        var r = DriftStatistics.ChiSquaredAgainstReference([5, 5, 10], [20, 10, 10]);

        Assert.Equal(15, r.Statistic, 12);
        Assert.Equal(2, r.DegreesOfFreedom);
        Assert.Equal(Math.Exp(-7.5), r.PValue, 14);
        Assert.Equal("2 reference categories but 3 current ones",
            Assert.Throws<ArgumentException>(() => DriftStatistics.ChiSquaredAgainstReference([1, 2], [1, 2, 3])).Message);
        Assert.Equal("category 1 has counts 2 and NaN; counts must be finite and non-negative",
            Assert.Throws<ArgumentException>(() => DriftStatistics.ChiSquaredAgainstReference([1, 2], [1, double.NaN])).Message);
        Assert.Throws<ArgumentException>(() => DriftStatistics.ChiSquaredAgainstReference([1, 2], [1, double.PositiveInfinity]));
        Assert.Throws<ArgumentException>(() => DriftStatistics.ChiSquaredAgainstReference([1, double.PositiveInfinity], [1, 2]));
        Assert.Throws<ArgumentException>(() => DriftStatistics.ChiSquaredAgainstReference([1, 2], [double.NaN, 2]));
        Assert.Equal("both samples need at least one counted value",
            Assert.Throws<ArgumentException>(() => DriftStatistics.ChiSquaredAgainstReference([1, 2], [0, 0])).Message);
    }

    [Fact]
    public void Chi_squared_contingency_ignores_empty_categories_and_needs_two_seen_ones()
    {
        // Every column totals 40 and splits 20/20 under homogeneity: 2·(10²/20) + 0 + 2·(10²/20) = 20 on 2 dof.
        var r = DriftStatistics.ChiSquaredContingency([10, 0, 20, 30], [30, 0, 20, 10]);
        Assert.Equal(20, r.Statistic, 12);
        Assert.Equal(2, r.DegreesOfFreedom);
        Assert.Equal(Math.Exp(-10), r.PValue, 15);

        // Unequal totals: expectations follow the row shares (reference 1/4, current 3/4 of each column of 60).
        var unequal = DriftStatistics.ChiSquaredContingency([10, 20, 0], [50, 40, 0]);
        var expected = 2 * (25.0 / 15 + 25.0 / 45);
        Assert.Equal(expected, unequal.Statistic, 12);
        Assert.Equal(1, unequal.DegreesOfFreedom);

        Assert.Equal(new ChiSquaredResult(0, 1, 0), DriftStatistics.ChiSquaredContingency([0, 7, 0], [0, 3, 0]));
    }

    [Fact]
    public void Two_proportion_z_is_signed_by_which_share_is_larger()
    {
        // Pooled share 0.15: variance 0.15·0.85·(1/100 + 1/100) = 0.00255.
        var z = -0.1 / Math.Sqrt(0.00255);
        var lower = DriftStatistics.TwoProportionZ(10, 100, 20, 100);
        Assert.Equal(z, lower.Statistic, 12);
        Assert.Equal(SpecialFunctions.Erfc(-z / Math.Sqrt(2)), lower.PValue, 12);
        var higher = DriftStatistics.TwoProportionZ(20, 100, 10, 100);
        Assert.Equal(-z, higher.Statistic, 12);
        Assert.Equal(lower.PValue, higher.PValue, 15);

        Assert.Equal(new ZTestResult(0, 1), DriftStatistics.TwoProportionZ(5, 5, 9, 9));
        Assert.Equal(new ZTestResult(0, 1), DriftStatistics.TwoProportionZ(0, 5, 0, 9));
        Assert.Equal(new ZTestResult(0, 1), DriftStatistics.TwoProportionZ(3, 6, 5, 10));
        // Successes at the bounds of [0, count] are allowed.
        Assert.Equal(-Math.Sqrt(8), DriftStatistics.TwoProportionZ(0, 4, 4, 4).Statistic, 12);

        var e = Assert.Throws<ArgumentOutOfRangeException>(() => DriftStatistics.TwoProportionZ(-1, 4, 1, 4));
        Assert.Equal("referenceSuccesses", e.ParamName);
        Assert.StartsWith("successes must lie in [0, count]", e.Message);
        Assert.Equal("currentSuccesses", Assert.Throws<ArgumentOutOfRangeException>(() => DriftStatistics.TwoProportionZ(1, 4, 5, 4)).ParamName);
    }

    [Fact]
    public void Wasserstein_integrates_the_gap_between_the_step_cdfs()
    {
        Assert.Equal(1, DriftStatistics.Wasserstein([0], [1]));
        // On [0, 1) the CDFs are 1/2 and 2/3, on [1, 3) they are 1 and 2/3: 1/6 + 2/3.
        Assert.Equal(5.0 / 6, DriftStatistics.Wasserstein([1, 0], [0, 3, 0]), 15);
        Assert.Equal(5.0 / 6, DriftStatistics.Wasserstein([0, 3, 0], [1, 0]), 15);
        Assert.Equal(0, DriftStatistics.Wasserstein([2, 2, 5], [5, 2, 2]));
        Assert.Equal(2.5, DriftStatistics.Wasserstein([-1, 1], [2, 3]), 15);

        // Normed by the reference's population std (1 for [-1, 1]), floored at 0.001 for a constant reference.
        Assert.Equal(2.5, DriftStatistics.NormedWasserstein([-1, 1], [2, 3]), 15);
        Assert.Equal(1000, DriftStatistics.NormedWasserstein([2, 2], [3]), 9);
        Assert.Equal(Math.Sqrt(2.0 / 3), DriftStatistics.PopulationStd([1, 2, 3]), 15);
        Assert.Equal("v", Assert.Throws<ArgumentException>(() => DriftStatistics.Wasserstein([1.0], [double.NaN])).ParamName);
        Assert.Equal("both samples need at least one value", Assert.Throws<ArgumentException>(() => DriftStatistics.Wasserstein([1.0], [])).Message);
    }

    [Fact]
    public void Wasserstein_keeps_small_gaps_that_follow_a_huge_one()
    {
        // 2^53 + (3/4 + 1/2 + 1/4): each small term alone is lost next to 2^53, but their compensated sum is not; the
        // nearest double to 2^53 + 1.5 is 2^53 + 2.
        const double huge = 9007199254740992;

        Assert.Equal(huge + 2, DriftStatistics.Wasserstein([0, 1, 2, 3], [-huge]));
    }

    [Fact]
    public void Jensen_shannon_normalises_the_weights_and_takes_the_log_base()
    {
        Assert.Equal(1, DriftStatistics.JensenShannon([2, 0], [0, 5]), 15);
        Assert.Equal(Math.Sqrt(Math.Log(2)), DriftStatistics.JensenShannon([2, 0], [0, 5], Math.E), 15);
        Assert.Equal(0, DriftStatistics.JensenShannon([1, 3], [2, 6]), 15);
        // p = (1, 0), q = (1/2, 1/2), m = (3/4, 1/4): JS² = (ln(4/3) + ½ln(2/3) + ½ln 2) / 2 in nats.
        var nats = (Math.Log(4.0 / 3) + 0.5 * Math.Log(2.0 / 3) + 0.5 * Math.Log(2)) / 2;
        Assert.Equal(Math.Sqrt(nats / Math.Log(2)), DriftStatistics.JensenShannon([1, 0], [1, 1]), 15);

        Assert.Equal("2 weights against 3", Assert.Throws<ArgumentException>(() => DriftStatistics.JensenShannon([1, 2], [1, 2, 3])).Message);
        Assert.Equal("the distributions have no cells", Assert.Throws<ArgumentException>(() => DriftStatistics.JensenShannon([], [])).Message);
        Assert.Equal("cell 1 has weights 2 and -1; weights must be finite and non-negative",
            Assert.Throws<ArgumentException>(() => DriftStatistics.JensenShannon([1, 2], [1, -1])).Message);
        Assert.Throws<ArgumentException>(() => DriftStatistics.JensenShannon([double.NaN, 2], [1, 1]));
        Assert.Throws<ArgumentException>(() => DriftStatistics.JensenShannon([double.PositiveInfinity, 2], [1, 1]));
        Assert.Throws<ArgumentException>(() => DriftStatistics.JensenShannon([1, 2], [1, double.PositiveInfinity]));
        Assert.Equal("each distribution needs a positive total weight",
            Assert.Throws<ArgumentException>(() => DriftStatistics.JensenShannon([1, 2], [0, 0])).Message);
        Assert.Throws<ArgumentException>(() => DriftStatistics.JensenShannon([0, 0], [1, 2]));
    }

    [Fact]
    public void Psi_needs_positive_shares_and_empty_bins_are_filled_the_evidently_way()
    {
        var psi = 0.1 * Math.Log(0.6 / 0.5) - 0.1 * Math.Log(0.4 / 0.5);
        Assert.Equal(psi, DriftStatistics.Psi([0.6, 0.4], [0.5, 0.5]), 15);
        Assert.Equal("bin 1 has shares 0.4 and 0; PSI needs positive shares (fill empty bins first)",
            Assert.Throws<ArgumentException>(() => DriftStatistics.Psi([0.6, 0.4], [1, 0])).Message);
        Assert.Throws<ArgumentException>(() => DriftStatistics.Psi([0, 1], [0.5, 0.5]));
        Assert.Throws<ArgumentException>(() => DriftStatistics.Psi([double.PositiveInfinity, 1], [0.5, 0.5]));
        Assert.Throws<ArgumentException>(() => DriftStatistics.Psi([0.5, 0.5], [double.PositiveInfinity, 1]));
        Assert.Equal("2 reference bins against 1 current bins", Assert.Throws<ArgumentException>(() => DriftStatistics.Psi([0.5, 0.5], [1])).Message);
        Assert.Equal("there are no bins", Assert.Throws<ArgumentException>(() => DriftStatistics.Psi([], [])).Message);

        Assert.Equal([0.5, 0.0001, 0.5], DriftStatistics.FillEmptyBins([0.5, 0, 0.5]));
        // A smallest share of exactly 0.0001 already counts as small.
        Assert.Equal([0.9999, 1e-10, 0.0001], DriftStatistics.FillEmptyBins([0.9999, 0, 0.0001]));
        Assert.Equal([0.99, 0.0001, 0.01], DriftStatistics.FillEmptyBins([0.99, 0, 0.01]));
        Assert.Equal("every bin is empty", Assert.Throws<ArgumentException>(() => DriftStatistics.FillEmptyBins([0, 0])).Message);
    }
}
