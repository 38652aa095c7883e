using Forge.Core;
using Forge.Tests.Shared;

namespace Forge.DeepLearning.Tests;

[Collection(TorchCollection.Name)]
public sealed class ImageTrainingTests(TorchFixture mnist) : IDisposable
{
    private readonly TempDir _temp = new("forge-dl-workflow-");

    public void Dispose() => _temp.Dispose();

    /// <summary>
    /// Rounding 3,000 × 1/12 as a whole gives 250, but the stratified split rounds each class and holds out 251;
    /// the counts reported must be the ones trained on.
    /// </summary>
    [SharedDataFact]
    public void Run_trains_evaluates_on_the_whole_test_set_and_reports_the_real_split_sizes()
    {
        var request = new ImageTrainingRequest
        {
            Dataset = "mnist",
            DataDir = SharedData.Mnist,
            Spec = ModelSpec.Mlp() with { Hidden = [32] },
            Options = new TrainerOptions { Epochs = 1, Augment = false, Threads = 1 },
            Limit = 3000,
            OutputDirectory = _temp.Combine("bundle"),
        };

        var result = ImageTraining.Run(request);

        var (train, validation) = ImageClassifierTrainer.StratifiedSplit(mnist.Train(3000).Labels, 10, request.Options.ValidationFraction, request.Options.Seed);
        Assert.Equal(251, validation.Length);
        Assert.Equal((train.Length, validation.Length), (result.TrainImages, result.ValidationImages));
        Assert.Equal(10_000, result.Test.Count);
        var manifest = ModelBundle.Load(request.OutputDirectory).Manifest;
        Assert.Equal(result.Test.Accuracy, manifest.Metrics["testAccuracy"]);
        Assert.Contains($"({train.Length} training images)", manifest.Description, StringComparison.Ordinal);
        Assert.Equal("3000", manifest.Training!.Hyperparameters["limit"]);
        Assert.Equal(1, manifest.Training.Epochs);
    }

    [SharedDataFact]
    public void Run_refuses_an_existing_output_before_training()
    {
        Directory.CreateDirectory(_temp.Combine("taken"));
        var request = new ImageTrainingRequest { DataDir = SharedData.Mnist, OutputDirectory = _temp.Combine("taken") };

        var ex = Assert.Throws<OptionsException>(() => ImageTraining.Run(request));

        Assert.Equal("outputDirectory", ex.Problems.Single().Option);
        Assert.Contains("already exists", ex.Message, StringComparison.Ordinal);
    }
}
