using Forge.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace Forge.DeepLearning.Transfer;

/// <summary>
/// Prediction-time views of an image, in one place for validation, evaluation and serving: the centre crop, or the mean over
/// the centre and four corner crops of the decoded image (each with its mirror image when flip averaging is on).
/// </summary>
public static class TestViews
{
    /// <summary>The (top, left) offset of each crop of side <paramref name="imageSize"/> in a decoded image of side <paramref name="storeSize"/>: centre first, then the corners.</summary>
    public static IReadOnlyList<(int Top, int Left)> Crops(int storeSize, int imageSize, int count)
    {
        var centre = (storeSize - imageSize) / 2;
        var far = storeSize - imageSize;
        (int, int)[] all = [(centre, centre), (0, 0), (0, far), (far, 0), (far, far)];
        return count switch
        {
            1 => all[..1],
            5 => all,
            _ => throw new ArgumentOutOfRangeException(nameof(count), count, "1 or 5 crops"),
        };
    }

    /// <summary>
    /// Class probabilities of decoded images [B, 3, store, store] (RGB in 0–255): the mean of the network's probabilities over
    /// <paramref name="crops"/> crops of side <paramref name="imageSize"/>.
    /// </summary>
    public static Tensor Probabilities(TransferNetwork net, Tensor decoded, int imageSize, int crops, bool flipAveraging)
    {
        ArgumentNullException.ThrowIfNull(net);
        ArgumentNullException.ThrowIfNull(decoded);
        var store = (int)decoded.shape[2];
        using var scope = NewDisposeScope();
        Tensor? sum = null;
        var views = Crops(store, imageSize, crops);
        foreach (var (top, left) in views)
        {
            var crop = decoded[.., .., top..(top + imageSize), left..(left + imageSize)].contiguous();
            var p = net.Probabilities(crop, flipAveraging);
            sum = sum is null ? p : sum.add_(p);
        }
        using var share = TorchScalars.Of(1f / views.Count);
        return sum!.mul_(share).MoveToOuterDisposeScope();
    }

    /// <summary>The probabilities of stored images (decoded at the options' store size) as the options predict them.</summary>
    internal static Tensor Probabilities(TransferNetwork net, RgbImageSet images, ReadOnlySpan<int> indices, TransferOptions options)
    {
        // One crop keeps the original path exactly: the centre view straight from the stored bytes.
        if (options.TestCrops == 1) return net.Probabilities(RgbViews.Batch(images, indices, options.ImageSize, RgbAugmentation.None, new Random(0)), options.FlipAveraging);
        using var scope = NewDisposeScope();
        var decoded = RgbViews.Batch(images, indices, images.Size, RgbAugmentation.None, new Random(0));
        return Probabilities(net, decoded, options.ImageSize, options.TestCrops, options.FlipAveraging).MoveToOuterDisposeScope();
    }
}
