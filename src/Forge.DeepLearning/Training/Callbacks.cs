using Forge.Core;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Forge.DeepLearning.Training;

/// <summary>
/// Keeps the weights of the epoch with the best validation accuracy and puts them back at the end; with a patience,
/// also stops after that many epochs without improvement (early stopping).
/// </summary>
/// <param name="target">The module whose weights are kept (for a head trained on cached features, only the head).</param>
/// <param name="patience">Epochs without improvement before stopping; 0 never stops.</param>
/// <param name="laterWinsTies">Whether an epoch equal to the best replaces it (a later epoch has annealed further).</param>
internal sealed class BestWeights(Module target, int patience, bool laterWinsTies) : TrainingCallback, IDisposable
{
    private Dictionary<string, Tensor>? _best;

    /// <summary>Called after the best weights are put back (a network that caches a folded inference plan drops it).</summary>
    public Action? Restored { get; init; }

    /// <summary>
    /// What an epoch is judged by, higher being better: its validation accuracy (the default), or for a regression the
    /// negated validation loss.
    /// </summary>
    public Func<EpochMetrics, double?> Score { get; init; } = m => m.ValidationAccuracy;

    /// <summary>The best validation score so far (<see cref="Score"/>).</summary>
    public double BestAccuracy { get; set; } = double.NegativeInfinity;

    /// <summary>Epochs since the best one.</summary>
    public int SinceBest { get; set; }

    /// <summary>Whether weights are being kept.</summary>
    public bool HasBest => _best is not null;

    /// <summary>Replaces the kept weights with those of <paramref name="source"/> (a resumed run's best).</summary>
    public void Keep(Module source) => Replace(Snapshot(source));

    /// <summary>Writes the kept weights into <paramref name="module"/> (a checkpoint's copy of the best).</summary>
    public void CopyInto(Module module)
    {
        if (_best is null) return;
        using var noGrad = torch.no_grad();
        foreach (var (k, v) in module.state_dict()) v.copy_(_best[k]);
    }

    public override void OnTrainBegin(LoopState state)
    {
        // A resumed run that had already run out of patience trains no further epoch.
        if (patience > 0 && SinceBest >= patience) state.StopRequested = true;
    }

    public override void OnEpochEnd(LoopState state, EpochMetrics metrics)
    {
        if (Score(metrics) is not { } accuracy) return;
        if (accuracy > BestAccuracy || (laterWinsTies && accuracy >= BestAccuracy))
        {
            BestAccuracy = accuracy;
            SinceBest = 0;
            Replace(Snapshot(target));
        }
        else if (patience > 0 && ++SinceBest >= patience)
        {
            state.StopRequested = true;
        }
    }

    public override void OnTrainEnd(LoopState state)
    {
        if (_best is null) return;
        CopyInto(target);
        Restored?.Invoke();
        Replace(null);
    }

    public void Dispose() => Replace(null);

    private void Replace(Dictionary<string, Tensor>? next)
    {
        if (_best is not null)
        {
            foreach (var t in _best.Values) t.Dispose();
        }
        _best = next;
    }

    private static Dictionary<string, Tensor> Snapshot(Module module)
    {
        var copy = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        // Owned here, not by whatever dispose scope is open: the copy outlives epochs and is disposed by Replace.
        foreach (var (k, v) in module.state_dict()) copy[k] = v.detach().clone().DetachFromDisposeScope();
        return copy;
    }
}

/// <summary>Records the mean gradient norm of each layer over every epoch (the vanishing/exploding-gradient diagnostic).</summary>
internal sealed class GradientNorms(Module module) : TrainingCallback
{
    private readonly Dictionary<string, double> _squares = new(StringComparer.Ordinal);

    /// <summary>Per epoch, each layer's root-mean-square gradient norm over the epoch's steps.</summary>
    public List<Dictionary<string, double>> PerEpoch { get; } = [];

    public override void AfterBackward(LoopState state)
    {
        foreach (var (name, p) in module.named_parameters())
        {
            if (p.grad is not { } g) continue;
            var layer = name.Contains('.', StringComparison.Ordinal) ? name[..name.LastIndexOf('.')] : name;
            using var square = g.square();
            using var total = square.sum();
            _squares[layer] = _squares.GetValueOrDefault(layer) + total.item<float>();
        }
    }

    public override void OnEpochEnd(LoopState state, EpochMetrics metrics)
    {
        PerEpoch.Add(_squares.ToDictionary(kv => kv.Key, kv => Math.Sqrt(kv.Value / Math.Max(1, state.EpochStep)), StringComparer.Ordinal));
        _squares.Clear();
    }
}

/// <summary>Clips the global gradient norm before each optimiser step.</summary>
internal sealed class GradientClipping(Module module, double maxNorm) : TrainingCallback
{
    public override void AfterBackward(LoopState state) => nn.utils.clip_grad_norm_(module.parameters(), maxNorm);
}

/// <summary>Runs the given actions at step and epoch ends: progress reports, observers, per-epoch hooks.</summary>
internal sealed class Hooks : TrainingCallback
{
    public Action<LoopState, double, long, long>? StepEnd { get; init; }

    public Action<LoopState, EpochMetrics>? EpochEnd { get; init; }

    public override void OnStepEnd(LoopState state, double lossSum, long correct, long seen) => StepEnd?.Invoke(state, lossSum, correct, seen);

    public override void OnEpochEnd(LoopState state, EpochMetrics metrics) => EpochEnd?.Invoke(state, metrics);
}

/// <summary>A rate schedule given as functions: the rate of each parameter group per step, and the rate an epoch reports.</summary>
internal sealed class FunctionSchedule(Func<long, int, double[]> rates, Func<long, int, double> reported) : IRateSchedule
{
    public void Apply(OptimizerHelper optimizer, long globalStep, int epoch)
    {
        var values = rates(globalStep, epoch);
        var i = 0;
        foreach (var g in optimizer.ParamGroups) g.LearningRate = values[Math.Min(i++, values.Length - 1)];
    }

    public void EndEpoch(double? validationAccuracy) { }

    public double Reported(long globalStep, int epoch) => reported(globalStep, epoch);
}
