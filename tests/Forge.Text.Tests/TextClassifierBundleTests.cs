using Forge.Core;
using Forge.Text;

namespace Forge.Text.Tests;

[Collection(EncoderCollection.Name)]
public sealed class TextClassifierBundleTests(EncoderFixture fixture) : IDisposable
{
    private const string Tweets = "twitter-airline-sentiment";
    private readonly TempDir _temp = new("forge-text-bundle-");
    private static readonly string[] Probe = ["the refund never came and nobody answers", "thanks, that fixed it!", "ok", "Café was great"];

    public void Dispose() => _temp.Dispose();

    private static string DataRoot => Path.GetDirectoryName(SharedData.Dir(Uci.Folder))!;

    [SharedDataFact(Uci.Folder)]
    public void A_training_share_trains_on_a_stratified_sample_of_the_training_part_and_tests_on_the_whole_test_part()
    {
        var full = new SentimentTrainingRequest { Baseline = true, DataDir = DataRoot, CGrid = [1], Folds = 2, Seed = 4 };
        var set = SentimentTraining.Load(full);
        var (trainIdx, testIdx) = Forge.Data.DataSplits.Stratified(set.Labels, set.ClassNames.Count, full.TestFraction, full.Seed);
        var trainLabels = trainIdx.Select(i => set.Labels[i]).ToArray();
        var (_, sample) = Forge.Data.DataSplits.Stratified(trainLabels, set.ClassNames.Count, 0.3, full.Seed);

        var all = SentimentTraining.Run(full);
        var part = SentimentTraining.Run(full with { TrainShare = 0.3 });
        using var a = all.Model;
        using var b = part.Model;

        Assert.Equal(trainIdx.Length, all.TrainCount);
        Assert.Equal(sample.Length, part.TrainCount);
        Assert.InRange(part.TrainCount, (int)(0.29 * trainIdx.Length), (int)(0.31 * trainIdx.Length));
        Assert.Equal(testIdx.Length, part.TestCount);
        Assert.Equal(all.TestCount, part.TestCount);
        Assert.Equal("0.3", SentimentTraining.Hyperparameters(full with { TrainShare = 0.3 })["trainShare"]);
    }

    [SharedDataFact(Uci.Folder)]
    public void An_encoder_bundle_loads_back_with_the_same_probabilities()
    {
        var dir = _temp.Combine("minilm");
        var request = new SentimentTrainingRequest { Limit = 150, DataDir = DataRoot, OutputDirectory = dir, CGrid = [1], Folds = 2 };

        var result = SentimentTraining.Run(request, encoder: fixture.Encoder);
        using var model = result.Model;
        using var loaded = TextClassifier.Load(dir);

        var before = model.PredictProbabilities(Probe);
        var after = loaded.PredictProbabilities(Probe);
        for (var i = 0; i < Probe.Length; i++)
        {
            for (var c = 0; c < 2; c++) Assert.InRange(after[i][c] - before[i][c], -1e-6f, 1e-6f);
        }
        var manifest = result.Bundle!.Manifest;
        Assert.Equal(TextModule.Flavor, manifest.Flavor);
        Assert.Equal(["negative", "positive"], manifest.Signature.Labels);
        Assert.Equal("text", manifest.Signature.Inputs[0].Name);
        Assert.Equal("string", manifest.Signature.Inputs[0].DType);
        Assert.Equal(MiniLmFiles.ModelSha256, manifest.Files["encoder/model.onnx"].Sha256);
        Assert.Equal(MiniLmFiles.ModelSha256, (string?)manifest.Preprocessing["encoder"]!["sha256"]);
        Assert.Equal(256, (int?)manifest.Preprocessing["tokenizer"]!["maxLength"]);
        Assert.Equal(result.Test.Accuracy, manifest.Metrics["testAccuracy"]);
        Assert.Equal("sentiment", manifest.Training!.Dataset);
        Assert.Equal(["negative", "positive"], loaded.Predict(["terrible, just terrible", "I love it"]).Select(p => p.Label));
    }

    [SharedDataFact(Uci.Folder, Tweets)]
    public void A_baseline_bundle_on_UCI_and_tweets_round_trips_and_its_card_names_both_licences()
    {
        var dir = _temp.Combine("tfidf");
        var request = new SentimentTrainingRequest { Include = ["airline-tweets"], Baseline = true, Limit = 400, DataDir = DataRoot, OutputDirectory = dir, Seed = 3 };

        var result = SentimentTraining.Run(request);
        using var model = result.Model;
        using var loaded = TextClassifier.Load(dir);

        Assert.Equal(model.PredictProbabilities(Probe), loaded.PredictProbabilities(Probe));
        Assert.Equal(TextClassifier.TfidfFeaturizer, loaded.Featurizer);
        Assert.False(File.Exists(Path.Combine(dir, "encoder", "model.onnx")));
        var card = File.ReadAllText(Path.Combine(dir, ModelBundle.ModelCardFileName));
        Assert.Contains("sentiment — UCI Sentiment Labelled Sentences — CC BY 4.0", card, StringComparison.Ordinal);
        Assert.Contains("airline-tweets — Twitter US Airline Sentiment — CC BY-NC-SA 4.0", card, StringComparison.Ordinal);
        Assert.Contains("may not be used commercially", card, StringComparison.Ordinal);
        Assert.Equal("sentiment+airline-tweets", result.Bundle!.Manifest.Training!.Dataset);
    }

    [Fact]
    public void A_damaged_head_is_refused_naming_the_file()
    {
        var dir = _temp.Combine("damaged");
        var tfidf = TfidfVectorizer.Fit(["good app", "bad app"]);
        var head = SoftmaxRegression.Fit(tfidf.Transform(["good app", "bad app"]), [1, 0], 2);
        using (var model = TextClassifier.OnTfidf(["negative", "positive"], head, 1, tfidf))
        using (var writer = ModelBundle.Create(dir))
            writer.Commit(model.WriteTo(writer, "tiny"));
        File.AppendAllText(Path.Combine(dir, "weights", "head.json"), " ");

        var e = Assert.Throws<BundleException>(() => TextClassifier.Load(dir));

        Assert.Contains("head.json", e.Message, StringComparison.Ordinal);
    }
}
