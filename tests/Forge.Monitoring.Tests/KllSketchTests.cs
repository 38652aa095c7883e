namespace Forge.Monitoring.Tests;

/// <summary>
/// The KLL sketch's compactions traced by hand at k = 8, where the capacities are small enough to follow: level h of
/// L levels holds at most max(2, ⌈8·(2/3)^(L-1-h)⌉) items, and the default seed's xorshift coin gives 1, 0, 0, …
/// </summary>
public sealed class KllSketchTests
{
    // The default seed after one, two and three xorshift64 steps (13, 7, 17).
    private const ulong SeedAfterOneFlip = 0xDC1B77AE0BF34DADUL;
    private const ulong SeedAfterThreeFlips = 0x7B07CE91E5906136UL;

    private static void AssertLevels(double[][] expected, QuantileSketch record)
    {
        Assert.Equal(expected.Length, record.Levels.Count);
        for (var h = 0; h < expected.Length; h++) Assert.Equal(expected[h], record.Levels[h]);
    }

    [Fact]
    public void Filling_level_0_to_k_promotes_every_other_sorted_item_by_the_coin()
    {
        var sketch = new KllSketch(8);
        for (var x = 6; x >= 0; x--) sketch.Add(x);
        // Seven items stay below the capacity of 8: nothing compacts yet.
        AssertLevels([[6, 5, 4, 3, 2, 1, 0]], sketch.ToRecord());

        sketch.Add(7);

        var record = sketch.ToRecord();
        // The first coin is 1: the odd positions of 0..7 go up, each now standing for two values.
        AssertLevels([[], [1, 3, 5, 7]], record);
        Assert.Equal(8, record.N);
        Assert.Equal(8, record.K);
        Assert.Equal(SeedAfterOneFlip, record.Seed);
        Assert.Equal(4, sketch.RetainedItems);
        Assert.Equal(3, sketch.Quantile(0.5));
        Assert.Equal(1, sketch.Quantile(0));
        Assert.Equal(7, sketch.Quantile(1));
        Assert.Equal(0.5, sketch.Rank(3));
        Assert.Equal(0.25, sketch.Rank(2.9));
        Assert.Equal(0, sketch.Rank(0.5));
        Assert.Equal(1, sketch.Rank(7));
    }

    [Fact]
    public void Later_compactions_shrink_the_lower_levels_and_keep_an_odd_item_behind()
    {
        var sketch = new KllSketch(8);
        for (var x = 7; x >= 0; x--) sketch.Add(x);
        // With two levels the capacities are 6 and 8 (total 14): ten more items fill level 0 before it compacts.
        for (var x = 8; x <= 16; x++) sketch.Add(x);
        Assert.Equal(13, sketch.RetainedItems);
        sketch.Add(17);
        // Coin 0: the even positions of 8..17 go up.
        AssertLevels([[], [1, 3, 5, 7, 8, 10, 12, 14, 16]], sketch.ToRecord());
        Assert.Equal(9, sketch.RetainedItems);

        // Level 0 stays under its capacity of 6, so the full level 1 (nine items) compacts: its smallest item stays,
        // the other eight pair up, and coin 0 promotes the first of each pair.
        for (var x = 18; x <= 22; x++) sketch.Add(x);

        var record = sketch.ToRecord();
        AssertLevels([[18, 19, 20, 21, 22], [1], [3, 7, 10, 14]], record);
        Assert.Equal(23, record.N);
        Assert.Equal(SeedAfterThreeFlips, record.Seed);
        Assert.Equal(10, sketch.RetainedItems);
        // Weights 1 (×2), 3, 7, 10, 14 (×4), 18..22 (×1): the 11.5th of 23 is reached at 10.
        Assert.Equal(10, sketch.Quantile(0.5));
        Assert.Equal(14.0 / 23, sketch.Rank(10), 15);
        Assert.Equal(22, sketch.Quantile(1));
    }

    [Fact]
    public void Merging_adds_the_levels_and_compacts_with_the_receivers_coin()
    {
        var a = new KllSketch(8);
        var b = new KllSketch(8);
        for (var x = 0; x < 5; x++) a.Add(x);
        for (var x = 10; x < 15; x++) b.Add(x);

        a.Merge(b);

        var record = a.ToRecord();
        AssertLevels([[], [1, 3, 10, 12, 14]], record);
        Assert.Equal(10, record.N);
        Assert.Equal(SeedAfterOneFlip, record.Seed);
        Assert.Equal(5, a.RetainedItems);
        // The merged-in sketch is left as it was.
        AssertLevels([[10, 11, 12, 13, 14]], b.ToRecord());
    }

    [Fact]
    public void Reaching_the_capacity_exactly_compacts_whether_by_merge_or_by_a_sorted_build()
    {
        var a = new KllSketch(8);
        var b = new KllSketch(8);
        for (var x = 0; x < 4; x++) a.Add(x);
        for (var x = 4; x < 8; x++) b.Add(x);

        a.Merge(b);

        AssertLevels([[], [1, 3, 5, 7]], a.ToRecord());
        // k sorted values are added one by one, so the k-th compacts just as it does when added.
        var sorted = KllSketch.FromSorted(Enumerable.Range(0, 8).Select(i => (double)i).ToArray(), 8);
        Assert.Equal(a.ToRecord(), sorted.ToRecord());
    }

    [Fact]
    public void Merging_a_deeper_sketch_takes_over_its_upper_levels()
    {
        var deep = new KllSketch(8);
        for (var x = 0; x < 8; x++) deep.Add(x);
        var shallow = new KllSketch(8);
        shallow.Add(100);

        shallow.Merge(deep);

        var record = shallow.ToRecord();
        AssertLevels([[100], [1, 3, 5, 7]], record);
        Assert.Equal(9, record.N);
        Assert.Equal(5, shallow.RetainedItems);
        Assert.Equal(1, shallow.Rank(100));
        Assert.Equal(8.0 / 9, shallow.Rank(99), 15);
    }

    [Fact]
    public void A_sorted_build_keeps_the_middle_of_each_block_and_splits_the_tail_by_its_binary_digits()
    {
        var values = Enumerable.Range(0, 23).Select(i => (double)i).ToArray();

        var sketch = KllSketch.FromSorted(values, 8);

        // 23 values at k = 8: blocks of 4 (23 >> 2 = 5 ≤ 8), five of them; the tail of 3 = 2 + 1 is one block of 2
        // and one of 1.
        var record = sketch.ToRecord();
        AssertLevels([[22], [20], [1, 5, 9, 13, 17]], record);
        Assert.Equal(23, record.N);
        Assert.Equal(7, sketch.RetainedItems);
        Assert.Equal(9, sketch.Quantile(0.5));
        Assert.Equal(12.0 / 23, sketch.Rank(9), 15);

        // An exact multiple of the block leaves no tail.
        AssertLevels([[], [], [1, 5, 9, 13, 17]], KllSketch.FromSorted(values.AsSpan(0, 20), 8).ToRecord());
        // Up to k values are simply added.
        AssertLevels([[0, 1, 2]], KllSketch.FromSorted(values.AsSpan(0, 3), 8).ToRecord());
    }

    [Fact]
    public void A_sorted_build_keeps_compacting_like_an_added_one()
    {
        // 17 values at k = 8: 17 >> 1 = 8 blocks of 2, each kept by its lower value, and a tail of one.
        var sketch = KllSketch.FromSorted(Enumerable.Range(0, 17).Select(i => (double)i).ToArray(), 8);
        AssertLevels([[16], [0, 2, 4, 6, 8, 10, 12, 14]], sketch.ToRecord());

        // Two levels: capacities 6 and 8, total 14; the fifth added item triggers a compaction of level 0.
        for (var x = 100; x < 104; x++) sketch.Add(x);
        Assert.Equal(13, sketch.RetainedItems);
        sketch.Add(104);

        var record = sketch.ToRecord();
        Assert.Equal(22, record.N);
        // Level 0 held 16 and 100..104 (six items, even): coin 1 promotes positions 1, 3 and 5.
        AssertLevels([[], [0, 2, 4, 6, 8, 10, 12, 14, 100, 102, 104]], record);
        Assert.Equal(11, sketch.RetainedItems);
    }

    [Fact]
    public void Deep_levels_keep_a_capacity_of_at_least_two()
    {
        // 1000 values at k = 8: seven blocks of 128 on level 7 and a tail of 104 = 64 + 32 + 8.
        var sketch = KllSketch.FromSorted(Enumerable.Range(0, 1000).Select(i => (double)i).ToArray(), 8);
        AssertLevels([[], [], [], [995], [], [975], [927], [63, 191, 319, 447, 575, 703, 831]], sketch.ToRecord());

        // Capacities from level 7 down: 8, 6, 4, 3, 2, 2, and 2 where 8·(2/3)^6 and 8·(2/3)^7 round up to only 1: 29 in all.
        for (var x = 2000; x < 2018; x++) sketch.Add(x);
        Assert.Equal(28, sketch.RetainedItems);
        sketch.Add(2018);

        // Nineteen items on level 0: the smallest stays, coin 1 promotes every second of the rest.
        var record = sketch.ToRecord();
        Assert.Equal([2000.0], record.Levels[0]);
        Assert.Equal([2002.0, 2004, 2006, 2008, 2010, 2012, 2014, 2016, 2018], record.Levels[1]);
        Assert.Equal(20, sketch.RetainedItems);
        Assert.Equal(1019, record.N);
    }

    [Fact]
    public void A_record_round_trips_and_equality_compares_every_item()
    {
        var sketch = new KllSketch(8);
        for (var x = 0; x < 11; x++) sketch.Add(x * 0.5);
        var record = sketch.ToRecord();

        var back = KllSketch.FromRecord(record);

        Assert.Equal(record, back.ToRecord());
        Assert.Equal(record.GetHashCode(), back.ToRecord().GetHashCode());
        Assert.Equal(sketch.Quantile(0.3), back.Quantile(0.3));
        Assert.Equal(sketch.RetainedItems, back.RetainedItems);
        Assert.Equal(11, back.N);
        Assert.Equal(8, back.K);

        var changed = record.Levels.Select(l => l.ToArray()).ToArray();
        changed[^1][0] += 1;
        Assert.NotEqual(record, record with { Levels = changed });
        Assert.NotEqual(record, record with { Levels = [.. record.Levels, []] });
        Assert.NotEqual(record, record with { K = 9 });
        Assert.NotEqual(record, record with { Seed = 1 });
        Assert.False(record.Equals(null));

        // A reloaded sketch goes on compacting exactly as the original would.
        for (var x = 11; x < 40; x++)
        {
            sketch.Add(x);
            back.Add(x);
        }
        Assert.Equal(sketch.ToRecord(), back.ToRecord());
    }

    [Fact]
    public void An_empty_record_loads_as_an_empty_sketch_that_still_accepts_values()
    {
        var empty = KllSketch.FromRecord(new QuantileSketch { K = 8, N = 0, Levels = [] });

        Assert.Equal(0, empty.N);
        Assert.Equal(0, empty.RetainedItems);
        empty.Add(3);
        AssertLevels([[3]], empty.ToRecord());
        Assert.Equal(3, empty.Quantile(0.5));
    }

    [Fact]
    public void A_record_whose_weight_does_not_match_its_count_is_refused_with_both_numbers()
    {
        var record = new QuantileSketch { K = 8, N = 7, Levels = [[1.0], [2.0, 3.0]] };

        var e = Assert.Throws<FormatException>(() => KllSketch.FromRecord(record));

        Assert.Equal("a quantile sketch claims 7 values but its levels hold weight 5", e.Message);
        Assert.Equal(5, KllSketch.FromRecord(record with { N = 5 }).N);
        Assert.Equal("cannot merge a k=16 sketch into a k=8 one",
            Assert.Throws<InvalidOperationException>(() => new KllSketch(8).Merge(new KllSketch(16))).Message);
        Assert.Equal(8, new KllSketch(8).K);
        Assert.StartsWith("a KLL sketch needs k >= 8", Assert.Throws<ArgumentOutOfRangeException>(() => new KllSketch(7)).Message);
    }

    [Fact]
    public void A_zero_seed_is_replaced_by_the_default_so_the_coin_never_sticks()
    {
        var zero = new KllSketch(8, seed: 0);
        var standard = new KllSketch(8);
        for (var x = 0; x < 8; x++)
        {
            zero.Add(x);
            standard.Add(x);
        }

        Assert.Equal(standard.ToRecord(), zero.ToRecord());
    }
}
