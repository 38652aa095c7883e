namespace Forge.Monitoring.Tests;

/// <summary>Drift against a stored profile: exact while the profile keeps every value, close through its histogram otherwise.</summary>
public sealed class ProfileDriftTests
{
    private static DriftOptions All(DriftTest numeric) => new() { NumericTest = numeric };

    [Theory]
    [InlineData(DriftTest.KolmogorovSmirnov)]
    [InlineData(DriftTest.Wasserstein)]
    [InlineData(DriftTest.JensenShannon)]
    [InlineData(DriftTest.Psi)]
    public void A_small_reference_profile_gives_exactly_the_raw_result(DriftTest test)
    {
        var reference = Data.Table(800, 0, 1, withMissing: true);
        var current = Data.Table(600, 0.2, 2, withMissing: true);

        var raw = DataDrift.Compare(reference, current, All(test));
        var stored = DataDrift.Compare(ReferenceProfile.FromJson(ReferenceProfile.Build(reference).ToJson()), current, All(test));

        Assert.Equal(raw.AllColumns().Count(), stored.AllColumns().Count());
        foreach (var (r, s) in raw.AllColumns().Zip(stored.AllColumns()))
        {
            Assert.Equal(r.Test, s.Test);
            Assert.Equal(r.Statistic, s.Statistic, 12);
            Assert.Equal(r.PValue ?? -1, s.PValue ?? -1, 12);
            Assert.Equal(r.Drifted, s.Drifted);
        }
    }

    [Fact]
    public void A_large_reference_is_read_through_its_histogram_close_to_the_exact_statistics()
    {
        var reference = Data.Table(8_000, 0, 1);
        var current = Data.Table(5_000, 0.1, 2);
        var profile = ReferenceProfile.Build(reference);

        foreach (var test in new[] { DriftTest.KolmogorovSmirnov, DriftTest.Wasserstein })
        {
            var raw = DataDrift.Compare(reference, current, All(test)).Columns.Single(c => c.Name == "x");
            var binned = DataDrift.Compare(profile, current, All(test)).Columns.Single(c => c.Name == "x");

            Assert.StartsWith("binned", binned.Method);
            Assert.Equal("exact", raw.Method == "asymptotic" ? "exact" : raw.Method);
            Assert.InRange(Math.Abs(binned.Statistic - raw.Statistic), 0, 0.01);
            if (test == DriftTest.KolmogorovSmirnov) Assert.True(binned.Statistic <= raw.Statistic + 1e-12, "binned D can only be smaller");
            Assert.Equal(raw.Drifted, binned.Drifted);
        }
    }

    [Fact]
    public void A_window_profile_compares_like_its_raw_rows()
    {
        var reference = Data.Table(8_000, 0, 1);
        var profile = ReferenceProfile.Build(reference);
        var current = Data.Table(5_000, 0.3, 2);
        var window = ProfileBuilder.ForWindow(profile);
        window.Add(current);

        var fromRows = DataDrift.Compare(profile, current);
        var fromWindow = DataDrift.Compare(profile, window.ToProfile());

        foreach (var (a, b) in fromRows.AllColumns().Zip(fromWindow.AllColumns()))
        {
            Assert.Equal(a.Test, b.Test);
            // Raw rows give Wasserstein the exact current CDF; a window has only its counts on the reference's edges.
            Assert.InRange(Math.Abs(a.Statistic - b.Statistic), 0, a.Test == "wasserstein" ? 0.005 : 1e-9);
            Assert.Equal(a.Drifted, b.Drifted);
        }
        Assert.True(fromWindow.DatasetDrift);
    }

    [Fact]
    public void Binned_wasserstein_is_exact_when_values_spread_evenly_in_their_bins()
    {
        // A is uniform on [0, 4]; B uniform on [3, 4] (quantile gap 3(1-u), W = 1.5) or on [1, 3] (gap |2u-1|, W = 0.5,
        // with the CDFs crossing inside a bin).
        double[] edges = [1, 2, 3];

        Assert.Equal(1.5, DataDrift.BinnedWasserstein(edges, [10, 10, 10, 10], 0, 4, [0, 0, 0, 10], 3, 4), 12);
        Assert.Equal(0.5, DataDrift.BinnedWasserstein(edges, [10, 10, 10, 10], 0, 4, [0, 10, 10, 0], 1, 3), 12);
        Assert.Equal(0, DataDrift.BinnedWasserstein(edges, [10, 10, 10, 10], 0, 4, [5, 5, 5, 5], 0, 4), 12);
        // Against exact current values: 1000 evenly spaced points on [3, 4] stand for U[3, 4].
        var current = Enumerable.Range(0, 1000).Select(i => 3 + (i + 0.5) / 1000).ToArray();
        Assert.InRange(DataDrift.BinnedWasserstein(edges, [10, 10, 10, 10], 0, 4, current), 1.5 - 1e-3, 1.5 + 1e-3);
    }

    [Fact]
    public void Categories_outside_a_truncated_reference_fold_into_other()
    {
        var refValues = Enumerable.Range(0, 600).Select(i => i < 300 ? "a" : i < 500 ? "b" : $"r{i}").ToArray();
        var profile = ReferenceProfile.Build(new ColumnSet(DataColumn.Categorical("c", refValues)), new ProfileOptions { TopCategories = 2 });
        var current = new ColumnSet(DataColumn.Categorical("c", Enumerable.Range(0, 300).Select(i => i < 150 ? "a" : i < 250 ? "b" : "new").ToArray()));

        var c = DataDrift.Compare(profile, current).Columns.Single();

        Assert.Equal(["a", "b", "(other)"], c.Histogram!.Labels);
        Assert.Equal(100.0 / 600, c.Histogram.Reference[2], 12);
        Assert.Equal(50.0 / 300, c.Histogram.Current[2], 12);
        Assert.False(c.Drifted);
    }
}
