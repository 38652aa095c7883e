using Forge.DeepLearning.Onnx;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Forge.DeepLearning.Tests;

/// <summary>ResNet18 imported once for the read-only tests, with ONNX Runtime sessions to compare against.</summary>
public sealed class ResNet18Fixture : IDisposable
{
    public ResNet18Fixture()
    {
        TorchRuntime.SetThreads(1);
        Network = OnnxImporter.Import(PretrainedModels.ResNet18OnnxPath);
        Reference = new OnnxReference(PretrainedModels.ResNet18OnnxPath);
        Preprocessing = ResNetPreprocessing.Load();
        torch.manual_seed(2024);
        // Two "photos": uniform RGB noise on the 0..255 scale, preprocessed as the featurizer does.
        using var rgb = torch.rand(2, 3, 224, 224) * 255;
        Images = Preprocessing.Apply(rgb);
    }

    public OnnxNetwork Network { get; }

    public OnnxReference Reference { get; }

    public ResNetPreprocessing Preprocessing { get; }

    /// <summary>Two preprocessed images, [2,3,224,224].</summary>
    public Tensor Images { get; }

    public void Dispose()
    {
        Images.Dispose();
        Preprocessing.Dispose();
        Reference.Dispose();
        Network.Dispose();
    }
}

[Collection(TorchCollection.Name)]
public sealed class OnnxResNet18Tests(ResNet18Fixture resnet, ITestOutputHelper output) : IClassFixture<ResNet18Fixture>
{
    private const double Tolerance = 1e-4;

    [Fact]
    public void Two_images_one_at_a_time_match_onnx_runtime_within_1e_4()
    {
        var expected = resnet.Reference.RunEach(resnet.Images);
        using var noGrad = torch.no_grad();
        var worst = 0.0;
        for (var i = 0; i < 2; i++)
        {
            using var image = resnet.Images[i].unsqueeze(0);
            using var y = resnet.Network.call(image);
            Assert.Equal([1L, 512, 1, 1], y.shape);
            worst = Math.Max(worst, OnnxReference.AssertClose(expected[i], OnnxReference.Rows(y)[0], Tolerance));
        }
        output.WriteLine($"ResNet18 max |diff| vs ONNX Runtime: {worst:g3} (largest feature {expected.SelectMany(e => e).Max():g4})");
    }

    [Fact]
    public void A_batch_of_two_in_one_forward_equals_the_two_single_forwards()
    {
        using var noGrad = torch.no_grad();
        using var batch = resnet.Network.call(resnet.Images);
        Assert.Equal([2L, 512, 1, 1], batch.shape);
        var rows = OnnxReference.Rows(batch);
        var worst = 0.0;
        for (var i = 0; i < 2; i++)
        {
            using var image = resnet.Images[i].unsqueeze(0);
            using var single = resnet.Network.call(image);
            worst = Math.Max(worst, OnnxReference.AssertClose(OnnxReference.Rows(single)[0], rows[i], Tolerance));
        }
        output.WriteLine($"batch of 2 vs single forwards: max |diff| {worst:g3}");
    }

    [Fact]
    public void The_network_declares_the_files_input_and_output_and_holds_every_weight_as_a_parameter()
    {
        var network = resnet.Network;
        Assert.Equal("Input247", network.InputName);
        Assert.Equal("Pooling395_Output_0", network.OutputName);
        Assert.Equal([1L, 3, 224, 224], network.InputShape);
        var modules = network.named_children().ToList();
        Assert.Equal(22, modules.Count(m => m.module is TorchSharp.Modules.Conv2d));
        Assert.Equal(22, modules.Count(m => m.module is TorchSharp.Modules.BatchNorm2d));
        // 22 convolution kernels (15,885,504 values) and 22 batch-norm scale/shift pairs (11,648); the running
        // statistics (another 11,648) are buffers. No convolution has a bias: batch norm follows each.
        Assert.Equal(15_897_152, network.parameters().Sum(p => p.numel()));
        Assert.Equal(22 * 2, network.named_buffers().Count(b => b.name.EndsWith("running_mean", StringComparison.Ordinal) || b.name.EndsWith("running_var", StringComparison.Ordinal)));
    }

    [Fact]
    public void ResNet18_has_five_stages_the_stem_then_one_per_resolution()
    {
        var stages = resnet.Network.Stages;
        foreach (var s in stages) output.WriteLine(s.ToString());
        Assert.Equal(["stem", "stage1", "stage2", "stage3", "stage4"], stages.Select(s => s.Name));
        Assert.Equal([56, 56, 28, 14, 7], stages.Select(s => s.Height));
        Assert.Equal(Enumerable.Range(0, 5), stages.Select(s => s.Index));
        // Stem: 7×7 conv (64·3·7·7) and its batch norm (2·64), then ReLU and max pool.
        Assert.Equal(64 * 3 * 7 * 7 + 2 * 64, stages[0].ParameterCount);
        Assert.Equal(["n000_conv", "n001_bn"], stages[0].Modules.Select(m => m.Name));
        Assert.Contains(stages[0].Nodes, n => n.Contains("MaxPool", StringComparison.Ordinal));
        Assert.Equal(4, stages[1].Modules.Count(m => m.Module is TorchSharp.Modules.Conv2d));
        Assert.Equal(5, stages[2].Modules.Count(m => m.Module is TorchSharp.Modules.Conv2d));
        Assert.Equal(5, stages[3].Modules.Count(m => m.Module is TorchSharp.Modules.Conv2d));
        Assert.Equal(7, stages[4].Modules.Count(m => m.Module is TorchSharp.Modules.Conv2d));
        Assert.Equal(resnet.Network.parameters().Sum(p => p.numel()), stages.Sum(s => s.ParameterCount));
    }

    [Fact]
    public void Forge_preprocessing_matches_onnx_runtime_running_the_preprocessing_graph()
    {
        var preprocessing = resnet.Preprocessing;
        Assert.Equal([2L, 1, 0], preprocessing.ChannelOrder);
        var means = preprocessing.ChannelMeans;
        output.WriteLine($"mean image channel means (B, G, R): {string.Join(", ", means.Select(m => m.ToString("F2", System.Globalization.CultureInfo.InvariantCulture)))}");
        Assert.InRange(means[0], 95, 110);
        Assert.InRange(means[2], 118, 130);

        using var reference = new OnnxReference(PretrainedModels.ResNetPreprocessPath);
        torch.manual_seed(7);
        using var rgb = torch.rand(2, 3, 224, 224) * 255;
        var expected = reference.RunEach(rgb);
        using var actual = preprocessing.Apply(rgb);
        var rows = OnnxReference.Rows(actual);
        var worst = Math.Max(OnnxReference.AssertClose(expected[0], rows[0], Tolerance), OnnxReference.AssertClose(expected[1], rows[1], Tolerance));
        output.WriteLine($"preprocessing max |diff| vs ONNX Runtime: {worst:g3}");
    }

    [Fact]
    public void The_preprocessing_graph_imported_as_a_network_matches_onnx_runtime()
    {
        using var network = OnnxImporter.Import(PretrainedModels.ResNetPreprocessPath);
        Assert.Empty(network.parameters());
        using var reference = new OnnxReference(PretrainedModels.ResNetPreprocessPath);
        torch.manual_seed(8);
        using var rgb = torch.rand(3, 3, 224, 224) * 255;
        var expected = reference.RunEach(rgb);
        using var noGrad = torch.no_grad();
        using var y = network.call(rgb);
        var rows = OnnxReference.Rows(y);
        for (var i = 0; i < 3; i++) OnnxReference.AssertClose(expected[i], rows[i], Tolerance);
    }
}

/// <summary>Freezing on a fresh ResNet18: this test changes weights, so it does not share the fixture's network.</summary>
[Collection(TorchCollection.Name)]
public sealed class OnnxFreezeTests
{
    [Fact]
    public void Freezing_all_but_the_last_stage_keeps_frozen_weights_and_statistics_bit_identical_through_a_training_step()
    {
        using var network = OnnxImporter.Import(PretrainedModels.ResNet18OnnxPath);
        network.Freeze(1);
        network.train();
        var stages = network.Stages;
        Assert.Equal(4, network.FrozenStageCount);
        Assert.All(stages.Take(4).SelectMany(s => s.Parameters), p => Assert.False(p.requires_grad));
        Assert.All(stages[4].Parameters, p => Assert.True(p.requires_grad));
        Assert.All(BatchNorms(stages.Take(4)), bn => Assert.False(bn.training));
        Assert.All(BatchNorms(stages.Skip(4)), bn => Assert.True(bn.training));

        var before = Snapshot(network);
        torch.manual_seed(3);
        using var x = torch.randn(2, 3, 224, 224) * 60;
        using var optimizer = torch.optim.SGD(network.parameters().Where(p => p.requires_grad), 0.1);
        using (var scope = torch.NewDisposeScope())
        {
            optimizer.zero_grad();
            var loss = network.call(x).pow(2).mean();
            loss.backward();
            optimizer.step();
        }
        var after = Snapshot(network);

        var frozenNames = stages.Take(4).SelectMany(s => s.Modules).Select(m => m.Name + ".").ToList();
        var trainableNames = stages[4].Modules.Select(m => m.Name + ".").ToList();
        var checkedFrozen = 0;
        var changedTrainable = 0;
        foreach (var (name, values) in before)
        {
            if (frozenNames.Any(name.StartsWith))
            {
                Assert.True(values.AsSpan().SequenceEqual(after[name]), $"frozen {name} changed");
                checkedFrozen++;
            }
            else if (trainableNames.Any(name.StartsWith) && !name.EndsWith("num_batches_tracked", StringComparison.Ordinal))
            {
                Assert.False(values.AsSpan().SequenceEqual(after[name]), $"trainable {name} did not change");
                changedTrainable++;
            }
        }
        // Frozen: 15 convs + 15 BN × (weight, bias, running mean, running var). Trainable: 7 convs + 7 BN × 4.
        Assert.Equal(15 + 15 * 4, checkedFrozen);
        Assert.Equal(7 + 7 * 4, changedTrainable);
    }

    [Fact]
    public void Freeze_zero_freezes_everything_and_a_count_past_the_stages_unfreezes_everything()
    {
        using var network = OnnxImporter.Import(PretrainedModels.ResNet18OnnxPath);
        network.Freeze(0);
        network.train();
        Assert.All(network.parameters(), p => Assert.False(p.requires_grad));
        Assert.All(BatchNorms(network.Stages), bn => Assert.False(bn.training));

        network.Freeze(99);
        Assert.Equal(0, network.FrozenStageCount);
        Assert.All(network.parameters(), p => Assert.True(p.requires_grad));
        Assert.All(BatchNorms(network.Stages), bn => Assert.True(bn.training));

        network.eval();
        Assert.All(BatchNorms(network.Stages), bn => Assert.False(bn.training));
        Assert.Throws<ArgumentOutOfRangeException>(() => network.Freeze(-1));
    }

    private static IEnumerable<nn.Module> BatchNorms(IEnumerable<OnnxStage> stages) =>
        stages.SelectMany(s => s.Modules).Select(m => m.Module).Where(m => m is TorchSharp.Modules.BatchNorm2d);

    private static Dictionary<string, float[]> Snapshot(OnnxNetwork network)
    {
        var result = new Dictionary<string, float[]>(StringComparer.Ordinal);
        foreach (var (name, tensor) in network.state_dict())
        {
            if (tensor.dtype != ScalarType.Float32) continue;
            using var copy = tensor.detach().contiguous();
            result[name] = copy.data<float>().ToArray();
        }
        return result;
    }
}

/// <summary>The inference plan (batch norms folded, ReLUs in place) computes what the plain graph computes.</summary>
[Collection(TorchCollection.Name)]
public sealed class OnnxInferencePlanTests
{
    [Fact]
    public void Folded_inference_matches_the_unfolded_graph_and_follows_weight_changes()
    {
        using var net = Forge.DeepLearning.Onnx.OnnxImporter.Import(Forge.DeepLearning.Onnx.PretrainedModels.ResNet18OnnxPath);
        net.eval();
        TorchSharp.torch.random.manual_seed(5);
        using var x = TorchSharp.torch.rand(2, 3, 224, 224) * 255 - 120;
        using var input = x.clone();
        using var plain = net.forward(x); // autograd on: the graph as imported
        TorchSharp.Modules.Parameter? firstWeight = null;
        using (TorchSharp.torch.no_grad())
        {
            using var folded = net.forward(x);
            Assert.True(plain.detach().allclose(folded, rtol: 0, atol: 1e-4), $"max diff {(plain.detach() - folded).abs().max().item<float>()}");
            Assert.True(x.allclose(input, 0, 0), "the caller's input was modified");
            // Changing weights in eval mode and invalidating the plan makes the next pass use the new weights.
            firstWeight = net.parameters().First();
            firstWeight.mul_(0.5f);
            net.InvalidateInferencePlan();
            using var changed = net.forward(x);
            Assert.False(changed.allclose(folded, rtol: 0, atol: 1e-3));
        }
        using var plainChanged = net.forward(x);
        using (TorchSharp.torch.no_grad())
        {
            using var foldedChanged = net.forward(x);
            Assert.True(plainChanged.detach().allclose(foldedChanged, rtol: 0, atol: 1e-4));
        }
    }
}
