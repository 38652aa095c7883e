using System.Diagnostics;
using Forge.Core;
using Forge.Data;
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
        using var optimizer = CreateOptimizer(module);
        long n = trainIdx.Length;
        var stepsPerEpoch = (n + _o.BatchSize - 1) / _o.BatchSize;
        var schedule = new LearningRateSchedule(_o, stepsPerEpoch);

        var history = new List<EpochMetrics>();
        var gradNorms = new List<Dictionary<string, double>>();
        var startEpoch = 0;
        long globalStep = 0;
        double trainSeconds = 0, bestAcc = double.NegativeInfinity;
        var sinceBest = 0;
        Dictionary<string, Tensor>? best = null;
        var fingerprint = Checkpoint.Fingerprint(_spec, _o);

        if (_o.Resume && _o.CheckpointDirectory is { } ckRoot)
        {
            // A silent fresh start would hide a mistyped folder; say so instead.
            var ckDir = Checkpoint.Find(ckRoot)
                ?? throw new UsageException($"{ckRoot}: no checkpoint to resume from; run without --resume to start afresh");
            var state = Checkpoint.Read(ckDir);
            if (state.OptionsFingerprint != fingerprint)
                throw new UsageException($"{ckDir}: the checkpoint was written with other model or training options; resume with the same options or delete the checkpoint folder");
            Checkpoint.LoadFile(Path.Combine(ckDir, "model.dat"), f => module.load(f));
            Checkpoint.LoadFile(Path.Combine(ckDir, "optimizer.dat"), optimizer.load_state_dict);
            if (state.HasBest)
            {
                using var bestModule = Networks.Build(_spec, 1, train.Height, train.Width, train.ClassCount);
                Checkpoint.LoadFile(Path.Combine(ckDir, "best.dat"), f => bestModule.load(f));
                best = Snapshot(bestModule);
            }
            startEpoch = state.CompletedEpochs;
            globalStep = state.GlobalStep;
            history.AddRange(state.History);
            gradNorms.AddRange(state.GradientNorms);
            schedule.PlateauRate = state.PlateauRate;
            schedule.PlateauBest = state.PlateauBest;
            schedule.PlateauWait = state.PlateauWait;
            bestAcc = state.BestValidationAccuracy;
            sinceBest = state.EpochsWithoutImprovement;
            trainSeconds = state.TrainSeconds;
        }

        var stopped = _o.EarlyStoppingPatience > 0 && sinceBest >= _o.EarlyStoppingPatience;
        for (var epoch = startEpoch; epoch < _o.Epochs && !stopped; epoch++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            // Seeding from (seed, epoch) makes each epoch's shuffle, augmentation and dropout independent of
            // what ran before, so a resumed run retraces an uninterrupted one exactly.
            var epochSeed = EpochSeed(_o.Seed, epoch);
            torch.manual_seed(epochSeed);
            using var gen = new Generator((ulong)epochSeed + 1);
            module.train();
            var perm = torch.randperm(n, generator: gen);
            double lossSum = 0;
            long correct = 0, seen = 0, step = 0;
            var layerSq = new Dictionary<string, double>(StringComparer.Ordinal);
            var sw = Stopwatch.StartNew();
            for (long start = 0; start < n; start += _o.BatchSize)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var len = Math.Min(_o.BatchSize, n - start);
                if (len < 2 && _spec.BatchNorm) break; // batch norm cannot train on a single image
                using var stepScope = NewDisposeScope();
                var idx = perm.narrow(0, start, len);
                var xb = xTrain.index_select(0, idx);
                var yb = yTrain.index_select(0, idx);
                if (_o.Augment) xb = ImageTensors.RandomAffine(xb, _o.AugmentShift, _o.AugmentRotation, gen);
                xb = norm.Apply(xb);
                var lr = schedule.At(globalStep, epoch);
                foreach (var g in optimizer.ParamGroups) g.LearningRate = lr;
                optimizer.zero_grad();
                var output = module.call(xb);
                var loss = nll ? nn.functional.nll_loss(output, yb) : nn.functional.cross_entropy(output, yb);
                loss.backward();
                if (_o.DiagnoseGradients) AccumulateGradNorms(module, layerSq);
                if (_o.ClipGradNorm > 0) nn.utils.clip_grad_norm_(module.parameters(), _o.ClipGradNorm);
                optimizer.step();
                lossSum += loss.item<float>() * len;
                correct += output.argmax(1).eq(yb).sum().item<long>();
                seen += len;
                step++;
                globalStep++;
                if (progress is not null && (step % 20 == 0 || start + len >= n))
                    progress.Report(new TrainingProgress(epoch + 1, _o.Epochs, step, stepsPerEpoch, lossSum / seen, (double)correct / seen, null));
            }
            sw.Stop();
            trainSeconds += sw.Elapsed.TotalSeconds;

            double? valLoss = null, valAcc = null;
            if (xVal is not null && yVal is not null)
            {
                var (l, a) = Evaluate(module, xVal, yVal, nll);
                valLoss = l;
                valAcc = a;
            }
            schedule.EndEpoch(valAcc);
            var metrics = new EpochMetrics(epoch + 1, lossSum / Math.Max(1, seen), (double)correct / Math.Max(1, seen), valLoss, valAcc,
                schedule.At(Math.Max(0, globalStep - 1), epoch), sw.Elapsed.TotalSeconds);
            history.Add(metrics);
            if (_o.DiagnoseGradients)
                gradNorms.Add(layerSq.ToDictionary(kv => kv.Key, kv => Math.Sqrt(kv.Value / Math.Max(1, step)), StringComparer.Ordinal));

            if (_o.EarlyStoppingPatience > 0 && valAcc is { } acc)
            {
                if (acc > bestAcc)
                {
                    bestAcc = acc;
                    sinceBest = 0;
                    DisposeAll(best);
                    best = Snapshot(module);
                }
                else if (++sinceBest >= _o.EarlyStoppingPatience)
                {
                    stopped = true;
                }
            }

            if (_o.CheckpointDirectory is { } root)
            {
                var state = new CheckpointState
                {
                    CompletedEpochs = epoch + 1,
                    GlobalStep = globalStep,
                    OptionsFingerprint = fingerprint,
                    History = history,
                    GradientNorms = gradNorms,
                    PlateauRate = schedule.PlateauRate,
                    PlateauBest = schedule.PlateauBest,
                    PlateauWait = schedule.PlateauWait,
                    BestValidationAccuracy = bestAcc,
                    EpochsWithoutImprovement = sinceBest,
                    HasBest = best is not null,
                    RngState = Convert.ToBase64String(RngState()),
                    TrainSeconds = trainSeconds,
                };
                var bestCopy = best;
                Checkpoint.Write(root, state, dir =>
                {
                    module.save(Path.Combine(dir, "model.dat"));
                    optimizer.save_state_dict(Path.Combine(dir, "optimizer.dat"));
                    if (bestCopy is not null)
                    {
                        using var tmp = Networks.Build(_spec, 1, train.Height, train.Width, train.ClassCount);
                        Restore(tmp, bestCopy);
                        tmp.save(Path.Combine(dir, "best.dat"));
                    }
                });
            }
            progress?.Report(new TrainingProgress(epoch + 1, _o.Epochs, stepsPerEpoch, stepsPerEpoch, metrics.TrainLoss, metrics.TrainAccuracy, metrics)
            {
                GradientNorms = _o.DiagnoseGradients ? gradNorms[^1] : null,
            });
            if (EpochEnded is { } callback)
            {
                var view = new ImageClassifier(_spec, module, norm, train.Height, train.Width, train.ClassNames, history, gradNorms, trainSeconds, ownsModule: false);
                callback(metrics, view);
            }
        }

        if (best is not null)
        {
            Restore(module, best);
            DisposeAll(best);
        }
        module.eval();
        scope.MoveToOuter(module.parameters().Cast<Tensor>());
        scope.MoveToOuter(module.buffers());
        return new ImageClassifier(_spec, module, norm, train.Height, train.Width, train.ClassNames, history, gradNorms, trainSeconds);
    }

    private static long EpochSeed(int seed, int epoch) => (long)seed * 1_000_003L + epoch * 7919L + 17;

    private static byte[] RngState()
    {
        using var state = torch.get_rng_state();
        return state.bytes.ToArray();
    }

    private OptimizerHelper CreateOptimizer(Module<Tensor, Tensor> module)
    {
        var p = module.parameters();
        return _o.Optimizer switch
        {
            "sgd" => optim.SGD(p, _o.LearningRate, _o.Momentum, 0, _o.WeightDecay, _o.Nesterov),
            "adam" => optim.Adam(p, _o.LearningRate, weight_decay: _o.WeightDecay),
            "adadelta" => optim.Adadelta(p, _o.LearningRate, weight_decay: _o.WeightDecay),
            _ => optim.AdamW(p, _o.LearningRate, weight_decay: _o.WeightDecay),
        };
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

    private static void AccumulateGradNorms(Module<Tensor, Tensor> module, Dictionary<string, double> sq)
    {
        foreach (var (name, p) in module.named_parameters())
        {
            if (p.grad is not { } g) continue;
            var layer = name.Contains('.', StringComparison.Ordinal) ? name[..name.LastIndexOf('.')] : name;
            using var square = g.square();
            using var total = square.sum();
            var v = total.item<float>();
            sq[layer] = sq.GetValueOrDefault(layer) + v;
        }
    }

    private static Dictionary<string, Tensor> Snapshot(Module<Tensor, Tensor> module)
    {
        var copy = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (k, v) in module.state_dict()) copy[k] = v.detach().clone().MoveToOuterDisposeScope();
        return copy;
    }

    private static void Restore(Module<Tensor, Tensor> module, Dictionary<string, Tensor> state)
    {
        using var noGrad = torch.no_grad();
        foreach (var (k, v) in module.state_dict()) v.copy_(state[k]);
    }

    private static void DisposeAll(Dictionary<string, Tensor>? state)
    {
        if (state is null) return;
        foreach (var t in state.Values) t.Dispose();
    }

    /// <summary>Splits indices into train and validation parts with each class's share kept.</summary>
    internal static (int[] Train, int[] Validation) StratifiedSplit(byte[] labels, int classes, double fraction, int seed) =>
        DataSplits.Stratified(Array.ConvertAll(labels, b => (int)b), classes, fraction, seed);
}
