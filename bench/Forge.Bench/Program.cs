using System.Globalization;
using Forge.Bench;

// Benchmarks print comparison tables; timing targets live here, never in tests.
var o = BenchOptions.Parse(args);
if (o is null)
{
    Console.Error.WriteLine("""
        usage: dotnet run --project bench/Forge.Bench -c Release -- mnist|tracking|text|transfer-images|serving|tabular|tuning|explain|drift|recurrent [options]
        (or: bash bench/run-mnist.sh, bench/run-tracking.sh, bench/run-text.sh, bench/run-transfer.sh, bench/run-tuning.sh, bench/run-explain.sh, bench/run-drift.sh)
          --ref-epochs N     epochs for the reference-cnn comparison (default 8)
          --seeds 1,2,3      seeds of the default-recipe runs (default 1,2,3)
          --threads N        compute threads for both tools (default 2)
          --skip-pytorch     do not run ../shared/reference/torch_mnist.py
          --skip-variants    skip the MLP and quick runs
          --report FILE      also write the table as Markdown to FILE
          --data-dir DIR     MNIST's folder (default: resolved as forge does)
          --runs N           tracking: runs in the large store (default 10000)
          --modes a,b        transfer-images: only these modes (feature-extraction, fine-tune, scratch)
          --limit N          transfer-images: first N training images per class (smoke runs)
          --skip-speed       transfer-images: skip the ResNet18 speed comparison
          --only TEXT        transfer-images: only the candidates whose setting contains TEXT (--cv: TEXT|TEXT… for several, =LABEL for exactly one)
          (transfer-images --cv: repeated stratified k-fold on the training images only; --folds N (default 5),
           --repeats N (default 1), --only TEXT, --limit N, --threads N, --results FILE (default
           bench/results/transfer-cv.jsonl; done folds are skipped), --report-only, --report FILE (default: the results
           file's .md))
          --rounds N         text: alternating speed rounds of each encoder (default 3)
          --quick            text: skip the package's 32-per-call speed run
          --skip-reference   text: do not run bench/reference/tfidf_baseline.py (scikit-learn)
          (text: --seeds defaults to 0,1,2,3,4, --data-dir is the folder holding the dataset folders,
           --report defaults to bench/results/text.md)
          --duration 15s     serving: how long wrk drives each target and concurrency
          --requests N       serving: requests in the robustness run (default 20000)
          (serving: --only throughput,sentiment,robustness picks parts, --skip-reference skips FastAPI,
           --report defaults to bench/results/serving.md; serving-robustness = serving --only robustness)
          (tabular: --only adult,bike,predict,serve picks parts, or --only candidates scores the default-recipe
           candidates on Adult's validation rows; --seeds defaults to 0,1,2; --rounds N repeats forge predict --batch;
           --duration for wrk; --report defaults to bench/results/tabular.md)
          --trials N         tuning: trials per run (default 100)
          --scale-trials N   tuning: trials of the sampler-cost run (default 10000)
          --scale-function F tuning: function of the sampler-cost run (default hartmann6)
          (tuning: --seeds defaults to 0..19, --only branin,mixed picks functions, --threads N runs N seeds at once,
           --skip-reference skips Optuna, --report defaults to bench/results/tuning.md)
          (explain: --threads N for Forge and XGBoost alike, --only tree,kernel,scale picks parts, --rounds N TreeSHAP
           timing runs (at least 3), --seeds the KernelSHAP seeds (default 1,2,3), --report defaults to bench/results/explain.md)
          (drift: --only power,calibrate,concept,speed picks parts, --limit N sets the trials (power, default 200) and
           seeds (calibrate and concept, default 100), --skip-reference skips scipy, --report defaults to bench/results/drift.md)
          (recurrent: --only speed,adding,transfer,lstm,gru,rnn picks parts and cells (transfer: MiniLM vs TF-IDF vs
           the best of LSTM/GRU from scratch at 10/30/100 % of the training texts, run only when named), --seeds the adding seeds (default 1,2,3),
           --limit N the adding step budget (default 5000), --length T (default 100), --skip-reference skips
           torch_lstm.py, --report defaults to bench/results/recurrent.md; --only forecast runs the forecast suite)
          (forecast: bash bench/run-recurrent.sh --only forecast; LSTM, GRU, seasonal-naive and LightGBM on lags at
           horizons 1 and 24; --limit N caps the recurrent epochs, --seeds the recurrent seeds (default 1), --only
           lstm,gru,h1,h24 picks models and horizons, --report defaults to bench/results/forecast.md)
          (drift-walkthrough: bike sharing trained on the first --limit months (default 6), the rest replayed through
           forge serve with feedback; writes bench/results/drift-walkthrough.md and docs/images/drift-walkthrough.png)
          (ui: bash bench/run-ui.sh; --runs N runs (default there 100000), --scale-trials N study trials (10000),
           --rounds N timed rounds (at least 3); the runs page in headless /usr/bin/chromium, --report defaults to bench/results/ui.md)
        """);
    return 2;
}
return o.Suite switch
{
    "mnist" => MnistBench.Run(o),
    "tracking" => TrackingBench.Run(o),
    "transfer-images" => o.Cv ? TransferCvBench.Run(o) : ImagesTransferBench.Run(o),
    "text" => TextBench.Run(o),
    "serving-batch" => ServingBatchBench.Run(o),
    "serving" => ServingBench.Run(o),
    "serving-robustness" => ServingBench.Run(o with { Only = "robustness" }),
    "tabular" => TabularBench.Run(o),
    "tuning" => TuningBench.Run(o),
    "explain" => ExplainBench.Run(o),
    "drift" => DriftBench.Run(o),
    "drift-walkthrough" => DriftWalkthrough.Run(o),
    "ui" => UiBench.Run(o),
    "recurrent" => RecurrentBench.Run(o),
    "forecast" => ForecastBench.Run(o),
    _ => 2,
};

namespace Forge.Bench
{
    /// <summary>Command-line options shared by the benchmark suites.</summary>
    internal sealed record BenchOptions
    {
        public string Suite { get; init; } = "mnist";
        public int ReferenceEpochs { get; init; } = 8;
        public int[] Seeds { get; init; } = [1, 2, 3];
        public int Threads { get; init; } = 2;
        public bool SkipPyTorch { get; init; }
        public bool SkipVariants { get; init; }
        public string? ReportPath { get; init; }
        public string? DataDir { get; init; }
        public string Python { get; init; } = "/usr/bin/python3";
        public int Runs { get; init; } = 10_000;
        public string[]? Modes { get; init; }
        public int? Limit { get; init; }
        public bool SkipSpeed { get; init; }
        public string? Only { get; init; }
        public int Rounds { get; init; } = 3;
        public bool Quick { get; init; }
        public bool SkipReference { get; init; }
        public bool SeedsGiven { get; init; }
        public string Duration { get; init; } = "15s";
        public int Requests { get; init; } = 20_000;
        public int Length { get; init; } = 100;
        public int Trials { get; init; } = 100;
        public int ScaleTrials { get; init; } = 10_000;
        public int GpScaleTrials { get; init; } = 200;
        public string ScaleFunction { get; init; } = "hartmann6";
        public bool Cv { get; init; }
        public int Folds { get; init; } = 5;
        public int Repeats { get; init; } = 1;
        public bool ReportOnly { get; init; }
        public string? CvResultsPath { get; init; }
        public int? SmokeEpochs { get; init; }
        public string RepoDir { get; init; } = FindRepo();
        public string SharedDir { get; init; } = Path.GetFullPath(Path.Combine(FindRepo(), "..", "shared"));

        public static BenchOptions? Parse(string[] args)
        {
            if (args.Length == 0 || args[0] is "-h" or "--help") return null;
            var o = new BenchOptions { Suite = args[0] };
            for (var i = 1; i < args.Length; i++)
            {
                string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
                o = args[i] switch
                {
                    "--ref-epochs" => o with { ReferenceEpochs = int.Parse(Next(), CultureInfo.InvariantCulture) },
                    "--seeds" => o with { Seeds = Next().Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray(), SeedsGiven = true },
                    "--rounds" => o with { Rounds = int.Parse(Next(), CultureInfo.InvariantCulture) },
                    "--quick" => o with { Quick = true },
                    "--skip-reference" => o with { SkipReference = true },
                    "--threads" => o with { Threads = int.Parse(Next(), CultureInfo.InvariantCulture) },
                    "--skip-pytorch" => o with { SkipPyTorch = true },
                    "--skip-variants" => o with { SkipVariants = true },
                    "--report" => o with { ReportPath = Next() },
                    "--data-dir" => o with { DataDir = Next() },
                    "--runs" => o with { Runs = int.Parse(Next(), CultureInfo.InvariantCulture) },
                    "--modes" => o with { Modes = Next().Split(',') },
                    "--limit" => o with { Limit = int.Parse(Next(), CultureInfo.InvariantCulture) },
                    "--skip-speed" => o with { SkipSpeed = true },
                    "--only" => o with { Only = Next() },
                    "--duration" => o with { Duration = Next() },
                    "--length" => o with { Length = int.Parse(Next(), CultureInfo.InvariantCulture) },
                    "--requests" => o with { Requests = int.Parse(Next(), CultureInfo.InvariantCulture) },
                    "--trials" => o with { Trials = int.Parse(Next(), CultureInfo.InvariantCulture) },
                    "--scale-trials" => o with { ScaleTrials = int.Parse(Next(), CultureInfo.InvariantCulture) },
                    "--scale-function" => o with { ScaleFunction = Next() },
                    "--cv" => o with { Cv = true },
                    "--folds" => o with { Folds = int.Parse(Next(), CultureInfo.InvariantCulture) },
                    "--repeats" => o with { Repeats = int.Parse(Next(), CultureInfo.InvariantCulture) },
                    "--report-only" => o with { ReportOnly = true },
                    "--results" => o with { CvResultsPath = Next() },
                    "--smoke-epochs" => o with { SmokeEpochs = int.Parse(Next(), CultureInfo.InvariantCulture) },
                    _ => throw new ArgumentException($"unknown option {args[i]}"),
                };
            }
            return o;
        }

        private static string FindRepo()
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Forge.slnx"))) dir = dir.Parent;
            return dir?.FullName ?? Environment.CurrentDirectory;
        }
    }
}
