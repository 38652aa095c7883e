namespace Forge.Core.Tests;

public sealed class ModelNamesTests
{
    [Theory]
    [InlineData("mnist", null)]
    [InlineData("sentiment-v2.1_final", null)]
    [InlineData("..", "must start with a letter or digit")]
    [InlineData("a/../b", "may hold only letters, digits, '-', '_' and '.'")]
    [InlineData("a..b", "must not contain '..'")]
    [InlineData("", "the model name is empty")]
    [InlineData(null, "the model name is empty")]
    [InlineData("name with space", "may hold only")]
    [InlineData("sentiment+airline-tweets-minilm-logreg", "may hold only")]
    [InlineData("-leading", "must start with a letter or digit")]
    public void Model_names_are_safe_in_urls_labels_and_paths(string? name, string? problem)
    {
        var actual = ModelNames.Problem(name);
        if (problem is null) Assert.Null(actual);
        else Assert.Contains(problem, actual, StringComparison.Ordinal);
    }

    [Fact]
    public void The_length_limit_is_128_characters()
    {
        Assert.Null(ModelNames.Problem(new string('a', 128)));
        Assert.Equal("the model name is longer than 128 characters", ModelNames.Problem(new string('a', 129)));
    }

    [Fact]
    public void A_long_bad_name_is_shortened_in_the_message()
    {
        var problem = ModelNames.Problem(new string('a', 50) + " b");
        Assert.Equal($"model name '{new string('a', 40)}…' may hold only letters, digits, '-', '_' and '.'", problem);
    }

    [Fact]
    public void A_bad_name_of_forty_characters_is_shown_whole()
    {
        var name = new string('a', 39) + " ";
        Assert.Equal($"model name '{name}' may hold only letters, digits, '-', '_' and '.'", ModelNames.Problem(name));
        Assert.Equal($"model name '{name[..40]}…' may hold only letters, digits, '-', '_' and '.'", ModelNames.Problem(name + "b"));
    }

    [Fact]
    public void Versions_follow_the_same_rule_under_their_own_word()
    {
        Assert.Null(ModelNames.VersionProblem("3"));
        Assert.Equal("version 'a b' may hold only letters, digits, '-', '_' and '.'", ModelNames.VersionProblem("a b"));
    }

    [Fact]
    public void Generated_names_join_their_parts_with_a_dash_and_validation_throws_the_problem()
    {
        Assert.Equal("sentiment-airline-tweets-minilm-logreg", ModelNames.Join("sentiment", "airline-tweets", "minilm-logreg"));
        Assert.Equal("model name 'a b' may hold only letters, digits, '-', '_' and '.'", Assert.Throws<UsageException>(() => ModelNames.Validate("a b")).Message);
        ModelNames.Validate("fine");
    }

    [Fact]
    public void A_bundle_is_not_written_under_a_name_the_server_would_refuse()
    {
        using var temp = new TempDirectory();
        var target = Path.Combine(temp.Path, "b");
        using (var writer = ModelBundle.Create(target))
        {
            File.WriteAllText(writer.PathFor("weights/w.bin"), "w");
            var e = Assert.Throws<UsageException>(() => writer.Commit(new ModelManifest { Name = "a+b", Flavor = "onnx" }));
            Assert.Contains("may hold only", e.Message, StringComparison.Ordinal);
        }
        Assert.False(Directory.Exists(target));
    }
}
