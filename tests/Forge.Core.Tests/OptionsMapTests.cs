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
}
