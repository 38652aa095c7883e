namespace Forge.Core.Tests;

public sealed class NameSuggesterTests
{
    private static readonly string[] Datasets = ["mnist", "fashion-mnist", "cifar10", "imdb"];

    [Theory]
    [InlineData("mnsit", "mnist")]
    [InlineData("MNIST", "mnist")]
    [InlineData("cifar1O", "cifar10")]
    [InlineData("fashion", "fashion-mnist")]
    // Two edits are allowed up to 8 letters, a third of the word beyond.
    [InlineData("msit", "mnist")]
    [InlineData("fashonmnst", "fashion-mnist")]
    public void Suggests_the_closest_name(string typed, string expected) =>
        Assert.Equal(expected, NameSuggester.Closest(typed, Datasets));

    [Theory]
    [InlineData("penguins")]
    [InlineData("x")]
    public void Suggests_nothing_when_nothing_is_close(string typed) =>
        Assert.Null(NameSuggester.Closest(typed, Datasets));

    [Fact]
    public void Ties_go_to_the_candidate_listed_first()
    {
        Assert.Equal("bat", NameSuggester.Closest("cat", ["bat", "hat"]));
        Assert.Equal("hat", NameSuggester.Closest("cat", ["hat", "bat"]));
    }

    [Fact]
    public void A_truncated_name_suggests_the_shortest_name_it_starts()
    {
        Assert.Equal("fashion-mnist", NameSuggester.Closest("fash", ["fashion-mnist-large", "fashion-mnist", "fashion-mnist-small"]));
    }

    [Fact]
    public void Missing_arguments_are_refused_by_name()
    {
        Assert.Equal("input", Assert.Throws<ArgumentNullException>(() => NameSuggester.Closest(null!, Datasets)).ParamName);
        Assert.Equal("candidates", Assert.Throws<ArgumentNullException>(() => NameSuggester.Closest("mnist", null!)).ParamName);
    }

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
    [InlineData("abc", "", 3)]
    public void Distance_counts_edits_with_adjacent_swaps_as_one(string a, string b, int expected) =>
        Assert.Equal(expected, NameSuggester.Distance(a, b));

    [Fact]
    public void Not_found_error_carries_the_suggestion()
    {
        var ex = new NotFoundException("dataset", "mnsit", Datasets);

        Assert.Equal("mnist", ex.Suggestion);
        Assert.Equal("unknown dataset 'mnsit'; did you mean 'mnist'?", ex.Message);
    }

    [Fact]
    public void Not_found_error_lists_up_to_twelve_known_names_when_none_is_close()
    {
        string[] twelve = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliett", "kilo", "lima"];

        var one = new NotFoundException("model", "zzz", ["alpha"]);
        var many = new NotFoundException("model", "zzz", twelve);

        Assert.Null(one.Suggestion);
        Assert.Equal("unknown model 'zzz' (known: alpha)", one.Message);
        Assert.Equal("unknown model 'zzz' (known: alpha, bravo, charlie, delta, echo, foxtrot, golf, hotel, india, juliett, kilo, lima)", many.Message);
        Assert.Equal(("model", "zzz"), (many.Kind, many.Name));
    }

    [Fact]
    public void Not_found_error_lists_nothing_when_nothing_or_too_much_is_known()
    {
        string[] thirteen = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliett", "kilo", "lima", "mike"];

        Assert.Equal("unknown run 'zzz'", new NotFoundException("run", "zzz", []).Message);
        Assert.Equal("unknown run 'zzz'", new NotFoundException("run", "zzz", thirteen).Message);
        Assert.Equal("candidates", Assert.Throws<ArgumentNullException>(() => new NotFoundException("run", "zzz", null!)).ParamName);
    }
}
