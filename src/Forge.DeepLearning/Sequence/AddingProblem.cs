using System.Diagnostics;
using System.Globalization;
using Forge.Core;
using Forge.DeepLearning.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Forge.DeepLearning;

/// <summary>
/// The adding problem (Hochreiter and Schmidhuber 1997) with the recipe of the PyTorch reference
/// (../shared/reference/torch_lstm.py): each step is a (value, marker) pair, values uniform in [0, 1), one marker in
/// each half of the sequence; the target is the sum of the two marked values. Always answering 1.0 scores MSE 0.167.
/// </summary>
public sealed record AddingProblemOptions
{
    /// <summary>The recurrent cell.</summary>
    public RecurrentCell Cell { get; init; } = RecurrentCell.Lstm;

    /// <summary>Sequence length T (default 100).</summary>
    public int Length { get; init; } = 100;

    /// <summary>Most optimiser steps (default 5,000).</summary>
    public int MaxSteps { get; init; } = 5000;

    /// <summary>Seed: weights from it, data (test set, batches, gradient profiles) from one generator seeded with seed + 1000.</summary>
    public int Seed { get; init; } = 1;

    /// <summary>Hidden width (default 128).</summary>
    public int HiddenSize { get; init; } = 128;

    /// <summary>Sequences per step (default 64).</summary>
    public int BatchSize { get; init; } = 64;

    /// <summary>Adam's learning rate (default 1e-3).</summary>
    public double LearningRate { get; init; } = 1e-3;

    /// <summary>Global gradient-norm clipping (default 1.0).</summary>
    public double ClipGradNorm { get; init; } = 1.0;

    /// <summary>Steps between test evaluations (default 100).</summary>
    public int EvaluateEvery { get; init; } = 100;

    /// <summary>Fixed test sequences (default 1,000).</summary>
    public int TestSize { get; init; } = 1000;

    /// <summary>Stop at the first evaluation whose test MSE is below this (default 0.01; 0 trains every step).</summary>
    public double TargetMse { get; init; } = 0.01;

    /// <summary>Batches of <see cref="BatchSize"/> the gradient profile averages over (default 8).</summary>
    public int ProfileBatches { get; init; } = 8;

    /// <summary>Intra-op threads (0 = all cores).</summary>
    public int Threads { get; init; }

    /// <summary>Checks every option and reports all problems in one <see cref="OptionsException"/>.</summary>
    public void Validate()
    {
        var problems = new List<OptionProblem>();
        void Add(string option, string problem) => problems.Add(new OptionProblem(OptionsMap.Key(option), problem));
        if (!Enum.IsDefined(Cell)) Add(nameof(Cell), $"{(int)Cell} is not a recurrent cell");
        if (Length < 2) Add(nameof(Length), $"must be at least 2 (got {Length})");
        if (MaxSteps < 1) Add(nameof(MaxSteps), $"must be at least 1 (got {MaxSteps})");
        if (HiddenSize < 1) Add(nameof(HiddenSize), $"must be at least 1 (got {HiddenSize})");
        if (BatchSize < 1) Add(nameof(BatchSize), $"must be at least 1 (got {BatchSize})");
        if (!(LearningRate > 0) || double.IsInfinity(LearningRate)) Add(nameof(LearningRate), $"must be positive (got {LearningRate})");
        if (!(ClipGradNorm >= 0) || double.IsInfinity(ClipGradNorm)) Add(nameof(ClipGradNorm), $"must not be negative (got {ClipGradNorm})");
        if (EvaluateEvery < 1) Add(nameof(EvaluateEvery), $"must be at least 1 (got {EvaluateEvery})");
        if (TestSize < 1) Add(nameof(TestSize), $"must be at least 1 (got {TestSize})");
        if (!(TargetMse >= 0)) Add(nameof(TargetMse), $"must not be negative (got {TargetMse})");
        if (ProfileBatches < 1) Add(nameof(ProfileBatches), $"must be at least 1 (got {ProfileBatches})");
        if (Threads < 0) Add(nameof(Threads), $"must not be negative (got {Threads})");
        OptionsException.ThrowIfAny(problems);
    }

    /// <summary>Every option as name/value text for the tracked run.</summary>
    public IReadOnlyDictionary<string, string> ToDictionary() => OptionsMap.From(this);
}

/// <summary>One test evaluation of an adding-problem run.</summary>
/// <param name="Step">Optimiser steps taken.</param>
/// <param name="TestMse">Mean squared error on the fixed test set.</param>
/// <param name="Seconds">Training seconds so far (evaluations excluded).</param>
public sealed record AddingProblemPoint(long Step, double TestMse, double Seconds);

/// <summary>What an adding-problem run measured.</summary>
/// <param name="Options">The options run.</param>
/// <param name="Curve">Test MSE at every evaluation.</param>
/// <param name="ProfileAtInit">‖∂L/∂hₜ‖ for t = 1..T at initialisation (mean over the profile batches).</param>
/// <param name="ProfileAfter">The same after training.</param>
/// <param name="Steps">Steps taken.</param>
/// <param name="TrainSeconds">Seconds in training steps.</param>
/// <param name="TotalSeconds">Seconds from start to end, evaluations and profiles included.</param>
public sealed record AddingProblemResult(AddingProblemOptions Options, IReadOnlyList<AddingProblemPoint> Curve, double[] ProfileAtInit,
    double[] ProfileAfter, long Steps, double TrainSeconds, double TotalSeconds)
{
    /// <summary>Always predicting 1.0 scores 1/6 in expectation: the variance of the sum of two uniform values.</summary>
    public const double BaselineMse = 1.0 / 6;

    /// <summary>The last evaluation's test MSE.</summary>
    public double FinalMse => Curve.Count > 0 ? Curve[^1].TestMse : double.NaN;

    /// <summary>The first evaluation below the target MSE, when one was.</summary>
    public AddingProblemPoint? Reached => Options.TargetMse > 0 ? Curve.FirstOrDefault(p => p.TestMse < Options.TargetMse) : null;

    /// <summary>‖∂L/∂h_T‖ / ‖∂L/∂h₁‖ at initialisation: how much the gradient shrinks on its way back through T steps.</summary>
    public double DecayRatioAtInit => ProfileAtInit[^1] / ProfileAtInit[0];

    /// <summary>‖∂L/∂h_T‖ / ‖∂L/∂h₁‖ after training.</summary>
    public double DecayRatioAfter => ProfileAfter[^1] / ProfileAfter[0];

    /// <summary>The metrics a tracked run ends with.</summary>
    public Dictionary<string, double> ToMetrics() => new(StringComparer.Ordinal)
    {
        ["testMse"] = FinalMse,
        ["steps"] = Steps,
        ["trainSeconds"] = TrainSeconds,
        ["decayRatioAtInit"] = DecayRatioAtInit,
        ["decayRatioAfter"] = DecayRatioAfter,
    };
}

/// <summary>Runs the adding problem through the one training loop and measures the gradient profile through time.</summary>
public static class AddingProblem
{
    /// <summary>The name runs are tracked under, in place of a catalog dataset.</summary>
    public const string DatasetName = "adding-problem";

    private const double Tolerance = 0.04;

    /// <summary>Trains, evaluating every <see cref="AddingProblemOptions.EvaluateEvery"/> steps, and profiles the gradients before and after.</summary>
    /// <param name="options">What to run.</param>
    /// <param name="observer">Records the run (test MSE per evaluation as its epochs).</param>
    /// <param name="progress">Receives each evaluation.</param>
    /// <param name="addArtifacts">Writes files from the result (plots, JSON) before the run ends, so the observer can keep them.</param>
    /// <param name="cancellationToken">Stops training between steps.</param>
    public static AddingProblemResult Run(AddingProblemOptions options, ITrainingObserver? observer = null, IProgress<AddingProblemPoint>? progress = null,
        Action<AddingProblemResult>? addArtifacts = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        observer ??= TrainingObservers.None;
        var start = new TrainingStart("sequence", DatasetName, options.ToDictionary().ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal));
        return observer.Run(start, _ =>
        {
            var result = Train(options, observer, progress, cancellationToken);
            addArtifacts?.Invoke(result);
            return result;
        }, r =>
            new TrainingEnd(RunStatus.Finished, r.ToMetrics(), r.Curve.Count));
    }

    private static AddingProblemResult Train(AddingProblemOptions o, ITrainingObserver observer, IProgress<AddingProblemPoint>? progress, CancellationToken cancellationToken)
    {
        var total = Stopwatch.StartNew();
        TorchRuntime.SetThreads(o.Threads);
        using var scope = NewDisposeScope();
        torch.manual_seed(o.Seed);
        using var data = new Generator((ulong)o.Seed + 1000);
        var (xTest, yTest) = Batch(o.TestSize, o.Length, data);
        var network = new SequenceNetwork(new SequenceModelOptions { Cell = o.Cell, HiddenSize = o.HiddenSize }, 0, 2, 1);
        var atInit = GradientProfile(network, o, data);

        var trainer = new TrainerOptions
        {
            Optimizer = OptimizerKind.Adam,
            LearningRate = o.LearningRate,
            WeightDecay = 0,
            Schedule = LearningRateScheduleKind.None,
            Epochs = (o.MaxSteps + o.EvaluateEvery - 1) / o.EvaluateEvery,
            BatchSize = o.BatchSize,
            ClipGradNorm = o.ClipGradNorm,
            ValidationFraction = 0,
            Augment = false,
            Seed = o.Seed,
        };
        using var optimizer = TrainingPieces.CreateOptimizer(network, trainer);
        var curve = new List<AddingProblemPoint>();
        var callbacks = new List<TrainingCallback>();
        if (o.ClipGradNorm > 0) callbacks.Add(new GradientClipping(network, o.ClipGradNorm));
        callbacks.Add(new Hooks
        {
            EpochEnd = (s, m) =>
            {
                var point = new AddingProblemPoint(s.GlobalStep, m.ValidationLoss ?? double.NaN, s.TrainSeconds);
                curve.Add(point);
                observer.Epoch(s.History.Count, new Dictionary<string, double>(StringComparer.Ordinal)
                {
                    ["testMse"] = point.TestMse,
                    ["trainMse"] = m.TrainLoss,
                    ["step"] = point.Step,
                });
                progress?.Report(point);
                if (o.TargetMse > 0 && point.TestMse < o.TargetMse) s.StopRequested = true;
            },
        });
        var state = new LoopState { Module = network };
        new TrainingLoop
        {
            Module = network,
            Forward = network.call,
            Loss = (output, target) => nn.functional.mse_loss(output, target),
            Correct = CountClose,
            Optimizer = optimizer,
            Schedule = new LearningRateSchedule(trainer, o.EvaluateEvery),
            Epochs = trainer.Epochs,
            // Drawn from the one data generator at each step, in the reference's order: test set, profile, batches.
            Batches = epoch => Batches(o, data, Math.Min(o.EvaluateEvery, o.MaxSteps - (epoch * o.EvaluateEvery))),
            Validate = () =>
            {
                using var noGrad = torch.no_grad();
                using var inner = NewDisposeScope();
                var output = network.call(xTest);
                var mse = nn.functional.mse_loss(output, yTest).item<float>();
                return (mse, (double)CountClose(output, yTest) / o.TestSize);
            },
            Callbacks = callbacks,
            Cancellation = cancellationToken,
        }.Run(state);
        var after = GradientProfile(network, o, data);
        return new AddingProblemResult(o, curve, atInit, after, state.GlobalStep, state.TrainSeconds, total.Elapsed.TotalSeconds);
    }

    private static IEnumerable<TrainingBatch> Batches(AddingProblemOptions o, Generator data, int steps)
    {
        for (var i = 0; i < steps; i++)
        {
            var (x, y) = Batch(o.BatchSize, o.Length, data);
            yield return new TrainingBatch(x, y, o.BatchSize);
        }
    }

    // The share of answers within 0.04 of the sum: Hochreiter and Schmidhuber's criterion for a solved sequence.
    private static long CountClose(Tensor output, Tensor target)
    {
        using var tolerance = TorchScalars.Of(Tolerance);
        using var diff = output.sub(target);
        using var abs = diff.abs();
        using var close = abs.lt(tolerance);
        using var count = close.sum();
        return count.item<long>();
    }

    /// <summary>
    /// <paramref name="n"/> sequences of length <paramref name="length"/>: [n, T, 2] (value, marker) and [n, 1] targets,
    /// drawn as the reference draws them (values, then the first marker's position in [0, T/2), then the second's in [T/2, T)).
    /// </summary>
    internal static (Tensor X, Tensor Y) Batch(int n, int length, Generator generator)
    {
        var values = torch.rand(n, length, generator: generator);
        var first = torch.randint(0, length / 2, [n], generator: generator);
        var second = torch.randint(length / 2, length, [n], generator: generator);
        var markers = nn.functional.one_hot(first, length).add(nn.functional.one_hot(second, length)).to_type(ScalarType.Float32);
        var x = torch.stack([values, markers], 2);
        var y = values.mul(markers).sum(1, keepdim: true);
        return (x, y);
    }

    /// <summary>
    /// ‖∂L/∂hₜ‖ for t = 1..T, mean over <see cref="AddingProblemOptions.ProfileBatches"/> batches: layer 0's weights copied
    /// into a cell unrolled one step at a time (as the reference does), so every hₜ is a node autograd can differentiate to.
    /// </summary>
    internal static double[] GradientProfile(SequenceNetwork network, AddingProblemOptions o, Generator data)
    {
        var hidden = o.HiddenSize;
        var norms = new double[o.Length];
        using var cell = BuildCell(o.Cell, network.InputFeatures, hidden);
        var source = network.Recurrent.named_parameters().ToDictionary(p => p.name, p => p.parameter, StringComparer.Ordinal);
        using (torch.no_grad())
        {
            foreach (var (name, p) in cell.named_parameters()) p.copy_(source[name + "_l0"]);
        }
        for (var b = 0; b < o.ProfileBatches; b++)
        {
            using var scope = NewDisposeScope();
            var (x, y) = Batch(o.BatchSize, o.Length, data);
            var h = torch.zeros(o.BatchSize, hidden);
            var c = torch.zeros(o.BatchSize, hidden);
            var states = new List<Tensor>(o.Length);
            for (var t = 0; t < o.Length; t++)
            {
                var input = x.select(1, t);
                switch (cell)
                {
                    case LSTMCell lstm:
                        (h, c) = lstm.call(input, (h, c));
                        break;
                    case GRUCell gru:
                        h = gru.call(input, h);
                        break;
                    case RNNCell rnn:
                        h = rnn.call(input, h);
                        break;
                }
                states.Add(h);
            }
            var loss = nn.functional.mse_loss(network.Head.call(h), y);
            var grads = torch.autograd.grad([loss], states);
            for (var t = 0; t < o.Length; t++) norms[t] += grads[t].norm().item<float>();
        }
        for (var t = 0; t < o.Length; t++) norms[t] /= o.ProfileBatches;
        // The head's weights were only read; no gradient may leak into the next training step.
        network.zero_grad();
        return norms;
    }

    private static Module BuildCell(RecurrentCell kind, int input, int hidden) => kind switch
    {
        RecurrentCell.Lstm => LSTMCell(input, hidden),
        RecurrentCell.Gru => GRUCell(input, hidden),
        _ => RNNCell(input, hidden, NonLinearities.Tanh),
    };

    /// <summary>"|dL/dh_T| / |dL/dh_1| = 3.2e+18 (t=1: …, t=26: …)", the reference's line format.</summary>
    public static string DescribeProfile(double[] profile)
    {
        ArgumentNullException.ThrowIfNull(profile);
        var T = profile.Length;
        var points = new[] { 0, T / 4, T / 2, 3 * T / 4, T - 1 }.Select(t => string.Create(CultureInfo.InvariantCulture, $"t={t + 1}: {Lower(profile[t])}"));
        return string.Create(CultureInfo.InvariantCulture, $"|dL/dh_T| / |dL/dh_1| = {Lower(profile[^1] / profile[0])} ({string.Join(", ", points)})");
    }

    // Python's '.3g': three significant digits, a lower-case exponent.
    private static string Lower(double value) => value.ToString("G3", CultureInfo.InvariantCulture).ToLowerInvariant();
}
