using Forge.Core;
using Forge.Data;

namespace Forge.Data.Tests;

public sealed class IdxReaderTests : IDisposable
{
    private readonly TempDir temp = new();

    public void Dispose() => temp.Dispose();

    private string Write(string name, byte[] content)
    {
        var path = temp.Combine(name);
        File.WriteAllBytes(path, content);
        return path;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Reads_back_what_was_written_raw_or_gzip(bool gzip)
    {
        var data = Enumerable.Range(0, 2 * 3 * 4).Select(i => (byte)(250 - i)).ToArray();
        var raw = Idx.Build([2, 3, 4], data);
        // The extension says nothing: gzip is recognised by its magic bytes.
        var path = Write("images.idx", gzip ? Idx.Gzip(raw) : raw);

        var array = IdxReader.Read(path);

        Assert.Equal([2, 3, 4], array.Dimensions);
        Assert.Equal(data, array.Data);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    public void Reads_every_supported_rank(int rank)
    {
        var dims = Enumerable.Repeat(2, rank).ToArray();
        var data = new byte[1 << rank];
        var array = IdxReader.Read(new MemoryStream(Idx.Build(dims, data)), "mem");
        Assert.Equal(dims, array.Dimensions);
        Assert.Equal(data.Length, array.Data.Length);
    }

    [Fact]
    public void Reads_a_non_seekable_gzip_stream()
    {
        var raw = Idx.Build([3], [7, 8, 9]);
        using var stream = new ForwardOnlyStream(Idx.Gzip(raw));
        Assert.Equal([7, 8, 9], IdxReader.Read(stream, "pipe").Data);
    }

    [Fact]
    public void Bad_magic_names_the_file_and_the_number()
    {
        var path = Write("bad.idx", [0x12, 0x34, 0x56, 0x78, 0, 0, 0, 1, 5]);
        var ex = Assert.Throws<DataFormatException>(() => IdxReader.Read(path));
        Assert.Equal(path, ex.Path);
        Assert.Equal($"{path}: bad magic number 0x12345678, expected 0x00000803 or 0x00000801 (unsigned-byte IDX with 1 to 4 dimensions)", ex.Message);
    }

    [Fact]
    public void Non_byte_element_type_is_refused()
    {
        var bytes = Idx.Build([1], [0, 0, 0, 0], type: 0x0D);
        var ex = Assert.Throws<DataFormatException>(() => IdxReader.Read(new MemoryStream(bytes), "floats.idx"));
        Assert.Contains("floats.idx: unsupported IDX element type 0x0D", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(5)]
    public void Rank_outside_one_to_four_is_refused(int rank)
    {
        byte[] bytes = [0, 0, 8, (byte)rank, .. new byte[4 * rank], 1];
        var ex = Assert.Throws<DataFormatException>(() => IdxReader.Read(new MemoryStream(bytes), "x.idx"));
        Assert.Contains($"{rank} dimensions, expected 1 to 4", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Zero_dimension_is_refused()
    {
        var ex = Assert.Throws<DataFormatException>(() => IdxReader.Read(new MemoryStream(Idx.Build([3, 0], [])), "z.idx"));
        Assert.Contains("dimension 1 is 0", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Truncated_data_says_how_much_is_missing(bool gzip)
    {
        var raw = Idx.Build([2, 5], new byte[10])[..^3];
        var path = Write("short.idx", gzip ? Idx.Gzip(raw) : raw);
        var ex = Assert.Throws<DataFormatException>(() => IdxReader.Read(path));
        Assert.Equal($"{path}: truncated: expected 10 bytes of data, found 7", ex.Message);
    }

    [Fact]
    public void Truncated_header_is_refused()
    {
        var ex = Assert.Throws<DataFormatException>(() => IdxReader.Read(new MemoryStream([0, 0, 8, 3, 0, 0]), "h.idx"));
        Assert.Contains("h.idx: truncated", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Header_claiming_gigabytes_fails_fast_on_a_gzip_stream()
    {
        var raw = Idx.Build([60_000, 1000, 1000], new byte[100]);
        var ex = Assert.Throws<DataFormatException>(() => IdxReader.Read(new MemoryStream(Idx.Gzip(raw)), "huge.gz"));
        Assert.Contains("too large", ex.Message, StringComparison.Ordinal);

        var big = Idx.Build([1000, 1000, 1000], new byte[100]);
        ex = Assert.Throws<DataFormatException>(() => IdxReader.Read(new MemoryStream(Idx.Gzip(big)), "big.gz"));
        Assert.Equal("big.gz: truncated: expected 1000000000 bytes of data, found 100", ex.Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Trailing_bytes_are_an_error(bool gzip)
    {
        byte[] raw = [.. Idx.Build([4], [1, 2, 3, 4]), 9, 9];
        var path = Write("long.idx", gzip ? Idx.Gzip(raw) : raw);
        var ex = Assert.Throws<DataFormatException>(() => IdxReader.Read(path));
        Assert.StartsWith(path + ": 2 unexpected bytes after the 4 bytes of data", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Corrupt_gzip_names_the_file()
    {
        var gz = Idx.Gzip(Idx.Build([100], Enumerable.Range(0, 100).Select(i => (byte)i).ToArray()));
        // Damage the deflate body and the CRC, keeping the 1f 8b magic so the file is still taken for gzip.
        for (var i = 12; i < gz.Length; i += 3)
            gz[i] ^= 0x5A;
        var path = Write("corrupt.gz", gz);
        var ex = Assert.Throws<DataFormatException>(() => IdxReader.Read(path));
        Assert.Equal(path, ex.Path);
        Assert.StartsWith(path + ": corrupt gzip data", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Damaged_gzip_header_names_the_file()
    {
        var gz = Idx.Gzip(Idx.Build([3], [1, 2, 3]));
        gz[2] = 0x07; // compression method: only 8 (deflate) exists
        var ex = Assert.Throws<DataFormatException>(() => IdxReader.Read(new MemoryStream(gz), "header.gz"));
        Assert.StartsWith("header.gz: corrupt gzip data", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Gzip_cut_short_is_an_error_naming_the_file()
    {
        var gz = Idx.Gzip(Idx.Build([1000], Enumerable.Range(0, 1000).Select(i => (byte)(i * 31)).ToArray()));
        var path = Write("cut.gz", gz[..(gz.Length / 2)]);
        var ex = Assert.Throws<DataFormatException>(() => IdxReader.Read(path));
        Assert.Equal(path, ex.Path);
    }

    [Fact]
    public void Missing_file_is_a_forge_error()
    {
        var path = temp.Combine("nope.idx");
        var ex = Assert.Throws<ForgeException>(() => IdxReader.Read(path));
        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
    }

    private sealed class ForwardOnlyStream(byte[] content) : MemoryStream(content)
    {
        public override bool CanSeek => false;

        public override long Seek(long offset, SeekOrigin loc) => throw new NotSupportedException();

        public override long Position { get => base.Position; set => throw new NotSupportedException(); }
    }
}
