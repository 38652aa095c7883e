using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Forge.Tabular;

namespace Forge.Bench;

/// <summary>
/// The tabular suite: Adult (Forge's default against XGBoost 1.7.4's best of two settings on the identical split, per
/// seed), bike sharing (RMSE beside XGBoost's and the linear learner's on the chronological split), <c>forge predict
/// --batch</c> on 100,000 Adult rows beside XGBoost's predict, and <c>forge serve</c> single-row requests at concurrency
/// 1 and 64 with wrk. <c>--only candidates</c> instead scores the default-recipe candidates on Adult's validation rows.
/// </summary>
internal static class TabularBench
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    private static readonly (int Trees, int Leaves, double Lr, double FeatureFraction)[] Candidates =
    [
        (100, 31, 0.1, 1.0), (300, 15, 0.05, 1.0), (300, 31, 0.05, 1.0), (300, 63, 0.05, 1.0), (300, 31, 0.1, 1.0),
        (600, 15, 0.05, 1.0), (600, 31, 0.05, 1.0), (300, 31, 0.05, 0.8), (600, 15, 0.05, 0.8),
    ];

    public static int Run(BenchOptions o)
    {
        var results = Path.Combine(o.RepoDir, "bench", "results");
        var work = Path.Combine(results, "tabular-work");
        Directory.CreateDirectory(work);
        var only = (o.Only ?? "adult,bike,predict,serve").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        using var log = new BenchLog(Path.Combine(results, only.Contains("candidates") ? "tabular-candidates.log" : "tabular.log"));
        var report = new StringBuilder();
        void Out(string line)
        {
            log.Say(line);
            report.AppendLine(line);
        }
        var seeds = o.SeedsGiven ? o.Seeds : [0, 1, 2];
        Out($"# Tabular benchmark ({DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, load average at start {LoadAverage()})");
        Out("");
        var status = 0;
        if (only.Contains("candidates"))
        {
            Candidate(o, work, Out);
        }
        if (only.Contains("adult")) status |= Adult(o, work, seeds, Out, log);
        if (only.Contains("bike")) Bike(o, work, Out, log);
        if (only.Contains("predict") || only.Contains("serve"))
        {
            var forge = new ServingBench.ForgeCli(Path.Combine(o.RepoDir, "src", "Forge.Cli", "bin", "Release", "net10.0", "linux-x64", "forge.dll"), log);
            var bundle = Path.Combine(work, "adult-seed0");
            if (!File.Exists(Path.Combine(bundle, "forge-model.json"))) Train(o, "adult", bundle, 0, Path.Combine(work, "split-adult-0"));
            if (only.Contains("predict")) Predict(o, forge, bundle, work, Out, log);
            if (only.Contains("serve")) Serve(o, forge, bundle, work, Out, log);
        }
        Out("");
        Out($"Load average at the end: {LoadAverage()}.");
        var path = o.ReportPath ?? Path.Combine(results, only.Contains("candidates") ? "tabular-candidates.md" : "tabular.md");
        File.WriteAllText(path, report.ToString());
        log.Say($"report written to {path}");
        return status;
    }

    private static string LoadAverage() => MachineLoad.Text() ?? "unknown";

    private static TabularTrainingResult Train(BenchOptions o, string dataset, string output, int seed, string? split, TabularOptions? options = null)
    {
        var request = TabularRecipes.For(dataset, output);
        request = request with
        {
            DataDir = o.DataDir is null ? null : Path.Combine(o.DataDir, dataset == "adult" ? "adult-census-income" : "bike-sharing"),
            Overwrite = true,
            SplitDirectory = split,
            Options = (options ?? request.Options) with { Seed = seed, Threads = o.Threads, Task = request.Options.Task },
        };
        return TabularTraining.Run(request);
    }

    private static void Candidate(BenchOptions o, string work, Action<string> Out)
    {
        Out("## Default-recipe candidates on Adult's validation rows (LightGBM, min data per leaf 20)");
        Out("");
        Out("Seed 0 split: the model is fitted on 23,444 rows and scored on the 2,605 validation rows (10% of the 80% training part); the test rows are not looked at.");
        Out("");
        Out("| trees | leaves | lr | feature fraction | validation AUC | validation log-loss | fit (s) |");
        Out("|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var (trees, leaves, lr, ff) in Candidates)
        {
            var r = Train(o, "adult", Path.Combine(work, "candidate"), 0, null,
                new TabularOptions { Trees = trees, Leaves = leaves, LearningRate = lr, FeatureFraction = ff });
            var v = r.Validation!;
            Out(string.Create(Inv, $"| {trees} | {leaves} | {lr} | {ff} | {v.Auc:0.0000} | {v.Classification!.LogLoss:0.0000} | {r.TrainSeconds:0.0} |"));
        }
    }

    private static int Adult(BenchOptions o, string work, int[] seeds, Action<string> Out, BenchLog log)
    {
        Out("## Adult: `forge train adult` (default recipe) against XGBoost 1.7.4 on the identical split");
        Out("");
        Out($"Each seed is its own stratified 80/20 split of adult.data (Forge writes it with `--write-split`; bench/reference/xgb_tabular.py reads the files). "
            + $"Both fit the same 23,444 rows (the training part less Forge's 10% validation rows) and are scored on the same 6,512 test rows. XGBoost: hist, native categorical support, {o.Threads} threads; Forge: LightGBM, {o.Threads} threads. Times are fitting only.");
        Out("");
        Out("| seed | Forge test AUC | XGB 100/6/0.3 AUC | XGB 300/6/0.1 AUC | target (best − 0.002) | met | Forge fit (s) | XGB fit (s, both) | time ratio |");
        Out("|---:|---:|---:|---:|---:|---|---:|---:|---:|");
        var status = 0;
        foreach (var seed in seeds)
        {
            var split = Path.Combine(work, $"split-adult-{seed}");
            var forge = Train(o, "adult", Path.Combine(work, $"adult-seed{seed}"), seed, split);
            var xgb = Xgb(o, log, split, "binary", seed, null);
            var best = xgb.Max(x => x.GetProperty("auc").GetDouble());
            var target = best - 0.002;
            var met = forge.Test.Auc >= target;
            if (!met) status = 1;
            var xgbTime = xgb.Sum(x => x.GetProperty("train_seconds").GetDouble());
            var bestTime = xgb.First(x => x.GetProperty("auc").GetDouble() == best).GetProperty("train_seconds").GetDouble();
            Out(string.Create(Inv, $"| {seed} | {forge.Test.Auc:0.0000} | {xgb[0].GetProperty("auc").GetDouble():0.0000} | {xgb[1].GetProperty("auc").GetDouble():0.0000} | {target:0.0000} | {(met ? "met" : "**NOT met**")} | {forge.TrainSeconds:0.0} | {xgb[0].GetProperty("train_seconds").GetDouble():0.0} + {xgb[1].GetProperty("train_seconds").GetDouble():0.0} = {xgbTime:0.0} | {forge.TrainSeconds / bestTime:0.00}× the best setting's |"));
        }
        Out("");
        return status;
    }

    private static void Bike(BenchOptions o, string work, Action<string> Out, BenchLog log)
    {
        Out("## Bike sharing (hourly `cnt`): chronological split, last 20% of hours as test");
        Out("");
        Out("Features: season, yr, mnth, hr, holiday, weekday, workingday, weathersit, temp, atemp, hum, windspeed (`instant`, `dteday`, `casual`, `registered` excluded).");
        Out("");
        Out("| model | test RMSE | MAE | R² | fit (s) |");
        Out("|---|---:|---:|---:|---:|");
        var split = Path.Combine(work, "split-bike");
        var forge = Train(o, "bike-sharing", Path.Combine(work, "bike-lightgbm"), 0, split);
        var linear = Train(o, "bike-sharing", Path.Combine(work, "bike-linear"), 0, null, new TabularOptions { Learner = TabularLearner.Linear });
        foreach (var (name, r) in new[] { ("Forge default (LightGBM)", forge), ("Forge linear (SDCA)", linear) })
        {
            var g = r.Test.Regression!;
            Out(string.Create(Inv, $"| {name} | {g.Rmse:0.00} | {g.Mae:0.00} | {g.R2:0.0000} | {r.TrainSeconds:0.0} |"));
        }
        foreach (var x in Xgb(o, log, split, "regression", 0, null))
        {
            Out(string.Create(Inv, $"| XGBoost {x.GetProperty("trees").GetInt32()}/{x.GetProperty("depth").GetInt32()}/{x.GetProperty("lr").GetDouble()} | {x.GetProperty("rmse").GetDouble():0.00} | {x.GetProperty("mae").GetDouble():0.00} | {x.GetProperty("r2").GetDouble():0.0000} | {x.GetProperty("train_seconds").GetDouble():0.0} |"));
        }
        Out("");
    }

    private static void Predict(BenchOptions o, ServingBench.ForgeCli forge, string bundle, string work, Action<string> Out, BenchLog log)
    {
        Out("## `forge predict --batch` on 100,000 Adult rows beside XGBoost's predict");
        Out("");
        var split = Path.Combine(work, "split-adult-0");
        var rows = Path.Combine(work, "adult-100k.csv");
        var test = File.ReadAllLines(Path.Combine(split, "test.csv"));
        using (var writer = new StreamWriter(rows))
        {
            writer.WriteLine(test[0]);
            for (var i = 0; i < 100_000; i++) writer.WriteLine(test[1 + (i % (test.Length - 1))]);
        }
        var rates = new List<(double Wall, double Own)>();
        for (var round = 0; round < Math.Max(1, o.Rounds); round++)
        {
            var output = Path.Combine(work, "adult-100k.out.csv");
            var clock = Stopwatch.StartNew();
            var exit = forge.Run(["predict", bundle, "--batch", rows, "--out", output]);
            var wall = clock.Elapsed.TotalSeconds;
            if (exit != 0) throw new InvalidOperationException($"forge predict exited {exit} (see {log.Path})");
            rates.Add((100_000 / wall, double.NaN));
        }
        var xgb = Xgb(o, log, split, "binary", 0, rows).Last();
        var forgeRates = rates.Select(r => r.Wall).Order().ToArray();
        Out("| tool | what is timed | rows/s (min – max over rounds) |");
        Out("|---|---|---:|");
        Out(string.Create(Inv, $"| `forge predict --batch` | the whole process: start, load the bundle, read and check the CSV, predict, write the CSV ({forgeRates.Length} rounds) | {forgeRates[0]:N0} – {forgeRates[^1]:N0} |"));
        Out(string.Create(Inv, $"| XGBoost 300/6/0.1 (pandas) | read the CSV, build the frame, predict_proba, write the CSV (in a running Python) | {xgb.GetProperty("file_to_file_rows_per_s").GetDouble():N0} |"));
        Out(string.Create(Inv, $"| XGBoost 300/6/0.1 | predict_proba alone on the frame | {xgb.GetProperty("predict_only_rows_per_s").GetDouble():N0} |"));
        Out(string.Create(Inv, $"Ratio, file to file: Forge (median round) / XGBoost = {forgeRates[forgeRates.Length / 2] / xgb.GetProperty("file_to_file_rows_per_s").GetDouble():0.00}×."));
        Out("");
    }

    private static void Serve(BenchOptions o, ServingBench.ForgeCli forge, string bundle, string work, Action<string> Out, BenchLog log)
    {
        Out($"## `forge serve`: single-row Adult requests (wrk, `-d {o.Duration}`)");
        Out("");
        var body = Path.Combine(work, "adult-row.json");
        File.WriteAllText(body, """{"instances": [{"age": 39, "workclass": "State-gov", "fnlwgt": 77516, "education": "Bachelors", "education-num": 13, "marital-status": "Never-married", "occupation": "Adm-clerical", "relationship": "Not-in-family", "race": "White", "sex": "Male", "capital-gain": 2174, "capital-loss": 0, "hours-per-week": 40, "native-country": "United-States"}]}""");
        using var server = forge.Serve(bundle, "adult", log);
        Out("| endpoint | concurrency | req/s | p50 (ms) | p99 (ms) | non-2xx / socket errors |");
        Out("|---|---:|---:|---:|---:|---:|");
        foreach (var c in new[] { 1, 64 })
        {
            var r = ServingBench.Wrk(log, "forge /v1 adult", server.Url("/v1/models/adult/predict"), body, c, o.Duration);
            Out(string.Create(Inv, $"| /v1/models/adult/predict | {c} | {r.Rps:0} | {r.P50Ms:0.00} | {r.P99Ms:0.00} | {r.Non2xx} / {r.Errors} |"));
        }
        Out("");
    }

    private static List<JsonElement> Xgb(BenchOptions o, BenchLog log, string split, string task, int seed, string? predictFile)
    {
        var script = Path.Combine(o.RepoDir, "bench", "reference", "xgb_tabular.py");
        var start = new ProcessStartInfo(o.Python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { script, "--split", split, "--task", task, "--threads", o.Threads.ToString(Inv), "--seed", seed.ToString(Inv) }) start.ArgumentList.Add(a);
        if (predictFile is not null)
        {
            start.ArgumentList.Add("--predict-file");
            start.ArgumentList.Add(predictFile);
        }
        log.Say($"$ {o.Python} {string.Join(' ', start.ArgumentList)}");
        using var process = Process.Start(start) ?? throw new InvalidOperationException("python did not start");
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        log.Write(stdout + stderr.Result);
        if (process.ExitCode != 0) throw new InvalidOperationException($"xgb_tabular.py exited {process.ExitCode}: {stderr.Result}");
        return [.. stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone())];
    }
}
