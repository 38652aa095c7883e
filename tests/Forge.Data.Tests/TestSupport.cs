using System.Buffers.Binary;
using System.IO.Compression;
using System.Security.Cryptography;
using Forge.Data;

namespace Forge.Data.Tests;

/// <summary>Sets environment variables for one test and puts the old values back.</summary>
internal sealed class EnvironmentScope : IDisposable
{
    private readonly Dictionary<string, string?> saved = [];

    public EnvironmentScope Set(string name, string? value)
    {
        if (!saved.ContainsKey(name))
            saved[name] = Environment.GetEnvironmentVariable(name);
        Environment.SetEnvironmentVariable(name, value);
        return this;
    }

    public void Dispose()
    {
        foreach (var (name, value) in saved)
            Environment.SetEnvironmentVariable(name, value);
    }
}

/// <summary>Tests that change process-wide environment variables run alone.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class EnvironmentCollection
{
    public const string Name = "environment";
}

internal static class Idx
{
    public static byte[] Build(int[] dimensions, byte[] data, byte type = 0x08)
    {
        var bytes = new byte[4 + (4 * dimensions.Length) + data.Length];
        bytes[2] = type;
        bytes[3] = (byte)dimensions.Length;
        for (var i = 0; i < dimensions.Length; i++)
            BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4 + (4 * i)), dimensions[i]);
        data.CopyTo(bytes, 4 + (4 * dimensions.Length));
        return bytes;
    }

    public static byte[] Gzip(byte[] raw)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest))
            gzip.Write(raw);
        return output.ToArray();
    }

    public static string Sha256(byte[] content) => Convert.ToHexStringLower(SHA256.HashData(content));

    /// <summary>Writes a tiny MNIST-layout split (images n x h x w, labels n) and returns the raw bytes of both files.</summary>
    public static (byte[] Images, byte[] Labels) WriteSplit(string directory, string prefix, int count, bool gzip, int height = 4, int width = 3, int labelCount = -1)
    {
        Directory.CreateDirectory(directory);
        var pixels = new byte[count * height * width];
        for (var i = 0; i < pixels.Length; i++)
            pixels[i] = (byte)(i * 7);
        var labels = new byte[labelCount < 0 ? count : labelCount];
        for (var i = 0; i < labels.Length; i++)
            labels[i] = (byte)(i % 10);
        var images = Build([count, height, width], pixels);
        var labelFile = Build([labels.Length], labels);
        File.WriteAllBytes(System.IO.Path.Combine(directory, $"{prefix}-images-idx3-ubyte" + (gzip ? ".gz" : "")), gzip ? Gzip(images) : images);
        File.WriteAllBytes(System.IO.Path.Combine(directory, $"{prefix}-labels-idx1-ubyte" + (gzip ? ".gz" : "")), gzip ? Gzip(labelFile) : labelFile);
        return (images, labelFile);
    }
}

/// <summary>Small synthetic catalog entries for resolver tests.</summary>
internal static class FakeCatalog
{
    public static readonly byte[] A = "alpha file\n"u8.ToArray();
    public static readonly byte[] B = "bravo file, a little longer\n"u8.ToArray();

    public static DatasetInfo Toy(IReadOnlyList<string>? systemLocations = null, Func<string, IReadOnlyList<string>>? urls = null) =>
        new("toy", "toy-folder", "a toy dataset", "CC0", "nobody",
            [
                new DatasetFile("a.txt", Idx.Sha256(A), A.Length, urls?.Invoke("a.txt") ?? []),
                new DatasetFile("b.txt", Idx.Sha256(B), B.Length, urls?.Invoke("b.txt") ?? []),
            ],
            systemLocations ?? [],
            []);

    public static void WriteToy(string directory, bool onlyA = false)
    {
        Directory.CreateDirectory(directory);
        File.WriteAllBytes(Path.Combine(directory, "a.txt"), A);
        if (!onlyA)
            File.WriteAllBytes(Path.Combine(directory, "b.txt.gz"), Idx.Gzip(B));
    }
}
