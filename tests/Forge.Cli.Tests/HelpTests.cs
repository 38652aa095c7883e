namespace Forge.Cli.Tests;

public sealed class HelpTests
{
    [Fact]
    public void Root_help_lists_the_verbs()
    {
        var result = Cli.Run("--help");

        Assert.Equal(0, result.ExitCode);
        foreach (var verb in new[] { "train", "evaluate", "predict", "datasets", "quickstart", "runs", "models" })
            Assert.Contains(verb, result.Out, StringComparison.Ordinal);
        Assert.Contains("--json", result.Out, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--epochs", "x", "expected a whole number")]
    [InlineData("--lr", "fast", "expected a number")]
    public void A_value_of_the_wrong_type_is_one_plain_line(string option, string value, string expected)
    {
        var result = Cli.Run("train", "mnist", option, value, "--out", Path.Combine(Path.GetTempPath(), "forge-never-written"));

        Assert.Equal(2, result.ExitCode);
        var line = Assert.Single(result.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains(expected, line, StringComparison.Ordinal);
        Assert.DoesNotContain("System.", line, StringComparison.Ordinal);
        Assert.Equal("", result.Out);
    }

    [Fact]
    public void Train_help_describes_its_options()
    {
        var result = Cli.Run("train", "--help");

        Assert.Equal(0, result.ExitCode);
        foreach (var option in new[] { "--model", "--out", "--epochs", "--limit", "--threads", "--seed", "--checkpoint-dir", "--resume", "--data-dir", "--overwrite" })
            Assert.Contains(option, result.Out, StringComparison.Ordinal);
        foreach (var option in new[] { "--experiment", "--run-name", "--no-track", "--tracking" })
            Assert.Contains(option, result.Out, StringComparison.Ordinal);
        Assert.Contains("reference-cnn", result.Out, StringComparison.Ordinal);
        Assert.Contains("Continue an interrupted run", result.Out, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("runs", "list", "--filter")]
    [InlineData("runs", "show", "forge runs show")]
    [InlineData("runs", "compare", "forge runs compare")]
    [InlineData("runs", "delete", "forge runs restore")]
    [InlineData("models", "register", "--name")]
    [InlineData("models", "alias", "champion")]
    [InlineData("models", "export", "NAME@ALIAS")]
    public void Runs_and_models_help_teaches_with_examples(string verb, string sub, string expected)
    {
        var result = Cli.Run(verb, sub, "--help");

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("Example", result.Out, StringComparison.Ordinal);
        Assert.Contains(expected, result.Out, StringComparison.Ordinal);
        Assert.Contains("--tracking", result.Out, StringComparison.Ordinal);
    }

    [Fact]
    public void A_bad_nested_command_line_names_the_whole_verb()
    {
        var result = Cli.Run("runs", "list", "--maks", "3");

        Assert.Equal(2, result.ExitCode);
        Cli.AssertFailed(result, "--maks", "forge runs list --help");
    }

    [Theory]
    [InlineData(new[] { "trian", "mnist" }, "did you mean 'train'?")]
    [InlineData(new[] { "runs", "lst" }, "did you mean 'list'?")]
    [InlineData(new[] { "train", "mnist", "--out", "x", "--epoch", "2" }, "did you mean '--epochs'?")]
    [InlineData(new[] { "runs", "list", "--maks", "3" }, "did you mean '--max'?")]
    [InlineData(new[] { "train", "mnist", "--out", "x", "--jsn" }, "did you mean '--json'?")]
    public void A_mistyped_verb_or_option_gets_the_closest_one(string[] args, string suggestion)
    {
        var result = Cli.Run(args);

        Assert.Equal(2, result.ExitCode);
        Cli.AssertFailed(result, suggestion);
    }

    [Fact]
    public void Nothing_close_gets_no_guess()
    {
        var result = Cli.Run("train", "mnist", "--out", "x", "--zzzzzzzz");

        Assert.Equal(2, result.ExitCode);
        Assert.DoesNotContain("did you mean", result.Err, StringComparison.Ordinal);
    }

    [Fact]
    public void A_bad_command_line_is_one_error_line_and_exit_2()
    {
        var unknownOption = Cli.Run("train", "mnist", "--out", "x", "--epochz", "2");
        var missingOut = Cli.Run("train", "mnist");

        Assert.Equal(2, unknownOption.ExitCode);
        Cli.AssertFailed(unknownOption, "--epochz", "forge train --help");
        Assert.Equal(2, missingOut.ExitCode);
        Cli.AssertFailed(missingOut, "--out");
    }
}
