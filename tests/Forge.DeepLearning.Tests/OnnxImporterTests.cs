using Forge.Core;
using Forge.DeepLearning.Onnx;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Forge.DeepLearning.Tests;

/// <summary>The importer's operators on small graphs built in the test, each compared with ONNX Runtime.</summary>
[Collection(TorchCollection.Name)]
public sealed class OnnxImporterTests(ITestOutputHelper output)
{
    private static readonly string[] None = [];

    /// <summary>
    /// Opset 13, every operator in the modern form: even, uneven (crop and explicit) and SAME padding, grouped and
    /// dilated convolutions, pooling with and without counted pads, Pad/Split/Clip with their settings as inputs.
    /// </summary>
    internal static OnnxGraphBuilder ModernGraph()
    {
        var g = new OnnxGraphBuilder(13, "X", 1, 3, 12, 12);
        var seed = 100;
        TestTensor R(float scale, params long[] dims) => TestTensor.Random(seed++, scale, dims);
        g.Initializer("W1", R(0.4f, 4, 3, 3, 3)).Initializer("B1", R(0.1f, 4))
         .Initializer("W2", R(0.4f, 4, 2, 2, 2)).Initializer("B2", R(0.1f, 4))
         .Initializer("W3", R(0.3f, 4, 4, 3, 3)).Initializer("W4", R(0.3f, 4, 4, 3, 3))
         .Initializer("bn_scale", R(1f, 4)).Initializer("bn_bias", R(0.5f, 4)).Initializer("bn_mean", R(0.3f, 4))
         .Initializer("bn_var", TestTensor.Of([0.5f, 1.2f, 0.8f, 2.0f], 4))
         .Initializer("K", R(1.5f, 1, 4, 1, 1)).Initializer("D", TestTensor.Of([2f]))
         .Initializer("pads", TestTensor.Ints(0, 0, 1, 0, 0, 0, 0, 2)).Initializer("pad_value", TestTensor.Of([0.5f]))
         .Initializer("reflect_pads", TestTensor.Ints(0, 0, 1, 1, 0, 0, 1, 1))
         .Initializer("split_sizes", TestTensor.Ints(3, 5))
         .Initializer("clip_min", TestTensor.Of([-0.2f])).Initializer("clip_max", TestTensor.Of([0.3f]))
         .Initializer("keep_batch", TestTensor.Ints(0, -1))
         .Initializer("Wg", R(0.1f, 476, 10)).Initializer("Cg", R(0.2f, 10))
         .Initializer("Wg2", R(0.1f, 6, 476)).Initializer("Cg2", R(0.2f, 1, 6))
         .Initializer("Wm", R(0.5f, 10, 6));
        g.Node("Conv", "conv_even", ["X", "W1", "B1"], ["c1"], ("pads", new long[] { 2, 2, 2, 2 }), ("dilations", new long[] { 2, 2 }))
         .Node("Conv", "conv_crop", ["c1", "W2", "B2"], ["c2"], ("group", 2L), ("strides", new long[] { 2, 2 }), ("pads", new long[] { 1, 1, 0, 0 }))
         .Node("Conv", "conv_explicit", ["c1", "W3"], ["c3"], ("strides", new long[] { 2, 2 }), ("pads", new long[] { 0, 0, 1, 1 }))
         .Node("Conv", "conv_same", ["c1", "W4"], ["c4"], ("auto_pad", "SAME_UPPER"), ("strides", new long[] { 2, 2 }))
         .Node("BatchNormalization", "bn", ["c2", "bn_scale", "bn_bias", "bn_mean", "bn_var"], ["b"], ("epsilon", 1e-3f))
         .Node("Add", "add", ["b", "c3"], ["s1"])
         .Node("Sub", "sub", ["s1", "c4"], ["s2"])
         .Node("Mul", "mul", ["s2", "K"], ["s3"])
         .Node("Div", "div", ["s3", "D"], ["d"])
         .Node("Transpose", "transpose", ["d"], ["dt"], ("perm", new long[] { 0, 1, 3, 2 }))
         .Node("Add", "add_t", ["d", "dt"], ["e"])
         .Node("Relu", "relu", ["e"], ["er"])
         .Node("AveragePool", "avg_exclude", ["er"], ["ap1"], ("kernel_shape", new long[] { 3, 3 }), ("pads", new long[] { 1, 1, 1, 1 }))
         .Node("AveragePool", "avg_include", ["er"], ["ap2"], ("kernel_shape", new long[] { 3, 3 }), ("pads", new long[] { 1, 1, 1, 1 }), ("count_include_pad", 1L))
         .Node("AveragePool", "avg_uneven", ["e"], ["ap3"], ("kernel_shape", new long[] { 3, 3 }), ("strides", new long[] { 2, 2 }), ("pads", new long[] { 0, 0, 1, 1 }))
         .Node("AveragePool", "avg_uneven_incl", ["e"], ["ap4"], ("kernel_shape", new long[] { 3, 3 }), ("strides", new long[] { 2, 2 }), ("pads", new long[] { 0, 0, 1, 1 }), ("count_include_pad", 1L))
         .Node("MaxPool", "max_even", ["er"], ["mp1"], ("kernel_shape", new long[] { 3, 3 }), ("strides", new long[] { 2, 2 }), ("pads", new long[] { 1, 1, 1, 1 }))
         .Node("MaxPool", "max_explicit", ["e"], ["mp2"], ("kernel_shape", new long[] { 3, 3 }), ("strides", new long[] { 2, 2 }), ("pads", new long[] { 0, 0, 1, 1 }))
         .Node("MaxPool", "max_crop", ["e"], ["mp3"], ("kernel_shape", new long[] { 2, 2 }), ("strides", new long[] { 2, 2 }), ("pads", new long[] { 1, 1, 0, 0 }))
         .Node("Pad", "pad", ["ap1", "pads", "pad_value"], ["pd"])
         .Node("Pad", "pad_reflect", ["ap2", "reflect_pads"], ["pr"], ("mode", "reflect"))
         .Node("Concat", "concat", ["ap1", "ap2"], ["cat"], ("axis", 1L))
         .Node("Split", "split", ["cat", "split_sizes"], ["sa", "sb"], ("axis", 1L))
         .Node("Clip", "clip", ["sa", "clip_min", "clip_max"], ["cl"])
         .Node("Sigmoid", "sigmoid", ["sb"], ["sg"])
         .Node("GlobalAveragePool", "gap", ["pd"], ["g1"])
         .Node("GlobalMaxPool", "gmp", ["pr"], ["g2"])
         .Node("Constant", "shape_const", None, ["shape"], ("value", TestTensor.Ints(1, -1)))
         .Node("Reshape", "reshape_batch", ["mp2", "shape"], ["r1"])
         .Node("Reshape", "reshape_zero", ["mp1", "keep_batch"], ["r2"])
         .Node("Flatten", "flat_cl", ["cl"], ["f1"])
         .Node("Flatten", "flat_sg", ["sg"], ["f2"])
         .Node("Flatten", "flat_g1", ["g1"], ["f3"])
         .Node("Flatten", "flat_g2", ["g2"], ["f4"])
         .Node("Flatten", "flat_ap3", ["ap3"], ["f5"])
         .Node("Flatten", "flat_ap4", ["ap4"], ["f6"])
         .Node("Flatten", "flat_mp3", ["mp3"], ["f7"])
         .Node("Concat", "concat_all", ["f1", "f2", "f3", "f4", "f5", "f6", "f7", "r1", "r2"], ["feat"], ("axis", -1L))
         .Node("Gemm", "gemm", ["feat", "Wg", "Cg"], ["gm"], ("alpha", 0.5f), ("beta", 2f))
         .Node("Gemm", "gemm_t", ["feat", "Wg2", "Cg2"], ["h"], ("transB", 1L))
         .Node("MatMul", "matmul", ["gm", "Wm"], ["m"])
         .Node("LeakyRelu", "leaky", ["m"], ["lm"], ("alpha", 0.2f))
         .Node("Tanh", "tanh", ["h"], ["th"])
         .Node("Identity", "identity", ["lm"], ["id"])
         .Node("Dropout", "dropout", ["th"], ["dr"])
         .Node("Sum", "sum", ["id", "dr", "th"], ["sm"])
         .Node("Softmax", "softmax", ["sm"], ["Y"], ("axis", -1L))
         .Output("Y");
        return g;
    }

    /// <summary>Opset 9, the older forms: Pad/Clip/Split settings as attributes, Softmax over a flattened 2-D view, Dropout ratio.</summary>
    internal static OnnxGraphBuilder LegacyGraph()
    {
        var g = new OnnxGraphBuilder(9, "X", 1, 2, 8, 8);
        g.Initializer("W", TestTensor.Random(1, 0.4f, 3, 2, 3, 3))
         .Initializer("scale", TestTensor.Random(2, 1f, 270)).Initializer("bias", TestTensor.Random(3, 0.3f, 270))
         .Initializer("mean", TestTensor.Random(4, 0.2f, 270)).Initializer("var", TestTensor.Of(Enumerable.Range(0, 270).Select(i => 0.5f + i % 7 * 0.1f).ToArray(), 270))
         .Initializer("Wg", TestTensor.Random(5, 0.2f, 270, 5)).Initializer("Cg", TestTensor.Random(6, 0.2f, 5));
        g.Node("Pad", "pad_edge", ["X"], ["p1"], ("pads", new long[] { 0, 0, 1, 1, 0, 0, 1, 1 }), ("mode", "edge"))
         .Node("Pad", "pad_value", ["p1"], ["p2"], ("pads", new long[] { 0, 0, 0, 1, 0, 0, 2, 0 }), ("value", 1.5f))
         .Node("Conv", "conv", ["p2", "W"], ["c"])
         .Node("Clip", "clip_attr", ["c"], ["cl"], ("min", -0.5f), ("max", 0.7f))
         .Node("Split", "split_attr", ["cl"], ["a", "b"], ("axis", 2L), ("split", new long[] { 4, 6 }))
         .Node("Softmax", "softmax_flat", ["a"], ["sa"], ("axis", 1L))
         .Node("Sigmoid", "sigmoid", ["b"], ["sb"])
         .Node("Flatten", "flat_a", ["sa"], ["fa"])
         .Node("Flatten", "flat_b", ["sb"], ["fb"])
         .Node("Concat", "concat", ["fa", "fb"], ["f"], ("axis", 1L))
         .Node("BatchNormalization", "bn_1d", ["f", "scale", "bias", "mean", "var"], ["n"])
         .Node("Dropout", "dropout_ratio", ["n"], ["dn"], ("ratio", 0.3f))
         .Node("Gemm", "gemm", ["dn", "Wg", "Cg"], ["gm"])
         .Node("Softmax", "softmax", ["gm"], ["Y"], ("axis", 1L))
         .Output("Y");
        return g;
    }

    /// <summary>
    /// Products of two computed tensors (MatMul, Gemm with B and C from the graph), integer arithmetic folded at
    /// import into a Reshape target, and Clip with only a lower bound. Batch 1 only: the Gemm mixes rows.
    /// </summary>
    internal static OnnxGraphBuilder ArithmeticGraph()
    {
        var g = new OnnxGraphBuilder(13, "X", 1, 4, 6);
        g.Initializer("den", TestTensor.Ints(2, 2)).Initializer("clip_min", TestTensor.Of([-1f]));
        g.Node("Transpose", "swap", ["X"], ["t"], ("perm", new long[] { 0, 2, 1 }))
         .Node("MatMul", "gram", ["X", "t"], ["mm"])
         .Node("Constant", "num", None, ["num"], ("value", TestTensor.Ints(2, 33)))
         .Node("Div", "int_div", ["num", "den"], ["shape"])
         .Node("Reshape", "flatten_gram", ["mm", "shape"], ["r"])
         .Node("Transpose", "column", ["r"], ["rt"])
         .Node("Gemm", "outer", ["rt", "r", "rt"], ["o"], ("alpha", 0.5f), ("beta", 0.25f))
         .Node("Flatten", "flat_outer", ["o"], ["of"], ("axis", 0L))
         .Node("Concat", "concat", ["r", "of"], ["c"], ("axis", 1L))
         .Node("Clip", "clip_min_only", ["c", "clip_min", ""], ["Y"])
         .Output("Y");
        return g;
    }

    [Fact]
    public void A_graph_multiplying_computed_tensors_and_folding_integer_constants_matches_onnx_runtime()
    {
        var worst = CompareWithOnnxRuntime(ArithmeticGraph(), seed: 13, batch: 1);
        output.WriteLine($"max |diff| vs ONNX Runtime: {worst:g3}");
    }

    [Fact]
    public void A_window_covering_the_declared_map_averages_the_whole_map_at_any_input_size_and_a_smaller_window_stays_a_window()
    {
        OnnxNetwork Pool(long window) => OnnxImporter.Import(OnnxModel.Parse(new OnnxGraphBuilder(13, "X", 1, 2, 4, 4)
            .Node("AveragePool", "pool", ["X"], ["p"], ("kernel_shape", new long[] { window, window }))
            .Node("Flatten", "flat", ["p"], ["Y"])
            .Output("Y").Build(), "pool.onnx"), "pool.onnx");
        using var global = Pool(4);
        using var local = Pool(3);
        using var noGrad = torch.no_grad();
        torch.manual_seed(11);
        // The declared size, a larger square, a smaller one and an oblong one: the covering window is a global average each time.
        foreach (long[] shape in new[] { new long[] { 3, 2, 4, 4 }, [3, 2, 8, 8], [3, 2, 2, 2], [3, 2, 7, 3] })
        {
            using var x = torch.randn(shape);
            using var y = global.call(x);
            using var mean = x.mean([2, 3]);
            Assert.Equal([3L, 2], y.shape);
            Assert.True(y.allclose(mean, rtol: 1e-5, atol: 1e-6), $"input {string.Join('x', shape)}");
        }
        // A 3×3 window on the declared 4×4 map was never global: on an 8×8 input it still gives 6×6 windows per channel.
        using var big = torch.randn(1, 2, 8, 8);
        using var windows = local.call(big);
        using var expected = nn.functional.avg_pool2d(big, [3, 3], [1, 1]).flatten(1);
        Assert.Equal([1L, 72], windows.shape);
        Assert.True(windows.allclose(expected, rtol: 1e-5, atol: 1e-6));
    }

    [Fact]
    public void A_symbolic_batch_dimension_is_declared_as_minus_one_and_any_batch_runs()
    {
        var g = new OnnxGraphBuilder(13, "X", -1, 3)
            .Initializer("W", TestTensor.Random(9, 1f, 3, 2))
            .Node("MatMul", "fc", ["X", "W"], ["h"])
            .Node("Sigmoid", "act", ["h"], ["Y"])
            .Output("Y");
        var bytes = g.Build();
        using var network = OnnxImporter.Import(OnnxModel.Parse(bytes, "sym.onnx"), "sym.onnx");
        Assert.Equal([-1L, 3], network.InputShape);
        using var reference = new OnnxReference(bytes);
        torch.manual_seed(4);
        using var x = torch.randn(5, 3);
        var expected = reference.Run(x.data<float>().ToArray(), [5, 3]);
        using var noGrad = torch.no_grad();
        using var y = network.call(x);
        OnnxReference.AssertClose(expected, y.data<float>().ToArray(), 1e-6);
    }

    [Fact]
    public void A_graph_of_every_modern_operator_matches_onnx_runtime_for_a_batch_of_three()
    {
        var worst = CompareWithOnnxRuntime(ModernGraph(), seed: 11, batch: 3);
        output.WriteLine($"max |diff| vs ONNX Runtime: {worst:g3}");
    }

    [Fact]
    public void A_graph_of_opset_9_operator_forms_matches_onnx_runtime_for_a_batch_of_two()
    {
        var worst = CompareWithOnnxRuntime(LegacyGraph(), seed: 12, batch: 2);
        output.WriteLine($"max |diff| vs ONNX Runtime: {worst:g3}");
    }

    private static double CompareWithOnnxRuntime(OnnxGraphBuilder graph, int seed, int batch)
    {
        var bytes = graph.Build();
        using var reference = new OnnxReference(bytes);
        using var network = OnnxImporter.Import(OnnxModel.Parse(bytes, "test.onnx"), "test.onnx");
        torch.manual_seed(seed);
        var shape = graph.InputShape.ToArray();
        shape[0] = batch;
        using var x = torch.randn(shape);
        var expected = reference.RunEach(x);
        using var noGrad = torch.no_grad();
        using var y = network.call(x);
        var actual = OnnxReference.Rows(y);
        Assert.Equal(batch, actual.Length);
        return Enumerable.Range(0, batch).Max(i => OnnxReference.AssertClose(expected[i], actual[i], 1e-5));
    }

    [Fact]
    public void Weights_become_registered_parameters_with_stable_names_and_constants_stay_out_of_the_state_dict()
    {
        using var network = OnnxImporter.Import(OnnxModel.Parse(ModernGraph().Build(), "modern.onnx"), "modern.onnx");
        var names = network.named_parameters().Select(p => p.name).ToList();
        Assert.Contains("n000_conv.weight", names);
        Assert.Contains("n000_conv.bias", names);
        Assert.Contains("n004_bn.weight", names);
        Assert.Contains("n038_linear.weight", names);
        var stateKeys = network.state_dict().Keys.ToList();
        Assert.Contains("n004_bn.running_mean", stateKeys);
        Assert.DoesNotContain(stateKeys, k => k.StartsWith("const_", StringComparison.Ordinal));
        // Gemm alpha is folded into the weight: 0.5 × Wg transposed.
        var wg = TestTensor.Random(110, 0.1f, 476, 10).Floats!; // the 11th random initializer of ModernGraph
        using var linear = network.get_parameter("n038_linear.weight")!.detach().contiguous();
        Assert.Equal([10L, 476], linear.shape);
        Assert.Equal(0.5f * wg[3 * 10 + 7], linear[7, 3].item<float>(), 6);
        Assert.All(network.parameters(), p => Assert.True(p.requires_grad));
    }

    [Fact]
    public void Gradients_reach_every_weight_and_a_saved_network_loads_back_with_the_same_output()
    {
        var bytes = ModernGraph().Build();
        using var network = OnnxImporter.Import(OnnxModel.Parse(bytes, "modern.onnx"), "modern.onnx");
        torch.manual_seed(5);
        using var x = torch.randn(2, 3, 12, 12);
        // Evaluation mode: in training mode a bias just before a batch norm would rightly get a zero gradient.
        network.eval();
        using (var scope = torch.NewDisposeScope())
        {
            var loss = network.call(x).log().mean();
            loss.backward();
        }
        foreach (var (name, p) in network.named_parameters())
        {
            Assert.True(p.grad is not null, $"{name} has no gradient");
            Assert.True(p.grad!.abs().sum().item<float>() > 0, $"{name} has an all-zero gradient");
        }

        // Change the weights so the reload is not trivially the file's values.
        using (torch.no_grad())
        {
            foreach (var p in network.parameters()) p.add_(0.01f);
        }
        var path = Path.Combine(Path.GetTempPath(), $"forge-onnx-{Guid.NewGuid():N}.dat");
        try
        {
            network.save(path);
            using var reloaded = OnnxImporter.Import(OnnxModel.Parse(bytes, "modern.onnx"), "modern.onnx");
            reloaded.load(path);
            using var noGrad = torch.no_grad();
            using var expected = network.call(x);
            using var actual = reloaded.call(x);
            Assert.Equal(expected.data<float>().ToArray(), actual.data<float>().ToArray());
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData("LSTM", "encoder_lstm")]
    [InlineData("Einsum", "attention_einsum")]
    public void An_unsupported_operator_fails_at_import_naming_the_op_and_the_node(string op, string nodeName)
    {
        var g = new OnnxGraphBuilder(13, "X", 1, 4)
            .Node("Relu", "relu", ["X"], ["r"])
            .Node(op, nodeName, ["r"], ["Y"])
            .Output("Y");
        var e = Assert.Throws<UnsupportedOnnxOperatorException>(() => OnnxImporter.Import(OnnxModel.Parse(g.Build(), "bad.onnx"), "bad.onnx"));
        Assert.Contains(op, e.Message, StringComparison.Ordinal);
        Assert.Contains(nodeName, e.Message, StringComparison.Ordinal);
        Assert.Contains("bad.onnx", e.Message, StringComparison.Ordinal);
        Assert.Equal(op, e.OpType);
        Assert.IsAssignableFrom<ForgeException>(e);
    }

    [Fact]
    public void An_operator_from_another_domain_is_refused_at_import()
    {
        var g = new OnnxGraphBuilder(13, "X", 1, 4)
            .NodeIn("com.microsoft", "FusedGemm", "fused", ["X"], ["Y"])
            .Output("Y");
        var e = Assert.Throws<UnsupportedOnnxOperatorException>(() => OnnxImporter.Import(OnnxModel.Parse(g.Build(), "ms.onnx"), "ms.onnx"));
        Assert.Contains("com.microsoft", e.Message, StringComparison.Ordinal);
        Assert.Contains("fused", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Batch_normalization_with_per_activation_statistics_is_refused()
    {
        var g = new OnnxGraphBuilder(8, "X", 1, 2, 3, 3)
            .Initializer("s", TestTensor.Of([1f, 1f], 2)).Initializer("b", TestTensor.Of([0f, 0f], 2))
            .Initializer("m", TestTensor.Of([0f, 0f], 2)).Initializer("v", TestTensor.Of([1f, 1f], 2))
            .Node("BatchNormalization", "bn_per_activation", ["X", "s", "b", "m", "v"], ["Y"], ("spatial", 0L))
            .Output("Y");
        var e = Assert.Throws<UnsupportedOnnxOperatorException>(() => OnnxImporter.Import(OnnxModel.Parse(g.Build(), "bn.onnx"), "bn.onnx"));
        Assert.Contains("spatial=0", e.Message, StringComparison.Ordinal);
        Assert.Contains("bn_per_activation", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_convolution_whose_weight_is_computed_is_refused_at_import()
    {
        var g = new OnnxGraphBuilder(13, "X", 1, 1, 4, 4)
            .Node("Relu", "relu", ["X"], ["w"])
            .Node("Conv", "dynamic_conv", ["X", "w"], ["Y"])
            .Output("Y");
        var e = Assert.Throws<UnsupportedOnnxOperatorException>(() => OnnxImporter.Import(OnnxModel.Parse(g.Build(), "dyn.onnx"), "dyn.onnx"));
        Assert.Contains("dynamic_conv", e.Message, StringComparison.Ordinal);
        Assert.Contains("constant", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_multi_layer_perceptron_gets_one_stage_per_weighted_layer()
    {
        var g = new OnnxGraphBuilder(13, "X", 1, 8)
            .Initializer("W1", TestTensor.Random(1, 0.3f, 8, 16)).Initializer("W2", TestTensor.Random(2, 0.3f, 4, 16)).Initializer("C2", TestTensor.Random(3, 0.1f, 4))
            .Node("MatMul", "fc1", ["X", "W1"], ["h"])
            .Node("Relu", "relu", ["h"], ["r"])
            .Node("Gemm", "fc2", ["r", "W2", "C2"], ["Y"], ("transB", 1L))
            .Output("Y");
        using var network = OnnxImporter.Import(OnnxModel.Parse(g.Build(), "mlp.onnx"), "mlp.onnx");
        Assert.Equal(["layer0", "layer1"], network.Stages.Select(s => s.Name));
        Assert.Equal(8 * 16, network.Stages[0].ParameterCount);
        Assert.Equal(4 * 16 + 4, network.Stages[1].ParameterCount);
    }
}
