using SkiaSharp;

namespace Forge.Reporting.Tests;

/// <summary>Decodes written PNGs and counts pixels, so tests check what a reader of the file would see.</summary>
internal static class PngAssert
{
    private static readonly byte[] Signature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    public static SKBitmap Decode(string path, int expectedWidth, int expectedHeight)
    {
        var bytes = File.ReadAllBytes(path);
        Assert.True(bytes.AsSpan().StartsWith(Signature), $"{path} does not start with the PNG signature");
        var bitmap = SKBitmap.Decode(bytes);
        Assert.NotNull(bitmap);
        Assert.Equal(expectedWidth, bitmap.Width);
        Assert.Equal(expectedHeight, bitmap.Height);
        return bitmap;
    }

    /// <summary>Pixels in the rectangle dark enough to be text: text is black, lines are coloured and the grid is pale grey.</summary>
    public static int DarkPixels(SKBitmap bitmap, int left, int top, int right, int bottom)
    {
        var count = 0;
        for (var y = top; y < bottom; y++)
        {
            for (var x = left; x < right; x++)
            {
                var c = bitmap.GetPixel(x, y);
                if (c.Red < 128 && c.Green < 128 && c.Blue < 128)
                    count++;
            }
        }
        return count;
    }

    /// <summary>How many distinct colours the image uses: a blank or single-colour PNG has one or two.</summary>
    public static int DistinctColours(SKBitmap bitmap)
    {
        var colours = new HashSet<uint>();
        for (var y = 0; y < bitmap.Height; y += 2)
        {
            for (var x = 0; x < bitmap.Width; x += 2)
                colours.Add((uint)bitmap.GetPixel(x, y));
        }
        return colours.Count;
    }
}
