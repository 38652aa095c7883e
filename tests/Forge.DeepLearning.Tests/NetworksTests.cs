using TorchSharp;

namespace Forge.DeepLearning.Tests;

[Collection(TorchCollection.Name)]
public sealed class NetworksTests
{
    public static TheoryData<string> ModelNames => ["cnn", "mlp", "reference-cnn"];

    [Theory]
    [MemberData(nameof(ModelNames))]
    public void Maps_a_batch_of_mnist_images_to_ten_outputs(string name)
    {
        using var module = Networks.Build(ModelSpec.FromName(name), 1, 28, 28, 10);
        module.eval();
        using var input = torch.rand(5, 1, 28, 28);

        using var output = module.call(input);

        Assert.Equal([5L, 10L], output.shape);
    }

    [Fact]
    public void Reference_cnn_has_the_parameter_count_of_the_pytorch_example()
    {
        using var module = Networks.Build(ModelSpec.ReferenceCnn(), 1, 28, 28, 10);

        // conv1 320 + conv2 18,496 + fc1 1,179,776 + fc2 1,290, as pytorch/examples' mnist/main.py Net.
        Assert.Equal(1_199_882L, module.parameters().Sum(p => p.numel()));
    }

    [Fact]
    public void Only_reference_cnn_outputs_log_probabilities()
    {
        Assert.True(Networks.OutputsLogProbabilities(ModelSpec.ReferenceCnn()));
        Assert.False(Networks.OutputsLogProbabilities(ModelSpec.Cnn()));
        Assert.False(Networks.OutputsLogProbabilities(ModelSpec.Mlp()));
    }
}
