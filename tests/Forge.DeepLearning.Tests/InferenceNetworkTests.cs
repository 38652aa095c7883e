using TorchSharp;
using static TorchSharp.torch;

namespace Forge.DeepLearning.Tests;

[Collection(TorchCollection.Name)]
public sealed class InferenceNetworkTests
{
    [Fact]
    public void Folding_batch_norm_into_the_convolutions_keeps_every_output_within_1e_4()
    {
        torch.manual_seed(3);
        var spec = ModelSpec.Cnn() with { Channels = [8, 16, 32] };
        using var net = Networks.Build(spec, 1, 28, 28, 10);
        using (torch.no_grad())
        {
            // Give every batch norm statistics and affine weights far from the identity, as training would.
            foreach (var (name, buffer) in net.named_buffers())
            {
                if (name.EndsWith("running_mean", StringComparison.Ordinal)) buffer.copy_(torch.randn(buffer.shape) * 0.5);
                if (name.EndsWith("running_var", StringComparison.Ordinal)) buffer.copy_(torch.rand(buffer.shape) * 2 + 0.1);
            }
            foreach (var (name, p) in net.named_parameters())
                if (name.Contains("_bn", StringComparison.Ordinal)) p.copy_(torch.randn(p.shape));
        }
        net.eval();
        using var inference = new InferenceNetwork(spec, net);
        using var x = torch.randn(64, 1, 28, 28);

        using var noGrad = torch.no_grad();
        var expected = net.call(x).data<float>().ToArray();
        var actual = inference.Forward(x).data<float>().ToArray();

        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
            Assert.InRange(actual[i] - expected[i], -1e-4f * Math.Max(1, Math.Abs(expected[i])), 1e-4f * Math.Max(1, Math.Abs(expected[i])));
    }

    [Fact]
    public void The_view_does_not_dispose_the_trained_network()
    {
        var spec = ModelSpec.Cnn() with { Channels = [4, 8] };
        using var net = Networks.Build(spec, 1, 28, 28, 10);
        net.eval();
        using (new InferenceNetwork(spec, net)) { }
        using var noGrad = torch.no_grad();
        using var y = net.call(torch.zeros(2, 1, 28, 28));
        Assert.Equal([2L, 10], y.shape);
    }
}
