using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Forge.Core;
using Forge.Data;
using Forge.Text;

namespace Forge.Cli;

/// <summary><c>forge train sentiment|airline-tweets</c>: the text branch of the train command.</summary>
internal static class TextTrainingCli
{
    /// <summary>Whether <paramref name="dataset"/> is trained by the text branch.</summary>
    public static bool IsTextDataset(string dataset) =>
        SentimentTraining.Datasets.Contains(dataset.Trim().ToLowerInvariant());

    /// <summary>Refuses options that mean nothing for the dataset's kind, naming every one.</summary>
    public static void CheckOptions(ParseResult p, bool text, IReadOnlyList<Option> imageOnly, IReadOnlyList<Option> textOnly)
    {
        var wrong = (text ? imageOnly : textOnly).Where(o => p.GetResult(o) is { Implicit: false }).Select(o => o.Name).ToArray();
        if (wrong.Length == 0) return;
        var dataset = p.GetValue<string>("dataset");
        throw new UsageException(text
            ? $"{string.Join(", ", wrong)} {(wrong.Length == 1 ? "applies" : "apply")} to image datasets only, not to '{dataset}' (text training takes --include, --baseline, --seed, --limit, --threads)"
            : $"{string.Join(", ", wrong)} {(wrong.Length == 1 ? "applies" : "apply")} to the text datasets (sentiment, airline-tweets) only, not to '{dataset}'");
    }

    public static int Run(CliContext ctx, ParseResult p, SentimentTrainingRequest request, int? threads, TrackingOptions tracking)
    {
        request = request with
        {
            OutputDirectory = Path.GetFullPath(request.OutputDirectory!),
            EncoderOptions = threads is { } t ? new SentenceEncoderOptions { Workers = t } : null,
        };
        SentimentTraining.Validate(request);
        if (request.DataDir is not null)
        {
            foreach (var name in request.AllDatasets) TextDatasets.Resolve(name, request.DataDir);
        }
        using var observer = tracking.Observer(p, ctx);
        SentimentTrainingResult result;
        using (var bar = ctx.Progress("train"))
        using (var cancel = new SignalCancellation())
            result = SentimentTraining.Run(request with { Observer = observer, ReferenceWriter = Forge.Monitoring.BundleProfile.WriteText }, new Progress(bar), cancellationToken: cancel.Token);
        using (result.Model) Report(ctx, request, result, observer.RunId);
        return 0;
    }

    private static void Report(CliContext ctx, SentimentTrainingRequest request, SentimentTrainingResult r, string? runId)
    {
        if (ctx.Json)
        {
            var cv = new JsonObject();
            foreach (var (c, acc) in r.CrossValidation) cv[c.ToString("R", CultureInfo.InvariantCulture)] = acc;
            ctx.WriteJson(new JsonObject
            {
                ["bundle"] = r.Bundle?.Directory,
                ["runId"] = runId,
                ["dataset"] = request.Dataset,
                ["include"] = new JsonArray(request.Include.Select(i => (JsonNode)i).ToArray()),
                ["featurizer"] = r.Model.Featurizer,
                ["labels"] = new JsonArray(r.Labels.Select(l => (JsonNode)l).ToArray()),
                ["testAccuracy"] = r.Test.Accuracy,
                ["macroF1"] = r.Test.MacroF1,
                ["testMacroF1"] = r.Test.MacroF1,
                ["testLogLoss"] = r.Test.LogLoss,
                ["c"] = r.C,
                ["cvAccuracy"] = r.CrossValidation[r.C],
                ["crossValidation"] = cv,
                ["trainSeconds"] = Math.Round(r.TrainSeconds, 3),
                ["totalSeconds"] = Math.Round(r.TotalSeconds, 3),
                ["trainTexts"] = r.TrainCount,
                ["testTexts"] = r.TestCount,
                ["seed"] = request.Seed,
            });
            return;
        }
        var what = r.Model.Featurizer == TextClassifier.TfidfFeaturizer ? "TF-IDF baseline" : "MiniLM + softmax regression";
        ctx.Say(string.Create(CultureInfo.InvariantCulture,
            $"{what}: test accuracy {r.Test.Accuracy * 100:F2}% (macro-F1 {r.Test.MacroF1:F4}) on {r.TestCount:N0} test texts; C={r.C:G4} chosen by {request.Folds}-fold CV; {r.TrainSeconds:F1} s training"));
        if (r.Bundle is not null) ctx.Say($"bundle written to {r.Bundle.Directory}");
        if (runId is not null) ctx.Say($"tracked as run {runId} (forge runs show {TrackingCli.ShortId(runId)})");
    }

    /// <summary>A line per stage, and the bar within a stage.</summary>
    private sealed class Progress(ProgressDisplay bar) : IProgress<TextTrainingProgress>
    {
        private readonly Lock _gate = new();
        private string? _stage;

        // Encoding and cross-validation report from several threads; the bar draws one line at a time.
        public void Report(TextTrainingProgress value)
        {
            lock (_gate)
            {
                if (value.Stage != _stage || value.Fraction == 0)
                {
                    _stage = value.Stage;
                    bar.Line($"{value.Stage}: {value.Detail}");
                    return;
                }
                bar.Update(value.Fraction, $"{value.Stage} {value.Detail}");
            }
        }
    }
}
