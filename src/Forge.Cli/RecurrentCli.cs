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
    }

    public static bool IsAddingProblem(string dataset) => dataset.Trim().Equals(AddingProblem.DatasetName, StringComparison.OrdinalIgnoreCase);

    /// <summary>Refuses the adding-problem options on a real dataset.</summary>
    public static void RefuseOptions(ParseResult p, string dataset)
    {
        var given = new[] { Length.Name, MaxSteps.Name }.Where(n => Given(p, n)).ToArray();
        if (given.Length > 0) throw new UsageException($"{string.Join(", ", given)} {(given.Length == 1 ? "applies" : "apply")} to 'forge train adding-problem' only, not to '{dataset}'");
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

    private sealed class Progress(ProgressDisplay bar, AddingProblemOptions o) : IProgress<AddingProblemPoint>
    {
        public void Report(AddingProblemPoint value)
        {
            bar.Update((double)value.Step / o.MaxSteps, string.Create(CultureInfo.InvariantCulture, $"step {value.Step}/{o.MaxSteps} test MSE {value.TestMse:F4}"));
            if (value.Step % 1000 == 0) bar.Line(string.Create(CultureInfo.InvariantCulture, $"step {value.Step}: test MSE {value.TestMse:F4}, {value.Seconds:F1} s"));
        }
    }
}
