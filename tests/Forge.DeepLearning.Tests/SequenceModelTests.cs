using Forge.Core;
using Forge.Tests.Shared;
using TorchSharp;

namespace Forge.DeepLearning.Tests;

[Collection(TorchCollection.Name)]
public sealed class SequenceModelTests(TorchFixture torchFixture) : IDisposable
{
    private const int Vocabulary = 20;
    private readonly TempDir _temp = new("forge-dl-sequence-");

    public void Dispose()
    {
        _ = torchFixture;
        _temp.Dispose();
    }

    /// <summary>Sequences of 2–12 tokens from 1..19; the class is whether token 5 occurs (a task a recurrent net must remember across steps).</summary>
    private static SequenceSet Toy(int count, int seed)
    {
        var random = new Random(seed);
        var tokens = new int[count][];
        var labels = new int[count];
        for (var i = 0; i < count; i++)
        {
            var row = new int[random.Next(2, 13)];
            for (var t = 0; t < row.Length; t++) row[t] = random.Next(1, Vocabulary);
            if (random.Next(2) == 0) row[random.Next(row.Length)] = 5;
            else row = [.. row.Select(x => x == 5 ? 6 : x)];
            tokens[i] = row;
            labels[i] = row.Contains(5) ? 1 : 0;
        }
        return new SequenceSet(tokens, labels, ["absent", "present"]);
    }

    private static TrainerOptions Quick(int epochs = 3) => new()
    {
        Epochs = epochs,
        BatchSize = 16,
        Optimizer = OptimizerKind.Adam,
        LearningRate = 1e-2,
        Schedule = LearningRateScheduleKind.None,
        ClipGradNorm = 1.0,
        ValidationFraction = 0.2,
        Augment = false,
        Threads = 1,
        Seed = 3,
    };

    [Theory]
    [InlineData(RecurrentCell.Rnn, false)]
    [InlineData(RecurrentCell.Lstm, false)]
    [InlineData(RecurrentCell.Gru, false)]
    [InlineData(RecurrentCell.Lstm, true)]
    public void Workout_train_save_load_gives_identical_probabilities(RecurrentCell cell, bool bidirectional)
    {
        var options = new SequenceModelOptions { Cell = cell, HiddenSize = 16, EmbeddingSize = 8, Layers = 2, Dropout = 0.1, Bidirectional = bidirectional };
        using var model = new SequenceClassifierTrainer(options, Quick()).Fit(Toy(200, 1), Vocabulary);
        Assert.Equal(3, model.History.Count);
        Assert.All(model.History, h => Assert.True(double.IsFinite(h.TrainLoss)));
        var dir = _temp.Combine("bundle-" + cell + bidirectional);
        using (var writer = ModelBundle.Create(dir))
        {
            writer.Commit(model.WriteTo(writer, "workout"));
        }
        var bundle = ModelBundle.Load(dir);
        Assert.Equal(SequenceClassifier.Flavor, bundle.Manifest.Flavor);
        using var loaded = SequenceClassifier.Load(bundle);
        Assert.Equal(options, loaded.Options);
        Assert.Equal(model.Labels, loaded.Labels);
        var probe = Toy(40, 2).Tokens;
        var expected = model.PredictProbabilities(probe);
        var actual = loaded.PredictProbabilities(probe);
        for (var i = 0; i < probe.Count; i++)
        {
            for (var c = 0; c < 2; c++)
                Assert.True(expected[i][c] == actual[i][c], $"row {i} class {c}: {expected[i][c]:R} in memory, {actual[i][c]:R} loaded");
        }
    }

    [Theory]
    [InlineData(RecurrentCell.Rnn, false, 1)]
    [InlineData(RecurrentCell.Lstm, false, 2)]
    [InlineData(RecurrentCell.Gru, false, 1)]
    [InlineData(RecurrentCell.Rnn, true, 1)]
    [InlineData(RecurrentCell.Lstm, true, 2)]
    [InlineData(RecurrentCell.Gru, true, 2)]
    public void A_padded_batch_gives_each_row_what_it_gives_alone(RecurrentCell cell, bool bidirectional, int layers)
    {
        var options = new SequenceModelOptions { Cell = cell, HiddenSize = 12, EmbeddingSize = 6, Layers = layers, Bidirectional = bidirectional };
        // One epoch moves the weights away from their symmetric start, so the comparison sees a real function.
        using var model = new SequenceClassifierTrainer(options, Quick(1)).Fit(Toy(64, 5), Vocabulary);
        // Lengths 1..12 in mixed order: rows get up to 11 padding steps in the batch.
        var rows = Toy(30, 6).Tokens.Select((r, i) => i % 5 == 0 ? r.Take(1).ToArray() : r).ToArray();
        var together = model.PredictProbabilities(rows);
        for (var i = 0; i < rows.Length; i++)
        {
            var alone = model.PredictProbabilities([rows[i]])[0];
            for (var c = 0; c < 2; c++)
            {
                var error = Math.Abs(together[i][c] - alone[c]);
                Assert.True(error <= 1e-5, $"row {i} (length {rows[i].Length}) class {c}: batch {together[i][c]:R}, alone {alone[c]:R}");
            }
        }
    }

    [Fact]
    public void The_recurrent_models_learn_the_toy_task()
    {
        using var model = new SequenceClassifierTrainer(new SequenceModelOptions { Cell = RecurrentCell.Gru, HiddenSize = 16, EmbeddingSize = 8 }, Quick(6)).Fit(Toy(400, 7), Vocabulary);
        var test = Toy(200, 8);
        var probs = model.PredictProbabilities(test.Tokens);
        var correct = Enumerable.Range(0, test.Count).Count(i => (probs[i][1] > 0.5 ? 1 : 0) == test.Labels[i]);
        Assert.True(correct >= 170, $"{correct}/200 correct");
    }

    [Fact]
    public void An_interrupted_lstm_run_resumed_from_its_checkpoint_ends_bit_identical()
    {
        var train = Toy(160, 9);
        var model = new SequenceModelOptions { Cell = RecurrentCell.Lstm, HiddenSize = 12, EmbeddingSize = 8, Dropout = 0.2, Layers = 2 };
        var options = Quick(3) with { EarlyStoppingPatience = 5, CheckpointDirectory = _temp.Combine("a") };
        using var a = new SequenceClassifierTrainer(model, options).Fit(train, Vocabulary);

        var optionsB = options with { CheckpointDirectory = _temp.Combine("b") };
        using var cancel = new CancellationTokenSource();
        var interrupted = new SequenceClassifierTrainer(model, optionsB) { EpochEnded = m => { if (m.Epoch == 1) cancel.Cancel(); } };
        Assert.ThrowsAny<OperationCanceledException>(() => interrupted.Fit(train, Vocabulary, cancellationToken: cancel.Token));
        Assert.Equal(1, Checkpoint.Read(Checkpoint.Find(optionsB.CheckpointDirectory!)!).CompletedEpochs);

        var resumed = new List<int>();
        using var b = new SequenceClassifierTrainer(model, optionsB with { Resume = true }) { EpochEnded = m => resumed.Add(m.Epoch) }.Fit(train, Vocabulary);
        Assert.Equal([2, 3], resumed);
        for (var e = 0; e < 3; e++)
        {
            var (x, y) = (a.History[e], b.History[e]);
            Assert.Equal((x.TrainLoss, x.TrainAccuracy, x.ValidationLoss, x.ValidationAccuracy), (y.TrainLoss, y.TrainAccuracy, y.ValidationLoss, y.ValidationAccuracy));
        }
        var wa = a.Network.state_dict();
        var wb = b.Network.state_dict();
        Assert.Equal(wa.Keys.Order(StringComparer.Ordinal), wb.Keys.Order(StringComparer.Ordinal));
        foreach (var (name, t) in wa)
            Assert.True(t.bytes.SequenceEqual(wb[name].bytes), $"{name} differs after resume");
    }

    [Fact]
    public void Resuming_with_other_model_options_is_refused()
    {
        var train = Toy(60, 10);
        var options = Quick(1) with { CheckpointDirectory = _temp.Combine("ck") };
        var model = new SequenceModelOptions { Cell = RecurrentCell.Gru, HiddenSize = 8, EmbeddingSize = 4 };
        using (new SequenceClassifierTrainer(model, options).Fit(train, Vocabulary))
        {
        }
        var e = Assert.Throws<UsageException>(() => new SequenceClassifierTrainer(model with { HiddenSize = 9 }, options with { Resume = true }).Fit(train, Vocabulary));
        Assert.Contains("other model or training options", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Options_report_every_problem_at_once()
    {
        var e = Assert.Throws<OptionsException>(() => new SequenceModelOptions { HiddenSize = 0, Layers = 0, Dropout = 1, EmbeddingSize = -1 }.Validate());
        Assert.Equal(["hiddenSize", "layers", "dropout", "embeddingSize"], e.Problems.Select(p => p.Option));
        Assert.Empty(new SequenceModelOptions().FindProblems());
        var bad = Assert.Throws<OptionsException>(() => new AddingProblemOptions { Length = 1, MaxSteps = 0, LearningRate = 0 }.Validate());
        Assert.Equal(["length", "maxSteps", "learningRate"], bad.Problems.Select(p => p.Option));
    }

    [Fact]
    public void Cell_names_parse_and_a_typo_gets_a_suggestion()
    {
        Assert.Equal(RecurrentCell.Gru, SequenceModelOptions.ParseCell(" GRU "));
        Assert.Equal(RecurrentCell.Rnn, SequenceModelOptions.ParseCell("rnn"));
        var e = Assert.Throws<UsageException>(() => SequenceModelOptions.ParseCell("lstn"));
        Assert.Contains("did you mean 'lstm'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_option_is_in_the_hyperparameters_and_image_only_ones_are_not()
    {
        var map = SequenceClassifierTrainer.Hyperparameters(new SequenceModelOptions { Cell = RecurrentCell.Gru, Bidirectional = true }, new TrainerOptions { ClipGradNorm = 2 });
        Assert.Equal("gru", map["model.cell"]);
        Assert.Equal("true", map["model.bidirectional"]);
        Assert.Equal("128", map["model.hiddenSize"]);
        Assert.Equal("2", map["clipGradNorm"]);
        Assert.DoesNotContain(map.Keys, k => k.StartsWith("augment", StringComparison.Ordinal));
    }

    [Fact]
    public void The_lstm_learns_a_short_adding_problem_and_reports_its_gradient_profile()
    {
        var options = new AddingProblemOptions { Cell = RecurrentCell.Lstm, Length = 10, MaxSteps = 400, HiddenSize = 32, LearningRate = 3e-3, TestSize = 200, Threads = 1, TargetMse = 0 };
        var r = AddingProblem.Run(options);
        Assert.Equal(4, r.Curve.Count);
        Assert.Equal([100L, 200, 300, 400], r.Curve.Select(p => p.Step));
        Assert.Equal(400, r.Steps);
        // The constant answer scores ~0.167; learning the sum takes the test error well below it.
        Assert.True(r.FinalMse < 0.05, $"test MSE {r.FinalMse} after 400 steps");
        Assert.True(r.FinalMse < r.Curve[0].TestMse, "the test MSE fell");
        Assert.Equal(10, r.ProfileAtInit.Length);
        Assert.Equal(10, r.ProfileAfter.Length);
        Assert.All(r.ProfileAtInit.Concat(r.ProfileAfter), g => Assert.True(g > 0 && double.IsFinite(g)));
        // At initialisation the gradient shrinks going back through time.
        Assert.True(r.DecayRatioAtInit > 1, $"decay ratio at init {r.DecayRatioAtInit}");
    }

    [Fact]
    public void The_adding_problem_stops_at_the_target_and_its_data_follow_the_seed()
    {
        var options = new AddingProblemOptions { Cell = RecurrentCell.Gru, Length = 6, MaxSteps = 1000, HiddenSize = 16, LearningRate = 1e-2, EvaluateEvery = 50, TestSize = 100, Threads = 1, TargetMse = 0.05, ProfileBatches = 2 };
        var r = AddingProblem.Run(options);
        Assert.True(r.Reached is not null, $"final MSE {r.FinalMse}");
        Assert.Equal(r.Reached!.Step, r.Steps);
        Assert.True(r.Steps < 1000);
        var again = AddingProblem.Run(options);
        Assert.Equal(r.Curve.Select(p => p.TestMse), again.Curve.Select(p => p.TestMse));

        using var g = new torch.Generator(7);
        var (x, y) = AddingProblem.Batch(50, 8, g);
        var xs = x.data<float>().ToArray();
        var ys = y.data<float>().ToArray();
        for (var i = 0; i < 50; i++)
        {
            var markedFirst = Enumerable.Range(0, 4).Where(t => xs[(i * 16) + (t * 2) + 1] == 1).ToArray();
            var markedSecond = Enumerable.Range(4, 4).Where(t => xs[(i * 16) + (t * 2) + 1] == 1).ToArray();
            Assert.Single(markedFirst);
            Assert.Single(markedSecond);
            var sum = xs[(i * 16) + (markedFirst[0] * 2)] + xs[(i * 16) + (markedSecond[0] * 2)];
            Assert.InRange(ys[i] - sum, -1e-6, 1e-6);
        }
    }
}
