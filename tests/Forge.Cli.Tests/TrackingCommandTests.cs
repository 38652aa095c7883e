using System.Text.Json;
using Forge.Core;
using Forge.Tests.Shared;
using Forge.Tracking;
using Microsoft.Data.Sqlite;

namespace Forge.Cli.Tests;

/// <summary>One small tracked MLP training through the CLI, on first use, shared by the tests of a class.</summary>
public sealed class TrackedTrainingFixture : IDisposable
{
    public const string Experiment = "cli-tracking";

    private readonly TempDir _temp = new("forge-cli-tracked-");
    private readonly Lazy<CliResult> _train;

    public TrackedTrainingFixture()
    {
        BundleDirectory = _temp.Combine("mnist-mlp");
        // Two epochs, so the per-epoch history has more than one point to get wrong.
        _train = new(() => Cli.Run("train", "mnist", "--model", "mlp", "--limit", "1500", "--epochs", "2", "--threads", "1",
            "--data-dir", SharedData.Mnist, "--out", BundleDirectory, "--experiment", Experiment, "--run-name", "tiny-mlp", "--json"));
    }

    public string BundleDirectory { get; }

    /// <summary>The train command's result; training happens on the first call.</summary>
    public CliResult Train => _train.Value;

    /// <summary>The tracked run's id, after asserting that training succeeded.</summary>
    public string RunId
    {
        get
        {
            Assert.True(Train.ExitCode == 0, Train.ToString());
            return Train.Json().Text("runId");
        }
    }

    public void Dispose() => _temp.Dispose();
}

/// <summary>train → runs → models on one tracked run, and the errors of the runs and models verbs.</summary>
public sealed class TrackingCommandTests(ForgeHomeFixture home, TrackedTrainingFixture tracked)
    : IClassFixture<ForgeHomeFixture>, IClassFixture<TrackedTrainingFixture>, IDisposable
{
    private readonly TempDir _temp = new("forge-cli-tracking-test-");

    public void Dispose() => _temp.Dispose();

    private static CliResult Ok(params string[] args)
    {
        var result = Cli.Run(args);
        Assert.True(result.ExitCode == 0, result.ToString());
        return result;
    }

    /// <summary>
    /// A run made through the library (in experiment "scratch", with one metric), so a test can have a run no model
    /// version references. <paramref name="finish"/> false leaves it RUNNING with nothing keeping its heartbeat fresh,
    /// as a killed process would.
    /// </summary>
    private static string ScratchRun(string name, bool finish = true)
    {
        using var store = TrackingStore.Open();
        var run = store.CreateRun("scratch", name);
        store.LogMetrics(run.RunId, [new MetricPoint("x", 1, 0, DateTimeOffset.UtcNow)]);
        if (finish) store.SetRunStatus(run.RunId, RunStatus.Finished);
        return run.RunId;
    }

    [SharedDataFact]
    public void Train_logs_params_per_epoch_metrics_tags_and_the_bundle()
    {
        var train = tracked.Train.Json();
        var runId = tracked.RunId;
        Assert.Matches("^[0-9a-f]{32}$", runId);

        var list = Ok("runs", "list", "--experiment", TrackedTrainingFixture.Experiment, "--json").Json();
        var run = Assert.Single(list.GetProperty("runs").EnumerateArray());
        Assert.Equal(runId, run.Text("runId"));
        Assert.Equal("tiny-mlp", run.Text("name"));
        Assert.Equal("FINISHED", run.Text("status"));
        Assert.False(run.GetProperty("stale").GetBoolean());
        var metrics = run.GetProperty("metrics");
        Assert.Equal(train.Number("testAccuracy"), metrics.Number("testAccuracy"));
        Assert.Equal(train.Number("testMacroF1"), metrics.Number("testMacroF1"));
        foreach (var key in new[] { "testLogLoss", "trainSeconds", "trainLoss", "trainAccuracy", "validationLoss", "validationAccuracy", "learningRate", "epochSeconds" })
            Assert.True(metrics.TryGetProperty(key, out _), $"metric {key} is missing: {run}");
        var parameters = run.GetProperty("params");
        Assert.Equal("mlp", parameters.Text("model"));
        Assert.Equal("mnist", parameters.Text("dataset"));
        Assert.Equal("1500", parameters.Text("limit"));
        Assert.Equal("2", parameters.Text("epochs"));
        var tags = run.GetProperty("tags");
        Assert.Equal("cli", tags.Text("forge.source"));
        Assert.Matches("^[0-9a-f]{64}$", tags.Text("forge.datasetChecksum"));

        var show = Ok("runs", "show", runId[..8], "--json").Json();
        Assert.Equal(runId, show.Text("runId"));
        var history = show.GetProperty("metrics").GetProperty("trainLoss").GetProperty("history").EnumerateArray().ToArray();
        Assert.Equal([1L, 2L], history.Select(h => h.GetProperty("step").GetInt64()));
        var epochLosses = train.GetProperty("history").EnumerateArray().Select(h => h.Number("trainLoss"));
        Assert.Equal(epochLosses, history.Select(h => h.Number("value")));
        Assert.Equal(2, show.GetProperty("metrics").GetProperty("validationAccuracy").GetProperty("history").GetArrayLength());
        var artifacts = show.GetProperty("artifacts").EnumerateArray().Select(a => a.Text("path")).ToArray();
        foreach (var path in new[] { "model/forge-model.json", "model/weights/model.dat", "model/plots/training-curves.png", "plots/training-curves.png", "plots/confusion-matrix.png" })
            Assert.Contains(path, artifacts);

        // The bundle names its run, so a model found on disk leads back to how it was made.
        Assert.Equal(runId, ModelBundle.Load(tracked.BundleDirectory).Manifest.Training!.RunId);
        var text = Ok("runs", "list", "--experiment", TrackedTrainingFixture.Experiment);
        Assert.Contains(runId[..8], text.Out, StringComparison.Ordinal);
        Assert.Contains("FINISHED", text.Out, StringComparison.Ordinal);
        Assert.Contains("testAccuracy", text.Out, StringComparison.Ordinal);
    }

    [SharedDataFact]
    public void No_track_records_nothing()
    {
        var db = _temp.Combine("untouched.db");

        var result = Ok("train", "mnist", "--model", "mlp", "--limit", "300", "--epochs", "1", "--threads", "1",
            "--data-dir", SharedData.Mnist, "--out", _temp.Combine("untracked"), "--no-track", "--tracking", db, "--json");

        Assert.Equal(JsonValueKind.Null, result.Json().GetProperty("runId").ValueKind);
        Assert.False(File.Exists(db), "--no-track must not even open the tracking store");
        Assert.Null(ModelBundle.Load(_temp.Combine("untracked")).Manifest.Training!.RunId);
    }

    [SharedDataFact]
    public void A_training_that_fails_is_recorded_failed_and_bad_options_record_nothing()
    {
        var data = _temp.Combine("truncated");
        MnistBytes.CopyWith(data, "train-images-idx3-ubyte", MnistBytes.TrainImages[..(MnistBytes.TrainImages.Length / 2)]);

        var failed = Cli.Run("train", "mnist", "--model", "mlp", "--limit", "300", "--epochs", "1", "--threads", "1",
            "--data-dir", data, "--out", _temp.Combine("never"), "--experiment", "failing");
        var typo = Cli.Run("train", "minst", "--out", _temp.Combine("never"), "--experiment", "typo");

        Cli.AssertFailed(failed, "truncated");
        var run = Assert.Single(Ok("runs", "list", "--experiment", "failing", "--json").Json().GetProperty("runs").EnumerateArray());
        Assert.Equal("FAILED", run.Text("status"));
        Assert.Equal("mlp", run.GetProperty("params").Text("model"));
        Cli.AssertFailed(typo, "did you mean 'mnist'?");
        // Refused before a run was started: not even the experiment was created.
        Assert.Equal(2, Cli.Run("runs", "list", "--experiment", "typo").ExitCode);
    }

    [SharedDataFact]
    public void Quickstart_is_tracked_too()
    {
        var result = Ok("quickstart", "--limit", "600", "--epochs", "1", "--data-dir", SharedData.Mnist, "--out", _temp.Combine("qs"),
            "--experiment", "quick", "--run-name", "qs", "--json");

        var runId = result.Json().Text("runId");
        var run = Assert.Single(Ok("runs", "list", "--experiment", "quick", "--json").Json().GetProperty("runs").EnumerateArray());
        Assert.Equal(runId, run.Text("runId"));
        Assert.Equal("FINISHED", run.Text("status"));
        Assert.Equal("cnn", run.GetProperty("params").Text("model"));
        Assert.Equal(result.Json().Number("testAccuracy"), run.GetProperty("metrics").Number("testAccuracy"));
    }

    [SharedDataFact]
    public void Ctrl_c_stops_training_and_marks_the_run_killed()
    {
        using var forge = ForgeProcess.Start(["train", "mnist", "--model", "mlp", "--limit", "3000", "--epochs", "200", "--threads", "1",
            "--data-dir", SharedData.Mnist, "--out", _temp.Combine("interrupted"), "--experiment", "interrupted", "--json"], _temp.Path, home.Home);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!forge.Output.Contains("epoch 1/200:", StringComparison.Ordinal))
        {
            Assert.False(forge.Process.HasExited, "forge ended before its first epoch\n" + forge.Output);
            Assert.True(clock.Elapsed < TimeSpan.FromMinutes(2), "no epoch within 2 minutes\n" + forge.Output);
            Thread.Sleep(20);
        }
        // A shell starts background jobs with SIGINT ignored, and forge inherits that when these tests run in one (CI
        // started with '&'); Ctrl+C cannot reach such a process, so the test then sends SIGTERM, which forge treats alike.
        var signal = SigIntIgnored() ? "-TERM" : "-INT";
        using (var kill = System.Diagnostics.Process.Start("kill", [signal, forge.Process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            kill.WaitForExit();
        Assert.True(forge.Process.WaitForExit(TimeSpan.FromMinutes(1)), $"forge did not stop on kill {signal}\n" + forge.Output);

        Assert.Equal(130, forge.Process.ExitCode);
        var run = Assert.Single(Ok("runs", "list", "--experiment", "interrupted", "--json").Json().GetProperty("runs").EnumerateArray());
        Assert.Equal("KILLED", run.Text("status"));
        Assert.True(run.GetProperty("metrics").TryGetProperty("trainLoss", out _), "the completed epochs' metrics are kept");
        Assert.False(Directory.Exists(_temp.Combine("interrupted")));
    }

    [SharedDataFact]
    public void Register_list_alias_export_round_trip()
    {
        var runId = tracked.RunId;

        var fromRun = Ok("models", "register", runId[..8], "--name", "round-trip", "--json").Json();
        var fromDir = Ok("models", "register", tracked.BundleDirectory, "--name", "round-trip", "--description", "same bundle again", "--json").Json();
        Assert.Equal(1, fromRun.GetProperty("version").GetInt32());
        Assert.Equal(2, fromDir.GetProperty("version").GetInt32());
        Assert.Equal(runId, fromRun.Text("runId"));
        Assert.Equal(runId, fromDir.Text("runId"));
        Assert.Equal("mnist", fromRun.Text("dataset"));

        var models = Ok("models", "list", "--json").Json().GetProperty("models").EnumerateArray().ToArray();
        var model = Assert.Single(models, m => m.Text("name") == "round-trip");
        Assert.Equal(2, model.GetProperty("latestVersion").GetInt32());

        Ok("models", "alias", "round-trip", "1", "champion");
        var shown = Ok("models", "show", "round-trip", "--json").Json();
        Assert.Equal(1, shown.GetProperty("aliases").GetProperty("champion").GetInt32());
        Assert.Equal(2, shown.GetProperty("versions").GetArrayLength());

        var outDir = _temp.Combine("exported");
        var exported = Ok("models", "export", "round-trip@champion", "--out", outDir, "--json").Json();
        Assert.Equal(1, exported.GetProperty("version").GetInt32());
        Assert.Equal(outDir, exported.Text("bundle"));
        var original = ModelBundle.Load(tracked.BundleDirectory).Manifest;
        var copy = ModelBundle.Load(outDir).Manifest;
        Assert.Equal(original.Files.OrderBy(f => f.Key, StringComparer.Ordinal), copy.Files.OrderBy(f => f.Key, StringComparer.Ordinal));
        Assert.Equal(original.Metrics["testAccuracy"], copy.Metrics["testAccuracy"]);
        Assert.Equal(runId, copy.Training!.RunId);

        var latest = Ok("models", "export", "round-trip", "--out", _temp.Combine("latest"), "--json").Json();
        Assert.Equal(2, latest.GetProperty("version").GetInt32());
    }

    [SharedDataFact]
    public void Delete_is_refused_while_a_version_references_the_run()
    {
        var runId = tracked.RunId;
        Ok("models", "register", runId, "--name", "delete-guard");

        var refused = Cli.Run("runs", "delete", runId[..8]);

        Assert.Equal(2, refused.ExitCode);
        Cli.AssertFailed(refused, "cannot be deleted", "delete-guard/");
        var listed = Ok("runs", "list", "--experiment", TrackedTrainingFixture.Experiment, "--json").Json();
        Assert.Contains(listed.GetProperty("runs").EnumerateArray(), r => r.Text("runId") == runId);
    }

    [Fact]
    public void Delete_hides_a_run_and_restore_brings_it_back()
    {
        var runId = ScratchRun("to-delete");
        bool Listed(bool deleted)
        {
            string[] args = deleted ? ["runs", "list", "--deleted", "--json"] : ["runs", "list", "--json"];
            return Ok(args).Json().GetProperty("runs").EnumerateArray().Any(r => r.Text("runId") == runId);
        }

        var deleted = Ok("runs", "delete", runId, "--json").Json();

        Assert.True(deleted.GetProperty("deleted").GetBoolean());
        Assert.False(Listed(deleted: false));
        Assert.True(Listed(deleted: true));
        Assert.True(Ok("runs", "show", runId, "--json").Json().GetProperty("deleted").GetBoolean());

        Ok("runs", "restore", runId[..10]);

        Assert.True(Listed(deleted: false));
    }

    [Fact]
    public void A_killed_run_is_listed_as_running_and_stale()
    {
        var runId = ScratchRun("killed", finish: false);
        // A SIGKILLed process leaves its last heartbeat behind; age it instead of waiting out the stale threshold.
        using (var db = new SqliteConnection($"Data Source={Path.Combine(home.Home, "forge.db")};Pooling=False"))
        {
            db.Open();
            using var update = db.CreateCommand();
            update.CommandText = "UPDATE runs SET heartbeat = 0 WHERE run_id = $id";
            update.Parameters.AddWithValue("$id", runId);
            Assert.Equal(1, update.ExecuteNonQuery());
        }

        var json = Ok("runs", "list", "--experiment", "scratch", "--json").Json();
        var text = Ok("runs", "list", "--experiment", "scratch");

        var run = Assert.Single(json.GetProperty("runs").EnumerateArray(), r => r.Text("runId") == runId);
        Assert.Equal("RUNNING", run.Text("status"));
        Assert.True(run.GetProperty("stale").GetBoolean());
        var line = Assert.Single(text.Out.Split('\n'), l => l.StartsWith(runId[..8], StringComparison.Ordinal));
        Assert.Contains("RUNNING (stale)", line, StringComparison.Ordinal);
    }

    [Fact]
    public void Compare_puts_runs_side_by_side()
    {
        var a = ScratchRun("compare-a");
        var b = ScratchRun("compare-b");

        var json = Ok("runs", "compare", a, b[..8], "--json").Json();

        Assert.Equal([a, b], json.GetProperty("runs").EnumerateArray().Select(r => r.Text("runId")));
        Assert.Equal([1.0, 1.0], json.GetProperty("metrics").GetProperty("x").EnumerateArray().Select(v => v.GetDouble()));
        var text = Ok("runs", "compare", a, b);
        Assert.Contains("compare-a", text.Out, StringComparison.Ordinal);
        Assert.Contains("compare-b", text.Out, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_run_id_suggests_the_closest_and_changes_nothing()
    {
        var runId = ScratchRun("typo-target");
        var shortId = runId[..8];
        var typo = shortId[..3] + (shortId[3] == '0' ? '1' : '0') + shortId[4..];

        var show = Cli.Run("runs", "show", typo);
        var register = Cli.Run("models", "register", typo, "--name", "never-made");
        var delete = Cli.Run("runs", "delete", typo, "--json");

        Assert.Equal(2, show.ExitCode);
        Cli.AssertFailed(show, $"unknown run '{typo}'; did you mean '{shortId}'?");
        Assert.Equal(2, register.ExitCode);
        Cli.AssertFailed(register, $"unknown run '{typo}'");
        Assert.Equal(2, delete.ExitCode);
        Assert.Contains("did you mean", delete.Json().Text("error"), StringComparison.Ordinal);
        Assert.DoesNotContain(Ok("models", "list", "--json").Json().GetProperty("models").EnumerateArray(), m => m.Text("name") == "never-made");
        Assert.False(Ok("runs", "show", runId, "--json").Json().GetProperty("deleted").GetBoolean());
    }

    [SharedDataFact]
    public void An_unknown_model_name_suggests_the_closest()
    {
        Ok("models", "register", tracked.BundleDirectory, "--name", "mnist-mlp");

        var show = Cli.Run("models", "show", "mnist-mpl");
        var export = Cli.Run("models", "export", "mnist-mlpp@champion", "--out", _temp.Combine("never"));
        var alias = Cli.Run("models", "alias", "mnist-mlp", "99", "champion");

        Assert.Equal(2, show.ExitCode);
        Cli.AssertFailed(show, "unknown model 'mnist-mpl'; did you mean 'mnist-mlp'?");
        Assert.Equal(2, export.ExitCode);
        Cli.AssertFailed(export, "did you mean 'mnist-mlp'?");
        Assert.False(Directory.Exists(_temp.Combine("never")));
        Assert.NotEqual(0, alias.ExitCode);
        Cli.AssertFailed(alias, "99");
    }

    [Fact]
    public void A_bad_filter_is_one_error_line()
    {
        var result = Cli.Run("runs", "list", "--filter", "metrics.testAccuracy >> 0.99");
        var json = Cli.Run("runs", "list", "--filter", "metrics.testAccuracy > 0.99 or status = 'FAILED'", "--json");

        Assert.Equal(2, result.ExitCode);
        Cli.AssertFailed(result, "filter", "metrics.testAccuracy >> 0.99");
        Assert.Equal(2, json.ExitCode);
        Assert.Contains("OR is not supported", json.Json().Text("error"), StringComparison.Ordinal);
    }

    [Fact]
    public void A_filter_and_sort_select_and_order_runs()
    {
        var low = ScratchRun("filter-low");
        var high = ScratchRun("filter-high");
        using (var store = TrackingStore.Open())
        {
            store.LogMetrics(low, [new MetricPoint("score", 0.2, 1, DateTimeOffset.UtcNow)]);
            store.LogMetrics(high, [new MetricPoint("score", 0.9, 1, DateTimeOffset.UtcNow)]);
        }

        var json = Ok("runs", "list", "--experiment", "scratch", "--filter", "metrics.score > 0.1", "--sort", "metrics.score", "--json").Json();
        var text = Ok("runs", "list", "--experiment", "scratch", "--filter", "metrics.score > 0.1", "--sort", "metrics.score ASC");

        Assert.Equal([high, low], json.GetProperty("runs").EnumerateArray().Select(r => r.Text("runId")));
        Assert.True(text.Out.IndexOf(low[..8], StringComparison.Ordinal) < text.Out.IndexOf(high[..8], StringComparison.Ordinal), text.Out);
        Assert.Contains("score", text.Out.Split('\n')[0], StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_experiment_suggests_the_closest()
    {
        ScratchRun("exists");

        var result = Cli.Run("runs", "list", "--experiment", "scrach");

        Assert.Equal(2, result.ExitCode);
        Cli.AssertFailed(result, "unknown experiment 'scrach'; did you mean 'scratch'?");
    }

    [Fact]
    public void Tracking_and_FORGE_TRACKING_URI_name_another_store()
    {
        var runId = ScratchRun("in-default-store");
        var other = _temp.Combine("other.db");
        int Count(CliResult r) => r.Json().GetProperty("runs").GetArrayLength();

        var viaOption = Ok("runs", "list", "--tracking", other, "--json");
        Environment.SetEnvironmentVariable(TrackingStore.UriVariable, "sqlite://" + other);
        CliResult viaVariable;
        try
        {
            viaVariable = Ok("runs", "list", "--json");
        }
        finally
        {
            Environment.SetEnvironmentVariable(TrackingStore.UriVariable, null);
        }

        Assert.Equal(0, Count(viaOption));
        Assert.Equal(0, Count(viaVariable));
        Assert.True(File.Exists(other));
        Assert.Contains(Ok("runs", "list", "--json").Json().GetProperty("runs").EnumerateArray(), r => r.Text("runId") == runId);
    }

    [Fact]
    public void A_malformed_tracking_uri_is_one_error_line()
    {
        var result = Cli.Run("runs", "list", "--tracking", "postgresql://nobody@/forge");

        Assert.Equal(2, result.ExitCode);
        Cli.AssertFailed(result, "tracking URI 'postgresql://nobody@/forge'");
    }

    /// <summary>Whether this process ignores SIGINT (bit 2 of SigIgn in /proc/self/status), as its children then do.</summary>
    private static bool SigIntIgnored()
    {
        var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("SigIgn:", StringComparison.Ordinal));
        return line is not null && (Convert.ToUInt64(line["SigIgn:".Length..].Trim(), 16) & 0x2) != 0;
    }
}
