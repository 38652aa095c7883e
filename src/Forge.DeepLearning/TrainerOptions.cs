using Forge.Core;

namespace Forge.DeepLearning;

/// <summary>The optimisers a training run can use.</summary>
public enum OptimizerKind
{
    /// <summary>Stochastic gradient descent with momentum (optionally Nesterov).</summary>
    Sgd,

    /// <summary>Adam.</summary>
    Adam,

    /// <summary>Adam with decoupled weight decay.</summary>
    AdamW,

    /// <summary>Adadelta.</summary>
    Adadelta,
}

/// <summary>How the learning rate moves during a run.</summary>
public enum LearningRateScheduleKind
{
    /// <summary>Constant.</summary>
    None,

    /// <summary>Multiplied by gamma every few epochs.</summary>
    Step,

    /// <summary>Cosine annealing from the base rate to zero.</summary>
    Cosine,

    /// <summary>Linear warm-up over the first quarter, then cosine annealing (the one-cycle policy).</summary>
    OneCycle,

    /// <summary>Multiplied by gamma when validation accuracy stops improving.</summary>
    Plateau,
}

/// <summary>Everything that shapes a training run, with the defaults of Forge's MNIST recipe. Hyperparameters only: no learned state.</summary>
public sealed record TrainerOptions
{
    /// <summary>Passes over the training split.</summary>
    public int Epochs { get; init; } = 8;

    /// <summary>Images per optimisation step.</summary>
    public int BatchSize { get; init; } = 64;

    /// <summary>The optimiser.</summary>
    public OptimizerKind Optimizer { get; init; } = OptimizerKind.AdamW;

    /// <summary>Base (or, for one-cycle, peak) learning rate.</summary>
    public double LearningRate { get; init; } = 6e-3;

    /// <summary>SGD momentum.</summary>
    public double Momentum { get; init; } = 0.9;

    /// <summary>Use Nesterov momentum with SGD.</summary>
    public bool Nesterov { get; init; }

    /// <summary>L2 penalty (decoupled for AdamW).</summary>
    public double WeightDecay { get; init; } = 1e-4;

    /// <summary>How the learning rate moves.</summary>
    public LearningRateScheduleKind Schedule { get; init; } = LearningRateScheduleKind.OneCycle;

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

    /// <summary>Checks every option and reports all problems in one <see cref="OptionsException"/>.</summary>
    public void Validate() => OptionsException.ThrowIfAny(FindProblems());

    /// <summary>Every problem with these options, each naming its option as <see cref="ToDictionary"/> does.</summary>
    public IReadOnlyList<OptionProblem> FindProblems()
    {
        var problems = new List<OptionProblem>();
        void Add(string option, string problem) => problems.Add(new OptionProblem(OptionsMap.Key(option), problem));
        if (Epochs < 1) Add(nameof(Epochs), $"must be at least 1 (got {Epochs})");
        if (BatchSize < 1) Add(nameof(BatchSize), $"must be at least 1 (got {BatchSize})");
        if (!(LearningRate > 0) || double.IsInfinity(LearningRate)) Add(nameof(LearningRate), $"must be positive (got {LearningRate})");
        if (!Enum.IsDefined(Optimizer)) Add(nameof(Optimizer), $"{(int)Optimizer} is not an optimiser");
        if (!Enum.IsDefined(Schedule)) Add(nameof(Schedule), $"{(int)Schedule} is not a schedule");
        if (ValidationFraction is < 0 or >= 1 || double.IsNaN(ValidationFraction)) Add(nameof(ValidationFraction), $"must be in [0, 1) (got {ValidationFraction})");
        if (!(ClipGradNorm >= 0)) Add(nameof(ClipGradNorm), $"must not be negative (got {ClipGradNorm})");
        if (Schedule == LearningRateScheduleKind.Plateau && ValidationFraction == 0) Add(nameof(Schedule), "plateau needs a validation split ({validationFraction} > 0)");
        if (EarlyStoppingPatience > 0 && ValidationFraction == 0) Add(nameof(EarlyStoppingPatience), "needs a validation split ({validationFraction} > 0)");
        if (Resume && CheckpointDirectory is null) Add(nameof(Resume), "needs a checkpoint directory ({checkpointDirectory})");
        if (Threads < 0) Add(nameof(Threads), $"must not be negative (got {Threads})");
        if (!(Gamma > 0) || double.IsInfinity(Gamma)) Add(nameof(Gamma), $"must be a positive number (got {Gamma})");
        if (Momentum is < 0 or >= 1 || double.IsNaN(Momentum)) Add(nameof(Momentum), $"must be in [0, 1) (got {Momentum})");
        if (!(WeightDecay >= 0) || double.IsInfinity(WeightDecay)) Add(nameof(WeightDecay), $"must not be negative (got {WeightDecay})");
        if (StepEpochs < 1) Add(nameof(StepEpochs), $"must be at least 1 (got {StepEpochs})");
        if (PlateauPatience < 0) Add(nameof(PlateauPatience), $"must not be negative (got {PlateauPatience})");
        if (EarlyStoppingPatience < 0) Add(nameof(EarlyStoppingPatience), $"must not be negative (got {EarlyStoppingPatience})");
        if (!(AugmentShift >= 0)) Add(nameof(AugmentShift), $"must not be negative (got {AugmentShift})");
        if (AugmentRotation is < 0 or > 180 || double.IsNaN(AugmentRotation)) Add(nameof(AugmentRotation), $"must be in [0, 180] degrees (got {AugmentRotation})");
        if (Nesterov && Optimizer != OptimizerKind.Sgd) Add(nameof(Nesterov), "applies to the sgd {optimizer} only");
        return problems;
    }

    /// <summary>Every option as name/value text for a manifest or a tracking run, generated from the properties so none is left out.</summary>
    public IReadOnlyDictionary<string, string> ToDictionary() => OptionsMap.From(this);
}
