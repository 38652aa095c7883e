using System.Net;
using System.Text.Json.Nodes;
using Forge.Serving.Ui;
using Forge.Tuning;

namespace Forge.Ui.Tests;

/// <summary>The JSON the pages read, over HTTP: paging, sorting and filtering in the store, errors as problem details, the API key.</summary>
[Collection(UiCollection.Name)]
public sealed class ApiTests(UiFixture ui)
{
    private async Task<(HttpStatusCode Status, JsonNode? Body)> GetAsync(string url)
    {
        using var response = await ui.Client.GetAsync(url);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text));
    }

    private async Task<int> AliasVersionAsync(string alias) =>
        (await GetAsync(ui.UiUrl + "/api/ui/models/churn")).Body!["aliases"]![alias]!.GetValue<int>();

    [Fact]
    public async Task A_study_answer_does_not_wait_for_its_importance_and_later_ones_carry_it()
    {
        var study = Study.Create(new StudyOptions { Name = "wide-study", Storage = ui.Studies, Sampler = new RandomSampler(5) });
        study.Optimize(t => (3 * t.SuggestFloat("a", 0, 1)) + (0.1 * t.SuggestFloat("b", 0, 1)), 200);
        var wait = WebUi.ImportanceWait;
        // No wait at all: the first answer goes out while the forest is still being fitted.
        WebUi.ImportanceWait = TimeSpan.Zero;
        try
        {
            var first = (await GetAsync(ui.UiUrl + "/api/ui/studies/wide-study")).Body!;
            Assert.True(first["importancePending"]!.GetValue<bool>());
            Assert.Empty(first["importance"]!.AsObject());
            Assert.Equal(200, first["trials"]!.AsArray().Count);

            JsonNode later;
            var tries = 0;
            do
            {
                await Task.Delay(100);
                later = (await GetAsync(ui.UiUrl + "/api/ui/studies/wide-study")).Body!;
            }
            while (later["importancePending"]!.GetValue<bool>() && ++tries < 600);
            Assert.False(later["importancePending"]!.GetValue<bool>());
            Assert.Equal(["a", "b"], later["importance"]!.AsObject().Select(kv => kv.Key));
            Assert.Equal(200, later["importanceTrials"]!.GetValue<int>());

            // Another completed trial: the last importance is sent, marked pending, while the new fit runs.
            study.Optimize(t => (3 * t.SuggestFloat("a", 0, 1)) + (0.1 * t.SuggestFloat("b", 0, 1)), 1);
            var updating = (await GetAsync(ui.UiUrl + "/api/ui/studies/wide-study")).Body!;
            Assert.True(updating["importancePending"]!.GetValue<bool>());
            Assert.Equal(["a", "b"], updating["importance"]!.AsObject().Select(kv => kv.Key));
        }
        finally
        {
            WebUi.ImportanceWait = wait;
        }
    }

    [Fact]
    public async Task Runs_are_paged_sorted_and_filtered_by_the_server()
    {
        var (status, page) = await GetAsync(ui.UiUrl + "/api/ui/runs?size=5&page=2&sort=" + Uri.EscapeDataString("metrics.loss ASC"));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(15, page!["total"]!.GetValue<long>());
        var names = page["runs"]!.AsArray().Select(r => r!["name"]!.GetValue<string>()).ToArray();
        // Losses rise with the run number; runs without a loss (the sweep pair and the script-named run) come last.
        Assert.Equal(["lgbm-10", "lgbm-11", UiFixture.ScriptName, "sweep-child", "sweep-parent"], names.Take(2).Concat(names.Skip(2).Order(StringComparer.Ordinal)).ToArray());

        var first = (await GetAsync(ui.UiUrl + "/api/ui/runs?size=3&sort=" + Uri.EscapeDataString("metrics.accuracy DESC"))).Body!;
        Assert.Equal(["lgbm-07", "lgbm-06", "lgbm-08"], first["runs"]!.AsArray().Select(r => r!["name"]!.GetValue<string>()).Take(1).Concat(
            first["runs"]!.AsArray().Skip(1).Select(r => r!["name"]!.GetValue<string>()).Order(StringComparer.Ordinal)).ToArray());

        var filtered = (await GetAsync(ui.UiUrl + "/api/ui/runs?experiment=sweeps&filter=" + Uri.EscapeDataString("metrics.accuracy >= 0.5"))).Body!;
        Assert.Equal(1, filtered["total"]!.GetValue<long>());
        Assert.Equal("sweep-child", filtered["runs"]![0]!["name"]!.GetValue<string>());
        Assert.Equal(0.5, filtered["runs"]![0]!["metrics"]!["accuracy"]!.GetValue<double>());
    }

    [Fact]
    public async Task Bad_requests_are_problem_details_that_say_what_is_wrong()
    {
        var (status, body) = await GetAsync(ui.UiUrl + "/api/ui/runs?filter=" + Uri.EscapeDataString("metric.accuracy >> 1"));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("bad filter at column", body!["detail"]!.GetValue<string>());

        (status, body) = await GetAsync(ui.UiUrl + "/api/ui/runs?size=100000");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("page size 100000", body!["detail"]!.GetValue<string>());

        (status, body) = await GetAsync(ui.UiUrl + "/api/ui/models/chrun");
        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Contains("churn", body!["detail"]!.GetValue<string>());

        (status, _) = await GetAsync(ui.UiUrl + "/api/ui/studies/nope");
        Assert.Equal(HttpStatusCode.NotFound, status);
    }

    [Fact]
    public async Task Only_recorded_artifacts_can_be_downloaded()
    {
        var run = ui.Runs["lgbm-07"];
        using var ok = await ui.Client.GetAsync($"{ui.UiUrl}/api/ui/runs/{run}/artifact?path=notes.txt");
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal("trained on the synthetic churn table\n", await ok.Content.ReadAsStringAsync());
        foreach (var path in new[] { "../../forge.db", "/etc/passwd", "missing.txt" })
        {
            using var refused = await ui.Client.GetAsync($"{ui.UiUrl}/api/ui/runs/{run}/artifact?path={Uri.EscapeDataString(path)}");
            Assert.Equal(HttpStatusCode.NotFound, refused.StatusCode);
        }
    }

    [Fact]
    public async Task Run_detail_has_params_tags_metrics_artifacts_and_lineage()
    {
        var run = (await GetAsync(ui.UiUrl + "/api/ui/runs/" + ui.Runs["lgbm-07"])).Body!;
        Assert.Equal("0.16", run["params"]!["learning_rate"]!.GetValue<string>());
        Assert.Equal("ben", run["tags"]!["owner"]!.GetValue<string>());
        Assert.Equal(9, run["metrics"]!["accuracy"]!["step"]!.GetValue<long>());
        Assert.Equal("notes.txt", run["artifacts"]![0]!["path"]!.GetValue<string>());
        Assert.Equal([1, 2], run["models"]!.AsArray().Select(m => m!["version"]!.GetValue<int>()).ToArray());
        var histories = (await GetAsync(ui.UiUrl + $"/api/ui/runs/{ui.Runs["lgbm-07"]}/metrics?keys=loss")).Body!;
        Assert.Equal(10, histories["metrics"]!["loss"]!.AsArray().Count);
        var parent = (await GetAsync(ui.UiUrl + "/api/ui/runs/" + ui.Runs["sweep-parent"])).Body!;
        Assert.Equal("sweep-child", parent["children"]![0]!["name"]!.GetValue<string>());
    }

    [Fact]
    public async Task Served_models_report_their_state_and_traffic()
    {
        var served = (await GetAsync(ui.ServeUrl + "/api/ui/served")).Body!;
        Assert.True(served["serving"]!.GetValue<bool>());
        var churn = served["models"]!.AsArray().Single(m => m!["name"]!.GetValue<string>() == "churn")!;
        Assert.Equal("ready", churn["state"]!.GetValue<string>());
        Assert.True(churn["requests"]!.GetValue<double>() >= 6);
        Assert.True(churn["meanLatencyMs"]!.GetValue<double>() > 0);
        var none = (await GetAsync(ui.UiUrl + "/api/ui/served")).Body!;
        Assert.False(none["serving"]!.GetValue<bool>());
    }

    [Fact]
    public async Task The_page_and_its_assets_come_from_the_server_with_a_strict_policy()
    {
        foreach (var path in new[] { "/", "/ui/app.js", "/ui/app.css" })
        {
            using var response = await ui.Client.GetAsync(ui.UiUrl + path);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Contains("default-src 'none'", response.Headers.GetValues("Content-Security-Policy").Single());
        }
        var html = await ui.Client.GetStringAsync(ui.ServeUrl + "/");
        Assert.DoesNotContain("http://", html);
        Assert.DoesNotContain("https://", html);
        Assert.DoesNotContain("//cdn", await ui.Client.GetStringAsync(ui.ServeUrl + "/ui/app.js"));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task The_alias_endpoint_answers_401_without_the_key(bool serving)
    {
        var url = serving ? ui.ServeUrl + "/v1/models/churn/aliases/challenger" : ui.UiUrl + "/api/ui/models/churn/aliases/challenger";
        using var request = new HttpRequestMessage(HttpMethod.Put, url) { Content = new StringContent("{\"version\": 1}", System.Text.Encoding.UTF8, "application/json") };
        using var response = await ui.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal(2, await AliasVersionAsync("challenger"));
    }
}
