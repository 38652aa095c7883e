using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Forge.Core;
using Forge.DeepLearning.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Forge.DeepLearning;

/// <summary>
/// A trained hourly forecaster: a recurrent network over windows of past hours (<see cref="SequenceNetwork"/> with a
/// one-value head) and the <see cref="ForecastSpec"/> that builds its inputs. Bundles are of flavor
/// <c>torch-sequence</c> (the same weights format as recurrent text models) with preprocessing kind <c>hourly-forecast</c>.
/// </summary>
public sealed class HourlyForecaster : IPredictor
{
    internal const string WeightsFile = "weights/model.dat";
    private const int InferenceBatch = 256;
    private readonly SequenceNetwork _network;

    internal HourlyForecaster(SequenceNetwork network, ForecastSpec spec, IReadOnlyList<EpochMetrics> history, double trainSeconds)
    {
        _network = network;
        _network.eval();
        Spec = spec;
        Signature = SignatureFor(spec);
        History = history;
        TrainSeconds = trainSeconds;
    }

    /// <summary>Window, horizon, scaling and split boundaries.</summary>
    public ForecastSpec Spec { get; }

    /// <summary>The architecture.</summary>
    public SequenceModelOptions Options => _network.Options;

    /// <summary>Per-epoch metrics of the training run (empty for a loaded model); loss is the masked MSE of the standardised count.</summary>
    public IReadOnlyList<EpochMetrics> History { get; }

    /// <summary>Seconds spent in training steps.</summary>
    public double TrainSeconds { get; }

    internal SequenceNetwork Network => _network;

    /// <inheritdoc />
    /// <remarks>One input per column, each [batch, window]; <see cref="Predict(Table)"/> takes the windows built from them.</remarks>
    public ModelSignature Signature { get; }

    /// <summary>The input <see cref="Predict(Table)"/> reads: windows as <see cref="ForecastSpec.WindowInput"/> builds them, [batch, window, features].</summary>
    public TensorSpec WindowSpec => new(WindowInputName, "float32", [-1, Spec.Window, ForecastSpec.Features]);

    /// <summary>The name of the built-window column.</summary>
    public const string WindowInputName = "window";

    /// <summary>Forecasts (in counts, below 0 answered as 0) for a batch of built windows (a tensor column <c>window</c>, see <see cref="WindowSpec"/>).</summary>
    public Prediction Predict(Table batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var column = ModelInputs.Tensor(batch, WindowSpec, "windows built by ForecastSpec.WindowInput");
        var z = Forward(_network, Spec, column.Values.ToArray(), batch.RowCount);
        return Prediction.Regression([.. z.Select(v => Math.Max(0, (v * Spec.CountStd) + Spec.CountMean))]);
    }

    /// <summary>
    /// Why the explainers refuse a forecaster, and what to use instead: LIME and KernelSHAP perturb features one at a
    /// time, while a forecast reads a window of hours whose values only mean something together.
    /// </summary>
    public static string NotExplained(string name) =>
        $"{name} is an hourly forecaster (torch-sequence, hourly-forecast), which the explainers do not support: its input is a window of consecutive hours, "
        + "which LIME and KernelSHAP cannot perturb one feature at a time; for feature attributions train the tabular model of the same data "
        + "(forge train bike-sharing --out DIR) and explain it (forge explain DIR --rows hours.csv, TreeSHAP), and watch the forecaster's inputs with forge monitor BUNDLE --current hours.csv";

    /// <summary>Whether a bundle holds an hourly forecaster.</summary>
    public static bool IsForecaster(ModelManifest manifest)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        return manifest.Flavor == SequenceClassifier.Flavor && (string?)manifest.Preprocessing["kind"] == ForecastSpec.PreprocessingKind;
    }

    /// <summary>
    /// Forecasts of hour end + horizon for each window end (a series index whose window <see cref="ForecastSpec.Accepts"/>),
    /// in counts (below 0 answered as 0).
    /// </summary>
    public double[] Predict(HourlySeries series, IReadOnlyList<int> ends)
    {
        ArgumentNullException.ThrowIfNull(series);
        ArgumentNullException.ThrowIfNull(ends);
        foreach (var e in ends)
        {
            if (e - Spec.Window + 1 < 0 || e >= series.Length)
                throw new UsageException(string.Create(CultureInfo.InvariantCulture, $"no full window of {Spec.Window} hours ends at series index {e} (the series has {series.Length} hours)"));
            if (!Spec.Accepts(series, e)) throw new UsageException(Spec.DescribeRefusal(series, e));
        }
        var z = PredictScaled(_network, Spec, series, ends);
        return [.. z.Select(v => Math.Max(0, (v * Spec.CountStd) + Spec.CountMean))];
    }

    internal static double[] PredictScaled(SequenceNetwork network, ForecastSpec spec, HourlySeries series, IReadOnlyList<int> ends)
    {
        var per = spec.Window * ForecastSpec.Features;
        var x = new float[ends.Count * per];
        for (var i = 0; i < ends.Count; i++) spec.Fill(series, ends[i], x.AsSpan(i * per, per));
        return Forward(network, spec, x, ends.Count);
    }

    // Batches of InferenceBatch windows, always cut the same way from the start, so the same windows in the same order
    // give the same forecasts to the last bit whichever front end built them.
    private static double[] Forward(SequenceNetwork network, ForecastSpec spec, float[] x, int count)
    {
        var result = new double[count];
        var per = spec.Window * ForecastSpec.Features;
        using var noGrad = torch.no_grad();
        // The network is a module with state (eval mode), read by one call at a time.
        lock (network)
        {
            network.eval();
            for (var s = 0; s < count; s += InferenceBatch)
            {
                using var scope = NewDisposeScope();
                var len = Math.Min(InferenceBatch, count - s);
                using var input = torch.tensor(x.AsSpan(s * per, len * per).ToArray(), [len, spec.Window, ForecastSpec.Features]);
                var output = network.call(input).data<float>().ToArray();
                for (var i = 0; i < len; i++) result[s + i] = output[i];
            }
        }
        return result;
    }

    /// <summary>Writes the weights into a bundle being built and returns its manifest; the caller adds metrics and training facts.</summary>
    public ModelManifest WriteTo(BundleWriter writer, string name)
    {
        ArgumentNullException.ThrowIfNull(writer);
        _network.save(writer.PathFor(WeightsFile));
        var model = Options.ToJson();
        model["inputFeatures"] = ForecastSpec.Features;
        return new ModelManifest
        {
            Name = name,
            Flavor = SequenceClassifier.Flavor,
            Task = "regression",
            Signature = SignatureFor(Spec),
            Preprocessing = Spec.ToJson(),
            Model = model,
            Versions = new RuntimeVersions("", TorchRuntime.TorchSharpVersion, TorchRuntime.LibTorchVersion),
        };
    }

    /// <summary>One input per column, each [batch, window] (dteday as text, the others numbers); one forecast of cnt per window.</summary>
    public static ModelSignature SignatureFor(ForecastSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return new ModelSignature(
            [.. HourlySeries.Columns.Select(c => new TensorSpec(c, c == "dteday" ? "string" : "float32", [-1, spec.Window]))],
            [new TensorSpec("cnt", "float32", [-1])], []);
    }

    /// <summary>Rebuilds a forecaster from a verified bundle of flavor <c>torch-sequence</c>, preprocessing <c>hourly-forecast</c>.</summary>
    public static HourlyForecaster Load(ModelBundle bundle)
    {
        ArgumentNullException.ThrowIfNull(bundle);
        var manifestPath = TorchBundles.ManifestPath(bundle);
        if (!IsForecaster(bundle.Manifest))
            throw new BundleException(manifestPath, $"not an hourly forecaster (flavor '{bundle.Manifest.Flavor}', preprocessing.kind '{bundle.Manifest.Preprocessing["kind"]}')");
        var model = TorchBundles.ModelSection(bundle, SequenceClassifier.Flavor);
        var options = SequenceModelOptions.FromJson(model);
        var spec = ForecastSpec.FromJson(bundle.Manifest.Preprocessing, manifestPath);
        var network = TorchBundles.LoadWeights(new SequenceNetwork(options, 0, ForecastSpec.Features, 1), bundle, WeightsFile, "the architecture in forge-model.json");
        return new HourlyForecaster(network, spec, [], 0);
    }

    /// <inheritdoc />
    public void Dispose() => _network.Dispose();
}

/// <summary>
/// Trains a recurrent forecaster through the one training loop: MSE of the standardised count, with the windows whose
/// target hour was missing (filled) kept in the batches but weighted 0, so they are left out of the loss. Early stopping
/// keeps the epoch with the lowest validation loss.
/// </summary>
internal static class HourlyForecastTrainer
{
    /// <summary>The loop's "accuracy" for a forecast: the share of observed target hours within this many standard deviations.</summary>
    public const double Tolerance = 0.25;

    public static HourlyForecaster Fit(SequenceModelOptions model, TrainerOptions o, ForecastSpec spec, HourlySeries series, int[] trainEnds, int[] validationEnds,
        IProgress<TrainingProgress>? progress, Action<EpochMetrics>? epochEnded, CancellationToken cancellationToken)
    {
        if (trainEnds.Length == 0) throw new UsageException("no training window: the series is shorter than the window and horizon");
        TorchRuntime.SetThreads(o.Threads);
        torch.manual_seed(o.Seed);
        using var scope = NewDisposeScope();
        var network = new SequenceNetwork(model, 0, ForecastSpec.Features, 1);
        using var optimizer = TrainingPieces.CreateOptimizer(network, o);
        long n = trainEnds.Length;
        var stepsPerEpoch = (n + o.BatchSize - 1) / o.BatchSize;
        var schedule = new LearningRateSchedule(o, stepsPerEpoch);
        var state = new LoopState { Module = network };
        using var seeding = new EpochSeeding(o.Seed);
        using var standard = new StandardCallbacks(o, network, optimizer, schedule, Fingerprint(model, o, spec),
            () => new SequenceNetwork(model, 0, ForecastSpec.Features, 1), progress, stepsPerEpoch, (_, metrics, _) => epochEnded?.Invoke(metrics),
            score: m => -m.ValidationLoss);
        standard.ResumeIfAsked(state);
        new TrainingLoop
        {
            Module = network,
            Forward = network.call,
            Loss = MaskedMse,
            Correct = CountClose,
            Optimizer = optimizer,
            Schedule = schedule,
            Epochs = o.Epochs,
            BeginEpoch = seeding.Begin,
            Batches = _ => Batches(spec, series, trainEnds, o.BatchSize, seeding.Generator),
            Validate = () => validationEnds.Length > 0 ? Evaluate(network, spec, series, validationEnds) : null,
            Callbacks = standard.All,
            Cancellation = cancellationToken,
        }.Run(state);
        TrainingPieces.KeepTrained(scope, network);
        return new HourlyForecaster(network, spec, state.History, state.TrainSeconds);
    }

    /// <summary>Mean squared error over the rows whose weight (target column 1) is 1; rows weighted 0 add nothing, gradients included.</summary>
    internal static Tensor MaskedMse(Tensor output, Tensor target)
    {
        using var one = TorchScalars.Of(1.0f);
        var y = target.select(1, 0);
        var w = target.select(1, 1);
        var diff = output.squeeze(1).sub(y);
        return diff.mul(diff).mul(w).sum().div(w.sum().clamp_min(one));
    }

    private static long CountClose(Tensor output, Tensor target)
    {
        using var tolerance = TorchScalars.Of(Tolerance);
        using var y = target.select(1, 0);
        using var w = target.select(1, 1);
        using var squeezed = output.squeeze(1);
        using var diff = squeezed.sub(y);
        using var abs = diff.abs();
        using var close = abs.lt(tolerance);
        using var observed = close.to_type(ScalarType.Float32).mul(w);
        using var count = observed.sum();
        return (long)count.item<float>();
    }

    private static IEnumerable<TrainingBatch> Batches(ForecastSpec spec, HourlySeries series, int[] ends, int batchSize, Generator generator)
    {
        var n = ends.Length;
        long[] order;
        using (var perm = torch.randperm(n, generator: generator)) order = perm.data<long>().ToArray();
        for (var start = 0; start < n; start += batchSize)
        {
            var len = Math.Min(batchSize, n - start);
            var rows = new int[len];
            for (var i = 0; i < len; i++) rows[i] = ends[order[start + i]];
            var (x, y, observed) = Tensors(spec, series, rows);
            yield return new TrainingBatch(x, y, Math.Max(1, observed));
        }
    }

    /// <summary>Inputs [n, window, features] and targets [n, 2] (standardised count, 1 if observed else 0) of the windows ending at <paramref name="ends"/>.</summary>
    internal static (Tensor X, Tensor Y, long Observed) Tensors(ForecastSpec spec, HourlySeries series, IReadOnlyList<int> ends)
    {
        var per = spec.Window * ForecastSpec.Features;
        var x = new float[ends.Count * per];
        var y = new float[ends.Count * 2];
        long observed = 0;
        for (var i = 0; i < ends.Count; i++)
        {
            spec.Fill(series, ends[i], x.AsSpan(i * per, per));
            var target = ends[i] + spec.Horizon;
            var filled = series.Filled[target];
            y[2 * i] = (float)((series.Count[target] - spec.CountMean) / spec.CountStd);
            y[(2 * i) + 1] = filled ? 0 : 1;
            observed += filled ? 0 : 1;
        }
        return (torch.tensor(x, [ends.Count, spec.Window, ForecastSpec.Features]), torch.tensor(y, [ends.Count, 2]), observed);
    }

    private static (double Loss, double Accuracy) Evaluate(SequenceNetwork network, ForecastSpec spec, HourlySeries series, int[] ends)
    {
        network.eval();
        using var noGrad = torch.no_grad();
        double sum = 0;
        long close = 0, observed = 0;
        for (var s = 0; s < ends.Length; s += 256)
        {
            using var scope = NewDisposeScope();
            var rows = ends.AsSpan(s, Math.Min(256, ends.Length - s)).ToArray();
            var (x, y, count) = Tensors(spec, series, rows);
            var output = network.call(x);
            sum += MaskedMse(output, y).item<float>() * count;
            close += CountClose(output, y);
            observed += count;
        }
        return (sum / Math.Max(1, observed), (double)close / Math.Max(1, observed));
    }

    private static string Fingerprint(SequenceModelOptions model, TrainerOptions o, ForecastSpec spec) =>
        JsonSerializer.Serialize(new
        {
            model = model.ToDictionary(),
            o = o.ToDictionary().Where(kv => kv.Key is not ("checkpointDirectory" or "resume" or "threads")).ToDictionary(kv => kv.Key, kv => kv.Value),
            spec = spec.ToJson().ToJsonString(),
        });
}
