using System.Diagnostics;
using Forge.Core;
using Forge.Data;
using TorchSharp;
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
        if (options.Epochs < 1) throw new UsageException("--epochs must be at least 1");
        if (options.LearningRate <= 0) throw new UsageException("--lr must be positive");
        if (options.BackboneLrMultiplier <= 0) throw new UsageException("--backbone-lr-mult must be positive");
        if (options.BatchSize < 2) throw new UsageException("--batch-size must be at least 2");
        if (options.ImageSize > options.StoreSize) throw new UsageException($"the image size {options.ImageSize} exceeds the decoded size {options.StoreSize}");
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
            return new TransferClassifier(net, train.ClassNames, _o, history, clock.Elapsed.TotalSeconds, trainIdx.Length, valIdx.Length, BestValidation(history.Skip(finalPhase)));
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
        var batch = 64;
        var steps = (long)epochs * ((n + batch - 1) / batch);
        using var optimizer = torch.optim.AdamW(net.Head.parameters(), _o.LearningRate, weight_decay: _o.HeadWeightDecay);
        var best = (Accuracy: double.NegativeInfinity, Weight: (Tensor?)null, Bias: (Tensor?)null);
        long step = 0;
        var order = Enumerable.Range(0, n).ToArray();
        for (var epoch = 1; epoch <= epochs; epoch++)
        {
            var t0 = Stopwatch.GetTimestamp();
            rng.Shuffle(order);
            net.train();
            double lossSum = 0;
            var correct = 0;
            double lr = 0;
            for (var s = 0; s < n; s += batch)
            {
                using var scope = NewDisposeScope();
                var len = Math.Min(batch, n - s);
                var idx = torch.tensor(order.AsSpan(s, len).ToArray().Select(i => (long)i).ToArray());
                var logits = net.HeadForward(x.index_select(0, idx));
                var target = y.index_select(0, idx);
                var loss = nn.functional.cross_entropy(logits, target, label_smoothing: _o.LabelSmoothing);
                optimizer.zero_grad();
                loss.backward();
                lr = Cosine(_o.LearningRate, step++, steps);
                foreach (var g in optimizer.ParamGroups) g.LearningRate = lr;
                optimizer.step();
                lossSum += loss.item<float>() * len;
                correct += (int)logits.argmax(1).eq(target).sum().item<long>();
            }
            net.eval();
            double? valLoss = null, valAcc = null;
            if (vx is not null && vy is not null)
            {
                using var noGrad = torch.no_grad();
                using var scope = NewDisposeScope();
                var logits = net.HeadForward(vx);
                valLoss = nn.functional.cross_entropy(logits, vy).item<float>();
                valAcc = logits.argmax(1).eq(vy).sum().item<long>() / (double)vy.shape[0];
            }
            var m = new EpochMetrics(history.Count + 1, lossSum / n, correct / (double)n, valLoss, valAcc, lr, Stopwatch.GetElapsedTime(t0).TotalSeconds);
            history.Add(m);
            EpochEnded?.Invoke(m);
            // Later epochs win ties: the schedule has annealed further by then.
            if (valAcc is { } a && a >= best.Accuracy)
            {
                best.Weight?.Dispose();
                best.Bias?.Dispose();
                best = (a, net.Head.weight!.detach().clone(), net.Head.bias!.detach().clone());
            }
        }
        if (best.Weight is not null)
        {
            using var noGrad = torch.no_grad();
            net.Head.weight!.copy_(best.Weight);
            net.Head.bias!.copy_(best.Bias!);
            best.Weight.Dispose();
            best.Bias!.Dispose();
        }
    }

    private void TrainEndToEnd(TransferNetwork net, RgbImageSet images, int[] trainIdx, int[] valIdx, List<EpochMetrics> history, Random rng)
    {
        var headParams = net.Head.parameters().ToArray();
        var headSet = new HashSet<Parameter>(headParams);
        var backboneParams = net.parameters().Where(p => p.requires_grad && !headSet.Contains(p)).ToArray();
        var backboneLr = _o.Mode == TransferMode.Scratch ? _o.LearningRate : _o.LearningRate * _o.BackboneLrMultiplier;
        var groups = new List<AdamW.ParamGroup> { new(headParams, lr: _o.LearningRate, weight_decay: _o.WeightDecay) };
        if (backboneParams.Length > 0) groups.Add(new AdamW.ParamGroup(backboneParams, lr: backboneLr, weight_decay: _o.WeightDecay));
        var baseRates = groups.Select(g => g.Options.LearningRate!.Value).ToArray();
        using var optimizer = torch.optim.AdamW(groups, _o.LearningRate, weight_decay: _o.WeightDecay);
        var b = _o.BatchSize;
        var stepsPerEpoch = (trainIdx.Length + b - 1) / b;
        var steps = (long)_o.Epochs * stepsPerEpoch;
        long step = 0;
        Dictionary<string, Tensor>? best = null;
        var bestAccuracy = double.NegativeInfinity;
        var order = (int[])trainIdx.Clone();
        for (var epoch = 1; epoch <= _o.Epochs; epoch++)
        {
            var t0 = Stopwatch.GetTimestamp();
            rng.Shuffle(order);
            net.train();
            double lossSum = 0;
            var correct = 0;
            var seen = 0;
            for (var s = 0; s < order.Length; s += b)
            {
                var len = Math.Min(b, order.Length - s);
                if (len < 2) break; // batch norm needs two samples
                _cancel.ThrowIfCancellationRequested();
                using var scope = NewDisposeScope();
                var x = RgbViews.Batch(images, order.AsSpan(s, len), _o.ImageSize, _o.Augmentation, rng);
                var target = torch.tensor(order.AsSpan(s, len).ToArray().Select(i => (long)images.Labels[i]).ToArray());
                var logits = net.forward(x);
                var loss = nn.functional.cross_entropy(logits, target, label_smoothing: _o.LabelSmoothing);
                optimizer.zero_grad();
                loss.backward();
                var factor = WarmCosine(step++, steps, stepsPerEpoch);
                var gi = 0;
                foreach (var g in optimizer.ParamGroups) g.LearningRate = baseRates[gi++] * factor;
                optimizer.step();
                lossSum += loss.item<float>() * len;
                correct += (int)logits.argmax(1).eq(target).sum().item<long>();
                seen += len;
                Progress?.Report(new TransferProgress($"epoch {epoch}/{_o.Epochs}", seen, order.Length));
            }
            net.eval();
            double? valLoss = null, valAcc = null;
            if (valIdx.Length > 0) (valLoss, valAcc) = Evaluate(net, images, valIdx);
            var m = new EpochMetrics(history.Count + 1, lossSum / Math.Max(1, seen), correct / (double)Math.Max(1, seen), valLoss, valAcc,
                _o.LearningRate * WarmCosine(step - 1, steps, stepsPerEpoch), Stopwatch.GetElapsedTime(t0).TotalSeconds);
            history.Add(m);
            EpochEnded?.Invoke(m);
            if (valAcc is { } a && a >= bestAccuracy)
            {
                bestAccuracy = a;
                if (best is not null) foreach (var t in best.Values) t.Dispose();
                best = net.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());
            }
        }
        if (best is not null)
        {
            net.load_state_dict(best);
            net.Backbone.InvalidateInferencePlan();
            foreach (var t in best.Values) t.Dispose();
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
            var x = RgbViews.Batch(images, indices.AsSpan(s, len), _o.ImageSize, RgbAugmentation.None, new Random(0));
            var target = torch.tensor(indices.AsSpan(s, len).ToArray().Select(i => (long)images.Labels[i]).ToArray());
            var p = net.Probabilities(x, _o.FlipAveraging);
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
