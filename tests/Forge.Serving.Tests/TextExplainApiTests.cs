using System.Net;
using System.Text.Json.Nodes;
using Forge.Tests.Shared;

namespace Forge.Serving.Tests;

/// <summary>POST /v1/models/{name}/explain on a served MiniLM sentiment model: word attributions for each class.</summary>
[Collection(SentimentServerCollection.Name)]
public sealed class TextExplainApiTests(SentimentServerFixture sentiment)
{
    [SharedDataFact(SentimentServerFixture.Folder)]
    public async Task A_text_is_explained_word_by_word_and_the_angry_word_pushes_towards_negative()
    {
        const string text = "This is terrible and the agent was rude";
        var (response, body) = await sentiment.Server.PostAsync("/v1/models/sentiment/explain", new JsonObject { ["text"] = text });

        Assert.True(response.StatusCode == HttpStatusCode.OK, body?.ToJsonString());
        Assert.Equal("text", (string)body!["kind"]!);
        Assert.Equal("lime", (string)body["method"]!);
        var outputs = Assert.Single(body["instances"]!.AsArray())!["outputs"]!.AsArray();
        Assert.Equal(["negative", "positive"], outputs.Select(o => (string)o!["output"]!).Order(StringComparer.Ordinal));
        var negative = outputs.Single(o => (string)o!["output"]! == "negative")!;
        var words = negative["attributions"]!.AsArray().Select(a => ((string)a!["feature"]!, (double)a["value"]!)).ToList();
        // Every attribution is one of the message's words, and each word is there once.
        Assert.Equal(text.Split(' ').Order(StringComparer.Ordinal), words.Select(w => w.Item1).Order(StringComparer.Ordinal));
        Assert.True((double)negative["prediction"]! > 0.5, negative.ToJsonString());
        var strongest = words.OrderByDescending(w => w.Item2).Take(2).Select(w => w.Item1).ToList();
        Assert.True(strongest.Contains("terrible") || strongest.Contains("rude"), string.Join(", ", words));
    }

    [SharedDataFact(SentimentServerFixture.Folder)]
    public async Task A_tree_method_on_a_text_model_is_refused_naming_what_to_use()
    {
        var (response, body) = await sentiment.Server.PostAsync("/v1/models/sentiment/explain?method=tree", new JsonObject { ["text"] = "fine" });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("lime", body!.ToJsonString(), StringComparison.Ordinal);
    }
}
