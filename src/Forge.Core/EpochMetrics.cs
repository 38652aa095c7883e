namespace Forge.Core;

/// <summary>What one training epoch achieved; trainers produce it, plots and trackers read it.</summary>
/// <param name="Epoch">1-based epoch number.</param>
/// <param name="TrainLoss">Mean training loss over the epoch.</param>
/// <param name="TrainAccuracy">Training accuracy over the epoch (0–1), measured on the augmented batches as seen.</param>
/// <param name="ValidationLoss">Loss on the validation split, when there is one.</param>
/// <param name="ValidationAccuracy">Accuracy on the validation split (0–1), when there is one.</param>
/// <param name="LearningRate">Learning rate at the end of the epoch.</param>
/// <param name="Seconds">Wall time of the epoch's training steps.</param>
public sealed record EpochMetrics(
    int Epoch,
    double TrainLoss,
    double TrainAccuracy,
    double? ValidationLoss,
    double? ValidationAccuracy,
    double LearningRate,
    double Seconds)
{
    /// <summary>The epoch as run metrics: trainLoss, trainAccuracy, learningRate, epochSeconds and, with validation, validationLoss and validationAccuracy.</summary>
    public Dictionary<string, double> ToMetrics()
    {
        var metrics = new Dictionary<string, double>(StringComparer.Ordinal)
        {
            ["trainLoss"] = TrainLoss,
            ["trainAccuracy"] = TrainAccuracy,
            ["learningRate"] = LearningRate,
            ["epochSeconds"] = Seconds,
        };
        if (ValidationLoss is { } loss) metrics["validationLoss"] = loss;
        if (ValidationAccuracy is { } accuracy) metrics["validationAccuracy"] = accuracy;
        return metrics;
    }
}
