using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using Forge.Core;
using Forge.Tabular;
using Forge.Tests.Shared;

namespace Forge.Serving.Tests;

/// <summary>Two small tabular bundles (a binary classifier and a regression) trained once on a seeded synthetic table.</summary>
public sealed class TabularBundlesFixture : IDisposable
{
    private readonly TempDir _temp = new("forge-tabular-serving-");

    public TabularBundlesFixture()
    {
        DataPath = SyntheticTable.Write(_temp.Combine("data.csv"));
        Classifier = Train("binary", "synthetic-classifier");
        Regression = Train("target", "synthetic-regression");
    }

    public string DataPath { get; }

    public string Classifier { get; }

    public string Regression { get; }

    public string Temp(string name) => _temp.Combine(name);

    private string Train(string label, string name) => TabularTraining.Run(new TabularTrainingRequest
    {
        Dataset = "synthetic",
        DataPath = DataPath,
        Csv = SyntheticTable.Csv(label),
        OutputDirectory = _temp.Combine(name),
        Name = name,
        Options = new TabularOptions { Trees = 20, Leaves = 8, LearningRate = 0.2, MinDataPerLeaf = 5, Threads = 2 },
    }).Bundle.Directory;

    public void Dispose() => _temp.Dispose();
}

/// <summary>mlnet-tabular bundles served: rows keyed by column on /v1, one input per column on v2, CSV batch jobs, and the 400s.</summary>
public sealed class TabularServingTests(TabularBundlesFixture bundles) : IClassFixture<TabularBundlesFixture>, IAsyncLifetime
{
    private RunningServer _server = null!;

    private static readonly JsonObject Row = new()
    {
        ["x1"] = 6.5, ["x2"] = -0.25, ["colour"] = "red", ["size"] = "L",
    };

    public async Task InitializeAsync() => _server = await RunningServer.StartAsync(new ServerOptions
    {
        Models = [ModelSource.FromBundle(bundles.Classifier), ModelSource.FromBundle(bundles.Regression)],
        BatchJobs = new BatchJobOptions { Directory = bundles.Temp("jobs-" + Guid.NewGuid().ToString("N")[..8]) },
    });

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private static JsonObject With(string key, JsonNode? value)
    {
        var row = (JsonObject)Row.DeepClone();
        row[key] = value;
        return row;
    }

    private static JsonObject Instances(params JsonNode[] rows) => new() { ["instances"] = new JsonArray(rows) };

    [Fact]
    public async Task Predict_matches_the_model_in_process_and_forge_predict()
    {
        using var model = TabularBundle.Load(ModelBundle.Load(bundles.Classifier));
        var expected = model.Predict(TabularInstances.For(ModelBundle.Load(bundles.Classifier).Manifest).Decode(Row, "row")).Probabilities![0];

        var (response, body) = await _server.PostAsync("/v1/models/synthetic-classifier/predict", Instances(Row.DeepClone(), With("colour", null)));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(2, body!["predictions"]!.AsArray().Count);
        Assert.Equal(expected[0], (float)body["probabilities"]![0]!["no"]!);
        Assert.Equal(expected[1], (float)body["probabilities"]![0]!["yes"]!);

        using var output = new StringWriter(CultureInfo.InvariantCulture);
        using var error = new StringWriter(CultureInfo.InvariantCulture);
        var code = Forge.Cli.CliApp.Run(["predict", bundles.Classifier, "--row", Row.ToJsonString(), "--json"], output, error, errorIsTerminal: false);
        Assert.True(code == 0, error.ToString());
        var cli = JsonNode.Parse(output.ToString())!["predictions"]![0]!["probabilities"]!;
        // The CLI prints probabilities rounded to 6 places.
        Assert.Equal(Math.Round(expected[1], 6), (double)cli["yes"]!, 9);
    }

    [Fact]
    public async Task The_v2_protocol_takes_one_input_per_column_and_gives_the_same_probabilities()
    {
        var inputs = new JsonArray(
            new JsonObject { ["name"] = "x1", ["datatype"] = "FP32", ["shape"] = new JsonArray(2), ["data"] = new JsonArray(6.5, 1.0) },
            new JsonObject { ["name"] = "x2", ["datatype"] = "FP64", ["shape"] = new JsonArray(2, 1), ["data"] = new JsonArray(new JsonArray(-0.25), new JsonArray((JsonNode?)null)) },
            new JsonObject { ["name"] = "colour", ["datatype"] = "BYTES", ["shape"] = new JsonArray(2), ["data"] = new JsonArray("red", "green") },
            new JsonObject { ["name"] = "size", ["datatype"] = "BYTES", ["shape"] = new JsonArray(2), ["data"] = new JsonArray("L", "S") });
        var (native, nativeBody) = await _server.PostAsync("/v1/models/synthetic-classifier/predict", Instances(Row.DeepClone()));
        Assert.Equal(HttpStatusCode.OK, native.StatusCode);

        var (response, body) = await _server.PostAsync("/v2/models/synthetic-classifier/infer", new JsonObject { ["inputs"] = inputs });

        Assert.True(response.StatusCode == HttpStatusCode.OK, body?.ToJsonString());
        var probabilities = body!["outputs"]!.AsArray().Single(o => (string)o!["name"]! == "probabilities")!;
        Assert.Equal([2, 2], probabilities["shape"]!.AsArray().Select(d => (int)d!));
        Assert.Equal((float)nativeBody!["probabilities"]![0]!["yes"]!, (float)probabilities["data"]![1]!);
        Assert.Equal(2, body["outputs"]!.AsArray().Single(o => (string)o!["name"]! == "label")!["data"]!.AsArray().Count);

        inputs.RemoveAt(3);
        var (missing, missingBody) = await _server.PostAsync("/v2/models/synthetic-classifier/infer", new JsonObject { ["inputs"] = inputs.DeepClone() });
        Assert.Equal(HttpStatusCode.BadRequest, missing.StatusCode);
        Assert.Contains("no input for column 'size'", (string)missingBody!["error"]!, StringComparison.Ordinal);
        ((JsonObject)inputs[2]!)["datatype"] = "FP32";
        var (typed, typedBody) = await _server.PostAsync("/v2/models/synthetic-classifier/infer", new JsonObject { ["inputs"] = inputs.DeepClone() });
        Assert.Equal(HttpStatusCode.BadRequest, typed.StatusCode);
        Assert.Contains("inputs[2].datatype", (string)typedBody!["error"]!, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("size", null, "instances[0].size", "missing: the model takes column 'size'")]
    [InlineData("x1", "\"6.5\"", "instances[0].x1", "expected a number")]
    [InlineData("x1", "\"NaN\"", "instances[0].x1", "NaN and infinities are rejected")]
    [InlineData("x1", "\"Infinity\"", "instances[0].x1", "NaN and infinities are rejected")]
    [InlineData("x1", "1e999", "instances[0].x1", "not a finite 32-bit number")]
    [InlineData("colour", "[1]", "instances[0].colour", "expected a category")]
    [InlineData("colr", "\"red\"", "instances[0].colr", "unknown column; did you mean 'colour'?")]
    public async Task A_missing_or_mistyped_column_or_a_non_finite_number_is_a_400_naming_it(string key, string? json, string field, string problem)
    {
        var row = (JsonObject)Row.DeepClone();
        if (json is null) row.Remove(key);
        else row[key] = JsonNode.Parse(json);

        var (response, body) = await _server.PostRawAsync("/v1/models/synthetic-classifier/predict", Instances(row).ToJsonString());

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(field, (string)body!["field"]!);
        Assert.Contains(problem, (string)body["detail"]!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unseen_category_is_answered_and_counted()
    {
        var (response, _) = await _server.PostAsync("/v1/models/synthetic-classifier/predict", Instances(With("colour", "purple"), With("colour", "purple"), With("size", "XL")));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        var metrics = await _server.Client.GetStringAsync("/metrics");
        Assert.Contains("forge_unseen_categories_total{model=\"synthetic-classifier\",version=\"1\",column=\"colour\"} 2", metrics, StringComparison.Ordinal);
        Assert.Contains("forge_unseen_categories_total{model=\"synthetic-classifier\",version=\"1\",column=\"size\"} 1", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_regression_answers_values_on_v1_and_v2()
    {
        using var model = TabularBundle.Load(ModelBundle.Load(bundles.Regression));
        var expected = model.Predict(TabularInstances.For(ModelBundle.Load(bundles.Regression).Manifest).Decode(Row, "row")).Values![0];

        var (response, body) = await _server.PostAsync("/v1/models/synthetic-regression/predict", Instances(Row.DeepClone()));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(expected, (double)body!["values"]![0]!);
        Assert.Empty(body["predictions"]!.AsArray());

        var inputs = new JsonArray([.. Row.Select(p => (JsonNode)new JsonObject
        {
            ["name"] = p.Key,
            ["datatype"] = p.Value is JsonValue v && v.GetValueKind() == System.Text.Json.JsonValueKind.String ? "BYTES" : "FP32",
            ["shape"] = new JsonArray(1),
            ["data"] = new JsonArray(p.Value!.DeepClone()),
        })]);
        var (v2, v2Body) = await _server.PostAsync("/v2/models/synthetic-regression/infer", new JsonObject { ["inputs"] = inputs });
        Assert.True(v2.StatusCode == HttpStatusCode.OK, v2Body?.ToJsonString());
        var output = v2Body!["outputs"]!.AsArray().Single()!;
        Assert.Equal("value", (string)output["name"]!);
        Assert.Equal("FP64", (string)output["datatype"]!);
        Assert.Equal(expected, (double)output["data"]![0]!);
    }

    [Fact]
    public async Task A_csv_batch_job_maps_columns_by_name_and_passes_the_others_through()
    {
        var lines = File.ReadAllLines(bundles.DataPath).Take(6).ToArray();
        var id = await BatchJobs.SubmitOkAsync(_server, "model=synthetic-regression&format=csv", string.Join("\n", lines) + "\n", "text/csv");
        var status = await BatchJobs.WaitFinishedAsync(_server, id);
        Assert.True((string?)status["status"] == "succeeded", status.ToJsonString());
        var results = (await BatchJobs.ResultsAsync(_server, id)).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal("row,binary,multi,target,value,error", results[0]);
        Assert.Equal(6, results.Length);

        using var model = TabularBundle.Load(ModelBundle.Load(bundles.Regression));
        var data = TabularCsv.ReadFor(bundles.DataPath, model.Features, new TabularCsvOptions());
        var expected = model.Predict(data.Features.Slice(0, 5)).Values!;
        for (var i = 0; i < 5; i++) Assert.Equal(expected[i], double.Parse(results[i + 1].Split(',')[4], CultureInfo.InvariantCulture));

        var jsonl = "{\"x1\": 1, \"x2\": 0, \"colour\": \"red\", \"size\": \"S\"}\n{\"x1\": \"NaN\", \"x2\": 0, \"colour\": \"red\", \"size\": \"S\"}\n";
        var job = await BatchJobs.SubmitOkAsync(_server, "model=synthetic-classifier&maxErrorFraction=0.5", jsonl);
        var done = await BatchJobs.WaitFinishedAsync(_server, job);
        Assert.Equal(1, (int)done["errors"]!);
        var rows = (await BatchJobs.ResultsAsync(_server, job)).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains("\"label\"", rows[0], StringComparison.Ordinal);
        Assert.Contains("\"field\":\"rows[1].x1\"", rows[1], StringComparison.Ordinal);
    }
}
