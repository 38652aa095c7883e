namespace Forge.Monitoring.Tests;

/// <summary>Every drift statistic against scipy on fixed vectors: statistics within 1e-9, p-values within 1e-6 relative.</summary>
public sealed class StatisticsGoldenTests
{
    private const double StatTolerance = 1e-9;
    private const double PRelative = 1e-6;

    public static TheoryData<string> KsNames() => new(Golden.Cases<KsCase>("ks").Select(c => c.Name));

    [Theory]
    [MemberData(nameof(KsNames))]
    public void Ks_two_sample_matches_scipy_ks_2samp_auto(string name)
    {
        var c = Golden.Cases<KsCase>("ks").Single(k => k.Name == name);

        var r = DriftStatistics.KolmogorovSmirnov(c.A, c.B);

        Golden.Near(c.Statistic, r.Statistic, StatTolerance, $"{name} statistic");
        Golden.Relative(c.PValue, r.PValue, PRelative, $"{name} p-value");
        Assert.Equal(c.Method == "exact" ? KsMethod.Exact : KsMethod.Asymptotic, r.Method);
    }

    [Fact]
    public void Both_ks_paths_are_covered_by_the_golden_cases()
    {
        var cases = Golden.Cases<KsCase>("ks");
        Assert.Contains(cases, c => c.Method == "exact" && c.A.Length == c.B.Length);
        Assert.Contains(cases, c => c.Method == "exact" && c.A.Length != c.B.Length);
        Assert.True(cases.Count(c => c.Method == "asymptotic") >= 3);
    }

    [Fact]
    public void Kolmogorov_finite_n_tail_matches_scipy_kstwo_in_every_branch()
    {
        foreach (var c in Golden.Cases<KstwoCase>("kstwo"))
            Golden.Relative(c.Sf, Kolmogorov.Sf(c.N, c.X), PRelative, $"kstwo.sf({c.X}, {c.N})");
    }

    [Fact]
    public void Kolmogorov_limiting_tail_matches_scipy_kstwobign()
    {
        foreach (var c in Golden.Cases<XSf>("kstwobign"))
            Golden.Relative(c.Sf, Kolmogorov.LimitingSf(c.X), 1e-10, $"kstwobign.sf({c.X})");
    }

    [Fact]
    public void Smirnov_one_sided_tail_matches_scipy()
    {
        foreach (var c in Golden.Cases<NxSf>("smirnov"))
            Golden.Relative(c.Sf, Kolmogorov.SmirnovSf(c.N, c.X), 1e-9, $"smirnov({c.N}, {c.X})");
    }

    [Fact]
    public void Log_gamma_matches_scipy()
    {
        foreach (var c in Golden.Cases<XValue>("gammaln"))
            Golden.Near(c.Value, SpecialFunctions.LogGamma(c.X), Math.Max(1e-13, Math.Abs(c.Value) * 1e-14), $"gammaln({c.X})");
    }

    [Fact]
    public void Incomplete_gamma_matches_scipy_gammainc_and_gammaincc()
    {
        foreach (var c in Golden.Cases<GammaIncCase>("gammainc"))
        {
            Golden.Relative(c.P, SpecialFunctions.GammaP(c.A, c.X), 1e-11, $"gammainc({c.A}, {c.X})");
            Golden.Relative(c.Q, SpecialFunctions.GammaQ(c.A, c.X), 1e-11, $"gammaincc({c.A}, {c.X})");
        }
    }

    [Fact]
    public void Normal_cdf_and_tail_match_scipy()
    {
        foreach (var c in Golden.Cases<NormalCase>("normal"))
        {
            Golden.Relative(c.Cdf, SpecialFunctions.NormalCdf(c.X), 1e-12, $"norm.cdf({c.X})");
            Golden.Relative(c.Sf, SpecialFunctions.NormalSf(c.X), 1e-12, $"norm.sf({c.X})");
        }
    }

    [Fact]
    public void Erfc_matches_scipy()
    {
        foreach (var c in Golden.Cases<XValue>("erfc"))
            Golden.Relative(c.Value, SpecialFunctions.Erfc(c.X), 1e-12, $"erfc({c.X})");
    }

    [Fact]
    public void Chi_squared_tail_matches_scipy()
    {
        foreach (var c in Golden.Cases<Chi2SfCase>("chi2sf"))
            Golden.Relative(c.Sf, SpecialFunctions.ChiSquaredSf(c.X, c.Dof), 1e-11, $"chi2.sf({c.X}, {c.Dof})");
    }

    [Fact]
    public void Chi_squared_test_matches_scipy_chisquare()
    {
        foreach (var c in Golden.Cases<ChiCase>("chiSquared"))
        {
            var r = DriftStatistics.ChiSquared(c.Observed, c.Expected);
            Golden.Near(c.Statistic, r.Statistic, StatTolerance, $"{c.Name} statistic");
            Golden.Relative(c.PValue, r.PValue, PRelative, $"{c.Name} p-value");
            Assert.Equal(c.Observed.Length - 1, r.DegreesOfFreedom);
        }
    }

    [Fact]
    public void Two_proportion_z_test_matches_the_pooled_formula_with_scipy_normal_tail()
    {
        foreach (var c in Golden.Cases<ZCase>("z"))
        {
            var r = DriftStatistics.TwoProportionZ(c.ReferenceSuccesses, c.ReferenceCount, c.CurrentSuccesses, c.CurrentCount);
            Golden.Near(c.Statistic, r.Statistic, StatTolerance, $"{c.Name} z");
            Golden.Relative(c.PValue, r.PValue, PRelative, $"{c.Name} p-value");
        }
    }

    [Fact]
    public void Wasserstein_matches_scipy_and_its_normed_form_matches_evidently()
    {
        foreach (var c in Golden.Cases<WCase>("wasserstein"))
        {
            Golden.Near(c.Distance, DriftStatistics.Wasserstein(c.U, c.V), StatTolerance, $"{c.Name} distance");
            Golden.Near(c.Normed, DriftStatistics.NormedWasserstein(c.U, c.V), StatTolerance, $"{c.Name} normed");
        }
    }

    [Fact]
    public void Jensen_shannon_matches_scipy_base_2()
    {
        foreach (var c in Golden.Cases<JsCase>("jensenShannon"))
            Golden.Near(c.Distance, DriftStatistics.JensenShannon(c.P, c.Q), StatTolerance, c.Name);
    }

    [Fact]
    public void Psi_and_evidentlys_empty_bin_filling_match()
    {
        foreach (var c in Golden.Cases<PsiCase>("psi"))
        {
            var r = DriftStatistics.FillEmptyBins(c.Reference);
            var cur = DriftStatistics.FillEmptyBins(c.Current);
            for (var i = 0; i < r.Length; i++)
            {
                Golden.Near(c.ReferenceFilled[i], r[i], 1e-15, $"{c.Name} reference bin {i}");
                Golden.Near(c.CurrentFilled[i], cur[i], 1e-15, $"{c.Name} current bin {i}");
            }
            Golden.Near(c.Psi, DriftStatistics.Psi(r, cur), StatTolerance, $"{c.Name} psi");
        }
    }
}
