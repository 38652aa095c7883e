using System.Text.Json;
using Forge.Core;
using Forge.Data;
using Forge.DeepLearning.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Forge.DeepLearning;

/// <summary>
/// Trains a recurrent classifier on token sequences through the one training loop: options in, a
/// <see cref="SequenceClassifier"/> out. Early stopping, checkpoints and bit-exact resume, learning-rate schedules and
/// gradient clipping are the loop's shared callbacks, configured by <see cref="TrainerOptions"/> (augmentation does not
/// apply to sequences and is ignored).
/// </summary>
public sealed class SequenceClassifierTrainer
{
    private readonly SequenceModelOptions _model;
    private readonly TrainerOptions _o;

    /// <summary>Creates a trainer (both option sets validated here, every problem reported at once).</summary>
    public SequenceClassifierTrainer(SequenceModelOptions model, TrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        OptionsException.ThrowIfAny([.. model.FindProblems(), .. options.FindProblems()]);
        _model = model;
        _o = options;
    }

    /// <summary>Called after each epoch with its metrics (tests interrupt a run from here).</summary>
    public Action<EpochMetrics>? EpochEnded { get; init; }

    /// <summary>Every hyperparameter of a sequence run, as its manifest and tracked run record them (image-only options left out).</summary>
    public static Dictionary<string, string> Hyperparameters(SequenceModelOptions model, TrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (k, v) in options.ToDictionary())
        {
            if (!k.StartsWith("augment", StringComparison.Ordinal)) map[k] = v;
        }
        foreach (var (k, v) in model.ToDictionary()) map["model." + k] = v;
        return map;
    }

    /// <summary>Trains on <paramref name="train"/> (token ids below <paramref name="vocabularySize"/>), holding out the configured validation share.</summary>
    public SequenceClassifier Fit(SequenceSet train, int vocabularySize, IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(train);
        if (train.Count < 2) throw new UsageException("training needs at least 2 sequences");
        if (vocabularySize < 2) throw new UsageException($"the vocabulary needs at least 2 entries (padding and one token), got {vocabularySize}");
        foreach (var row in train.Tokens)
        {
            foreach (var id in row)
            {
                if (id < 1 || id >= vocabularySize) throw new UsageException($"token id {id} is outside 1..{vocabularySize - 1} (0 is padding)");
            }
        }
        TorchRuntime.SetThreads(_o.Threads);
        torch.manual_seed(_o.Seed);
        var classes = train.ClassNames.Count;
        var (trainIdx, valIdx) = DataSplits.Stratified(train.Labels, classes, _o.ValidationFraction, _o.Seed);
        var fit = train.Select(trainIdx);
        var held = valIdx.Length > 0 ? train.Select(valIdx) : null;

        using var scope = NewDisposeScope();
        var network = new SequenceNetwork(_model, vocabularySize, 0, classes);
        var yTrain = torch.tensor(fit.Labels.Select(l => (long)l).ToArray());
        using var optimizer = TrainingPieces.CreateOptimizer(network, _o);
        long n = fit.Count;
        var stepsPerEpoch = (n + _o.BatchSize - 1) / _o.BatchSize;
        var schedule = new LearningRateSchedule(_o, stepsPerEpoch);
        var state = new LoopState { Module = network };
        using var seeding = new EpochSeeding(_o.Seed);
        using var standard = new StandardCallbacks(_o, network, optimizer, schedule, Fingerprint(_model, _o, vocabularySize, classes),
            () => new SequenceNetwork(_model, vocabularySize, 0, classes), progress, stepsPerEpoch, (_, metrics, _) => EpochEnded?.Invoke(metrics));
        standard.ResumeIfAsked(state);
        new TrainingLoop
        {
            Module = network,
            Forward = network.call,
            ForwardPadded = network.Forward,
            Loss = (output, target) => nn.functional.cross_entropy(output, target),
            Optimizer = optimizer,
            Schedule = schedule,
            Epochs = _o.Epochs,
            BeginEpoch = seeding.Begin,
            Batches = _ => Batches(fit, yTrain, seeding.Generator),
            Validate = () => held is not null ? Evaluate(network, held) : null,
            Callbacks = standard.All,
            Cancellation = cancellationToken,
        }.Run(state);

        TrainingPieces.KeepTrained(scope, network);
        return new SequenceClassifier(network, train.ClassNames, state.History, standard.GradientNorms.PerEpoch, state.TrainSeconds);
    }

    private IEnumerable<TrainingBatch> Batches(SequenceSet fit, Tensor yTrain, Generator generator)
    {
        var n = fit.Count;
        long[] order;
        using (var perm = torch.randperm(n, generator: generator)) order = perm.data<long>().ToArray();
        for (var start = 0; start < n; start += _o.BatchSize)
        {
            var len = Math.Min(_o.BatchSize, n - start);
            var rows = order.AsSpan(start, len);
            var (ids, lengths) = SequenceBatches.Pad(fit.Tokens, rows);
            using var index = torch.tensor(rows.ToArray());
            yield return new TrainingBatch(ids, yTrain.index_select(0, index), len, lengths);
        }
    }

    /// <summary>Mean cross-entropy and accuracy over a labelled set, in eval mode.</summary>
    internal static (double Loss, double Accuracy) Evaluate(SequenceNetwork network, SequenceSet set)
    {
        network.eval();
        using var noGrad = torch.no_grad();
        double loss = 0;
        long correct = 0;
        var all = Enumerable.Range(0, set.Count).Select(i => (long)i).ToArray();
        for (var s = 0; s < set.Count; s += SequenceClassifier.InferenceBatch)
        {
            using var scope = NewDisposeScope();
            var len = Math.Min(SequenceClassifier.InferenceBatch, set.Count - s);
            var (ids, lengths) = SequenceBatches.Pad(set.Tokens, all.AsSpan(s, len));
            var y = torch.tensor(set.Labels.Skip(s).Take(len).Select(l => (long)l).ToArray());
            var output = network.Forward(ids, lengths);
            loss += nn.functional.cross_entropy(output, y).item<float>() * len;
            correct += output.argmax(1).eq(y).sum().item<long>();
        }
        return (loss / set.Count, (double)correct / set.Count);
    }

    /// <summary>The options that must match for a resume to continue the same run.</summary>
    internal static string Fingerprint(SequenceModelOptions model, TrainerOptions o, int vocabularySize, int classes) =>
        JsonSerializer.Serialize(new
        {
            model = model.ToDictionary(),
            o = o.ToDictionary().Where(kv => kv.Key is not ("checkpointDirectory" or "resume" or "threads")).ToDictionary(kv => kv.Key, kv => kv.Value),
            vocabularySize,
            classes,
        });
}
