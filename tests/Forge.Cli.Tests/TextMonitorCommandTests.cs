using System.Text;
using System.Text.Json;
using Forge.Core;
using Forge.Data;
using Forge.Monitoring;
using Forge.Tests.Shared;
using Xunit.Abstractions;
using Forge.Text;

namespace Forge.Cli.Tests;

/// <summary>
/// Reference profiles of text bundles, on real sentences: forge train writes one (the text column's length and the
/// prediction distribution), and forge monitor flags airline tweets and much longer texts against a model trained on
/// the UCI sentences, while more UCI sentences pass.
/// </summary>
public sealed class TextMonitorCommandTests(ForgeHomeFixture home, ITestOutputHelper output) : IClassFixture<ForgeHomeFixture>, IDisposable
{
    private readonly TempDir _temp = new("forge-cli-text-monitor-");

    public void Dispose() => _temp.Dispose();

    private string Texts(string name, IEnumerable<string> texts)
    {
        var path = _temp.Combine(name);
        var csv = new StringBuilder("id,text\n");
        var i = 0;
        foreach (var t in texts) csv.Append(i++).Append(",\"").Append(t.Replace("\"", "\"\"", StringComparison.Ordinal)).Append("\"\n");
        File.WriteAllText(path, csv.ToString());
        return path;
    }

    private static TextSet Uci() => TextDatasets.LoadSentiment(SharedData.Dir(TextBundleFixture.Uci));

    private static TextSet Tweets() => TextDatasets.LoadAirlineTweets(SharedData.Dir(TextBundleFixture.Tweets));

    private static JsonElement Column(JsonElement report, string name) =>
        report.GetProperty("columns").EnumerateArray().Concat(report.GetProperty("predictions").EnumerateArray()).Single(c => c.Text("name") == name);

    // The numbers docs/monitoring.md quotes, printed with --logger "console;verbosity=detailed".
    private void Print(string what, JsonElement report)
    {
        foreach (var c in report.GetProperty("columns").EnumerateArray().Concat(report.GetProperty("predictions").EnumerateArray()))
        {
            var p = c.TryGetProperty("pValue", out var pv) && pv.ValueKind == JsonValueKind.Number ? $"p={pv.GetDouble():G4}" : "";
            output.WriteLine($"{what}: {c.Text("name")} {c.Text("test")} statistic={c.Number("statistic"):G4} {p} drifted={c.GetProperty("drifted").GetBoolean()}");
        }
    }

    [SharedDataFact(TextBundleFixture.Uci, TextBundleFixture.Tweets)]
    public void A_tfidf_bundle_gets_a_text_profile_and_forge_monitor_flags_tweets_and_long_texts_but_not_more_sentences()
    {
        _ = home;
        var dir = _temp.Combine("sentiment-tfidf");
        var train = Cli.Run("train", "sentiment", "--baseline", "--limit", "1000", "--data-dir", TextBundleFixture.DataRoot, "--out", dir, "--json", "--no-track");
        Assert.True(train.ExitCode == 0, train.ToString());

        var profile = BundleProfile.TryLoad(ModelBundle.Load(dir));
        Assert.NotNull(profile);
        // The reference is the held-out test split (200 of the 1,000 texts): texts the model never saw, as served texts are.
        Assert.Equal(200, profile.Rows);
        Assert.Equal(200, train.Json().GetProperty("testTexts").GetInt32());
        Assert.Equal(["text", "prediction", "prediction_confidence"], profile.Columns.Select(c => c.Name).ToArray());
        var text = profile.Column("text");
        Assert.Equal(ColumnKind.Text, text.Kind);
        Assert.Null(text.Text!.Embedding);
        // UCI sentences are short: tens of characters on average.
        Assert.InRange(text.Text.Length.Mean, 30, 120);
        var predicted = profile.Column("prediction").Categorical!.Top.Select(t => t.Category).Order().ToArray();
        Assert.Equal(["negative", "positive"], predicted);

        // UCI sentences outside the 1,000 trained and tested on (the same stratified sample forge train drew): the same
        // source, never seen by the model. Texts it was fitted on would get over-confident answers: that is no new traffic.
        var uci = Uci();
        var sampled = SentimentTraining.Load(new SentimentTrainingRequest { DataDir = TextBundleFixture.DataRoot, Limit = 1000 }).Texts.ToHashSet(StringComparer.Ordinal);
        var unseen = uci.Texts.Where(t => !sampled.Contains(t)).ToArray();
        Assert.InRange(unseen.Length, 1900, 2000);
        var like = Texts("like.csv", unseen.Where((_, i) => i % 7 == 3));
        var likeReport = Cli.Run("monitor", dir, "--current", like, "--json");
        Assert.True(likeReport.ExitCode == 0, likeReport.ToString());
        var likeJson = likeReport.Json();
        Print("unseen UCI sentences", likeJson);
        Assert.False(likeJson.GetProperty("datasetDrift").GetBoolean(), likeReport.Out);
        Assert.Equal("ks", Column(likeJson, "text").Text("test"));
        Assert.False(Column(likeJson, "text").GetProperty("drifted").GetBoolean(), likeReport.Out);
        // Against answers on unseen texts, the model's confidence on more unseen texts is no drift.
        Assert.False(likeJson.GetProperty("predictionDrift").GetBoolean(), likeReport.Out);

        var tweets = Texts("tweets.csv", Tweets().Texts.Where((_, i) => i % 50 == 0));
        var tweetReport = Cli.Run("monitor", dir, "--current", tweets, "--json");
        Assert.True(tweetReport.ExitCode == 0, tweetReport.ToString());
        var tweetJson = tweetReport.Json();
        Print("airline tweets", tweetJson);
        Assert.True(tweetJson.GetProperty("datasetDrift").GetBoolean(), tweetReport.Out);
        Assert.True(Column(tweetJson, "text").GetProperty("drifted").GetBoolean(), tweetReport.Out);
        Assert.True(tweetJson.GetProperty("predictionDrift").GetBoolean(), tweetReport.Out);

        // Three UCI sentences run together: the same words, three times the length.
        var joined = unseen.Where((_, i) => i % 7 == 3).Chunk(3).Select(c => string.Join(" ", c));
        var longReport = Cli.Run("monitor", dir, "--current", Texts("long.csv", joined), "--out", _temp.Combine("long.html"));
        output.WriteLine(longReport.Out);
        Assert.True(longReport.ExitCode == 0, longReport.ToString());
        Assert.Contains("dataset drift: YES", longReport.Out, StringComparison.Ordinal);
        Assert.Contains("DRIFT text", longReport.Out, StringComparison.Ordinal);
        Assert.True(File.Exists(_temp.Combine("long.html")));
    }

    [SharedDataFact(TextBundleFixture.Uci)]
    public void A_text_csv_without_a_text_column_or_rows_is_refused_by_name()
    {
        var dir = _temp.Combine("small-tfidf");
        var train = Cli.Run("train", "sentiment", "--baseline", "--limit", "100", "--data-dir", TextBundleFixture.DataRoot, "--out", dir, "--no-track");
        Assert.True(train.ExitCode == 0, train.ToString());

        var typo = _temp.Combine("typo.csv");
        File.WriteAllText(typo, "id,txt\n1,hello\n");
        Cli.AssertFailed(Cli.Run("monitor", dir, "--current", typo, "--out", _temp.Combine("typo.html")), "no column 'text'", "did you mean 'txt'");
        var empty = _temp.Combine("empty.csv");
        File.WriteAllText(empty, "id,text\n");
        Cli.AssertFailed(Cli.Run("monitor", dir, "--current", empty, "--out", _temp.Combine("empty.html")), "no rows");
        Assert.False(File.Exists(_temp.Combine("typo.html")));
        Assert.False(File.Exists(_temp.Combine("empty.html")));
    }

    [SharedDataFact(TextBundleFixture.Uci)]
    public void A_recurrent_bundle_gets_a_text_profile_with_its_predictions_and_can_have_it_retrofitted()
    {
        var dir = _temp.Combine("sentiment-gru");
        var train = Cli.Run("train", "sentiment", "--model", "gru", "--epochs", "1", "--train-fraction", "0.2", "--hidden", "8", "--embedding-size", "8",
            "--threads", "1", "--data-dir", TextBundleFixture.DataRoot, "--out", dir, "--json", "--no-track");
        Assert.True(train.ExitCode == 0, train.ToString());

        var profile = BundleProfile.TryLoad(ModelBundle.Load(dir))!;
        Assert.Equal(train.Json().GetProperty("testTexts").GetInt32(), profile.Rows);
        Assert.Equal(["text", "prediction", "prediction_confidence"], profile.Columns.Select(c => c.Name).ToArray());
        Assert.Equal(ColumnKind.Text, profile.Column("text").Kind);
        Assert.Equal(profile.Rows, profile.Column("prediction").Count);

        // The retrofit rebuilds it from a CSV of texts, through the same mapping.
        var data = Texts("train.csv", Uci().Texts.Take(300));
        var retrofit = Cli.Run("monitor", "profile", dir, "--data", data, "--json");
        Assert.True(retrofit.ExitCode == 0, retrofit.ToString());
        var rebuilt = BundleProfile.TryLoad(ModelBundle.Load(dir))!;
        Assert.Equal(300, rebuilt.Rows);
        Assert.Equal(ColumnKind.Text, rebuilt.Column("text").Kind);
    }
}
