using System.Net;
using System.Text.Json.Nodes;
using Forge.Core;
using Forge.Serving;
using Forge.Tests.Shared;
using Forge.Tracking;
using Microsoft.AspNetCore.Builder;

namespace Forge.Cli.Tests;

/// <summary><c>forge ui</c>: the web UI over a store, on the port it prints; bad options fail in one line.</summary>
public sealed class UiCommandTests(ForgeHomeFixture home) : IClassFixture<ForgeHomeFixture>
{
    [Fact]
    public void Ui_help_names_the_store_option_and_the_pages()
    {
        var result = Cli.Run("ui", "--help");
        Assert.Equal(0, result.ExitCode);
        foreach (var text in new[] { "--store", "--port", "--host", "runs", "registry", "studies", "FORGE_API_KEY", "forge serve" })
            Assert.Contains(text, result.Out, StringComparison.Ordinal);
    }

    [Fact]
    public void A_bad_port_fails_in_one_line()
    {
        Assert.NotNull(home.Home);
        var result = Cli.Run("ui", "--port", "70000");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("port 70000", Assert.Single(result.ErrLines), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Ui_serves_the_page_and_the_store_it_was_given()
    {
        using var temp = new TempDir("forge-ui-cli-");
        var db = temp.Combine("forge.db");
        using (var store = TrackingStore.Open(db, new TrackingStoreOptions { ArtifactRoot = temp.Combine("artifacts") }))
        {
            var run = store.CreateRun("exp", "first-run");
            store.SetRunStatus(run.RunId, RunStatus.Finished);
        }
        WebApplication? app = null;
        using var started = new ManualResetEventSlim();
        UiCommand.Started = a =>
        {
            app = a;
            started.Set();
        };
        try
        {
            var run = Task.Run(() => Cli.Run("ui", "--store", db, "--port", "0", "--json"));
            Assert.True(started.Wait(TimeSpan.FromSeconds(60)) || run.IsCompleted, "the UI never started");
            var address = ForgeServer.Addresses(app!).Single();
            using var client = new HttpClient { BaseAddress = new Uri(address) };
            using var page = await client.GetAsync("/");
            Assert.Equal(HttpStatusCode.OK, page.StatusCode);
            Assert.Contains("/ui/app.js", await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            var summary = JsonNode.Parse(await client.GetStringAsync("/api/ui/summary"))!;
            Assert.Equal("ui", summary["mode"]!.GetValue<string>());
            Assert.Equal("first-run", summary["recentRuns"]![0]!["name"]!.GetValue<string>());
            await app!.StopAsync();
            var result = await run;
            Assert.Equal(0, result.ExitCode);
            Assert.Equal(address, result.Json().GetProperty("addresses")[0].GetString());
        }
        finally
        {
            UiCommand.Started = null;
        }
    }
}
