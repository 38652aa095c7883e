namespace Forge.Core.Tests;

public sealed class ErrorsTests
{
    [Fact]
    public void A_data_format_error_names_the_file_before_the_problem()
    {
        var e = new DataFormatException("data/hours.csv", "line 3: 2 fields, the header has 4");

        Assert.Equal("data/hours.csv: line 3: 2 fields, the header has 4", e.Message);
        Assert.Equal("data/hours.csv", e.Path);
        Assert.Null(e.InnerException);
        Assert.IsAssignableFrom<ForgeException>(e);
    }

    [Fact]
    public void A_data_format_error_keeps_the_failure_that_revealed_it()
    {
        var cause = new EndOfStreamException("read past the end");

        var e = new DataFormatException("images.idx", "truncated after 12 bytes", cause);

        Assert.Equal("images.idx: truncated after 12 bytes", e.Message);
        Assert.Equal("images.idx", e.Path);
        Assert.Same(cause, e.InnerException);
    }
}
