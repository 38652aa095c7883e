using Forge.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace Forge.DeepLearning.Tests;

/// <summary>A trained model's state_dict, read back the way a bundle stores it, for bit-level comparisons.</summary>
internal static class Weights
{
    /// <summary>Every tensor of the model's state_dict (parameters and buffers) by name: dtype, shape and raw bytes.</summary>
    public static Dictionary<string, (ScalarType Type, long[] Shape, byte[] Bytes)> Of(ImageClassifier model, string scratch)
    {
        using var writer = ModelBundle.Create(Path.Combine(scratch, "weights-" + Guid.NewGuid().ToString("N")));
        model.WriteTo(writer, "weights");
        using var module = Networks.Build(model.Spec, 1, model.Height, model.Width, model.Labels.Count);
        module.load(Path.Combine(writer.StagingDirectory, "weights", "model.dat"));
        return module.state_dict().ToDictionary(kv => kv.Key, kv => (kv.Value.dtype, kv.Value.shape, kv.Value.bytes.ToArray()), StringComparer.Ordinal);
    }

    /// <summary>Asserts both state_dicts hold the same tensors with bit-identical elements, naming the first element that differs.</summary>
    public static void AssertBitIdentical(
        Dictionary<string, (ScalarType Type, long[] Shape, byte[] Bytes)> expected,
        Dictionary<string, (ScalarType Type, long[] Shape, byte[] Bytes)> actual)
    {
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), actual.Keys.Order(StringComparer.Ordinal));
        foreach (var (name, e) in expected)
        {
            var a = actual[name];
            Assert.Equal(e.Type, a.Type);
            Assert.Equal(e.Shape, a.Shape);
            var size = ElementSize(e.Type);
            var elements = e.Bytes.Length / size;
            var differing = 0;
            var first = -1;
            for (var i = 0; i < elements; i++)
            {
                if (e.Bytes.AsSpan(i * size, size).SequenceEqual(a.Bytes.AsSpan(i * size, size))) continue;
                differing++;
                if (first < 0) first = i;
            }
            if (differing > 0)
                Assert.Fail($"{name}: {differing} of {elements} elements differ; first at {first}: {Describe(e, first)} vs {Describe(a, first)}");
        }
    }

    private static int ElementSize(ScalarType type) => type switch
    {
        ScalarType.Float32 or ScalarType.Int32 => 4,
        ScalarType.Float64 or ScalarType.Int64 => 8,
        _ => throw new NotSupportedException($"no comparison for {type}"),
    };

    private static string Describe((ScalarType Type, long[] Shape, byte[] Bytes) t, int index) => t.Type switch
    {
        ScalarType.Float32 => BitConverter.ToSingle(t.Bytes, index * 4).ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        ScalarType.Int64 => BitConverter.ToInt64(t.Bytes, index * 8).ToString(System.Globalization.CultureInfo.InvariantCulture),
        _ => "?",
    };
}
