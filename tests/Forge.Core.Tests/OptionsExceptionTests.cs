namespace Forge.Core.Tests;

public sealed class OptionsExceptionTests
{
    [Fact]
    public void Problems_name_options_as_the_library_does_and_a_front_end_can_rename_every_mention()
    {
        var problems = new[]
        {
            new OptionProblem("learningRate", "must be positive (got -1)"),
            new OptionProblem("schedule", "plateau needs a validation split ({validationFraction} > 0)"),
        };

        var e = new OptionsException(problems);
        var renamed = e.Renamed(o => o switch { "learningRate" => "--lr", _ => "--" + o });

        Assert.Equal("learningRate: must be positive (got -1); schedule: plateau needs a validation split (validationFraction > 0)", e.Message);
        Assert.Equal("--lr: must be positive (got -1); --schedule: plateau needs a validation split (--validationFraction > 0)", renamed.Message);
        Assert.IsType<UsageException>(renamed);
        Assert.Same(problems, e.Problems);
    }

    [Fact]
    public void Nothing_is_thrown_without_problems_and_an_empty_error_is_refused()
    {
        OptionsException.ThrowIfAny([]);
        Assert.Equal("x: bad", Assert.Throws<OptionsException>(() => OptionsException.ThrowIfAny([new OptionProblem("x", "bad")])).Message);
        var empty = Assert.Throws<ArgumentException>(() => new OptionsException([]));
        Assert.Equal("an options error needs a problem (Parameter 'problems')", empty.Message);
        Assert.Throws<ArgumentNullException>(() => new OptionsException(null!));
        Assert.Equal("problems", Assert.Throws<ArgumentNullException>(() => OptionsException.ThrowIfAny(null!)).ParamName);
    }

    [Fact]
    public void Renaming_needs_a_rename_function()
    {
        var problem = new OptionProblem("epochs", "must be at least {minEpochs}");
        var e = new OptionsException([problem]);

        Assert.Equal("rename", Assert.Throws<ArgumentNullException>(() => problem.Render(null!)).ParamName);
        Assert.Equal("rename", Assert.Throws<ArgumentNullException>(() => e.Renamed(null!)).ParamName);
        Assert.Equal("EPOCHS: must be at least MINEPOCHS", problem.Render(o => o.ToUpperInvariant()));
    }

    [Fact]
    public void A_bundle_output_is_checked_before_any_work()
    {
        var dir = Directory.CreateTempSubdirectory("forge-output-");
        try
        {
            var file = Path.Combine(dir.FullName, "f");
            File.WriteAllText(file, "x");
            Assert.Equal(["outputDirectory: is required: the bundle directory to write"], BundleOutput.FindProblems(" ", false).Select(p => p.ToString()));
            Assert.Equal([$"outputDirectory: {file} is a file, not a bundle directory"], BundleOutput.FindProblems(file, true).Select(p => p.ToString()));
            Assert.Equal([$"outputDirectory: {dir.FullName} already exists; choose another or pass overwrite"], BundleOutput.FindProblems(dir.FullName, false).Select(p => p.ToString()));
            Assert.Empty(BundleOutput.FindProblems(dir.FullName, true));
            Assert.Empty(BundleOutput.FindProblems(Path.Combine(dir.FullName, "new"), false));
        }
        finally
        {
            dir.Delete(true);
        }
    }
}
