using TorchSharp;
using static TorchSharp.torch;

namespace Forge.DeepLearning;

/// <summary>Pads token sequences into a batch tensor, with their lengths for packing.</summary>
internal static class SequenceBatches
{
    /// <summary>Rows <paramref name="rows"/> of <paramref name="tokens"/> as ([n, longest] int64 ids padded with 0, [n] int64 lengths).</summary>
    public static (Tensor Ids, Tensor Lengths) Pad(IReadOnlyList<int[]> tokens, ReadOnlySpan<long> rows)
    {
        var longest = 1;
        foreach (var r in rows) longest = Math.Max(longest, tokens[(int)r].Length);
        var ids = new long[rows.Length * longest];
        var lengths = new long[rows.Length];
        for (var i = 0; i < rows.Length; i++)
        {
            var row = tokens[(int)rows[i]];
            for (var t = 0; t < row.Length; t++) ids[(i * longest) + t] = row[t];
            lengths[i] = row.Length;
        }
        return (torch.tensor(ids, [rows.Length, longest]), torch.tensor(lengths));
    }
}
