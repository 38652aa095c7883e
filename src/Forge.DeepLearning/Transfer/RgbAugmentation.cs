using Forge.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace Forge.DeepLearning.Transfer;

/// <summary>Random image changes applied to colour training images, so a small dataset looks bigger.</summary>
public sealed record RgbAugmentation
{
    /// <summary>No change: the evaluation view (centre crop).</summary>
    public static RgbAugmentation None { get; } = new() { Enabled = false };

    /// <summary>Whether any random change is made.</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>Smallest share of the image area a random resized crop keeps.</summary>
    public double MinCropArea { get; init; } = 0.35;

    /// <summary>Largest rotation, in degrees either way.</summary>
    public double RotationDegrees { get; init; } = 20;

    /// <summary>Whether images are mirrored left–right half of the time.</summary>
    public bool HorizontalFlip { get; init; } = true;

    /// <summary>
    /// Whether images are also turned by a random multiple of 90°. With the left–right flip that covers all eight symmetries of
    /// the square: for subjects with no upright, such as leaves photographed from above.
    /// </summary>
    public bool QuarterTurns { get; init; }

    /// <summary>Brightness, contrast and saturation each vary by up to this factor either way.</summary>
    public double ColorJitter { get; init; } = 0.2;
}

/// <summary>Turns stored RGB bytes into float batches: a random (training) or centre (evaluation) view at the network's size.</summary>
public static class RgbViews
{
    /// <summary>
    /// A [B, 3, outSize, outSize] float batch, RGB in 0–255. Crop, flip and rotation are one affine map per image, so the whole
    /// batch is resampled by one grid_sample call.
    /// </summary>
    public static Tensor Batch(RgbImageSet images, ReadOnlySpan<int> indices, int outSize, RgbAugmentation aug, Random rng)
    {
        var s = images.Size;
        var per = s * s * 3;
        var b = indices.Length;
        var bytes = new byte[b * per];
        for (var i = 0; i < b; i++) images.Pixels.AsSpan(indices[i] * per, per).CopyTo(bytes.AsSpan(i * per, per));
        using var scope = NewDisposeScope();
        var x = torch.tensor(bytes, [b, s, s, 3], ScalarType.Byte).permute(0, 3, 1, 2).to_type(ScalarType.Float32);
        var theta = new float[b * 6];
        var centre = outSize / (float)s;
        for (var i = 0; i < b; i++)
        {
            float w = centre, h = centre, cx = 0, cy = 0, angle = 0, flip = 1;
            var turns = 0;
            if (aug.Enabled)
            {
                var area = aug.MinCropArea + (rng.NextDouble() * (1 - aug.MinCropArea));
                var ratio = Math.Exp((rng.NextDouble() - 0.5) * 2 * Math.Log(4.0 / 3));
                w = (float)Math.Min(1, Math.Sqrt(area * ratio));
                h = (float)Math.Min(1, Math.Sqrt(area / ratio));
                cx = (float)((rng.NextDouble() * 2) - 1) * (1 - w);
                cy = (float)((rng.NextDouble() * 2) - 1) * (1 - h);
                angle = (float)(((rng.NextDouble() * 2) - 1) * aug.RotationDegrees * Math.PI / 180);
                if (aug.HorizontalFlip && rng.NextDouble() < 0.5) flip = -1;
                // Drawn only when on, so the random stream (and every earlier result) is unchanged without it.
                if (aug.QuarterTurns) turns = rng.Next(4);
            }
            // affine_grid maps output coordinates in [-1, 1] to input coordinates: scale to the crop, rotate, move to its centre.
            var (cos, sin) = (MathF.Cos(angle), MathF.Sin(angle));
            float a00 = w * cos * flip, a01 = -h * sin, a10 = w * sin * flip, a11 = h * cos;
            if (turns != 0)
            {
                // The quarter turn acts on the output grid, before the crop's own scale and rotation: the view is the same crop,
                // turned. A turn maps pixel centres onto pixel centres, so no resampling is added; its sine and cosine are exact.
                var (qc, qs) = turns switch { 1 => (0, 1), 2 => (-1, 0), _ => (0, -1) };
                (a00, a01, a10, a11) = ((a00 * qc) + (a01 * qs), (a01 * qc) - (a00 * qs), (a10 * qc) + (a11 * qs), (a11 * qc) - (a10 * qs));
            }
            theta[(i * 6) + 0] = a00;
            theta[(i * 6) + 1] = a01;
            theta[(i * 6) + 2] = cx;
            theta[(i * 6) + 3] = a10;
            theta[(i * 6) + 4] = a11;
            theta[(i * 6) + 5] = cy;
        }
        Tensor output;
        if (!aug.Enabled)
        {
            // The evaluation view is a plain centre crop, pixel for pixel, the same as TransferClassifier.EncodeImage.
            var offset = (s - outSize) / 2;
            output = x[.., .., offset..(offset + outSize), offset..(offset + outSize)].contiguous();
        }
        else
        {
            var grid = nn.functional.affine_grid(torch.tensor(theta, [b, 2, 3]), [b, 3, outSize, outSize], align_corners: false);
            output = nn.functional.grid_sample(x, grid, GridSampleMode.Bilinear, GridSamplePaddingMode.Reflection, align_corners: false);
        }
        if (aug.Enabled && aug.ColorJitter > 0) output = Jitter(output, aug.ColorJitter, rng);
        return output.MoveToOuterDisposeScope();
    }

    private static Tensor Jitter(Tensor x, double amount, Random rng)
    {
        var b = (int)x.shape[0];
        float Factor() => (float)(1 + (((rng.NextDouble() * 2) - 1) * amount));
        var bright = new float[b];
        var contrast = new float[b];
        var saturation = new float[b];
        for (var i = 0; i < b; i++) (bright[i], contrast[i], saturation[i]) = (Factor(), Factor(), Factor());
        using var red = TorchScalars.Of(0.299f);
        using var green = TorchScalars.Of(0.587f);
        using var blue = TorchScalars.Of(0.114f);
        using var black = TorchScalars.Of(0f);
        using var white = TorchScalars.Of(255f);
        var gray = x[.., 0..1].mul(red) + x[.., 1..2].mul(green) + x[.., 2..3].mul(blue);
        var sat = gray + ((x - gray) * torch.tensor(saturation).view(b, 1, 1, 1));
        var mean = gray.mean([1, 2, 3], keepdim: true);
        var con = mean + ((sat - mean) * torch.tensor(contrast).view(b, 1, 1, 1));
        return (con * torch.tensor(bright).view(b, 1, 1, 1)).clamp_(black, white);
    }
}
