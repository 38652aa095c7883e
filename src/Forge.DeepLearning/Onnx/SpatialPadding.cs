using TorchSharp;
using static TorchSharp.torch;

namespace Forge.DeepLearning.Onnx;

/// <summary>
/// How a 2-D convolution or pooling node's ONNX padding maps onto TorchSharp, whose ops pad both sides of a dimension by
/// the same amount. ONNX exporters (CNTK among them) write uneven pads such as [top 1, left 1, bottom 0, right 0].
/// </summary>
internal sealed class SpatialPadding
{
    private enum Kind
    {
        /// <summary>Even pads: the op's own padding does it.</summary>
        Native,

        /// <summary>Each end pad is at most its begin pad: pad both sides by the begin pad and drop the trailing outputs
        /// that only exist because of the extra end padding. Equivalent, and it spares a padded copy of the input.</summary>
        Crop,

        /// <summary>Pad the input explicitly, then run the op without padding.</summary>
        Explicit,

        /// <summary>auto_pad SAME_UPPER/SAME_LOWER: the pads depend on the input size, so they are worked out per call.</summary>
        Same,
    }

    private readonly Kind _kind;
    private readonly long[] _begins;
    private readonly long[] _ends;
    private readonly long[] _extent;
    private readonly long[] _strides;
    private readonly bool _ceil;
    private readonly bool _sameLower;
    private readonly double _fill;

    private SpatialPadding(Kind kind, long[] begins, long[] ends, long[] extent, long[] strides, bool ceil, bool sameLower, double fill)
    {
        _kind = kind;
        _begins = begins;
        _ends = ends;
        _extent = extent;
        _strides = strides;
        _ceil = ceil;
        _sameLower = sameLower;
        _fill = fill;
    }

    /// <summary>The padding to give the TorchSharp op itself (per spatial dimension).</summary>
    public long[] OpPadding => _kind is Kind.Native or Kind.Crop ? _begins : new long[_begins.Length];

    /// <summary>True when the input is padded by <see cref="Before"/> rather than by the op.</summary>
    public bool PadsInput => _kind is Kind.Explicit or Kind.Same;

    /// <summary>
    /// Plans the padding. <paramref name="extent"/> is the dilated kernel size; <paramref name="maxOpPadding"/> caps what
    /// the op accepts (pooling ops take at most half the kernel); <paramref name="fill"/> is the padding value.
    /// </summary>
    public static SpatialPadding Create(string autoPad, IReadOnlyList<long>? pads, long[] extent, long[] strides, bool ceil,
        long[]? maxOpPadding, double fill, Func<string, Exception> unsupported)
    {
        var rank = extent.Length;
        switch (autoPad)
        {
            case "SAME_UPPER":
            case "SAME_LOWER":
                return new SpatialPadding(Kind.Same, new long[rank], new long[rank], extent, strides, ceil, autoPad == "SAME_LOWER", fill);
            case "VALID":
                return new SpatialPadding(Kind.Native, new long[rank], new long[rank], extent, strides, ceil, false, fill);
            case "NOTSET":
            case "":
                break;
            default:
                throw unsupported($"auto_pad '{autoPad}' is not one of NOTSET, VALID, SAME_UPPER, SAME_LOWER");
        }
        pads ??= new long[2 * rank];
        if (pads.Count != 2 * rank) throw unsupported($"pads has {pads.Count} values where {2 * rank} were expected");
        if (pads.Any(p => p < 0)) throw unsupported("negative pads are not supported");
        var begins = pads.Take(rank).ToArray();
        var ends = pads.Skip(rank).ToArray();
        var fitsOp = maxOpPadding is null || begins.Select((b, i) => b <= maxOpPadding[i]).All(x => x);
        Kind kind;
        if (begins.SequenceEqual(ends) && fitsOp) kind = Kind.Native;
        // With ceil_mode the trailing-window rule of the op differs from ONNX's once padding is uneven; pad explicitly.
        else if (ends.Select((e, i) => e <= begins[i]).All(x => x) && fitsOp && !ceil) kind = Kind.Crop;
        else kind = Kind.Explicit;
        return new SpatialPadding(kind, begins, ends, extent, strides, ceil, false, fill);
    }

    /// <summary>The input the op should see: <paramref name="x"/> itself, or a padded copy.</summary>
    public Tensor Before(Tensor x)
    {
        if (!PadsInput) return x;
        var (begins, ends) = PadsFor(x.shape);
        if (begins.All(b => b == 0) && ends.All(e => e == 0)) return x;
        return nn.functional.pad(x, TorchPadList(begins, ends), PaddingModes.Constant, _fill);
    }

    /// <summary>The op's output trimmed to the size ONNX specifies (only the crop plan trims).</summary>
    public Tensor After(Tensor y, long[] inputShape)
    {
        if (_kind != Kind.Crop) return y;
        var spatial0 = inputShape.Length - _begins.Length;
        var result = y;
        for (var d = 0; d < _begins.Length; d++)
        {
            var expected = OutputSize(inputShape[spatial0 + d], _begins[d] + _ends[d], _extent[d], _strides[d], _ceil);
            var dim = spatial0 + d;
            if (result.shape[dim] <= expected) continue;
            var narrowed = result.narrow(dim, 0, expected);
            if (!ReferenceEquals(result, y)) result.Dispose();
            result = narrowed;
        }
        if (!ReferenceEquals(result, y)) y.Dispose();
        return result;
    }

    /// <summary>The ONNX pads (begin and end per spatial dimension) for an input of <paramref name="shape"/>.</summary>
    public (long[] Begins, long[] Ends) PadsFor(long[] shape)
    {
        if (_kind != Kind.Same) return (_begins, _ends);
        var rank = _begins.Length;
        var spatial0 = shape.Length - rank;
        var begins = new long[rank];
        var ends = new long[rank];
        for (var d = 0; d < rank; d++)
        {
            var size = shape[spatial0 + d];
            var outSize = (size + _strides[d] - 1) / _strides[d];
            var total = Math.Max(0, (outSize - 1) * _strides[d] + _extent[d] - size);
            begins[d] = _sameLower ? (total + 1) / 2 : total / 2;
            ends[d] = total - begins[d];
        }
        return (begins, ends);
    }

    /// <summary>torch's pad list runs from the last dimension backwards: (last begin, last end, previous begin, …).</summary>
    public static long[] TorchPadList(long[] begins, long[] ends)
    {
        var list = new long[2 * begins.Length];
        for (var d = 0; d < begins.Length; d++)
        {
            var from = begins.Length - 1 - d;
            list[2 * d] = begins[from];
            list[2 * d + 1] = ends[from];
        }
        return list;
    }

    private static long OutputSize(long size, long totalPad, long extent, long stride, bool ceil)
    {
        var span = size + totalPad - extent;
        return (ceil ? (span + stride - 1) / stride : span / stride) + 1;
    }
}
