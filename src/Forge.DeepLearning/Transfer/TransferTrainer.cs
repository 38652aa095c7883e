using System.Diagnostics;
using Forge.Core;
using Forge.Data;
using TorchSharp;
using Forge.DeepLearning.Training;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Forge.DeepLearning.Transfer;

/// <summary>Where a transfer-learning run is: a phase name and how far through it.</summary>
public sealed record TransferProgress(string Phase, int Done, int Total);

/// <summary>
/// Trains a <see cref="TransferNetwork"/> in one of three modes that share one code path: feature extraction (frozen backbone,
/// cached features, head only), fine-tuning (head warm-up, then the last stages unfrozen at a lower rate) and training from scratch.
/// </summary>
public sealed class TransferTrainer
{
    private const int EvalBatch = 32;
    private readonly TransferOptions _o;
    private readonly string _backbone;
    private CancellationToken _cancel;

    /// <summary>Creates a trainer for a backbone (e.g. resnet18).</summary>
    public TransferTrainer(TransferOptions options, string backbone = "resnet18")
    {
        ArgumentNullException.ThrowIfNull(options);
        _o = options;
        _backbone = backbone;
        options.Validate();
    }

    /// <summary>Raised after every epoch (head epochs included) with its metrics.</summary>
    public event Action<EpochMetrics>? EpochEnded;

    /// <summary>Reports progress through long phases (feature caching, training epochs).</summary>
    public IProgress<TransferProgress>? Progress { get; init; }

    /// <summary>Trains on <paramref name="train"/> (decoded at <see cref="TransferOptions.StoreSize"/>) and returns the model.</summary>
    public TransferClassifier Train(RgbImageSet train, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(train);
        if (train.Size != _o.StoreSize) throw new ArgumentException($"images are {train.Size} px; the options expect {_o.StoreSize}", nameof(train));
        _cancel = cancellationToken;
        if (_o.Threads > 0) TorchRuntime.SetThreads(_o.Threads);
        torch.random.manual_seed(_o.Seed);
        var rng = new Random(_o.Seed);
        var (trainIdx, valIdx) = DataSplits.Stratified(train.Labels, train.ClassNames.Count, _o.ValidationFraction, _o.Seed);
        var net = TransferNetwork.Create(_backbone, train.ClassNames.Count, _o.HeadDropout);
        var history = new List<EpochMetrics>();
        var clock = Stopwatch.StartNew();
        try
        {
            if (_o.Mode == TransferMode.Scratch) net.Reinitialize(_o.Seed);
            if (_o.Mode != TransferMode.Scratch)
            {
                net.Freeze(0);
                var views = _o.Mode == TransferMode.FeatureExtraction ? 1 + _o.FeatureViews : 1;
                var (x, y) = CacheFeatures(net, train, trainIdx, views, rng);
                var (vx, vy) = valIdx.Length > 0 ? CacheFeatures(net, train, valIdx, 1, rng) : (null, null);
                using (x)
                using (y)
                using (vx)
                using (vy)
                {
                    var epochs = _o.Mode == TransferMode.FeatureExtraction ? _o.Epochs : _o.HeadWarmupEpochs;
                    TrainHead(net, x, y, vx, vy, epochs, history, rng);
                }
            }
            // The model returned is the best epoch of the last phase, so its validation score comes from that phase alone: a
            // head warm-up that scored higher must not stand in for a fine-tuned network it is not.
            var finalPhase = _o.Mode == TransferMode.FeatureExtraction ? 0 : history.Count;
            if (_o.Mode != TransferMode.FeatureExtraction)
            {
                net.Freeze(_o.Mode == TransferMode.Scratch ? net.StageCount : _o.Unfreeze);
                net.Backbone.KeepBatchNormStatistics = _o.Mode == TransferMode.FineTune && _o.FreezeBatchNormStatistics;
                TrainEndToEnd(net, train, trainIdx, valIdx, history, rng);
            }
            net.eval();
            // With a moving average the model is the last epoch's average, so its score is that epoch's.
            var score = _o.EmaDecay > 0 && _o.Mode != TransferMode.FeatureExtraction ? history.LastOrDefault()?.ValidationAccuracy : BestValidation(history.Skip(finalPhase));
            return new TransferClassifier(net, train.ClassNames, _o, history, clock.Elapsed.TotalSeconds, trainIdx.Length, valIdx.Length, score);
        }
        catch
        {
            net.Dispose();
            throw;
        }
    }

    private static double? BestValidation(IEnumerable<EpochMetrics> history) =>
        history.Where(h => h.ValidationAccuracy is not null).Select(h => h.ValidationAccuracy).Max();

    /// <summary>Backbone features of <paramref name="views"/> views per image (the first the plain centre view, the rest augmented).</summary>
    private (Tensor X, Tensor Y) CacheFeatures(TransferNetwork net, RgbImageSet images, int[] indices, int views, Random rng)
    {
        net.eval();
        var perView = (indices.Length + EvalBatch - 1) / EvalBatch;
        var total = indices.Length * views;
        // Each batch gets its own seed, drawn here in order, so the cached views do not depend on thread timing.
        var seeds = Enumerable.Range(0, perView * views).Select(_ => rng.Next()).ToArray();
        var done = 0;
        var parts = ParallelInference.Run(perView * views, b =>
        {
            _cancel.ThrowIfCancellationRequested();
            var v = b / perView;
            var s = (b % perView) * EvalBatch;
            var len = Math.Min(EvalBatch, indices.Length - s);
            using var scope = NewDisposeScope();
            var batch = RgbViews.Batch(images, indices.AsSpan(s, len), _o.ImageSize, v == 0 ? RgbAugmentation.None : _o.Augmentation, new Random(seeds[b]));
            return net.Features(batch).MoveToOuterDisposeScope();
        }, _o.InferenceStreams, b =>
        {
            done += Math.Min(EvalBatch, indices.Length - ((b % perView) * EvalBatch));
            Progress?.Report(new TransferProgress("caching backbone features", done, total));
        });
        var x = torch.cat(parts, 0);
        foreach (var p in parts) p.Dispose();
        var labels = new long[total];
        for (var v = 0; v < views; v++)
            for (var i = 0; i < indices.Length; i++) labels[(v * indices.Length) + i] = images.Labels[indices[i]];
        return (x, torch.tensor(labels));
    }

    private void TrainHead(TransferNetwork net, Tensor x, Tensor y, Tensor? vx, Tensor? vy, int epochs, List<EpochMetrics> history, Random rng)
    {
        if (epochs <= 0) return;
        var n = (int)x.shape[0];
        const int batch = 64;
        var steps = (long)epochs * ((n + batch - 1) / batch);
        using var optimizer = torch.optim.AdamW(net.Head.parameters(), _o.LearningRate, weight_decay: _o.HeadWeightDecay);
        var order = Enumerable.Range(0, n).ToArray();
        // The head alone is kept at its best epoch: the frozen backbone does not change.
        using var best = new BestWeights(net.Head, patience: 0, laterWinsTies: true);
        var offset = history.Count;
        var state = new TrainingLoop
        {
            Module = net,
            Forward = net.HeadForward,
            Loss = (logits, target) => nn.functional.cross_entropy(logits, target, label_smoothing: _o.LabelSmoothing),
            Optimizer = optimizer,
            Schedule = new FunctionSchedule((step, _) => [Cosine(_o.LearningRate, step, steps)], (step, _) => Cosine(_o.LearningRate, step, steps)),
            Epochs = epochs,
            BeginEpoch = _ => rng.Shuffle(order),
            Batches = _ => HeadBatches(x, y, order, batch),
            Validate = () =>
            {
                if (vx is null || vy is null) return null;
                using var noGrad = torch.no_grad();
                using var scope = NewDisposeScope();
                var logits = net.HeadForward(vx);
                return (nn.functional.cross_entropy(logits, vy).item<float>(), logits.argmax(1).eq(vy).sum().item<long>() / (double)vy.shape[0]);
            },
            Callbacks = [best, new Hooks { EpochEnd = (_, m) => EpochEnded?.Invoke(m with { Epoch = offset + m.Epoch }) }],
            Cancellation = _cancel,
        }.Run(new LoopState { Module = net });
        history.AddRange(state.History.Select(m => m with { Epoch = offset + m.Epoch }));
    }

    private static IEnumerable<TrainingBatch> HeadBatches(Tensor x, Tensor y, int[] order, int batch)
    {
        for (var s = 0; s < order.Length; s += batch)
        {
            var len = Math.Min(batch, order.Length - s);
            var idx = torch.tensor(order.AsSpan(s, len).ToArray().Select(i => (long)i).ToArray());
            yield return new TrainingBatch(x.index_select(0, idx), y.index_select(0, idx), len);
        }
    }

    /// <summary>
    /// The end-to-end optimiser's parameter groups and peak rates: the head at the full rate, then the trained backbone at the
    /// backbone rate; with layer decay, one group per unfrozen stage, last stage first, each earlier one LayerDecay times slower.
    /// </summary>
    internal static List<(Parameter[] Parameters, double Rate)> RateGroups(TransferNetwork net, TransferOptions o)
    {
        var headParams = net.Head.parameters().ToArray();
        var headSet = new HashSet<Parameter>(headParams);
        var backboneParams = net.parameters().Where(p => p.requires_grad && !headSet.Contains(p)).ToArray();
        var backboneLr = o.Mode == TransferMode.Scratch ? o.LearningRate : o.LearningRate * o.BackboneLrMultiplier;
        var groups = new List<(Parameter[], double)> { (headParams, o.LearningRate) };
        if (backboneParams.Length == 0) return groups;
        if (o.LayerDecay == 1)
        {
            groups.Add((backboneParams, backboneLr));
            return groups;
        }
        var trained = new HashSet<Parameter>(backboneParams);
        var assigned = new HashSet<Parameter>();
        var rate = backboneLr;
        var stages = net.Backbone.Stages;
        for (var i = stages.Count - 1; i >= 0; i--)
        {
            var own = stages[i].Parameters.Where(p => trained.Contains(p) && assigned.Add(p)).ToArray();
            if (own.Length == 0) continue;
            groups.Add((own, rate));
            rate *= o.LayerDecay;
        }
        // Anything trained outside the stages (none in ResNet18) keeps the backbone rate.
        var rest = backboneParams.Where(p => !assigned.Contains(p)).ToArray();
        if (rest.Length > 0) groups.Add((rest, backboneLr));
        return groups;
    }

    private void TrainEndToEnd(TransferNetwork net, RgbImageSet images, int[] trainIdx, int[] valIdx, List<EpochMetrics> history, Random rng)
    {
        var groups = RateGroups(net, _o).Select(g => new AdamW.ParamGroup(g.Parameters, lr: g.Rate, weight_decay: _o.WeightDecay)).ToList();
        var baseRates = groups.Select(g => g.Options.LearningRate!.Value).ToArray();
        using var optimizer = torch.optim.AdamW(groups, _o.LearningRate, weight_decay: _o.WeightDecay);
        var b = _o.BatchSize;
        var stepsPerEpoch = (trainIdx.Length + b - 1) / b;
        var steps = (long)_o.Epochs * stepsPerEpoch;
        var order = (int[])trainIdx.Clone();
        // With a moving average the model is the average after the last epoch: averaged weights are smooth across epochs, and
        // picking an epoch by validation as well would spend the held-out part twice.
        using var average = _o.EmaDecay > 0 ? new MovingAverage(net, _o.EmaDecay) { Swapped = net.Backbone.InvalidateInferencePlan } : null;
        using var best = new BestWeights(net, patience: 0, laterWinsTies: true) { Restored = net.Backbone.InvalidateInferencePlan };
        var offset = history.Count;
        var mixup = _o.MixupAlpha > 0;
        var hooks = new Hooks
        {
            StepEnd = (s, _, _, seen) => Progress?.Report(new TransferProgress($"epoch {s.Epoch + 1}/{_o.Epochs}", (int)seen, order.Length)),
            EpochEnd = (_, m) => EpochEnded?.Invoke(m with { Epoch = offset + m.Epoch }),
        };
        var state = new TrainingLoop
        {
            Module = net,
            Forward = net.forward,
            Loss = (logits, target) => target.dim() == 2
                ? Mixup.SoftCrossEntropy(logits, target)
                : nn.functional.cross_entropy(logits, target, label_smoothing: _o.LabelSmoothing),
            // Mixed batches are scored against the larger of their two labels.
            Correct = mixup ? (output, target) => output.argmax(1).eq(target.argmax(1)).sum().item<long>() : null,
            Optimizer = optimizer,
            Schedule = new FunctionSchedule(
                (step, _) => baseRates.Select(r => r * WarmCosine(step, steps, stepsPerEpoch)).ToArray(),
                (step, _) => _o.LearningRate * WarmCosine(step, steps, stepsPerEpoch)),
            Epochs = _o.Epochs,
            BeginEpoch = _ => rng.Shuffle(order),
            Batches = epoch => ImageBatches(images, order, rng, _o.TrainSizeAt(epoch)),
            Validate = () => valIdx.Length == 0 ? null : average is null ? Evaluate(net, images, valIdx) : average.WithAverage(() => Evaluate(net, images, valIdx)),
            Callbacks = average is null ? [best, hooks] : [average, hooks],
            Cancellation = _cancel,
        }.Run(new LoopState { Module = net });
        history.AddRange(state.History.Select(m => m with { Epoch = offset + m.Epoch }));
    }

    // One epoch's batches in the shuffled order, each a random augmented view drawn from the run's generator in turn.
    private IEnumerable<TrainingBatch> ImageBatches(RgbImageSet images, int[] order, Random rng, int size)
    {
        var b = _o.BatchSize;
        for (var s = 0; s < order.Length; s += b)
        {
            var len = Math.Min(b, order.Length - s);
            if (len < 2) yield break; // batch norm needs two samples
            var x = RgbViews.Batch(images, order.AsSpan(s, len), size, _o.Augmentation, rng);
            var labels = order.AsSpan(s, len).ToArray().Select(i => (long)images.Labels[i]).ToArray();
            if (_o.MixupAlpha > 0)
            {
                var (mixed, soft, _) = Mixup.Apply(x, labels, images.ClassNames.Count, _o.MixupAlpha, _o.LabelSmoothing, rng, _o.CutMix);
                yield return new TrainingBatch(mixed, soft, len);
                continue;
            }
            yield return new TrainingBatch(x, torch.tensor(labels), len);
        }
    }

    private (double Loss, double Accuracy) Evaluate(TransferNetwork net, RgbImageSet images, int[] indices)
    {
        var batches = (indices.Length + EvalBatch - 1) / EvalBatch;
        var parts = ParallelInference.Run(batches, b =>
        {
            var s = b * EvalBatch;
            var len = Math.Min(EvalBatch, indices.Length - s);
            using var scope = NewDisposeScope();
            var target = torch.tensor(indices.AsSpan(s, len).ToArray().Select(i => (long)images.Labels[i]).ToArray());
            var p = TestViews.Probabilities(net, images, indices.AsSpan(s, len), _o);
            using var floor = TorchScalars.Of(1e-12);
            return (Loss: nn.functional.nll_loss(p.clamp_min(floor).log(), target).item<float>() * (double)len, Correct: p.argmax(1).eq(target).sum().item<long>());
        }, _o.InferenceStreams);
        return (parts.Sum(p => p.Loss) / indices.Length, parts.Sum(p => p.Correct) / (double)indices.Length);
    }

    private static double Cosine(double peak, long step, long steps) => peak * 0.5 * (1 + Math.Cos(Math.PI * Math.Min(1.0, step / (double)Math.Max(1, steps))));

    // A short linear warm-up keeps the first large updates from wrecking pretrained (or freshly initialised) batch-norm statistics.
    private static double WarmCosine(long step, long steps, long stepsPerEpoch)
    {
        var warm = Math.Min(stepsPerEpoch, Math.Max(1, steps / 10));
        if (step < warm) return (step + 1) / (double)warm;
        return 0.5 * (1 + Math.Cos(Math.PI * (step - warm) / Math.Max(1, steps - warm)));
    }
}
