using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Forge.DeepLearning;
using Forge.DeepLearning.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Forge.Bench;

/// <summary>
/// Recurrent networks side by side with the unchanged PyTorch reference (../shared/reference/torch_lstm.py):
/// speed (embedding 20k×128, 1 layer hidden 128, sequence 64, batch 64, Adam: ms per training step, inference sequences/s
/// at batch 256) and the adding problem (test MSE, steps and seconds to MSE &lt; 0.01, the gradient decay ratio).
/// --only speed,adding,rnn,lstm,gru picks parts and cells; --seeds the adding seeds; --limit the adding step budget
/// (default 5000); --length T (default 100).
/// </summary>
internal static partial class RecurrentBench
{
    private const int Vocabulary = 20_000;
    private const int Sequence = 64;
    private const int Hidden = 128;
    private const int Batch = 64;
    private const int InferenceBatch = 256;
    private const int WarmupSteps = 20;
    private const int TimedSteps = 200;

    public static int Run(BenchOptions o)
    {
        var only = (o.Only ?? "speed,adding").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        // The forecasting part is its own suite: its table compares other models than the PyTorch reference's.
        if (only.Contains("forecast")) return ForecastBench.Run(o with { Only = string.Join(',', only.Where(s => s != "forecast")) });
        var cells = only.Where(s => s is "rnn" or "lstm" or "gru").ToArray();
        if (cells.Length == 0) cells = ["lstm", "gru", "rnn"];
        var parts = only.Where(s => s is "speed" or "adding" or "transfer").ToArray();
        if (parts.Length == 0) parts = ["speed", "adding"];
        var seeds = o.SeedsGiven ? o.Seeds : [1, 2, 3];
        var maxSteps = o.Limit ?? 5000;
        var length = o.Length;
        var report = new StringBuilder();
        var load = MachineLoad.Text(fields: null) ?? "unknown";
        report.AppendLine(CultureInfo.InvariantCulture, $"# Recurrent networks: Forge (TorchSharp {TorchRuntime.TorchSharpVersion}, libtorch {TorchRuntime.LibTorchVersion}) against PyTorch (torch_lstm.py)");
        report.AppendLine();
        report.AppendLine(CultureInfo.InvariantCulture, $"{DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, {o.Threads} threads each, load average at start {load}.");
        report.AppendLine();

        if (parts.Contains("speed"))
        {
            report.AppendLine(CultureInfo.InvariantCulture, $"## Speed: embedding {Vocabulary:N0}×128, hidden {Hidden}, sequence {Sequence}, batch {Batch}, Adam");
            report.AppendLine();
            report.AppendLine("Training: ms per step after 20 warm-up steps, mean of 200 (Forge: the training loop's step: forward, loss, backward, clipping at 1.0, Adam; PyTorch: the same without clipping). Inference: sequences/s at batch 256 (20 timed passes after 3).");
            report.AppendLine();
            report.AppendLine("| cell | Forge ms/step | PyTorch ms/step | ratio (≤ 0.8 wanted) | Forge seq/s | PyTorch seq/s | ratio (≥ 1.2 wanted) |");
            report.AppendLine("|---|---|---|---|---|---|---|");
            foreach (var cell in cells)
            {
                var (ms, seqs) = ForgeSpeed(cell, o.Threads);
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"forge {cell}: train {ms:F1} ms/step, inference {seqs:F0} sequences/s"));
                var reference = o.SkipReference ? null : PythonSpeed(o, cell);
                report.AppendLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {cell} | {ms:F1} | {Fmt(reference?.Ms, "F1")} | {Ratio(ms, reference?.Ms)} | {seqs:N0} | {Fmt(reference?.Seqs, "N0")} | {Ratio(seqs, reference?.Seqs)} |"));
            }
            report.AppendLine();
        }

        if (parts.Contains("adding"))
        {
            report.AppendLine(CultureInfo.InvariantCulture, $"## Adding problem, T = {length}, hidden 128, batch 64, Adam 1e-3, clipping 1.0, at most {maxSteps:N0} steps (stops at test MSE < 0.01)");
            report.AppendLine();
            report.AppendLine("| cell | seed | Forge test MSE | steps | s (train) | PyTorch test MSE | steps | s | Forge decay ratio init → after | PyTorch init → after |");
            report.AppendLine("|---|---|---|---|---|---|---|---|---|---|");
            foreach (var cell in cells)
            {
                foreach (var seed in seeds)
                {
                    var r = AddingProblem.Run(new AddingProblemOptions { Cell = SequenceModelOptions.ParseCell(cell), Length = length, MaxSteps = maxSteps, Seed = seed, Threads = o.Threads });
                    Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"forge adding T={length} {cell} seed={seed}: test MSE {r.FinalMse:F4} after {r.Steps} steps, {r.TrainSeconds:F1} s; at initialisation {AddingProblem.DescribeProfile(r.ProfileAtInit)}; after training {AddingProblem.DescribeProfile(r.ProfileAfter)}"));
                    var reference = o.SkipReference ? null : PythonAdding(o, cell, length, maxSteps, seed);
                    report.AppendLine(string.Create(CultureInfo.InvariantCulture,
                        $"| {cell} | {seed} | {r.FinalMse:F4} | {r.Steps} | {r.TrainSeconds:F1} | {Fmt(reference?.Mse, "F4")} | {Fmt(reference?.Steps, "F0")} | {Fmt(reference?.Seconds, "F1")} | {r.DecayRatioAtInit:G3} → {r.DecayRatioAfter:G3} | {reference?.RatioInit ?? "—"} → {reference?.RatioAfter ?? "—"} |"));
                }
            }
            report.AppendLine();
        }
        if (parts.Contains("transfer"))
        {
            // The plain RNN is left out unless named: it is the cell that cannot carry a signal over long texts.
            RecurrentTransferBench.Run(o, only.Any(s => s is "rnn" or "lstm" or "gru") ? cells : ["lstm", "gru"], seeds, report);
        }
        return Finish(o, report, "recurrent.md");
    }

    /// <summary>Closes a recurrent-suite report with the load at the end, prints it and writes it (to --report or bench/results/<paramref name="defaultFile"/>).</summary>
    internal static int Finish(BenchOptions o, StringBuilder report, string defaultFile)
    {
        var end = MachineLoad.Text(fields: null) ?? "unknown";
        report.AppendLine(CultureInfo.InvariantCulture, $"Load average at the end: {end}.");
        Console.WriteLine(report.ToString());
        var path = o.ReportPath ?? Path.Combine(o.RepoDir, "bench", "results", defaultFile);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, report.ToString());
        return 0;
    }

    /// <summary>Forge's training step as its training loop runs it, on one fixed batch; then eval-mode forward passes at batch 256.</summary>
    private static (double MsPerStep, double SequencesPerSecond) ForgeSpeed(string cell, int threads)
    {
        TorchRuntime.SetThreads(threads);
        torch.manual_seed(1);
        using var scope = NewDisposeScope();
        var options = new SequenceModelOptions { Cell = SequenceModelOptions.ParseCell(cell), HiddenSize = Hidden, EmbeddingSize = 128 };
        var network = new SequenceNetwork(options, Vocabulary, 0, 2);
        var trainer = new TrainerOptions { Optimizer = OptimizerKind.Adam, LearningRate = 1e-3, WeightDecay = 0, Schedule = LearningRateScheduleKind.None, Epochs = 2, Augment = false };
        using var optimizer = TrainingPieces.CreateOptimizer(network, trainer);
        // Token 0 is padding (its embedding row is fixed at zero), so ids are drawn from 1.
        var x = torch.randint(1, Vocabulary, [Batch, Sequence]);
        var y = torch.randint(0, 2, [Batch]);
        var state = new LoopState { Module = network };
        new TrainingLoop
        {
            Module = network,
            Forward = network.call,
            Loss = (output, target) => nn.functional.cross_entropy(output, target),
            Optimizer = optimizer,
            Schedule = new LearningRateSchedule(trainer, TimedSteps),
            Epochs = 2,
            // Epoch 1 warms up; epoch 2 is timed. The same batch each step, as the reference does.
            Batches = epoch => Enumerable.Range(0, epoch == 0 ? WarmupSteps : TimedSteps).Select(_ => new TrainingBatch(x, y, Batch)),
            Callbacks = [new GradientClipping(network, 1.0)],
        }.Run(state);
        var ms = state.History[1].Seconds * 1000 / TimedSteps;

        network.eval();
        var xi = torch.randint(1, Vocabulary, [InferenceBatch, Sequence]);
        using var noGrad = torch.no_grad();
        for (var i = 0; i < 3; i++)
        {
            using var inner = NewDisposeScope();
            network.call(xi);
        }
        const int passes = 20;
        var sw = Stopwatch.StartNew();
        for (var i = 0; i < passes; i++)
        {
            using var inner = NewDisposeScope();
            network.call(xi);
        }
        sw.Stop();
        return (ms, InferenceBatch * passes / sw.Elapsed.TotalSeconds);
    }

    private sealed record SpeedLine(double Ms, double Seqs);

    private sealed record AddingLine(double Mse, double Steps, double Seconds, string RatioInit, string RatioAfter);

    private static SpeedLine PythonSpeed(BenchOptions o, string cell)
    {
        var lines = Python(o, "speed", cell, o.Threads.ToString(CultureInfo.InvariantCulture), Sequence.ToString(CultureInfo.InvariantCulture), Hidden.ToString(CultureInfo.InvariantCulture));
        var m = lines.Select(l => SpeedRegex().Match(l)).FirstOrDefault(m => m.Success) ?? throw new InvalidOperationException("no speed line from torch_lstm.py");
        return new SpeedLine(double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture));
    }

    private static AddingLine PythonAdding(BenchOptions o, string cell, int length, int maxSteps, int seed)
    {
        var lines = Python(o, "adding", cell, o.Threads.ToString(CultureInfo.InvariantCulture), length.ToString(CultureInfo.InvariantCulture),
            maxSteps.ToString(CultureInfo.InvariantCulture), seed.ToString(CultureInfo.InvariantCulture));
        var result = lines.Select(l => AddingRegex().Match(l)).FirstOrDefault(m => m.Success) ?? throw new InvalidOperationException("no result line from torch_lstm.py");
        var ratios = lines.Select(l => RatioRegex().Match(l)).Where(m => m.Success).Select(m => m.Groups[1].Value).ToArray();
        return new AddingLine(double.Parse(result.Groups[1].Value, CultureInfo.InvariantCulture), double.Parse(result.Groups[2].Value, CultureInfo.InvariantCulture),
            double.Parse(result.Groups[3].Value, CultureInfo.InvariantCulture), ratios.ElementAtOrDefault(0) ?? "—", ratios.ElementAtOrDefault(1) ?? "—");
    }

    private static List<string> Python(BenchOptions o, params string[] args)
    {
        var psi = new ProcessStartInfo(o.Python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(Path.Combine(o.SharedDir, "reference", "torch_lstm.py"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi) ?? throw new InvalidOperationException("could not start " + o.Python);
        p.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null) Console.Error.WriteLine("[pytorch] " + e.Data);
        };
        p.BeginErrorReadLine();
        var lines = new List<string>();
        while (p.StandardOutput.ReadLine() is { } line)
        {
            Console.Error.WriteLine("[pytorch] " + line);
            lines.Add(line);
        }
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"torch_lstm.py exited with {p.ExitCode}; is python3-torch installed (bench/run-recurrent.sh installs it)?");
        return lines;
    }

    private static string Fmt(double? v, string format) => v is { } x && !double.IsNaN(x) ? x.ToString(format, CultureInfo.InvariantCulture) : "—";

    private static string Ratio(double forge, double? reference) =>
        reference is { } r && r > 0 ? (forge / r).ToString("F2", CultureInfo.InvariantCulture) + "×" : "—";

    [GeneratedRegex(@"train ([\d.]+) ms/step, inference ([\d.]+) sequences/s")]
    private static partial Regex SpeedRegex();

    [GeneratedRegex(@"test MSE ([\d.na]+) after (\d+) steps, ([\d.]+) s")]
    private static partial Regex AddingRegex();

    [GeneratedRegex(@"\|dL/dh_T\| / \|dL/dh_1\| = ([^ ]+) ")]
    private static partial Regex RatioRegex();
}
