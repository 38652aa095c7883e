using Forge.Core;
using Forge.Tests.Shared;

namespace Forge.DeepLearning.Tests;

[Collection(TorchCollection.Name)]
public sealed class ResumeTests(TorchFixture mnist) : IDisposable
{
    private readonly TempDir _temp = new("forge-dl-resume-");

    public void Dispose() => _temp.Dispose();

    /// <summary>
    /// Run A trains 3 epochs straight through; run B is cancelled after epoch 1 (its checkpoint is written before
    /// EpochEnded fires) and a new trainer resumes it. With one thread every weight must match bit for bit.
    /// </summary>
    [SharedDataFact]
    public void An_interrupted_run_resumed_from_its_checkpoint_ends_bit_identical_to_an_uninterrupted_one()
    {
        var train = mnist.Train(1500);
        // Batch norm buffers, dropout and augmentation all draw on state that a resume has to restore.
        var spec = ModelSpec.Mlp() with { Hidden = [64, 32] };
        var options = Recipes.For("mlp") with { Epochs = 3, Seed = 11, Threads = 1, CheckpointDirectory = _temp.Combine("a") };

        using var a = new ImageClassifierTrainer(spec, options).Fit(train);

        var optionsB = options with { CheckpointDirectory = _temp.Combine("b") };
        using var cancel = new CancellationTokenSource();
        var completedWhenCancelled = -1;
        var interrupted = new ImageClassifierTrainer(spec, optionsB)
        {
            EpochEnded = (metrics, _) =>
            {
                if (metrics.Epoch != 1) return;
                completedWhenCancelled = Checkpoint.Read(Checkpoint.Find(optionsB.CheckpointDirectory!)!).CompletedEpochs;
                cancel.Cancel();
            },
        };
        Assert.ThrowsAny<OperationCanceledException>(() => interrupted.Fit(train, cancellationToken: cancel.Token));
        Assert.Equal(1, completedWhenCancelled);
        Assert.Equal(1, Checkpoint.Read(Checkpoint.Find(optionsB.CheckpointDirectory!)!).CompletedEpochs);

        var resumedEpochs = new List<int>();
        using var b = new ImageClassifierTrainer(spec, optionsB with { Resume = true }) { EpochEnded = (m, _) => resumedEpochs.Add(m.Epoch) }.Fit(train);

        Assert.Equal([2, 3], resumedEpochs);
        Assert.Equal(3, b.History.Count);
        for (var e = 0; e < 3; e++)
        {
            var (x, y) = (a.History[e], b.History[e]);
            Assert.Equal((x.Epoch, x.TrainLoss, x.TrainAccuracy, x.ValidationLoss, x.ValidationAccuracy, x.LearningRate),
                (y.Epoch, y.TrainLoss, y.TrainAccuracy, y.ValidationLoss, y.ValidationAccuracy, y.LearningRate));
        }
        Weights.AssertBitIdentical(Weights.Of(a, _temp.Path), Weights.Of(b, _temp.Path));
    }

    [SharedDataFact]
    public void Resuming_with_other_options_is_refused()
    {
        var train = mnist.Train(300);
        var spec = ModelSpec.Mlp() with { Hidden = [16] };
        var options = new TrainerOptions { Epochs = 1, Augment = false, Threads = 1, CheckpointDirectory = _temp.Combine("ck") };
        using (new ImageClassifierTrainer(spec, options).Fit(train))
        {
        }

        var otherRate = Assert.Throws<UsageException>(() => new ImageClassifierTrainer(spec, options with { LearningRate = 1e-2, Resume = true }).Fit(train));
        var otherSpec = Assert.Throws<UsageException>(() => new ImageClassifierTrainer(spec with { Hidden = [17] }, options with { Resume = true }).Fit(train));

        foreach (var ex in new[] { otherRate, otherSpec })
        {
            Assert.StartsWith(Path.Combine(_temp.Combine("ck"), "current") + ":", ex.Message, StringComparison.Ordinal);
            Assert.Contains("other model or training options", ex.Message, StringComparison.Ordinal);
        }
    }

    [SharedDataFact]
    public void Resume_without_a_checkpoint_starts_afresh()
    {
        var options = new TrainerOptions { Epochs = 1, Augment = false, Threads = 1, CheckpointDirectory = _temp.Combine("empty"), Resume = true };

        using var model = new ImageClassifierTrainer(ModelSpec.Mlp() with { Hidden = [16] }, options).Fit(mnist.Train(300));

        Assert.Single(model.History);
        Assert.Equal(1, Checkpoint.Read(Checkpoint.Find(_temp.Combine("empty"))!).CompletedEpochs);
    }
}
