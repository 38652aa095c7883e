using Forge.Core;
using Forge.DeepLearning.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Forge.DeepLearning.Training;

/// <summary>Pieces every trainer on the one loop shares: the optimiser, the per-epoch shuffle seeds, the RNG state for checkpoints.</summary>
internal static class TrainingPieces
{
    public static long EpochSeed(int seed, int epoch) => (long)seed * 1_000_003L + epoch * 7919L + 17;

    public static OptimizerHelper CreateOptimizer(Module module, TrainerOptions o)
    {
        var p = module.parameters();
        return o.Optimizer switch
        {
            OptimizerKind.Sgd => optim.SGD(p, o.LearningRate, o.Momentum, 0, o.WeightDecay, o.Nesterov),
            OptimizerKind.Adam => optim.Adam(p, o.LearningRate, weight_decay: o.WeightDecay),
            OptimizerKind.Adadelta => optim.Adadelta(p, o.LearningRate, weight_decay: o.WeightDecay),
            OptimizerKind.AdamW => optim.AdamW(p, o.LearningRate, weight_decay: o.WeightDecay),
            _ => throw new UsageException($"optimizer {o.Optimizer} is not supported"),
        };
    }

    /// <summary>Puts a trained module in eval mode and moves its weights out of the training's dispose scope, so they outlive it.</summary>
    public static void KeepTrained(DisposeScope scope, Module module)
    {
        module.eval();
        scope.MoveToOuter(module.parameters().Cast<Tensor>());
        scope.MoveToOuter(module.buffers());
    }

    public static byte[] RngState()
    {
        using var state = torch.get_rng_state();
        return state.bytes.ToArray();
    }
}

/// <summary>
/// Seeds each epoch from (seed, epoch) and owns that epoch's shuffle/augmentation generator: each epoch's shuffle,
/// augmentation and dropout are then independent of what ran before, so a resumed run retraces an uninterrupted one
/// exactly.
/// </summary>
internal sealed class EpochSeeding(int seed) : IDisposable
{
    /// <summary>The current epoch's generator; set by <see cref="Begin"/>.</summary>
    public Generator Generator => _generator ?? throw new InvalidOperationException("no epoch has begun");

    private Generator? _generator;

    /// <summary>The loop's BeginEpoch: reseeds torch and replaces the generator.</summary>
    public void Begin(int epoch)
    {
        var epochSeed = TrainingPieces.EpochSeed(seed, epoch);
        torch.manual_seed(epochSeed);
        _generator?.Dispose();
        _generator = new Generator((ulong)epochSeed + 1);
    }

    public void Dispose() => _generator?.Dispose();
}

/// <summary>Writes a checkpoint after every epoch and restores one for a resume: weights, optimiser, schedule, best weights, diagnostics.</summary>
internal sealed class EpochCheckpoint(TrainerOptions o, string fingerprint, Module network, OptimizerHelper optimizer,
    LearningRateSchedule schedule, BestWeights best, GradientNorms gradientNorms, Func<Module> build) : TrainingCallback
{
    public void Resume(LoopState state)
    {
        var root = o.CheckpointDirectory!;
        // A silent fresh start would hide a mistyped folder; say so instead.
        var dir = Checkpoint.Find(root)
            ?? throw new UsageException($"{root}: no checkpoint to resume from; run without --resume to start afresh");
        var saved = Checkpoint.Read(dir);
        if (saved.OptionsFingerprint != fingerprint)
            throw new UsageException($"{dir}: the checkpoint was written with other model or training options; resume with the same options or delete the checkpoint folder");
        Checkpoint.LoadFile(Path.Combine(dir, "model.dat"), f => network.load(f));
        Checkpoint.LoadFile(Path.Combine(dir, "optimizer.dat"), optimizer.load_state_dict);
        if (saved.HasBest)
        {
            using var bestModule = build();
            Checkpoint.LoadFile(Path.Combine(dir, "best.dat"), f => bestModule.load(f));
            best.Keep(bestModule);
        }
        state.GlobalStep = saved.GlobalStep;
        state.History.AddRange(saved.History);
        gradientNorms.PerEpoch.AddRange(saved.GradientNorms);
        schedule.PlateauRate = saved.PlateauRate;
        schedule.PlateauBest = saved.PlateauBest;
        schedule.PlateauWait = saved.PlateauWait;
        best.BestAccuracy = saved.BestValidationAccuracy;
        best.SinceBest = saved.EpochsWithoutImprovement;
        state.TrainSeconds = saved.TrainSeconds;
    }

    public override void OnEpochEnd(LoopState state, EpochMetrics metrics)
    {
        var saved = new CheckpointState
        {
            CompletedEpochs = state.History.Count,
            GlobalStep = state.GlobalStep,
            OptionsFingerprint = fingerprint,
            History = state.History,
            GradientNorms = gradientNorms.PerEpoch,
            PlateauRate = schedule.PlateauRate,
            PlateauBest = schedule.PlateauBest,
            PlateauWait = schedule.PlateauWait,
            BestValidationAccuracy = best.BestAccuracy,
            EpochsWithoutImprovement = best.SinceBest,
            HasBest = best.HasBest,
            RngState = Convert.ToBase64String(TrainingPieces.RngState()),
            TrainSeconds = state.TrainSeconds,
        };
        Checkpoint.Write(o.CheckpointDirectory!, saved, dir =>
        {
            network.save(Path.Combine(dir, "model.dat"));
            optimizer.save_state_dict(Path.Combine(dir, "optimizer.dat"));
            if (best.HasBest)
            {
                using var copy = build();
                best.CopyInto(copy);
                copy.save(Path.Combine(dir, "best.dat"));
            }
        });
    }
}
