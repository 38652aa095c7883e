using System.Net;
using System.Text.Json.Nodes;
using Forge.Serving;
using Forge.Tests.Shared;
using Microsoft.AspNetCore.Builder;

namespace Forge.Cli.Tests;

public sealed class ServeCommandTests(ForgeHomeFixture home, TrainedBundleFixture trained)
    : IClassFixture<ForgeHomeFixture>, IClassFixture<TrainedBundleFixture>
{
    [Fact]
    public void Serve_help_teaches_the_endpoints_options_and_api_key()
    {
        var result = Cli.Run("serve", "--help");

        Assert.Equal(0, result.ExitCode);
        foreach (var text in new[] { "--model", "--models", "--host", "--port", "--max-batch-size", "--max-delay-ms", "/v2/models/NAME/infer", "FORGE_API_KEY", "Examples:", "NAME@ALIAS" })
            Assert.Contains(text, result.Out, StringComparison.Ordinal);
    }

    [Fact]
    public void Serve_without_models_or_with_a_missing_bundle_fails_in_one_line()
    {
        Assert.NotNull(home.Home);
        var none = Cli.Run("serve", "--port", "0");
        Assert.Equal(2, none.ExitCode);
        Assert.Contains("nothing to serve", Assert.Single(none.ErrLines), StringComparison.Ordinal);

        var missing = Cli.Run("serve", "--model", "/nonexistent/bundle", "--port", "0");
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("/nonexistent/bundle", Assert.Single(missing.ErrLines), StringComparison.Ordinal);
    }

    [SharedDataFact]
    public async Task Serve_answers_predictions_on_the_port_it_prints_and_stops_cleanly()
    {
        Assert.Equal(0, trained.Train.ExitCode);
        WebApplication? app = null;
        using var started = new ManualResetEventSlim();
        ServeCommand.Started = a =>
        {
            app = a;
            started.Set();
        };
        try
        {
            var run = Task.Run(() => Cli.Run("serve", "--model", $"digits={trained.BundleDirectory}", "--port", "0", "--max-batch-size", "8", "--json"));
            Assert.True(started.Wait(TimeSpan.FromSeconds(60)) || run.IsCompleted, "the server never became ready");
            Assert.NotNull(app);
            var address = ForgeServer.Addresses(app!).Single();
            using var client = new HttpClient { BaseAddress = new Uri(address) };
            var row = "[" + string.Join(",", Enumerable.Repeat("0.0", 784)) + "]";

            var response = await client.PostAsync("/v1/models/digits/predict", new StringContent(row));
            var details = JsonNode.Parse(await client.GetStringAsync("/v1/models/digits"))!;

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(8, (int)details["versions"]![0]!["batching"]!["maxBatchSize"]!);
            await app!.StopAsync();
            var result = await run;
            Assert.Equal(0, result.ExitCode);
            var json = result.Json();
            Assert.Equal(address, json.GetProperty("addresses")[0].GetString());
            Assert.Equal("digits", json.GetProperty("models")[0].GetProperty("name").GetString());
            Assert.Contains(address, result.Err, StringComparison.Ordinal);
        }
        finally
        {
            ServeCommand.Started = null;
            if (app is not null) await app.StopAsync();
        }
    }
}
