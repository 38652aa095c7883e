using System.Net;
using System.Text.Json.Nodes;
using Xunit.Abstractions;

namespace Forge.Ui.Tests;

/// <summary>
/// Every page of the web UI in headless Chromium against real servers: what each shows, no console error, no dialog.
/// The screenshots these take are the ones in docs/ui.md (refresh them with
/// <c>FORGE_UPDATE_SCREENSHOTS=1 dotnet test tests/Forge.Ui.Tests</c>).
/// </summary>
[Collection(UiCollection.Name)]
public sealed class PageTests(UiFixture ui, Browser browser, ITestOutputHelper output) : IClassFixture<Browser>
{
    private static async Task<string> TextAsync(WatchedPage p, string selector) => await p.Page.Locator(selector).First.InnerTextAsync();

    private static Task<int> CountAsync(WatchedPage p, string selector) => p.Page.Locator(selector).CountAsync();

    [ChromiumFact]
    public async Task Every_page_shows_its_content_with_no_console_error()
    {
        await using var p = await browser.OpenAsync(output);
        var url = ui.ServeUrl;

        await p.GoAsync(url + "/", "home");
        Assert.Contains("lgbm-", await TextAsync(p, "#recent-runs"));
        Assert.Contains("champion → v1", await TextAsync(p, "#registered-models"));
        Assert.Contains("ready", await TextAsync(p, "#served-models"));
        Assert.Contains("tune-churn", await TextAsync(p, "main"));
        await p.ScreenshotAsync("home");

        await p.GoAsync(url + "/#/runs", "runs");
        Assert.Equal(15, await CountAsync(p, "#runs-table tbody tr"));
        Assert.Contains("15 runs", await TextAsync(p, "#page-info"));
        await p.ScreenshotAsync("runs");

        // Sorting by a metric from its column header: the run with the best accuracy comes first.
        await p.Page.Locator("#runs-table th button", new() { HasText = "accuracy" }).ClickAsync();
        await p.Page.WaitForFunctionAsync("() => document.querySelector(\"main[data-page='runs'] th[aria-sort='descending']\")?.textContent.includes('accuracy')");
        Assert.Equal(ui.Runs["lgbm-07"], await p.Page.Locator("#runs-table tbody tr").First.GetAttributeAsync("data-run"));

        await p.GoAsync(url + "/#/runs?filter=" + Uri.EscapeDataString("params.leaves = '8'"), "runs");
        Assert.Contains("3 runs", await TextAsync(p, "#page-info"));

        await p.GoAsync(url + "/#/runs/" + ui.Runs["lgbm-07"], "runs");
        Assert.Equal("lgbm-07", await TextAsync(p, "#run-name"));
        Assert.Contains("learning_rate", await TextAsync(p, "#run-params"));
        Assert.Equal(2, await CountAsync(p, "#run-charts svg"));
        Assert.Contains("churn v1", await TextAsync(p, "#run-lineage"));
        var download = await p.Page.RunAndWaitForDownloadAsync(() => p.Page.Locator("#run-artifacts a", new() { HasText = "notes.txt" }).ClickAsync());
        Assert.Equal("trained on the synthetic churn table\n", await File.ReadAllTextAsync((await download.PathAsync())!));
        await p.ScreenshotAsync("run");

        await p.GoAsync(url + "/#/runs/" + ui.Runs["sweep-child"], "runs");
        Assert.Contains("sweep-parent", await TextAsync(p, "#run-lineage"));

        var ids = string.Join(",", new[] { "lgbm-01", "lgbm-05", "lgbm-09" }.Select(n => ui.Runs[n]));
        await p.GoAsync(url + "/#/compare?ids=" + ids + "&metric=loss", "compare");
        Assert.Equal(3, await CountAsync(p, "#compare-chart svg path"));
        Assert.Equal(3, await CountAsync(p, "#compare-table tbody tr"));
        await p.ScreenshotAsync("compare");

        await p.GoAsync(url + "/#/models", "models");
        Assert.Contains("churn", await TextAsync(p, "#models-table"));
        var live = await TextAsync(p, "#live-status");
        Assert.Contains("sentiment", live);
        Assert.Contains("ms", live);
        await p.ScreenshotAsync("models");

        await p.GoAsync(url + "/#/models/churn", "models");
        Assert.Equal("churn", await TextAsync(p, "#model-name"));
        Assert.Equal(2, await CountAsync(p, "details[data-version]"));
        Assert.Contains("x1", await TextAsync(p, "details[data-version='2'] .signature"));
        await p.ScreenshotAsync("model");

        await p.GoAsync(url + "/#/studies", "studies");
        Assert.Contains("tune-churn", await TextAsync(p, "#studies-table"));
        await p.GoAsync(url + "/#/studies/tune-churn", "studies");
        Assert.Equal(40, await CountAsync(p, "#study-history circle"));
        // The importance forest is fitted in the background; under load the page draws it on a later poll.
        await p.Page.WaitForSelectorAsync("#study-importance rect", new() { Timeout = 120_000 });
        Assert.Equal(3, await CountAsync(p, "#study-importance rect"));
        Assert.Equal(40, await CountAsync(p, "#study-parallel g path"));
        Assert.Equal(40, await CountAsync(p, "#trials-table tbody tr"));
        await p.ScreenshotAsync("study");

        await p.GoAsync(url + "/#/explain?model=churn", "explain");
        await p.Page.ClickAsync("#explain-run");
        await p.Page.WaitForSelectorAsync("#waterfall");
        Assert.Equal(4, await CountAsync(p, "#waterfall rect.contribution"));
        Assert.Contains(await TextAsync(p, "#predicted-label"), new[] { "yes", "no" });
        await p.ScreenshotAsync("explain");

        await p.GoAsync(url + "/#/drift?model=churn", "drift");
        Assert.Contains("x1", await TextAsync(p, "#drift-features"));
        Assert.Contains("dataset drift", await TextAsync(p, "#drift-summary"));
        Assert.True(await CountAsync(p, "#drift-histograms svg") >= 4);
        Assert.Equal(2, await CountAsync(p, "#drift-timeline path"));
        Assert.Contains("stable", (await TextAsync(p, "#drift-detectors")).ToLowerInvariant());
        await p.ScreenshotAsync("drift");

        await p.Page.GotoAsync(url + "/chat");
        await p.Page.WaitForSelectorAsync("#chat[data-ready=true]");

        Assert.Empty(p.Errors);
        Assert.Empty(p.Dialogs);
    }

    [ChromiumFact]
    public async Task Forge_ui_shows_the_store_and_says_which_pages_need_forge_serve()
    {
        await using var p = await browser.OpenAsync(output);
        await p.GoAsync(ui.UiUrl + "/", "home");
        Assert.Contains("forge ui", await TextAsync(p, "#mode"));
        Assert.Contains("lgbm-", await TextAsync(p, "#recent-runs"));
        await p.GoAsync(ui.UiUrl + "/#/runs?sort=" + Uri.EscapeDataString("metrics.loss ASC"), "runs");
        Assert.Equal(ui.Runs["lgbm-00"], await p.Page.Locator("#runs-table tbody tr").First.GetAttributeAsync("data-run"));
        await p.GoAsync(ui.UiUrl + "/#/explain", "explain");
        Assert.Contains("forge serve", await TextAsync(p, "main .notice"));
        await p.GoAsync(ui.UiUrl + "/#/drift", "drift");
        Assert.Contains("forge serve", await TextAsync(p, "main .notice"));
        Assert.Empty(p.Errors);
    }

    [ChromiumFact]
    public async Task A_bad_filter_and_an_unknown_run_are_explained_on_the_page()
    {
        await using var p = await browser.OpenAsync(output);
        await p.GoAsync(ui.ServeUrl + "/#/runs?filter=" + Uri.EscapeDataString("metrics.accuracy >> 1"), "runs");
        Assert.Contains("bad filter", await TextAsync(p, "#runs-error"));
        Assert.True(await p.Page.Locator("#error").IsVisibleAsync());
        await p.GoAsync(ui.ServeUrl + "/#/runs/0123456789abcdef0123456789abcdef", "runs");
        Assert.Contains("Not found", await TextAsync(p, "main"));
        Assert.Contains("0123456789abcdef0123456789abcdef", await TextAsync(p, "#error"));
    }

    [ChromiumFact]
    public async Task A_study_page_shows_the_importance_once_it_is_computed_in_the_background()
    {
        var study = Forge.Tuning.Study.Create(new Forge.Tuning.StudyOptions { Name = "wide-study-page", Storage = ui.Studies, Sampler = new Forge.Tuning.RandomSampler(6) });
        study.Optimize(t => t.SuggestFloat("x", 0, 1) + (0.1 * t.SuggestFloat("y", 0, 1)), 100);
        var wait = Forge.Serving.Ui.WebUi.ImportanceWait;
        // The first answer surely comes without importance, so the chart can only appear if the page asks again.
        Forge.Serving.Ui.WebUi.ImportanceWait = TimeSpan.Zero;
        try
        {
            await using var p = await browser.OpenAsync(output);
            await p.GoAsync(ui.UiUrl + "/#/studies/wide-study-page", "studies");
            await p.Page.WaitForSelectorAsync("#study-importance rect", new() { Timeout = 60_000 });
            Assert.Equal(2, await CountAsync(p, "#study-importance rect"));
            Assert.Equal(0, await CountAsync(p, "#importance-pending"));
            Assert.Equal(100, await CountAsync(p, "#study-history circle"));
            Assert.Empty(p.Errors);
        }
        finally
        {
            Forge.Serving.Ui.WebUi.ImportanceWait = wait;
        }
    }

    [ChromiumFact]
    public async Task A_running_study_updates_live()
    {
        await using var p = await browser.OpenAsync(output);
        await p.GoAsync(ui.UiUrl + "/#/studies/live-study", "studies");
        Assert.Contains("6 trials", await TextAsync(p, "#study-summary"));
        Assert.True(await p.Page.Locator("#study-live").IsVisibleAsync());
        ui.LiveStudy.Tell(ui.LiveTrial, 0.4242);
        ui.LiveStudy.Optimize(t => t.SuggestFloat("x", 0, 1), 1);
        await p.Page.WaitForFunctionAsync("() => document.querySelector('#study-summary')?.textContent.includes('7 trials')", null, new() { Timeout = 20_000 });
        Assert.Equal(7, await CountAsync(p, "#trials-table tbody tr"));
        Assert.Equal(1, await p.Page.Locator("#trials-table td", new() { HasTextRegex = new System.Text.RegularExpressions.Regex("^0\\.4242$") }).CountAsync());
    }
}

/// <summary>Run names, tags, params and chat messages that look like markup are shown as text, and no script runs.</summary>
[Collection(UiCollection.Name)]
public sealed class XssTests(UiFixture ui, Browser browser, ITestOutputHelper output) : IClassFixture<Browser>
{
    [ChromiumFact]
    public async Task A_run_named_like_a_script_tag_is_shown_as_text()
    {
        await using var p = await browser.OpenAsync(output);
        await p.GoAsync(ui.ServeUrl + "/#/runs?filter=" + Uri.EscapeDataString($"name = '{UiFixture.ScriptName}'"), "runs");
        Assert.True(await p.Page.GetByText(UiFixture.ScriptName, new() { Exact = true }).IsVisibleAsync());
        await p.GoAsync(ui.ServeUrl + "/", "home");
        Assert.True(await p.Page.GetByText(UiFixture.ScriptName, new() { Exact = true }).First.IsVisibleAsync());
        await p.GoAsync(ui.ServeUrl + "/#/runs/" + ui.Runs[UiFixture.ScriptName], "runs");
        Assert.Equal(UiFixture.ScriptName, await p.Page.Locator("#run-name").InnerTextAsync());
        Assert.Contains("<img src=x onerror=alert(2)>", await p.Page.Locator("#run-tags").InnerTextAsync());
        Assert.Contains("<b>bold</b>", await p.Page.Locator("#run-params").InnerTextAsync());
        Assert.Equal(0, await p.Page.Locator("main script, main img, main b").CountAsync());
        await p.ScreenshotAsync("xss");
        Assert.Empty(p.Dialogs);
        Assert.Empty(p.Errors);
    }

    [ChromiumFact]
    public async Task A_chat_message_like_a_script_tag_is_shown_as_text()
    {
        await using var p = await browser.OpenAsync(output);
        await p.Page.GotoAsync(ui.ServeUrl + "/chat");
        await p.Page.WaitForSelectorAsync("#chat[data-ready=true]");
        await p.Page.FillAsync("#message-input", UiFixture.ScriptName);
        await p.Page.PressAsync("#message-input", "Enter");
        await p.Page.WaitForSelectorAsync(".bubble[data-index='0'][data-state=done]");
        Assert.True(await p.Page.GetByText(UiFixture.ScriptName, new() { Exact = true }).IsVisibleAsync());
        Assert.Equal(0, await p.Page.Locator("#chat script").CountAsync());
        Assert.Empty(p.Dialogs);
        Assert.Empty(p.Errors);
    }
}

/// <summary>Moving an alias needs the API key: without it the server answers 401 and the page says why.</summary>
[Collection(UiCollection.Name)]
public sealed class AliasTests(UiFixture ui, Browser browser, ITestOutputHelper output) : IClassFixture<Browser>
{
    private async Task<int> AliasVersionAsync(string alias)
    {
        var model = JsonNode.Parse(await ui.Client.GetStringAsync(ui.UiUrl + "/api/ui/models/churn"))!;
        return model["aliases"]![alias]!.GetValue<int>();
    }

    [ChromiumFact]
    public async Task Moving_an_alias_without_the_key_is_refused_and_the_page_says_why()
    {
        foreach (var url in new[] { ui.UiUrl, ui.ServeUrl })
        {
            await using var p = await browser.OpenAsync(output);
            await p.GoAsync(url + "/#/models/churn?alias=challenger", "models");
            await p.Page.SelectOptionAsync("#alias-version", "1");
            await p.Page.ClickAsync("#alias-move");
            var error = p.Page.Locator("#alias-error");
            await error.WaitForAsync();
            Assert.Equal("401", await error.GetAttributeAsync("data-status"));
            var why = await error.InnerTextAsync();
            Assert.Contains("needs the API key", why);
            Assert.Contains("FORGE_API_KEY", why);
            Assert.Equal(2, await AliasVersionAsync("challenger"));
            if (url == ui.UiUrl) await p.ScreenshotAsync("alias-refused");

            await p.Page.FillAsync("#api-key", "not-the-key");
            await p.Page.ClickAsync("#alias-move");
            await p.Page.WaitForFunctionAsync("() => document.querySelector('#alias-error')?.textContent.includes('wrong')");
            Assert.Equal(2, await AliasVersionAsync("challenger"));

            await p.Page.FillAsync("#api-key", UiFixture.ApiKey);
            await p.Page.ClickAsync("#alias-move");
            await p.Page.WaitForSelectorAsync("#alias-result .good");
            Assert.Equal(1, await AliasVersionAsync("challenger"));
            using var store = Forge.Tracking.TrackingStore.Open(ui.Database, new Forge.Tracking.TrackingStoreOptions { ArtifactRoot = ui.Artifacts });
            store.SetAlias("churn", "challenger", 2);
            // The only console errors are the browser's own notes of the refused requests.
            Assert.All(p.Errors, e => Assert.Contains("401", e));
            Assert.Empty(p.Dialogs);
        }
    }
}
