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
    public void Resume_without_a_checkpoint_is_refused_naming_the_folder()
    {
        var folder = _temp.Combine("empty");
        var options = new TrainerOptions { Epochs = 1, Augment = false, Threads = 1, CheckpointDirectory = folder, Resume = true };

        var e = Assert.Throws<UsageException>(() => new ImageClassifierTrainer(ModelSpec.Mlp() with { Hidden = [16] }, options).Fit(mnist.Train(300)));

        Assert.Contains(folder, e.Message, StringComparison.Ordinal);
        Assert.Null(Checkpoint.Find(folder));
    }

    [SharedDataFact]
    public void A_damaged_checkpoint_file_is_named_in_one_error()
    {
        var folder = _temp.Combine("damaged");
        var options = new TrainerOptions { Epochs = 2, Augment = false, Threads = 1, CheckpointDirectory = folder };
        var spec = ModelSpec.Mlp() with { Hidden = [16] };
        using (new ImageClassifierTrainer(spec, options with { Epochs = 1 }).Fit(mnist.Train(300))) { }
        var weights = Path.Combine(Checkpoint.Find(folder)!, "model.dat");
        File.WriteAllBytes(weights, File.ReadAllBytes(weights)[..40]);

        var e = Assert.Throws<DataFormatException>(() => new ImageClassifierTrainer(spec, options with { Epochs = 1, Resume = true }).Fit(mnist.Train(300)));

        Assert.Equal(weights, e.Path);
    }

    [Fact]
    public void A_crash_between_renames_never_leaves_the_folder_without_a_checkpoint()
    {
        // Simulate the state a kill leaves between "current -> previous" and "staging -> current".
        var root = _temp.Combine("window");
        Directory.CreateDirectory(Path.Combine(root, "previous"));
        File.WriteAllText(Path.Combine(root, "previous", "state.json"), "{\"completedEpochs\": 3}");

        Checkpoint.Write(root, new CheckpointState { CompletedEpochs = 4 }, dir =>
        {
            // While the new checkpoint is being written the old one must still be findable.
            Assert.Equal(3, Checkpoint.Read(Checkpoint.Find(root)!).CompletedEpochs);
        });

        Assert.Equal(4, Checkpoint.Read(Checkpoint.Find(root)!).CompletedEpochs);
    }
}
