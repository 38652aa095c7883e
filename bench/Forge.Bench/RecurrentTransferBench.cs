using System.Diagnostics;
using System.Globalization;
using System.Text;
using Forge.Data;
using Forge.DeepLearning;
using Forge.Text;

namespace Forge.Bench;

/// <summary>
/// Transfer learning against training from scratch, on the same texts: MiniLM + softmax regression (transfer), TF-IDF +
/// logistic regression, and a recurrent network learned from scratch (LSTM or GRU, whichever scores higher on its own
/// validation split), at 10, 30 and 100 % of the training part, for UCI sentences and airline tweets. Per seed S, all
/// three models use the stratified 80/20 split with seed S and the same stratified training sample (seed S), so they
/// differ only in what they know before training. MiniLM embeddings are computed once per text and cached.
/// </summary>
internal static class RecurrentTransferBench
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static void Run(BenchOptions o, IReadOnlyList<string> cells, IReadOnlyList<int> seeds, StringBuilder report)
    {
        var dataRoot = o.DataDir ?? Path.Combine(o.SharedDir, "data");
        double[] shares = [0.1, 0.3, 1.0];
        var files = MiniLmFiles.Extract();
        using var encoder = new SentenceEncoder(files);
        var cache = new EmbeddingCache();
        var clock = Stopwatch.StartNew();
        report.AppendLine(CultureInfo.InvariantCulture, $"## Transfer vs scratch: test accuracy, mean of seeds {string.Join(", ", seeds)} (min–max)");
        report.AppendLine();
        report.AppendLine(CultureInfo.InvariantCulture,
            $"Per seed S: stratified 80/20 split with seed S, the same stratified sample of the training part for every model. From scratch: {string.Join(" or ", cells)} (hidden 128, embedding 128, dropout 0.3, Adam 2e-3, up to 10 epochs, early stopping on a 10 % validation split), the cell with the higher validation accuracy per run.");
        report.AppendLine();
        report.AppendLine("| dataset | share | training texts | MiniLM + head (transfer) | TF-IDF + linear | best from scratch | cells chosen | scratch − TF-IDF |");
        report.AppendLine("|---|---:|---:|---:|---:|---:|---|---:|");
        foreach (var dataset in new[] { "sentiment", "airline-tweets" })
        {
            foreach (var share in shares)
            {
                var transfer = new List<double>();
                var tfidf = new List<double>();
                var scratch = new List<double>();
                var chosen = new List<string>();
                var trainCount = 0;
                foreach (var seed in seeds)
                {
                    var request = new SentimentTrainingRequest { Dataset = dataset, Seed = seed, DataDir = dataRoot, TrainShare = share };
                    var e = SentimentTraining.Run(request, encoder: encoder, cache: cache);
                    var b = SentimentTraining.Run(request with { Baseline = true });
                    transfer.Add(e.Test.Accuracy);
                    tfidf.Add(b.Test.Accuracy);
                    trainCount = e.TrainCount;
                    e.Model.Dispose();
                    b.Model.Dispose();
                    (string Cell, double Validation, double Test)? best = null;
                    foreach (var cell in cells)
                    {
                        var r = SequenceTextTraining.Run(new SequenceTextRequest
                        {
                            Dataset = dataset,
                            DataDir = dataRoot,
                            SplitSeed = seed,
                            TrainShare = share,
                            Model = new SequenceModelOptions { Cell = SequenceModelOptions.ParseCell(cell), Dropout = 0.3 },
                            Options = SequenceTextTraining.DefaultOptions with { Seed = seed, Threads = o.Threads },
                        });
                        var validation = r.History.Max(h => h.ValidationAccuracy ?? double.NegativeInfinity);
                        Console.Error.WriteLine(string.Create(Inv,
                            $"[bench] {dataset} share {share:0.##} seed {seed} {cell}: validation {validation:P2}, test {r.Test.Accuracy:P2} ({r.History.Count} epochs, {r.TrainSeconds:F0} s); MiniLM {e.Test.Accuracy:P2}, TF-IDF {b.Test.Accuracy:P2}; {clock.Elapsed.TotalMinutes:F1} min so far"));
                        if (best is null || validation > best.Value.Validation) best = (cell, validation, r.Test.Accuracy);
                    }
                    scratch.Add(best!.Value.Test);
                    chosen.Add(best.Value.Cell);
                }
                var cellsChosen = string.Join(", ", chosen.GroupBy(c => c).Select(g => $"{g.Key} ×{g.Count()}"));
                report.AppendLine(string.Create(Inv,
                    $"| {dataset} | {share:P0} | {trainCount:N0} | {Range(transfer)} | {Range(tfidf)} | {Range(scratch)} | {cellsChosen} | {(scratch.Average() - tfidf.Average()) * 100:+0.00;-0.00} pt |"));
            }
        }
        report.AppendLine();
        report.AppendLine(string.Create(Inv, $"{clock.Elapsed.TotalMinutes:F1} minutes for the table, {cache.Count:N0} texts embedded once."));
        report.AppendLine();
    }

    private static string Range(List<double> values) =>
        string.Create(Inv, $"{values.Average() * 100:F2} % ({values.Min() * 100:F2}–{values.Max() * 100:F2})");
}
