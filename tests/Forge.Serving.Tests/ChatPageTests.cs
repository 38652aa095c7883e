using System.Net;
using System.Text.Json.Nodes;
using Forge.Core;
using Forge.Tests.Shared;
using Forge.Text;

namespace Forge.Serving.Tests;

/// <summary>The /chat page and its configuration: which model it calls, and what it says when there is none.</summary>
public sealed class ChatPageTests : IDisposable
{
    private readonly TempDir _temp = new("forge-serving-chat-");
    private readonly GatedLoader _loader = new();

    // The gated test flavor stands in for a model that takes no text; its forward passes never wait here.
    public ChatPageTests() => _loader.Gate.Set();

    public void Dispose() => _temp.Dispose();

    /// <summary>A tiny TF-IDF sentiment bundle trained on a dozen sentences: a real text model in well under a second.</summary>
    internal static string TinyTextBundle(string directory, string name)
    {
        if (Directory.Exists(directory)) return directory;
        string[] texts =
        [
            "great service thank you", "love it works perfectly", "thanks so helpful", "excellent fast friendly", "happy with the help", "perfect thanks",
            "terrible service", "broken and useless", "awful rude agent", "worst experience ever", "angry and disappointed", "refund never came",
        ];
        int[] labels = [1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0];
        var tfidf = TfidfVectorizer.Fit(texts);
        var head = SoftmaxRegression.Fit(tfidf.Transform(texts), labels, 2, new SoftmaxRegressionOptions { C = 10 });
        using var model = TextClassifier.OnTfidf(["negative", "positive"], head, 10, tfidf);
        using var writer = ModelBundle.Create(directory);
        writer.Commit(model.WriteTo(writer, name));
        return directory;
    }

    private ServerOptions Options(params ModelSource[] models) => new()
    {
        Models = models,
        Loaders = ModelLoaderRegistry.CreateDefault().Add(_loader),
    };

    private ModelSource Gated() => ModelSource.FromBundle(GatedLoader.WriteBundle(_temp.Combine("gated")));

    private ModelSource Text(string name) => ModelSource.FromBundle(TinyTextBundle(_temp.Combine(name), name));

    [Fact]
    public async Task The_page_is_one_self_contained_file_and_its_config_names_the_first_text_model()
    {
        await using var server = await RunningServer.StartAsync(Options(Gated(), Text("support"), Text("reviews")));

        var page = await server.Client.GetAsync("/chat");
        var html = await page.Content.ReadAsStringAsync();
        var (config, body) = await server.GetAsync("/chat/config");

        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        Assert.Contains("connect-src 'self'", page.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
        // Nothing is fetched from elsewhere: no external scripts, stylesheets, fonts or images.
        Assert.DoesNotContain("<script src", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<link rel=\"stylesheet\"", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("http://", html, StringComparison.Ordinal);
        Assert.DoesNotContain("https://", html, StringComparison.Ordinal);
        Assert.Contains("id=\"escalation\" data-state=\"clear\"", html, StringComparison.Ordinal);
        Assert.Contains("function escalationState(messages)", html, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, config.StatusCode);
        Assert.Equal("support", (string?)body!["model"]);
        Assert.Equal(["support", "reviews"], body["textModels"]!.AsArray().Select(m => (string?)m));
        Assert.Equal(["negative", "positive"], body["labels"]!.AsArray().Select(m => (string?)m));
        Assert.False((bool)body["apiKeyRequired"]!);
        Assert.Equal(TextInstanceDecoder.DefaultMaxCharacters, (int)body["maxCharacters"]!);
    }

    [Fact]
    public async Task Chat_model_picks_another_text_model_and_a_server_without_one_says_so()
    {
        await using (var server = await RunningServer.StartAsync(Options(Text("support"), Text("reviews")) with { ChatModel = "reviews" }))
        {
            var (_, body) = await server.GetAsync("/chat/config");
            Assert.Equal("reviews", (string?)body!["model"]);
        }

        await using var imagesOnly = await RunningServer.StartAsync(Options(Gated()));
        var (response, config) = await imagesOnly.GetAsync("/chat/config");
        var html = await imagesOnly.Client.GetStringAsync("/chat");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Null(config!["model"]);
        Assert.Empty(config["textModels"]!.AsArray());
        Assert.Contains("No text model is served", html, StringComparison.Ordinal);
    }

    [Fact]
    public void A_chat_model_that_is_not_served_or_takes_no_text_is_refused_before_the_server_starts()
    {
        var unknown = Assert.Throws<UsageException>(() => ForgeServer.Build(Options(Gated(), Text("support")) with { ChatModel = "suport" }));
        var notText = Assert.Throws<UsageException>(() => ForgeServer.Build(Options(Gated(), Text("support")) with { ChatModel = "gated" }));

        Assert.Equal("--chat-model suport: no such model is served (gated, support)", unknown.Message);
        Assert.Equal("--chat-model gated: it is a test-gated model, and the chat page needs a text model (text models served: support)", notText.Message);
    }

    [Fact]
    public async Task A_text_bundle_written_in_process_is_served_by_the_default_loaders()
    {
        await using var server = await RunningServer.StartAsync(new ServerOptions { Models = [Text("support")] });

        var (response, body) = await server.PostAsync("/v1/models/support/predict",
            new JsonObject { ["instances"] = new JsonArray("terrible rude agent", new JsonObject { ["text"] = "thanks, great and friendly help" }) });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(["negative", "positive"], body!["predictions"]!.AsArray().Select(p => (string?)p));
    }
}
