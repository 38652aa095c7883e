namespace Forge.Data;

/// <summary>Labelled grayscale images of one size, stored as one row-major byte array.</summary>
public sealed class ImageSet
{
    /// <summary>Wraps pixels and labels without copying; <paramref name="pixels"/> holds labels.Length images of height x width bytes.</summary>
    public ImageSet(byte[] pixels, byte[] labels, int height, int width, IReadOnlyList<string> classNames)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(classNames);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        if ((long)labels.Length * height * width != pixels.Length)
            throw new ArgumentException($"{pixels.Length} pixel bytes do not hold {labels.Length} images of {height}x{width}", nameof(pixels));
        for (var i = 0; i < labels.Length; i++)
        {
            if (labels[i] >= classNames.Count)
                throw new ArgumentException($"label {labels[i]} at index {i} is not below the class count {classNames.Count}", nameof(labels));
        }
        Pixels = pixels;
        Labels = labels;
        Height = height;
        Width = width;
        ClassNames = classNames;
    }

    /// <summary>The number of images.</summary>
    public int Count => Labels.Length;

    /// <summary>Image height in pixels.</summary>
    public int Height { get; }

    /// <summary>Image width in pixels.</summary>
    public int Width { get; }

    /// <summary>All images, Count x Height x Width bytes, row-major, 0 = background.</summary>
    public byte[] Pixels { get; }

    /// <summary>One class index per image.</summary>
    public byte[] Labels { get; }

    /// <summary>The number of classes.</summary>
    public int ClassCount => ClassNames.Count;

    /// <summary>The name of each class index.</summary>
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>The first <paramref name="count"/> images (all of them when there are fewer), in order.</summary>
    public ImageSet Take(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (count >= Count) return this;
        return new ImageSet(Pixels[..(count * Height * Width)], Labels[..count], Height, Width, ClassNames);
    }

    /// <summary>The pixels of image <paramref name="index"/>.</summary>
    public ReadOnlySpan<byte> GetImage(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
        return Pixels.AsSpan(index * Height * Width, Height * Width);
    }
}
