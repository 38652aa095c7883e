using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using Forge.Monitoring;
using Forge.Tabular;
using Forge.Tests.Shared;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;

namespace Forge.Serving.Tests;

/// <summary>Tabular bundles with a reference profile (as forge train writes them) and one without, trained once.</summary>
public sealed class DriftBundlesFixture : IDisposable
{
    private readonly TempDir _temp = new("forge-drift-serving-");

    public DriftBundlesFixture()
    {
        DataPath = SyntheticTable.Write(_temp.Combine("data.csv"));
        Classifier = Train("binary", "drift-classifier", profile: true);
        Regression = Train("target", "drift-regression", profile: true);
        Unprofiled = Train("binary", "plain-classifier", profile: false);
    }

    public string DataPath { get; }

    public string Classifier { get; }

    public string Regression { get; }

    public string Unprofiled { get; }

    private string Train(string label, string name, bool profile) => TabularTraining.Run(new TabularTrainingRequest
    {
        Dataset = "synthetic",
        DataPath = DataPath,
        Csv = SyntheticTable.Csv(label),
        OutputDirectory = _temp.Combine(name),
        Name = name,
        Options = new TabularOptions { Trees = 20, Leaves = 8, LearningRate = 0.2, MinDataPerLeaf = 5, Threads = 2 },
        ReferenceWriter = profile ? BundleProfile.Write : null,
    }).Bundle.Directory;

    public void Dispose() => _temp.Dispose();
}

/// <summary>
/// Live drift in a real server on 127.0.0.1: traffic like the training data stays below the drift share, shifted
/// traffic flips <c>forge_dataset_drift_share</c> above it within one window; feedback drives accuracy and error; bad
/// feedback is a 4xx naming what is wrong; the webhook hears of drift.
/// </summary>
public sealed class DriftServingTests(DriftBundlesFixture bundles) : IClassFixture<DriftBundlesFixture>
{
    private const int Window = 400;

    private static readonly DriftServingOptions Drift = new()
    {
        WindowRows = Window, EvaluateEveryRows = 200, MinRows = 100, EvaluateEvery = null,
    };

    private Task<RunningServer> StartAsync(DriftServingOptions? drift = null) => RunningServer.StartAsync(new ServerOptions
    {
        Models = [ModelSource.FromBundle(bundles.Classifier), ModelSource.FromBundle(bundles.Regression), ModelSource.FromBundle(bundles.Unprofiled)],
        Drift = drift ?? Drift,
    });

    /// <summary>Rows like the training table's (another seed), or shifted: x1 up by 6, x2 by 2, every colour blue, every size L.</summary>
    internal static JsonObject[] Rows(int count, int seed, bool shifted)
    {
        var rng = new Random(seed);
        string[] colours = ["red", "green", "blue"];
        return [.. Enumerable.Range(0, count).Select(_ =>
        {
            var x1 = (rng.NextDouble() * 10) + (shifted ? 6 : 0);
            var x2 = Gaussian(rng) + (shifted ? 2 : 0);
            var colour = shifted ? "blue" : colours[rng.Next(3)];
            var size = shifted || rng.Next(2) == 0 ? "L" : "S";
            return new JsonObject { ["x1"] = x1, ["x2"] = x2, ["colour"] = colour, ["size"] = size };
        })];
    }

    private static double Gaussian(Random rng) => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());

    private static async Task SendAsync(RunningServer server, string model, IEnumerable<JsonObject> rows, int perRequest = 20)
    {
        foreach (var chunk in rows.Chunk(perRequest))
        {
            var (response, body) = await server.PostAsync($"/v1/models/{model}/predict", new JsonObject { ["instances"] = new JsonArray([.. chunk]) });
            Assert.True(response.StatusCode == HttpStatusCode.OK, body?.ToJsonString());
        }
    }

    internal static double? Metric(string text, string series)
    {
        foreach (var line in text.Split('\n'))
        {
            if (line.StartsWith(series + " ", StringComparison.Ordinal))
                return double.Parse(line[(series.Length + 1)..], CultureInfo.InvariantCulture);
        }
        return null;
    }

    private static async Task<string> MetricsAsync(RunningServer server) => await server.Client.GetStringAsync("/metrics");

    [Fact]
    public async Task Shifted_traffic_flips_the_dataset_drift_share_above_the_threshold_within_one_window()
    {
        await using var server = await StartAsync();
        const string share = "forge_dataset_drift_share{model=\"drift-classifier\",version=\"1\"}";
        Assert.Null(Metric(await MetricsAsync(server), share));

        await SendAsync(server, "drift-classifier", Rows(200, seed: 101, shifted: false));
        var before = Metric(await MetricsAsync(server), share);
        Assert.NotNull(before);
        Assert.True(before < 0.5, $"traffic like the training data has drift share {before}");

        await SendAsync(server, "drift-classifier", Rows(Window, seed: 102, shifted: true));
        var metrics = await MetricsAsync(server);
        var after = Metric(metrics, share);
        Assert.True(after >= 0.5, $"after one window of shifted traffic the drift share is {after}");
        Assert.Equal(1, Metric(metrics, "forge_dataset_drift{model=\"drift-classifier\",version=\"1\"}"));
        Assert.Equal(1, Metric(metrics, "forge_feature_drifted{model=\"drift-classifier\",version=\"1\",feature=\"x1\"}"));
        Assert.Equal(1, Metric(metrics, "forge_feature_drifted{model=\"drift-classifier\",version=\"1\",feature=\"colour\"}"));
        var x1Score = Metric(metrics, "forge_feature_drift_score{model=\"drift-classifier\",version=\"1\",feature=\"x1\"}");
        Assert.True(x1Score < 1e-6, $"the KS p-value of x1 shifted by 6 is {x1Score}");
        Assert.Equal(1, Metric(metrics, "forge_drift_events_total{model=\"drift-classifier\",version=\"1\",kind=\"dataset\"}"));
        Assert.Equal(Window, Metric(metrics, "forge_drift_window_rows{model=\"drift-classifier\",version=\"1\"}"));
        // A classifier's confidence gives an accuracy estimate without labels.
        var estimate = Metric(metrics, "forge_estimated_accuracy{model=\"drift-classifier\",version=\"1\"}");
        Assert.InRange(estimate!.Value, 0.5, 1.0);
        // The bundle has no reference/cbpe.json, so the estimate is the model's own mean confidence, and says so.
        Assert.Equal(0, Metric(metrics, "forge_estimated_accuracy_calibrated{model=\"drift-classifier\",version=\"1\"}"));
        Assert.Null(Metric(metrics, "forge_estimated_accuracy_calibrated{model=\"drift-regression\",version=\"1\"}"));
        // Nothing drifted for a model that was sent nothing, and a model without a profile has no series at all.
        Assert.Null(Metric(metrics, "forge_dataset_drift_share{model=\"drift-regression\",version=\"1\"}"));
        Assert.DoesNotContain("model=\"plain-classifier\",version=\"1\",feature=", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_drift_endpoint_reports_every_column_with_its_test_and_verdict()
    {
        await using var server = await StartAsync();
        var (early, earlyBody) = await server.GetAsync("/v1/models/drift-classifier/drift");
        Assert.Equal(HttpStatusCode.OK, early.StatusCode);
        Assert.Null(earlyBody!["datasetDrift"]);
        Assert.Contains("100 rows", (string)earlyBody["note"]!, StringComparison.Ordinal);

        await SendAsync(server, "drift-classifier", Rows(Window, seed: 103, shifted: true));
        var (response, body) = await server.GetAsync("/v1/models/drift-classifier/drift");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True((bool)body!["datasetDrift"]!);
        Assert.Equal(1.0, (double)body["driftShare"]!, 9);
        Assert.Equal(Window, (long)body["windowRows"]!);
        Assert.Equal("uncalibrated", (string)body["estimator"]!);
        var columns = body["columns"]!.AsArray();
        Assert.Equal(["x1", "x2", "colour", "size"], columns.Select(c => (string)c!["name"]!).ToArray());
        Assert.All(columns, c => Assert.True((bool)c!["drifted"]!, c!.ToJsonString()));
        Assert.Equal("ks", (string)columns[0]!["test"]!);
        Assert.Equal("chisquare", (string)columns[2]!["test"]!);
        Assert.Equal("z", (string)columns[3]!["test"]!);
        Assert.All(columns, c => Assert.NotNull(c!["pValue"]));
        Assert.Contains(body["predictions"]!.AsArray(), p => (string)p!["name"]! == ModelColumns.PredictionColumn);
        Assert.Equal(["ddm", "eddm", "adwin", "page-hinkley"], body["detectors"]!.AsArray().Select(d => (string)d!["name"]!).ToArray());

        var (refreshed, refreshedBody) = await server.GetAsync("/v1/models/drift-classifier/drift?refresh=true");
        Assert.Equal(HttpStatusCode.OK, refreshed.StatusCode);
        Assert.True((bool)refreshedBody!["datasetDrift"]!);

        var (plain, plainBody) = await server.GetAsync("/v1/models/plain-classifier/drift");
        Assert.Equal(HttpStatusCode.Conflict, plain.StatusCode);
        Assert.Contains("reference/profile.json", (string)plainBody!["detail"]!, StringComparison.Ordinal);
        var (unknown, unknownBody) = await server.GetAsync("/v1/models/drift-clasifier/drift");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Contains("drift-classifier", (string)unknownBody!["detail"]!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Feedback_updates_accuracy_f1_and_the_detectors()
    {
        await using var server = await StartAsync();
        var (r1, b1) = await server.PostAsync("/v1/models/drift-classifier/predict", Rows(1, 7, false)[0]);
        var (r2, b2) = await server.PostAsync("/v1/models/drift-classifier/predict", new JsonObject { ["instances"] = new JsonArray([.. Rows(2, 8, false)]) });
        var id1 = r1.Headers.GetValues("X-Request-Id").Single();
        var id2 = r2.Headers.GetValues("X-Request-Id").Single();
        var predicted1 = (string)b1!["predictions"]![0]!;
        var predicted2 = b2!["predictions"]!.AsArray().Select(p => (string)p!).ToArray();
        static string Other(string label) => label == "yes" ? "no" : "yes";

        var (ok1, f1) = await server.PostAsync("/v1/models/drift-classifier/feedback", new JsonObject { ["requestId"] = id1, ["label"] = predicted1 });
        Assert.Equal(HttpStatusCode.OK, ok1.StatusCode);
        Assert.Equal(1.0, (double)f1!["accuracy"]!, 12);
        var (ok2, f2) = await server.PostAsync("/v1/models/drift-classifier/feedback",
            new JsonObject { ["requestId"] = id2, ["labels"] = new JsonArray(predicted2[0], Other(predicted2[1])) });
        Assert.Equal(HttpStatusCode.OK, ok2.StatusCode);
        Assert.Equal(1, (int)f2!["correct"]!);
        Assert.Equal(2.0 / 3, (double)f2["accuracy"]!, 12);
        Assert.Equal(3, (long)f2["feedbackSeen"]!);

        var (_, drift) = await server.GetAsync("/v1/models/drift-classifier/drift");
        Assert.Equal(2.0 / 3, (double)drift!["feedback"]!["accuracy"]!, 12);
        Assert.Equal(3, (long)drift["feedback"]!["seen"]!);
        Assert.All(drift["detectors"]!.AsArray(), d => Assert.Equal(3, (long)d!["seen"]!));
        var metrics = await MetricsAsync(server);
        Assert.Equal(2.0 / 3, Metric(metrics, "forge_feedback_accuracy{model=\"drift-classifier\",version=\"1\"}")!.Value, 12);
        Assert.NotNull(Metric(metrics, "forge_feedback_macro_f1{model=\"drift-classifier\",version=\"1\"}"));
        Assert.Equal(0, Metric(metrics, "forge_concept_drift_state{model=\"drift-classifier\",version=\"1\",detector=\"adwin\"}"));
        Assert.Equal(2, Metric(metrics, "forge_feedback_total{model=\"drift-classifier\",version=\"1\",result=\"ok\"}"));
    }

    [Fact]
    public async Task Regression_feedback_gives_the_rolling_absolute_and_squared_error()
    {
        await using var server = await StartAsync();
        var (r, b) = await server.PostAsync("/v1/models/drift-regression/predict", new JsonObject { ["instances"] = new JsonArray([.. Rows(2, 9, false)]) });
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        var values = b!["values"]!.AsArray().Select(v => (double)v!).ToArray();
        var truth = new[] { values[0] + 3, values[1] - 1 };
        var (ok, f) = await server.PostAsync("/v1/models/drift-regression/feedback",
            new JsonObject { ["requestId"] = r.Headers.GetValues("X-Request-Id").Single(), ["values"] = new JsonArray(truth[0], truth[1]) });
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal(2.0, (double)f!["mae"]!, 9);
        Assert.Equal(Math.Sqrt(5), (double)f["rmse"]!, 9);
        var metrics = await MetricsAsync(server);
        Assert.Equal(2.0, Metric(metrics, "forge_feedback_mae{model=\"drift-regression\",version=\"1\"}")!.Value, 9);
        Assert.Null(Metric(metrics, "forge_feedback_accuracy{model=\"drift-regression\",version=\"1\"}"));
    }

    [Fact]
    public async Task Bad_feedback_is_a_4xx_naming_what_is_wrong()
    {
        await using var server = await StartAsync();
        var (r, _) = await server.PostAsync("/v1/models/drift-classifier/predict", Rows(1, 11, false)[0]);
        var id = r.Headers.GetValues("X-Request-Id").Single();
        const string path = "/v1/models/drift-classifier/feedback";

        var (unknown, unknownBody) = await server.PostAsync(path, new JsonObject { ["requestId"] = "no-such-request", ["label"] = "yes" });
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Contains("'no-such-request'", (string)unknownBody!["detail"]!, StringComparison.Ordinal);

        var (wrongLabel, wrongBody) = await server.PostAsync(path, new JsonObject { ["requestId"] = id, ["label"] = "yse" });
        Assert.Equal(HttpStatusCode.BadRequest, wrongLabel.StatusCode);
        Assert.Equal("label", (string)wrongBody!["field"]!);
        Assert.Contains("'yse' is not a label", (string)wrongBody["detail"]!, StringComparison.Ordinal);
        Assert.Contains("did you mean 'yes'", (string)wrongBody["detail"]!, StringComparison.Ordinal);

        var (tooMany, tooManyBody) = await server.PostAsync(path, new JsonObject { ["requestId"] = id, ["labels"] = new JsonArray("yes", "no") });
        Assert.Equal(HttpStatusCode.BadRequest, tooMany.StatusCode);
        Assert.Contains("2 given, but the request predicted 1 instance", (string)tooManyBody!["detail"]!, StringComparison.Ordinal);

        var (noId, noIdBody) = await server.PostAsync(path, new JsonObject { ["label"] = "yes" });
        Assert.Equal(HttpStatusCode.BadRequest, noId.StatusCode);
        Assert.Equal("requestId", (string)noIdBody!["field"]!);

        var (otherModel, otherBody) = await server.PostAsync("/v1/models/drift-regression/feedback", new JsonObject { ["requestId"] = id, ["value"] = 1 });
        Assert.Equal(HttpStatusCode.NotFound, otherModel.StatusCode);
        Assert.Contains("'drift-classifier'", (string)otherBody!["detail"]!, StringComparison.Ordinal);

        var (first, _) = await server.PostAsync(path, new JsonObject { ["requestId"] = id, ["label"] = "yes" });
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        var (again, againBody) = await server.PostAsync(path, new JsonObject { ["requestId"] = id, ["label"] = "yes" });
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Contains("already", (string)againBody!["detail"]!, StringComparison.Ordinal);

        var (_, drift) = await server.GetAsync("/v1/models/drift-classifier/drift");
        Assert.Equal(1, (long)drift!["feedback"]!["seen"]!);
    }

    [Fact]
    public async Task The_webhook_hears_when_dataset_drift_begins()
    {
        var received = new List<JsonNode>();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        await using var receiver = builder.Build();
        receiver.MapPost("/hook", async (HttpContext c) =>
        {
            var node = await JsonNode.ParseAsync(c.Request.Body);
            lock (received) received.Add(node!);
            return Results.Ok();
        });
        await receiver.StartAsync();
        var url = new Uri(ForgeServer.Addresses(receiver).Single() + "/hook");

        await using var server = await StartAsync(Drift with { Webhook = url });
        await SendAsync(server, "drift-classifier", Rows(Window, seed: 104, shifted: true));
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (DateTime.UtcNow < until)
        {
            lock (received) if (received.Count > 0) break;
            await Task.Delay(50);
        }
        JsonNode hook;
        lock (received) hook = Assert.Single(received, h => (string)h!["kind"]! == "dataset");
        Assert.Equal("drift-classifier", (string)hook["model"]!);
        Assert.True((bool)hook["datasetDrift"]!);
        Assert.Contains("x1", hook["driftedColumns"]!.AsArray().Select(c => (string)c!));
        // Dataset drift and prediction drift begin together here: one call each, both answered.
        Assert.True(Metric(await MetricsAsync(server), "forge_drift_webhook_total{result=\"ok\"}") >= 1);
        Assert.Null(Metric(await MetricsAsync(server), "forge_drift_webhook_total{result=\"failed\"}"));
    }

    [Fact]
    public async Task A_dead_webhook_is_counted_and_the_predictions_are_still_answered()
    {
        // A port nobody listens on: the call fails at once.
        await using var server = await StartAsync(Drift with { Webhook = new Uri("http://127.0.0.1:9/hook"), WebhookTimeout = TimeSpan.FromSeconds(2) });
        await SendAsync(server, "drift-classifier", Rows(Window, seed: 105, shifted: true));
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        double? failed = null;
        while (DateTime.UtcNow < until && (failed = Metric(await MetricsAsync(server), "forge_drift_webhook_total{result=\"failed\"}")) is null) await Task.Delay(100);
        Assert.True(failed >= 1, $"failed webhook calls: {failed}");
        Assert.Contains(server.Logs.Lines, l => l.Message.Contains("drift webhook", StringComparison.Ordinal));
    }

    [Fact]
    public void Options_problems_are_reported_together()
    {
        var e = Assert.Throws<Forge.Core.UsageException>(() => ForgeServer.Build(new ServerOptions
        {
            Models = [ModelSource.FromBundle(bundles.Classifier)],
            Port = 0,
            Drift = new DriftServingOptions { WindowRows = 0, DriftShareThreshold = 2, Webhook = new Uri("ftp://x/y") },
        }));
        Assert.Contains("drift.windowRows", e.Message, StringComparison.Ordinal);
        Assert.Contains("drift.driftShareThreshold", e.Message, StringComparison.Ordinal);
        Assert.Contains("drift.webhook", e.Message, StringComparison.Ordinal);
    }
}
