using Forge.Tests.Shared;
using TorchSharp;

namespace Forge.DeepLearning.Tests;

[Collection(TorchCollection.Name)]
public sealed class AugmentationTests(TorchFixture mnist)
{
    [SharedDataFact]
    public void Random_affine_without_shift_or_rotation_is_the_identity()
    {
        using var scope = torch.NewDisposeScope();
        var x = ImageTensors.Pixels(mnist.Test(64));
        using var generator = new torch.Generator(5);

        var y = ImageTensors.RandomAffine(x, 0, 0, generator);

        Assert.Equal(x.shape, y.shape);
        var worst = (y - x).abs().max().item<float>();
        Assert.True(worst <= 1e-5f, $"largest pixel change {worst:G4}, expected <= 1e-5");
    }

    [SharedDataFact]
    public void Random_affine_with_a_shift_or_rotation_changes_every_image_reproducibly()
    {
        using var scope = torch.NewDisposeScope();
        var x = ImageTensors.Pixels(mnist.Test(64));
        using var g1 = new torch.Generator(5);
        using var g2 = new torch.Generator(5);

        foreach (var (shift, degrees) in new[] { (2.0, 0.0), (0.0, 10.0) })
        {
            var y = ImageTensors.RandomAffine(x, shift, degrees, g1);
            var again = ImageTensors.RandomAffine(x, shift, degrees, g2);

            Assert.True(y.eq(again).all().item<bool>(), "the same generator state must give the same augmentation");
            var perImage = (y - x).abs().sum([1, 2, 3]).data<float>().ToArray();
            Assert.All(perImage, change => Assert.True(change > 0.5f, $"shift {shift}, rotation {degrees}: an image changed by only {change:G4}"));
            // Moving a digit within a mostly empty frame keeps roughly all of its ink.
            var ink = x.sum([1, 2, 3]);
            var ratio = (y.sum([1, 2, 3]) / ink).data<float>().ToArray();
            Assert.All(ratio, r => Assert.InRange(r, 0.8f, 1.2f));
        }
    }

    [SharedDataFact]
    public void Stratified_split_keeps_each_class_share_within_one_image()
    {
        var labels = mnist.Train(3000).Labels;
        const double fraction = 1.0 / 12;

        var (train, validation) = ImageClassifierTrainer.StratifiedSplit(labels, 10, fraction, seed: 4);

        Assert.Equal(Enumerable.Range(0, labels.Length), train.Concat(validation).Order());
        Assert.Equal(train.Order(), train);
        Assert.Equal(validation.Order(), validation);
        for (var c = 0; c < 10; c++)
        {
            var total = labels.Count(l => l == c);
            var held = validation.Count(i => labels[i] == c);
            Assert.InRange(held, total * fraction - 1, total * fraction + 1);
        }

        var (_, otherSeed) = ImageClassifierTrainer.StratifiedSplit(labels, 10, fraction, seed: 5);
        Assert.Equal(validation.Length, otherSeed.Length);
        Assert.NotEqual(validation, otherSeed);
        var (all, none) = ImageClassifierTrainer.StratifiedSplit(labels, 10, 0, seed: 4);
        Assert.Equal(labels.Length, all.Length);
        Assert.Empty(none);
    }
}
