using System.Text.Json;

namespace Forge.Core.Tests;

public sealed class ForgeJsonTests
{
    private enum Stage { Warmup, FineTune }

    private sealed record Entry(string Version, string? Note, double Loss, Stage Stage);

    [Fact]
    public void Files_are_written_one_field_a_line_so_they_diff_cleanly()
    {
        var json = JsonSerializer.Serialize(new Entry("0.1.0+abc café", null, double.NaN, Stage.FineTune), ForgeJson.Options);

        Assert.Equal(
            """
            {
              "version": "0.1.0+abc café",
              "loss": "NaN",
              "stage": "fineTune"
            }
            """.ReplaceLineEndings(),
            json);
    }

    [Fact]
    public void Hand_edited_files_may_hold_comments_and_trailing_commas()
    {
        const string json = """
            {
              // raised after the first run diverged
              "version": "2", /* see the notes */
              "loss": 0.25,
              "stage": "warmup",
            }
            """;

        var entry = JsonSerializer.Deserialize<Entry>(json, ForgeJson.Options);

        Assert.Equal(new Entry("2", null, 0.25, Stage.Warmup), entry);
    }
}
