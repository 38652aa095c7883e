using Forge.Core;
using Forge.DeepLearning;
using Forge.Tests.Shared;

namespace Forge.Cli.Tests;

public sealed class RecurrentCommandTests(ForgeHomeFixture home) : IClassFixture<ForgeHomeFixture>, IDisposable
{
    private readonly TempDir _temp = new("forge-cli-rnn-");

    public void Dispose()
    {
        _ = home;
        _temp.Dispose();
    }

    [Fact]
    public void Adding_problem_writes_plots_and_json_and_is_tracked()
    {
        var dir = _temp.Combine("adding");
        var result = Cli.Run("train", "adding-problem", "--model", "gru", "--length", "8", "--max-steps", "200", "--threads", "1", "--out", dir, "--json");
        Assert.True(result.ExitCode == 0, result.ToString());
        var json = result.Json();
        Assert.Equal("gru", json.Text("cell"));
        Assert.Equal(200, json.GetProperty("steps").GetInt32());
        Assert.Equal(2, json.GetProperty("curve").GetArrayLength());
        Assert.Equal(8, json.GetProperty("gradientProfileAtInit").GetArrayLength());
        Assert.Equal(8, json.GetProperty("gradientProfileAfter").GetArrayLength());
        Assert.True(json.Number("decayRatioAtInit") > 0);
        foreach (var file in new[] { "test-mse.png", "gradient-profile.png", "adding-problem.json" }) Assert.True(File.Exists(Path.Combine(dir, file)), file);
        var show = Cli.Run("runs", "show", json.Text("runId"), "--json");
        Assert.True(show.ExitCode == 0, show.ToString());
        Assert.Contains("adding-problem", show.Out, StringComparison.Ordinal);
        Assert.Contains("testMse", show.Out, StringComparison.Ordinal);
    }

    [Fact]
    public void Adding_problem_refuses_a_wrong_cell_an_image_option_and_a_bad_length()
    {
        Cli.AssertFailed(Cli.Run("train", "adding-problem", "--model", "lstn", "--out", _temp.Combine("x"), "--no-track"), "did you mean 'lstm'");
        Cli.AssertFailed(Cli.Run("train", "adding-problem", "--epochs", "3", "--out", _temp.Combine("x"), "--no-track"), "--epochs");
        Cli.AssertFailed(Cli.Run("train", "adding-problem", "--length", "1", "--max-steps", "0", "--out", _temp.Combine("x"), "--no-track"), "--length", "--max-steps");
        Cli.AssertFailed(Cli.Run("train", "mnist", "--length", "10", "--out", _temp.Combine("x"), "--no-track"), "--length");
        Assert.False(Directory.Exists(_temp.Combine("x")));
    }

    [SharedDataFact(TextBundleFixture.Uci)]
    public void A_recurrent_sentiment_bundle_predicts_through_the_cli_as_it_does_in_process()
    {
        var dir = _temp.Combine("sentiment-gru");
        var train = Cli.Run("train", "sentiment", "--model", "gru", "--epochs", "1", "--train-fraction", "0.2", "--hidden", "8", "--embedding-size", "8",
            "--threads", "1", "--data-dir", TextBundleFixture.DataRoot, "--out", dir, "--json", "--no-track");
        Assert.True(train.ExitCode == 0, train.ToString());
        var json = train.Json();
        Assert.Equal(600, json.GetProperty("testTexts").GetInt32());
        Assert.Equal("torch-sequence", ModelBundle.Load(dir).Manifest.Flavor);

        string[] texts = ["I love it", "awful, broke in a day", ""];
        var predict = Cli.Run("predict", dir, "--text", texts[0], "--text", texts[1], "--text", texts[2], "--json");
        Assert.True(predict.ExitCode == 0, predict.ToString());
        using var model = SequenceTextClassifier.Load(ModelBundle.Load(dir));
        var expected = model.PredictProbabilities(texts);
        var predictions = predict.Json().GetProperty("predictions");
        for (var i = 0; i < texts.Length; i++)
        {
            var probabilities = predictions[i].GetProperty("probabilities");
            for (var k = 0; k < 2; k++) Assert.InRange(probabilities.GetProperty(model.Labels[k]).GetDouble() - expected[i][k], -1e-6, 1e-6);
        }

        var csv = _temp.Combine("in.csv");
        File.WriteAllText(csv, "id,text\n1,I love it\n2,\"awful, broke in a day\"\n");
        var batch = Cli.Run("predict", dir, "--batch", csv, "--out", _temp.Combine("out.csv"), "--json");
        Assert.True(batch.ExitCode == 0, batch.ToString());
        var lines = File.ReadAllLines(_temp.Combine("out.csv"));
        Assert.Equal(3, lines.Length);
        Assert.StartsWith("id,text,label,p_", lines[0], StringComparison.Ordinal);

        // The model-agnostic explainers read it like any text model: KernelSHAP over its words adds up to its output.
        var explain = Cli.Run("explain", dir, "--text", "awful, broke in a day", "--method", "kernel", "--samples", "200", "--json");
        Assert.True(explain.ExitCode == 0, explain.ToString());
        var explanation = explain.Json();
        Assert.Contains("torch-sequence", explanation.Text("model"), StringComparison.Ordinal);
        Assert.InRange(explanation.Number("maxAdditivityGap"), 0, 1e-4);
        Cli.AssertFailed(Cli.Run("evaluate", dir), "text model (torch-sequence)", "does not score", "forge predict BUNDLE --batch");
    }

    [SharedDataFact(TextBundleFixture.Uci)]
    public void A_recurrent_text_option_on_the_wrong_model_is_refused()
    {
        Cli.AssertFailed(Cli.Run("train", "sentiment", "--model", "lstm", "--augment", "true", "--out", _temp.Combine("y"), "--no-track"), "--augment");
        Cli.AssertFailed(Cli.Run("train", "sentiment", "--model", "grx", "--out", _temp.Combine("y"), "--no-track"), "did you mean 'gru'");
    }
}
