using TorchSharp;
using static TorchSharp.torch;

namespace Forge.DeepLearning.Transfer;

/// <summary>
/// Mixup (Zhang et al., 2018): a batch blended with a shuffled copy of itself, λ ~ Beta(α, α), trained against the blended
/// class probabilities; or CutMix (Yun et al., 2019): a box of the partner pasted in, λ the share of the area kept. All
/// randomness comes from the run's generator, so a seed fixes every λ, pairing and box.
/// </summary>
internal static class Mixup
{
    /// <summary>One mixed batch: the blended images, the soft targets [B, classes] (label smoothing applied) and λ.</summary>
    public static (Tensor Input, Tensor Target, double Lambda) Apply(Tensor images, ReadOnlySpan<long> labels, int classes, double alpha, double labelSmoothing, Random rng,
        bool cutMix = false)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(rng);
        var b = labels.Length;
        var lambda = Beta(alpha, alpha, rng);
        var partner = Enumerable.Range(0, b).ToArray();
        rng.Shuffle(partner);
        var (h, w) = ((int)images.shape[2], (int)images.shape[3]);
        var box = cutMix ? CutBox(h, w, lambda, rng) : default;
        if (cutMix) lambda = 1 - ((box.Bottom - box.Top) * (double)(box.Right - box.Left) / (h * w));
        var soft = new float[b * classes];
        var spread = (float)(labelSmoothing / classes);
        for (var i = 0; i < b; i++)
        {
            for (var k = 0; k < classes; k++) soft[(i * classes) + k] = spread;
            soft[(i * classes) + (int)labels[i]] += (float)(lambda * (1 - labelSmoothing));
            soft[(i * classes) + (int)labels[partner[i]]] += (float)((1 - lambda) * (1 - labelSmoothing));
        }
        using var scope = NewDisposeScope();
        using var partnerIndex = torch.tensor(partner.Select(i => (long)i).ToArray());
        if (cutMix)
        {
            var mask = new float[h * w];
            for (var y = box.Top; y < box.Bottom; y++)
                for (var x = box.Left; x < box.Right; x++) mask[(y * w) + x] = 1;
            using var inside = torch.tensor(mask, [1, 1, h, w]);
            var pasted = torch.where(inside.to_type(ScalarType.Bool), images.index_select(0, partnerIndex), images);
            return (pasted.MoveToOuterDisposeScope(), torch.tensor(soft, [b, classes]).MoveToOuterDisposeScope(), lambda);
        }
        using var own = TorchScalars.Of((float)lambda);
        using var other = TorchScalars.Of((float)(1 - lambda));
        var mixed = images.mul(own).add_(images.index_select(0, partnerIndex).mul_(other));
        return (mixed.MoveToOuterDisposeScope(), torch.tensor(soft, [b, classes]).MoveToOuterDisposeScope(), lambda);
    }

    /// <summary>
    /// The CutMix box for a drawn λ: sides √(1 − λ) of the image's, centred at a uniformly drawn pixel, clipped to the image
    /// (rows [Top, Bottom), columns [Left, Right)).
    /// </summary>
    public static (int Top, int Bottom, int Left, int Right) CutBox(int height, int width, double lambda, Random rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        var side = Math.Sqrt(1 - lambda);
        var (bh, bw) = ((int)(height * side), (int)(width * side));
        var (cy, cx) = (rng.Next(height), rng.Next(width));
        return (Math.Clamp(cy - (bh / 2), 0, height), Math.Clamp(cy + (bh / 2), 0, height), Math.Clamp(cx - (bw / 2), 0, width), Math.Clamp(cx + (bw / 2), 0, width));
    }

    /// <summary>Cross-entropy against class probabilities: the mean over rows of −Σ target · log softmax(logits).</summary>
    public static Tensor SoftCrossEntropy(Tensor logits, Tensor target)
    {
        ArgumentNullException.ThrowIfNull(logits);
        ArgumentNullException.ThrowIfNull(target);
        return target.mul(nn.functional.log_softmax(logits, 1)).sum(1).mean().neg();
    }

    /// <summary>A Beta(a, b) draw as X / (X + Y) of two Gamma draws.</summary>
    public static double Beta(double a, double b, Random rng)
    {
        var x = Gamma(a, rng);
        var y = Gamma(b, rng);
        // Both can underflow to 0 for tiny shapes; either end is then as likely.
        return x + y > 0 ? x / (x + y) : 0.5;
    }

    /// <summary>A Gamma(shape, 1) draw: Marsaglia and Tsang's method, with the shape + 1 boost for shapes below 1.</summary>
    public static double Gamma(double shape, Random rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(shape);
        if (shape < 1) return Gamma(shape + 1, rng) * Math.Pow(1 - rng.NextDouble(), 1 / shape);
        var d = shape - (1.0 / 3);
        var c = 1 / Math.Sqrt(9 * d);
        while (true)
        {
            double z, v;
            do
            {
                z = Normal(rng);
                v = 1 + (c * z);
            }
            while (v <= 0);
            v = v * v * v;
            var u = 1 - rng.NextDouble();
            if (Math.Log(u) < (0.5 * z * z) + d - (d * v) + (d * Math.Log(v))) return d * v;
        }
    }

    private static double Normal(Random rng) => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
}
