using Forge.Tests.Shared;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace Forge.Ui.Tests;

/// <summary>
/// A fact that drives Debian's Chromium. Without the browser it is skipped with the reason on a developer machine; with
/// CI=true it runs and so fails, since .ci/setup installs Chromium and CI must never pass by skipping.
/// </summary>
public sealed class ChromiumFactAttribute : FactAttribute
{
    /// <summary>Where Debian's chromium package puts the browser.</summary>
    public const string Path = "/usr/bin/chromium";

    public ChromiumFactAttribute()
    {
        if (!SharedData.IsCi && !File.Exists(Path)) Skip = $"{Path} is not installed (apt-get install chromium, as .ci/setup does); set CI=true to make this a failure";
    }

    /// <summary>The test also needs the shared MNIST copy (the served image model is trained on it); skipped without it, failing under CI.</summary>
    public bool NeedsMnist
    {
        get;
        set
        {
            field = value;
            if (value && Skip is null && !SharedData.IsCi && SharedData.MnistOrNull is null)
                Skip = "MNIST (../shared/data/mnist next to the repository) is not present; set CI=true to make this a failure";
        }
    }
}

/// <summary>
/// Headless Chromium through Playwright's executable path (no browser download), a page per test that records every
/// console error, page error and dialog, and screenshots: to a temporary folder, or to docs/images when
/// <c>FORGE_UPDATE_SCREENSHOTS=1</c> (and not under CI).
/// </summary>
public sealed class Browser : IAsyncLifetime
{
    private IPlaywright? _playwright;

    public IBrowser Chromium { get; private set; } = null!;

    public string ScreenshotDir { get; } = Environment.GetEnvironmentVariable("FORGE_UPDATE_SCREENSHOTS") == "1" && !SharedData.IsCi && SharedData.RepoRoot is { } root
        ? System.IO.Path.Combine(root, "docs", "images")
        : Directory.CreateTempSubdirectory("forge-ui-shots-").FullName;

    public async Task InitializeAsync()
    {
        _playwright = await Playwright.CreateAsync();
        Chromium = await _playwright.Chromium.LaunchAsync(new() { ExecutablePath = ChromiumFactAttribute.Path, Headless = true });
    }

    public async Task DisposeAsync()
    {
        if (Chromium is not null) await Chromium.DisposeAsync();
        _playwright?.Dispose();
    }

    public async Task<WatchedPage> OpenAsync(ITestOutputHelper output)
    {
        var context = await Chromium.NewContextAsync(new() { ViewportSize = new() { Width = 1280, Height = 860 }, AcceptDownloads = true });
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout(30_000);
        return new WatchedPage(page, output, ScreenshotDir);
    }
}

/// <summary>A page with what it logged: console errors, uncaught errors and dialogs (none may appear).</summary>
public sealed class WatchedPage : IAsyncDisposable
{
    private readonly string _shots;

    public WatchedPage(IPage page, ITestOutputHelper output, string shots)
    {
        Page = page;
        _shots = shots;
        page.Console += (_, m) =>
        {
            output.WriteLine($"console.{m.Type}: {m.Text}");
            if (m.Type == "error") Errors.Add(m.Text);
        };
        page.PageError += (_, e) =>
        {
            output.WriteLine($"page error: {e}");
            Errors.Add(e);
        };
        page.Dialog += async (_, d) =>
        {
            Dialogs.Add(d.Message);
            await d.DismissAsync();
        };
    }

    public IPage Page { get; }

    public List<string> Errors { get; } = [];

    public List<string> Dialogs { get; } = [];

    /// <summary>Goes to a URL and waits until the page has rendered (the router marks main with the page it drew).</summary>
    public async Task GoAsync(string url, string section)
    {
        // From a blank page each time, so a hash-only change is a fresh load and no earlier page's marker can match.
        await Page.GotoAsync("about:blank");
        await Page.GotoAsync(url);
        await Page.WaitForSelectorAsync($"main[data-page='{section}']");
    }

    public async Task ScreenshotAsync(string name)
    {
        Directory.CreateDirectory(_shots);
        await Page.ScreenshotAsync(new() { Path = System.IO.Path.Combine(_shots, $"ui-{name}.png"), FullPage = true });
    }

    public ValueTask DisposeAsync() => new(Page.Context.CloseAsync());
}
