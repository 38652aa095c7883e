using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Forge.Data;
using Forge.DeepLearning;

namespace Forge.Bench;

/// <summary>Forge vs the PyTorch reference on MNIST, in one run on one machine.</summary>
internal static partial class MnistBench
{
    private sealed record EpochPoint(int Epoch, double TrainSeconds, double MsPerStep, double TestAccuracy);

    private sealed record Series(string Name, List<EpochPoint> Epochs)
    {
        public double? TimeTo(double accuracy)
        {
            double t = 0;
            foreach (var e in Epochs)
            {
                t += e.TrainSeconds;
                if (e.TestAccuracy >= accuracy) return t;
            }
            return null;
        }

        /// <summary>Total training seconds, a lower bound on the time to a target the run never reached.</summary>
        public double TotalSeconds => Epochs.Sum(e => e.TrainSeconds);

        public double MeanMsPerStep => Epochs.Count == 0 ? double.NaN : Epochs.Average(e => e.MsPerStep);

        public double MeanEpochSeconds => Epochs.Count == 0 ? double.NaN : Epochs.Average(e => e.TrainSeconds);
    }

    public static int Run(BenchOptions o)
    {
        var inv = CultureInfo.InvariantCulture;
        var data = new DatasetResolver(new DatasetResolverOptions { DataDir = o.DataDir, AllowDownload = false }).Resolve("mnist");
        var train = MnistFormat.Load(data.Directory, "train");
        var test = MnistFormat.Load(data.Directory, "test");
        var report = new StringBuilder();
        void Out(string line)
        {
            Console.WriteLine(line);
            report.AppendLine(line);
        }
        Out($"# MNIST benchmark ({DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, {o.Threads} threads, TorchSharp {TorchRuntime.TorchSharpVersion} / libtorch {TorchRuntime.LibTorchVersion})");
        Out("");

        Series? torchRef = null;
        if (!o.SkipPyTorch)
        {
            Console.Error.WriteLine($"[bench] PyTorch reference: {o.ReferenceEpochs} epochs…");
            torchRef = RunPyTorch(o, data.Directory);
        }
        Console.Error.WriteLine($"[bench] Forge reference-cnn: {o.ReferenceEpochs} epochs…");
        var forgeRef = RunForge("forge reference-cnn", ModelSpec.ReferenceCnn(),
            Recipes.For("reference-cnn") with { Epochs = o.ReferenceEpochs, Threads = o.Threads, Seed = 1 }, train, test).Series;

        Out("## reference-cnn (pytorch/examples network, Adam 1e-3, batch 64, fp32, 60,000 images/epoch)");
        Out("");
        Out("| epoch | PyTorch s | PyTorch ms/step | PyTorch test acc | Forge s | Forge ms/step | Forge test acc |");
        Out("|---:|---:|---:|---:|---:|---:|---:|");
        for (var i = 0; i < Math.Max(torchRef?.Epochs.Count ?? 0, forgeRef.Epochs.Count); i++)
        {
            var p = torchRef is not null && i < torchRef.Epochs.Count ? torchRef.Epochs[i] : null;
            var f = i < forgeRef.Epochs.Count ? forgeRef.Epochs[i] : null;
            Out(string.Create(inv, $"| {i + 1} | {Fmt(p?.TrainSeconds, "F1")} | {Fmt(p?.MsPerStep, "F1")} | {Pct(p?.TestAccuracy)} | {Fmt(f?.TrainSeconds, "F1")} | {Fmt(f?.MsPerStep, "F1")} | {Pct(f?.TestAccuracy)} |"));
        }
        Out("");
        Out("| measure | PyTorch | Forge | Forge / PyTorch |");
        Out("|---|---:|---:|---:|");
        Out(string.Create(inv, $"| seconds per epoch | {Fmt(torchRef?.MeanEpochSeconds, "F1")} | {forgeRef.MeanEpochSeconds:F1} | {Ratio(forgeRef.MeanEpochSeconds, torchRef?.MeanEpochSeconds)} |"));
        Out(string.Create(inv, $"| ms per step | {Fmt(torchRef?.MeanMsPerStep, "F1")} | {forgeRef.MeanMsPerStep:F1} | {Ratio(forgeRef.MeanMsPerStep, torchRef?.MeanMsPerStep)} |"));
        foreach (var target in new[] { 0.990, 0.992 })
            Out(string.Create(inv, $"| seconds to {target * 100:F1}% | {TimeTo(torchRef, target)} | {TimeTo(forgeRef, target)} | {RatioTo(forgeRef.TimeTo(target), torchRef, target)} |"));
        Out("");

        Out("## Forge default recipe (`forge train mnist --model cnn`)");
        Out("");
        Out("| run | epochs | test acc | s to 99.2% | train s | wall s (load+train+eval) | vs PyTorch's time to 99.2% |");
        Out("|---|---:|---:|---:|---:|---:|---:|");
        var evalSpeeds = new List<double>();
        foreach (var seed in o.Seeds)
        {
            Console.Error.WriteLine($"[bench] default cnn recipe, seed {seed}…");
            var sw = Stopwatch.StartNew();
            var (series, model) = RunForge($"cnn seed {seed}", ModelSpec.Cnn(), Recipes.For("cnn") with { Seed = seed, Threads = o.Threads }, train, test, keep: true);
            var (rep, _) = ImageTraining.Evaluate(model!, test);
            sw.Stop();
            Out(string.Create(inv, $"| cnn seed {seed} | {series.Epochs.Count} | {rep.Accuracy * 100:F2}% | {Fmt(series.TimeTo(0.992), "F0")} | {series.TotalSeconds:F0} | {sw.Elapsed.TotalSeconds:F0} | {RatioTo(series.TimeTo(0.992), torchRef, 0.992)} |"));
            for (var k = 0; k < 3; k++) evalSpeeds.Add(ImageTraining.Evaluate(model!, test).ImagesPerSecond);
            model!.Dispose();
        }
        if (!o.SkipVariants)
        {
            Console.Error.WriteLine("[bench] mlp…");
            var sw = Stopwatch.StartNew();
            var (mlp, mlpModel) = RunForge("mlp", ModelSpec.Mlp(), Recipes.For("mlp") with { Threads = o.Threads }, train, test, keep: true);
            Out(string.Create(inv, $"| mlp seed 1 | {mlp.Epochs.Count} | {mlp.Epochs[^1].TestAccuracy * 100:F2}% | {Fmt(mlp.TimeTo(0.992), "F0")} | {mlp.TotalSeconds:F0} | {sw.Elapsed.TotalSeconds:F0} | |"));
            mlpModel!.Dispose();
            Console.Error.WriteLine("[bench] quick run (--epochs 1 --limit 12000)…");
            sw.Restart();
            var small = train.Take(12000);
            var (quick, quickModel) = RunForge("quick", ModelSpec.Cnn(), Recipes.For("cnn") with { Epochs = 1, Threads = o.Threads }, small, test, keep: true);
            Out(string.Create(inv, $"| cnn --epochs 1 --limit 12000 | 1 | {quick.Epochs[^1].TestAccuracy * 100:F2}% | | {quick.TotalSeconds:F0} | {sw.Elapsed.TotalSeconds:F0} | |"));
            quickModel!.Dispose();
        }
        Out("");
        Out(string.Create(inv, $"`forge evaluate` speed, default CNN, 10,000 test images: median {Median(evalSpeeds):N0} images/s (min {evalSpeeds.DefaultIfEmpty(0).Min():N0}, max {evalSpeeds.DefaultIfEmpty(0).Max():N0}, {evalSpeeds.Count} passes)."));

        if (o.ReportPath is { } path)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
            File.WriteAllText(path, report.ToString());
            Console.Error.WriteLine($"[bench] table written to {path}");
        }
        return 0;
    }

    private static (Series Series, ImageClassifier? Model) RunForge(string name, ModelSpec spec, TrainerOptions options, ImageSet train, ImageSet test, bool keep = false)
    {
        var points = new List<EpochPoint>();
        var steps = Math.Ceiling(train.Count * (1 - options.ValidationFraction) / options.BatchSize);
        var trainer = new ImageClassifierTrainer(spec, options)
        {
            // Test accuracy is only recorded here for the table; nothing in training reads it.
            EpochEnded = (m, model) =>
            {
                var acc = ImageTraining.Evaluate(model, test).Report.Accuracy;
                points.Add(new EpochPoint(m.Epoch, m.Seconds, m.Seconds * 1000 / steps, acc));
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"[bench] {name} epoch {m.Epoch}: {m.Seconds:F1} s ({m.Seconds * 1000 / steps:F1} ms/step), test acc {acc * 100:F2}%"));
            },
        };
        var trained = trainer.Fit(train);
        if (!keep)
        {
            trained.Dispose();
            return (new Series(name, points), null);
        }
        return (new Series(name, points), trained);
    }

    private static Series RunPyTorch(BenchOptions o, string mnistDir)
    {
        var script = Path.Combine(o.SharedDir, "reference", "torch_mnist.py");
        var psi = new ProcessStartInfo(o.Python)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { script, mnistDir, o.ReferenceEpochs.ToString(CultureInfo.InvariantCulture), o.Threads.ToString(CultureInfo.InvariantCulture) })
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi) ?? throw new InvalidOperationException("could not start " + o.Python);
        var points = new List<EpochPoint>();
        p.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null) Console.Error.WriteLine("[pytorch] " + e.Data);
        };
        p.BeginErrorReadLine();
        while (p.StandardOutput.ReadLine() is { } line)
        {
            Console.Error.WriteLine("[pytorch] " + line);
            var m = EpochLine().Match(line);
            if (m.Success)
            {
                points.Add(new EpochPoint(int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture),
                    double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture),
                    double.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture),
                    double.Parse(m.Groups[4].Value, CultureInfo.InvariantCulture) / 100));
            }
        }
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"the PyTorch reference exited with {p.ExitCode}; is python3-torch installed (bench/run-mnist.sh installs it)?");
        return new Series("pytorch", points);
    }

    [GeneratedRegex(@"epoch (\d+): train ([\d.]+) s \(([\d.]+) ms/step b\d+\), test acc ([\d.]+)%")]
    private static partial Regex EpochLine();

    /// <summary>Seconds to reach <paramref name="target"/>, or "&gt; total" when the run never reached it.</summary>
    private static string TimeTo(Series? s, double target) =>
        s is null ? "—" : s.TimeTo(target) is { } t ? t.ToString("F0", CultureInfo.InvariantCulture) : $"> {s.TotalSeconds.ToString("F0", CultureInfo.InvariantCulture)} (not reached in {s.Epochs.Count} epochs)";

    /// <summary>Forge's time over the reference's; when the reference never got there, an upper bound on the ratio.</summary>
    private static string RatioTo(double? forge, Series? reference, double target)
    {
        if (forge is not { } f || reference is null) return "—";
        if (reference.TimeTo(target) is { } r) return (f / r).ToString("F2", CultureInfo.InvariantCulture) + "×";
        return "< " + (f / reference.TotalSeconds).ToString("F2", CultureInfo.InvariantCulture) + "×";
    }

    private static string Fmt(double? v, string format) => v is { } x && !double.IsNaN(x) ? x.ToString(format, CultureInfo.InvariantCulture) : "—";

    private static string Pct(double? v) => v is { } x ? (x * 100).ToString("F2", CultureInfo.InvariantCulture) + "%" : "—";

    private static string Ratio(double? forge, double? reference) =>
        forge is { } f && reference is { } r && r > 0 && !double.IsNaN(f) ? (f / r).ToString("F2", CultureInfo.InvariantCulture) + "×" : "—";

    private static double Median(List<double> xs)
    {
        if (xs.Count == 0) return double.NaN;
        var s = xs.OrderBy(x => x).ToArray();
        return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
    }
}
