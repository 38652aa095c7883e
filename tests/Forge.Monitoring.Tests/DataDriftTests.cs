using System.Text.Json;
using Forge.Core;

namespace Forge.Monitoring.Tests;

public sealed class DataDriftTests
{
    private static DriftOptions Force(string column, DriftTest test) =>
        new() { Columns = new Dictionary<string, ColumnTestOverride> { [column] = new(test) } };

    private static ColumnDrift Single(ColumnSet reference, ColumnSet current, DriftTest test, string column = "v") =>
        DataDrift.Compare(reference, current, Force(column, test)).AllColumns().Single(c => c.Name == column);

    [Fact]
    public void Raw_numeric_jensen_shannon_and_psi_reproduce_evidentlys_binning()
    {
        foreach (var c in Golden.Cases<EvidentlyNumericCase>("evidentlyNumeric"))
        {
            var reference = new ColumnSet(DataColumn.Numeric("v", c.Reference));
            var current = new ColumnSet(DataColumn.Numeric("v", c.Current));

            Golden.Near(c.JensenShannon, Single(reference, current, DriftTest.JensenShannon).Statistic, 1e-9, $"{c.Name} js");
            Golden.Near(c.Psi, Single(reference, current, DriftTest.Psi).Statistic, 1e-9, $"{c.Name} psi");
        }
    }

    [Fact]
    public void Raw_categorical_tests_reproduce_evidently()
    {
        foreach (var c in Golden.Cases<EvidentlyCategoricalCase>("evidentlyCategorical"))
        {
            var reference = new ColumnSet(DataColumn.Categorical("v", c.Reference));
            var current = new ColumnSet(DataColumn.Categorical("v", c.Current));

            Golden.Near(c.JensenShannon, Single(reference, current, DriftTest.JensenShannon).Statistic, 1e-9, $"{c.Name} js");
            Golden.Near(c.Psi, Single(reference, current, DriftTest.Psi).Statistic, 1e-9, $"{c.Name} psi");
            var chi = Single(reference, current, DriftTest.ChiSquared);
            Golden.Near(c.ChiSquaredContingency.Statistic, chi.Statistic, 1e-9, $"{c.Name} chi2 contingency");
            Golden.Relative(c.ChiSquaredContingency.PValue, chi.PValue!.Value, 1e-6, $"{c.Name} chi2 contingency p");
            var keys = c.Reference.Concat(c.Current).Distinct().Order(StringComparer.Ordinal).ToArray();
            var rc = keys.Select(k => (double)c.Reference.Count(v => v == k)).ToArray();
            var cc = keys.Select(k => (double)c.Current.Count(v => v == k)).ToArray();
            var gof = DriftStatistics.ChiSquaredAgainstReference(rc, cc);
            Golden.Near(c.ChiSquared.Statistic, gof.Statistic, 1e-9, $"{c.Name} evidently chi2");
            Golden.Relative(c.ChiSquared.PValue, gof.PValue, 1e-6, $"{c.Name} evidently chi2 p");
            if (c.Z is { } z)
            {
                var zr = Single(reference, current, DriftTest.ZTest);
                Golden.Near(z.Statistic, zr.Statistic, 1e-9, $"{c.Name} z");
                Golden.Relative(z.PValue, zr.PValue!.Value, 1e-6, $"{c.Name} z p");
            }
        }
    }

    [Fact]
    public void Raw_ks_and_wasserstein_columns_equal_the_statistics_on_the_present_values()
    {
        var a = Data.Normal(400, 0, 1, 1);
        var b = Data.Normal(300, 0.3, 1, 2);
        b[5] = double.NaN;
        var reference = new ColumnSet(DataColumn.Numeric("v", a));
        var current = new ColumnSet(DataColumn.Numeric("v", b));
        var present = b.Where(x => !double.IsNaN(x)).ToArray();

        var ks = Single(reference, current, DriftTest.KolmogorovSmirnov);
        var expected = DriftStatistics.KolmogorovSmirnov(a, present);
        Assert.Equal(expected.Statistic, ks.Statistic);
        Assert.Equal(expected.PValue, ks.PValue);
        Assert.Equal("exact", ks.Method);
        Assert.Equal(299, ks.CurrentCount);
        Assert.Equal(1.0 / 300, ks.CurrentMissingShare, 12);

        var w = Single(reference, current, DriftTest.Wasserstein);
        Assert.Equal(DriftStatistics.NormedWasserstein(a, present), w.Statistic, 12);
        Assert.Null(w.PValue);
    }

    [Theory]
    [InlineData(1000, "x", "ks")]
    [InlineData(1001, "x", "wasserstein")]
    [InlineData(1000, "color", "chisquare")]
    [InlineData(1001, "color", "jensenshannon")]
    [InlineData(1000, "prediction", "z")]
    [InlineData(1001, "prediction", "jensenshannon")]
    public void Automatic_choice_follows_evidently_by_reference_size_and_kind(int referenceRows, string column, string test)
    {
        var result = DataDrift.Compare(Data.Table(referenceRows, 0, 1), Data.Table(500, 0, 9));

        Assert.Equal(test, result.AllColumns().Single(c => c.Name == column).Test);
    }

    [Theory]
    [InlineData(new double[] { 1, 2, 3 }, 900, "chisquare")]
    [InlineData(new double[] { 0, 1 }, 900, "z")]
    [InlineData(new double[] { 1, 2, 3, 4, 5 }, 2000, "jensenshannon")]
    [InlineData(new double[] { 1, 2, 3, 4, 5, 6 }, 2000, "wasserstein")]
    [InlineData(new double[] { 1, 2, 3, 4, 5, 6 }, 900, "ks")]
    public void Numeric_columns_with_few_values_are_tested_as_categories(double[] values, int n, string test)
    {
        var rng = new Random(3);
        double[] Draw(int m) => Enumerable.Range(0, m).Select(_ => values[rng.Next(values.Length)]).ToArray();

        var r = DataDrift.Compare(new ColumnSet(DataColumn.Numeric("v", Draw(n))), new ColumnSet(DataColumn.Numeric("v", Draw(400))));

        Assert.Equal(test, r.Columns.Single().Test);
    }

    [Fact]
    public void Significance_selection_uses_tests_at_every_size()
    {
        var r = DataDrift.Compare(Data.Table(2000, 0, 1), Data.Table(2000, 0.2, 2), new DriftOptions { Selection = TestSelection.Significance });

        Assert.Equal("ks", r.Columns.Single(c => c.Name == "x").Test);
        Assert.Equal("chisquare", r.Columns.Single(c => c.Name == "color").Test);
        Assert.Equal("z", r.Predictions.Single().Test);
        Assert.True(r.Columns.Single(c => c.Name == "x").Drifted);
    }

    [Fact]
    public void Dataset_drift_needs_the_configured_share_of_feature_columns()
    {
        var reference = Data.Table(3000, 0, 1);
        var shifted = Data.Table(3000, 0.5, 2);

        var result = DataDrift.Compare(reference, shifted);
        var strict = DataDrift.Compare(reference, shifted, new DriftOptions { DriftShareThreshold = 1.0, Columns = new Dictionary<string, ColumnTestOverride> { ["y"] = new(DriftTest.Wasserstein, 5.0) } });

        Assert.True(result.DatasetDrift);
        Assert.Equal(3, result.Columns.Count);
        Assert.Equal(3, result.DriftedColumns);
        Assert.Equal(1.0, result.DriftShare);
        Assert.False(result.PredictionDrift);
        Assert.Null(result.TargetDrift);
        Assert.False(strict.DatasetDrift);
        Assert.Equal(2.0 / 3, strict.DriftShare, 12);
        Assert.Equal(5.0, strict.Columns.Single(c => c.Name == "y").Threshold);
    }

    [Fact]
    public void No_shift_gives_no_dataset_drift()
    {
        var result = DataDrift.Compare(Data.Table(3000, 0, 1), Data.Table(3000, 0, 2));

        Assert.False(result.DatasetDrift);
        Assert.Equal(0, result.DriftedColumns);
        Assert.All(result.Columns, c => Assert.True(double.IsFinite(c.Statistic)));
    }

    [Fact]
    public void Unknown_and_renamed_columns_are_named_with_a_suggestion()
    {
        var reference = new ColumnSet(DataColumn.Numeric("temperature", [1, 2, 3]), DataColumn.Numeric("humidity", [1, 2, 3]));
        var current = new ColumnSet(DataColumn.Numeric("temprature", [1, 2, 3]), DataColumn.Numeric("humidity", [1, 2, 3]));

        var e = Assert.Throws<DriftException>(() => DataDrift.Compare(reference, current));
        Assert.Contains("no column 'temperature'", e.Message);
        Assert.Contains("'temprature'", e.Message);

        var o = Assert.Throws<DriftException>(() => DataDrift.Compare(reference, reference, Force("humdity", DriftTest.Psi)));
        Assert.Contains("did you mean 'humidity'", o.Message);
    }

    [Fact]
    public void Kind_mismatch_empty_window_and_all_missing_columns_fail_clearly()
    {
        var reference = new ColumnSet(DataColumn.Numeric("a", [1, 2, 3]), DataColumn.Numeric("b", [1, 2, 3]));

        var kind = Assert.Throws<DriftException>(() => DataDrift.Compare(reference,
            new ColumnSet(DataColumn.Categorical("a", ["1", "2"]), DataColumn.Numeric("b", [1, 2]))));
        Assert.Contains("column 'a' is numeric in the reference but categorical in the current data", kind.Message);

        var empty = Assert.Throws<DriftException>(() => DataDrift.Compare(reference,
            new ColumnSet(DataColumn.Numeric("a", Array.Empty<double>()), DataColumn.Numeric("b", Array.Empty<double>()))));
        Assert.Contains("no rows", empty.Message);

        var missing = new ColumnSet(DataColumn.Numeric("a", [double.NaN, double.NaN]), DataColumn.Numeric("b", [double.NaN, 2]));
        var fail = Assert.Throws<DriftException>(() => DataDrift.Compare(reference, missing));
        Assert.Contains("column 'a' has no values in the current data (all 2 rows missing)", fail.Message);
        Assert.DoesNotContain("'b'", fail.Message);

        var flagged = DataDrift.Compare(reference, missing, new DriftOptions { AllMissing = AllMissingPolicy.FlagAsDrift });
        var a = flagged.Columns.Single(c => c.Name == "a");
        Assert.Equal("missing", a.Test);
        Assert.True(a.Drifted);
        Assert.Equal(1.0, a.CurrentMissingShare);
    }

    [Fact]
    public void A_reference_column_without_values_and_impossible_overrides_are_refused()
    {
        var reference = new ColumnSet(DataColumn.Numeric("a", [double.NaN, double.NaN, double.NaN]), DataColumn.Categorical("c", ["x", "y", "z"]));
        var current = new ColumnSet(DataColumn.Numeric("a", [1, 2, 3]), DataColumn.Categorical("c", ["x", "y", "z"]));

        var e = Assert.Throws<DriftException>(() => DataDrift.Compare(reference, current, Force("c", DriftTest.KolmogorovSmirnov)));
        Assert.Contains("column 'a' has no values in the reference", e.Message);
        Assert.Contains("column 'c' is categorical, so it cannot take the ks test", e.Message);

        var z = Assert.Throws<DriftException>(() => DataDrift.Compare(current, current, Force("c", DriftTest.ZTest)));
        Assert.Contains("more than two values", z.Message);
    }

    [Fact]
    public void Invalid_options_list_every_problem()
    {
        var o = new DriftOptions { DriftShareThreshold = 0, FewValuesLimit = 30, NumericTest = DriftTest.ChiSquared, Threshold = -1 };

        var e = Assert.Throws<UsageException>(o.Validate);

        Assert.Contains("DriftShareThreshold", e.Message);
        Assert.Contains("FewValuesLimit", e.Message);
        Assert.Contains("NumericTest", e.Message);
        Assert.Contains("Threshold must be positive", e.Message);
    }

    [Fact]
    public void A_new_category_is_drift_with_a_finite_statistic_and_evidentlys_variant_makes_it_infinite()
    {
        var reference = new ColumnSet(DataColumn.Categorical("v", Enumerable.Range(0, 300).Select(i => "abc"[i % 3].ToString()).ToArray()));
        var current = new ColumnSet(DataColumn.Categorical("v", Enumerable.Range(0, 300).Select(i => "abcd"[i % 4].ToString()).ToArray()));

        var c = Single(reference, current, DriftTest.ChiSquared);

        Assert.True(double.IsFinite(c.Statistic));
        Assert.True(c.PValue < 1e-10);
        Assert.True(c.Drifted);
        var evidently = DriftStatistics.ChiSquaredAgainstReference([100, 100, 100, 0], [75, 75, 75, 75]);
        Assert.True(double.IsPositiveInfinity(evidently.Statistic));
        Assert.Equal(0, evidently.PValue);
    }

    [Fact]
    public void Contingency_chi_squared_of_two_categories_is_the_square_of_the_pooled_z()
    {
        var chi = DriftStatistics.ChiSquaredContingency([480, 520], [530, 470]);
        var z = DriftStatistics.TwoProportionZ(520, 1000, 470, 1000);

        Assert.Equal(z.Statistic * z.Statistic, chi.Statistic, 10);
        Assert.Equal(z.PValue, chi.PValue, 10);
        Assert.Equal(1, chi.DegreesOfFreedom);
        Assert.Equal(new ChiSquaredResult(0, 1, 0), DriftStatistics.ChiSquaredContingency([5, 0], [7, 0]));
    }

    [Fact]
    public void Psi_reports_its_band()
    {
        var reference = new ColumnSet(DataColumn.Numeric("v", Data.Normal(3000, 0, 1, 1)));
        Assert.Equal("none", Single(reference, new ColumnSet(DataColumn.Numeric("v", Data.Normal(3000, 0, 1, 2))), DriftTest.Psi).PsiBand);
        Assert.Equal("moderate", Single(reference, new ColumnSet(DataColumn.Numeric("v", Data.Normal(3000, 0.35, 1, 2))), DriftTest.Psi).PsiBand);
        Assert.Equal("major", Single(reference, new ColumnSet(DataColumn.Numeric("v", Data.Normal(3000, 1, 1, 2))), DriftTest.Psi).PsiBand);
    }

    [Fact]
    public void Result_json_is_camel_case_with_the_documented_fields()
    {
        var result = DataDrift.Compare(Data.Table(500, 0, 1), Data.Table(500, 0.5, 2));

        using var doc = JsonDocument.Parse(result.ToJson());
        var root = doc.RootElement;
        Assert.True(root.GetProperty("datasetDrift").GetBoolean());
        Assert.InRange(root.GetProperty("driftShare").GetDouble(), 0.5, 1);
        var first = root.GetProperty("columns")[0];
        Assert.Equal("x", first.GetProperty("name").GetString());
        Assert.Equal("ks", first.GetProperty("test").GetString());
        Assert.True(first.GetProperty("statistic").GetDouble() > 0);
        Assert.True(first.GetProperty("pValue").GetDouble() < 0.05);
        Assert.True(first.GetProperty("drifted").GetBoolean());
        Assert.Equal("numeric", first.GetProperty("kind").GetString());
        Assert.Equal(result, DriftResult.FromJson(result.ToJson()) with { Columns = result.Columns, Predictions = result.Predictions, Targets = result.Targets });
    }

    [Fact]
    public void Text_columns_use_embedding_distance_when_both_sides_have_embeddings_else_their_length()
    {
        string?[] texts = ["short", "a bit longer text", "mid size", null, "x", "twelve chars", "nineteen characters"];
        float[]?[] near = [[0.1f, 0.2f], [0.1f, 0.25f], [0.12f, 0.2f], null, [0.1f, 0.2f], [0.1f, 0.2f], [0.1f, 0.2f]];
        float[]?[] far = [[0.9f, 0.2f], [0.8f, 0.25f], [0.85f, 0.2f], null, [0.9f, 0.2f], [0.9f, 0.2f], [0.9f, 0.2f]];
        var reference = new ColumnSet(DataColumn.Text("review", texts, near));

        var same = DataDrift.Compare(reference, new ColumnSet(DataColumn.Text("review", texts, near))).Columns.Single();
        var moved = DataDrift.Compare(reference, new ColumnSet(DataColumn.Text("review", texts, far))).Columns.Single();
        var lengthOnly = DataDrift.Compare(reference, new ColumnSet(DataColumn.Text("review", texts))).Columns.Single();

        Assert.Equal("embedding_distance", same.Test);
        Assert.Equal(0, same.Statistic, 12);
        Assert.True(moved.Drifted);
        Assert.InRange(moved.Statistic, 0.75, 0.8);
        Assert.Equal("ks", lengthOnly.Test);
        Assert.Contains("length", lengthOnly.Note);
    }
}
