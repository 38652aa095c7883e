using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Forge.Core;
using Forge.DeepLearning;

namespace Forge.Cli;

/// <summary><c>forge train bike-sharing --model lstm|gru|rnn</c>: an hourly demand forecaster trained from the series.</summary>
internal static class ForecastCli
{
    private static readonly Option<int?> Window = new("--window") { Description = "Forecasting (bike-sharing --model lstm|gru): past hours each forecast reads (default 168)" };
    private static readonly Option<int?> Horizon = new("--horizon") { Description = "Forecasting: forecast the single hour t + HORIZON (default 1; 24 for a day ahead)" };
    private static readonly Option<int?> MaxFilled = new("--max-filled") { Description = "Forecasting: most missing (filled) hours a window may hold (default 2/7 of the window: 48 of 168)" };

    // The options of 'forge train' a forecaster takes; any other given explicitly is refused.
    private static readonly HashSet<string> Allowed = new(StringComparer.Ordinal)
    {
        "--model", "--window", "--horizon", "--max-filled", "--epochs", "--batch-size", "--lr", "--optimizer", "--schedule", "--weight-decay", "--clip-grad",
        "--early-stopping", "--validation-fraction", "--seed", "--threads", "--dropout", "--hidden", "--layers", "--checkpoint-dir", "--resume",
        "--out", "--overwrite", "--name", "--data-dir", "--json", "--experiment", "--run-name", "--no-track", "--tracking",
    };

    public static void AddTrainOptions(Command train)
    {
        train.Options.Add(Window);
        train.Options.Add(Horizon);
        train.Options.Add(MaxFilled);
    }

    /// <summary>Whether this is bike sharing with a --model: a recurrent forecaster (the tabular recipe takes --learner).</summary>
    public static bool IsForecast(ParseResult p, string dataset) =>
        dataset.Trim().Equals("bike-sharing", StringComparison.OrdinalIgnoreCase) && Given(p, "--model");

    /// <summary>Refuses the forecasting options anywhere else.</summary>
    public static void RefuseOptions(ParseResult p, string dataset)
    {
        var given = new[] { Window.Name, Horizon.Name, MaxFilled.Name }.Where(n => Given(p, n)).ToArray();
        if (given.Length > 0)
            throw new UsageException($"{string.Join(", ", given)} {(given.Length == 1 ? "applies" : "apply")} to forecasting only (forge train bike-sharing --model lstm|gru), not to '{dataset}' without --model");
    }

    public static int Train(CliContext ctx, ParseResult p, TrackingOptions tracking)
    {
        var refused = p.CommandResult.Command.Options.Where(o => !Allowed.Contains(o.Name) && Given(p, o.Name)).Select(o => o.Name).ToArray();
        if (refused.Length > 0)
            throw new UsageException($"{string.Join(", ", refused)} {(refused.Length == 1 ? "does" : "do")} not apply to a forecaster (--model {p.GetValue<string>("--model")})");
        var request = new HourlyForecastRequest();
        var recipe = request.Options;
        var model = request.Model;
        var problems = new List<OptionProblem>();
        var hiddenSize = RecurrentCli.HiddenSize(p, problems);
        var outPath = Path.GetFullPath(p.GetValue<string>("--out")!);
        var explicitCheckpoint = p.GetValue<string?>("--checkpoint-dir");
        request = request with
        {
            DataDir = p.GetValue<string?>("--data-dir"),
            Model = model with
            {
                Cell = SequenceModelOptions.ParseCell(p.GetValue<string>("--model")!),
                HiddenSize = hiddenSize ?? model.HiddenSize,
                Layers = p.GetValue<int?>("--layers") ?? model.Layers,
                Dropout = p.GetValue<double?>("--dropout") ?? model.Dropout,
            },
            Options = RecurrentCli.LoopOptions(p, recipe, outPath, explicitCheckpoint, problems),
            Forecast = new ForecastOptions
            {
                Window = p.GetValue(Window) ?? 168,
                Horizon = p.GetValue(Horizon) ?? 1,
                MaxFilledHours = p.GetValue(MaxFilled),
            },
            OutputDirectory = outPath,
            Overwrite = p.GetValue<bool>("--overwrite"),
            Name = p.GetValue<string?>("--name"),
        };
        try
        {
            HourlyForecasting.Validate(request);
        }
        catch (OptionsException e)
        {
            problems.AddRange(e.Problems);
        }
        OptionsException.ThrowIfAny(problems);

        using var observer = tracking.Observer(p, ctx);
        HourlyForecastResult result;
        using (var bar = ctx.Progress("train"))
        using (var cancel = new SignalCancellation())
        {
            result = HourlyForecasting.Run(request with { Observer = observer, ReferenceWriter = Forge.Monitoring.BundleProfile.Write }, new EpochProgress(bar), cancel.Token);
        }
        if (explicitCheckpoint is null && Directory.Exists(request.Options.CheckpointDirectory)) Directory.Delete(request.Options.CheckpointDirectory!, true);
        var cell = request.Model.Cell.ToString().ToLowerInvariant();
        var spec = result.Spec;
        if (ctx.Json)
        {
            var json = new JsonObject
            {
                ["bundle"] = result.Bundle?.Directory,
                ["runId"] = observer.RunId,
                ["dataset"] = request.Dataset,
                ["model"] = cell,
                ["window"] = spec.Window,
                ["horizon"] = spec.Horizon,
                ["maxFilledHours"] = spec.MaxFilledHours,
                ["validationStart"] = HourlySeries.Format(spec.ValidationStart),
                ["testStart"] = HourlySeries.Format(spec.TestStart),
                ["epochs"] = result.History.Count,
                ["totalSeconds"] = Math.Round(result.TotalSeconds, 3),
                ["trainWindows"] = result.TrainWindows,
                ["history"] = new JsonArray([.. result.History.Select(h => (JsonNode)new JsonObject
                {
                    ["epoch"] = h.Epoch,
                    ["trainLoss"] = h.TrainLoss,
                    ["validationLoss"] = h.ValidationLoss,
                    ["seconds"] = h.Seconds,
                })]),
            };
            foreach (var (k, v) in HourlyForecasting.Metrics(result)) json[k] = v;
            ctx.WriteJson(json);
            return 0;
        }
        ctx.Say(string.Create(CultureInfo.InvariantCulture,
            $"bike-sharing {cell}, horizon {spec.Horizon} h, window {spec.Window} h: test RMSE {result.Test.Rmse:F2}, MAE {result.Test.Mae:F2} on {result.Test.Hours:N0} test hours (from {HourlySeries.Format(spec.TestStart)}) after {result.History.Count} epochs, {result.TrainSeconds:F1} s training"));
        ctx.Say(string.Create(CultureInfo.InvariantCulture,
            $"seasonal-naive (same hour one week earlier): test RMSE {result.SeasonalNaive.Rmse:F2}, MAE {result.SeasonalNaive.Mae:F2} on {result.SeasonalNaive.Hours:N0} hours; {result.SeasonalNaiveSkipped} test hours skipped (their week-earlier hour was missing)"));
        ctx.Say(string.Create(CultureInfo.InvariantCulture,
            $"validation (from {HourlySeries.Format(spec.ValidationStart)}): RMSE {result.Validation.Rmse:F2}; {result.FilledHours} missing hours filled; {result.RefusedWindows} windows refused (more than {spec.MaxFilledHours} filled hours)"));
        ctx.Say($"bundle written to {result.Bundle?.Directory}");
        if (observer.RunId is { } id) ctx.Say($"tracked as run {id} (forge runs show {TrackingCli.ShortId(id)})");
        return 0;
    }

    private static bool Given(ParseResult p, string name) =>
        p.CommandResult.Command.Options.FirstOrDefault(o => o.Name == name) is { } option && p.GetResult(option) is { Implicit: false };

    private sealed class EpochProgress(ProgressDisplay bar) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value)
        {
            if (value.Completed is { } m)
            {
                var val = m.ValidationLoss is { } v ? string.Create(CultureInfo.InvariantCulture, $", validation loss {v:F4}") : "";
                bar.Line(string.Create(CultureInfo.InvariantCulture, $"epoch {m.Epoch}/{value.Epochs}: loss {m.TrainLoss:F4} (MSE of the standardised count){val}, {m.Seconds:F1} s"));
                return;
            }
            bar.Update(((value.Epoch - 1) + ((double)value.Step / value.StepsPerEpoch)) / value.Epochs,
                string.Create(CultureInfo.InvariantCulture, $"epoch {value.Epoch}/{value.Epochs} step {value.Step}/{value.StepsPerEpoch} loss {value.Loss:F4}"));
        }
    }
}
