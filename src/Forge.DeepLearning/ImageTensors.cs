using Forge.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace Forge.DeepLearning;

/// <summary>Per-channel normalisation measured on the training split and stored in the bundle.</summary>
/// <param name="Mean">Mean pixel value (pixels scaled to 0–1).</param>
/// <param name="Std">Standard deviation of pixel values.</param>
public sealed record ImageNormalization(double Mean, double Std)
{
    /// <summary>Measures mean and standard deviation over the given images only (never the test set).</summary>
    public static ImageNormalization Measure(byte[] pixels, IReadOnlyList<int> indices, int pixelsPerImage)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        ArgumentNullException.ThrowIfNull(indices);
        double sum = 0, sq = 0;
        foreach (var i in indices)
        {
            var span = pixels.AsSpan(i * pixelsPerImage, pixelsPerImage);
            foreach (var b in span)
            {
                var v = b / 255.0;
                sum += v;
                sq += v * v;
            }
        }
        var count = (double)indices.Count * pixelsPerImage;
        var mean = sum / count;
        return new ImageNormalization(mean, Math.Sqrt(Math.Max(1e-12, sq / count - mean * mean)));
    }

    /// <summary>Normalises a batch of 0–1 pixels.</summary>
    public Tensor Apply(Tensor pixels)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        using var mean = TorchScalars.Of((float)Mean);
        using var std = TorchScalars.Of((float)Std);
        return pixels.sub(mean).div_(std);
    }
}

/// <summary>Conversions from Forge.Data image sets to tensors, and image augmentation.</summary>
internal static class ImageTensors
{
    /// <summary>The selected images as a float tensor [n, 1, h, w] scaled to 0–1.</summary>
    public static Tensor Pixels(ImageSet set, IReadOnlyList<int>? indices = null)
    {
        var per = set.Height * set.Width;
        byte[] data;
        long n;
        if (indices is null)
        {
            data = set.Pixels;
            n = set.Count;
        }
        else
        {
            data = new byte[(long)indices.Count * per];
            for (var k = 0; k < indices.Count; k++) Buffer.BlockCopy(set.Pixels, indices[k] * per, data, k * per, per);
            n = indices.Count;
        }
        using var bytes = torch.tensor(data, [n, 1, set.Height, set.Width], ScalarType.Byte);
        return ToUnitRange(bytes);
    }

    /// <summary>Byte pixels as float32 scaled to 0–1.</summary>
    public static Tensor ToUnitRange(Tensor bytes)
    {
        using var max = TorchScalars.Of(255f);
        return bytes.to_type(ScalarType.Float32).div_(max);
    }

    /// <summary>The selected labels as an int64 tensor.</summary>
    public static Tensor Labels(ImageSet set, IReadOnlyList<int>? indices = null)
    {
        var labels = indices is null ? set.Labels.Select(b => (long)b).ToArray() : indices.Select(i => (long)set.Labels[i]).ToArray();
        return torch.tensor(labels, ScalarType.Int64);
    }

    /// <summary>Shifts each image by up to <paramref name="shift"/> pixels and rotates it by up to <paramref name="degrees"/>, independently per image.</summary>
    public static Tensor RandomAffine(Tensor x, double shift, double degrees, Generator generator)
    {
        var n = x.shape[0];
        var h = x.shape[2];
        var w = x.shape[3];
        var angle = SymmetricUniform(n, (float)(degrees * Math.PI / 180), generator);
        // affine_grid works in [-1, 1] coordinates, so a shift of s pixels is 2s/size.
        var tx = SymmetricUniform(n, (float)(2 * shift / w), generator);
        var ty = SymmetricUniform(n, (float)(2 * shift / h), generator);
        var cos = angle.cos();
        var sin = angle.sin();
        var theta = torch.stack([cos, -sin, tx, sin, cos, ty], 1).reshape(n, 2, 3);
        var grid = nn.functional.affine_grid(theta, [n, x.shape[1], h, w], align_corners: false);
        return nn.functional.grid_sample(x, grid, GridSampleMode.Bilinear, GridSamplePaddingMode.Zeros, align_corners: false);
    }

    /// <summary>n draws from U(-limit, limit), computed as (2u - 1)·limit from one U(0, 1) draw each.</summary>
    private static Tensor SymmetricUniform(long n, float limit, Generator generator)
    {
        using var two = TorchScalars.Of(2f);
        using var one = TorchScalars.Of(1f);
        using var scale = TorchScalars.Of(limit);
        return torch.rand([n], generator: generator).mul_(two).sub_(one).mul_(scale);
    }
}
