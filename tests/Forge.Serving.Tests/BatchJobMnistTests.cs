using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Forge.Data;
using Forge.Tests.Shared;

namespace Forge.Serving.Tests;

/// <summary>
/// Batch jobs end to end on the MNIST server: every row's answer equals what /v1 predict gives for the same instance
/// (model "mnist-nobatch", so each row is its own forward pass either way and the floats match exactly).
/// </summary>
[Collection(MnistServerCollection.Name)]
public sealed class BatchJobMnistTests(MnistServerFixture mnist)
{
    private const int Rows = 8;

    private RunningServer Server => mnist.Server;

    private static string F(float v) => v.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>The probabilities /v1 predict gives for one instance.</summary>
    private async Task<float[]> PredictAsync(JsonNode instance)
    {
        var (response, body) = await Server.PostAsync("/v1/models/mnist-nobatch/predict", new JsonObject { ["instances"] = new JsonArray(instance) });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var p = body!["probabilities"]![0]!.AsObject();
        return Enumerable.Range(0, 10).Select(k => (float)p[k.ToString(CultureInfo.InvariantCulture)]!).ToArray();
    }

    private JsonNode Instance(int i) => (i % 3) switch
    {
        0 => new JsonArray(mnist.Row(i).Select(v => (JsonNode?)v).ToArray()),
        1 => new JsonArray(Enumerable.Range(0, 28).Select(y => (JsonNode?)new JsonArray(mnist.Row(i).Skip(y * 28).Take(28).Select(v => (JsonNode?)v).ToArray())).ToArray()),
        _ => new JsonObject { ["image_b64"] = Convert.ToBase64String(mnist.Png(i).Bytes) },
    };

    [SharedDataFact]
    public async Task A_jsonl_job_answers_every_row_as_predict_does_and_records_the_rows_that_fail()
    {
        var lines = Enumerable.Range(0, Rows).Select(i => Instance(i).ToJsonString()).ToList();
        lines.Insert(3, "{\"image_b64\": \"not base64!\"}");
        lines.Insert(5, "[" + string.Join(",", Enumerable.Repeat("0", 783)) + ",\"NaN\"]");

        var id = await BatchJobs.SubmitOkAsync(Server, "model=mnist-nobatch&maxErrorFraction=0.25", string.Join("\n", lines) + "\n");
        var done = await BatchJobs.WaitFinishedAsync(Server, id);

        Assert.Equal("succeeded", (string?)done["status"]);
        Assert.Equal(Rows + 2, (int)done["rowsTotal"]!);
        Assert.Equal(Rows + 2, (int)done["rowsDone"]!);
        Assert.Equal(2, (int)done["errors"]!);
        var results = BatchJobs.JsonLines(await BatchJobs.ResultsAsync(Server, id));
        Assert.Equal(Enumerable.Range(0, Rows + 2), results.Select(r => (int)r["row"]!));
        Assert.Equal("rows[3].image_b64: not valid base64; encode the PNG or JPEG file's bytes with standard base64", (string?)results[3]["error"]);
        Assert.Equal("rows[3].image_b64", (string?)results[3]["field"]);
        Assert.Contains("\"NaN\" is not a finite number", (string?)results[5]["error"], StringComparison.Ordinal);
        var metrics = await Server.Client.GetStringAsync("/metrics");
        Assert.Contains("forge_batch_rows_total{model=\"mnist-nobatch\",outcome=\"error\"}", metrics, StringComparison.Ordinal);
        Assert.Contains("forge_batch_jobs{status=\"succeeded\"}", metrics, StringComparison.Ordinal);
        var valid = results.Where(r => r["error"] is null).ToList();
        Assert.Equal(Rows, valid.Count);
        for (var i = 0; i < Rows; i++)
        {
            var expected = await PredictAsync(Instance(i));
            for (var k = 0; k < 10; k++)
                Assert.True(expected[k] == (float)valid[i]["probabilities"]![k.ToString(CultureInfo.InvariantCulture)]!, $"row {i} class {k}");
            Assert.Equal(mnist.Reference.Labels[Forge.Core.ClassificationMetrics.ArgMax(expected)], (string?)valid[i]["label"]);
            Assert.Equal("1", (string?)valid[i]["version"]);
        }
    }

    [SharedDataFact]
    public async Task A_csv_job_of_pixel_columns_gives_csv_results_equal_to_predict_with_the_other_columns_passed_through()
    {
        var csv = new StringBuilder();
        csv.Append("id,").AppendJoin(',', Enumerable.Range(0, 784).Select(k => $"p{k}")).Append(",label\r\n");
        for (var i = 0; i < Rows; i++)
            csv.Append(CultureInfo.InvariantCulture, $"digit-{i},").AppendJoin(',', mnist.Row(i).Select(F)).Append(',').Append(mnist.Test.Labels[i]).Append("\r\n");

        var id = await BatchJobs.SubmitOkAsync(Server, "model=mnist-nobatch", csv.ToString(), "text/csv");
        var done = await BatchJobs.WaitFinishedAsync(Server, id);

        Assert.Equal("succeeded", (string?)done["status"]);
        Assert.Equal("csv", (string?)done["format"]);
        Assert.Equal("784 numbered columns p0…p783", (string?)done["input"]);
        var response = await Server.Client.GetAsync($"/v1/batch-jobs/{id}/results");
        Assert.Equal("text/csv", response.Content.Headers.ContentType!.MediaType);
        var records = Csv.Read(new StringReader(await response.Content.ReadAsStringAsync()), "results");
        Assert.Equal(["row", "id", "input.label", "label", .. Enumerable.Range(0, 10).Select(k => $"p_{k}"), "error"], records[0]);
        Assert.Equal(Rows + 1, records.Count);
        for (var i = 0; i < Rows; i++)
        {
            var r = records[i + 1];
            Assert.Equal([i.ToString(CultureInfo.InvariantCulture), $"digit-{i}", mnist.Test.Labels[i].ToString(CultureInfo.InvariantCulture)], r[..3]);
            var expected = await PredictAsync(new JsonArray(mnist.Row(i).Select(v => (JsonNode?)v).ToArray()));
            for (var k = 0; k < 10; k++) Assert.True(expected[k] == float.Parse(r[4 + k], CultureInfo.InvariantCulture), $"row {i} class {k}");
            Assert.Equal("", r[^1]);
        }
    }

    [SharedDataFact]
    public async Task A_csv_job_with_the_pixels_in_one_column_names_a_bad_value_by_row_and_column()
    {
        var csv = new StringBuilder("pixels\n");
        for (var i = 0; i < 3; i++)
        {
            var values = mnist.Row(i).Select(F).ToArray();
            if (i == 1) values[5] = "abc";
            csv.Append(string.Join(' ', values)).Append('\n');
        }

        var id = await BatchJobs.SubmitOkAsync(Server, "model=mnist-nobatch&format=csv&maxErrorFraction=0.5", csv.ToString(), "application/octet-stream");
        var done = await BatchJobs.WaitFinishedAsync(Server, id);

        Assert.Equal("succeeded", (string?)done["status"]);
        Assert.Equal(1, (int)done["errors"]!);
        var records = Csv.Read(new StringReader(await BatchJobs.ResultsAsync(Server, id)), "results");
        Assert.Equal("rows[1].pixels[5]: 'abc' is not a number", records[2][^1]);
        Assert.Equal("", records[2][1]);
        var expected = await PredictAsync(new JsonArray(mnist.Row(2).Select(v => (JsonNode?)v).ToArray()));
        Assert.True(expected[7] == float.Parse(records[3][2 + 7], CultureInfo.InvariantCulture));
    }

    [SharedDataFact]
    public async Task The_openapi_document_describes_the_batch_job_endpoints_and_their_upload_formats()
    {
        var (response, doc) = await Server.GetAsync("/openapi/v1.json");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var paths = doc!["paths"]!.AsObject();
        Assert.Contains("/v1/batch-jobs", paths.Select(p => p.Key));
        Assert.Contains("/v1/batch-jobs/{id}/results", paths.Select(p => p.Key));
        var submit = paths["/v1/batch-jobs"]!["post"]!;
        var content = submit["requestBody"]!["content"]!.AsObject().Select(c => c.Key).ToArray();
        Assert.Equal(["application/x-ndjson", "text/csv"], content);
        Assert.Contains("model", submit["parameters"]!.AsArray().Select(p => (string?)p!["name"]));
        Assert.NotNull(paths["/v1/batch-jobs/{id}"]!["delete"]);
    }
}
