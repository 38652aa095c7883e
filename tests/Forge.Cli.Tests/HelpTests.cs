namespace Forge.Cli.Tests;

public sealed class HelpTests
{
    [Fact]
    public void Root_help_lists_the_verbs()
    {
        var result = Cli.Run("--help");

        Assert.Equal(0, result.ExitCode);
        foreach (var verb in new[] { "train", "evaluate", "predict", "datasets", "quickstart" })
            Assert.Contains(verb, result.Out, StringComparison.Ordinal);
        Assert.Contains("--json", result.Out, StringComparison.Ordinal);
    }

    [Fact]
    public void Train_help_describes_its_options()
    {
        var result = Cli.Run("train", "--help");

        Assert.Equal(0, result.ExitCode);
        foreach (var option in new[] { "--model", "--out", "--epochs", "--limit", "--threads", "--seed", "--checkpoint-dir", "--resume", "--data-dir", "--overwrite" })
            Assert.Contains(option, result.Out, StringComparison.Ordinal);
        Assert.Contains("reference-cnn", result.Out, StringComparison.Ordinal);
        Assert.Contains("Continue an interrupted run", result.Out, StringComparison.Ordinal);
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
