using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Forge.Core;
using Forge.Data;
using Forge.DeepLearning;
using Forge.DeepLearning.Transfer;

namespace Forge.Bench;

/// <summary>
/// Chooses the fine-tuning default by repeated stratified k-fold cross-validation on the PlantVillage subset's 960 training
/// images only (the test split is never read): every candidate trains on k−1 folds and is scored on the held-out fold. Each
/// fold's result is appended as one JSON line to a results file, and folds already there are skipped, so an interrupted run
/// resumes where it stopped. The report is a Markdown table of each candidate's fold accuracies.
/// </summary>
internal static class TransferCvBench
{
    /// <summary>A candidate; <paramref name="PredictAt"/> &gt; 0 scores the model its options train at that input side instead (images decoded at 256/224 of it).</summary>
    private sealed record Candidate(string Label, TransferOptions Options, int PredictAt = 0)
    {
        /// <summary>The options the held-out fold is predicted with.</summary>
        public TransferOptions Prediction => PredictAt > 0 ? Options with { ImageSize = PredictAt, StoreSize = Options.AtImageSize(PredictAt).StoreSize } : Options;
    }

    /// <summary>One fold's outcome, as one line of the results file.</summary>
    private sealed record FoldResult(
        string Candidate, string Options, int Repeat, int Fold, int Folds, int TrainImages, int Correct, int Count, double Accuracy,
        double TrainSeconds, string Date, double LoadAverage, int Threads);

    // Labels keep their '+' and '×' readable in the file.
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>
    /// The candidates, each spelled out in full so the list does not move when TransferOptions.For adopts a winner: today's
    /// default, one per recipe option, a longer schedule, and a few combinations.
    /// </summary>
    private static List<Candidate> Candidates()
    {
        var ft = new TransferOptions
        {
            Mode = TransferMode.FineTune, FreezeBatchNormStatistics = true, Unfreeze = 4, Epochs = 8, BackboneLrMultiplier = 0.3, FlipAveraging = true,
            ValidationFraction = 0,
        }.AtImageSize(160);
        var ft224Turns = ft.AtImageSize(224) with { Augmentation = new RgbAugmentation { QuarterTurns = true } };
        var today = ft.AtImageSize(256) with { ProgressiveSize = 224, FullSizeEpochs = 0 };
        var ft256 = ft.AtImageSize(288) with { ProgressiveSize = 256, FullSizeEpochs = 0 };
        var fe = new TransferOptions { Mode = TransferMode.FeatureExtraction, Epochs = 60, LearningRate = 3e-3 };
        return
        [
            new("default: unfreeze 4, 160 px, 8 epochs, backbone ×0.3, flip averaging", ft),
            new("default + mixup α 0.2", ft with { MixupAlpha = 0.2 }),
            new("default + cutmix α 1", ft with { MixupAlpha = 1, CutMix = true }),
            new("default + EMA 0.999", ft with { EmaDecay = 0.999 }),
            new("default + layer decay 0.7", ft with { LayerDecay = 0.7 }),
            new("default + 5 test crops", ft with { TestCrops = 5 }),
            new("default, 12 epochs", ft with { Epochs = 12 }),
            new("progressive: 160 px, the last 2 of 8 epochs and prediction at 224 px", ft.AtImageSize(224) with { ProgressiveSize = 160, FullSizeEpochs = 2 }),
            new("160 px training, 224 px prediction", ft.AtImageSize(224) with { ProgressiveSize = 160, FullSizeEpochs = 0 }),
            new("default, 12 epochs + mixup α 0.2 + EMA 0.999", ft with { Epochs = 12, MixupAlpha = 0.2, EmaDecay = 0.999 }),
            // Added 2026-12-07, once a fold was seen to train in under 3 minutes here: the default's run leaves room for twice its compute.
            new("224 px throughout (training and prediction), 8 epochs", ft.AtImageSize(224)),
            // Prediction-time variants of two trained candidates: they share those candidates' models, so they cost no training.
            new("progressive: 160 px, the last 2 of 8 epochs and prediction at 224 px + 5 test crops", ft.AtImageSize(224) with { ProgressiveSize = 160, FullSizeEpochs = 2, TestCrops = 5 }),
            new("default, 12 epochs + mixup α 0.2 + EMA 0.999 + 5 test crops", ft with { Epochs = 12, MixupAlpha = 0.2, EmaDecay = 0.999, TestCrops = 5 }),
            new("160 px training, 224 px prediction + 5 test crops", ft.AtImageSize(224) with { ProgressiveSize = 160, FullSizeEpochs = 0, TestCrops = 5 }),
            // Added 2026-12-07 (third round). Training crops cover 35-100 % of the image, so a leaf looks larger in training than in
            // the centre crop; predicting at a larger side may match them (the "FixRes" effect). The four share one model per fold,
            // so their differences are those of prediction alone.
            new("224 px model (second run), predicted at 224 px", ft.AtImageSize(224), 224),
            new("224 px model (second run), predicted at 256 px", ft.AtImageSize(224), 256),
            new("224 px model (second run), predicted at 288 px", ft.AtImageSize(224), 288),
            new("224 px model (second run), predicted at 320 px", ft.AtImageSize(224), 320),
            new("224 px + quarter turns, predicted at 224 px", ft224Turns, 224),
            new("224 px + quarter turns, predicted at 288 px", ft224Turns, 288),
            new("224 px, 12 epochs, predicted at 224 px", ft.AtImageSize(224) with { Epochs = 12 }, 224),
            new("224 px, 12 epochs, predicted at 288 px", ft.AtImageSize(224) with { Epochs = 12 }, 288),
            // The default since 2026-12-07 (afternoon) exactly as a run trains it: training images decoded at 293 px and
            // cropped to 224, head warm-up features at 256 px. The rows above scored the 256 px side on models trained from
            // 256 px decodes instead; this one ran after the default's test runs (313, 311, 314 of 320).
            new("224 px training, 256 px prediction, as the default run trains it", today),
            // Added 2026-12-07 (fourth round), against the row above: a larger training side (the step from 160 to 224 px was
            // the largest gain so far; 256 px costs about 1.3× the compute and still fits the 15-minute run), with the larger
            // prediction sides it calls for, layer-wise decay, and a longer schedule (240 optimiser steps in a default run).
            new("256 px training, 288 px prediction", ft256),
            new("256 px training, predicted at 320 px", ft256, 320),
            new("224 px training, 256 px prediction + layer decay 0.7", today with { LayerDecay = 0.7 }),
            new("224 px training, 256 px prediction, 12 epochs", today with { Epochs = 12 }),
            new("224 px training, 256 px prediction + layer decay 0.7, 12 epochs", today with { LayerDecay = 0.7, Epochs = 12 }),
            new("224 px training, 256 px prediction + cutmix α 1", today with { MixupAlpha = 1, CutMix = true }),
            // Feature extraction keeps its own 15 % validation split (inside each fold's training part) to pick the head's epoch,
            // as the default run does; its two prediction-time variants share its trained head.
            new("feature extraction default: plain + 4 augmented views, 60 head epochs", fe),
            new("feature extraction + flip averaging", fe with { FlipAveraging = true }),
            new("feature extraction + flip averaging + 5 test crops", fe with { FlipAveraging = true, TestCrops = 5 }),
        ];
    }

    public static int Run(BenchOptions o)
    {
        var inv = CultureInfo.InvariantCulture;
        var resultsPath = Path.GetFullPath(o.CvResultsPath ?? Path.Combine(o.RepoDir, "bench", "results", "transfer-cv.jsonl"));
        var reportPath = o.ReportPath ?? Path.ChangeExtension(resultsPath, ".md");
        var listed = Candidates();
        var all = listed;
        if (o.SmokeEpochs is { } smoke)
            all = [.. listed.Select(c => c with { Label = $"{c.Label} [smoke: {smoke} epoch(s)]", Options = c.Options with { Epochs = smoke, HeadWarmupEpochs = Math.Min(c.Options.HeadWarmupEpochs, 5) } })];
        // --only takes '|'-separated label fragments ('=LABEL' for exactly that label); candidates run in the list's order.
        static bool Matches(string label, string part) => part.StartsWith('=') ? label == part[1..] : label.Contains(part, StringComparison.Ordinal);
        var candidates = o.Only is { } only ? [.. all.Where(c => only.Split('|').Any(part => Matches(c.Label, part)))] : all;
        var defaults = TransferOptions.For(TransferMode.FineTune);
        // Δ is measured against the first candidate (the default until 2026-12-07); say which one is today's default.
        if (o.SmokeEpochs is null)
            Console.Error.WriteLine(listed.FirstOrDefault(c => c.Options == defaults) is { } today
                ? $"[cv] today's fine-tuning default is the candidate '{today.Label}'"
                : "[cv] note: no candidate is today's TransferOptions.For(FineTune); the default changed since this list was written.");

        var done = Read(resultsPath);
        var request = new TransferRequest { Dataset = "plantvillage", DataDir = o.DataDir, OutputDirectory = "", LimitPerClass = o.Limit };
        var (folder, _, _) = TransferTraining.OpenDataset(request);
        // Only the training entries are used (and decoded): the test split plays no part in choosing.
        var (trainEntries, _) = TransferTraining.SplitEntries(folder, request);
        var trainImages = trainEntries.Count;
        if (!o.ReportOnly)
        {
            TorchRuntime.SetThreads(o.Threads);
            var decoded = new Dictionary<int, RgbImageSet>();
            RgbImageSet At(int storeSize)
            {
                if (!decoded.TryGetValue(storeSize, out var set)) decoded[storeSize] = set = RgbImageSet.Decode(trainEntries, folder.ClassNames, storeSize).Images;
                return set;
            }
            // Folds are dealt on the entries' labels, which every decoded size shares.
            var labels = trainEntries.Select(e => e.Label).ToArray();
            Console.Error.WriteLine($"[cv] {trainImages} training images, {candidates.Count} candidates, {o.Folds} folds × {o.Repeats} repeats; results in {resultsPath}");
            for (var repeat = 1; repeat <= o.Repeats; repeat++)
            {
                // Repeat r deals its folds with seed r; every candidate sees the same folds, so their differences are paired.
                var folds = DataSplits.StratifiedFolds(labels, folder.ClassNames.Count, o.Folds, repeat);
                for (var fold = 0; fold < o.Folds; fold++)
                {
                    var held = folds[fold];
                    var fit = folds.Where((_, i) => i != fold).SelectMany(f => f).Order().ToArray();
                    // Candidates that differ only in how they predict (test crops, flip averaging) share one trained model per fold.
                    foreach (var group in candidates.GroupBy(c => Summary(c.Options with { TestCrops = 1, FlipAveraging = false })))
                    {
                        var todo = new List<Candidate>();
                        foreach (var c in group)
                        {
                            if (done.Any(d => Same(d, c) && d.Repeat == repeat && d.Fold == fold && d.Folds == o.Folds && d.TrainImages == trainImages))
                                Console.Error.WriteLine($"[cv] skip (done): {c.Label}, repeat {repeat}, fold {fold + 1}/{o.Folds}");
                            else todo.Add(c);
                        }
                        if (todo.Count == 0) continue;
                        foreach (var result in RunFold(todo, At, fit, held, repeat, fold, o, trainImages))
                        {
                            done.Add(result);
                            Directory.CreateDirectory(Path.GetDirectoryName(resultsPath)!);
                            File.AppendAllText(resultsPath, JsonSerializer.Serialize(result, Json) + "\n");
                            Console.Error.WriteLine(string.Create(inv, $"[cv] {result.Candidate}, repeat {repeat}, fold {fold + 1}/{o.Folds}: {result.Correct}/{result.Count} = {result.Accuracy:P2} ({result.TrainSeconds:F0} s, load {result.LoadAverage:F2})"));
                        }
                    }
                }
            }
        }

        // A label whose options were edited since its folds ran is a new candidate: only rows with today's options count.
        var current = done.Where(d => d.Folds == o.Folds && d.TrainImages == trainImages && d.Repeat <= o.Repeats)
            .Where(d => all.FirstOrDefault(c => c.Label == d.Candidate) is not { } c || Same(d, c)).ToList();
        // The table lists every candidate, today's default first, whatever --only ran this time.
        var report = Report(all, current, o, trainImages);
        Console.WriteLine(report);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(reportPath))!);
        File.WriteAllText(reportPath, report);
        return 0;
    }

    private static bool Same(FoldResult done, Candidate c) => done.Candidate == c.Label && done.Options == Recorded(c);

    // A candidate as the results file records it: its options, and the prediction side when that is not the trained one.
    private static string Recorded(Candidate c) => Summary(c.Options) + (c.PredictAt > 0 ? $", predictedAt={c.PredictAt}" : "");

    private static List<FoldResult> RunFold(List<Candidate> group, Func<int, RgbImageSet> decodedAt, int[] fit, int[] held, int repeat, int fold, BenchOptions o, int trainImages)
    {
        var options = group[0].Options with { Threads = o.Threads, Seed = repeat };
        var clock = Stopwatch.StartNew();
        using var model = new TransferTrainer(options).Train(decodedAt(options.StoreSize).Select(fit));
        clock.Stop();
        var results = new List<FoldResult>();
        foreach (var c in group)
        {
            var mine = c.Prediction with { Threads = o.Threads, Seed = repeat };
            var heldOut = decodedAt(mine.StoreSize).Select(held);
            var report = ClassificationMetrics.EvaluateProbabilities(heldOut.Labels, model.PredictProbabilities(heldOut, mine), model.Labels);
            var correct = report.ConfusionMatrix.Select((row, i) => row[i]).Sum();
            results.Add(new FoldResult(c.Label, Recorded(c), repeat, fold, o.Folds, trainImages, correct, heldOut.Count, report.Accuracy,
                Math.Round(clock.Elapsed.TotalSeconds, 1), DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture), MachineLoad.OneMinute(), o.Threads));
        }
        return results;
    }

    // The options that set a candidate apart, in the generated map's words (threads and seed vary per run, not per candidate).
    private static string Summary(TransferOptions options)
    {
        var plain = OptionsMapOf(new TransferOptions());
        return string.Join(", ", OptionsMapOf(options).Where(kv => kv.Key is not ("threads" or "seed") && plain.GetValueOrDefault(kv.Key) != kv.Value).Select(kv => $"{kv.Key}={kv.Value}"));
    }

    private static SortedDictionary<string, string> OptionsMapOf(TransferOptions o) => Forge.Core.OptionsMap.From(o);

    private static List<FoldResult> Read(string path)
    {
        if (!File.Exists(path)) return [];
        var results = new List<FoldResult>();
        foreach (var line in File.ReadLines(path))
        {
            if (string.IsNullOrWhiteSpace(line)) continue;
            try
            {
                if (JsonSerializer.Deserialize<FoldResult>(line, Json) is { } r) results.Add(r);
            }
            catch (JsonException)
            {
                // A line cut short by a kill mid-write: that fold simply runs again.
                Console.Error.WriteLine($"[cv] ignoring an unreadable line in {path}");
            }
        }
        return results;
    }

    private static string Report(List<Candidate> candidates, List<FoldResult> results, BenchOptions o, int trainImages)
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine(inv, $"# Transfer-learning candidates by {o.Repeats}× repeated stratified {o.Folds}-fold cross-validation ({DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC)");
        sb.AppendLine();
        sb.AppendLine(inv, $"{trainImages} PlantVillage-subset training images (the test split is not read); each fold trains on the other {o.Folds - 1} folds (fine-tuning holds nothing out; feature extraction holds out 15 % of them to pick the head's epoch, as its default does) and is scored on its own. Δ is the paired mean difference from the first candidate of the same mode over the folds both have.");
        sb.AppendLine();
        sb.AppendLine("| candidate | folds done | mean accuracy | std | min – max | Δ vs the first of its mode (paired) | mean train s / fold | mean load |");
        sb.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        var labels = candidates.Select(c => c.Label).Concat(results.Select(r => r.Candidate)).Distinct().ToList();
        var modeOf = candidates.ToDictionary(c => c.Label, c => c.Options.Mode);
        TransferMode Mode(string label) => modeOf.GetValueOrDefault(label, TransferMode.FineTune);
        foreach (var label in labels)
        {
            var firstLabel = labels.First(l => Mode(l) == Mode(label));
            var first = results.Where(r => r.Candidate == firstLabel).ToDictionary(r => (r.Repeat, r.Fold), r => r.Accuracy);
            var mine = results.Where(r => r.Candidate == label).OrderBy(r => r.Repeat).ThenBy(r => r.Fold).ToList();
            if (mine.Count == 0)
            {
                sb.AppendLine(inv, $"| {label} | 0 | – | – | – | – | – | – |");
                continue;
            }
            var acc = mine.Select(r => r.Accuracy).ToArray();
            var mean = acc.Average();
            var std = acc.Length > 1 ? Math.Sqrt(acc.Sum(a => (a - mean) * (a - mean)) / (acc.Length - 1)) : double.NaN;
            var paired = mine.Where(r => first.ContainsKey((r.Repeat, r.Fold))).Select(r => r.Accuracy - first[(r.Repeat, r.Fold)]).ToArray();
            var delta = paired.Length > 0 ? string.Create(inv, $"{paired.Average() * 100:+0.00;-0.00;0.00} pts ({paired.Length})") : "–";
            sb.AppendLine(inv, $"| {label} | {mine.Count} | {mean * 100:F2}% | {std * 100:F2} | {acc.Min() * 100:F2}–{acc.Max() * 100:F2}% | {delta} | {mine.Average(r => r.TrainSeconds):F0} | {mine.Average(r => r.LoadAverage):F2} |");
        }
        return sb.ToString();
    }
}
