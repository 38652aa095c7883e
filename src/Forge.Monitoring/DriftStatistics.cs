namespace Forge.Monitoring;

/// <summary>How a Kolmogorov–Smirnov p-value was computed.</summary>
public enum KsMethod
{
    /// <summary>The exact null distribution of the two-sample statistic (Hodges; Viehmann's stable recursion).</summary>
    Exact,

    /// <summary>The distribution of the one-sample D_n at n = round(n1·n2/(n1+n2)), as scipy's 'asymp' method.</summary>
    Asymptotic,
}

/// <summary>A two-sample Kolmogorov–Smirnov test: the largest gap between the two empirical CDFs and its p-value.</summary>
/// <param name="Statistic">D = sup |F1(x) - F2(x)|.</param>
/// <param name="PValue">Two-sided p-value.</param>
/// <param name="Method">Whether the p-value came from the exact or the asymptotic distribution.</param>
public readonly record struct KsResult(double Statistic, double PValue, KsMethod Method);

/// <summary>A chi-squared test: the statistic, its p-value and the degrees of freedom used.</summary>
/// <param name="Statistic">Σ (observed - expected)² / expected; +∞ when a cell is observed but has no expectation.</param>
/// <param name="PValue">P(χ²_dof ≥ statistic).</param>
/// <param name="DegreesOfFreedom">Number of cells minus one.</param>
public readonly record struct ChiSquaredResult(double Statistic, double PValue, int DegreesOfFreedom);

/// <summary>A two-proportion Z-test: the standardised difference of the two shares and its two-sided p-value.</summary>
/// <param name="Statistic">z = (p1 - p2) / √(P(1-P)(1/n1 + 1/n2)), P the pooled share; 0 when both samples are constant and equal.</param>
/// <param name="PValue">2·(1 - Φ(|z|)), computed without cancellation.</param>
public readonly record struct ZTestResult(double Statistic, double PValue);

/// <summary>
/// The drift statistics on plain vectors, each equal to the scipy function named in its summary (golden-tested to
/// 1e-9 on statistics and 1e-6 relative on p-values). Missing values must be removed before calling.
/// </summary>
public static class DriftStatistics
{
    /// <summary>Samples at or below this size (both of them) get the exact KS p-value, as in scipy's method='auto'.</summary>
    public const int KsExactMaxSize = 10_000;

    /// <summary>Two-sample two-sided Kolmogorov–Smirnov test, as <c>scipy.stats.ks_2samp(a, b, method='auto')</c>.</summary>
    public static KsResult KolmogorovSmirnov(ReadOnlySpan<double> a, ReadOnlySpan<double> b)
    {
        var sa = SortedCopy(a, nameof(a));
        var sb = SortedCopy(b, nameof(b));
        return KolmogorovSmirnovSorted(sa, sb);
    }

    internal static KsResult KolmogorovSmirnovSorted(double[] a, double[] b)
    {
        if (a.Length == 0 || b.Length == 0) throw new ArgumentException("both samples need at least one value");
        var d = KsStatisticSorted(a, b);
        return KsPValue(a.Length, b.Length, d);
    }

    /// <summary>D = max |F_a(x) - F_b(x)| over every observed x, with F the right-continuous empirical CDFs.</summary>
    internal static double KsStatisticSorted(double[] a, double[] b)
    {
        int n1 = a.Length, n2 = b.Length;
        int i = 0, j = 0;
        double max = 0, min = 0;
        while (i < n1 || j < n2)
        {
            // The next distinct value of either sample; both CDFs are read just after it.
            var x = i < n1 && (j >= n2 || a[i] <= b[j]) ? a[i] : b[j];
            while (i < n1 && a[i] <= x) i++;
            while (j < n2 && b[j] <= x) j++;
            var diff = (double)i / n1 - (double)j / n2;
            if (diff > max) max = diff;
            if (diff < min) min = diff;
        }
        return Math.Max(max, Math.Min(-min, 1));
    }

    /// <summary>
    /// The two-sided p-value of a two-sample KS statistic <paramref name="d"/> for sizes n1 and n2: exact when both are at
    /// most <see cref="KsExactMaxSize"/>, otherwise from the distribution of D_n at n = round(n1·n2/(n1+n2)).
    /// </summary>
    public static KsResult KsPValue(int n1, int n2, double d)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(n1, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(n2, 1);
        if (double.IsNaN(d) || d < 0 || d > 1) throw new ArgumentOutOfRangeException(nameof(d), d, "a KS statistic lies in [0, 1]");
        if (Math.Max(n1, n2) <= KsExactMaxSize && TryExactKs(n1, n2, d, out var exact))
            return new KsResult(d, Math.Clamp(exact, 0, 1), KsMethod.Exact);
        double m = Math.Max(n1, n2), n = Math.Min(n1, n2);
        var en = m * n / (m + n);
        var rounded = (int)Math.Round(en, MidpointRounding.ToEven);
        var p = Kolmogorov.Sf(Math.Max(rounded, 1), d);
        return new KsResult(d, Math.Clamp(p, 0, 1), KsMethod.Asymptotic);
    }

    private static bool TryExactKs(int n1, int n2, double d, out double p)
    {
        var g = Gcd(n1, n2);
        var lcm = (long)(n1 / g) * n2;
        var h = (long)Math.Round(d * lcm, MidpointRounding.ToEven);
        if (h == 0)
        {
            p = 1;
            return true;
        }
        p = n1 == n2 ? ProbabilityOutsideSquare(n1, h) : ProbabilityOutsideBand(n1, n2, g, h);
        return p is >= 0 and <= 1;
    }

    /// <summary>P(D_{n,n} ≥ h/n): 2·Σ (-1)^(k-1) C(2n, n-kh)/C(2n, n), nested Horner-wise so nothing cancels.</summary>
    internal static double ProbabilityOutsideSquare(int n, long h)
    {
        double p = 0;
        for (var k = n / h; k >= 0; k--)
        {
            double term = 1;
            for (long j = 0; j < h; j++) term = (n - k * h - j) * term / (n + k * h + j + 1);
            p = term * (1 - p);
        }
        return 2 * p;
    }

    /// <summary>
    /// The share of lattice paths from (0,0) to (m,n) that leave the band |x/m - y/n| &lt; h/lcm, computed directly as
    /// 1 - (paths inside)/(all paths) by Viehmann's recursion so small p-values keep their digits.
    /// </summary>
    internal static double ProbabilityOutsideBand(int n1, int n2, int g, long h)
    {
        int m = Math.Max(n1, n2), n = Math.Min(n1, n2);
        long mg = m / g, ng = n / g;
        long minJ = 0, maxJ = Math.Min(CeilDiv(h, mg), n + 1);
        var currentLength = maxJ - minJ;
        var length = (int)Math.Min(2 * maxJ + 2, n + 1);
        var a = new double[length];
        Array.Fill(a, 1.0);
        for (var j = minJ; j < maxJ; j++) a[j] = 0;
        for (long i = 1; i <= m; i++)
        {
            var lastMinJ = minJ;
            var lastLength = currentLength;
            minJ = Math.Min(Math.Max(FloorDiv(ng * i - h, mg) + 1, 0), n);
            maxJ = Math.Min(CeilDiv(ng * i + h, mg), n + 1);
            if (maxJ <= minJ) return 1;
            double value = minJ == 0 ? 0 : 1;
            for (long jj = 0; jj < maxJ - minJ; jj++)
            {
                var j = jj + minJ;
                value = (a[jj + minJ - lastMinJ] * i + value * j) / (i + j);
                a[jj] = value;
            }
            currentLength = maxJ - minJ;
            if (lastLength > currentLength)
            {
                for (var r = maxJ - minJ; r < maxJ - minJ + (lastLength - currentLength) && r < length; r++) a[r] = 1;
            }
        }
        return a[maxJ - minJ - 1];
    }

    private static long FloorDiv(long a, long b) => a >= 0 ? a / b : -((-a + b - 1) / b);

    private static long CeilDiv(long a, long b) => -FloorDiv(-a, b);

    private static int Gcd(int a, int b)
    {
        while (b != 0) (a, b) = (b, a % b);
        return a;
    }

    /// <summary>Pearson's chi-squared goodness-of-fit test, as <c>scipy.stats.chisquare(observed, expected)</c>.</summary>
    public static ChiSquaredResult ChiSquared(ReadOnlySpan<double> observed, ReadOnlySpan<double> expected)
    {
        if (observed.Length != expected.Length)
            throw new ArgumentException($"{observed.Length} observed cells but {expected.Length} expected cells");
        if (observed.Length < 2) throw new ArgumentException("a chi-squared test needs at least two cells");
        double statistic = 0;
        for (var i = 0; i < observed.Length; i++)
        {
            var o = observed[i];
            var e = expected[i];
            if (!(o >= 0) || !(e >= 0) || double.IsInfinity(o) || double.IsInfinity(e))
                throw new ArgumentException($"cell {i} has observed {o} and expected {e}; counts must be finite and non-negative");
            if (e == 0)
            {
                // A cell nothing was expected in: observing anything there is infinitely unlikely, observing nothing is no evidence.
                if (o > 0) statistic = double.PositiveInfinity;
                continue;
            }
            statistic += (o - e) * (o - e) / e;
        }
        var dof = observed.Length - 1;
        var p = double.IsPositiveInfinity(statistic) ? 0 : SpecialFunctions.ChiSquaredSf(statistic, dof);
        return new ChiSquaredResult(statistic, p, dof);
    }

    /// <summary>
    /// The chi-squared test Evidently runs between two samples of categories: the current counts observed against the
    /// reference counts scaled to the current total (<c>chisquare(cur, ref · n_cur/n_ref)</c>). It treats the reference
    /// shares as exact, so with samples of similar size it raises far more alarms than its level (about 30% at
    /// α = 0.05 for two samples of 5,000); <see cref="ChiSquaredContingency"/> is the test drift uses.
    /// </summary>
    public static ChiSquaredResult ChiSquaredAgainstReference(ReadOnlySpan<double> referenceCounts, ReadOnlySpan<double> currentCounts)
    {
        var (nRef, nCur) = Totals(referenceCounts, currentCounts);
        var scale = nCur / nRef;
        var expected = new double[referenceCounts.Length];
        for (var i = 0; i < expected.Length; i++) expected[i] = referenceCounts[i] * scale;
        return ChiSquared(currentCounts, expected);
    }

    /// <summary>
    /// Pearson's chi-squared test of homogeneity on the 2×k table of reference and current counts, as
    /// <c>scipy.stats.chi2_contingency([ref, cur], correction=False)</c>: both samples carry sampling error, so the
    /// test holds its level whatever their sizes. Categories absent from both samples are ignored.
    /// </summary>
    public static ChiSquaredResult ChiSquaredContingency(ReadOnlySpan<double> referenceCounts, ReadOnlySpan<double> currentCounts)
    {
        var (nRef, nCur) = Totals(referenceCounts, currentCounts);
        var total = nRef + nCur;
        double statistic = 0;
        var cells = 0;
        for (var i = 0; i < referenceCounts.Length; i++)
        {
            var column = referenceCounts[i] + currentCounts[i];
            if (column == 0) continue;
            cells++;
            var eRef = column * nRef / total;
            var eCur = column * nCur / total;
            statistic += (referenceCounts[i] - eRef) * (referenceCounts[i] - eRef) / eRef
                + (currentCounts[i] - eCur) * (currentCounts[i] - eCur) / eCur;
        }
        if (cells < 2) return new ChiSquaredResult(0, 1, 0);
        return new ChiSquaredResult(statistic, SpecialFunctions.ChiSquaredSf(statistic, cells - 1), cells - 1);
    }

    private static (double Reference, double Current) Totals(ReadOnlySpan<double> referenceCounts, ReadOnlySpan<double> currentCounts)
    {
        if (referenceCounts.Length != currentCounts.Length)
            throw new ArgumentException($"{referenceCounts.Length} reference categories but {currentCounts.Length} current ones");
        double nRef = 0, nCur = 0;
        for (var i = 0; i < referenceCounts.Length; i++)
        {
            if (!(referenceCounts[i] >= 0) || !(currentCounts[i] >= 0) || double.IsInfinity(referenceCounts[i]) || double.IsInfinity(currentCounts[i]))
                throw new ArgumentException($"category {i} has counts {referenceCounts[i]} and {currentCounts[i]}; counts must be finite and non-negative");
            nRef += referenceCounts[i];
            nCur += currentCounts[i];
        }
        if (!(nRef > 0) || !(nCur > 0)) throw new ArgumentException("both samples need at least one counted value");
        return (nRef, nCur);
    }

    /// <summary>
    /// Two-proportion Z-test of the share of "successes" in two samples, as Evidently's <c>z</c> test (pooled
    /// variance, two-sided).
    /// </summary>
    public static ZTestResult TwoProportionZ(long referenceSuccesses, long referenceCount, long currentSuccesses, long currentCount)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(referenceCount, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(currentCount, 1);
        if (referenceSuccesses < 0 || referenceSuccesses > referenceCount)
            throw new ArgumentOutOfRangeException(nameof(referenceSuccesses), referenceSuccesses, "successes must lie in [0, count]");
        if (currentSuccesses < 0 || currentSuccesses > currentCount)
            throw new ArgumentOutOfRangeException(nameof(currentSuccesses), currentSuccesses, "successes must lie in [0, count]");
        double n1 = referenceCount, n2 = currentCount;
        var p1 = referenceSuccesses / n1;
        var p2 = currentSuccesses / n2;
        var pooled = (p1 * n1 + p2 * n2) / (n1 + n2);
        var variance = pooled * (1 - pooled) * (1 / n1 + 1 / n2);
        // Both samples constant and equal: no difference to test (Evidently returns p = 1 here too).
        if (!(variance > 0)) return new ZTestResult(0, 1);
        var z = (p1 - p2) / Math.Sqrt(variance);
        return new ZTestResult(z, Math.Min(1, 2 * SpecialFunctions.NormalSf(Math.Abs(z))));
    }

    /// <summary>The first Wasserstein distance between two samples, as <c>scipy.stats.wasserstein_distance(u, v)</c>.</summary>
    public static double Wasserstein(ReadOnlySpan<double> u, ReadOnlySpan<double> v) =>
        WassersteinSorted(SortedCopy(u, nameof(u)), SortedCopy(v, nameof(v)));

    internal static double WassersteinSorted(double[] u, double[] v)
    {
        if (u.Length == 0 || v.Length == 0) throw new ArgumentException("both samples need at least one value");
        // ∫|F_u - F_v| dx over the merged sorted values: both CDFs are steps, so the integral is a sum over gaps.
        int nu = u.Length, nv = v.Length;
        int i = 0, j = 0;
        double sum = 0, compensation = 0;
        var previous = Math.Min(u[0], v[0]);
        while (i < nu || j < nv)
        {
            var x = i < nu && (j >= nv || u[i] <= v[j]) ? u[i] : v[j];
            var gap = x - previous;
            if (gap > 0)
            {
                var term = Math.Abs((double)i / nu - (double)j / nv) * gap;
                // Kahan summation: 2·10⁵ gaps would otherwise lose digits the golden tests check.
                var y = term - compensation;
                var t = sum + y;
                compensation = t - sum - y;
                sum = t;
            }
            previous = x;
            if (i < nu && u[i] == x) i++;
            else j++;
        }
        return sum;
    }

    /// <summary>
    /// Evidently's normed Wasserstein distance: <see cref="Wasserstein"/> divided by the reference's population
    /// standard deviation (ddof = 0), floored at 0.001 so a constant reference does not divide by zero.
    /// </summary>
    public static double NormedWasserstein(ReadOnlySpan<double> reference, ReadOnlySpan<double> current)
    {
        var r = SortedCopy(reference, nameof(reference));
        var c = SortedCopy(current, nameof(current));
        return WassersteinSorted(r, c) / Math.Max(PopulationStd(r), 0.001);
    }

    internal static double PopulationStd(ReadOnlySpan<double> values)
    {
        double mean = 0;
        foreach (var x in values) mean += x;
        mean /= values.Length;
        double ss = 0;
        foreach (var x in values) ss += (x - mean) * (x - mean);
        return Math.Sqrt(ss / values.Length);
    }

    /// <summary>
    /// The Jensen–Shannon distance between two distributions given as (unnormalised) weights, as
    /// <c>scipy.spatial.distance.jensenshannon(p, q, base)</c>; base 2 (Evidently's) keeps it in [0, 1].
    /// </summary>
    public static double JensenShannon(ReadOnlySpan<double> p, ReadOnlySpan<double> q, double logBase = 2)
    {
        if (p.Length != q.Length) throw new ArgumentException($"{p.Length} weights against {q.Length}");
        if (p.Length == 0) throw new ArgumentException("the distributions have no cells");
        double sp = 0, sq = 0;
        for (var i = 0; i < p.Length; i++)
        {
            if (!(p[i] >= 0) || !(q[i] >= 0) || double.IsInfinity(p[i]) || double.IsInfinity(q[i]))
                throw new ArgumentException($"cell {i} has weights {p[i]} and {q[i]}; weights must be finite and non-negative");
            sp += p[i];
            sq += q[i];
        }
        if (!(sp > 0) || !(sq > 0)) throw new ArgumentException("each distribution needs a positive total weight");
        double left = 0, right = 0;
        for (var i = 0; i < p.Length; i++)
        {
            var pi = p[i] / sp;
            var qi = q[i] / sq;
            var mi = (pi + qi) / 2.0;
            if (pi > 0) left += pi * Math.Log(pi / mi);
            if (qi > 0) right += qi * Math.Log(qi / mi);
        }
        var js = left + right;
        js /= Math.Log(logBase);
        return Math.Sqrt(Math.Max(js / 2.0, 0));
    }

    /// <summary>
    /// The population stability index Σ (r - c)·ln(r / c) over bins of reference and current shares. Every share must
    /// be positive: replace empty bins first (Evidently puts 0.0001 there, or a millionth of the smallest share).
    /// </summary>
    public static double Psi(ReadOnlySpan<double> referenceShares, ReadOnlySpan<double> currentShares)
    {
        if (referenceShares.Length != currentShares.Length)
            throw new ArgumentException($"{referenceShares.Length} reference bins against {currentShares.Length} current bins");
        if (referenceShares.Length == 0) throw new ArgumentException("there are no bins");
        double psi = 0;
        for (var i = 0; i < referenceShares.Length; i++)
        {
            var r = referenceShares[i];
            var c = currentShares[i];
            if (!(r > 0) || !(c > 0) || double.IsInfinity(r) || double.IsInfinity(c))
                throw new ArgumentException($"bin {i} has shares {r} and {c}; PSI needs positive shares (fill empty bins first)");
            psi += (r - c) * Math.Log(r / c);
        }
        return psi;
    }

    /// <summary>
    /// Evidently's treatment of empty bins before PSI: zeros become 0.0001, or a millionth of the smallest non-zero
    /// share when that share is itself at most 0.0001.
    /// </summary>
    public static double[] FillEmptyBins(ReadOnlySpan<double> shares)
    {
        var result = shares.ToArray();
        var smallest = double.PositiveInfinity;
        foreach (var s in result)
        {
            if (s != 0 && s < smallest) smallest = s;
        }
        if (double.IsPositiveInfinity(smallest)) throw new ArgumentException("every bin is empty");
        var fill = smallest <= 0.0001 ? smallest / 1e6 : 0.0001;
        for (var i = 0; i < result.Length; i++)
        {
            if (result[i] == 0) result[i] = fill;
        }
        return result;
    }

    private static double[] SortedCopy(ReadOnlySpan<double> values, string name)
    {
        var copy = values.ToArray();
        foreach (var x in copy)
        {
            if (double.IsNaN(x)) throw new ArgumentException("the sample contains NaN; remove missing values first", name);
        }
        Array.Sort(copy);
        return copy;
    }
}
