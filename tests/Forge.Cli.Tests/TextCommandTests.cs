using System.Text.Json;
using Forge.Core;
using Forge.Data;
using Forge.Tests.Shared;

namespace Forge.Cli.Tests;

/// <summary>One small sentence-encoder bundle trained through the CLI (tracked) on 200 UCI sentences, on first use.</summary>
public sealed class TextBundleFixture : IDisposable
{
    public const string Uci = "sentiment-labelled-sentences";
    public const string Tweets = "twitter-airline-sentiment";
    private readonly TempDir _temp = new("forge-cli-text-");
    private readonly Lazy<CliResult> _train;

    public TextBundleFixture()
    {
        BundleDirectory = _temp.Combine("sentiment-minilm");
        _train = new(() => Cli.Run("train", "sentiment", "--limit", "200", "--data-dir", DataRoot, "--out", BundleDirectory,
            "--experiment", "text", "--json"));
    }

    public static string DataRoot => Path.GetDirectoryName(SharedData.Dir(Uci))!;

    public string BundleDirectory { get; }

    public CliResult Train => _train.Value;

    public void Dispose() => _temp.Dispose();
}

public sealed class TextCommandTests(ForgeHomeFixture home, TextBundleFixture trained)
    : IClassFixture<ForgeHomeFixture>, IClassFixture<TextBundleFixture>, IDisposable
{
    private readonly TempDir _temp = new("forge-cli-text-test-");

    public void Dispose() => _temp.Dispose();

    private string Bundle => trained.BundleDirectory;

    [SharedDataFact(TextBundleFixture.Uci)]
    public void Train_sentiment_json_reports_accuracy_and_logs_a_tracked_run()
    {
        var result = trained.Train;

        Assert.True(result.ExitCode == 0, result.ToString());
        var json = result.Json();
        Assert.InRange(json.Number("testAccuracy"), 0.6, 1);
        Assert.InRange(json.Number("macroF1"), 0.5, 1);
        Assert.True(json.Number("trainSeconds") > 0);
        Assert.Equal(160, json.GetProperty("trainTexts").GetInt32());
        Assert.Equal(40, json.GetProperty("testTexts").GetInt32());
        Assert.Equal("sentence-encoder", json.Text("featurizer"));
        Assert.Equal(TextModuleFlavor, ModelBundle.Load(Bundle).Manifest.Flavor);
        Assert.Contains("encode: encoding 160 training texts", result.Err, StringComparison.Ordinal);
        // The encoder was extracted into this test's FORGE_HOME, not the developer's.
        Assert.True(File.Exists(Path.Combine(home.Home, "encoders", "all-MiniLM-L6-v2", "model.onnx")));

        var runId = json.Text("runId");
        var show = Cli.Run("runs", "show", runId, "--json");
        Assert.True(show.ExitCode == 0, show.ToString());
        var run = show.Json();
        Assert.Equal("FINISHED", run.Text("status"));
        Assert.Equal(json.Number("testAccuracy"), run.GetProperty("metrics").GetProperty("testAccuracy").GetProperty("value").GetDouble());
        Assert.Equal("sentiment", run.GetProperty("params").Text("datasets"));
        Assert.Contains("model/forge-model.json", run.GetProperty("artifacts").EnumerateArray().Select(a => a.Text("path")));
    }

    private const string TextModuleFlavor = "text-embedding";

    [SharedDataFact(TextBundleFixture.Uci)]
    public void Predict_text_gives_a_label_and_probabilities_per_text()
    {
        _ = trained.Train;

        var result = Cli.Run("predict", Bundle, "--text", "this is awful, I want my money back", "--text", "wonderful, thank you", "--json");

        Assert.True(result.ExitCode == 0, result.ToString());
        var predictions = result.Json().GetProperty("predictions").EnumerateArray().ToArray();
        Assert.Equal(2, predictions.Length);
        Assert.Equal("wonderful, thank you", predictions[1].Text("text"));
        foreach (var p in predictions)
        {
            var probabilities = p.GetProperty("probabilities");
            Assert.InRange(probabilities.Number("negative") + probabilities.Number("positive"), 0.9999, 1.0001);
            Assert.Contains(p.Text("label"), new[] { "negative", "positive" });
        }
        Assert.Equal("negative", predictions[0].Text("label"));
        Assert.Equal("positive", predictions[1].Text("label"));
    }

    [SharedDataFact(TextBundleFixture.Uci)]
    public void Predict_batch_writes_label_and_probability_columns_keeping_quoted_fields()
    {
        _ = trained.Train;
        var input = _temp.Combine("in.csv");
        var output = _temp.Combine("out", "scored.csv");
        File.WriteAllText(input, "id,text\r\n1,\"terrible, the order never came\"\r\n2,\"thanks!\nall sorted\"\r\n3,great help\r\n");

        var result = Cli.Run("predict", Bundle, "--batch", input, "--out", output, "--json");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(3, result.Json().GetProperty("rows").GetInt32());
        var rows = Csv.ReadFile(output);
        Assert.Equal(["id", "text", "label", "p_negative", "p_positive"], rows[0]);
        Assert.Equal(4, rows.Count);
        Assert.Equal(["2", "thanks!\nall sorted"], rows[2][..2]);
        Assert.All(rows.Skip(1), r => Assert.InRange(double.Parse(r[3], System.Globalization.CultureInfo.InvariantCulture) + double.Parse(r[4], System.Globalization.CultureInfo.InvariantCulture), 0.9999, 1.0001));
        Assert.Equal(["scored.csv"], Directory.EnumerateFileSystemEntries(_temp.Combine("out")).Select(Path.GetFileName));
    }

    [SharedDataFact(TextBundleFixture.Uci)]
    public void Predict_batch_without_a_text_column_names_it_and_writes_nothing()
    {
        _ = trained.Train;
        var input = _temp.Combine("bad.csv");
        var output = _temp.Combine("never.csv");
        File.WriteAllText(input, "id,message\n1,hello\n");

        var result = Cli.Run("predict", Bundle, "--batch", input, "--out", output);

        Cli.AssertFailed(result, input, "no column 'text'");
        Assert.False(File.Exists(output));
    }

    [SharedDataFact(TextBundleFixture.Uci)]
    public void Predict_on_a_text_bundle_refuses_image_files_and_a_batch_without_out()
    {
        _ = trained.Train;

        Cli.AssertFailed(Cli.Run("predict", Bundle, "digit.png"), "classifies text", "--text");
        Cli.AssertFailed(Cli.Run("predict", Bundle, "--batch", "x.csv"), "--batch needs --out");
    }

    [Fact]
    public void Image_options_with_a_text_dataset_are_named()
    {
        var result = Cli.Run("train", "sentiment", "--epochs", "3", "--model", "mlp", "--out", _temp.Combine("never"));

        Assert.Equal(2, result.ExitCode);
        Cli.AssertFailed(result, "--model, --epochs apply to image datasets only, not to 'sentiment'");
        Assert.False(Directory.Exists(_temp.Combine("never")));
    }

    [Fact]
    public void Text_options_with_an_image_dataset_are_named()
    {
        var result = Cli.Run("train", "mnist", "--baseline", "--out", _temp.Combine("never"));

        Cli.AssertFailed(result, "--baseline applies to the text datasets");
    }

    [Fact]
    public void Include_is_only_for_tweets_with_sentiment()
    {
        var result = Cli.Run("train", "airline-tweets", "--include", "sentiment", "--out", _temp.Combine("never"));

        Cli.AssertFailed(result, "--include sentiment: only 'airline-tweets' can be added, and only to 'sentiment'");
    }

    [SharedDataFact(TextBundleFixture.Uci, TextBundleFixture.Tweets)]
    public void Baseline_on_sentiment_and_tweets_and_the_three_class_tweets_train()
    {
        var binary = Cli.Run("train", "sentiment", "--include", "airline-tweets", "--baseline", "--limit", "300", "--seed", "2",
            "--data-dir", TextBundleFixture.DataRoot, "--out", _temp.Combine("both"), "--no-track", "--json");
        var three = Cli.Run("train", "airline-tweets", "--baseline", "--limit", "300",
            "--data-dir", TextBundleFixture.DataRoot, "--out", _temp.Combine("tweets"), "--no-track", "--json");
        var half = Cli.Run("train", "airline-tweets", "--baseline", "--limit", "300", "--train-fraction", "0.5",
            "--data-dir", TextBundleFixture.DataRoot, "--out", _temp.Combine("tweets-half"), "--no-track", "--json");
        var refused = Cli.Run("train", "airline-tweets", "--baseline", "--limit", "300", "--bidirectional", "--out", _temp.Combine("never"));

        Assert.True(binary.ExitCode == 0, binary.ToString());
        Assert.True(three.ExitCode == 0, three.ToString());
        Assert.Equal(["airline-tweets"], binary.Json().GetProperty("include").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["negative", "neutral", "positive"], three.Json().GetProperty("labels").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(JsonValueKind.Null, three.Json().GetProperty("runId").ValueKind);
        // --train-fraction samples the training part only; the test texts stay the same.
        Assert.True(half.ExitCode == 0, half.ToString());
        var all = three.Json().GetProperty("trainTexts").GetInt32();
        Assert.InRange(all, 235, 245);
        Assert.InRange(half.Json().GetProperty("trainTexts").GetInt32(), (all / 2) - 3, (all / 2) + 3);
        Assert.Equal(three.Json().GetProperty("testTexts").GetInt32(), half.Json().GetProperty("testTexts").GetInt32());
        Cli.AssertFailed(refused, "--bidirectional applies to recurrent text models only");
        Assert.Contains("CC BY-NC-SA 4.0", File.ReadAllText(_temp.Combine("both", "MODEL_CARD.md")), StringComparison.Ordinal);
    }
}

/// <summary>The support-chat case study as docs/serving.md tells it: train with tweets included, serve the folder, call the model by its bundle's name.</summary>
public sealed class SupportChatServingTests(ForgeHomeFixture home) : IClassFixture<ForgeHomeFixture>, IDisposable
{
    private readonly TempDir _temp = new("forge-cli-support-");

    public void Dispose() => _temp.Dispose();

    [SharedDataFact(TextBundleFixture.Uci, TextBundleFixture.Tweets)]
    public async Task A_model_trained_with_tweets_included_is_served_under_the_name_its_bundle_carries()
    {
        Assert.NotNull(home.Home);
        var bundle = _temp.Combine("support-sentiment");
        var train = Cli.Run("train", "sentiment", "--include", "airline-tweets", "--limit", "300", "--data-dir", TextBundleFixture.DataRoot,
            "--out", bundle, "--no-track", "--json");
        Assert.True(train.ExitCode == 0, train.ToString());
        Assert.Equal("sentiment-airline-tweets-minilm-logreg", ModelBundle.Load(bundle).Manifest.Name);

        Microsoft.AspNetCore.Builder.WebApplication? app = null;
        using var started = new ManualResetEventSlim();
        Forge.Cli.ServeCommand.Started = a =>
        {
            app = a;
            started.Set();
        };
        try
        {
            var run = Task.Run(() => Cli.Run("serve", "--model", bundle, "--port", "0"));
            Assert.True(started.Wait(TimeSpan.FromSeconds(120)) || run.IsCompleted, "the server never became ready: " + (run.IsCompleted ? run.Result.ToString() : ""));
            Assert.NotNull(app);
            using var client = new HttpClient { BaseAddress = new Uri(Forge.Serving.ForgeServer.Addresses(app!).Single()) };

            var models = System.Text.Json.Nodes.JsonNode.Parse(await client.GetStringAsync("/v1/models"))!;
            var response = await client.PostAsync("/v1/models/sentiment-airline-tweets-minilm-logreg/predict",
                new StringContent("{\"instances\": [{\"text\": \"my refund never came\"}]}", System.Text.Encoding.UTF8, "application/json"));

            Assert.Equal(["sentiment-airline-tweets-minilm-logreg"], models["models"]!.AsArray().Select(m => (string?)m!["name"]));
            Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
            await app!.StopAsync();
            Assert.Equal(0, (await run).ExitCode);
        }
        finally
        {
            Forge.Cli.ServeCommand.Started = null;
        }
    }
}
