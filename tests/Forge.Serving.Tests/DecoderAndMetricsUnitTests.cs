using System.Text.Json.Nodes;
using Forge.Core;

namespace Forge.Serving.Tests;

public sealed class DecoderAndMetricsUnitTests
{
    private static readonly InstanceDecoder Image = new(new TensorSpec("image", "float32", [-1, 1, 2, 3]) { Min = 0, Max = 1 });

    [Fact]
    public void An_instance_may_be_flat_nested_or_without_its_leading_ones_but_not_another_shape()
    {
        float[] expected = [0, 0.1f, 0.2f, 0.3f, 0.4f, 0.5f];
        Assert.Equal(expected, Cell(Image.Decode(JsonNode.Parse("[0, 0.1, 0.2, 0.3, 0.4, 0.5]"), "i")));
        Assert.Equal(expected, Cell(Image.Decode(JsonNode.Parse("[[0, 0.1, 0.2], [0.3, 0.4, 0.5]]"), "i")));
        Assert.Equal(expected, Cell(Image.Decode(JsonNode.Parse("[[[0, 0.1, 0.2], [0.3, 0.4, 0.5]]]"), "i")));
        Assert.Equal(expected, Cell(Image.Decode(JsonNode.Parse("{\"image\": [0, 0.1, 0.2, 0.3, 0.4, 0.5]}"), "i")));

        var e = Assert.Throws<InputException>(() => Image.Decode(JsonNode.Parse("[[0, 0.1], [0.2, 0.3], [0.4, 0.5]]"), "i"));
        Assert.Equal("i", e.Field);
        Assert.Contains("shape [3, 2] does not fit the model's input 'image' [1, 2, 3] (or 6 values flattened)", e.Message, StringComparison.Ordinal);
        Assert.Equal("i[1][2]", Assert.Throws<InputException>(() => Image.Decode(JsonNode.Parse("[[0, 0.1, 0.2], [0.3, 0.4, true]]"), "i")).Field);
        Assert.Equal("i[1]", Assert.Throws<InputException>(() => Image.Decode(JsonNode.Parse("[[0, 0.1, 0.2], 0.3]"), "i")).Field);
        Assert.Contains("value 5 is 2", Assert.Throws<InputException>(() => Image.Decode(JsonNode.Parse("[0, 0, 0, 0, 0, 2]"), "i")).Message, StringComparison.Ordinal);
        Assert.Contains("finite", Assert.Throws<InputException>(() => Image.Decode(JsonNode.Parse("[0, 0, 0, 0, 0, 1e39]"), "i")).Message, StringComparison.Ordinal);
        Assert.Equal([0f, 0, 0, 0, 0, 0], Cell(Image.WarmupRow()));
    }

    // The one cell of a one-row table decoded from an instance, checked to be the model's input column.
    private static float[] Cell(Table row)
    {
        Assert.Equal(1, row.RowCount);
        Assert.Equal(new ColumnSpec("image", ColumnType.Tensor) { CellShape = [1, 2, 3] }, row.Schema.Single());
        return row.Get<TensorColumn>("image")[0].ToArray();
    }

    [Fact]
    public async Task Metrics_keep_their_series_names_and_read_gauges_at_scrape_time()
    {
        using var metrics = new ServerMetrics();
        var models = new List<ModelStatus> { new("digits", "1", true, 3, 1.5), new("digits", "2", false, 0, null) };
        metrics.Models = () => models;
        metrics.Requests.WithLabels("digits", "1", "200").Inc();
        metrics.Predictions.WithLabels("a\"b\\c\nd", "1", "7").Inc(2);
        metrics.Latency.WithLabels("digits", "1", "200").Observe(0.003);

        var text = await Scrape(metrics);

        Assert.Contains("forge_requests_total{model=\"digits\",version=\"1\",status=\"200\"} 1", text, StringComparison.Ordinal);
        Assert.Contains("forge_predictions_total{model=\"a\\\"b\\\\c\\nd\",version=\"1\",label=\"7\"} 2", text, StringComparison.Ordinal);
        Assert.Contains("forge_request_duration_seconds_bucket{model=\"digits\",version=\"1\",status=\"200\",le=\"0.005\"} 1", text, StringComparison.Ordinal);
        Assert.Contains("forge_request_duration_seconds_bucket{model=\"digits\",version=\"1\",status=\"200\",le=\"0.0025\"} 0", text, StringComparison.Ordinal);
        Assert.Contains("forge_queue_depth{model=\"digits\",version=\"1\"} 3", text, StringComparison.Ordinal);
        Assert.Contains("forge_model_ready{model=\"digits\",version=\"2\"} 0", text, StringComparison.Ordinal);
        Assert.Contains("forge_model_load_seconds{model=\"digits\",version=\"1\"} 1.5", text, StringComparison.Ordinal);
        Assert.DoesNotContain("forge_model_load_seconds{model=\"digits\",version=\"2\"}", text, StringComparison.Ordinal);
        Assert.Contains("forge_inflight_requests 0", text, StringComparison.Ordinal);
        Assert.Contains("process_cpu_seconds_total", text, StringComparison.Ordinal);

        // A version no longer served leaves the gauges at the next scrape.
        models.RemoveAt(1);
        Assert.DoesNotContain("forge_model_ready{model=\"digits\",version=\"2\"}", await Scrape(metrics), StringComparison.Ordinal);
    }

    private static async Task<string> Scrape(ServerMetrics metrics)
    {
        using var stream = new MemoryStream();
        await metrics.Registry.CollectAndExportAsTextAsync(stream);
        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }

    [Fact]
    public void A_registry_reference_without_an_alias_means_the_champion()
    {
        Assert.Equal("mnist@champion", ModelSource.FromRegistry("mnist").RegistryReference);
        Assert.Equal("mnist@challenger", ModelSource.FromRegistry("mnist@challenger").RegistryReference);
        Assert.Equal("mnist/3", ModelSource.FromRegistry("mnist/3").RegistryReference);
    }
}
