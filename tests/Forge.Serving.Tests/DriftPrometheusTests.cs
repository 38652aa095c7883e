using Forge.Tests.Shared;

namespace Forge.Serving.Tests;

/// <summary>Debian's Prometheus scrapes the drift gauges of a real Forge server on 127.0.0.1 after shifted traffic.</summary>
public sealed class DriftPrometheusTests(DriftBundlesFixture bundles) : IClassFixture<DriftBundlesFixture>
{
    [PrometheusBinaryFact]
    public async Task Prometheus_scrapes_the_drift_gauges()
    {
        using var temp = new TempDir("forge-prometheus-drift-");
        await using var forge = await RunningServer.StartAsync(new ServerOptions
        {
            Models = [ModelSource.FromBundle(bundles.Classifier)],
            Drift = new DriftServingOptions { WindowRows = 400, EvaluateEveryRows = 200, MinRows = 100, EvaluateEvery = null },
        });
        foreach (var chunk in DriftServingTests.Rows(400, seed: 201, shifted: true).Chunk(50))
        {
            var (response, _) = await forge.PostAsync("/v1/models/drift-classifier/predict", new System.Text.Json.Nodes.JsonObject { ["instances"] = new System.Text.Json.Nodes.JsonArray([.. chunk]) });
            Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        }
        var address = new Uri(ForgeServer.Addresses(forge.App).Single());
        var binary = PrometheusServer.FindBinary() ?? throw new InvalidOperationException("prometheus is not installed (apt-get install prometheus)");
        await using var prometheus = await PrometheusServer.StartAsync(binary, temp.Path, $"{address.Host}:{address.Port}");
        const string selector = "model=\"drift-classifier\",version=\"1\"";

        var share = await prometheus.WaitForValueAsync($"forge_dataset_drift_share{{{selector}}}", 1, TimeSpan.FromSeconds(60));
        Assert.Equal(1, share);
        Assert.Equal(1, await prometheus.QueryScalarAsync($"forge_dataset_drift{{{selector}}}"));
        Assert.Equal(4, await prometheus.QueryScalarAsync($"sum(forge_feature_drifted{{{selector},feature=~\"x1|x2|colour|size\"}})"));
        Assert.True(await prometheus.QueryScalarAsync($"forge_feature_drift_score{{{selector},feature=\"x1\"}}") < 1e-6);
        Assert.Equal(0, await prometheus.QueryScalarAsync($"forge_concept_drift_state{{{selector},detector=\"ddm\"}}"));
        Assert.Equal(400, await prometheus.QueryScalarAsync($"forge_drift_window_rows{{{selector}}}"));
    }
}

/// <summary>A fact that needs Debian's <c>prometheus</c>: skipped with the reason without it, a failure with CI=true.</summary>
public sealed class PrometheusBinaryFactAttribute : FactAttribute
{
    public PrometheusBinaryFactAttribute()
    {
        if (!SharedData.IsCi && PrometheusServer.FindBinary() is null)
            Skip = "prometheus is not installed (apt-get install prometheus, as .ci/setup does); set CI=true to make this a failure";
    }
}
