namespace Forge.Cli.Tests;

/// <summary>forge serve's version options: hot reload, canary, shadow and the upload limit.</summary>
public sealed class ServeVersionsCommandTests(ForgeHomeFixture home) : IClassFixture<ForgeHomeFixture>
{
    [Fact]
    public void Serve_help_teaches_hot_reload_canary_shadow_and_upload()
    {
        var result = Cli.Run("serve", "--help");

        Assert.Equal(0, result.ExitCode);
        foreach (var text in new[] { "--watch-interval", "--canary", "NAME:ALIAS=PERCENT", "--shadow", "--upload-limit", "POST /v1/models ", "PUT  /v1/models/NAME/aliases/ALIAS" })
            Assert.Contains(text, result.Out, StringComparison.Ordinal);
    }

    [Fact]
    public void Bad_canary_shadow_and_watch_options_fail_in_one_line_naming_the_option()
    {
        Assert.NotNull(home.Home);
        var canary = Cli.Run("serve", "--models", "sentiment", "--canary", "sentiment:challenger", "--port", "0");
        Assert.Equal(2, canary.ExitCode);
        Assert.Contains("--canary 'sentiment:challenger'", Assert.Single(canary.ErrLines), StringComparison.Ordinal);

        var shadow = Cli.Run("serve", "--models", "sentiment", "--shadow", "sentiment", "--port", "0");
        Assert.Equal(2, shadow.ExitCode);
        Assert.Contains("--shadow 'sentiment'", Assert.Single(shadow.ErrLines), StringComparison.Ordinal);

        var watch = Cli.Run("serve", "--models", "sentiment", "--watch-interval", "-1", "--port", "0");
        Assert.Equal(2, watch.ExitCode);
        Assert.Contains("--watch-interval", Assert.Single(watch.ErrLines), StringComparison.Ordinal);

        var notRegistry = Cli.Run("serve", "--model", "/nonexistent/bundle", "--canary", "digits:challenger=10", "--port", "0");
        Assert.Equal(2, notRegistry.ExitCode);
        Assert.Contains("no model is served from the registry as 'digits'", Assert.Single(notRegistry.ErrLines), StringComparison.Ordinal);
    }
}
