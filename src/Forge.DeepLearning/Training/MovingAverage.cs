using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Forge.DeepLearning.Training;

/// <summary>
/// An exponential moving average of a module's trained parameters and its buffers (batch-norm statistics), updated after
/// every optimiser step; <see cref="WithAverage{T}"/> evaluates with the averaged weights in place, and at the end of
/// training the averaged weights replace the trained ones.
/// </summary>
internal sealed class MovingAverage : TrainingCallback, IDisposable
{
    private readonly List<(Tensor Live, Tensor Average)> _pairs;
    private readonly double _decay;

    /// <summary>Tracks the parameters of <paramref name="module"/> that require gradients now (freeze first) and all its buffers.</summary>
    public MovingAverage(Module module, double decay)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(decay);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(decay, 1);
        _decay = decay;
        using var noGrad = torch.no_grad();
        // Frozen parameters never change, so their average is themselves: skipping them saves memory and time.
        var tensors = module.parameters().Where(p => p.requires_grad).Cast<Tensor>().Concat(module.buffers());
        // Owned here, not by a dispose scope: the averages live across every step of training.
        _pairs = [.. tensors.Select(t => (t, t.detach().clone().DetachFromDisposeScope()))];
    }

    /// <summary>Updates made so far.</summary>
    public long Updates { get; private set; }

    /// <summary>Called after weights are swapped in or out (a network that caches a folded inference plan drops it).</summary>
    public Action? Swapped { get; init; }

    /// <summary>
    /// The decay of update number <paramref name="updates"/> (0-based): the configured one, but at most (1 + t)/(10 + t), so the
    /// first hundreds of steps of a short run do not leave the average stuck near the starting weights.
    /// </summary>
    public static double DecayAt(double decay, long updates) => Math.Min(decay, (1.0 + updates) / (10.0 + updates));

    /// <summary>The averaged values, in the order of the module's trained parameters followed by its buffers (tests).</summary>
    public IReadOnlyList<Tensor> Averages => [.. _pairs.Select(p => p.Average)];

    public override void OnStepEnd(LoopState state, double lossSum, long correct, long seen) => Update();

    /// <summary>Moves every average towards the current weights.</summary>
    public void Update()
    {
        var d = DecayAt(_decay, Updates);
        using var noGrad = torch.no_grad();
        using var keep = TorchScalars.Of(d);
        using var take = TorchScalars.Of(1 - d);
        foreach (var (live, average) in _pairs)
        {
            // Integer buffers (batch counts) are not averaged; they follow the module.
            if (average.is_floating_point()) average.mul_(keep).add_(live, take);
            else average.copy_(live);
        }
        Updates++;
    }

    /// <summary>Runs <paramref name="evaluate"/> with the averaged weights in the module, then puts the trained ones back.</summary>
    public T WithAverage<T>(Func<T> evaluate)
    {
        ArgumentNullException.ThrowIfNull(evaluate);
        List<Tensor> backup;
        using (torch.no_grad())
        {
            backup = [.. _pairs.Select(p => p.Live.detach().clone().DetachFromDisposeScope())];
        }
        try
        {
            CopyAverages();
            return evaluate();
        }
        finally
        {
            using (torch.no_grad())
            {
                for (var i = 0; i < _pairs.Count; i++) _pairs[i].Live.copy_(backup[i]);
            }
            foreach (var t in backup) t.Dispose();
            Swapped?.Invoke();
        }
    }

    public override void OnTrainEnd(LoopState state) => CopyAverages();

    private void CopyAverages()
    {
        using (torch.no_grad())
        {
            foreach (var (live, average) in _pairs) live.copy_(average);
        }
        Swapped?.Invoke();
    }

    public void Dispose()
    {
        foreach (var (_, average) in _pairs) average.Dispose();
        _pairs.Clear();
    }
}
