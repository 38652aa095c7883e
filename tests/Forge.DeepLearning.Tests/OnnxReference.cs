using Microsoft.ML.OnnxRuntime;
using TorchSharp;
using static TorchSharp.torch;

namespace Forge.DeepLearning.Tests;

/// <summary>ONNX Runtime as the reference the importer is compared against; one image (batch 1) per run.</summary>
public sealed class OnnxReference : IDisposable
{
    private readonly InferenceSession _session;
    private readonly string _input;
    private readonly string _output;

    public OnnxReference(byte[] model)
    {
        // One thread: the test machine's cores are shared, and ORT's own pool would compete with libtorch's.
        using var options = new SessionOptions { IntraOpNumThreads = 1, InterOpNumThreads = 1 };
        _session = new InferenceSession(model, options);
        _input = _session.InputMetadata.Keys.Single();
        _output = _session.OutputMetadata.Keys.Single();
    }

    public OnnxReference(string path) : this(File.ReadAllBytes(path)) { }

    public IReadOnlyDictionary<string, NodeMetadata> Inputs => _session.InputMetadata;

    public IReadOnlyDictionary<string, NodeMetadata> Outputs => _session.OutputMetadata;

    /// <summary>Runs one input of <paramref name="shape"/> and returns the output's values.</summary>
    public float[] Run(float[] input, long[] shape)
    {
        using var value = OrtValue.CreateTensorValueFromMemory(input, shape);
        using var runOptions = new RunOptions();
        using var results = _session.Run(runOptions, [_input], [value], [_output]);
        return results[0].GetTensorDataAsSpan<float>().ToArray();
    }

    /// <summary>Runs each item of a batch tensor separately (the file fixes the batch at 1) and stacks the outputs.</summary>
    public float[][] RunEach(Tensor batch)
    {
        var shape = batch.shape.ToArray();
        shape[0] = 1;
        var outputs = new float[batch.shape[0]][];
        for (var i = 0; i < outputs.Length; i++)
        {
            using var item = batch[i].contiguous();
            outputs[i] = Run(item.data<float>().ToArray(), shape);
        }
        return outputs;
    }

    public void Dispose() => _session.Dispose();

    /// <summary>Per-element comparison; returns the largest absolute difference.</summary>
    public static double AssertClose(float[] expected, float[] actual, double tolerance)
    {
        Assert.Equal(expected.Length, actual.Length);
        var worst = 0.0;
        for (var i = 0; i < expected.Length; i++)
        {
            var diff = Math.Abs((double)expected[i] - actual[i]);
            Assert.False(double.IsNaN(actual[i]), $"element {i} is NaN (expected {expected[i]})");
            Assert.True(diff <= tolerance, $"element {i}: expected {expected[i]}, got {actual[i]} (|diff| {diff:g3} > {tolerance:g3})");
            worst = Math.Max(worst, diff);
        }
        return worst;
    }

    /// <summary>The rows of a [N, …] tensor as flat arrays.</summary>
    public static float[][] Rows(Tensor t)
    {
        var rows = new float[t.shape[0]][];
        for (var i = 0; i < rows.Length; i++)
        {
            using var row = t[i].contiguous();
            rows[i] = row.data<float>().ToArray();
        }
        return rows;
    }
}
