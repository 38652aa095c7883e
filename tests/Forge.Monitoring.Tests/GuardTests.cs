using Forge.Core;

namespace Forge.Monitoring.Tests;

/// <summary>Argument checks and edge cases: every public entry point refuses what it cannot compute, by name.</summary>
public sealed class GuardTests
{
    [Fact]
    public void Statistics_refuse_malformed_input()
    {
        Assert.Throws<ArgumentException>(() => DriftStatistics.KolmogorovSmirnov([], [1.0]));
        Assert.Throws<ArgumentException>(() => DriftStatistics.KolmogorovSmirnov([1.0, double.NaN], [1.0]));
        Assert.Throws<ArgumentOutOfRangeException>(() => DriftStatistics.KsPValue(0, 5, 0.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => DriftStatistics.KsPValue(5, 0, 0.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => DriftStatistics.KsPValue(5, 5, 1.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => DriftStatistics.KsPValue(5, 5, -0.1));
        Assert.Throws<ArgumentException>(() => DriftStatistics.ChiSquared([1, 2], [1]));
        Assert.Throws<ArgumentException>(() => DriftStatistics.ChiSquared([1], [1]));
        Assert.Throws<ArgumentException>(() => DriftStatistics.ChiSquared([1, -2], [1, 2]));
        Assert.Throws<ArgumentException>(() => DriftStatistics.ChiSquared([1, 2], [1, double.PositiveInfinity]));
        Assert.Throws<ArgumentException>(() => DriftStatistics.ChiSquaredContingency([1, 2], [1]));
        Assert.Throws<ArgumentException>(() => DriftStatistics.ChiSquaredContingency([0, 0], [1, 2]));
        Assert.Throws<ArgumentException>(() => DriftStatistics.ChiSquaredContingency([1, 2], [0, 0]));
        Assert.Throws<ArgumentException>(() => DriftStatistics.ChiSquaredContingency([1, -1], [1, 2]));
        Assert.Throws<ArgumentException>(() => DriftStatistics.ChiSquaredAgainstReference([1, 2], [1, 2, 3]));
        Assert.Throws<ArgumentOutOfRangeException>(() => DriftStatistics.TwoProportionZ(1, 0, 1, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => DriftStatistics.TwoProportionZ(3, 2, 1, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => DriftStatistics.TwoProportionZ(1, 2, -1, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => DriftStatistics.TwoProportionZ(1, 2, 1, 0));
        Assert.Throws<ArgumentException>(() => DriftStatistics.Wasserstein([], [1.0]));
        Assert.Throws<ArgumentException>(() => DriftStatistics.JensenShannon([1, 2], [1]));
        Assert.Throws<ArgumentException>(() => DriftStatistics.JensenShannon([], []));
        Assert.Throws<ArgumentException>(() => DriftStatistics.JensenShannon([0, 0], [1, 1]));
        Assert.Throws<ArgumentException>(() => DriftStatistics.JensenShannon([1, -1], [1, 1]));
        Assert.Throws<ArgumentException>(() => DriftStatistics.Psi([0.5, 0.5], [1.0]));
        Assert.Throws<ArgumentException>(() => DriftStatistics.Psi([], []));
        Assert.Throws<ArgumentException>(() => DriftStatistics.Psi([0.5, 0], [0.5, 0.5]));
        Assert.Throws<ArgumentException>(() => DriftStatistics.FillEmptyBins([0, 0]));
    }

    [Fact]
    public void Ks_edge_cases_follow_scipy()
    {
        // Identical samples: D = 0, p = 1; disjoint samples: D = 1.
        Assert.Equal(new KsResult(0, 1, KsMethod.Exact), DriftStatistics.KolmogorovSmirnov([1, 2, 3], [1, 2, 3]));
        var disjoint = DriftStatistics.KolmogorovSmirnov([1, 2, 3], [4, 5, 6]);
        Assert.Equal(1, disjoint.Statistic);
        // scipy: ks_2samp([1,2,3],[4,5,6]).pvalue = 0.1
        Assert.Equal(0.1, disjoint.PValue, 12);
        Assert.Equal(KsMethod.Asymptotic, DriftStatistics.KsPValue(10_001, 5, 0.5).Method);
        Assert.Equal(KsMethod.Exact, DriftStatistics.KsPValue(10_000, 10_000, 0.01).Method);
    }

    [Fact]
    public void Special_functions_handle_their_domain_edges()
    {
        Assert.True(double.IsNaN(SpecialFunctions.LogGamma(0)));
        Assert.True(double.IsNaN(SpecialFunctions.LogGamma(-1)));
        Assert.True(double.IsNaN(SpecialFunctions.LogGamma(double.NaN)));
        Assert.Equal(0, SpecialFunctions.LogGamma(1), 14);
        Assert.Equal(0, SpecialFunctions.LogGamma(2), 14);
        Assert.Equal(Math.Log(6), SpecialFunctions.LogGamma(4), 14);
        Assert.Equal(0, SpecialFunctions.GammaP(2, 0));
        Assert.Equal(1, SpecialFunctions.GammaQ(2, 0));
        Assert.Equal(1, SpecialFunctions.GammaP(2, double.PositiveInfinity));
        Assert.Equal(0, SpecialFunctions.GammaQ(2, double.PositiveInfinity));
        Assert.True(double.IsNaN(SpecialFunctions.GammaP(0, 1)));
        Assert.True(double.IsNaN(SpecialFunctions.GammaQ(1, -1)));
        Assert.Equal(1 - Math.Exp(-2), SpecialFunctions.GammaP(1, 2), 14);
        Assert.True(double.IsNaN(SpecialFunctions.Erfc(double.NaN)));
        Assert.Equal(2, SpecialFunctions.Erfc(-40), 14);
        Assert.Equal(0.5, SpecialFunctions.NormalCdf(0), 15);
        Assert.Equal(1, SpecialFunctions.ChiSquaredSf(0, 3));
        Assert.Equal(1, SpecialFunctions.ChiSquaredSf(-1, 3));
        Assert.True(double.IsNaN(SpecialFunctions.ChiSquaredSf(1, 0)));
        Assert.True(double.IsNaN(SpecialFunctions.ChiSquaredSf(double.NaN, 2)));
        Assert.Equal(Math.Exp(-1.5), SpecialFunctions.ChiSquaredSf(3, 2), 14);
    }

    [Fact]
    public void Kolmogorov_distributions_handle_their_domain_edges()
    {
        Assert.Equal(1, Kolmogorov.Sf(10, 0));
        Assert.Equal(0, Kolmogorov.Sf(10, 1));
        Assert.True(double.IsNaN(Kolmogorov.Sf(10, double.NaN)));
        Assert.Throws<ArgumentOutOfRangeException>(() => Kolmogorov.Sf(0, 0.5));
        Assert.Equal(1, Kolmogorov.Sf(10, 0.05));
        // t ≥ n - 1: 2(1 - x)^n.
        Assert.Equal(1, 2 * Math.Pow(0.05, 20) / Kolmogorov.Sf(20, 0.95), 12);
        Assert.Equal(0, Kolmogorov.Sf(1000, 0.9));
        Assert.Equal(1, Kolmogorov.LimitingSf(0));
        Assert.True(double.IsNaN(Kolmogorov.LimitingSf(double.NaN)));
        Assert.Equal(1, Kolmogorov.SmirnovSf(5, 0));
        Assert.Equal(0, Kolmogorov.SmirnovSf(5, 1));
        Assert.True(double.IsNaN(Kolmogorov.SmirnovSf(5, double.NaN)));
        Assert.Throws<ArgumentOutOfRangeException>(() => Kolmogorov.SmirnovSf(0, 0.5));
        // n = 1: P(D1+ ≥ x) = 1 - x.
        Assert.Equal(0.7, Kolmogorov.SmirnovSf(1, 0.3), 14);
        Assert.Equal(0, Kolmogorov.DurbinMatrixCdf(10, 0.04));
        Assert.Equal(1, Kolmogorov.DurbinMatrixCdf(10, 1));
        Assert.Equal(0, Kolmogorov.PelzGoodCdf(1000, 0));
        Assert.Equal(1, Kolmogorov.PelzGoodCdf(1000, 1));
        Assert.Equal(0, Kolmogorov.PelzGoodCdf(1000, 0.0001));
        // ln(n!/n^n) against the exact sum for n = 200.
        var exact = Enumerable.Range(1, 200).Sum(i => Math.Log(i)) - 200 * Math.Log(200);
        Assert.Equal(exact, Kolmogorov.LogFactorialOverPower(200), 10);
    }

    [Fact]
    public void Columns_check_their_values_and_names()
    {
        Assert.Throws<DataFormatException>(() => DataColumn.Numeric("x", [1, double.PositiveInfinity]));
        Assert.Throws<ArgumentException>(() => DataColumn.Numeric(" ", [1.0]));
        Assert.Throws<ArgumentNullException>(() => DataColumn.Numeric("x", (double[])null!));
        Assert.Throws<ArgumentNullException>(() => DataColumn.Categorical("x", null!));
        Assert.Throws<DataFormatException>(() => DataColumn.Text("t", ["a", "b"], [[1f]]));
        Assert.Throws<DataFormatException>(() => DataColumn.Text("t", ["a", "b"], [[1f], [1f, 2f]]));
        var f = DataColumn.Numeric("f", [1.5f, float.NaN], ColumnRole.Target);
        Assert.Equal([1.5, double.NaN], f.NumericValues.ToArray());
        Assert.Equal(ColumnRole.Target, f.Role);
        Assert.Equal(1, f.MissingCount());
        Assert.Equal(2, DataColumn.Categorical("c", [null, "a", null]).MissingCount());
        Assert.Equal(1, DataColumn.Text("t", ["a", null]).MissingCount());
        Assert.Equal(ColumnRole.Prediction, f.WithRole(ColumnRole.Prediction).Role);
        Assert.Empty(f.StringValues);
        Assert.Equal(ColumnKind.Text, DataColumn.Text("t", ["a"]).Kind);
        Assert.Equal(["a"], DataColumn.Categorical("c", ["a"]).StringValues);
    }

    [Fact]
    public void Column_sets_refuse_duplicates_and_ragged_columns_and_suggest_names()
    {
        Assert.Contains("appears twice", Assert.Throws<UsageException>(() => new ColumnSet(DataColumn.Numeric("a", [1.0]), DataColumn.Numeric("a", [2.0]))).Message);
        Assert.Contains("'b' has 2 rows but 'a' has 1", Assert.Throws<UsageException>(() => new ColumnSet(DataColumn.Numeric("a", [1.0]), DataColumn.Numeric("b", [1.0, 2.0]))).Message);
        var set = new ColumnSet(DataColumn.Numeric("temperature", [1.0, 2.0]), DataColumn.Categorical("season", ["a", "b"]));
        Assert.Equal(2, set.RowCount);
        Assert.Equal(2, set.Count);
        Assert.Equal("season", set[1].Name);
        Assert.Equal(["temperature", "season"], set.Names);
        Assert.Equal("did you mean 'temperature'?", Assert.Throws<NotFoundException>(() => set["temprature"]).Message.Split("; ")[1]);
        Assert.False(set.TryGetColumn("x", out _));
        Assert.Equal(0, new ColumnSet().RowCount);
        var slice = set.Slice(1, 1);
        Assert.Equal([2.0], slice["temperature"].NumericValues.ToArray());
        Assert.Equal(["b"], slice["season"].StringValues);
        Assert.Same(set, set.Slice(0, 2));
    }

    [Fact]
    public void Inconsistent_profile_files_are_refused_naming_the_column()
    {
        var profile = ReferenceProfile.Build(Data.Table(300, 0, 1));
        var json = profile.ToJson();

        string Problem(string from, string to) =>
            Assert.Throws<DataFormatException>(() => ReferenceProfile.FromJson(json.Replace(from, to, StringComparison.Ordinal), "p.json")).Message;

        Assert.Contains("column 'y' appears twice", Problem("\"name\":\"x\"", "\"name\":\"y\""));
        Assert.Contains("category counts do not add up", Problem("\"other\":0", "\"other\":5"));
        var count = profile.Column("x").Count;
        Assert.Contains("column 'x'", Problem($"\"count\":{count},", $"\"count\":{count + 1},"));
        Assert.Contains("has no name", Problem("\"name\":\"x\"", "\"name\":\" \""));
        Assert.Throws<DataFormatException>(() => ReferenceProfile.FromJson("null"));
        Assert.Contains("unknown column 'z'", Assert.Throws<NotFoundException>(() => profile.Column("z")).Message);
    }

    [Fact]
    public void Profile_checks_catch_each_inconsistency()
    {
        var good = ReferenceProfile.Build(new ColumnSet(DataColumn.Numeric("v", Data.Normal(2000, 0, 1, 3)))).Column("v");
        var n = good.Numeric!;
        Assert.Null(good.Problem());
        Assert.NotNull((good with { Count = -1 }).Problem());
        Assert.NotNull((good with { Numeric = null }).Problem());
        Assert.NotNull((good with { Numeric = n with { Histogram = n.Histogram with { Counts = [1, 2] } } }).Problem());
        Assert.NotNull((good with { Numeric = n with { Histogram = n.Histogram with { Edges = n.Histogram.Edges.Reverse().ToArray() } } }).Problem());
        Assert.NotNull((good with { Numeric = n with { Values = [1.0] } }).Problem());
        Assert.NotNull((good with { Numeric = n with { Sketch = n.Sketch with { N = 5 } } }).Problem());
        Assert.NotNull((good with { Kind = ColumnKind.Categorical }).Problem());
        Assert.NotNull((good with { Kind = ColumnKind.Text }).Problem());
        Assert.NotNull((good with { Kind = (ColumnKind)9 }).Problem());
        var text = ReferenceProfile.Build(new ColumnSet(DataColumn.Text("t", ["a", "bb"]))).Column("t");
        Assert.Null(text.Problem());
        Assert.NotNull((text with { Count = 3 }).Problem());
    }

    [Fact]
    public void Sketch_records_that_do_not_add_up_are_refused()
    {
        var record = new QuantileSketch { K = 200, N = 10, Levels = [[1.0, 2.0]] };

        Assert.Throws<FormatException>(() => KllSketch.FromRecord(record));
        Assert.Throws<ArgumentOutOfRangeException>(() => new KllSketch(4));
        var a = new KllSketch(16);
        Assert.Throws<InvalidOperationException>(() => a.Merge(new KllSketch(32)));
        Assert.True(double.IsNaN(a.Quantile(0.5)));
        Assert.True(double.IsNaN(a.Rank(0)));
        foreach (var x in Enumerable.Range(0, 5)) a.Add(x);
        Assert.Equal(0, a.Quantile(0));
        Assert.Equal(4, a.Quantile(1));
        Assert.Equal(0.6, a.Rank(2), 12);
        var round = KllSketch.FromRecord(a.ToRecord());
        Assert.Equal(a.ToRecord(), round.ToRecord());
    }
}
