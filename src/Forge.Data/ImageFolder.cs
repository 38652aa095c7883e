using Forge.Core;
using SkiaSharp;

namespace Forge.Data;

/// <summary>One image file of an image-folder dataset.</summary>
public sealed record ImageFolderEntry(string Path, int Label, string? Split);

/// <summary>What to do with an image that cannot be decoded.</summary>
public enum BadImagePolicy
{
    /// <summary>Stop with an error naming the file.</summary>
    Fail,

    /// <summary>Leave the image out and report it.</summary>
    Skip,
}

/// <summary>An image that was left out, and why.</summary>
public sealed record SkippedImage(string Path, string Reason);

/// <summary>
/// A labelled image dataset laid out as one folder per class (JPEG/PNG), optionally with a <c>manifest.csv</c>
/// (<c>path,label[,split]</c>) that fixes the file list and a train/test split.
/// </summary>
public sealed class ImageFolder
{
    private static readonly string[] Extensions = [".jpg", ".jpeg", ".png"];

    private ImageFolder(string root, IReadOnlyList<string> classNames, IReadOnlyList<ImageFolderEntry> entries, string? manifest)
    {
        Root = root;
        ClassNames = classNames;
        Entries = entries;
        ManifestPath = manifest;
    }

    /// <summary>The dataset folder.</summary>
    public string Root { get; }

    /// <summary>Class names in label order (sorted ordinally, as the folders are).</summary>
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>Every image, in a stable order.</summary>
    public IReadOnlyList<ImageFolderEntry> Entries { get; }

    /// <summary>The manifest the file list came from, when there was one.</summary>
    public string? ManifestPath { get; }

    /// <summary>The entries of one split (e.g. "train" or "test"); an error when the dataset has no such split.</summary>
    public IReadOnlyList<ImageFolderEntry> Split(string name)
    {
        var rows = Entries.Where(e => string.Equals(e.Split, name, StringComparison.OrdinalIgnoreCase)).ToArray();
        if (rows.Length == 0)
        {
            var have = Entries.Select(e => e.Split).Where(s => s is not null).Distinct().ToArray();
            throw new DataFormatException(ManifestPath ?? Root, have.Length == 0
                ? $"has no split column, so there is no '{name}' split (add a manifest.csv with a split column)"
                : $"has no '{name}' split (splits: {string.Join(", ", have)})");
        }
        return rows;
    }

    /// <summary>
    /// Opens a dataset folder: <c>manifest.csv</c> when present (its <c>path</c> is relative to the folder), else every
    /// JPEG/PNG under <c>DIR/images/CLASS/</c> or <c>DIR/CLASS/</c>.
    /// </summary>
    public static ImageFolder Open(string directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        var root = System.IO.Path.GetFullPath(directory);
        if (!Directory.Exists(root)) throw new DataFormatException(root, "folder not found");
        var manifest = System.IO.Path.Combine(root, "manifest.csv");
        return File.Exists(manifest) ? FromManifest(root, manifest) : FromFolders(root);
    }

    private static ImageFolder FromManifest(string root, string manifest)
    {
        var records = Csv.ReadFile(manifest);
        if (records.Count == 0) throw new DataFormatException(manifest, "is empty (a header row path,label[,split] is needed)");
        var header = records[0];
        var cols = Csv.Columns(header, manifest, "path", "label");
        int pathCol = cols[0], labelCol = cols[1], splitCol = Array.FindIndex(header, h => string.Equals(h.Trim(), "split", StringComparison.OrdinalIgnoreCase));
        var rows = records.Skip(1).Where(r => r.Length > 1 || r[0].Length > 0).ToArray();
        for (var r = 0; r < rows.Length; r++)
        {
            if (rows[r].Length != header.Length)
                throw new DataFormatException(manifest, $"record {r + 1}: {rows[r].Length} fields, the header has {header.Length}");
        }
        var classNames = rows.Select(r => r[labelCol]).Distinct().Order(StringComparer.Ordinal).ToArray();
        var index = classNames.Select((n, i) => (n, i)).ToDictionary(x => x.n, x => x.i, StringComparer.Ordinal);
        var entries = new List<ImageFolderEntry>(rows.Length);
        for (var r = 0; r < rows.Length; r++)
        {
            var row = rows[r];
            if (row[pathCol].Length == 0 || row[labelCol].Length == 0)
                throw new DataFormatException(manifest, $"record {r + 1}: empty path or label");
            var full = System.IO.Path.GetFullPath(System.IO.Path.Combine(root, row[pathCol]));
            if (!full.StartsWith(root + System.IO.Path.DirectorySeparatorChar, StringComparison.Ordinal))
                throw new DataFormatException(manifest, $"record {r + 1}: path '{row[pathCol]}' leaves the dataset folder");
            entries.Add(new ImageFolderEntry(full, index[row[labelCol]], splitCol >= 0 && row[splitCol].Length > 0 ? row[splitCol] : null));
        }
        return new ImageFolder(root, classNames, entries, manifest);
    }

    private static ImageFolder FromFolders(string root)
    {
        var classRoot = Directory.Exists(System.IO.Path.Combine(root, "images")) ? System.IO.Path.Combine(root, "images") : root;
        var classDirs = Directory.GetDirectories(classRoot).Order(StringComparer.Ordinal).ToArray();
        var classNames = new List<string>();
        var entries = new List<ImageFolderEntry>();
        foreach (var dir in classDirs)
        {
            var files = Directory.EnumerateFiles(dir)
                .Where(f => Extensions.Contains(System.IO.Path.GetExtension(f).ToLowerInvariant()))
                .Order(StringComparer.Ordinal).ToArray();
            if (files.Length == 0) continue;
            var label = classNames.Count;
            classNames.Add(System.IO.Path.GetFileName(dir));
            entries.AddRange(files.Select(f => new ImageFolderEntry(f, label, null)));
        }
        if (classNames.Count < 2)
            throw new DataFormatException(root, $"needs at least two class folders holding JPEG/PNG images (found {classNames.Count})");
        return new ImageFolder(root, classNames, entries, null);
    }
}

/// <summary>Colour images of one square size, stored as one byte array of N×size×size×3 RGB values.</summary>
public sealed class RgbImageSet
{
    /// <summary>Wraps decoded images without copying.</summary>
    public RgbImageSet(byte[] pixels, int[] labels, int size, IReadOnlyList<string> classNames, IReadOnlyList<string> paths)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        ArgumentNullException.ThrowIfNull(labels);
        if ((long)labels.Length * size * size * 3 != pixels.Length)
            throw new ArgumentException($"{pixels.Length} bytes do not hold {labels.Length} RGB images of {size}×{size}", nameof(pixels));
        Pixels = pixels;
        Labels = labels;
        Size = size;
        ClassNames = classNames;
        Paths = paths;
    }

    /// <summary>The number of images.</summary>
    public int Count => Labels.Length;

    /// <summary>Side length in pixels.</summary>
    public int Size { get; }

    /// <summary>All pixels, image-major then row-major, 3 bytes (R, G, B) per pixel.</summary>
    public byte[] Pixels { get; }

    /// <summary>One class index per image (-1 when unknown).</summary>
    public int[] Labels { get; }

    /// <summary>The name of each class index.</summary>
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>The file each image came from.</summary>
    public IReadOnlyList<string> Paths { get; }

    /// <summary>The images at the given indices, in that order.</summary>
    public RgbImageSet Select(IReadOnlyList<int> indices)
    {
        ArgumentNullException.ThrowIfNull(indices);
        var per = Size * Size * 3;
        var pixels = new byte[(long)indices.Count * per];
        for (var i = 0; i < indices.Count; i++) Pixels.AsSpan(indices[i] * per, per).CopyTo(pixels.AsSpan(i * per, per));
        return new RgbImageSet(pixels, [.. indices.Select(i => Labels[i])], Size, ClassNames, [.. indices.Select(i => Paths[i])]);
    }

    /// <summary>
    /// Decodes image files to <paramref name="size"/>×<paramref name="size"/> RGB: the shorter side is scaled to the size and
    /// the centre cropped. Undecodable files fail or are skipped per <paramref name="policy"/>; skipped ones are returned.
    /// </summary>
    public static (RgbImageSet Images, IReadOnlyList<SkippedImage> Skipped) Decode(
        IReadOnlyList<ImageFolderEntry> entries, IReadOnlyList<string> classNames, int size, BadImagePolicy policy = BadImagePolicy.Fail,
        IProgress<int>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(entries);
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 8);
        var per = size * size * 3;
        var decoded = new byte[entries.Count][];
        var errors = new string?[entries.Count];
        var done = 0;
        var gate = new object();
        Parallel.For(0, entries.Count, i =>
        {
            try
            {
                decoded[i] = DecodeOne(entries[i].Path, size);
            }
            catch (DataFormatException e)
            {
                errors[i] = e.Message;
            }
            // Reported under a lock: progress sinks (a terminal bar) are not thread-safe.
            if (progress is not null) lock (gate) progress.Report(++done);
        });
        var skipped = new List<SkippedImage>();
        var keep = new List<int>(entries.Count);
        for (var i = 0; i < entries.Count; i++)
        {
            if (errors[i] is null) { keep.Add(i); continue; }
            if (policy == BadImagePolicy.Fail)
                throw new DataFormatException(entries[i].Path, "cannot be decoded (" + errors[i] + "); pass --skip-bad-images to leave such files out");
            skipped.Add(new SkippedImage(entries[i].Path, errors[i]!));
        }
        var pixels = new byte[(long)keep.Count * per];
        for (var k = 0; k < keep.Count; k++) decoded[keep[k]].CopyTo(pixels.AsSpan(k * per, per));
        var images = new RgbImageSet(pixels, [.. keep.Select(i => entries[i].Label)], size, classNames, [.. keep.Select(i => entries[i].Path)]);
        return (images, skipped);
    }

    /// <summary>Decodes one JPEG/PNG file to a size×size RGB byte array (shorter side scaled, centre cropped).</summary>
    public static byte[] DecodeOne(string path, int size)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataFormatException(path, "cannot be read: " + e.Message, e);
        }
        return DecodeBytes(bytes, path, size);
    }

    /// <summary>Decodes an encoded JPEG/PNG image to a size×size RGB byte array; <paramref name="source"/> names it in errors.</summary>
    public static byte[] DecodeBytes(byte[] bytes, string source, int size)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        var path = source;
        using var data = SKData.CreateCopy(bytes);
        using var codec = SKCodec.Create(data) ?? throw new DataFormatException(path, "is not a PNG or JPEG image");
        var info = new SKImageInfo(codec.Info.Width, codec.Info.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        using var full = new SKBitmap(info);
        var result = codec.GetPixels(info, full.GetPixels());
        if (result == SKCodecResult.IncompleteInput)
            throw new DataFormatException(path, "truncated image data (the file ends before the picture does)");
        if (result != SKCodecResult.Success)
            throw new DataFormatException(path, $"corrupt image data (decoder says {result})");
        var (w, h) = (info.Width, info.Height);
        var scale = size / (float)Math.Min(w, h);
        int sw = Math.Max(size, (int)MathF.Round(w * scale)), sh = Math.Max(size, (int)MathF.Round(h * scale));
        using var scaled = sw == w && sh == h ? full.Copy() : full.Resize(new SKImageInfo(sw, sh, SKColorType.Rgba8888, SKAlphaType.Unpremul), new SKSamplingOptions(SKCubicResampler.Mitchell));
        if (scaled is null) throw new DataFormatException(path, "could not be resized");
        var rgba = scaled.GetPixelSpan();
        var x0 = (sw - size) / 2;
        var y0 = (sh - size) / 2;
        var rgb = new byte[size * size * 3];
        for (var y = 0; y < size; y++)
        {
            for (var x = 0; x < size; x++)
            {
                var s = (((y + y0) * sw) + x + x0) * 4;
                var d = ((y * size) + x) * 3;
                // Transparent pixels are put on white, as image viewers show them.
                var a = rgba[s + 3];
                for (var c = 0; c < 3; c++) rgb[d + c] = a == 255 ? rgba[s + c] : (byte)(((rgba[s + c] * a) + (255 * (255 - a)) + 127) / 255);
            }
        }
        return rgb;
    }
}
