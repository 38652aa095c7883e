using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Forge.Core;
using Forge.DeepLearning;
using Forge.Reporting;

namespace Forge.Cli;

/// <summary><c>forge train adding-problem</c>: the vanishing-gradient experiment on a synthetic task generated from the seed.</summary>
internal static class RecurrentCli
{
    private static readonly Option<int?> Length = new("--length") { Description = "Adding problem: sequence length T (default 100)" };
    private static readonly Option<int?> MaxSteps = new("--max-steps") { Description = "Adding problem: most optimiser steps (default 5000; stops early once the test MSE is below 0.01)" };
    private static readonly Option<int?> Layers = new("--layers") { Description = "Recurrent text models (--model rnn|lstm|gru): stacked recurrent layers (default 1)" };
    private static readonly Option<bool> Bidirectional = new("--bidirectional") { Description = "Recurrent text models: read each text both ways" };
    private static readonly Option<int?> EmbeddingSize = new("--embedding-size") { Description = "Recurrent text models: word embedding width (default 128)" };
    private static readonly Option<double?> TrainFraction = new("--train-fraction") { Description = "Text models (MiniLM, TF-IDF and recurrent): train on this stratified share of the training split (default 1; the test split stays whole)" };

    // The options of 'forge train' a recurrent text model takes.
    private static readonly HashSet<string> TextAllowed = new(StringComparer.Ordinal)
    {
        "--model", "--epochs", "--batch-size", "--lr", "--optimizer", "--schedule", "--weight-decay", "--clip-grad", "--early-stopping",
        "--validation-fraction", "--seed", "--threads", "--dropout", "--hidden", "--layers", "--bidirectional", "--embedding-size",
        "--train-fraction", "--diagnose-gradients", "--checkpoint-dir", "--resume", "--out", "--overwrite", "--name", "--data-dir",
        "--json", "--experiment", "--run-name", "--no-track", "--tracking",
    };

    // The options of 'forge train' that mean something for the adding problem; any other given explicitly is refused.
    private static readonly HashSet<string> Allowed = new(StringComparer.Ordinal)
    {
        "--model", "--length", "--max-steps", "--seed", "--threads", "--out", "--overwrite", "--lr", "--batch-size", "--clip-grad",
        "--json", "--experiment", "--run-name", "--no-track", "--tracking",
    };

    public static void AddTrainOptions(Command train)
    {
        train.Options.Add(Length);
        train.Options.Add(MaxSteps);
        train.Options.Add(Layers);
        train.Options.Add(Bidirectional);
        train.Options.Add(EmbeddingSize);
        train.Options.Add(TrainFraction);
    }

    /// <summary>
    /// Whether this is a text dataset with a --model that is not an image architecture: such text models are recurrent
    /// ones trained from scratch here (a mistyped cell gets a suggestion there; an image model name is refused as before).
    /// </summary>
    public static bool IsRecurrentText(ParseResult p, string dataset) =>
        SequenceTextTraining.Datasets.Contains(dataset.Trim().ToLowerInvariant()) && Given(p, "--model")
        && !ModelSpec.Names.Contains(p.GetValue<string>("--model")!.Trim().ToLowerInvariant());

    public static int TrainText(CliContext ctx, ParseResult p, TrackingOptions tracking)
    {
        var dataset = p.GetValue<string>("dataset")!.Trim().ToLowerInvariant();
        var refused = p.CommandResult.Command.Options.Where(o => !TextAllowed.Contains(o.Name) && Given(p, o.Name)).Select(o => o.Name).ToArray();
        if (refused.Length > 0)
            throw new UsageException($"{string.Join(", ", refused)} {(refused.Length == 1 ? "does" : "do")} not apply to a recurrent text model (--model {p.GetValue<string>("--model")})");
        var request = new SequenceTextRequest();
        var recipe = request.Options;
        var model = request.Model;
        var problems = new List<OptionProblem>();
        var hiddenSize = HiddenSize(p, problems);
        var outPath = Path.GetFullPath(p.GetValue<string>("--out")!);
        var explicitCheckpoint = p.GetValue<string?>("--checkpoint-dir");
        request = request with
        {
            Dataset = dataset,
            DataDir = p.GetValue<string?>("--data-dir"),
            Model = model with
            {
                Cell = SequenceModelOptions.ParseCell(p.GetValue<string>("--model")!),
                HiddenSize = hiddenSize ?? model.HiddenSize,
                Layers = p.GetValue(Layers) ?? model.Layers,
                Bidirectional = p.GetValue(Bidirectional),
                EmbeddingSize = p.GetValue(EmbeddingSize) ?? model.EmbeddingSize,
                Dropout = p.GetValue<double?>("--dropout") ?? model.Dropout,
            },
            Options = LoopOptions(p, recipe, outPath, explicitCheckpoint, problems),
            TrainShare = p.GetValue(TrainFraction) ?? 1,
            OutputDirectory = outPath,
            Overwrite = p.GetValue<bool>("--overwrite"),
            Name = p.GetValue<string?>("--name"),
        };
        try
        {
            SequenceTextTraining.Validate(request);
        }
        catch (OptionsException e)
        {
            problems.AddRange(e.Problems);
        }
        OptionsException.ThrowIfAny(problems);

        using var observer = tracking.Observer(p, ctx);
        SequenceTextResult result;
        using (var bar = ctx.Progress("train"))
        using (var cancel = new SignalCancellation())
        {
            result = SequenceTextTraining.Run(request with { Observer = observer, ReferenceWriter = Forge.Monitoring.BundleProfile.WriteText }, new EpochProgress(bar), cancel.Token);
        }
        if (explicitCheckpoint is null && Directory.Exists(request.Options.CheckpointDirectory)) Directory.Delete(request.Options.CheckpointDirectory!, true);
        var cell = request.Model.Cell.ToString().ToLowerInvariant();
        if (ctx.Json)
        {
            ctx.WriteJson(new JsonObject
            {
                ["bundle"] = result.Bundle?.Directory,
                ["runId"] = observer.RunId,
                ["dataset"] = dataset,
                ["model"] = cell,
                ["testAccuracy"] = result.Test.Accuracy,
                ["testMacroF1"] = result.Test.MacroF1,
                ["testLogLoss"] = result.Test.LogLoss,
                ["epochs"] = result.History.Count,
                ["trainSeconds"] = Math.Round(result.TrainSeconds, 3),
                ["totalSeconds"] = Math.Round(result.TotalSeconds, 3),
                ["trainTexts"] = result.TrainTexts,
                ["testTexts"] = result.TestTexts,
                ["vocabularySize"] = result.VocabularySize,
                ["truncatedTrainingTexts"] = result.Truncated,
                ["history"] = new JsonArray([.. result.History.Select(h => (JsonNode)new JsonObject
                {
                    ["epoch"] = h.Epoch,
                    ["trainLoss"] = h.TrainLoss,
                    ["trainAccuracy"] = h.TrainAccuracy,
                    ["validationLoss"] = h.ValidationLoss,
                    ["validationAccuracy"] = h.ValidationAccuracy,
                    ["seconds"] = h.Seconds,
                })]),
            });
            return 0;
        }
        ctx.Say(string.Create(CultureInfo.InvariantCulture,
            $"{dataset} {cell} from scratch: test accuracy {result.Test.Accuracy * 100:F2}% (macro-F1 {result.Test.MacroF1:F4}) on {result.TestTexts:N0} test texts after {result.History.Count} epochs, {result.TrainSeconds:F1} s training; vocabulary {result.VocabularySize:N0} ids from {result.TrainTexts:N0} training texts"));
        ctx.Say($"bundle written to {result.Bundle?.Directory}");
        if (observer.RunId is { } id) ctx.Say($"tracked as run {id} (forge runs show {TrackingCli.ShortId(id)})");
        return 0;
    }

    /// <summary>The share of the training split a text model trains on (<c>--train-fraction</c>, default 1).</summary>
    public static double TrainShare(ParseResult p) => p.GetValue(TrainFraction) ?? 1;

    /// <summary>--hidden for a recurrent model: one whole number (a problem is recorded otherwise).</summary>
    internal static int? HiddenSize(ParseResult p, List<OptionProblem> problems)
    {
        var hidden = p.GetValue<string?>("--hidden");
        if (hidden is null) return null;
        if (int.TryParse(hidden, NumberStyles.Integer, CultureInfo.InvariantCulture, out var h)) return h;
        problems.Add(new OptionProblem("--hidden", $"'{hidden}' is not one whole number (a recurrent model has one hidden width)"));
        return null;
    }

    /// <summary>The training loop's flags over a recipe's options, as every recurrent trainer (text and forecasting) reads them.</summary>
    internal static TrainerOptions LoopOptions(ParseResult p, TrainerOptions recipe, string outPath, string? explicitCheckpoint, List<OptionProblem> problems) => recipe with
    {
        Epochs = p.GetValue<int?>("--epochs") ?? recipe.Epochs,
        BatchSize = p.GetValue<int?>("--batch-size") ?? recipe.BatchSize,
        LearningRate = p.GetValue<double?>("--lr") ?? recipe.LearningRate,
        Optimizer = CliFlags.Parse(p.GetValue<string?>("--optimizer"), "optimizer", recipe.Optimizer, problems),
        Schedule = CliFlags.Parse(p.GetValue<string?>("--schedule"), "schedule", recipe.Schedule, problems),
        WeightDecay = p.GetValue<double?>("--weight-decay") ?? recipe.WeightDecay,
        ClipGradNorm = p.GetValue<double?>("--clip-grad") ?? recipe.ClipGradNorm,
        EarlyStoppingPatience = p.GetValue<int?>("--early-stopping") ?? recipe.EarlyStoppingPatience,
        ValidationFraction = p.GetValue<double?>("--validation-fraction") ?? recipe.ValidationFraction,
        Seed = p.GetValue<int?>("--seed") ?? recipe.Seed,
        Threads = p.GetValue<int?>("--threads") ?? recipe.Threads,
        DiagnoseGradients = p.GetValue<bool>("--diagnose-gradients"),
        CheckpointDirectory = explicitCheckpoint is null ? outPath + ".checkpoint" : Path.GetFullPath(explicitCheckpoint),
        Resume = p.GetValue<bool>("--resume"),
    };

    public static bool IsAddingProblem(string dataset) => dataset.Trim().Equals(AddingProblem.DatasetName, StringComparison.OrdinalIgnoreCase);

    /// <summary>Refuses the adding-problem options on a real dataset.</summary>
    public static void RefuseOptions(ParseResult p, string dataset)
    {
        var given = new[] { Length.Name, MaxSteps.Name }.Where(n => Given(p, n)).ToArray();
        if (given.Length > 0) throw new UsageException($"{string.Join(", ", given)} {(given.Length == 1 ? "applies" : "apply")} to 'forge train adding-problem' only, not to '{dataset}'");
        string[] recurrentOnly = TextTrainingCli.IsTextDataset(dataset) ? [Layers.Name, Bidirectional.Name, EmbeddingSize.Name] : [Layers.Name, Bidirectional.Name, EmbeddingSize.Name, TrainFraction.Name];
        var recurrent = recurrentOnly.Where(n => Given(p, n)).ToArray();
        if (recurrent.Length > 0) throw new UsageException($"{string.Join(", ", recurrent)} {(recurrent.Length == 1 ? "applies" : "apply")} to recurrent text models only (forge train sentiment|airline-tweets --model rnn|lstm|gru), not to '{dataset}'");
    }

    public static int TrainAddingProblem(CliContext ctx, ParseResult p, TrackingOptions tracking)
    {
        var refused = p.CommandResult.Command.Options.Where(o => !Allowed.Contains(o.Name) && Given(p, o.Name)).Select(o => o.Name).ToArray();
        if (refused.Length > 0)
            throw new UsageException($"{string.Join(", ", refused)} {(refused.Length == 1 ? "does" : "do")} not apply to the adding problem (it takes --model rnn|lstm|gru, --length, --max-steps, --seed, --lr, --batch-size, --clip-grad, --threads)");
        var defaults = new AddingProblemOptions();
        var options = new AddingProblemOptions
        {
            Cell = Given(p, "--model") ? SequenceModelOptions.ParseCell(p.GetValue<string>("--model")!) : RecurrentCell.Lstm,
            Length = p.GetValue(Length) ?? defaults.Length,
            MaxSteps = p.GetValue(MaxSteps) ?? defaults.MaxSteps,
            Seed = p.GetValue<int?>("--seed") ?? defaults.Seed,
            LearningRate = p.GetValue<double?>("--lr") ?? defaults.LearningRate,
            BatchSize = p.GetValue<int?>("--batch-size") ?? defaults.BatchSize,
            ClipGradNorm = p.GetValue<double?>("--clip-grad") ?? defaults.ClipGradNorm,
            Threads = p.GetValue<int?>("--threads") ?? defaults.Threads,
        };
        try
        {
            options.Validate();
        }
        catch (OptionsException e)
        {
            throw new UsageException(string.Join("; ", e.Problems.Select(x => x.Render(Flag))));
        }
        var outDir = Path.GetFullPath(p.GetValue<string>("--out")!);
        OptionsException.ThrowIfAny([.. BundleOutput.FindProblems(outDir, p.GetValue<bool>("--overwrite"))]);

        using var observer = tracking.Observer(p, ctx);
        using var bar = ctx.Progress("adding");
        using var cancel = new SignalCancellation();
        var cell = options.Cell.ToString().ToLowerInvariant();
        var result = AddingProblem.Run(options, observer, new Progress(bar, options), r =>
        {
            // Written beside, then moved into place: a failed or interrupted run leaves no half-written folder.
            var staging = outDir + ".partial";
            if (Directory.Exists(staging)) Directory.Delete(staging, true);
            Directory.CreateDirectory(staging);
            File.WriteAllText(Path.Combine(staging, "adding-problem.json"), ToJson(r, null).ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
            RecurrentPlots.TestMseCurve([.. r.Curve.Select(c => c.Step)], [.. r.Curve.Select(c => c.TestMse)], AddingProblemResult.BaselineMse,
                Path.Combine(staging, "test-mse.png"), $"Adding problem T={options.Length}, {cell}, seed {options.Seed}: test MSE");
            RecurrentPlots.GradientProfile(r.ProfileAtInit, r.ProfileAfter, Path.Combine(staging, "gradient-profile.png"),
                string.Create(CultureInfo.InvariantCulture, $"Adding problem T={options.Length}, {cell}: ||dL/dh_t|| (decay ratio {r.DecayRatioAtInit:G2} at init, {r.DecayRatioAfter:G2} after)"));
            if (Directory.Exists(outDir)) Directory.Delete(outDir, true);
            Directory.Move(staging, outDir);
            observer.Artifact(outDir, "adding-problem");
        }, cancel.Token);

        if (ctx.Json)
        {
            ctx.WriteJson(ToJson(result, observer.RunId, outDir));
            return 0;
        }
        var reached = result.Reached is { } at
            ? string.Create(CultureInfo.InvariantCulture, $"; below {options.TargetMse} after {at.Step} steps, {at.Seconds:F1} s")
            : string.Create(CultureInfo.InvariantCulture, $"; not below {options.TargetMse}");
        ctx.Say(string.Create(CultureInfo.InvariantCulture,
            $"adding problem T={options.Length} {cell} seed={options.Seed}: test MSE {result.FinalMse:F4} after {result.Steps} steps, {result.TrainSeconds:F1} s (constant answer {AddingProblemResult.BaselineMse:F3}){reached}"));
        ctx.Say("at initialisation " + AddingProblem.DescribeProfile(result.ProfileAtInit));
        ctx.Say("after training     " + AddingProblem.DescribeProfile(result.ProfileAfter));
        ctx.Say($"plots and JSON written to {outDir}");
        if (observer.RunId is { } id) ctx.Say($"tracked as run {id} (forge runs show {TrackingCli.ShortId(id)})");
        return 0;
    }

    private static JsonObject ToJson(AddingProblemResult r, string? runId, string? outDir = null) => new()
    {
        ["task"] = AddingProblem.DatasetName,
        ["runId"] = runId,
        ["output"] = outDir,
        ["cell"] = r.Options.Cell.ToString().ToLowerInvariant(),
        ["length"] = r.Options.Length,
        ["seed"] = r.Options.Seed,
        ["steps"] = r.Steps,
        ["testMse"] = r.FinalMse,
        ["baselineMse"] = AddingProblemResult.BaselineMse,
        ["targetMse"] = r.Options.TargetMse,
        ["stepsToTarget"] = r.Reached?.Step,
        ["secondsToTarget"] = r.Reached?.Seconds,
        ["trainSeconds"] = Math.Round(r.TrainSeconds, 3),
        ["totalSeconds"] = Math.Round(r.TotalSeconds, 3),
        ["decayRatioAtInit"] = r.DecayRatioAtInit,
        ["decayRatioAfter"] = r.DecayRatioAfter,
        ["options"] = new JsonObject(r.Options.ToDictionary().Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value))),
        ["curve"] = new JsonArray([.. r.Curve.Select(c => (JsonNode)new JsonObject { ["step"] = c.Step, ["testMse"] = c.TestMse, ["seconds"] = Math.Round(c.Seconds, 3) })]),
        ["gradientProfileAtInit"] = new JsonArray([.. r.ProfileAtInit.Select(v => (JsonNode)v)]),
        ["gradientProfileAfter"] = new JsonArray([.. r.ProfileAfter.Select(v => (JsonNode)v)]),
    };

    private static bool Given(ParseResult p, string name) =>
        p.CommandResult.Command.Options.FirstOrDefault(o => o.Name == name) is { } option && p.GetResult(option) is { Implicit: false };

    private static string Flag(string option) => option switch
    {
        "cell" => "--model",
        "length" => "--length",
        "maxSteps" => "--max-steps",
        "learningRate" => "--lr",
        "batchSize" => "--batch-size",
        "clipGradNorm" => "--clip-grad",
        "seed" => "--seed",
        "threads" => "--threads",
        _ => option,
    };

    private sealed class EpochProgress(ProgressDisplay bar) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value)
        {
            if (value.Completed is { } m)
            {
                var val = m.ValidationAccuracy is { } v ? string.Create(CultureInfo.InvariantCulture, $", val acc {v * 100:F2}%") : "";
                bar.Line(string.Create(CultureInfo.InvariantCulture, $"epoch {m.Epoch}/{value.Epochs}: loss {m.TrainLoss:F4}, train acc {m.TrainAccuracy * 100:F2}%{val}, {m.Seconds:F1} s"));
                return;
            }
            bar.Update(((value.Epoch - 1) + ((double)value.Step / value.StepsPerEpoch)) / value.Epochs,
                string.Create(CultureInfo.InvariantCulture, $"epoch {value.Epoch}/{value.Epochs} step {value.Step}/{value.StepsPerEpoch} loss {value.Loss:F4}"));
        }
    }

    private sealed class Progress(ProgressDisplay bar, AddingProblemOptions o) : IProgress<AddingProblemPoint>
    {
        public void Report(AddingProblemPoint value)
        {
            bar.Update((double)value.Step / o.MaxSteps, string.Create(CultureInfo.InvariantCulture, $"step {value.Step}/{o.MaxSteps} test MSE {value.TestMse:F4}"));
            if (value.Step % 1000 == 0) bar.Line(string.Create(CultureInfo.InvariantCulture, $"step {value.Step}: test MSE {value.TestMse:F4}, {value.Seconds:F1} s"));
        }
    }
}
