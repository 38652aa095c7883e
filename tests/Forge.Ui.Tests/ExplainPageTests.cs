using System.Text.Json;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace Forge.Ui.Tests;

/// <summary>
/// The Explain page for the two kinds the tabular walk in <see cref="PageTests"/> does not reach: a text model (LIME,
/// words highlighted in place) and a Forge MNIST CNN (Integrated Gradients, a heatmap beside the uploaded digit).
/// </summary>
[Collection(UiCollection.Name)]
public sealed partial class ExplainPageTests(UiFixture ui, Browser browser, ITestOutputHelper output) : IClassFixture<Browser>
{
    private sealed record Token(string Word, double Value, string Background);

    [GeneratedRegex(@"\w+")]
    private static partial Regex Word();

    [GeneratedRegex(@"^rgba\((\d+), (\d+), (\d+), ([0-9.]+)\)$")]
    private static partial Regex Rgba();

    [ChromiumFact]
    public async Task A_text_is_shown_word_by_word_with_the_words_that_decided_it_coloured()
    {
        // A clearly positive support message; the served TF-IDF model learnt "great" as one of the most positive words.
        const string text = "Great service, thanks for the quick fix!";
        await using var p = await browser.OpenAsync(output);
        await p.GoAsync(ui.ServeUrl + "/#/explain?model=" + UiFixture.TextModel, "explain");
        await p.Page.FillAsync("#explain-input", text);
        await p.Page.ClickAsync("#explain-run");
        await p.Page.WaitForSelectorAsync("#explain-tokens");

        Assert.Equal("positive", await p.Page.Locator("#predicted-label").InnerTextAsync());
        // The text reads as typed: the words highlighted in place, the punctuation between them kept.
        Assert.Equal(text, await p.Page.Locator("#explain-tokens").InnerTextAsync());
        var json = await p.Page.EvaluateAsync<JsonElement>("""
            () => [...document.querySelectorAll('#explain-tokens span')].map((s) => ({
              word: s.textContent, value: Number(s.dataset.value), background: getComputedStyle(s).backgroundColor }))
            """);
        var tokens = json.EnumerateArray().Select(t => new Token(t.GetProperty("word").GetString()!, t.GetProperty("value").GetDouble(), t.GetProperty("background").GetString()!)).ToList();
        foreach (var t in tokens) output.WriteLine($"{t.Word}: {t.Value} {t.Background}");
        Assert.Equal(Word().Matches(text).Select(m => m.Value), tokens.Select(t => t.Word));

        // The word that decided it is "Great": it pushes towards 'positive' more than any other, and is shaded red.
        var strongest = tokens.MaxBy(t => t.Value)!;
        Assert.Equal("Great", strongest.Word);
        Assert.True(strongest.Value > 0.05, $"'Great' pushes towards 'positive' by only {strongest.Value}");
        var (r, alpha) = Colour(strongest.Background);
        Assert.Equal(214, r);
        Assert.InRange(alpha, 0.3, 0.75);
        // A word that pushes the other way is blue, never red.
        Assert.All(tokens.Where(t => t.Value < -0.01), t => Assert.NotEqual(214, Colour(t.Background).Red));
        await p.ScreenshotAsync("explain-text");
        Assert.Empty(p.Errors);
        Assert.Empty(p.Dialogs);
    }

    [ChromiumFact(NeedsMnist = true)]
    public async Task An_uploaded_digit_is_classified_and_its_heatmap_drawn()
    {
        await using var p = await browser.OpenAsync(output);
        await p.GoAsync(ui.ServeUrl + "/#/explain?model=" + UiFixture.ImageModel, "explain");
        await p.Page.SetInputFilesAsync("#explain-file", ui.DigitPng);
        await p.Page.ClickAsync("#explain-run");
        await p.Page.WaitForSelectorAsync("#explain-heatmap");

        var label = await p.Page.Locator("#predicted-label").InnerTextAsync();
        output.WriteLine($"predicted {label}, true label {ui.DigitLabel}");
        Assert.Matches("^[0-9]$", label);
        Assert.Contains("Method ig", await p.Page.Locator("#explanation").InnerTextAsync());
        // The pixels the heatmap paints: Integrated Gradients from a black baseline gives ink pixels weight and leaves
        // pixels that are black in the digit at exactly zero, so some but far from all of the 28 x 28 are painted.
        var canvas = await p.Page.EvaluateAsync<JsonElement>("""
            () => {
              const c = document.querySelector('#explain-heatmap');
              const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
              let painted = 0;
              for (let i = 3; i < d.length; i += 4) if (d[i] > 0) painted++;
              return { width: c.width, height: c.height, painted };
            }
            """);
        var painted = canvas.GetProperty("painted").GetInt32();
        output.WriteLine($"{painted} painted pixels");
        Assert.Equal(28, canvas.GetProperty("width").GetInt32());
        Assert.Equal(28, canvas.GetProperty("height").GetInt32());
        Assert.InRange(painted, 30, 400);
        Assert.True(await p.Page.Locator("#explanation img[alt='The explained image']").IsVisibleAsync());
        await p.ScreenshotAsync("explain-image");
        Assert.Empty(p.Errors);
        Assert.Empty(p.Dialogs);
    }

    private static (int Red, double Alpha) Colour(string css)
    {
        var m = Rgba().Match(css);
        Assert.True(m.Success, $"background {css} is not a translucent colour");
        return (int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), double.Parse(m.Groups[4].Value, System.Globalization.CultureInfo.InvariantCulture));
    }
}
