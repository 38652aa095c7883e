using Forge.Core;

namespace Forge.Monitoring.Tests;

public sealed class ProfileTests
{
    private static ColumnSet Slice(ColumnSet data, int from, int count) => new(data.Select(c => c.Kind switch
    {
        ColumnKind.Numeric => DataColumn.Numeric(c.Name, c.NumericValues.Slice(from, count).ToArray(), c.Role),
        ColumnKind.Categorical => DataColumn.Categorical(c.Name, c.StringValues.Skip(from).Take(count).ToArray(), c.Role),
        _ => DataColumn.Text(c.Name, c.StringValues.Skip(from).Take(count).ToArray(), null, c.Role),
    }));

    [Fact]
    public void Numeric_summary_is_exact()
    {
        double[] x = [3, 1, double.NaN, 4, 1, 5, 9, 2, 6];
        var p = ReferenceProfile.Build(new ColumnSet(DataColumn.Numeric("x", x))).Column("x");

        var present = x.Where(v => !double.IsNaN(v)).ToArray();
        var mean = present.Average();
        var std = Math.Sqrt(present.Sum(v => (v - mean) * (v - mean)) / (present.Length - 1));
        Assert.Equal(8, p.Count);
        Assert.Equal(1, p.Missing);
        Assert.Equal(mean, p.Numeric!.Mean, 14);
        Assert.Equal(std, p.Numeric.Std, 14);
        Assert.Equal(1, p.Numeric.Min);
        Assert.Equal(9, p.Numeric.Max);
        Assert.Equal(present.Order().ToArray(), p.Numeric.Values);
        // numpy.quantile(present, 0.5) = 3.5 (linear interpolation).
        Assert.Equal(3.5, p.Numeric.Quantiles[3], 14);
        Assert.Equal(8, p.Numeric.Histogram.Counts.Sum());
        Assert.Equal([1.0, 2, 3, 4, 5, 6, 9], p.Numeric.DistinctValues!.Select(v => v.Value));
    }

    [Fact]
    public void Histogram_bins_are_half_open_with_open_outer_bins()
    {
        double[] edges = [1, 2, 3];

        Assert.Equal(0, Histogram.BinOf(edges, 0.5));
        Assert.Equal(1, Histogram.BinOf(edges, 1));
        Assert.Equal(1, Histogram.BinOf(edges, 1.999));
        Assert.Equal(2, Histogram.BinOf(edges, 2));
        Assert.Equal(3, Histogram.BinOf(edges, 3));
        Assert.Equal(3, Histogram.BinOf(edges, 1e9));
    }

    [Fact]
    public void Reference_edges_sit_at_its_quantiles_without_duplicates()
    {
        var edges = ColumnAccumulator.QuantileEdges([5, 1, 1, 1, 1, 1, 2, 3, 4, 6], 5);

        Assert.Equal([1.0, 3, 5], edges);
        Assert.Empty(ColumnAccumulator.QuantileEdges([], 10));
    }

    [Fact]
    public void Merge_equals_the_profile_of_the_concatenation()
    {
        var all = Data.Table(6000, 0, 7, withMissing: true);
        var reference = ReferenceProfile.Build(all);
        var whole = ProfileBuilder.ForWindow(reference);
        whole.Add(all);
        var first = ProfileBuilder.ForWindow(reference);
        first.Add(Slice(all, 0, 2500));
        var second = ProfileBuilder.ForWindow(reference);
        second.Add(Slice(all, 2500, 3500));

        var merged = ReferenceProfile.Merge(first.ToProfile(), second.ToProfile());
        var expected = whole.ToProfile();

        Assert.Equal(expected.Rows, merged.Rows);
        foreach (var e in expected.Columns)
        {
            var m = merged.Column(e.Name);
            Assert.Equal(e.Count, m.Count);
            Assert.Equal(e.Missing, m.Missing);
            if (e.Numeric is { } en)
            {
                var mn = m.Numeric!;
                Assert.InRange(Math.Abs(mn.Mean - en.Mean), 0, 1e-12 * Math.Max(1, Math.Abs(en.Mean)));
                Assert.InRange(Math.Abs(mn.Std - en.Std), 0, 1e-12 * en.Std);
                Assert.Equal(en.Min, mn.Min);
                Assert.Equal(en.Max, mn.Max);
                Assert.Equal(en.Histogram, mn.Histogram);
                Assert.Equal(en.Sketch.N, mn.Sketch.N);
                // Quantiles come from the sketch: both are within the sketch's error of the truth, so within twice it of each other.
                var sorted = all[e.Name].NumericValues.ToArray().Where(v => !double.IsNaN(v)).Order().ToArray();
                for (var q = 0; q < NumericProfile.QuantileProbabilities.Count; q++)
                {
                    var rank = RankOf(sorted, mn.Quantiles[q]);
                    Assert.InRange(Math.Abs(rank - NumericProfile.QuantileProbabilities[q]), 0, 0.02);
                }
            }
            else
            {
                Assert.Equal(e.Categorical, m.Categorical);
            }
        }
    }

    private static double RankOf(double[] sorted, double x)
    {
        var below = 0;
        while (below < sorted.Length && sorted[below] <= x) below++;
        return (double)below / sorted.Length;
    }

    [Fact]
    public void Merging_small_profiles_keeps_every_value_until_the_limit()
    {
        var reference = ReferenceProfile.Build(new ColumnSet(DataColumn.Numeric("v", Data.Normal(100, 0, 1, 1))));
        var a = ProfileBuilder.ForWindow(reference, new ProfileOptions { ExactValuesLimit = 50 });
        a.Add(new ColumnSet(DataColumn.Numeric("v", Data.Normal(30, 0, 1, 2))));
        var b = ProfileBuilder.ForWindow(reference, new ProfileOptions { ExactValuesLimit = 50 });
        b.Add(new ColumnSet(DataColumn.Numeric("v", Data.Normal(20, 0, 1, 3))));
        var c = ProfileBuilder.ForWindow(reference, new ProfileOptions { ExactValuesLimit = 50 });
        c.Add(new ColumnSet(DataColumn.Numeric("v", Data.Normal(1, 0, 1, 4))));

        a.Merge(b);
        Assert.Equal(50, a.ToProfile().Column("v").Numeric!.Values!.Length);
        a.Merge(c);
        Assert.Null(a.ToProfile().Column("v").Numeric!.Values);
        Assert.Equal(51, a.ToProfile().Column("v").Count);
    }

    [Fact]
    public void Sketch_quantiles_are_within_two_percent_in_rank()
    {
        var x = Data.Normal(60_000, 0, 1, 11);
        var sketch = new KllSketch(200);
        foreach (var v in x) sketch.Add(v);
        var sorted = x.Order().ToArray();

        Assert.Equal(60_000, sketch.N);
        Assert.InRange(sketch.RetainedItems, 200, 700);
        foreach (var q in new[] { 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99 })
        {
            var rank = RankOf(sorted, sketch.Quantile(q));
            Assert.InRange(Math.Abs(rank - q), 0, 0.02);
            Assert.InRange(Math.Abs(sketch.Rank(sorted[(int)(q * sorted.Length)]) - q), 0, 0.02);
        }
    }

    [Fact]
    public void Json_round_trip_gives_the_same_profile()
    {
        var data = Data.Table(3000, 0, 5, withMissing: true);
        var texts = new ColumnSet(DataColumn.Text("t", ["one", "three", null, "fives"], [[1f, 2f], [3f, 4f], null, [5f, 6f]]));
        foreach (var profile in new[] { ReferenceProfile.Build(data), ReferenceProfile.Build(texts) })
        {
            var back = ReferenceProfile.FromJson(profile.ToJson());

            Assert.Equal(profile, back);
            Assert.Equal(profile.ToJson(), back.ToJson());
        }
    }

    [Fact]
    public void Saved_profile_loads_and_a_newer_or_broken_file_is_refused_with_its_name()
    {
        var dir = Directory.CreateTempSubdirectory("forge-profile-").FullName;
        try
        {
            var path = Path.Combine(dir, "profile.json");
            var profile = ReferenceProfile.Build(Data.Table(200, 0, 1));
            profile.Save(path);
            Assert.Equal(profile, ReferenceProfile.Load(path));

            File.WriteAllText(path, profile.ToJson().Replace("\"formatVersion\":1", "\"formatVersion\":9", StringComparison.Ordinal));
            var newer = Assert.Throws<DataFormatException>(() => ReferenceProfile.Load(path));
            Assert.Contains("newer", newer.Message);
            Assert.Contains(path, newer.Message);

            File.WriteAllText(path, "{\"columns\":[{\"name\":\"x\",\"kind\":\"numeric\",\"count\":5}]}");
            Assert.Contains("numeric summary", Assert.Throws<DataFormatException>(() => ReferenceProfile.Load(path)).Message);
            Assert.Throws<DataFormatException>(() => ReferenceProfile.FromJson("{not json"));
            Assert.Throws<DataFormatException>(() => ReferenceProfile.Load(Path.Combine(dir, "none.json")));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void A_profile_of_100_columns_stays_under_a_megabyte()
    {
        var rng = new Random(3);
        var columns = Enumerable.Range(0, 100)
            .Select(i => DataColumn.Numeric($"feature_{i:D3}", Enumerable.Range(0, 3_000).Select(_ => rng.NextDouble() * 1000).ToArray()))
            .ToArray();

        var json = ReferenceProfile.Build(new ColumnSet(columns)).ToJson();

        Assert.InRange(json.Length, 1, 1_000_000);
    }

    [Fact]
    public void Categorical_profile_keeps_the_top_categories_and_counts_the_rest()
    {
        var values = Enumerable.Range(0, 1000).Select(i => i < 500 ? "a" : i < 800 ? "b" : $"rare{i % 50}").ToArray();

        var p = ReferenceProfile.Build(new ColumnSet(DataColumn.Categorical("c", values)), new ProfileOptions { TopCategories = 3 }).Column("c");

        Assert.Equal(["a", "b", "rare0"], p.Categorical!.Top.Select(t => t.Category));
        Assert.Equal([500L, 300, 4], p.Categorical.Top.Select(t => t.Count));
        Assert.Equal(196, p.Categorical.Other);
    }

    [Fact]
    public void Embedding_summary_is_the_mean_and_variance_of_the_vectors()
    {
        float[]?[] e = [[1f, 10f], [3f, 14f], null, [5f, 12f]];
        var p = ReferenceProfile.Build(new ColumnSet(DataColumn.Text("t", ["a", "bb", null, "dddd"], e))).Column("t");

        Assert.Equal([3.0, 12.0], p.Text!.Embedding!.Mean);
        Assert.Equal([4.0, 4.0], p.Text.Embedding.Variance);
        Assert.Equal(3, p.Text.Length.Values!.Length);
        Assert.Equal(7.0 / 3, p.Text.Length.Mean, 14);
    }

    [Fact]
    public void Window_builder_refuses_missing_or_retyped_columns_naming_all()
    {
        var reference = ReferenceProfile.Build(Data.Table(100, 0, 1));
        var window = ProfileBuilder.ForWindow(reference);

        var e = Assert.Throws<DriftException>(() => window.Add(new ColumnSet(
            DataColumn.Numeric("xx", [1.0]), DataColumn.Categorical("y", ["1"]), DataColumn.Categorical("color", ["red"]),
            DataColumn.Categorical("prediction", ["no"]))));

        Assert.Contains("no column 'x'", e.Message);
        Assert.Contains("column 'y' is categorical in the batch but numeric in the profile", e.Message);
        Assert.Equal(0, window.Rows);
    }

    [Fact]
    public void Profiles_on_different_edges_do_not_merge()
    {
        var a = ReferenceProfile.Build(new ColumnSet(DataColumn.Numeric("v", Data.Normal(500, 0, 1, 1))));
        var b = ReferenceProfile.Build(new ColumnSet(DataColumn.Numeric("v", Data.Normal(500, 0, 1, 2))));

        Assert.Contains("different histogram edges", Assert.Throws<DriftException>(() => ReferenceProfile.Merge(a, b)).Message);
    }

    [Fact]
    public void Invalid_profile_options_list_every_problem()
    {
        var e = Assert.Throws<UsageException>(() => new ProfileOptions { HistogramBins = 1, SketchK = 2, TopCategories = 0 }.Validate());

        Assert.Contains("HistogramBins", e.Message);
        Assert.Contains("SketchK", e.Message);
        Assert.Contains("TopCategories", e.Message);
    }
}

public sealed class EncodingTests
{
    [Fact]
    public void A_sketch_built_from_sorted_values_is_within_one_kth_in_rank()
    {
        var x = Data.Normal(100_003, 0, 1, 21).Order().ToArray();

        var sketch = KllSketch.FromSorted(x, 200);

        Assert.Equal(100_003, sketch.N);
        Assert.InRange(sketch.RetainedItems, 100, 220);
        foreach (var q in new[] { 0.001, 0.01, 0.25, 0.5, 0.9, 0.999 })
        {
            var v = sketch.Quantile(q);
            var rank = (double)x.Count(t => t <= v) / x.Length;
            Assert.InRange(Math.Abs(rank - q), 0, 1.0 / 200);
        }
        var merged = KllSketch.FromSorted(x.AsSpan(0, 50_000), 200);
        merged.Merge(KllSketch.FromSorted(x.AsSpan(50_000), 200));
        Assert.Equal(100_003, merged.N);
        Assert.InRange(Math.Abs(merged.Rank(0) - 0.5), 0, 0.01);
    }

    [Theory]
    [InlineData(new[] { 0.24, 0.5, 13.0 }, "[")]
    [InlineData(new[] { 0.1234567890123, 1.0 / 3, Math.PI, Math.E, 2.0 / 7 }, "\"f64:")]
    [InlineData(new[] { (double)0.1f, (double)0.2f, (double)(1f / 3f), (double)0.7f, (double)12.3f, (double)0.01f }, "\"f32:")]
    public void Number_arrays_take_their_shortest_exact_form(double[] values, string start)
    {
        var profile = new NumericProfile { Values = values };

        var json = System.Text.Json.JsonSerializer.Serialize(profile, ProfileJson.Options);
        var back = System.Text.Json.JsonSerializer.Deserialize<NumericProfile>(json, ProfileJson.Options)!;

        Assert.Contains("\"values\":" + start, json);
        Assert.Equal(values, back.Values);
    }
}
