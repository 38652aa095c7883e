using System.Globalization;
using Forge.Core;
using Forge.Tracking;

// Usage: every command opens the store, prints "READY", then waits until the file GO exists ("-" for no waiting), so
// that several processes really write at the same moment.
//   metrics  URI ARTIFACT_ROOT GO EXPERIMENT POINTS BATCH   log POINTS points through a RunLogger, print "RUN <id>"
//   register URI ARTIFACT_ROOT GO MODEL BUNDLE_DIR          register one version, print "VERSION <n>"
//   hang     URI ARTIFACT_ROOT GO EXPERIMENT EPOCHS         log EPOCHS epochs (flushed), print "RUN <id>", then wait to be killed
try
{
    var command = args[0];
    var options = new TrackingStoreOptions { ArtifactRoot = args[2] };
    var go = args[3];
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
