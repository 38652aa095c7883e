using Forge.Core;
using Forge.Tests.Shared;

namespace Forge.DeepLearning.Tests;

public sealed class WordTokenizerTests
{
    [Theory]
    [InlineData("Great FLIGHT!!", new[] { "great", "flight", "!", "!" })]
    [InlineData("@united why?? see https://t.co/xyz now", new[] { "<user>", "why", "?", "?", "see", "<url>", "now" })]
    [InlineData("I don't like it, 'really'.", new[] { "i", "don't", "like", "it", ",", "'", "really", "'", "." })]
    [InlineData("#fail at www.example.com/a?b=1", new[] { "#", "fail", "at", "<url>" })]
    [InlineData("Café 10/10 \U0001F600", new[] { "café", "10", "/", "10", "\U0001F600" })]
    [InlineData("  \t\n ", new string[0])]
    public void Tokens_follow_the_documented_rules(string text, string[] expected) => Assert.Equal(expected, WordTokenizer.Tokenize(text));

    [Fact]
    public void The_vocabulary_keeps_words_seen_twice_most_frequent_first_and_encodes_unknowns_and_truncates()
    {
        var v = WordVocabulary.Build(["the cat sat", "the dog sat", "the end"], minCount: 2, maxLength: 3);
        Assert.Equal(["the", "sat"], v.Words);
        Assert.Equal(4, v.Size);
        Assert.Equal([2, 1, 3], v.Encode("The cow sat"));
        Assert.Equal([2, 2, 2], v.Encode("the the the the the"));
        Assert.Equal([WordVocabulary.UnknownId], v.Encode(""));
        Assert.Equal([1, 1], v.Encode("zebra quagga"));
        Assert.Equal(0, v.KnownTokens("zebra quagga"));
    }

    [Fact]
    public void A_saved_vocabulary_loads_with_the_same_ids()
    {
        var path = Path.Combine(Path.GetTempPath(), "forge-vocab-" + Guid.NewGuid().ToString("N") + ".txt");
        try
        {
            var v = WordVocabulary.Build(["a b b c c c", "c b d"], 1, 64);
            v.Save(path);
            var loaded = WordVocabulary.Load(path, 1, 64);
            Assert.Equal(v.Words, loaded.Words);
            Assert.Equal(v.Encode("d c b a x"), loaded.Encode("d c b a x"));
            File.WriteAllText(path, "a\na\n");
            Assert.Contains("'a' repeated", Assert.Throws<DataFormatException>(() => WordVocabulary.Load(path, 1, 64)).Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }
}

[Collection(TorchCollection.Name)]
public sealed class SequenceTextTests(TorchFixture torchFixture) : IDisposable
{
    private readonly TempDir _temp = new("forge-dl-seqtext-");

    public void Dispose()
    {
        _ = torchFixture;
        _temp.Dispose();
    }

    [SharedDataFact("sentiment-labelled-sentences")]
    public void A_small_sentiment_run_writes_a_torch_sequence_bundle_that_loads_and_answers_alike()
    {
        var dir = _temp.Combine("sentiment-gru");
        var request = new SequenceTextRequest
        {
            Dataset = "sentiment",
            DataDir = SharedData.Dir("sentiment-labelled-sentences"),
            Model = new SequenceModelOptions { Cell = RecurrentCell.Gru, HiddenSize = 16, EmbeddingSize = 16 },
            Options = SequenceTextTraining.DefaultOptions with { Epochs = 2, Threads = 1 },
            TrainShare = 0.25,
            OutputDirectory = dir,
        };
        var result = SequenceTextTraining.Run(request);
        Assert.Equal(600, result.Test.Count);
        Assert.Equal(600, result.TrainTexts);
        Assert.InRange(result.Test.Accuracy, 0.4, 1);
        var bundle = ModelBundle.Load(dir);
        Assert.Equal("torch-sequence", bundle.Manifest.Flavor);
        Assert.True(SequenceTextClassifier.IsSequenceText(bundle.Manifest));
        Assert.Equal("gru", bundle.Manifest.Training!.Hyperparameters["model.cell"]);
        Assert.Equal("2", bundle.Manifest.Training.Hyperparameters["minCount"]);
        Assert.Equal(64, (int?)bundle.Manifest.Preprocessing["maxLength"]);

        using var model = SequenceTextClassifier.Load(bundle);
        Assert.Equal(result.VocabularySize, model.Vocabulary.Size);
        string[] texts = ["Great phone, works perfectly!", "Terrible. Broke after a day.", "", "qwxz zzkj", string.Join(' ', Enumerable.Repeat("good", 200))];
        var probabilities = model.PredictProbabilities(texts);
        var table = new Table(Column.String("text", texts));
        var viaTable = model.Predict(table);
        for (var i = 0; i < texts.Length; i++)
        {
            Assert.Equal(2, probabilities[i].Length);
            Assert.InRange(probabilities[i].Sum(), 0.999f, 1.001f);
            for (var c = 0; c < 2; c++) Assert.Equal(probabilities[i][c], viaTable.Probabilities![i][c]);
        }
        // An empty text and one of unknown words are both one unknown token: the same answer.
        Assert.Equal(new[] { WordVocabulary.UnknownId }, model.Vocabulary.Encode(""));
        // (Another batch: equal within float rounding, 1e-5 per element.)
        AssertClose(probabilities[2], model.PredictProbabilities([" "])[0]);
        // Past the maximum length the rest is not read.
        AssertClose(probabilities[4], model.PredictProbabilities([string.Join(' ', Enumerable.Repeat("good", 64))])[0]);
    }

    private static void AssertClose(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var c = 0; c < expected.Length; c++) Assert.InRange(actual[c] - expected[c], -1e-5f, 1e-5f);
    }
}
