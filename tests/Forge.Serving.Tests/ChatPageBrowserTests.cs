using System.Globalization;
using Forge.Tests.Shared;
using Microsoft.Playwright;

namespace Forge.Serving.Tests;

/// <summary>
/// The /chat page end to end in headless Chromium (Debian's, driven by Playwright through its executable path; no
/// browser download): a real Kestrel server on 127.0.0.1 with the MiniLM sentiment bundle, messages typed as a customer
/// would, and the escalation rule checked step by step.
/// </summary>
/// <remarks>
/// The screenshot goes to a temporary folder; with <c>FORGE_UPDATE_SCREENSHOTS=1</c> (and not under CI) it refreshes
/// docs/images/chat.png instead: <c>FORGE_UPDATE_SCREENSHOTS=1 dotnet test tests/Forge.Serving.Tests --filter ChatPageBrowserTests</c>.
/// </remarks>
[Collection(SentimentServerCollection.Name)]
public sealed class ChatPageBrowserTests(SentimentServerFixture sentiment, Xunit.Abstractions.ITestOutputHelper output) : IAsyncLifetime
{
    private const string Folder = SentimentServerFixture.Folder;
    private IPlaywright? _playwright;
    private IBrowser? _browser;

    public async Task InitializeAsync()
    {
        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new() { ExecutablePath = ChromiumFactAttribute.Path, Headless = true });
    }

    public async Task DisposeAsync()
    {
        if (_browser is not null) await _browser.DisposeAsync();
        _playwright?.Dispose();
    }

    private async Task<IPage> OpenChatAsync()
    {
        var page = await _browser!.NewPageAsync(new() { ViewportSize = new() { Width = 900, Height = 1250 } });
        page.Console += (_, message) => output.WriteLine($"console.{message.Type}: {message.Text}");
        page.PageError += (_, error) => output.WriteLine($"page error: {error}");
        await page.GotoAsync(new Uri(sentiment.Server.Client.BaseAddress!, "/chat").ToString());
        await page.WaitForSelectorAsync("#chat[data-ready=true]", new() { Timeout = 30_000 });
        return page;
    }

    /// <summary>Types a message, sends it with Enter, and waits for its bubble to be classified.</summary>
    private static async Task<(string Label, double Score, string Escalation)> SayAsync(IPage page, int index, string text)
    {
        await page.FillAsync("#message-input", text);
        await page.PressAsync("#message-input", "Enter");
        var bubble = await page.WaitForSelectorAsync($".bubble[data-index='{index}'][data-state=done]", new() { Timeout = 30_000 });
        var label = await bubble!.GetAttributeAsync("data-label");
        var score = double.Parse((await bubble.GetAttributeAsync("data-score"))!, CultureInfo.InvariantCulture);
        var escalation = await page.GetAttributeAsync("#escalation", "data-state");
        return (label!, score, escalation!);
    }

    [ChromiumFact(Folder)]
    public async Task Messages_show_their_sentiment_and_the_escalation_flag_rises_and_clears_by_the_rule()
    {
        var page = await OpenChatAsync();
        var p = SentimentServerFixture.Positive;
        var n = SentimentServerFixture.Negative;
        // Each step: the message, its expected label, and the flag after it.
        (string Text, string Label, string Escalation)[] steps =
        [
            (p[0], "positive", "clear"),
            (n[0], "negative", "clear"),   // 1 strong negative in the last 3
            (p[1], "positive", "clear"),
            (n[1], "negative", "raised"),  // 2 of the last 3 (not in a row) are negative with p ≥ 0.8
            (p[2], "positive", "raised"),  // one non-negative message is not enough to clear it
            (p[3], "positive", "clear"),   // two in a row are
            (n[2], "negative", "clear"),   // last 3: positive, positive, negative
            (n[3], "negative", "raised"),  // two negatives in a row
        ];

        for (var i = 0; i < steps.Length; i++)
        {
            var (label, score, escalation) = await SayAsync(page, i, steps[i].Text);
            output.WriteLine($"{i}: {label} {score:F4} → escalation {escalation}: {steps[i].Text}");
            Assert.Equal(steps[i].Label, label);
            if (label == "negative") Assert.True(score >= 0.8, $"message {i} is negative with p = {score}, too weak to count for escalation");
            Assert.Equal(steps[i].Escalation, escalation);
        }

        Assert.Equal(steps.Length, await page.Locator(".bubble[data-state=done]").CountAsync());
        Assert.Equal("negative", await page.GetAttributeAsync("#mood", "data-mood"));
        Assert.Contains("Escalate", await page.InnerTextAsync("#escalation"), StringComparison.Ordinal);
        var tag = await page.InnerTextAsync(".bubble[data-index='3'] .tag");
        Assert.Matches(@"^negative [01]\.\d\d$", tag);

        var screenshot = ScreenshotPath();
        await page.Locator("main").ScreenshotAsync(new() { Path = screenshot, Animations = ScreenshotAnimations.Disabled });
        output.WriteLine($"screenshot: {screenshot}");
        var png = await File.ReadAllBytesAsync(screenshot);
        Assert.True(png.Length > 10_000 && png[1] == 'P' && png[2] == 'N' && png[3] == 'G', $"{screenshot} is not a PNG screenshot");
    }

    [ChromiumFact(Folder)]
    public async Task The_escalation_rule_counts_only_confident_negatives_and_clears_only_after_two_non_negatives()
    {
        var page = await OpenChatAsync();
        // N = negative with p(negative), P = positive, U = neutral (a 3-class model's non-negative label).
        (string Sequence, string Expected)[] cases =
        [
            ("", "clear"),
            ("N.9", "clear"),
            ("N.9 N.79", "clear"),
            ("N.9 N.8", "raised"),
            ("N.9 P N.85", "raised"),
            ("N.9 P P N.9", "clear"),
            ("N.95 N.95 P", "raised"),
            ("N.95 N.95 P P", "clear"),
            ("N.95 N.95 N.5 P", "raised"),
            ("N.95 N.95 N.5 P P", "clear"),
            ("N.95 N.95 P N.5 P", "raised"),
            ("N.95 N.95 P P N.95", "clear"),
            ("N.95 N.95 U P", "clear"),
            ("N.95 N.95 P P N.95 N.95", "raised"),
        ];

        foreach (var (sequence, expected) in cases)
        {
            var messages = sequence.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(m => m[0] switch
            {
                'N' => $"{{label: 'negative', pNegative: 0{m[1..]}}}",
                'P' => "{label: 'positive', pNegative: 0.05}",
                _ => "{label: 'neutral', pNegative: 0.2}",
            });
            var state = await page.EvaluateAsync<string>($"escalationState([{string.Join(", ", messages)}])");
            Assert.True(expected == state, $"[{sequence}]: {state}, expected {expected}");
        }
        Assert.Equal(0.0, await page.EvaluateAsync<double>("moodValue([])"));
        // 0.4 × (0.02 − 0.98) + 0.6 × (0.9 − 0.1): the newest message weighs 0.4.
        Assert.InRange(await page.EvaluateAsync<double>("moodValue([{pPositive: 0.9, pNegative: 0.1}, {pPositive: 0.02, pNegative: 0.98}])"), 0.0959, 0.0961);
        Assert.Equal(["negative", "neutral", "positive"], [
            await page.EvaluateAsync<string>("moodLabel(-0.3)"), await page.EvaluateAsync<string>("moodLabel(0.1)"), await page.EvaluateAsync<string>("moodLabel(0.3)")]);
    }

    private string ScreenshotPath()
    {
        var update = Environment.GetEnvironmentVariable("FORGE_UPDATE_SCREENSHOTS") == "1" && !SharedData.IsCi && SharedData.RepoRoot is not null;
        if (!update) return Path.Combine(sentiment.TempDirectory, "chat.png");
        var path = Path.Combine(SharedData.RepoRoot!, "docs", "images", "chat.png");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        return path;
    }
}
