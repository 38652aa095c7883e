using Forge.Core;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

namespace Forge.DeepLearning.Training;

/// <summary>
/// The callbacks every trainer attaches to the one loop, in one place and one order: gradient-norm
/// diagnostics, gradient clipping, early stopping with the best weights, the per-epoch checkpoint, and progress
/// reports. A trainer adds only what is its own, through the epoch-end action it passes in.
/// </summary>
internal sealed class StandardCallbacks : IDisposable
{
    private readonly TrainerOptions _o;

    public StandardCallbacks(TrainerOptions o, Module module, OptimizerHelper optimizer, LearningRateSchedule schedule, string fingerprint,
        Func<Module> build, IProgress<TrainingProgress>? progress, long stepsPerEpoch, Action<LoopState, EpochMetrics, GradientNorms>? epochEnded,
        Func<EpochMetrics, double?>? score = null)
    {
        _o = o;
        GradientNorms = new GradientNorms(module);
        if (o.DiagnoseGradients) All.Add(GradientNorms);
        if (o.ClipGradNorm > 0) All.Add(new GradientClipping(module, o.ClipGradNorm));
        Best = new BestWeights(module, o.EarlyStoppingPatience, laterWinsTies: false) { Score = score ?? (m => m.ValidationAccuracy) };
        if (o.EarlyStoppingPatience > 0) All.Add(Best);
        Checkpoint = new EpochCheckpoint(o, fingerprint, module, optimizer, schedule, Best, GradientNorms, build);
        if (o.CheckpointDirectory is not null) All.Add(Checkpoint);
        All.Add(new Hooks
        {
            StepEnd = (s, lossSum, correct, seen) =>
            {
                if (progress is not null && (s.EpochStep % 20 == 0 || s.EpochStep == stepsPerEpoch))
                    progress.Report(new TrainingProgress(s.Epoch + 1, o.Epochs, s.EpochStep, stepsPerEpoch, lossSum / seen, (double)correct / seen, null));
            },
            EpochEnd = (s, metrics) =>
            {
                progress?.Report(new TrainingProgress(s.Epoch + 1, o.Epochs, stepsPerEpoch, stepsPerEpoch, metrics.TrainLoss, metrics.TrainAccuracy, metrics)
                {
                    GradientNorms = o.DiagnoseGradients ? GradientNorms.PerEpoch[^1] : null,
                });
                epochEnded?.Invoke(s, metrics, GradientNorms);
            },
        });
    }

    /// <summary>The callbacks to hand to the loop, in order.</summary>
    public List<TrainingCallback> All { get; } = [];

    /// <summary>Per-epoch gradient norms (filled only when diagnosing).</summary>
    public GradientNorms GradientNorms { get; }

    /// <summary>The best weights seen, for early stopping.</summary>
    public BestWeights Best { get; }

    /// <summary>The per-epoch checkpoint writer and resumer.</summary>
    public EpochCheckpoint Checkpoint { get; }

    /// <summary>Restores the loop's state from the checkpoint folder when the options ask for a resume.</summary>
    public void ResumeIfAsked(LoopState state)
    {
        if (_o.Resume && _o.CheckpointDirectory is not null) Checkpoint.Resume(state);
    }

    public void Dispose() => Best.Dispose();
}
