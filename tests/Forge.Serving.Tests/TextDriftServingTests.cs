using System.Net;
using System.Text.Json.Nodes;
using Forge.Data;
using Forge.Monitoring;
using Forge.Tests.Shared;
using Xunit.Abstractions;

namespace Forge.Serving.Tests;

/// <summary>
/// Live drift of served text models, on real texts: the sentiment fixture's bundles (MiniLM and TF-IDF, trained on UCI
/// sentences with their profiles) served with a small window. More UCI sentences leave the text column undrifted;
/// airline tweets flip it (length, and for MiniLM the embedding distance), and the drift endpoint and gauges say so.
/// </summary>
[Collection(SentimentServerCollection.Name)]
public sealed class TextDriftServingTests(SentimentServerFixture fixture, ITestOutputHelper output)
{
    private const string Folder = SentimentServerFixture.Folder;
    private const string Tweets = "twitter-airline-sentiment";
    private const int Window = 200;

    private async Task<RunningServer> StartAsync() => await RunningServer.StartAsync(new ServerOptions
    {
        Models = [ModelSource.FromBundle(fixture.BundleDirectory), ModelSource.FromBundle(fixture.TfidfDirectory)],
        Drift = new DriftServingOptions { WindowRows = Window, EvaluateEveryRows = 100, MinRows = 100, EvaluateEvery = null },
    });

    private static async Task SendAsync(RunningServer server, string model, IEnumerable<string> texts)
    {
        foreach (var chunk in texts.Chunk(25))
        {
            var (response, body) = await server.PostAsync($"/v1/models/{model}/predict",
                new JsonObject { ["instances"] = new JsonArray([.. chunk.Select(t => (JsonNode)new JsonObject { ["text"] = t })]) });
            Assert.True(response.StatusCode == HttpStatusCode.OK, body?.ToJsonString());
        }
    }

    private static async Task<JsonNode> DriftAsync(RunningServer server, string model)
    {
        var (response, body) = await server.GetAsync($"/v1/models/{model}/drift?refresh=true");
        Assert.True(response.StatusCode == HttpStatusCode.OK, body?.ToJsonString());
        return body!;
    }

    private static JsonNode Column(JsonNode drift, string name) =>
        drift["columns"]!.AsArray().Concat(drift["predictions"]!.AsArray()).Single(c => (string)c!["name"]! == name)!;

    // The numbers docs/monitoring.md quotes, printed with --logger "console;verbosity=detailed".
    private void Print(string what, JsonNode drift)
    {
        foreach (var c in drift["columns"]!.AsArray().Concat(drift["predictions"]!.AsArray()))
            output.WriteLine($"{what} {drift["model"]}: {c!["name"]} {c["test"]} statistic={(double)c["statistic"]!:G4} p={c["pValue"]?.ToJsonString() ?? "-"} drifted={c["drifted"]}");
    }

    [SharedDataFact(Folder, Tweets)]
    public async Task Tweets_served_to_models_trained_on_sentences_drift_on_the_text_column_and_sentences_do_not()
    {
        _ = fixture.Server;
        var uci = TextDatasets.LoadSentiment(SharedData.Dir(Folder)).Texts.Where((_, i) => i % 15 == 7).Take(Window).ToArray();
        var tweets = TextDatasets.LoadAirlineTweets(SharedData.Dir(Tweets)).Texts.Where((_, i) => i % 70 == 0).Take(Window).ToArray();
        await using var server = await StartAsync();

        await SendAsync(server, "sentiment", uci);
        await SendAsync(server, "sentiment-tfidf", uci);
        var minilm = await DriftAsync(server, "sentiment");
        Print("UCI sentences", minilm);
        Assert.Equal(["text", "text.length"], minilm["columns"]!.AsArray().Select(c => (string)c!["name"]!).ToArray());
        Assert.Equal("embedding_distance", (string)Column(minilm, "text")["test"]!);
        Assert.Equal("ks", (string)Column(minilm, "text.length")["test"]!);
        Assert.False((bool)minilm["datasetDrift"]!, minilm.ToJsonString());
        Assert.InRange((double)Column(minilm, "text")["statistic"]!, 0, 0.2);
        var tfidf = await DriftAsync(server, "sentiment-tfidf");
        Print("UCI sentences", tfidf);
        Assert.Equal(["text"], tfidf["columns"]!.AsArray().Select(c => (string)c!["name"]!).ToArray());
        Assert.Equal("ks", (string)Column(tfidf, "text")["test"]!);
        Assert.Equal("tested on the text length in characters", (string)Column(tfidf, "text")["note"]!);
        Assert.False((bool)tfidf["datasetDrift"]!, tfidf.ToJsonString());
        Assert.NotNull(Column(tfidf, ModelColumns.PredictionColumn));

        // One window of tweets replaces the sentences.
        await SendAsync(server, "sentiment", tweets);
        await SendAsync(server, "sentiment-tfidf", tweets);
        minilm = await DriftAsync(server, "sentiment");
        Print("airline tweets", minilm);
        Assert.True((bool)minilm["datasetDrift"]!, minilm.ToJsonString());
        Assert.True((bool)Column(minilm, "text")["drifted"]!, minilm.ToJsonString());
        Assert.True((bool)Column(minilm, "text.length")["drifted"]!, minilm.ToJsonString());
        tfidf = await DriftAsync(server, "sentiment-tfidf");
        Print("airline tweets", tfidf);
        Assert.True((bool)tfidf["datasetDrift"]!, tfidf.ToJsonString());
        Assert.True((bool)Column(tfidf, "text")["drifted"]!, tfidf.ToJsonString());
        Assert.True((bool)tfidf["predictionDrift"]!, tfidf.ToJsonString());

        var metrics = await server.Client.GetStringAsync("/metrics");
        Assert.Equal(1, DriftServingTests.Metric(metrics, "forge_feature_drifted{model=\"sentiment\",version=\"1\",feature=\"text\"}"));
        Assert.Equal(1, DriftServingTests.Metric(metrics, "forge_feature_drifted{model=\"sentiment-tfidf\",version=\"1\",feature=\"text\"}"));
        Assert.True(DriftServingTests.Metric(metrics, "forge_feature_drift_score{model=\"sentiment\",version=\"1\",feature=\"text\"}") > 0.2);
        Assert.Equal(1, DriftServingTests.Metric(metrics, "forge_dataset_drift{model=\"sentiment-tfidf\",version=\"1\"}"));
    }
}
