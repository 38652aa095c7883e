using Forge.Core;
using Forge.Data;
using SkiaSharp;

namespace Forge.Data.Tests;

public sealed class DigitImageTests : IDisposable
{
    private static readonly Lazy<ImageSet> MnistTest = new(() => MnistFormat.Load(Path.Combine(SharedData.DataRoot, "mnist"), "test"));
    private readonly TempDir temp = new();

    public void Dispose() => temp.Dispose();

    [SharedDataFact]
    public void Dark_digit_on_light_larger_png_comes_back_close_to_the_original()
    {
        for (var index = 0; index < 20; index++)
        {
            var original = MnistTest.Value.GetImage(index).ToArray();
            var path = temp.Combine($"digit{index}.png");
            File.WriteAllBytes(path, Render(original, (v) => Gray(255 - v), SKEncodedImageFormat.Png));

            var result = DigitImage.LoadAsMnist(path);

            Assert.Equal(784, result.Length);
            Assert.All(result, v => Assert.InRange(v, 0f, 1f));
            var r = Correlation(result, original);
            Assert.True(r > 0.8, $"test image {index}: correlation {r:0.000}\n{Show(result.Select(v => (byte)(v * 255)).ToArray())}\n{Show(original)}");
        }
    }

    [SharedDataFact]
    public void Coloured_jpeg_works_too()
    {
        var original = MnistTest.Value.GetImage(3).ToArray();
        var paper = new SKColor(250, 240, 200);
        var ink = new SKColor(20, 30, 120);
        var path = temp.Combine("digit.jpg");
        File.WriteAllBytes(path, Render(original, v => Lerp(paper, ink, v / 255f), SKEncodedImageFormat.Jpeg));

        Assert.True(Correlation(DigitImage.LoadAsMnist(path), original) > 0.8);
    }

    [SharedDataFact]
    public void Exif_orientation_of_a_sideways_photo_is_applied()
    {
        var original = MnistTest.Value.GetImage(0).ToArray();
        // Store the picture turned a quarter left and tag it "rotate right to view" (EXIF orientation 6), as phones do.
        var turned = new byte[784];
        for (var y = 0; y < 28; y++)
        {
            for (var x = 0; x < 28; x++)
                turned[(y * 28) + x] = original[(x * 28) + (27 - y)];
        }
        var jpeg = Render(turned, v => Gray(255 - v), SKEncodedImageFormat.Jpeg, width: 90, height: 112);
        var path = temp.Combine("sideways.jpg");
        File.WriteAllBytes(path, WithExifOrientation(jpeg, 6));
        var untagged = temp.Combine("untagged.jpg");
        File.WriteAllBytes(untagged, WithExifOrientation(jpeg, 1));

        Assert.True(Correlation(DigitImage.LoadAsMnist(path), original) > 0.8);
        Assert.True(Correlation(DigitImage.LoadAsMnist(untagged), original) < 0.5);
    }

    [SharedDataFact]
    public void Saved_mnist_png_reads_back_as_the_same_digit()
    {
        var original = MnistTest.Value.GetImage(4).ToArray();
        var path = temp.Combine("saved.png");

        DigitImage.SavePng(original, 28, 28, path);

        using var decoded = SKBitmap.Decode(path);
        Assert.Equal((28, 28), (decoded.Width, decoded.Height));
        Assert.Equal(original[(14 * 28) + 14], decoded.GetPixel(14, 14).Red);
        Assert.True(Correlation(DigitImage.LoadAsMnist(path), original) > 0.9);
    }

    [Fact]
    public void Transparent_canvas_with_black_strokes_is_read_as_a_drawing()
    {
        using var bitmap = new SKBitmap(new SKImageInfo(60, 80, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        bitmap.Erase(SKColors.Transparent);
        using (var canvas = new SKCanvas(bitmap))
        using (var pen = new SKPaint { Color = SKColors.Black, StrokeWidth = 6, IsAntialias = true })
            canvas.DrawLine(30, 10, 30, 70, pen);
        var path = temp.Combine("stroke.png");
        File.WriteAllBytes(path, Encode(bitmap, SKEncodedImageFormat.Png));

        var result = DigitImage.LoadAsMnist(path);

        Assert.InRange(result.Max(), 0.99f, 1f);
        AssertCentredInBox(result);
    }

    [Fact]
    public void Gray_input_is_cropped_scaled_to_20_and_centred_by_mass()
    {
        // A dark L-shape off in a corner of a large light page.
        const int width = 300, height = 200;
        var pixels = Enumerable.Repeat((byte)230, width * height).ToArray();
        for (var y = 20; y < 120; y++)
        {
            for (var x = 200; x < 215; x++)
                pixels[(y * width) + x] = 10;
        }
        for (var y = 105; y < 120; y++)
        {
            for (var x = 200; x < 260; x++)
                pixels[(y * width) + x] = 10;
        }

        var result = DigitImage.FromGray(pixels, width, height);

        Assert.Equal(784, result.Length);
        Assert.Equal(1f, result.Max());
        Assert.Equal(0f, result[0]);
        AssertCentredInBox(result);
        var rows = Enumerable.Range(0, 28).Where(y => Enumerable.Range(0, 28).Any(x => result[(y * 28) + x] > 0.2f)).ToList();
        Assert.InRange(rows.Count, 19, 20);
    }

    [Fact]
    public void Light_on_dark_input_is_not_inverted()
    {
        var dark = new byte[50 * 50];
        for (var y = 10; y < 40; y++)
        {
            for (var x = 22; x < 28; x++)
                dark[(y * 50) + x] = 255;
        }
        var light = dark.Select(v => (byte)(255 - v)).ToArray();

        Assert.Equal(DigitImage.FromGray(light, 50, 50), DigitImage.FromGray(dark, 50, 50));
    }

    [Fact]
    public void A_blank_image_has_no_digit()
    {
        using var bitmap = new SKBitmap(40, 40);
        bitmap.Erase(SKColors.White);
        var path = temp.Combine("blank.png");
        File.WriteAllBytes(path, Encode(bitmap, SKEncodedImageFormat.Png));

        var ex = Assert.Throws<DataFormatException>(() => DigitImage.LoadAsMnist(path));
        Assert.Equal(path, ex.Path);
        Assert.Contains("no digit found", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_text_file_is_not_an_image()
    {
        var path = temp.Combine("digit.png");
        File.WriteAllText(path, "this is not a picture of a seven\n");

        var ex = Assert.Throws<DataFormatException>(() => DigitImage.LoadAsMnist(path));

        Assert.Equal(path, ex.Path);
        Assert.StartsWith($"{path}: not a PNG or JPEG image (33 bytes starting with 74 68 69 73", ex.Message, StringComparison.Ordinal);
        Assert.Contains("looks like text", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_truncated_png_is_refused()
    {
        using var bitmap = new SKBitmap(64, 64);
        bitmap.Erase(SKColors.White);
        var png = Encode(bitmap, SKEncodedImageFormat.Png);
        var path = temp.Combine("cut.png");
        File.WriteAllBytes(path, png[..(png.Length / 2)]);

        Assert.Throws<DataFormatException>(() => DigitImage.LoadAsMnist(path));
    }

    [Fact]
    public void Bad_arguments_are_refused()
    {
        Assert.Throws<ArgumentException>(() => DigitImage.FromGray(new byte[10], 3, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => DigitImage.FromGray([], 0, 3));
        Assert.Throws<ForgeException>(() => DigitImage.LoadAsMnist(temp.Combine("missing.png")));
    }

    private static void AssertCentredInBox(float[] image)
    {
        double mass = 0, sx = 0, sy = 0;
        int minX = 28, maxX = -1, minY = 28, maxY = -1;
        for (var y = 0; y < 28; y++)
        {
            for (var x = 0; x < 28; x++)
            {
                var v = image[(y * 28) + x];
                mass += v;
                sx += v * x;
                sy += v * y;
                if (v > 0)
                {
                    (minX, maxX, minY, maxY) = (Math.Min(minX, x), Math.Max(maxX, x), Math.Min(minY, y), Math.Max(maxY, y));
                }
            }
        }
        Assert.InRange(sx / mass, 13.4, 14.6);
        Assert.InRange(sy / mass, 13.4, 14.6);
        Assert.InRange(maxX - minX + 1, 1, 20);
        Assert.InRange(maxY - minY + 1, 1, 20);
    }

    private static SKColor Gray(int v) => new((byte)v, (byte)v, (byte)v);

    private static SKColor Lerp(SKColor a, SKColor b, float t) =>
        new((byte)(a.Red + ((b.Red - a.Red) * t)), (byte)(a.Green + ((b.Green - a.Green) * t)), (byte)(a.Blue + ((b.Blue - a.Blue) * t)));

    /// <summary>Draws a 28x28 digit three times larger on a bigger canvas whose background is colour(0).</summary>
    private static byte[] Render(byte[] digit, Func<byte, SKColor> colour, SKEncodedImageFormat format, int width = 112, int height = 90)
    {
        using var small = new SKBitmap(28, 28);
        for (var y = 0; y < 28; y++)
        {
            for (var x = 0; x < 28; x++)
                small.SetPixel(x, y, colour(digit[(y * 28) + x]));
        }
        using var image = SKImage.FromBitmap(small);
        using var canvas = new SKBitmap(width, height);
        using (var draw = new SKCanvas(canvas))
        {
            draw.Clear(colour(0));
            draw.DrawImage(image, SKRect.Create((width - 84) / 2f + 3, (height - 84) / 2f - 2, 84, 84), new SKSamplingOptions(SKFilterMode.Linear), null);
        }
        return Encode(canvas, format);
    }

    private static byte[] Encode(SKBitmap bitmap, SKEncodedImageFormat format)
    {
        using var image = SKImage.FromBitmap(bitmap);
        using var data = image.Encode(format, 95);
        return data.ToArray();
    }

    /// <summary>Inserts a minimal EXIF segment with only an orientation tag right after the JPEG start marker.</summary>
    private static byte[] WithExifOrientation(byte[] jpeg, byte orientation)
    {
        byte[] payload =
        [
            (byte)'E', (byte)'x', (byte)'i', (byte)'f', 0, 0,
            (byte)'I', (byte)'I', 0x2A, 0, 8, 0, 0, 0,
            1, 0,
            0x12, 0x01, 3, 0, 1, 0, 0, 0, orientation, 0, 0, 0,
            0, 0, 0, 0,
        ];
        var length = payload.Length + 2;
        return [.. jpeg[..2], 0xFF, 0xE1, (byte)(length >> 8), (byte)length, .. payload, .. jpeg[2..]];
    }

    private static string Show(byte[] img) => string.Join("\n", Enumerable.Range(0, 28).Select(y => string.Concat(Enumerable.Range(0, 28).Select(x => " .:-=+*#%@"[img[(y * 28) + x] * 10 / 256]))));

    private static double Correlation(float[] a, byte[] b)
    {
        double meanA = a.Average(), meanB = b.Average(v => (double)v);
        double cov = 0, varA = 0, varB = 0;
        for (var i = 0; i < a.Length; i++)
        {
            var da = a[i] - meanA;
            var db = b[i] - meanB;
            cov += da * db;
            varA += da * da;
            varB += db * db;
        }
        return cov / Math.Sqrt(varA * varB);
    }
}
