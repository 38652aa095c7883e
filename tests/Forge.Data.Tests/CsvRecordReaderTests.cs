using Forge.Core;

namespace Forge.Data.Tests;

public sealed class CsvRecordReaderTests
{
    private static List<CsvRecord> ReadAll(string text, bool trim = false)
    {
        using var reader = new CsvRecordReader(new StringReader(text), "t.csv", trim);
        var records = new List<CsvRecord>();
        while (reader.TryRead(out var r)) records.Add(r);
        return records;
    }

    [Fact]
    public void Records_keep_the_line_they_start_on_across_quoted_line_breaks_and_blank_lines()
    {
        var records = ReadAll("a,b\r\n\"x\ny\",2\n\n3,\"q\"\"q\"\n");
        Assert.Equal([1L, 2L, 5L], records.Select(r => r.Line));
        Assert.Equal(["x\ny", "2"], records[1].Fields);
        Assert.Equal(["3", "q\"q"], records[2].Fields);
    }

    [Fact]
    public void Trimming_reads_comma_space_files_and_keeps_quoted_spaces()
    {
        var records = ReadAll("39, State-gov, \" a b \" , <=50K\n \n", trim: true);
        Assert.Single(records);
        Assert.Equal(["39", "State-gov", " a b ", "<=50K"], records[0].Fields);
    }

    [Fact]
    public void Empty_fields_and_a_missing_final_line_break_are_kept()
    {
        var records = ReadAll("1,,3\n,,");
        Assert.Equal(["1", "", "3"], records[0].Fields);
        Assert.Equal(["", "", ""], records[1].Fields);
    }

    [Fact]
    public void Malformed_quotes_name_the_line()
    {
        var e = Assert.Throws<DataFormatException>(() => ReadAll("a\nb\"c\n"));
        Assert.Contains("t.csv: line 2", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<DataFormatException>(() => ReadAll("a\n\"open\n"));
        Assert.Contains("line 2: a quoted field is not closed", e.Message, StringComparison.Ordinal);
    }
}

public sealed class DatasetKindTests
{
    [Theory]
    [InlineData("mnist", DatasetKind.IdxImages)]
    [InlineData("fashion-mnist", DatasetKind.IdxImages)]
    [InlineData("plantvillage", DatasetKind.ImageFolder)]
    [InlineData("sentiment", DatasetKind.Text)]
    [InlineData("airline-tweets", DatasetKind.Text)]
    [InlineData("adult", DatasetKind.Tabular)]
    [InlineData("bike-sharing", DatasetKind.Tabular)]
    public void Every_catalog_entry_states_its_kind(string name, DatasetKind kind) => Assert.Equal(kind, DatasetCatalog.Get(name).Kind);

    [Fact]
    public void The_table_above_covers_the_whole_catalog() => Assert.Equal(7, DatasetCatalog.All.Count);
}
