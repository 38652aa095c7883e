using Forge.DeepLearning.Training;
using TorchSharp.Modules;

namespace Forge.DeepLearning;

/// <summary>Learning rate as a function of progress; its only mutable state (plateau's) is saved in checkpoints.</summary>
internal sealed class LearningRateSchedule : IRateSchedule
{
    private readonly TrainerOptions _o;
    private readonly long _totalSteps;

    public LearningRateSchedule(TrainerOptions options, long stepsPerEpoch)
    {
        _o = options;
        _totalSteps = Math.Max(1, stepsPerEpoch * options.Epochs);
        PlateauRate = options.LearningRate;
    }

    /// <summary>Current rate of the plateau schedule.</summary>
    public double PlateauRate { get; set; }

    /// <summary>Best validation accuracy seen by the plateau schedule.</summary>
    public double PlateauBest { get; set; } = double.NegativeInfinity;

    /// <summary>Epochs since the plateau schedule last saw an improvement.</summary>
    public int PlateauWait { get; set; }

    /// <summary>The rate for global step <paramref name="step"/> (0-based) within epoch <paramref name="epoch"/> (0-based).</summary>
    public double At(long step, int epoch)
    {
        var lr = _o.LearningRate;
        switch (_o.Schedule)
        {
            case LearningRateScheduleKind.Step:
                return lr * Math.Pow(_o.Gamma, epoch / Math.Max(1, _o.StepEpochs));
            case LearningRateScheduleKind.Cosine:
                return lr * 0.5 * (1 + Math.Cos(Math.PI * step / _totalSteps));
            case LearningRateScheduleKind.OneCycle:
                {
                    // Warm up linearly over the first 25 % from lr/25, then anneal with a cosine to lr/1e4 (the one-cycle policy;
                    // PyTorch's OneCycleLR defaults differ slightly: 30 % warm-up, ending at lr/25/1e4).
                    var warm = 0.25 * _totalSteps;
                    double start = lr / 25, end = lr / 1e4;
                    if (step < warm) return start + (lr - start) * step / warm;
                    var t = (step - warm) / Math.Max(1, _totalSteps - warm);
                    return end + (lr - end) * 0.5 * (1 + Math.Cos(Math.PI * t));
                }
            case LearningRateScheduleKind.Plateau:
                return PlateauRate;
            default:
                return lr;
        }
    }

    /// <summary>Lets the plateau schedule react to an epoch's validation accuracy.</summary>
    public void EndEpoch(double? validationAccuracy)
    {
        if (_o.Schedule != LearningRateScheduleKind.Plateau || validationAccuracy is not { } acc) return;
        if (acc > PlateauBest + 1e-4)
        {
            PlateauBest = acc;
            PlateauWait = 0;
        }
        else if (++PlateauWait > _o.PlateauPatience)
        {
            PlateauRate *= _o.Gamma;
            PlateauWait = 0;
        }
    }

    /// <summary>Every parameter group trains at the schedule's rate.</summary>
    public void Apply(OptimizerHelper optimizer, long globalStep, int epoch)
    {
        var lr = At(globalStep, epoch);
        foreach (var g in optimizer.ParamGroups) g.LearningRate = lr;
    }

    /// <summary>The rate after the epoch's end (a plateau decay included).</summary>
    public double Reported(long globalStep, int epoch) => At(globalStep, epoch);
}
