using System.CommandLine;
using System.Globalization;
using Forge.Core;
using Forge.Data;
using Forge.DeepLearning;
using Forge.Tuning;

namespace Forge.Cli;

/// <summary>
/// <c>forge tune mnist</c>: tunes the image classifier's learning rate, batch size, dropout, channel width (cnn) and
/// epochs, maximising validation accuracy (a stratified share of the training images; the test set is never read).
/// Each epoch's validation accuracy is reported to the trial; when the pruner says stop, the trial's cancellation token
/// stops the training loop between steps and the trial is recorded PRUNED.
/// </summary>
internal static class TuneMnist
{
    private static readonly Option<int?> Limit = new("--limit") { Description = "Train on the first N training images (default 6000; 0 = all 60,000)" };
    private static readonly Option<int?> Validation = new("--validation")
    {
        Description = "Read --limit + N training images and score trials on a stratified N of them, instead of on 1/12 of the --limit ones: " +
            "a larger split measures each epoch's accuracy more finely for the pruner (at 98 %, the accuracy on 1,000 images has a standard " +
            "error of 0.44 points; on 5,000, 0.2)",
    };
    private static readonly Option<int> MaxEpochs = new("--max-epochs") { Description = "Largest epoch count a trial may draw (default 4); Hyperband's maximum resource", DefaultValueFactory = _ => 4 };
    private static readonly Option<string> Model = new("--model") { Description = "cnn (default) or mlp", DefaultValueFactory = _ => "cnn" };
    private static readonly Option<string?> DataDir = new("--data-dir") { Description = "The dataset's own folder" };
    private static readonly Option<int?> Threads = new("--threads") { Description = "Compute threads (default: all cores)" };
    private static readonly Option<bool> FixedEpochs = new("--fixed-epochs")
    {
        Description = "Train every trial for --max-epochs instead of tuning the epoch count, so the pruner alone decides how many epochs a trial gets (how Hyperband is meant to be used)",
    };

    /// <summary>The space for an architecture: a cnn also tunes its channel width (w, 2w, 4w per block).</summary>
    public static IReadOnlyDictionary<string, Distribution> Space(string model, int maxEpochs, bool fixedEpochs = false)
    {
        var space = new Dictionary<string, Distribution>(StringComparer.Ordinal)
        {
            ["lr"] = new FloatDistribution(3e-4, 3e-2, log: true),
            ["batchSize"] = new CategoricalDistribution([32, 64, 128]),
            ["dropout"] = new FloatDistribution(0, 0.5, step: 0.05),
        };
        if (!fixedEpochs) space["epochs"] = new IntDistribution(1, maxEpochs);
        if (model == "cnn") space["width"] = new CategoricalDistribution([8, 16, 32]);
        return space;
    }

    public static Command Create(TuneFlags flags, TextWriter output, TextWriter error, bool terminal)
    {
        var cmd = new Command("mnist", """
            Tune the MNIST classifier: lr (3e-4 to 3e-2, log), batchSize (32, 64, 128), dropout (0 to 0.5), epochs
            (1 to --max-epochs) and, for the cnn, the channel width (8, 16, 32 in the first block, doubling). Each trial
            maximises the validation accuracy of its last epoch, on 1/12 of the training images (or on N more with
            --validation N); every epoch's value is reported, so --pruner hyperband or asha stops poor trials early.
            With --fixed-epochs every trial is given --max-epochs and the pruner alone decides who stops sooner. The
            test set is not read.

            Examples:
              forge tune mnist --trials 16 --limit 6000 --pruner hyperband
              forge tune mnist --trials 20 --limit 12000 --max-epochs 9 --fixed-epochs --pruner hyperband
              forge tune mnist --model mlp --limit 12000 --validation 5000 --fixed-epochs --max-epochs 9 --pruner hyperband
            """)
        {
            Limit, Validation, MaxEpochs, Model, DataDir, Threads, FixedEpochs,
        };
        flags.AddTo(cmd);
        cmd.SetAction(p =>
        {
            var ctx = new CliContext(output, error, p.GetValue(CliApp.JsonOption), terminal);
            return CliApp.Guard(ctx, () => Run(ctx, p, flags));
        });
        return cmd;
    }

    private static int Run(CliContext ctx, ParseResult p, TuneFlags flags)
    {
        var model = p.GetValue(Model)!.Trim().ToLowerInvariant();
        var problems = new List<string>();
        if (model is not ("cnn" or "mlp")) problems.Add(CliFlags.Suggest($"--model: unknown value '{model}'", model, ["cnn", "mlp"]) + " (one of cnn, mlp)");
        var maxEpochs = p.GetValue(MaxEpochs);
        if (maxEpochs is < 1 or > 100) problems.Add($"--max-epochs must be 1 to 100 (got {maxEpochs})");
        var limit = p.GetValue(Limit) ?? 6000;
        if (limit is < 0 or (> 0 and < 100)) problems.Add($"--limit must be 0 (all) or at least 100 (got {limit})");
        var validation = p.GetValue(Validation);
        if (validation is { } v && (v < 10 || limit == 0)) problems.Add(limit == 0
            ? "--validation needs --limit: with all 60,000 training images there are none left to validate on"
            : $"--validation must be at least 10 images (got {v})");
        if (problems.Count > 0) throw new UsageException(string.Join("; ", problems));
        var fixedEpochs = p.GetValue(FixedEpochs);
        var space = Space(model, maxEpochs, fixedEpochs);
        var settings = flags.Read(p, space, StudyDirection.Maximize, maxStep: maxEpochs);
        var threads = p.GetValue(Threads) ?? 0;
        var seed = p.GetValue(flags.Seed) ?? 1;

        ImageSet train;
        using (var bar = ctx.Progress("read"))
        {
            bar.Update(0, "mnist");
            var data = new DatasetResolver(new DatasetResolverOptions { DataDir = p.GetValue(DataDir) }).Resolve("mnist");
            train = MnistFormat.Load(data.Directory, "train", data.Info.ClassNames);
            if (validation is { } extra && limit + extra > train.Count)
                throw new UsageException($"--limit {limit} plus --validation {extra} exceeds the {train.Count} MNIST training images");
            var take = limit + (validation ?? 0);
            if (limit > 0 && take < train.Count) train = train.Take(take);
        }
        // The trainer holds out a stratified fraction: this one leaves about --limit images to train on and --validation to score.
        var validationFraction = validation is { } n ? (double)n / train.Count : new TrainerOptions().ValidationFraction;
        var parameters = new Dictionary<string, string>
        {
            ["dataset"] = "mnist", ["model"] = model, ["limit"] = (train.Count - (validation ?? 0)).ToString(CultureInfo.InvariantCulture),
            ["maxEpochs"] = maxEpochs.ToString(CultureInfo.InvariantCulture), ["metric"] = "validation accuracy",
            ["fixedEpochs"] = fixedEpochs ? "true" : "false",
        };
        if (validation is { } held) parameters["validation"] = held.ToString(CultureInfo.InvariantCulture);
        using var session = TuneSession.Open(ctx, p, flags, settings, "mnist", parameters);
        using var cancel = new SignalCancellation();
        session.Optimize((trial, ct) => Objective(trial, space, model, train, seed, threads, fixedEpochs ? maxEpochs : null, validationFraction, ct), cancel.Token);
        var trials = session.Study.Trials;
        var epochs = trials.Sum(t => t.IntermediateValues.Count);
        // What the trials would have trained without pruning: their drawn epoch count, or --max-epochs when fixed.
        var full = fixedEpochs
            ? trials.Count(t => t.State is TrialState.Complete or TrialState.Pruned) * maxEpochs
            : trials.Where(t => t.Params.ContainsKey("epochs")).Sum(t => Convert.ToInt32(t.Params["epochs"], CultureInfo.InvariantCulture));
        session.FinishTracking(new Dictionary<string, double> { ["epochsTrained"] = epochs });
        if (ctx.Json)
        {
            var json = session.ToJson(trials);
            json["metric"] = "validation accuracy";
            json["epochsTrained"] = epochs;
            json["epochsWithoutPruning"] = full;
            ctx.WriteJson(json);
            return 0;
        }
        session.SayResult(trials, "validation accuracy");
        ctx.Say($"epochs trained: {epochs} of the {full} the trials asked for ({(full == 0 ? 0 : 100.0 * (full - epochs) / full):0.#}% saved by pruning)");
        return 0;
    }

    /// <summary>One trial: train with the suggested values, reporting each epoch's validation accuracy, and stop when pruned.</summary>
    private static double Objective(Trial trial, IReadOnlyDictionary<string, Distribution> space, string model, ImageSet train, int seed, int threads, int? fixedEpochs,
        double validationFraction, CancellationToken ct)
    {
        var v = space.ToDictionary(s => s.Key, s => trial.Suggest(s.Key, s.Value), StringComparer.Ordinal);
        var dropout = Convert.ToDouble(v["dropout"], CultureInfo.InvariantCulture);
        var spec = model == "cnn"
            ? ModelSpec.Cnn() with { Channels = Widths(Convert.ToInt32(v["width"], CultureInfo.InvariantCulture)), Dropout = dropout }
            : ModelSpec.Mlp() with { Dropout = dropout };
        var options = new TrainerOptions
        {
            LearningRate = Convert.ToDouble(v["lr"], CultureInfo.InvariantCulture),
            BatchSize = Convert.ToInt32(v["batchSize"], CultureInfo.InvariantCulture),
            Epochs = fixedEpochs ?? Convert.ToInt32(v["epochs"], CultureInfo.InvariantCulture),
            Seed = seed,
            Threads = threads,
            ValidationFraction = validationFraction,
        };
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var pruned = false;
        double? last = null;
        var progress = new InlineProgress<TrainingProgress>(s =>
        {
            if (s.Completed is not { } epoch || epoch.ValidationAccuracy is not { } accuracy) return;
            last = accuracy;
            trial.Report(epoch.Epoch, accuracy);
            // After the last epoch there is nothing left to save: a trial that trained in full is complete, so its value
            // counts (and the sampler learns from it as such) instead of being thrown away by a rung at the last step.
            if (epoch.Epoch < options.Epochs && trial.ShouldPrune())
            {
                pruned = true;
                // The loop checks its token between steps: the cleanest way to stop a trainer that is not ours.
                stop.Cancel();
            }
        });
        try
        {
            using var classifier = new ImageClassifierTrainer(spec, options).Fit(train, progress, stop.Token);
        }
        catch (OperationCanceledException) when (pruned && !ct.IsCancellationRequested)
        {
            throw new TrialPrunedException($"pruned after epoch {trial.Snapshot.LastStep}");
        }
        return last ?? throw new ForgeException("training reported no validation accuracy");
    }

    private static int[] Widths(int w) => [w, w * 2, w * 4];
}
