namespace Forge.Core.Tests;

public sealed class OptionsMapTests
{
    private enum Kind { AdamW, OneCycle }

    private sealed record Inner
    {
        public double MinArea { get; init; } = 0.35;

        public bool Flip { get; init; } = true;
    }

    private sealed record Options
    {
        public int Epochs { get; init; } = 8;

        public double LearningRate { get; init; } = 6e-3;

        public float Scale { get; init; } = 0.1f;

        public long Steps { get; init; } = 10_000_000_000;

        public Kind Optimizer { get; init; } = Kind.AdamW;

        public bool Augment { get; init; }

        public string? Folder { get; init; }

        public string Name { get; init; } = "x,y";

        public int[] Hidden { get; init; } = [512, 256];

        public Inner Augmentation { get; init; } = new();

        public Inner? Absent { get; init; }

        public string this[int i] => "indexers are not options";
    }

    private sealed record Level
    {
        public int Value { get; init; }

        public Level? Next { get; init; }
    }

    private readonly record struct Size(int Width, int Height);

    /// <summary>A value whose ToString gives nothing (it is declared as string?).</summary>
    private readonly struct Blank
    {
        public override string? ToString() => null;
    }

    private static Level Chain(int nested) => new() { Value = nested, Next = nested == 0 ? null : Chain(nested - 1) };

    [Fact]
    public void Every_public_property_is_written_culture_free_and_nested_records_are_flattened()
    {
        var map = OptionsMap.From(new Options());

        Assert.Equal(new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            ["absent"] = "none",
            ["augment"] = "false",
            ["augmentation.flip"] = "true",
            ["augmentation.minArea"] = "0.35",
            ["epochs"] = "8",
            ["folder"] = "none",
            ["hidden"] = "512,256",
            ["learningRate"] = "0.006",
            ["name"] = "x,y",
            ["optimizer"] = "adamw",
            ["scale"] = "0.1",
            ["steps"] = "10000000000",
        }, map);
    }

    [Fact]
    public void Values_round_trip()
    {
        Assert.Equal("0.1", OptionsMap.Text(0.1));
        Assert.Equal("0.30000000000000004", OptionsMap.Text(0.1 + 0.2));
        Assert.Equal("onecycle", OptionsMap.Text(Kind.OneCycle));
        Assert.Equal("", OptionsMap.Text(Array.Empty<int>()));
        Assert.Equal("learningRate", OptionsMap.Key("LearningRate"));
        Assert.Throws<ArgumentNullException>(() => OptionsMap.From(null!));
    }

    [Fact]
    public void Keys_are_camel_case_and_need_a_name()
    {
        Assert.Equal("x", OptionsMap.Key("X"));
        Assert.Equal("lr", OptionsMap.Key("lr"));
        Assert.Throws<ArgumentException>(() => OptionsMap.Key(""));
        Assert.Throws<ArgumentNullException>(() => OptionsMap.Key(null!));
    }

    [Fact]
    public void Values_of_no_known_kind_are_written_as_their_text()
    {
        Assert.Equal("Size { Width = 2, Height = 3 }", OptionsMap.Text(new Size(2, 3)));
        Assert.Equal("", OptionsMap.Text(new Blank()));
    }

    [Fact]
    public void Options_nest_four_levels_deep_and_no_deeper()
    {
        var map = OptionsMap.From(Chain(4));

        Assert.Equal("4", map["value"]);
        Assert.Equal("0", map["next.next.next.next.value"]);
        Assert.Equal("none", map["next.next.next.next.next"]);
        Assert.Equal(6, map.Count);
        // A record that reaches itself would otherwise recurse until the stack overflows.
        Assert.Equal("options nest deeper than 4 levels at 'next.next.next.next.next.'",
            Assert.Throws<InvalidOperationException>(() => OptionsMap.From(Chain(5))).Message);
    }
}
