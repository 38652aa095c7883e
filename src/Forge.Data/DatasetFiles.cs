using System.IO.Compression;
using System.Security.Cryptography;
using Forge.Core;

namespace Forge.Data;

/// <summary>File helpers shared by the readers, the resolver and the downloader.</summary>
internal static class DatasetFiles
{
    internal const string GzipSuffix = ".gz";

    /// <summary>The path of <paramref name="fileName"/> in <paramref name="directory"/>, raw preferred over <c>.gz</c>, or null.</summary>
    internal static string? Locate(string directory, string fileName)
    {
        var raw = Path.Combine(directory, fileName);
        if (File.Exists(raw))
            return raw;
        var gz = raw + GzipSuffix;
        return File.Exists(gz) ? gz : null;
    }

    /// <summary>A text file's content as strict UTF-8 (raw or gzip); invalid bytes are a <see cref="DataFormatException"/> naming the file.</summary>
    internal static string ReadAllText(string path)
    {
        using var file = File.OpenRead(path);
        var isGzip = StartsWithGzipMagic(file);
        file.Position = 0;
        try
        {
            using var content = isGzip ? new GZipStream(file, CompressionMode.Decompress, leaveOpen: true) : (Stream)file;
            using var reader = new StreamReader(content, TextDatasets.Utf8Strict, detectEncodingFromByteOrderMarks: true);
            return reader.ReadToEnd();
        }
        catch (Exception ex) when (ex is InvalidDataException or System.Text.DecoderFallbackException)
        {
            throw new DataFormatException(path, $"not readable as UTF-8 text ({ex.Message})", ex);
        }
    }

    /// <summary>Whether the stream starts with the gzip magic bytes 1f 8b; the position is left after what was read.</summary>
    internal static bool StartsWithGzipMagic(Stream stream)
    {
        Span<byte> head = stackalloc byte[2];
        return stream.ReadAtLeast(head, 2, throwOnEndOfStream: false) == 2 && head[0] == 0x1f && head[1] == 0x8b;
    }

    /// <summary>Size and lowercase SHA-256 of a file's content after decompression when it is gzip.</summary>
    internal static (long Size, string Sha256) Measure(string path, CancellationToken ct = default)
    {
        using var file = File.OpenRead(path);
        var isGzip = StartsWithGzipMagic(file);
        file.Position = 0;
        try
        {
            using var content = isGzip ? new GZipStream(file, CompressionMode.Decompress, leaveOpen: true) : (Stream)file;
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var buffer = new byte[1 << 16];
            long size = 0;
            int read;
            while ((read = content.Read(buffer)) > 0)
            {
                ct.ThrowIfCancellationRequested();
                hash.AppendData(buffer, 0, read);
                size += read;
            }
            return (size, Convert.ToHexStringLower(hash.GetHashAndReset()));
        }
        catch (InvalidDataException ex)
        {
            throw new DataFormatException(path, $"corrupt gzip data ({ex.Message})", ex);
        }
    }

    /// <summary>Checks a file against its catalog entry and throws a <see cref="DataFormatException"/> naming it on a mismatch.</summary>
    internal static void Check(string path, DatasetFile expected, CancellationToken ct = default)
    {
        if (Mismatch(path, expected, ct) is { } problem)
            throw new DataFormatException(path, problem);
    }

    /// <summary>What is wrong with a file compared with its catalog entry, or null when it matches.</summary>
    /// <remarks>An empty checksum or a size of zero means "not known" and is not checked.</remarks>
    internal static string? Mismatch(string path, DatasetFile expected, CancellationToken ct = default)
    {
        var (size, sha256) = Measure(path, ct);
        if (expected.Size > 0 && size != expected.Size)
            return $"{size} bytes (decompressed) but the catalog expects {expected.Size} for {expected.FileName}";
        if (expected.Sha256.Length > 0 && !string.Equals(sha256, expected.Sha256, StringComparison.OrdinalIgnoreCase))
            return $"sha256 (decompressed) is {sha256} but the catalog expects {expected.Sha256} for {expected.FileName}";
        return null;
    }

    internal static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // Best effort: a leftover temp file is harmless and the caller is already reporting the real failure.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
