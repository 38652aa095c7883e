using Forge.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace Forge.DeepLearning.Onnx;

/// <summary>
/// Forge's own version of ResNetPreprocess.onnx, the input step that goes with ResNet18.onnx: it reorders RGB to BGR and
/// subtracts a per-pixel mean image. Pixel values are on the 0..255 scale (the mean image averages about 103, 116 and 123
/// for B, G, R). The mean image and the channel order are read from the preprocessing file; its graph is not run.
/// </summary>
public sealed class ResNetPreprocessing : IDisposable
{
    private readonly Tensor _mean;
    private readonly Tensor _order;
    private readonly long[] _channelOrder;

    private ResNetPreprocessing(Tensor mean, long[] channelOrder)
    {
        _mean = mean;
        _channelOrder = channelOrder;
        _order = torch.tensor(channelOrder);
    }

    /// <summary>Reads the mean image and channel order from ResNetPreprocess.onnx (default: <see cref="PretrainedModels.ResNetPreprocessPath"/>).</summary>
    public static ResNetPreprocessing Load(string? path = null)
    {
        path ??= PretrainedModels.ResNetPreprocessPath;
        return FromModel(OnnxModel.Load(path), path);
    }

    /// <summary>Reads the mean image and channel order from an already-read preprocessing model.</summary>
    internal static ResNetPreprocessing FromModel(OnnxModel model, string sourceName)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(sourceName);
        var graph = model.Graph;
        var sub = graph.Nodes.FirstOrDefault(n => n.OpType == "Sub")
            ?? throw new DataFormatException(sourceName, "no Sub node, so no mean image to subtract: not a ResNet preprocessing graph");
        var meanInit = sub.Inputs.Select(graph.Initializer).FirstOrDefault(t => t is not null)
            ?? throw new DataFormatException(sourceName, $"{sub} subtracts no constant: not a ResNet preprocessing graph");
        var dims = meanInit.Dims.ToArray();
        if (dims.Length == 3) dims = [1, .. dims];
        if (dims.Length != 4 || dims[0] != 1 || dims[1] != 3)
            throw new DataFormatException(sourceName, $"the mean image '{meanInit.Name}' is {meanInit}, not [1,3,H,W] or [3,H,W]");
        var mean = torch.tensor(meanInit.ToFloatArray(), dims);
        return new ResNetPreprocessing(mean, ReadChannelOrder(graph));
    }

    /// <summary>The image height the mean image (and so the network) expects.</summary>
    public long Height => _mean.shape[2];

    /// <summary>The image width the mean image expects.</summary>
    public long Width => _mean.shape[3];

    /// <summary>For each output channel, the input channel it takes ([2, 1, 0]: RGB in, BGR out).</summary>
    public IReadOnlyList<long> ChannelOrder => _channelOrder;

    /// <summary>The mean of each output channel of the mean image (BGR order for ResNet18).</summary>
    public IReadOnlyList<float> ChannelMeans
    {
        get
        {
            using var m = _mean.mean([0, 2, 3]);
            return m.data<float>().ToArray();
        }
    }

    /// <summary>Maps a batch [N,3,H,W] of RGB pixels on the 0..255 scale to ResNet18's input: BGR, mean image subtracted.</summary>
    public Tensor Apply(Tensor rgb)
    {
        ArgumentNullException.ThrowIfNull(rgb);
        if (rgb.dim() != 4 || rgb.shape[1] != 3)
            throw new UsageException($"ResNet preprocessing expects images shaped [N, 3, H, W], got [{string.Join(", ", rgb.shape)}]");
        using var scope = torch.NewDisposeScope();
        var order = _order.device == rgb.device ? _order : _order.to(rgb.device);
        var mean = _mean.device == rgb.device && _mean.dtype == rgb.dtype ? _mean : _mean.to(rgb.dtype, rgb.device);
        if (rgb.shape[2] != Height || rgb.shape[3] != Width) mean = ResizedMean(rgb.shape[2], rgb.shape[3]).to(rgb.dtype, rgb.device);
        var reordered = rgb.index_select(1, order);
        return reordered.sub(mean).MoveToOuterDisposeScope();
    }

    // Inputs at another size (smaller, faster fine-tuning) get the mean image resampled to their size, computed once per size.
    private Tensor ResizedMean(long height, long width)
    {
        if (_resized is { } r && r.shape[2] == height && r.shape[3] == width) return r;
        _resized?.Dispose();
        using var noGrad = torch.no_grad();
        _resized = nn.functional.interpolate(_mean, [height, width], mode: InterpolationMode.Bilinear, align_corners: false).DetachFromDisposeScope();
        return _resized;
    }

    private Tensor? _resized;

    /// <summary>Frees the mean image.</summary>
    public void Dispose()
    {
        _resized?.Dispose();
        _mean.Dispose();
        _order.Dispose();
    }

    /// <summary>
    /// Follows Split → Concat: the concat lists the split's outputs in the order the network wants the channels.
    /// Without that pattern the channels pass through unchanged.
    /// </summary>
    private static long[] ReadChannelOrder(OnnxGraph graph)
    {
        var split = graph.Nodes.FirstOrDefault(n => n.OpType == "Split");
        var concat = graph.Nodes.FirstOrDefault(n => n.OpType == "Concat");
        if (split is null || concat is null || split.Outputs.Count != 3) return [0, 1, 2];
        var order = concat.Inputs.Select(i => (long)IndexOf(split.Outputs, i)).ToArray();
        return order.Length == 3 && order.Order().SequenceEqual([0L, 1, 2]) ? order : [0, 1, 2];
    }

    private static int IndexOf(IReadOnlyList<string> names, string name)
    {
        for (var i = 0; i < names.Count; i++)
        {
            if (names[i] == name) return i;
        }
        return -1;
    }
}
