using Forge.Core;
using Forge.Explainability.Agnostic;

namespace Forge.Explainability.Tests;

public sealed class BackgroundTests
{
    private const string NoRows = "the background data has no rows; pass a sample of the training data";

    [Fact]
    public void From_keeps_every_row_with_equal_weight()
    {
        var bg = Background.From(new double[,] { { 1, 2 }, { 3, 4 }, { 5, double.NaN }, { 7, 8 } });

        Assert.Equal(4, bg.Count);
        Assert.Equal(2, bg.FeatureCount);
        Assert.Equal([0.25, 0.25, 0.25, 0.25], bg.Weights);
        Assert.Equal([3.0, 4.0], bg.Row(1));
        Assert.Equal([5.0, double.NaN], bg.Row(2));
        Assert.Equal([7.0, 8.0], bg.Row(3));
        Assert.Equal(NoRows, Assert.Throws<UsageException>(() => Background.From(new double[0, 2])).Message);
    }

    [Fact]
    public void Weighted_normalises_the_weights_and_refuses_weights_that_cannot_be_normalised()
    {
        var bg = Background.Weighted(new double[,] { { 1 }, { 2 }, { 3 } }, [2, 0, 6]);
        Assert.Equal([0.25, 0.0, 0.75], bg.Weights);
        Assert.Equal([2.0], bg.Row(1));

        Assert.Equal(NoRows, Assert.Throws<UsageException>(() => Background.Weighted(new double[0, 1], [])).Message);
        var count = Assert.Throws<ArgumentException>(() => Background.Weighted(new double[3, 1], [1, 1]));
        Assert.StartsWith("2 weights for 3 rows", count.Message, StringComparison.Ordinal);
        Assert.Equal("weights", count.ParamName);
        foreach (var bad in new[] { new[] { 1, -0.5 }, [1, double.NaN], [1, double.PositiveInfinity], [0.0, 0] })
        {
            var e = Assert.Throws<ArgumentException>(() => Background.Weighted(new double[2, 1], bad));
            Assert.StartsWith("weights must be finite, non-negative and not all zero", e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Sample_draws_distinct_rows_reproducibly_and_keeps_all_rows_when_there_are_no_more_than_asked()
    {
        var rows = new double[20, 2];
        for (var i = 0; i < 20; i++)
        {
            rows[i, 0] = i;
            rows[i, 1] = 100 + i;
        }

        var sample = Background.Sample(rows, 6, seed: 4);

        Assert.Equal(6, sample.Count);
        Assert.All(sample.Weights, w => Assert.Equal(1.0 / 6, w));
        var picked = Enumerable.Range(0, 6).Select(sample.Row).ToArray();
        Assert.All(picked, r => Assert.Equal(r[0] + 100, r[1]));
        Assert.Equal(6, picked.Select(r => r[0]).Distinct().Count());
        Assert.Equal(picked.Select(r => r[0]), Enumerable.Range(0, 6).Select(i => Background.Sample(rows, 6, seed: 4).Row(i)[0]));

        // Exactly as many rows as asked: every row, in order.
        var all = Background.Sample(rows, 20, seed: 4);
        Assert.Equal(Enumerable.Range(0, 20).Select(i => (double)i), Enumerable.Range(0, 20).Select(i => all.Row(i)[0]));
        Assert.Equal(1, Background.Sample(rows, 1).Count);
        Assert.Throws<ArgumentOutOfRangeException>(() => Background.Sample(rows, 0));
    }

    [Fact]
    public void Kmeans_finds_separated_groups_weights_them_by_size_and_snaps_centres_to_observed_values()
    {
        // Two groups: around (0, 0.5) with 2 rows and around (10, 11) with 3 rows. The first group's mean 0.5 of
        // column 1 lies halfway between the observed 0 and 1; ties snap to the smaller value.
        var rows = new double[,] { { 0, 0 }, { 10, 10 }, { 0, 1 }, { 10, 12 }, { 10, 11 } };

        for (var seed = 0; seed < 5; seed++)
        {
            var bg = Background.KMeans(rows, 2, seed);

            Assert.Equal(2, bg.Count);
            var centres = Enumerable.Range(0, 2).Select(c => (Row: bg.Row(c), Weight: bg.Weights[c])).OrderBy(c => c.Weight).ToArray();
            Assert.Equal([0.0, 0.0], centres[0].Row);
            Assert.Equal(0.4, centres[0].Weight, 12);
            Assert.Equal([10.0, 11.0], centres[1].Row);
            Assert.Equal(0.6, centres[1].Weight, 12);
        }
    }

    [Fact]
    public void Kmeans_ignores_missing_values_in_distances_and_means()
    {
        // The NaN row belongs to the group its known column puts it in, and does not pull that group's column-1 mean.
        var rows = new double[,] { { 0, 2 }, { 0, 4 }, { 1, double.NaN }, { 50, 60 }, { 52, 61 }, { 50, 62 } };

        var bg = Background.KMeans(rows, 2, seed: 1);

        var centres = Enumerable.Range(0, 2).Select(c => (Row: bg.Row(c), Weight: bg.Weights[c])).OrderBy(c => c.Row[0]).ToArray();
        Assert.Equal(0.5, centres[0].Weight, 12);
        Assert.Equal([0.0, 2.0], centres[0].Row);
        Assert.Equal(0.5, centres[1].Weight, 12);
        Assert.Equal([50.0, 61.0], centres[1].Row);
    }

    [Fact]
    public void Kmeans_with_at_least_as_many_centres_as_rows_keeps_the_rows_and_checks_its_arguments()
    {
        var rows = new double[,] { { 1, 2 }, { 3, 4 }, { 5, 6 } };

        var bg = Background.KMeans(rows, 3);

        Assert.Equal(3, bg.Count);
        Assert.Equal([3.0, 4.0], bg.Row(1));
        Assert.Equal([1 / 3.0, 1 / 3.0, 1 / 3.0], bg.Weights);
        Assert.Equal(NoRows, Assert.Throws<UsageException>(() => Background.KMeans(new double[0, 2], 1)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => Background.KMeans(rows, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => Background.KMeans(rows, 2, iterations: 0));
    }
}
