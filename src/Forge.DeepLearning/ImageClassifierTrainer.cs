using System.Diagnostics;
using Forge.Core;
using Forge.Data;
using Forge.DeepLearning.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Forge.DeepLearning;

/// <summary>Where a training run is: reported every few steps and at the end of each epoch.</summary>
/// <param name="Epoch">1-based epoch being trained.</param>
/// <param name="Epochs">Epochs planned.</param>
/// <param name="Step">Steps done in this epoch.</param>
/// <param name="StepsPerEpoch">Steps in an epoch.</param>
/// <param name="Loss">Mean training loss so far this epoch.</param>
/// <param name="Accuracy">Training accuracy so far this epoch (0–1).</param>
/// <param name="Completed">Set once the epoch has finished and been validated.</param>
public sealed record TrainingProgress(int Epoch, int Epochs, long Step, long StepsPerEpoch, double Loss, double Accuracy, EpochMetrics? Completed)
{
    /// <summary>The finished epoch's mean gradient norm per layer, when gradients are diagnosed.</summary>
    public IReadOnlyDictionary<string, double>? GradientNorms { get; init; }
}

/// <summary>Trains an image classifier (MLP or CNN) on an <see cref="ImageSet"/>: options in, a <see cref="ImageClassifier"/> out.</summary>
public sealed class ImageClassifierTrainer
{
    private readonly ModelSpec _spec;
    private readonly TrainerOptions _o;

    /// <summary>Creates a trainer for the given architecture and options (both validated here).</summary>
    public ImageClassifierTrainer(ModelSpec spec, TrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(options);
        spec.Validate();
        options.Validate();
        _spec = spec;
        _o = options;
    }

    /// <summary>Called after each epoch with its metrics and a view of the model as it stands (valid only during the call; do not dispose it). Benchmarks use it to track test accuracy per epoch; training never looks at what it does.</summary>
    public Action<EpochMetrics, ImageClassifier>? EpochEnded { get; init; }

    /// <summary>Trains on <paramref name="train"/>, holding out the configured validation share, and returns the trained model.</summary>
    public ImageClassifier Fit(ImageSet train, IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(train);
        if (train.Count < 2) throw new UsageException("training needs at least 2 images");
        TorchRuntime.SetThreads(_o.Threads);
        torch.manual_seed(_o.Seed);

        var (trainIdx, valIdx) = StratifiedSplit(train.Labels, train.ClassCount, _o.ValidationFraction, _o.Seed);
        var norm = ImageNormalization.Measure(train.Pixels, trainIdx, train.Height * train.Width);

        using var scope = NewDisposeScope();
        var xTrain = ImageTensors.Pixels(train, trainIdx);
        var yTrain = ImageTensors.Labels(train, trainIdx);
        var xVal = valIdx.Length > 0 ? norm.Apply(ImageTensors.Pixels(train, valIdx)) : null;
        var yVal = valIdx.Length > 0 ? ImageTensors.Labels(train, valIdx) : null;

        var module = Networks.Build(_spec, 1, train.Height, train.Width, train.ClassCount);
        var nll = Networks.OutputsLogProbabilities(_spec);
        using var optimizer = TrainingPieces.CreateOptimizer(module, _o);
        long n = trainIdx.Length;
        var stepsPerEpoch = (n + _o.BatchSize - 1) / _o.BatchSize;
        var schedule = new LearningRateSchedule(_o, stepsPerEpoch);
        var state = new LoopState { Module = module };
        using var seeding = new EpochSeeding(_o.Seed);
        using var standard = new StandardCallbacks(_o, module, optimizer, schedule, Checkpoint.Fingerprint(_spec, _o),
            () => Networks.Build(_spec, 1, train.Height, train.Width, train.ClassCount), progress, stepsPerEpoch, (s, metrics, norms) =>
            {
                if (EpochEnded is not { } callback) return;
                var view = new ImageClassifier(_spec, module, norm, train.Height, train.Width, train.ClassNames, s.History, norms.PerEpoch, s.TrainSeconds, ownsModule: false);
                callback(metrics, view);
            });
        standard.ResumeIfAsked(state);
        new TrainingLoop
        {
            Module = module,
            Forward = module.call,
            Loss = nll ? (output, target) => nn.functional.nll_loss(output, target) : (output, target) => nn.functional.cross_entropy(output, target),
            Optimizer = optimizer,
            Schedule = schedule,
            Epochs = _o.Epochs,
            BeginEpoch = seeding.Begin,
            Batches = _ => Batches(xTrain, yTrain, norm, seeding.Generator),
            Validate = () => xVal is not null && yVal is not null ? Evaluate(module, xVal, yVal, nll) : null,
            Callbacks = standard.All,
            Cancellation = cancellationToken,
        }.Run(state);

        TrainingPieces.KeepTrained(scope, module);
        return new ImageClassifier(_spec, module, norm, train.Height, train.Width, train.ClassNames, state.History, standard.GradientNorms.PerEpoch, state.TrainSeconds);
    }

    // One epoch's batches: a permutation from the epoch's generator, each batch augmented (same generator) and normalised.
    private IEnumerable<TrainingBatch> Batches(Tensor xTrain, Tensor yTrain, ImageNormalization norm, Generator generator)
    {
        var n = xTrain.shape[0];
        // Drawn inside the first step's dispose scope, but used by every step: owned here until the epoch ends.
        using var perm = torch.randperm(n, generator: generator).DetachFromDisposeScope();
        for (long start = 0; start < n; start += _o.BatchSize)
        {
            var len = Math.Min(_o.BatchSize, n - start);
            if (len < 2 && _spec.BatchNorm) yield break; // batch norm cannot train on a single image
            var idx = perm.narrow(0, start, len);
            var xb = xTrain.index_select(0, idx);
            var yb = yTrain.index_select(0, idx);
            if (_o.Augment) xb = ImageTensors.RandomAffine(xb, _o.AugmentShift, _o.AugmentRotation, generator);
            yield return new TrainingBatch(norm.Apply(xb), yb, len);
        }
    }

    /// <summary>Mean loss and accuracy over a tensor set, in eval mode, in chunks that bound memory.</summary>
    internal static (double Loss, double Accuracy) Evaluate(Module<Tensor, Tensor> module, Tensor x, Tensor y, bool nll)
    {
        module.eval();
        using var noGrad = torch.no_grad();
        double loss = 0;
        long correct = 0;
        var n = x.shape[0];
        for (long s = 0; s < n; s += ImageClassifier.InferenceBatch)
        {
            using var scope = NewDisposeScope();
            var len = Math.Min(ImageClassifier.InferenceBatch, n - s);
            var xb = x.narrow(0, s, len);
            var yb = y.narrow(0, s, len);
            var output = module.call(xb);
            var l = nll ? nn.functional.nll_loss(output, yb) : nn.functional.cross_entropy(output, yb);
            loss += l.item<float>() * len;
            correct += output.argmax(1).eq(yb).sum().item<long>();
        }
        return (loss / n, (double)correct / n);
    }

    /// <summary>Splits indices into train and validation parts with each class's share kept.</summary>
    internal static (int[] Train, int[] Validation) StratifiedSplit(byte[] labels, int classes, double fraction, int seed) =>
        DataSplits.Stratified(Array.ConvertAll(labels, b => (int)b), classes, fraction, seed);
}
