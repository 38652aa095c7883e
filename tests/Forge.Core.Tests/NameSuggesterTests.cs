namespace Forge.Core.Tests;

public sealed class NameSuggesterTests
{
    private static readonly string[] Datasets = ["mnist", "fashion-mnist", "cifar10", "imdb"];

    [Theory]
    [InlineData("mnsit", "mnist")]
    [InlineData("MNIST", "mnist")]
    [InlineData("cifar1O", "cifar10")]
    [InlineData("fashion", "fashion-mnist")]
    public void Suggests_the_closest_name(string typed, string expected) =>
        Assert.Equal(expected, NameSuggester.Closest(typed, Datasets));

    [Theory]
    [InlineData("penguins")]
    [InlineData("x")]
    public void Suggests_nothing_when_nothing_is_close(string typed) =>
        Assert.Null(NameSuggester.Closest(typed, Datasets));

    [Fact]
    public void Suggests_nothing_for_an_empty_name() => Assert.Null(NameSuggester.Closest("", ["a-long-name"]));

    [Fact]
    public void Reads_a_one_shot_sequence_of_candidates_once()
    {
        static IEnumerable<string> OneShot()
        {
            yield return "cifar100";
            yield return "cifar10-extended";
        }

        Assert.Equal("cifar10-extended", NameSuggester.Closest("cifar10-ext", OneShot()));
    }

    [Fact]
    public void Suggests_nothing_without_candidates() => Assert.Null(NameSuggester.Closest("mnist", []));

    [Theory]
    [InlineData("", "", 0)]
    [InlineData("abc", "abc", 0)]
    [InlineData("abc", "acb", 1)]
    [InlineData("kitten", "sitting", 3)]
    [InlineData("", "abc", 3)]
    public void Distance_counts_edits_with_adjacent_swaps_as_one(string a, string b, int expected) =>
        Assert.Equal(expected, NameSuggester.Distance(a, b));

    [Fact]
    public void Not_found_error_carries_the_suggestion()
    {
        var ex = new NotFoundException("dataset", "mnsit", Datasets);

        Assert.Equal("mnist", ex.Suggestion);
        Assert.Equal("unknown dataset 'mnsit'; did you mean 'mnist'?", ex.Message);
    }
}
