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
    public void Metrics_render_cumulative_buckets_and_escaped_labels()
    {
        var registry = new MetricsRegistry();
        var counter = registry.Add(new CounterFamily("c_total", "A counter.", "label"));
        var histogram = registry.Add(new HistogramFamily("h", "A histogram.", [1, 5], "m"));
        counter.Inc(2, "a\"b\\c\nd");
        histogram.Observe(0.5, "x");
        histogram.Observe(3, "x");
        histogram.Observe(9, "x");

        var text = registry.Render();

        Assert.Equal(
            "# HELP c_total A counter.\n# TYPE c_total counter\nc_total{label=\"a\\\"b\\\\c\\nd\"} 2\n"
            + "# HELP h A histogram.\n# TYPE h histogram\nh_bucket{m=\"x\",le=\"1\"} 1\nh_bucket{m=\"x\",le=\"5\"} 2\nh_bucket{m=\"x\",le=\"+Inf\"} 3\nh_sum{m=\"x\"} 12.5\nh_count{m=\"x\"} 3\n",
            text);
    }

    [Fact]
    public void A_registry_reference_without_an_alias_means_the_champion()
    {
        Assert.Equal("mnist@champion", ModelSource.FromRegistry("mnist").RegistryReference);
        Assert.Equal("mnist@challenger", ModelSource.FromRegistry("mnist@challenger").RegistryReference);
        Assert.Equal("mnist/3", ModelSource.FromRegistry("mnist/3").RegistryReference);
    }
}
