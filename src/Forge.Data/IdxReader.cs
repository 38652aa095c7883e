using System.Buffers.Binary;
using System.Globalization;
using System.IO.Compression;
using Forge.Core;

namespace Forge.Data;

/// <summary>An unsigned-byte IDX array: its dimensions (outermost first) and its elements in row-major order.</summary>
public sealed record IdxArray(int[] Dimensions, byte[] Data);

/// <summary>Reads IDX files (the MNIST container format), raw or gzip-compressed.</summary>
public static class IdxReader
{
    private const byte UnsignedByteType = 0x08;
    private const int MaxDimensions = 4;

    /// <summary>Reads an unsigned-byte IDX file; gzip is detected from the content, not the file name.</summary>
    public static IdxArray Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        FileStream file;
        try
        {
            file = File.OpenRead(path);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new ForgeException($"{path}: file not found", ex);
        }
        using (file)
            return Read(file, path);
    }

    /// <summary>Reads an unsigned-byte IDX array from a stream (raw or gzip); errors name <paramref name="nameForErrors"/>.</summary>
    public static IdxArray Read(Stream stream, string nameForErrors)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(nameForErrors);
        // Gzip detection needs to look at the first bytes and then start over; only a seekable stream allows that.
        if (!stream.CanSeek)
        {
            var copy = new MemoryStream();
            stream.CopyTo(copy);
            copy.Position = 0;
            stream = copy;
        }
        var start = stream.Position;
        var isGzip = DatasetFiles.StartsWithGzipMagic(stream);
        stream.Position = start;
        if (!isGzip)
            return Parse(stream, nameForErrors, stream.Length - start);
        using var gzip = new GZipStream(stream, CompressionMode.Decompress, leaveOpen: true);
        try
        {
            return Parse(gzip, nameForErrors, knownLength: null);
        }
        catch (InvalidDataException ex)
        {
            throw CorruptGzip(nameForErrors, ex);
        }
        catch (DataFormatException)
        {
            // Damaged compressed data often inflates to plausible garbage before the checksum at the end catches it;
            // blame the compression when it is at fault rather than the IDX header it garbled.
            try
            {
                CountRemaining(gzip);
            }
            catch (InvalidDataException ex)
            {
                throw CorruptGzip(nameForErrors, ex);
            }
            throw;
        }
    }

    private static DataFormatException CorruptGzip(string name, InvalidDataException ex) =>
        new(name, $"corrupt gzip data ({ex.Message})", ex);

    private static IdxArray Parse(Stream input, string name, long? knownLength)
    {
        Span<byte> magic = stackalloc byte[4];
        var got = input.ReadAtLeast(magic, 4, throwOnEndOfStream: false);
        if (got < 4)
            throw new DataFormatException(name, $"truncated: {got} bytes, too short for an IDX header");
        var magicNumber = BinaryPrimitives.ReadUInt32BigEndian(magic);
        var magicText = "0x" + magicNumber.ToString("X8", CultureInfo.InvariantCulture);
        if (magic[0] != 0 || magic[1] != 0)
            throw new DataFormatException(name, $"bad magic number {magicText}, expected 0x00000803 or 0x00000801 (unsigned-byte IDX with 1 to {MaxDimensions} dimensions)");
        if (magic[2] != UnsignedByteType)
            throw new DataFormatException(name, $"unsupported IDX element type 0x{magic[2]:X2} in magic number {magicText}; only unsigned bytes (0x08) are supported");
        int rank = magic[3];
        if (rank is < 1 or > MaxDimensions)
            throw new DataFormatException(name, $"bad magic number {magicText}: {rank} dimensions, expected 1 to {MaxDimensions}");

        var header = new byte[rank * 4];
        got = input.ReadAtLeast(header, header.Length, throwOnEndOfStream: false);
        if (got < header.Length)
            throw new DataFormatException(name, $"truncated: the header declares {rank} dimensions but ends after {got} of their {header.Length} bytes");
        var dimensions = new int[rank];
        long expected = 1;
        for (var i = 0; i < rank; i++)
        {
            dimensions[i] = BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(i * 4));
            if (dimensions[i] <= 0)
                throw new DataFormatException(name, $"dimension {i} is {dimensions[i]}; every dimension must be positive");
            expected *= dimensions[i];
            if (expected > Array.MaxLength)
                throw new DataFormatException(name, $"dimensions {string.Join('x', dimensions.Take(i + 1))} describe more than {Array.MaxLength} bytes, too large to be real");
        }

        var dataOffset = 4L + header.Length;
        if (knownLength is { } length && length - dataOffset < expected)
            throw new DataFormatException(name, $"truncated: expected {expected} bytes of data, found {length - dataOffset}");
        var data = ReadData(input, name, (int)expected);

        var trailing = CountRemaining(input);
        if (trailing > 0)
            throw new DataFormatException(name, $"{trailing} unexpected bytes after the {expected} bytes of data that dimensions {string.Join('x', dimensions)} describe");
        return new IdxArray(dimensions, data);
    }

    private static byte[] ReadData(Stream input, string name, int expected)
    {
        // A corrupt compressed header could claim gigabytes; grow the buffer as data really arrives instead of trusting it.
        var buffer = new byte[Math.Min(expected, 1 << 20)];
        var filled = 0;
        while (true)
        {
            var read = input.ReadAtLeast(buffer.AsSpan(filled), buffer.Length - filled, throwOnEndOfStream: false);
            filled += read;
            if (filled < buffer.Length)
                throw new DataFormatException(name, $"truncated: expected {expected} bytes of data, found {filled}");
            if (filled == expected)
                return buffer;
            Array.Resize(ref buffer, (int)Math.Min(expected, buffer.Length * 2L));
        }
    }

    private static long CountRemaining(Stream input)
    {
        Span<byte> scratch = stackalloc byte[4096];
        long total = 0;
        int read;
        while ((read = input.Read(scratch)) > 0)
            total += read;
        return total;
    }
}
