using System.Globalization;
using Forge.Core;
using Forge.Tracking;

// Usage: every command opens the store, prints "READY", then waits until the file GO exists ("-" for no waiting), so
// that several processes really write at the same moment.
//   metrics  URI ARTIFACT_ROOT GO EXPERIMENT POINTS BATCH   log POINTS points through a RunLogger, print "RUN <id>"
//   register URI ARTIFACT_ROOT GO MODEL BUNDLE_DIR          register one version, print "VERSION <n>"
//   hang     URI ARTIFACT_ROOT GO EXPERIMENT EPOCHS         log EPOCHS epochs (flushed), print "RUN <id>", then wait to be killed
//   tune     URI ARTIFACT_ROOT GO STUDY TRIALS              grid-search a 10x10 grid until the study holds TRIALS trials, print "TRIALS n,n,…"
//   tune-hang URI ARTIFACT_ROOT GO STUDY                    start one trial with 100 ms heartbeats, print "TRIAL <n>", then wait to be killed
try
{
    var command = args[0];
    var options = new TrackingStoreOptions { ArtifactRoot = args[2] };
    var go = args[3];
    if (command.StartsWith("tune", StringComparison.Ordinal)) return Tune.Run(command, args[1], go, args[4], args.Length > 5 ? args[5] : "0");
    using var store = TrackingStore.Open(args[1], options);
    Console.WriteLine("READY");
    var deadline = DateTime.UtcNow.AddSeconds(120);
    while (go != "-" && !File.Exists(go) && DateTime.UtcNow < deadline) Thread.Sleep(5);
    switch (command)
    {
        case "metrics":
        {
            var points = int.Parse(args[5], CultureInfo.InvariantCulture);
            var batch = int.Parse(args[6], CultureInfo.InvariantCulture);
            using var logger = RunLogger.Start(store, args[4], options: new RunLoggerOptions { BatchSize = batch });
            logger.LogParams(new Dictionary<string, string> { ["pid"] = Environment.ProcessId.ToString(CultureInfo.InvariantCulture) });
            for (var i = 0; i < points; i++) logger.LogMetric("loss", 1.0 / (i + 1), i);
            logger.End(RunStatus.Finished);
            Console.WriteLine($"RUN {logger.RunId}");
            break;
        }
        case "register":
        {
            var version = store.RegisterModelVersion(args[4], args[5]);
            Console.WriteLine($"VERSION {version.Version.ToString(CultureInfo.InvariantCulture)}");
            break;
        }
        case "hang":
        {
            var epochs = int.Parse(args[5], CultureInfo.InvariantCulture);
            // A heartbeat far in the future: the test must see the run go stale once this process is killed.
            var logger = RunLogger.Start(store, args[4], options: new RunLoggerOptions { HeartbeatInterval = TimeSpan.FromHours(1) });
            for (var epoch = 1; epoch <= epochs; epoch++)
            {
                logger.LogMetrics(new Dictionary<string, double> { ["loss"] = 1.0 / epoch, ["accuracy"] = 0.5 + epoch / 100.0 }, epoch);
                logger.Flush();
            }
            // Half an epoch that never completes: buffered, not flushed.
            logger.LogMetric("loss", 0.01, epochs + 1);
            Console.WriteLine($"RUN {logger.RunId}");
            Console.Out.Flush();
            Thread.Sleep(Timeout.Infinite);
            break;
        }
        default:
            Console.Error.WriteLine($"unknown command {command}");
            return 2;
    }
    return 0;
}
catch (ForgeException ex)
{
    Console.Error.WriteLine($"forge error: {ex.Message}");
    return 1;
}

/// <summary>The tuning commands: several worker processes on one study in a shared SQL storage.</summary>
internal static class Tune
{
    public static int Run(string command, string uri, string go, string studyName, string trials)
    {
        using var storage = SqlStudyStorage.Open(uri);
        var grid = new Forge.Tuning.GridSampler(new Dictionary<string, IReadOnlyList<object?>>
        {
            ["a"] = Enumerable.Range(0, 10).Select(i => (object?)i).ToList(),
            ["b"] = Enumerable.Range(0, 10).Select(i => (object?)i).ToList(),
        }, seed: 7);
        var study = Forge.Tuning.Study.Create(new Forge.Tuning.StudyOptions
        {
            Name = studyName,
            Storage = storage,
            Sampler = grid,
            LoadIfExists = true,
            HeartbeatInterval = command == "tune-hang" ? TimeSpan.FromMilliseconds(100) : null,
        });
        Console.WriteLine("READY");
        var deadline = DateTime.UtcNow.AddSeconds(120);
        while (go != "-" && !File.Exists(go) && DateTime.UtcNow < deadline) Thread.Sleep(5);
        if (command == "tune-hang")
        {
            var trial = study.Ask();
            trial.SuggestInt("a", 0, 9);
            trial.SuggestInt("b", 0, 9);
            Console.WriteLine($"TRIAL {trial.Number.ToString(CultureInfo.InvariantCulture)}");
            Console.Out.Flush();
            Thread.Sleep(Timeout.Infinite);
        }
        var ran = study.Optimize(t =>
        {
            var a = t.SuggestInt("a", 0, 9);
            var b = t.SuggestInt("b", 0, 9);
            // A few milliseconds of "training", so the workers' trials overlap.
            Thread.Sleep(5 + ((a + b) % 4 * 5));
            return Math.Abs(a - 3) + Math.Abs(b - 6);
        }, trials: int.Parse(trials, CultureInfo.InvariantCulture), options: new Forge.Tuning.OptimizeOptions { StudyWideTrialLimit = true });
        Console.WriteLine("TRIALS " + string.Join(",", ran.Select(t => t.Number.ToString(CultureInfo.InvariantCulture))));
        return 0;
    }
}
