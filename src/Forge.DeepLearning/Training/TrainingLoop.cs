using System.Diagnostics;
using Forge.Core;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Forge.DeepLearning.Training;

/// <summary>One batch of an epoch: inputs, targets, and how many samples it holds.</summary>
/// <param name="Input">The batch's inputs.</param>
/// <param name="Target">The batch's targets.</param>
/// <param name="Count">Samples in the batch.</param>
/// <param name="Lengths">For padded sequences, each row's true length (int64, on the CPU); null for anything else.</param>
internal readonly record struct TrainingBatch(Tensor Input, Tensor Target, long Count, Tensor? Lengths = null);

/// <summary>Where the loop is, for callbacks: the module, the epoch, the steps so far and the history.</summary>
internal sealed class LoopState
{
    public required Module Module { get; init; }

    /// <summary>0-based epoch being trained (or just finished).</summary>
    public int Epoch { get; set; }

    /// <summary>Optimiser steps taken since training began (across resumes).</summary>
    public long GlobalStep { get; set; }

    /// <summary>Steps taken in the current epoch.</summary>
    public long EpochStep { get; set; }

    /// <summary>Every finished epoch's metrics, resumed ones included.</summary>
    public List<EpochMetrics> History { get; } = [];

    /// <summary>Seconds spent in training steps (not validation), across resumes.</summary>
    public double TrainSeconds { get; set; }

    /// <summary>Set by a callback to end training after this epoch.</summary>
    public bool StopRequested { get; set; }
}

/// <summary>
/// Something the training loop calls at fixed points: early stopping, best-weight keeping, checkpoints, gradient-norm
/// diagnostics, gradient clipping, progress. Each callback does one job; the loop knows none of them.
/// </summary>
internal abstract class TrainingCallback
{
    /// <summary>Before the first epoch (after a resume restored the state).</summary>
    public virtual void OnTrainBegin(LoopState state) { }

    /// <summary>Right after the loss's gradients are computed and before the optimiser step.</summary>
    public virtual void AfterBackward(LoopState state) { }

    /// <summary>After each step, with the epoch's running loss sum, correct count and samples seen.</summary>
    public virtual void OnStepEnd(LoopState state, double lossSum, long correct, long seen) { }

    /// <summary>After an epoch is trained and validated; <see cref="LoopState.StopRequested"/> ends training.</summary>
    public virtual void OnEpochEnd(LoopState state, EpochMetrics metrics) { }

    /// <summary>After the last epoch (or a stop), before the module is handed back.</summary>
    public virtual void OnTrainEnd(LoopState state) { }
}

/// <summary>Sets each step's learning rate, learns from validation at epoch end, and says which rate an epoch reports.</summary>
internal interface IRateSchedule
{
    /// <summary>The rate of each parameter group for global step <paramref name="globalStep"/> in epoch <paramref name="epoch"/> (both 0-based).</summary>
    void Apply(OptimizerHelper optimizer, long globalStep, int epoch);

    /// <summary>Sees the finished epoch's validation accuracy (plateau schedules decay on it).</summary>
    void EndEpoch(double? validationAccuracy);

    /// <summary>The rate an epoch's metrics report, read after <see cref="EndEpoch"/>.</summary>
    double Reported(long globalStep, int epoch);
}

/// <summary>
/// The one training loop of Forge.DeepLearning: for each epoch it trains on the task's batches (forward, loss, backward,
/// callbacks, step), validates, records the epoch, and lets callbacks decide what happens next. MNIST training,
/// transfer learning (head warm-up and end-to-end) and sequence models all run through it.
/// </summary>
internal sealed class TrainingLoop
{
    /// <summary>The module trained: switched to train/eval mode and handed to callbacks (snapshots, checkpoints).</summary>
    public required Module Module { get; init; }

    /// <summary>The forward pass for a batch's inputs (usually the module itself).</summary>
    public required Func<Tensor, Tensor> Forward { get; init; }

    /// <summary>The forward pass for padded sequences and their lengths, used for batches that carry lengths.</summary>
    public Func<Tensor, Tensor, Tensor>? ForwardPadded { get; init; }

    /// <summary>How many of a batch's outputs count as correct (default: the arg-max equals the class target).</summary>
    public Func<Tensor, Tensor, long>? Correct { get; init; }

    /// <summary>The loss of a batch's outputs against its targets.</summary>
    public required Func<Tensor, Tensor, Tensor> Loss { get; init; }

    /// <summary>The optimiser over the trained parameters.</summary>
    public required OptimizerHelper Optimizer { get; init; }

    /// <summary>Each step's learning rates.</summary>
    public required IRateSchedule Schedule { get; init; }

    /// <summary>Epochs to train in all (a resumed run continues towards it).</summary>
    public required int Epochs { get; init; }

    /// <summary>
    /// The batches of an epoch (given its 0-based number), made lazily: each is drawn inside its step's dispose scope,
    /// after the previous step, so the order in which randomness is consumed is the task's own.
    /// </summary>
    public required Func<int, IEnumerable<TrainingBatch>> Batches { get; init; }

    /// <summary>Mean loss and accuracy on the held-out part, in eval mode; null when there is none.</summary>
    public Func<(double Loss, double Accuracy)?> Validate { get; init; } = () => null;

    /// <summary>Called at the start of each epoch, before its batches are drawn (reseeding, for instance).</summary>
    public Action<int> BeginEpoch { get; init; } = _ => { };

    /// <summary>The callbacks, called in order.</summary>
    public IReadOnlyList<TrainingCallback> Callbacks { get; init; } = [];

    /// <summary>Stops training between steps.</summary>
    public CancellationToken Cancellation { get; init; }

    /// <summary>Trains from <paramref name="state"/> (fresh, or as a resume restored it) and returns it at the end.</summary>
    public LoopState Run(LoopState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        foreach (var c in Callbacks) c.OnTrainBegin(state);
        for (var epoch = state.History.Count; epoch < Epochs && !state.StopRequested; epoch++)
        {
            Cancellation.ThrowIfCancellationRequested();
            state.Epoch = epoch;
            state.EpochStep = 0;
            BeginEpoch(epoch);
            Module.train();
            double lossSum = 0;
            long correct = 0, seen = 0;
            var clock = Stopwatch.StartNew();
            using (var batches = Batches(epoch).GetEnumerator())
            {
                while (true)
                {
                    Cancellation.ThrowIfCancellationRequested();
                    using var scope = NewDisposeScope();
                    if (!batches.MoveNext()) break;
                    var batch = batches.Current;
                    Schedule.Apply(Optimizer, state.GlobalStep, epoch);
                    Optimizer.zero_grad();
                    var output = batch.Lengths is { } lengths && ForwardPadded is { } padded ? padded(batch.Input, lengths) : Forward(batch.Input);
                    var loss = Loss(output, batch.Target);
                    loss.backward();
                    foreach (var c in Callbacks) c.AfterBackward(state);
                    Optimizer.step();
                    lossSum += loss.item<float>() * batch.Count;
                    correct += Correct is { } count ? count(output, batch.Target) : output.argmax(1).eq(batch.Target).sum().item<long>();
                    seen += batch.Count;
                    state.EpochStep++;
                    state.GlobalStep++;
                    foreach (var c in Callbacks) c.OnStepEnd(state, lossSum, correct, seen);
                }
            }
            clock.Stop();
            state.TrainSeconds += clock.Elapsed.TotalSeconds;
            Module.eval();
            var validation = Validate();
            Schedule.EndEpoch(validation?.Accuracy);
            var metrics = new EpochMetrics(epoch + 1, lossSum / Math.Max(1, seen), (double)correct / Math.Max(1, seen), validation?.Loss, validation?.Accuracy,
                Schedule.Reported(Math.Max(0, state.GlobalStep - 1), epoch), clock.Elapsed.TotalSeconds);
            state.History.Add(metrics);
            foreach (var c in Callbacks) c.OnEpochEnd(state, metrics);
        }
        foreach (var c in Callbacks) c.OnTrainEnd(state);
        Module.eval();
        return state;
    }
}
