using System.Text;
using System.Text.Json.Nodes;
using Forge.Core;

namespace Forge.Serving.Tests;

/// <summary>Splitting uploads into records, and choosing how CSV columns make an instance.</summary>
public sealed class BatchInputUnitTests
{
    private static List<string?> ReadAll(string text, BatchFormat format, int maxRecordBytes = 1024)
    {
        // A tiny stream read through the reader's 64 KB buffer, and a long one that crosses buffer boundaries, split alike.
        var reader = new RecordReader(new MemoryStream(Encoding.UTF8.GetBytes(text)), format, maxRecordBytes);
        var records = new List<string?>();
        while (reader.TryRead(out var r)) records.Add(r.Bytes is null ? null : Encoding.UTF8.GetString(r.Bytes));
        return records;
    }

    [Fact]
    public void Jsonl_lines_split_on_lf_or_crlf_blank_lines_are_skipped_and_an_overlong_line_is_kept_as_too_long()
    {
        var records = ReadAll("[1]\r\n\n  \n{\"é\": 2}\n" + new string('x', 50) + "\n[3]", BatchFormat.Jsonl, maxRecordBytes: 20);
        Assert.Equal(["[1]", "{\"é\": 2}", null, "[3]"], records);
    }

    [Fact]
    public void Csv_records_keep_line_breaks_and_doubled_quotes_inside_quoted_fields()
    {
        var records = ReadAll("text,id\r\n\"two\nlines, \"\"quoted\"\"\",1\r\nplain,2\n", BatchFormat.Csv);
        Assert.Equal(["text,id", "\"two\nlines, \"\"quoted\"\"\",1", "plain,2"], records);
        Assert.Equal(["two\nlines, \"quoted\"", "1"], BatchRows.ParseCsvRecord(Encoding.UTF8.GetBytes(records[1]!), "rows[0]"));
    }

    [Fact]
    public void Records_are_split_the_same_across_buffer_boundaries()
    {
        var lines = Enumerable.Range(0, 20_000).Select(i => $"\"a,{i}\",{new string('y', i % 17)}").ToArray();
        var records = ReadAll("h,v\n" + string.Join("\n", lines) + "\n", BatchFormat.Csv);
        Assert.Equal(["h,v", .. lines], records);
    }

    private static InstanceDecoder Decoder(params int[] shape) => new(new TensorSpec("image", "float32", [-1, .. shape]) { Min = 0, Max = 1 });

    [Fact]
    public void Numbered_columns_in_any_order_and_from_0_or_1_are_the_numeric_instance_and_the_rest_pass_through()
    {
        var layout = CsvLayout.Create(["label", "px2", "px1", "id", "px3"], Decoder(3));
        Assert.Equal("3 numbered columns px1…px3", layout.Description);
        Assert.Equal([0, 3], layout.Passthrough);
        var instance = layout.ToInstance(["7", "0.2", "0.1", "a", "0.3"], "rows[0]");
        Assert.Equal("[0.1,0.2,0.3]", instance.ToJsonString());
        var e = Assert.Throws<InputException>(() => layout.ToInstance(["7", "", "0.1", "a", "0.3"], "rows[4]"));
        Assert.Equal("rows[4].px2: empty; expected a number", e.Message);
        Assert.Throws<InputException>(() => layout.ToInstance(["7", "0.1"], "rows[5]"));
    }

    [Fact]
    public void Without_numbered_columns_a_packed_column_an_image_or_text_column_or_an_object_of_the_columns_is_used()
    {
        Assert.Equal("[0.5,0.25]", CsvLayout.Create(["id", "pixels"], Decoder(2)).ToInstance(["a", "0.5 0.25"], "r").ToJsonString());
        Assert.Equal("[0.5,0.25]", CsvLayout.Create(["image"], Decoder(2)).ToInstance(["[0.5, 0.25]"], "r").ToJsonString());
        // Too few numbered columns for the input: not the instance.
        Assert.Equal("the numbers in column 'values'", CsvLayout.Create(["p0", "values"], Decoder(2)).Description);
        Assert.Equal("{\"image_b64\":\"QUJD\"}", CsvLayout.Create(["name", "image_b64"], Decoder(2)).ToInstance(["n", "QUJD"], "r").ToJsonString());
        Assert.Equal("{\"text\":\"123\"}", CsvLayout.Create(["id", "text"], Decoder(2)).ToInstance(["1", "123"], "r").ToJsonString());
        var row = CsvLayout.Create(["id", "age", "city"], Decoder(2)).ToInstance(["9", "39", "Oslo"], "r");
        Assert.Equal(JsonNode.Parse("{\"age\":39,\"city\":\"Oslo\"}")!.ToJsonString(), row.ToJsonString());
        Assert.Throws<UsageException>(() => CsvLayout.Create(["id"], Decoder(2)));
    }
}
