using System.Text;

namespace Forge.Core.Tests;

public sealed class AtomicFileTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private static Action<Stream> Text(string text) => stream => stream.Write(Encoding.UTF8.GetBytes(text));

    [Fact]
    public void Write_creates_missing_folders_and_replaces_an_existing_file()
    {
        var path = _temp.Combine("runs", "7", "meta.json");

        AtomicFile.Write(path, Text("first"));
        Assert.Equal("first", File.ReadAllText(path));

        AtomicFile.Write(path, Text("second"));
        Assert.Equal("second", File.ReadAllText(path));
        Assert.Equal(["meta.json"], Directory.EnumerateFileSystemEntries(_temp.Combine("runs", "7")).Select(Path.GetFileName));
    }

    [Fact]
    public void Failed_write_keeps_the_old_file_and_removes_the_temporary_one()
    {
        var path = _temp.Combine("meta.json");
        File.WriteAllText(path, "old");

        var ex = Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(path, stream =>
        {
            stream.Write("half"u8);
            throw new InvalidOperationException("disk full");
        }));

        Assert.Equal("disk full", ex.Message);
        Assert.Equal("old", File.ReadAllText(path));
        Assert.Equal(["meta.json"], _temp.Entries());
    }

    [Fact]
    public void Write_refuses_a_missing_writer_and_a_path_that_names_no_file()
    {
        var path = _temp.Combine("meta.json");

        Assert.Throws<ArgumentNullException>(() => AtomicFile.Write(path, null!));
        var ex = Assert.Throws<ArgumentException>(() => AtomicFile.Write("/", Text("x")));

        Assert.Equal("path", ex.ParamName);
        Assert.Equal("'/' names no file (Parameter 'path')", ex.Message);
        Assert.Empty(_temp.Entries());
    }
}
