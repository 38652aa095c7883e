namespace Forge.Core.Tests;

/// <summary>Tests that change process-wide environment variables run alone.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class EnvironmentCollection
{
    public const string Name = "environment";
}

[Collection(EnvironmentCollection.Name)]
public sealed class ForgeHomeTests : IDisposable
{
    private readonly string? _savedForgeHome = Environment.GetEnvironmentVariable(ForgeHome.Variable);
    private readonly string? _savedHome = Environment.GetEnvironmentVariable("HOME");

    public void Dispose()
    {
        Environment.SetEnvironmentVariable(ForgeHome.Variable, _savedForgeHome);
        Environment.SetEnvironmentVariable("HOME", _savedHome);
    }

    [Fact]
    public void FORGE_HOME_wins_and_is_made_absolute_on_every_call()
    {
        Environment.SetEnvironmentVariable(ForgeHome.Variable, "/srv/forge");
        Assert.Equal("/srv/forge", ForgeHome.Directory);

        Environment.SetEnvironmentVariable(ForgeHome.Variable, "relative/forge");
        Assert.Equal(Path.Combine(Environment.CurrentDirectory, "relative", "forge"), ForgeHome.Directory);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("  ")]
    public void Without_FORGE_HOME_it_is_dot_forge_in_the_home_folder(string? configured)
    {
        using var home = new TempDirectory();
        Environment.SetEnvironmentVariable(ForgeHome.Variable, configured);
        Environment.SetEnvironmentVariable("HOME", home.Path);

        Assert.Equal(Path.Combine(home.Path, ".forge"), ForgeHome.Directory);
    }

    [Fact]
    public void Without_FORGE_HOME_or_a_home_folder_the_error_says_what_to_set()
    {
        using var temp = new TempDirectory();
        Environment.SetEnvironmentVariable(ForgeHome.Variable, null);
        // A service account's home folder often does not exist.
        Environment.SetEnvironmentVariable("HOME", temp.Combine("gone"));

        var ex = Assert.Throws<ForgeException>(() => ForgeHome.Directory);

        Assert.Equal("cannot find a home folder for Forge's files; set FORGE_HOME", ex.Message);
    }
}
