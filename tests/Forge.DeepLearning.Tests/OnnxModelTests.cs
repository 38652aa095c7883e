using Forge.Core;
using Forge.DeepLearning.Onnx;

namespace Forge.DeepLearning.Tests;

/// <summary>The hand-written protobuf reader on the shipped ResNet18 files and on small and broken files.</summary>
[Collection(TorchCollection.Name)] // it sets FORGE_RESNET18_ONNX for a moment; the other ONNX tests read it
public sealed class OnnxModelTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("forge-onnx-model-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void ResNet18_reads_with_its_declared_input_output_and_weights()
    {
        var model = OnnxModel.Load(PretrainedModels.ResNet18OnnxPath);
        Assert.Equal("CNTK", model.ProducerName);
        Assert.Equal(8, model.OpsetVersion());
        var graph = model.Graph;
        var input = Assert.Single(graph.RuntimeInputs);
        Assert.Equal("Input247", input.Name);
        Assert.Equal(OnnxDataType.Float, input.ElementType);
        Assert.Equal([1L, 3, 224, 224], input.Shape!.Select(d => d.Value!.Value));
        var output = Assert.Single(graph.Outputs);
        Assert.Equal("Pooling395_Output_0", output.Name);
        Assert.Equal([1L, 512, 1, 1], output.Shape!.Select(d => d.Value!.Value));
        Assert.Equal(74, graph.Nodes.Count);
        Assert.Equal(22, graph.Nodes.Count(n => n.OpType == "Conv"));
        Assert.Equal(15_908_800, graph.Initializers.Sum(t => t.ElementCount));

        var first = graph.Nodes[0];
        Assert.Equal("Conv", first.OpType);
        Assert.Equal("Convolution249", first.Name);
        Assert.Equal([3L, 3, 2, 2], first.Ints("pads"));
        Assert.Equal([2L, 2], first.Ints("strides"));
        var weight = graph.Initializer(first.Inputs[1])!;
        Assert.Equal([64L, 3, 7, 7], weight.Dims);
        Assert.Equal(64 * 3 * 7 * 7, weight.ToFloatArray().Length);
        var bn = graph.Nodes[1];
        Assert.Equal(1, bn.Int("spatial", -1));
        Assert.Equal(1e-5f, bn.Float("epsilon", 0));
    }

    [Fact]
    public void Attributes_and_tensors_of_every_kind_read_back_as_written()
    {
        var g = new OnnxGraphBuilder(13, "X", 1, 2)
            .Initializer("raw", TestTensor.Of([1.5f, -2f, 3.25f], 3))
            .Initializer("typed", TestTensor.Of([4f, 5f], 2))
            .Initializer("ints", TestTensor.Ints(-1, 0, 7_000_000_000))
            .Node("Custom", "n", ["X"], ["Y"], ("f", 0.25f), ("i", -3L), ("s", "héllo"), ("fs", new[] { 1f, 2f }), ("is", new long[] { 9, -9 }),
                ("t", TestTensor.Of([6f], 1)))
            .Output("Y");
        var model = OnnxModel.Parse(g.Build(), "mem");
        Assert.Equal([1.5f, -2f, 3.25f], model.Graph.Initializer("raw")!.ToFloatArray());
        Assert.Equal([4f, 5f], model.Graph.Initializer("typed")!.ToFloatArray());
        Assert.Equal([-1L, 0, 7_000_000_000], model.Graph.Initializer("ints")!.ToInt64Array());
        var node = Assert.Single(model.Graph.Nodes);
        Assert.Equal(0.25f, node.Float("f", 0));
        Assert.Equal(-3, node.Int("i", 0));
        Assert.Equal("héllo", node.String("s", ""));
        Assert.Equal([1f, 2f], node.Attribute("fs")!.Floats);
        Assert.Equal([9L, -9], node.Ints("is"));
        Assert.Equal([6f], node.Attribute("t")!.Tensor!.ToFloatArray());
        Assert.Equal(OnnxAttributeType.Tensor, node.Attribute("t")!.Type);
    }

    [Fact]
    public void A_tensor_of_an_unsupported_element_type_fails_when_read_naming_it()
    {
        var w = new ProtoWriter();
        w.Varint(1, 7);
        w.Message(7, g =>
        {
            g.Message(5, t => t.PackedInt64(1, [2]).Varint(2, 11).String(8, "doubles").Bytes(9, new byte[16]));
            g.Message(11, v => v.String(1, "X"));
        });
        var model = OnnxModel.Parse(w.ToArray(), "double.onnx");
        var tensor = model.Graph.Initializer("doubles")!;
        Assert.Equal(OnnxDataType.Double, tensor.DataType);
        var e = Assert.Throws<ForgeException>(() => tensor.ToFloatArray());
        Assert.Contains("doubles", e.Message, StringComparison.Ordinal);
        Assert.Contains("Double", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_truncated_model_is_a_data_format_error_naming_the_file()
    {
        var bytes = File.ReadAllBytes(PretrainedModels.ResNetPreprocessPath);
        var path = Path.Combine(_dir, "truncated.onnx");
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        var e = Assert.Throws<DataFormatException>(() => OnnxModel.Load(path));
        Assert.Equal(path, e.Path);
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("empty")]
    [InlineData("text")]
    [InlineData("random")]
    [InlineData("wrong-length")]
    public void A_file_that_is_not_an_onnx_model_is_a_data_format_error(string kind)
    {
        var bytes = kind switch
        {
            "empty" => [],
            "text" => "this is a README, not a model\n"u8.ToArray(),
            "random" => RandomBytes(4096),
            // A float tensor declared [4] holding only 2 values.
            _ => new ProtoWriter().Varint(1, 7).Message(7, g => g.Message(5, t => t.PackedInt64(1, [4]).Varint(2, 1).Bytes(9, new byte[8]))).ToArray(),
        };
        var path = Path.Combine(_dir, kind + ".onnx");
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<DataFormatException>(() => OnnxModel.Load(path));
        Assert.Equal(path, e.Path);
    }

    [Fact]
    public void A_missing_file_is_a_not_found_error()
    {
        var path = Path.Combine(_dir, "nope.onnx");
        var e = Assert.Throws<OnnxFileNotFoundException>(() => OnnxModel.Load(path));
        Assert.IsAssignableFrom<NotFoundException>(e);
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_pretrained_paths_follow_the_environment_override_and_say_how_to_fix_a_bad_one()
    {
        var previous = Environment.GetEnvironmentVariable(PretrainedModels.ResNet18Variable);
        try
        {
            var copy = Path.Combine(_dir, "copy.onnx");
            File.Copy(PretrainedModels.ResNetPreprocessPath, copy);
            Environment.SetEnvironmentVariable(PretrainedModels.ResNet18Variable, copy);
            Assert.Equal(copy, PretrainedModels.ResNet18OnnxPath);
            Environment.SetEnvironmentVariable(PretrainedModels.ResNet18Variable, Path.Combine(_dir, "missing.onnx"));
            var e = Assert.Throws<OnnxFileNotFoundException>(() => PretrainedModels.ResNet18OnnxPath);
            Assert.Contains(PretrainedModels.ResNet18Variable, e.Message, StringComparison.Ordinal);
        }
        finally
        {
            Environment.SetEnvironmentVariable(PretrainedModels.ResNet18Variable, previous);
        }
        Assert.EndsWith(Path.Combine("DnnImageModels", "ResNet18Onnx", "ResNet18.onnx"), PretrainedModels.ResNet18OnnxPath, StringComparison.Ordinal);
    }

    private static byte[] RandomBytes(int count)
    {
        var bytes = new byte[count];
        new Random(42).NextBytes(bytes);
        return bytes;
    }
}
