namespace Forge.DeepLearning;

/// <summary>Default training options for each built-in model, chosen on validation splits (see docs/deep-learning.md).</summary>
public static class Recipes
{
    /// <summary>The default options for a model name ("cnn", "mlp" or "reference-cnn").</summary>
    public static TrainerOptions For(string model) => model switch
    {
        // The reference network trains exactly as pytorch/examples' script does: Adam 1e-3, batch 64, no schedule,
        // no augmentation, all training images; so the side-by-side benchmark compares like with like.
        "reference-cnn" => new TrainerOptions
        {
            Epochs = 3, BatchSize = 64, Optimizer = OptimizerKind.Adam, LearningRate = 1e-3, WeightDecay = 0, Schedule = LearningRateScheduleKind.None,
            Augment = false, ValidationFraction = 0,
        },
        "mlp" => new TrainerOptions
        {
            Epochs = 12, BatchSize = 128, Optimizer = OptimizerKind.AdamW, LearningRate = 2e-3, WeightDecay = 1e-4, Schedule = LearningRateScheduleKind.OneCycle,
            Augment = true, AugmentShift = 1.5, AugmentRotation = 8,
        },
        _ => new TrainerOptions(),
    };
}
