using Forge.Core;

namespace Forge.DeepLearning;

/// <summary>Everything that shapes a training run, with the defaults of Forge's MNIST recipe. Hyperparameters only: no learned state.</summary>
public sealed record TrainerOptions
{
    /// <summary>Passes over the training split.</summary>
    public int Epochs { get; init; } = 8;

    /// <summary>Images per optimisation step.</summary>
    public int BatchSize { get; init; } = 64;

    /// <summary>"sgd", "adam", "adamw" or "adadelta".</summary>
    public string Optimizer { get; init; } = "adamw";

    /// <summary>Base (or, for one-cycle, peak) learning rate.</summary>
    public double LearningRate { get; init; } = 6e-3;

    /// <summary>SGD momentum.</summary>
    public double Momentum { get; init; } = 0.9;

    /// <summary>Use Nesterov momentum with SGD.</summary>
    public bool Nesterov { get; init; }

    /// <summary>L2 penalty (decoupled for AdamW).</summary>
    public double WeightDecay { get; init; } = 1e-4;

    /// <summary>"none", "step", "cosine", "onecycle" or "plateau".</summary>
    public string Schedule { get; init; } = "onecycle";

    /// <summary>Epochs between decays for the step schedule.</summary>
    public int StepEpochs { get; init; } = 1;

    /// <summary>Decay factor for the step and plateau schedules.</summary>
    public double Gamma { get; init; } = 0.7;

    /// <summary>Epochs without validation improvement before plateau decays the rate.</summary>
    public int PlateauPatience { get; init; } = 1;

    /// <summary>Clip the global gradient norm to this value (0 = no clipping).</summary>
    public double ClipGradNorm { get; init; }

    /// <summary>Stop after this many epochs without validation-accuracy improvement and keep the best weights (0 = off).</summary>
    public int EarlyStoppingPatience { get; init; }

    /// <summary>Share of the training set held out, stratified, for validation (0 = none). The test set is never used for a choice.</summary>
    public double ValidationFraction { get; init; } = 1.0 / 12;

    /// <summary>Seed for initialisation, shuffling, augmentation and dropout.</summary>
    public int Seed { get; init; } = 1;

    /// <summary>Intra-op threads (0 = all cores).</summary>
    public int Threads { get; init; }

    /// <summary>Random shifts and rotations of training images.</summary>
    public bool Augment { get; init; } = true;

    /// <summary>Largest shift, in pixels, when augmenting.</summary>
    public double AugmentShift { get; init; } = 2;

    /// <summary>Largest rotation, in degrees, when augmenting.</summary>
    public double AugmentRotation { get; init; } = 10;

    /// <summary>Record per-layer gradient norms every epoch.</summary>
    public bool DiagnoseGradients { get; init; }

    /// <summary>Folder for per-epoch checkpoints (null = none).</summary>
    public string? CheckpointDirectory { get; init; }

    /// <summary>Continue from the checkpoint in <see cref="CheckpointDirectory"/> when there is one.</summary>
    public bool Resume { get; init; }

    /// <summary>The optimiser names accepted.</summary>
    public static IReadOnlyList<string> Optimizers { get; } = ["sgd", "adam", "adamw", "adadelta"];

    /// <summary>The schedule names accepted.</summary>
    public static IReadOnlyList<string> Schedules { get; } = ["none", "step", "cosine", "onecycle", "plateau"];

    /// <summary>Checks every option and reports all problems in one error.</summary>
    public void Validate()
    {
        var problems = new List<string>();
        if (Epochs < 1) problems.Add($"epochs must be at least 1 (got {Epochs})");
        if (BatchSize < 1) problems.Add($"batch size must be at least 1 (got {BatchSize})");
        if (!(LearningRate > 0) || double.IsInfinity(LearningRate)) problems.Add($"learning rate must be positive (got {LearningRate})");
        if (!Optimizers.Contains(Optimizer)) problems.Add(Unknown("optimizer", Optimizer, Optimizers));
        if (!Schedules.Contains(Schedule)) problems.Add(Unknown("schedule", Schedule, Schedules));
        if (ValidationFraction is < 0 or >= 1) problems.Add($"validation fraction must be in [0, 1) (got {ValidationFraction})");
        if (ClipGradNorm < 0) problems.Add("gradient clipping norm must not be negative");
        if (Schedule == "plateau" && ValidationFraction == 0) problems.Add("the plateau schedule needs a validation split");
        if (EarlyStoppingPatience > 0 && ValidationFraction == 0) problems.Add("early stopping needs a validation split");
        if (Resume && CheckpointDirectory is null) problems.Add("resume needs a checkpoint directory");
        if (Threads < 0) problems.Add("threads must not be negative");
        if (!(Gamma > 0) || double.IsInfinity(Gamma)) problems.Add($"gamma must be a positive number (got {Gamma})");
        if (Momentum is < 0 or >= 1 || double.IsNaN(Momentum)) problems.Add($"momentum must be in [0, 1) (got {Momentum})");
        if (!(WeightDecay >= 0) || double.IsInfinity(WeightDecay)) problems.Add($"weight decay must not be negative (got {WeightDecay})");
        if (StepEpochs < 1) problems.Add($"step epochs must be at least 1 (got {StepEpochs})");
        if (PlateauPatience < 0) problems.Add($"plateau patience must not be negative (got {PlateauPatience})");
        if (EarlyStoppingPatience < 0) problems.Add($"early-stopping patience must not be negative (got {EarlyStoppingPatience})");
        if (!(AugmentShift >= 0)) problems.Add($"augmentation shift must not be negative (got {AugmentShift})");
        if (AugmentRotation is < 0 or > 180 || double.IsNaN(AugmentRotation)) problems.Add($"augmentation rotation must be in [0, 180] degrees (got {AugmentRotation})");
        if (Nesterov && Optimizer != "sgd") problems.Add("nesterov applies to the sgd optimizer only");
        if (problems.Count > 0) throw new UsageException(string.Join("; ", problems));
    }

    private static string Unknown(string what, string value, IReadOnlyList<string> known)
    {
        var s = NameSuggester.Closest(value, known);
        return $"unknown {what} '{value}'" + (s is null ? $" (one of {string.Join(", ", known)})" : $"; did you mean '{s}'?");
    }

    /// <summary>The options as name/value strings for a manifest or a tracking run.</summary>
    public IReadOnlyDictionary<string, string> ToDictionary() => new SortedDictionary<string, string>(StringComparer.Ordinal)
    {
        ["epochs"] = Epochs.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["batchSize"] = BatchSize.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["optimizer"] = Optimizer,
        ["learningRate"] = LearningRate.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        ["momentum"] = Momentum.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        ["nesterov"] = Nesterov ? "true" : "false",
        ["weightDecay"] = WeightDecay.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        ["schedule"] = Schedule,
        ["clipGradNorm"] = ClipGradNorm.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        ["earlyStoppingPatience"] = EarlyStoppingPatience.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["validationFraction"] = ValidationFraction.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        ["seed"] = Seed.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["augment"] = Augment ? "true" : "false",
    };
}
