using Forge.Core;
using SkiaSharp;

namespace Forge.Data;

/// <summary>Turns a user's picture of a digit into a 28x28 MNIST-style input: white ink on black, in a 20x20 box centred by mass.</summary>
public static class DigitImage
{
    /// <summary>The side of the output image in pixels.</summary>
    public const int Side = 28;

    /// <summary>The side of the box the digit is scaled to fit, as in MNIST.</summary>
    public const int Box = 20;

    // Photos can be tens of megapixels; a 20x20 result never needs more than this many pixels per side.
    private const int MaxDecodeSide = 1024;

    // Gray levels by which the brightest ink must stand out from the background for the image to hold anything.
    private const float MinContrast = 40f;

    // Fractions of the ink range: below NoiseFloor is paper texture or compression noise, above InkThreshold is ink.
    private const float NoiseFloor = 0.1f;
    private const float InkThreshold = 0.2f;

    /// <summary>Decodes a PNG/JPEG (any Skia-decodable file, any size or colour) and returns 784 floats in [0, 1] like an MNIST digit.</summary>
    public static float[] LoadAsMnist(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new ForgeException($"{path}: file not found", ex);
        }
        return FromEncoded(bytes, path);
    }

    /// <summary>
    /// The same pipeline as <see cref="LoadAsMnist"/> on an encoded PNG/JPEG already in memory (an upload, a request body);
    /// <paramref name="name"/> is what errors call the image.
    /// </summary>
    public static float[] FromEncoded(byte[] encoded, string name)
    {
        ArgumentNullException.ThrowIfNull(encoded);
        ArgumentException.ThrowIfNullOrEmpty(name);
        var (gray, width, height) = DecodeGray(encoded, name);
        return Normalize(gray, width, height, name);
    }

    /// <summary>The same pipeline as <see cref="LoadAsMnist"/> on raw 8-bit grayscale pixels (row-major, width x height).</summary>
    public static float[] FromGray(byte[] pixels, int width, int height)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        if ((long)width * height != pixels.Length)
            throw new ArgumentException($"{pixels.Length} pixels do not make a {width}x{height} image", nameof(pixels));
        return Normalize(pixels, width, height, "grayscale image");
    }

    /// <summary>Writes 8-bit grayscale pixels (row-major, width x height) unchanged as a PNG file.</summary>
    public static void SavePng(byte[] pixels, int width, int height, string path)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        if ((long)width * height != pixels.Length)
            throw new ArgumentException($"{pixels.Length} pixels do not make a {width}x{height} image", nameof(pixels));
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Gray8, SKAlphaType.Opaque));
        pixels.CopyTo(bitmap.GetPixelSpan());
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100)
            ?? throw new ForgeException($"{path}: could not encode a {width}x{height} PNG");
        using var file = File.Create(path);
        data.SaveTo(file);
    }

    private static (byte[] Gray, int Width, int Height) DecodeGray(byte[] bytes, string path)
    {
        using var data = SKData.CreateCopy(bytes);
        using var codec = SKCodec.Create(data)
            ?? throw new DataFormatException(path, $"not a PNG or JPEG image ({Describe(bytes)})");
        var full = codec.Info.Size;
        var largest = Math.Max(full.Width, full.Height);
        var size = largest > MaxDecodeSide ? codec.GetScaledDimensions(MaxDecodeSide / (float)largest) : full;
        var info = new SKImageInfo(size.Width, size.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        var bitmap = new SKBitmap(info);
        try
        {
            var result = codec.GetPixels(info, bitmap.GetPixels());
            if (result == SKCodecResult.InvalidScale && size != full)
            {
                // Only some codecs (JPEG) can decode at a reduced size; the others decode in full.
                bitmap.Dispose();
                info = new SKImageInfo(full.Width, full.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
                bitmap = new SKBitmap(info);
                result = codec.GetPixels(info, bitmap.GetPixels());
            }
            if (result != SKCodecResult.Success)
                throw new DataFormatException(path, $"truncated or corrupt image data (decoder says {result})");
            var gray = ToGray(bitmap.GetPixelSpan(), info.Width * info.Height);
            return Orient(gray, info.Width, info.Height, codec.EncodedOrigin);
        }
        finally
        {
            bitmap.Dispose();
        }
    }

    private static byte[] ToGray(ReadOnlySpan<byte> rgba, int count)
    {
        var luma = new float[count];
        var anyTransparent = false;
        double weighted = 0, alphaSum = 0;
        for (var i = 0; i < count; i++)
        {
            var p = rgba.Slice(i * 4, 4);
            luma[i] = (0.299f * p[0]) + (0.587f * p[1]) + (0.114f * p[2]);
            anyTransparent |= p[3] < 255;
            weighted += luma[i] * p[3];
            alphaSum += p[3];
        }
        // Transparent pixels have no colour of their own (drawing apps export strokes on a transparent canvas):
        // put them on whichever backdrop contrasts with the visible strokes.
        var backdrop = anyTransparent && alphaSum > 0 && weighted / alphaSum > 127.5 ? 0f : 255f;
        var gray = new byte[count];
        for (var i = 0; i < count; i++)
        {
            var alpha = rgba[(i * 4) + 3] / 255f;
            gray[i] = (byte)Math.Clamp(MathF.Round((luma[i] * alpha) + (backdrop * (1 - alpha))), 0, 255);
        }
        return gray;
    }

    // Phone cameras store pixels sideways and record the turn in EXIF; Skia's codec reports it but does not apply it.
    private static (byte[] Gray, int Width, int Height) Orient(byte[] src, int w, int h, SKEncodedOrigin origin)
    {
        if (origin == SKEncodedOrigin.TopLeft)
            return (src, w, h);
        var swaps = origin is SKEncodedOrigin.LeftTop or SKEncodedOrigin.RightTop or SKEncodedOrigin.RightBottom or SKEncodedOrigin.LeftBottom;
        var (dw, dh) = swaps ? (h, w) : (w, h);
        var dst = new byte[src.Length];
        for (var y = 0; y < dh; y++)
        {
            for (var x = 0; x < dw; x++)
            {
                var (sx, sy) = origin switch
                {
                    SKEncodedOrigin.TopRight => (w - 1 - x, y),
                    SKEncodedOrigin.BottomRight => (w - 1 - x, h - 1 - y),
                    SKEncodedOrigin.BottomLeft => (x, h - 1 - y),
                    SKEncodedOrigin.LeftTop => (y, x),
                    SKEncodedOrigin.RightTop => (y, h - 1 - x),
                    SKEncodedOrigin.RightBottom => (w - 1 - y, h - 1 - x),
                    SKEncodedOrigin.LeftBottom => (w - 1 - y, x),
                    _ => (x, y),
                };
                dst[(y * dw) + x] = src[(sy * w) + sx];
            }
        }
        return (dst, dw, dh);
    }

    private static float[] Normalize(byte[] gray, int width, int height, string name)
    {
        // MNIST digits are light on dark; a light border means dark ink on paper, so flip it.
        var background = BorderMedian(gray, width, height);
        var invert = background > 127;
        var ink = new float[gray.Length];
        var max = 0f;
        for (var i = 0; i < gray.Length; i++)
        {
            ink[i] = invert ? 255 - gray[i] : gray[i];
            max = Math.Max(max, ink[i]);
        }
        float floor = invert ? 255 - background : background;
        if (max - floor < MinContrast)
            throw new DataFormatException(name, $"no digit found: nothing stands out from the background (contrast {max - floor:0} of at least {MinContrast:0} gray levels needed)");

        int minX = width, minY = height, maxX = -1, maxY = -1;
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                var i = (y * width) + x;
                // Background to 0 and the brightest ink to 1; faint noise becomes exactly 0, as MNIST's background is.
                var t = (ink[i] - floor) / (max - floor);
                ink[i] = t <= NoiseFloor ? 0 : (t - NoiseFloor) / (1 - NoiseFloor);
                if (ink[i] > InkThreshold)
                {
                    minX = Math.Min(minX, x);
                    maxX = Math.Max(maxX, x);
                    minY = Math.Min(minY, y);
                    maxY = Math.Max(maxY, y);
                }
            }
        }

        var cropWidth = maxX - minX + 1;
        var cropHeight = maxY - minY + 1;
        var crop = new float[cropWidth * cropHeight];
        for (var y = 0; y < cropHeight; y++)
            Array.Copy(ink, ((minY + y) * width) + minX, crop, y * cropWidth, cropWidth);

        var scale = (double)Box / Math.Max(cropWidth, cropHeight);
        var boxWidth = Math.Clamp((int)Math.Round(cropWidth * scale), 1, Box);
        var boxHeight = Math.Clamp((int)Math.Round(cropHeight * scale), 1, Box);
        var digit = Resample(crop, cropWidth, cropHeight, boxWidth, boxHeight);

        // Shrinking a thin stroke dims it; MNIST strokes peak at full white, so restore that.
        var peak = digit.Max();
        double mass = 0, sumX = 0, sumY = 0;
        for (var y = 0; y < boxHeight; y++)
        {
            for (var x = 0; x < boxWidth; x++)
            {
                var v = digit[(y * boxWidth) + x] /= peak;
                mass += v;
                sumX += v * x;
                sumY += v * y;
            }
        }
        // MNIST puts the centre of mass at pixel index 14 (measured over its test set: 14.00, 13.99), not at the geometric 13.5.
        var left = Math.Clamp((int)Math.Round((Side / 2.0) - (sumX / mass)), 0, Side - boxWidth);
        var top = Math.Clamp((int)Math.Round((Side / 2.0) - (sumY / mass)), 0, Side - boxHeight);
        var result = new float[Side * Side];
        for (var y = 0; y < boxHeight; y++)
            Array.Copy(digit, y * boxWidth, result, ((top + y) * Side) + left, boxWidth);
        return result;
    }

    private static byte BorderMedian(byte[] gray, int width, int height)
    {
        var border = new List<byte>((2 * width) + (2 * height));
        for (var x = 0; x < width; x++)
        {
            border.Add(gray[x]);
            border.Add(gray[((height - 1) * width) + x]);
        }
        for (var y = 1; y < height - 1; y++)
        {
            border.Add(gray[y * width]);
            border.Add(gray[(y * width) + width - 1]);
        }
        border.Sort();
        return border[border.Count / 2];
    }

    /// <summary>Separable resampling with a tent filter that widens when shrinking, so every source pixel contributes (no aliasing).</summary>
    internal static float[] Resample(float[] src, int srcWidth, int srcHeight, int dstWidth, int dstHeight)
    {
        var columns = Weights(srcWidth, dstWidth);
        var rows = Weights(srcHeight, dstHeight);
        var horizontal = new float[dstWidth * srcHeight];
        for (var y = 0; y < srcHeight; y++)
        {
            for (var x = 0; x < dstWidth; x++)
            {
                var (start, weights) = columns[x];
                var sum = 0f;
                for (var k = 0; k < weights.Length; k++)
                    sum += weights[k] * src[(y * srcWidth) + start + k];
                horizontal[(y * dstWidth) + x] = sum;
            }
        }
        var dst = new float[dstWidth * dstHeight];
        for (var y = 0; y < dstHeight; y++)
        {
            var (start, weights) = rows[y];
            for (var x = 0; x < dstWidth; x++)
            {
                var sum = 0f;
                for (var k = 0; k < weights.Length; k++)
                    sum += weights[k] * horizontal[((start + k) * dstWidth) + x];
                dst[(y * dstWidth) + x] = sum;
            }
        }
        return dst;
    }

    private static (int Start, float[] Weights)[] Weights(int srcLength, int dstLength)
    {
        var scale = (double)srcLength / dstLength;
        var radius = Math.Max(1.0, scale);
        var result = new (int, float[])[dstLength];
        for (var i = 0; i < dstLength; i++)
        {
            var center = (i + 0.5) * scale;
            var lo = Math.Max(0, (int)Math.Floor(center - radius));
            var hi = Math.Min(srcLength - 1, (int)Math.Ceiling(center + radius));
            var weights = new float[hi - lo + 1];
            double total = 0;
            for (var j = lo; j <= hi; j++)
            {
                var w = Math.Max(0, 1 - (Math.Abs(j + 0.5 - center) / radius));
                weights[j - lo] = (float)w;
                total += w;
            }
            for (var k = 0; k < weights.Length; k++)
                weights[k] = (float)(weights[k] / total);
            result[i] = (lo, weights);
        }
        return result;
    }

    private static string Describe(byte[] bytes)
    {
        if (bytes.Length == 0)
            return "the file is empty";
        var head = bytes.AsSpan(0, Math.Min(8, bytes.Length));
        var hex = string.Join(' ', head.ToArray().Select(b => b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture)));
        var looksLikeText = bytes.Take(256).All(b => b is 9 or 10 or 13 or (>= 32 and < 127));
        return $"{bytes.Length} bytes starting with {hex}{(looksLikeText ? ", looks like text" : "")}; no image decoder recognises it";
    }
}
