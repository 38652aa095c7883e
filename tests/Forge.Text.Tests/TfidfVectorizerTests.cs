using Forge.Text;

namespace Forge.Text.Tests;

public sealed class TfidfVectorizerTests
{
    [Fact]
    public void Values_on_a_three_document_corpus_match_hand_computation()
    {
        string[] docs = ["Good good service", "bad service", "good food, a bad day"];

        var tfidf = TfidfVectorizer.Fit(docs);
        var first = tfidf.TransformOne(docs[0]);

        // Tokens of two or more word characters, lower-cased ("a" is dropped), then the bigrams of adjacent tokens.
        Assert.Equal(["bad", "bad day", "bad service", "day", "food", "food bad", "good", "good food", "good good", "good service", "service"], tfidf.Terms);
        // idf = ln((1 + n) / (1 + df)) + 1 with n = 3: df 2 gives ln(4/3) + 1, df 1 gives ln 2 + 1.
        var common = Math.Log(4.0 / 3) + 1;
        var rare = Math.Log(2) + 1;
        Assert.Equal(common, tfidf.Idf[tfidf.Terms.ToList().IndexOf("good")], 12);
        Assert.Equal(rare, tfidf.Idf[tfidf.Terms.ToList().IndexOf("good good")], 12);
        // Document 1: good x2 (tf 1 + ln 2), "good good", "good service" and service once each (tf 1).
        var good = (1 + Math.Log(2)) * common;
        var goodGood = rare;
        var goodService = rare;
        var service = common;
        var norm = Math.Sqrt((good * good) + (goodGood * goodGood) + (goodService * goodService) + (service * service));
        var terms = first.Indices.Select(i => tfidf.Terms[i]).ToArray();
        Assert.Equal(["good", "good good", "good service", "service"], terms);
        double[] expected = [good / norm, goodGood / norm, goodService / norm, service / norm];
        for (var i = 0; i < expected.Length; i++) Assert.InRange(first.Values[i] - expected[i], -1e-6, 1e-6);
    }

    [Fact]
    public void Unknown_terms_are_ignored_and_an_empty_row_stays_empty()
    {
        var tfidf = TfidfVectorizer.Fit(["great app", "awful app"]);

        var row = tfidf.TransformOne("never seen words");

        Assert.Empty(row.Indices);
        Assert.Empty(row.Values);
    }
}
