namespace Forge.Monitoring.Tests;

/// <summary>
/// The Kolmogorov–Smirnov distributions at closed forms for small n, and the two exact finite-n methods (Durbin's
/// matrix and Pomeranz's recursion) against each other wherever both apply.
/// </summary>
public sealed class KolmogorovTests
{
    [Fact]
    public void The_two_sided_tail_has_closed_forms_at_the_ends_of_its_range()
    {
        // n = 1: D_1 = max(U, 1 - U), so P(D_1 ≥ x) = 2(1 - x) on [1/2, 1].
        Assert.Equal(0.5, Kolmogorov.Sf(1, 0.75), 15);
        Assert.Equal(1, Kolmogorov.Sf(1, 0.5), 15);
        // Ruben–Gambino on [1/(2n), 1/n]: P(D_n < x) = n!/n^n·(2nx - 1)^n.
        Assert.Equal(1 - 0.5 * 0.6 * 0.6, Kolmogorov.Sf(2, 0.4), 15);
        Assert.Equal(1 - 6.0 / 27 / 8, Kolmogorov.Sf(3, 0.25), 15);
        Assert.Equal(1 - 6.0 / 27, Kolmogorov.Sf(3, 1.0 / 3), 15);
        // At or below 1/(2n) every sample reaches x.
        Assert.Equal(1, Kolmogorov.Sf(3, 1.0 / 6));
        // From 1 - 1/n on only the two extreme samples remain: 2(1 - x)^n.
        Assert.Equal(2 * 0.4 * 0.4, Kolmogorov.Sf(2, 0.6), 15);
        Assert.Equal(2 * 0.5 * 0.5, Kolmogorov.Sf(2, 0.5), 15);
        Assert.Equal(2 * Math.Pow(0.3, 3), Kolmogorov.Sf(3, 0.7), 15);
    }

    [Theory]
    [InlineData(5)]
    [InlineData(8)]
    [InlineData(141)]
    [InlineData(1000)]
    public void Stirlings_series_for_ln_of_n_factorial_over_n_to_the_n_matches_the_exact_sum(int n)
    {
        // Eight terms of the series are already good to 1e-12 at n = 5, so every coefficient shows.
        var exact = Enumerable.Range(1, n).Sum(i => Math.Log(i)) - n * Math.Log(n);

        Assert.Equal(exact, Kolmogorov.LogFactorialOverPower(n), 11);
    }

    [Fact]
    public void The_one_sided_smirnov_tail_matches_birnbaum_and_tingey_by_hand()
    {
        // x·Σ_{v ≤ n(1-x)} C(n,v)(x + v/n)^(v-1)(1 - x - v/n)^(n-v).
        // n = 2, x = 1/4: ¼·(4·(3/4)² + 2·(1/4)) = 11/16.
        Assert.Equal(11.0 / 16, Kolmogorov.SmirnovSf(2, 0.25), 14);
        // n = 4, x = 1/2: the v = 2 term has 1 - x - v/n = 0 and drops out: ½·(2/16 + 4/64) = 3/32.
        Assert.Equal(3.0 / 32, Kolmogorov.SmirnovSf(4, 0.5), 14);
        // n = 3, x = 0.9: only v = 0 remains, (1 - x)^n.
        Assert.Equal(Math.Pow(0.1, 3), Kolmogorov.SmirnovSf(3, 0.9), 14);
        // The two-sided tail is twice the one-sided one once x ≥ 1/2 (the two events cannot both happen).
        Assert.Equal(2 * Kolmogorov.SmirnovSf(5, 0.55), Kolmogorov.Sf(5, 0.55), 15);
        Assert.Equal(2 * Kolmogorov.SmirnovSf(5, 0.5), Kolmogorov.Sf(5, 0.5), 15);
    }

    public static TheoryData<int, double> DurbinAndPomeranzCases() => new()
    {
        { 3, 0.4 },
        { 4, 0.3 },
        { 5, 0.25 },
        { 5, 0.45 },
        { 7, 0.2 },
        { 10, 0.15 },
        { 10, 0.25 },
        { 10, 0.35 },
        { 20, 0.1 },
        { 20, 0.2 },
        { 37, 0.123 },
        { 50, 0.07 },
        { 100, 0.05 },
        { 140, 0.06 },
        { 400, 0.02 },
        { 1000, 0.02 },
    };

    [Theory]
    [MemberData(nameof(DurbinAndPomeranzCases))]
    public void Durbins_matrix_and_pomeranzs_recursion_give_the_same_exact_cdf(int n, double x)
    {
        var durbin = Kolmogorov.DurbinMatrixCdf(n, x);
        var pomeranz = Kolmogorov.PomeranzCdf(n, x);

        Golden.Relative(durbin, pomeranz, 1e-10, $"P(D_{n} ≤ {x})");
        Assert.InRange(durbin, 1e-300, 1);
    }

    [Fact]
    public void Pelz_good_approximates_the_exact_cdf_for_large_n()
    {
        foreach (var (n, x) in new[] { (1000, 0.02), (1000, 0.03), (2000, 0.015), (5000, 0.012) })
            Golden.Relative(Kolmogorov.DurbinMatrixCdf(n, x), Kolmogorov.PelzGoodCdf(n, x), 1e-5, $"Pelz–Good at n={n}, x={x}");
    }

    [Fact]
    public void The_limiting_distribution_switches_series_at_1_without_a_seam()
    {
        // Both series are exact; at x = 1 either gives 2·Σ(-1)^(k-1)·e^(-2k²).
        var series = 2 * (Math.Exp(-2) - Math.Exp(-8) + Math.Exp(-18) - Math.Exp(-32) + Math.Exp(-50));
        Assert.Equal(series, Kolmogorov.LimitingSf(1), 15);
        Assert.Equal(Kolmogorov.LimitingSf(1), Kolmogorov.LimitingSf(Math.BitDecrement(1.0)), 13);
        // Far in the tail only the first term matters.
        Golden.Relative(2 * Math.Exp(-2 * 36), Kolmogorov.LimitingSf(6), 1e-14, "LimitingSf(6)");
        // Near 0 the complementary series is 1 up to underflow.
        Assert.Equal(1, Kolmogorov.LimitingSf(0.1));
        Assert.Equal(1, Kolmogorov.LimitingSf(-1));
    }
}
