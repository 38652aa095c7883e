using System.Net;
using System.Text.Json.Nodes;
using Forge.Core;
using Forge.Tabular;

namespace Forge.Serving.Tests;

/// <summary>POST /v1/models/{name}/explain on a real server: the predict payload in, per-column attributions out.</summary>
public sealed class ExplainApiTests(TabularBundlesFixture bundles) : IClassFixture<TabularBundlesFixture>, IAsyncLifetime
{
    private RunningServer _server = null!;

    private static readonly JsonObject Row = new() { ["x1"] = 6.5, ["x2"] = -0.25, ["colour"] = "red", ["size"] = "L" };

    public async Task InitializeAsync() => _server = await RunningServer.StartAsync(new ServerOptions
    {
        Models = [ModelSource.FromBundle(bundles.Classifier), ModelSource.FromBundle(bundles.Regression)],
        BatchJobs = new BatchJobOptions { Directory = bundles.Temp("jobs-" + Guid.NewGuid().ToString("N")[..8]) },
    });

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Tree_attributions_per_column_add_up_and_match_the_library()
    {
        var second = (JsonObject)Row.DeepClone();
        second["colour"] = null;
        var (response, body) = await _server.PostAsync("/v1/models/synthetic-regression/explain", new JsonObject { ["instances"] = new JsonArray(Row.DeepClone(), second) });

        Assert.True(response.StatusCode == HttpStatusCode.OK, body?.ToJsonString());
        Assert.Equal("tree", (string)body!["method"]!);
        Assert.Equal(["x1", "x2", "colour", "size"], body["features"]!.AsArray().Select(f => (string)f!));
        var instances = body["instances"]!.AsArray();
        Assert.Equal(2, instances.Count);

        var bundle = ModelBundle.Load(bundles.Regression);
        using var model = TabularBundle.Load(bundle);
        var table = TabularInstances.For(bundle.Manifest).Decode(Row, "row");
        var expected = TabularExplaining.Explain(bundle, model, table, "tree");
        var raw = TabularTrees.RawScores(model, table)[0, 0];
        var output = instances[0]!["outputs"]![0]!;
        var attributions = output["attributions"]!.AsArray();
        Assert.Equal(4, attributions.Count);
        var sum = (double)output["baseValue"]!;
        foreach (var a in attributions)
        {
            var f = expected.FeatureNames.ToList().IndexOf((string)a!["feature"]!);
            Assert.Equal(expected.Value(0, f), (double)a["value"]!, 12);
            sum += (double)a["value"]!;
        }
        Assert.InRange(sum - raw, -1e-6 * Math.Max(1, Math.Abs(raw)), 1e-6 * Math.Max(1, Math.Abs(raw)));
        Assert.Contains(attributions, a => (string)a!["label"]! == "colour = red");
        Assert.Contains(instances[1]!["outputs"]![0]!["attributions"]!.AsArray(), a => (string)a!["label"]! == "colour = missing");
    }

    [Fact]
    public async Task A_model_agnostic_method_explains_each_class_probability()
    {
        var (response, body) = await _server.PostAsync("/v1/models/synthetic-classifier/explain?method=kernel", Row.DeepClone());

        Assert.True(response.StatusCode == HttpStatusCode.OK, body?.ToJsonString());
        Assert.Equal("kernel", (string)body!["method"]!);
        var outputs = body["instances"]![0]!["outputs"]!.AsArray();
        Assert.Equal(["no", "yes"], outputs.Select(o => (string)o!["output"]!));
        foreach (var o in outputs)
        {
            var sum = (double)o!["baseValue"]! + o["attributions"]!.AsArray().Sum(a => (double)a!["value"]!);
            Assert.InRange(sum - (double)o["prediction"]!, -1e-6, 1e-6);
        }
    }

    [Fact]
    public async Task Bad_methods_and_bad_rows_are_400s_that_say_what_to_use()
    {
        var (typo, typoBody) = await _server.PostAsync("/v1/models/synthetic-classifier/explain?method=kernal", Row.DeepClone());
        Assert.Equal(HttpStatusCode.BadRequest, typo.StatusCode);
        Assert.Contains("did you mean 'kernel'", (string)typoBody!["detail"]!, StringComparison.Ordinal);

        var (image, imageBody) = await _server.PostAsync("/v1/models/synthetic-classifier/explain?method=ig", Row.DeepClone());
        Assert.Equal(HttpStatusCode.BadRequest, image.StatusCode);
        Assert.Contains("image", (string)imageBody!["detail"]!, StringComparison.Ordinal);

        var wrong = (JsonObject)Row.DeepClone();
        wrong.Remove("x1");
        var (missing, _) = await _server.PostAsync("/v1/models/synthetic-classifier/explain", wrong);
        Assert.Equal(HttpStatusCode.BadRequest, missing.StatusCode);

        var (unknown, _) = await _server.PostAsync("/v1/models/no-such-model/explain", Row.DeepClone());
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }
}
