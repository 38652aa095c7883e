using System.Diagnostics;
using System.Security.Cryptography;
using Forge.Core;
using Forge.Tests.Shared;

namespace Forge.Tracking.Tests;

/// <summary>
/// The one conformance suite every tracking store passes: each theory runs once on SQLite and once on PostgreSQL, each
/// time against a fresh database (a temp file, or a schema of its own).
/// </summary>
public sealed class StoreConformanceTests
{
    private static Dictionary<string, string> Map(params (string Key, string Value)[] pairs) =>
        pairs.ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);

    private static MetricPoint Point(string key, double value, long step) => new(key, value, step, DateTimeOffset.UtcNow);

    [Theory, SqliteBackend, PostgresBackend]
    public void Experiments_are_created_once_and_unknown_names_get_a_suggestion(string backend)
    {
        using var h = new StoreHarness(backend);
        var first = h.Store.GetOrCreateExperiment("mnist-cnn");
        var again = h.Store.GetOrCreateExperiment("mnist-cnn");
        h.Store.GetOrCreateExperiment("tabular");

        Assert.Equal(first.Id, again.Id);
        Assert.Equal(["mnist-cnn", "tabular"], h.Store.ListExperiments().Select(e => e.Name));
        Assert.StartsWith(h.ArtifactRoot, first.ArtifactLocation, StringComparison.Ordinal);
        var error = Assert.Throws<NotFoundException>(() => h.Store.GetExperiment("mnist-cn"));
        Assert.Equal("mnist-cnn", error.Suggestion);
        Assert.Equal(Schema.CurrentVersion, h.Store.SchemaVersion);
    }

    [Theory, SqliteBackend, PostgresBackend]
    public void A_run_keeps_its_attributes_params_and_tags(string backend)
    {
        using var h = new StoreHarness(backend);
        var parent = h.Store.CreateRun("exp", "parent");
        var run = h.Store.CreateRun("exp", "child", parent.RunId);
        h.Store.LogParams(run.RunId, Map(("lr", "0.01"), ("model", "cnn")));
        h.Store.LogParams(run.RunId, Map(("lr", "0.01")));
        h.Store.SetTags(run.RunId, Map(("team", "a")));
        h.Store.SetTags(run.RunId, Map(("team", "b"), ("note", "x y")));

        var loaded = h.Store.GetRun(run.RunId);
        Assert.Equal("child", loaded.Info.Name);
        Assert.Equal("exp", loaded.Info.ExperimentName);
        Assert.Equal(parent.RunId, loaded.Info.ParentRunId);
        Assert.Equal(RunStatus.Running, loaded.Info.Status);
        Assert.Null(loaded.Info.EndTime);
        Assert.False(loaded.Info.Deleted);
        Assert.False(loaded.Info.Stale);
        Assert.Equal(Map(("lr", "0.01"), ("model", "cnn")), loaded.Params);
        Assert.Equal(Map(("team", "b"), ("note", "x y")), loaded.Tags);

        // A param keeps its first value: changing it is refused and changes nothing.
        var refused = Assert.Throws<UsageException>(() => h.Store.LogParams(run.RunId, Map(("epochs", "3"), ("lr", "0.1"))));
        Assert.Contains("'lr'", refused.Message, StringComparison.Ordinal);
        Assert.False(h.Store.GetRun(run.RunId).Params.ContainsKey("epochs"));

        var unknown = Assert.Throws<NotFoundException>(() => h.Store.GetRun(run.RunId[..^1] + "x"));
        Assert.Equal(run.RunId, unknown.Suggestion);
        Assert.Throws<NotFoundException>(() => h.Store.CreateRun("exp", "orphan", "no-such-parent"));
    }

    [Theory, SqliteBackend, PostgresBackend]
    public void Metrics_keep_their_whole_history_and_the_latest_value(string backend)
    {
        using var h = new StoreHarness(backend);
        var run = h.Store.CreateRun("exp");
        h.Store.LogMetrics(run.RunId, [Point("loss", 0.9, 1), Point("loss", 0.5, 2), Point("accuracy", 0.7, 1)]);
        // Out of order, and a NaN: the history keeps both; "latest" is the highest step.
        h.Store.LogMetrics(run.RunId, [Point("loss", 0.3, 3), Point("loss", 0.8, 0), Point("accuracy", double.NaN, 2)]);

        var loss = h.Store.GetMetricHistory(run.RunId, "loss");
        Assert.Equal([0L, 1, 2, 3], loss.Select(p => p.Step));
        Assert.Equal([0.8, 0.9, 0.5, 0.3], loss.Select(p => p.Value));
        var accuracy = h.Store.GetMetricHistory(run.RunId, "accuracy");
        Assert.True(double.IsNaN(accuracy[1].Value));

        var latest = h.Store.GetRun(run.RunId).Metrics;
        Assert.Equal(0.3, latest["loss"].Value);
        Assert.Equal(3, latest["loss"].Step);
        Assert.True(double.IsNaN(latest["accuracy"].Value));

        var unknown = Assert.Throws<NotFoundException>(() => h.Store.GetMetricHistory(run.RunId, "los"));
        Assert.Equal("loss", unknown.Suggestion);
    }

    [Theory, SqliteBackend, PostgresBackend]
    public void Run_logger_buffers_metrics_and_flushes_them_in_batches(string backend)
    {
        using var h = new StoreHarness(backend);
        var options = new RunLoggerOptions { BatchSize = 100, HeartbeatInterval = TimeSpan.FromHours(1) };
        string runId;
        using (var logger = RunLogger.Start(h.Store, "exp", "batched", options: options))
        {
            runId = logger.RunId;
            logger.LogParams(Map(("epochs", "3")));
            logger.SetTag("kind", "test");
            for (var i = 0; i < 1050; i++) logger.LogMetric("loss", 1.0 / (i + 1), i);
            // Ten full batches were written; the last fifty wait in the buffer.
            Assert.Equal(1000, h.Store.GetMetricHistory(runId, "loss").Count);
            logger.LogMetrics(new Dictionary<string, double> { ["accuracy"] = 0.9, ["f1"] = 0.8 }, 1050);
        }
        var run = h.Store.GetRun(runId);
        Assert.Equal(1050, h.Store.GetMetricHistory(runId, "loss").Count);
        Assert.Equal(0.9, run.Metrics["accuracy"].Value);
        Assert.Equal(RunStatus.Finished, run.Info.Status);
        Assert.NotNull(run.Info.EndTime);
        Assert.Equal("3", run.Params["epochs"]);
        Assert.Equal("test", run.Tags["kind"]);
    }

    [Theory, SqliteBackend, PostgresBackend]
    public void Run_logger_heartbeat_keeps_the_run_alive_and_writes_buffered_points(string backend)
    {
        using var h = new StoreHarness(backend);
        var options = new RunLoggerOptions { HeartbeatInterval = TimeSpan.FromMilliseconds(100) };
        using var logger = RunLogger.Start(h.Store, "exp", options: options);
        logger.LogMetric("loss", 0.5, 1);
        logger.LogMetric("loss", 0.4, 2);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (h.Store.GetRun(logger.RunId).Metrics.Count == 0 && DateTime.UtcNow < deadline) Thread.Sleep(50);

        // No Flush was called: the background beat wrote the points, and keeps moving the heartbeat forward.
        // (Compared as timestamps, not against a short stale threshold, so a loaded machine cannot make it flaky.)
        Assert.Equal(2, h.Store.GetMetricHistory(logger.RunId, "loss").Count);
        var first = h.Store.GetRun(logger.RunId).Info.Heartbeat;
        deadline = DateTime.UtcNow.AddSeconds(10);
        while (h.Store.GetRun(logger.RunId).Info.Heartbeat <= first && DateTime.UtcNow < deadline) Thread.Sleep(50);
        Assert.True(h.Store.GetRun(logger.RunId).Info.Heartbeat > first, "the background heartbeat did not advance within 10 s");
        Assert.Null(logger.LastBackgroundError);
        logger.End(RunStatus.Killed);
        Assert.Equal(RunStatus.Killed, h.Store.GetRun(logger.RunId).Info.Status);
        Assert.Throws<InvalidOperationException>(() => logger.LogMetric("loss", 0.3, 3));
    }

    [Theory, SqliteBackend, PostgresBackend]
    public void Ten_thousand_points_log_in_one_batch(string backend)
    {
        using var h = new StoreHarness(backend);
        var run = h.Store.CreateRun("exp");
        var now = DateTimeOffset.UtcNow;
        var points = Enumerable.Range(0, 10_000).Select(i => new MetricPoint($"m{i % 10}", i * 0.5, i / 10, now)).ToList();
        h.Store.LogMetrics(run.RunId, points);
        // Speed is measured in bench/ (bash bench/run-tracking.sh), never asserted here.
        Assert.Equal(1000, h.Store.GetMetricHistory(run.RunId, "m3").Count);
    }

    [Theory, SqliteBackend, PostgresBackend]
    public void Status_heartbeat_and_stale_runs(string backend)
    {
        using var h = new StoreHarness(backend);
        var run = h.Store.CreateRun("exp");
        var finished = h.Store.CreateRun("exp");
        h.Store.SetRunStatus(finished.RunId, RunStatus.Finished);
        // A second is long enough that "fresh right after a heartbeat" holds on a loaded machine, short enough to wait out.
        var strict = h.Open(staleAfter: TimeSpan.FromSeconds(1));
        Thread.Sleep(1200);

        Assert.True(strict.GetRun(run.RunId).Info.Stale);
        Assert.False(strict.GetRun(finished.RunId).Info.Stale);
        Assert.False(h.Store.GetRun(run.RunId).Info.Stale);
        strict.Heartbeat(run.RunId);
        Assert.False(strict.GetRun(run.RunId).Info.Stale);

        h.Store.SetRunStatus(run.RunId, RunStatus.Failed);
        var failed = h.Store.GetRun(run.RunId).Info;
        Assert.Equal(RunStatus.Failed, failed.Status);
        Assert.NotNull(failed.EndTime);
        Assert.Throws<NotFoundException>(() => h.Store.Heartbeat("0123"));
    }

    [Theory, SqliteBackend, PostgresBackend]
    public void Artifacts_are_copied_with_size_and_sha256(string backend)
    {
        using var h = new StoreHarness(backend);
        var run = h.Store.CreateRun("exp");
        var file = h.Temp("report.txt");
        File.WriteAllText(file, "hello tracking");
        var folder = Directory.CreateDirectory(h.Temp("plots")).FullName;
        File.WriteAllBytes(Path.Combine(folder, "a.png"), [1, 2, 3]);
        Directory.CreateDirectory(Path.Combine(folder, "sub"));
        File.WriteAllBytes(Path.Combine(folder, "sub", "b.svg"), [4, 5]);

        var one = Assert.Single(h.Store.LogArtifact(run.RunId, file));
        h.Store.LogArtifact(run.RunId, file, "reports/daily");
        h.Store.LogArtifact(run.RunId, folder);
        h.Store.LogArtifact(run.RunId, folder, "figures");

        Assert.Equal("report.txt", one.Path);
        Assert.Equal(new FileInfo(file).Length, one.Size);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(file))), one.Sha256);
        var listed = h.Store.ListArtifacts(run.RunId);
        Assert.Equal(["figures/a.png", "figures/sub/b.svg", "plots/a.png", "plots/sub/b.svg", "report.txt", "reports/daily/report.txt"],
            listed.Select(a => a.Path));
        var root = h.Store.GetRun(run.RunId).Info.ArtifactLocation;
        foreach (var artifact in listed)
        {
            var copy = Path.Combine(root, artifact.Path);
            Assert.Equal(artifact.Sha256, Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(copy))));
        }
        // Atomic copies leave no temp files behind.
        Assert.DoesNotContain(Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories), f => f.Contains(".tmp-", StringComparison.Ordinal));

        Assert.Throws<UsageException>(() => h.Store.LogArtifact(run.RunId, file, "../outside"));
        Assert.Throws<UsageException>(() => h.Store.LogArtifact(run.RunId, h.Temp("missing.txt")));
        Assert.Equal(6, h.Store.ListArtifacts(run.RunId).Count);
    }

    [Theory, SqliteBackend, PostgresBackend]
    public void Registry_versions_aliases_tags_and_export(string backend)
    {
        using var h = new StoreHarness(backend);
        var bundle = TestBundles.Write(h.Temp("bundle"));
        var v1 = h.Store.RegisterModelVersion("digits", bundle, description: "first");
        var v2 = h.Store.RegisterModelVersion("digits", bundle);
        Assert.Equal(1, v1.Version);
        Assert.Equal(2, v2.Version);
        Assert.NotEqual(v1.Source, v2.Source);
        Assert.Equal("first", v1.Description);

        h.Store.SetAlias("digits", "champion", 1);
        h.Store.SetAlias("digits", "challenger", 2);
        h.Store.SetModelTag("digits", "task", "ocr");
        h.Store.SetModelVersionTag("digits", 2, "validated", "yes");
        h.Store.SetModelDescription("digits", "handwritten digits");
        h.Store.SetModelVersionDescription("digits", 2, "second");

        var model = h.Store.GetRegisteredModel("digits");
        Assert.Equal(2, model.LatestVersion);
        Assert.Equal(1, model.Aliases["champion"]);
        Assert.Equal("ocr", model.Tags["task"]);
        Assert.Equal("handwritten digits", model.Description);
        var second = h.Store.GetModelVersion("digits", 2);
        Assert.Equal(["challenger"], second.Aliases);
        Assert.Equal("yes", second.Tags["validated"]);
        Assert.Equal("second", second.Description);
        Assert.Equal([1, 2], h.Store.ListModelVersions("digits").Select(v => v.Version));
        Assert.Equal(["digits"], h.Store.ListRegisteredModels().Select(m => m.Name));

        Assert.Equal(1, h.Store.ResolveModel("digits@champion").Version);
        Assert.Equal(2, h.Store.ResolveModel("digits@challenger").Version);
        Assert.Equal(1, h.Store.ResolveModel("digits/1").Version);
        Assert.Equal(2, h.Store.ResolveModel("digits").Version);
        Assert.Equal(2, h.Store.ResolveModel("digits@latest").Version);
        h.Store.SetAlias("digits", "champion", 2);
        Assert.Equal(2, h.Store.ResolveModel("digits@champion").Version);
        h.Store.DeleteAlias("digits", "challenger");
        Assert.Throws<NotFoundException>(() => h.Store.ResolveModel("digits@challenger"));

        var exported = h.Store.ExportModel("digits@champion", h.Temp("out"));
        Assert.Equal("digits", exported.Manifest.Name);
        Assert.Equal(ModelBundle.Load(bundle).Manifest.Files, exported.Manifest.Files);
        Assert.Throws<UsageException>(() => h.Store.ExportModel("digits/1", h.Temp("out")));
    }

    [Theory, SqliteBackend, PostgresBackend]
    public void Registry_refuses_bad_input_and_changes_nothing(string backend)
    {
        using var h = new StoreHarness(backend);
        h.Store.RegisterModelVersion("digits", TestBundles.Write(h.Temp("bundle")));

        var missingVersion = Assert.Throws<NotFoundException>(() => h.Store.SetAlias("digits", "champion", 9));
        Assert.Contains("9", missingVersion.Message, StringComparison.Ordinal);
        Assert.Empty(h.Store.GetRegisteredModel("digits").Aliases);
        var typo = Assert.Throws<NotFoundException>(() => h.Store.GetRegisteredModel("digist"));
        Assert.Equal("digits", typo.Suggestion);
        Assert.Throws<NotFoundException>(() => h.Store.ResolveModel("digist@champion"));
        Assert.Throws<NotFoundException>(() => h.Store.GetModelVersion("digits", 2));
        Assert.Throws<UsageException>(() => h.Store.SetAlias("digits", "latest", 1));
        Assert.Throws<UsageException>(() => h.Store.SetAlias("digits", "has space", 1));
        Assert.Throws<UsageException>(() => h.Store.ResolveModel("digits/zero"));
        Assert.Throws<UsageException>(() => h.Store.RegisterModelVersion("bad/name", h.Temp("bundle")));
        // The server's rule: a name it could not serve is not registered either.
        Assert.Equal(ModelNames.Problem("a..b"), Assert.Throws<UsageException>(() => h.Store.RegisterModelVersion("a..b", h.Temp("bundle"))).Message);
        Assert.Throws<BundleException>(() => h.Store.RegisterModelVersion("other", h.Temp("no-bundle")));
        Assert.Throws<NotFoundException>(() => h.Store.RegisterModelVersion("other", h.Temp("bundle"), runId: "no-such-run"));
        Assert.Equal(["digits"], h.Store.ListRegisteredModels().Select(m => m.Name));

        // A tampered bundle is refused before anything is recorded.
        var tampered = TestBundles.Write(h.Temp("tampered"));
        File.AppendAllText(Path.Combine(tampered, "weights", "model.bin"), "x");
        Assert.Throws<BundleException>(() => h.Store.RegisterModelVersion("digits", tampered));
        Assert.Equal(1, h.Store.GetRegisteredModel("digits").LatestVersion);
    }

    [Theory, SqliteBackend, PostgresBackend]
    public void Lineage_leads_from_version_to_run_dataset_and_commit(string backend)
    {
        using var h = new StoreHarness(backend);
        string runId;
        using (var logger = RunLogger.Start(h.Store, "exp", "train"))
        {
            runId = logger.RunId;
            logger.LogMetric("accuracy", 0.97, 1);
            var bundle = TestBundles.Write(h.Temp("bundle"), runId, "sha256:feed", "abc123");
            logger.LogArtifact(bundle, "model");
        }

        var fromManifest = h.Store.RegisterModelVersion("digits", h.Temp("bundle"));
        Assert.Equal(new ModelLineage(runId, "toy", "sha256:feed", "abc123"), fromManifest.Lineage);
        var fromRun = h.Store.RegisterModelVersionFromRun("digits", runId);
        Assert.Equal(runId, fromRun.Lineage.RunId);
        Assert.Equal(2, fromRun.Version);
        Assert.Equal(0.97, h.Store.GetRun(fromRun.Lineage.RunId!).Metrics["accuracy"].Value);
        Assert.Throws<NotFoundException>(() => h.Store.RegisterModelVersionFromRun("digits", runId, "modle"));
    }

    [Theory, SqliteBackend, PostgresBackend]
    public void Soft_delete_hides_a_run_until_restored_and_is_refused_while_a_version_needs_it(string backend)
    {
        using var h = new StoreHarness(backend);
        var doomed = h.Store.CreateRun("exp", "doomed");
        var kept = h.Store.CreateRun("exp", "kept");
        h.Store.LogMetrics(doomed.RunId, [Point("loss", 1, 1)]);

        h.Store.DeleteRun(doomed.RunId);
        Assert.Equal(["kept"], h.Store.SearchRuns(new RunQuery()).Runs.Select(r => r.Name));
        Assert.Equal(2, h.Store.SearchRuns(new RunQuery { IncludeDeleted = true }).Runs.Count);
        Assert.True(h.Store.GetRun(doomed.RunId).Info.Deleted);
        Assert.Throws<UsageException>(() => h.Store.LogMetrics(doomed.RunId, [Point("loss", 0.5, 2)]));
        h.Store.RestoreRun(doomed.RunId);
        Assert.Equal(2, h.Store.SearchRuns(new RunQuery()).Runs.Count);
        Assert.Single(h.Store.GetMetricHistory(doomed.RunId, "loss"));

        h.Store.RegisterModelVersion("digits", TestBundles.Write(h.Temp("bundle")), kept.RunId);
        var refused = Assert.Throws<UsageException>(() => h.Store.DeleteRun(kept.RunId));
        Assert.Contains("digits/1", refused.Message, StringComparison.Ordinal);
        Assert.False(h.Store.GetRun(kept.RunId).Info.Deleted);
    }

    [Theory, SqliteBackend, PostgresBackend]
    public void Search_filters_sorts_and_pages(string backend)
    {
        using var h = new StoreHarness(backend);
        var ids = new List<string>();
        for (var i = 0; i < 20; i++)
        {
            var run = h.Store.CreateRun(i < 15 ? "exp" : "other", $"run{i:00}");
            ids.Add(run.RunId);
            h.Store.LogParams(run.RunId, Map(("model", i % 2 == 0 ? "cnn" : "mlp")));
            h.Store.SetTags(run.RunId, Map(("team", i < 10 ? "Alpha" : "beta")));
            // run05 never logs accuracy: it must sort last either way.
            if (i != 5) h.Store.LogMetrics(run.RunId, [Point("accuracy", i / 20.0, 1)]);
            if (i % 3 == 0) h.Store.SetRunStatus(run.RunId, RunStatus.Finished);
        }

        string[] Names(RunQuery q) => h.Store.SearchRuns(q).Runs.Select(r => r.Name).ToArray();

        Assert.Equal(["run18", "run16", "run14", "run12"],
            Names(new RunQuery { Filter = "metrics.accuracy > 0.5 and params.model = 'cnn'", OrderBy = "metrics.accuracy DESC" }));
        Assert.Equal(["run12", "run14"],
            Names(new RunQuery { Experiments = ["exp"], Filter = "metrics.accuracy >= 0.6 AND params.model = \"cnn\"", OrderBy = "metrics.accuracy" }));
        Assert.Equal(["run00", "run03", "run06", "run09"],
            Names(new RunQuery { Filter = "status = 'finished' and tags.team ilike 'alp%'", OrderBy = "name" }));
        Assert.Equal(["run10", "run11"],
            Names(new RunQuery { Filter = "tags.team = 'beta' and run_name LIKE 'run1_' and metrics.accuracy < 0.6", OrderBy = "name ASC" }));
        Assert.Equal(5, Names(new RunQuery { Filter = "params.`model` != 'cnn' and attributes.run_name LIKE 'run1%'" }).Length);
        Assert.Equal("run05", Names(new RunQuery { OrderBy = "metrics.accuracy DESC" })[^1]);
        Assert.Equal("run05", Names(new RunQuery { OrderBy = "metrics.accuracy ASC" })[^1]);
        Assert.Equal(["run01", "run18"], Names(new RunQuery { OrderBy = "params.model DESC, name DESC", MaxResults = 20 }).Skip(9).Take(2));

        // Paging: every run exactly once, in order.
        var seen = new List<string>();
        string? token = null;
        var pages = 0;
        do
        {
            var page = h.Store.SearchRuns(new RunQuery { OrderBy = "metrics.accuracy DESC", MaxResults = 6, PageToken = token });
            seen.AddRange(page.Runs.Select(r => r.Name));
            token = page.NextPageToken;
            pages++;
        }
        while (token is not null);
        Assert.Equal(4, pages);
        Assert.Equal(Names(new RunQuery { OrderBy = "metrics.accuracy DESC" }), seen);

        Assert.Throws<UsageException>(() => h.Store.SearchRuns(new RunQuery { PageToken = "bogus" }));
        Assert.Throws<NotFoundException>(() => h.Store.SearchRuns(new RunQuery { Experiments = ["exq"] }));
        Assert.Throws<UsageException>(() => h.Store.SearchRuns(new RunQuery { MaxResults = 0 }));
    }

    [Theory, SqliteBackend, PostgresBackend]
    public void A_database_from_a_newer_forge_is_refused(string backend)
    {
        using var h = new StoreHarness(backend);
        h.Store.CreateRun("exp");
        h.ExecuteSql($"UPDATE schema_version SET version = {Schema.CurrentVersion + 1}");
        var error = Assert.Throws<ForgeException>(() => h.Open());
        Assert.Contains($"written by a newer Forge (schema {Schema.CurrentVersion + 1}; this Forge knows up to {Schema.CurrentVersion})",
            error.Message, StringComparison.Ordinal);
    }

    [Theory, SqliteBackend, PostgresBackend]
    public void Migrations_run_forward_once_and_keep_what_was_logged(string backend)
    {
        using var h = new StoreHarness(backend);
        // A separate database at schema 1, as an older Forge left it.
        var oldSchema = "old_" + Guid.NewGuid().ToString("N")[..16];
        var oldUri = backend == "sqlite" ? "sqlite://" + h.Temp("old.db") : h.Uri[..h.Uri.IndexOf("schema=", StringComparison.Ordinal)] + "schema=" + oldSchema;
        string runId;
        using (var old = TrackingStore.OpenAtVersion(oldUri, h.ArtifactRoot, 1))
        {
            Assert.Equal(1, old.SchemaVersion);
            runId = old.CreateRun("exp", "from-v1").RunId;
            old.LogParams(runId, Map(("lr", "0.1")));
            old.LogMetrics(runId, [Point("loss", 0.25, 1)]);
            old.RegisterModelVersion("digits", TestBundles.Write(h.Temp("bundle")), runId);
        }
        try
        {
            using (var upgraded = TrackingStore.Open(oldUri, new TrackingStoreOptions { ArtifactRoot = h.ArtifactRoot }))
            {
                Assert.Equal(Schema.CurrentVersion, upgraded.SchemaVersion);
                var run = upgraded.GetRun(runId);
                Assert.Equal("0.1", run.Params["lr"]);
                Assert.Equal(0.25, run.Metrics["loss"].Value);
                Assert.Equal(runId, upgraded.ResolveModel("digits").Lineage.RunId);
            }
            // Opening an up-to-date database again migrates nothing and loses nothing.
            using var again = TrackingStore.Open(oldUri, new TrackingStoreOptions { ArtifactRoot = h.ArtifactRoot });
            Assert.Equal(Schema.CurrentVersion, again.SchemaVersion);
            Assert.Single(again.SearchRuns(new RunQuery { Filter = "metrics.loss < 0.5" }).Runs);
        }
        finally
        {
            if (backend != "sqlite") h.ExecuteSql($"DROP SCHEMA IF EXISTS {oldSchema} CASCADE");
        }
    }

    [Theory, SqliteBackend, PostgresBackend]
    public async Task Eight_processes_logging_500_points_each_lose_nothing(string backend)
    {
        using var h = new StoreHarness(backend);
        var outputs = await Worker.RunAllAsync(h, 8, _ => ["metrics", "concurrent", "500", "50"]);

        var runIds = outputs.Select(o => o.Split("RUN ")[1].Trim()).ToList();
        Assert.Equal(8, runIds.Distinct().Count());
        var total = 0;
        foreach (var runId in runIds)
        {
            var history = h.Store.GetMetricHistory(runId, "loss");
            Assert.Equal(Enumerable.Range(0, 500).Select(i => (long)i), history.Select(p => p.Step));
            Assert.Equal(RunStatus.Finished, h.Store.GetRun(runId).Info.Status);
            total += history.Count;
        }
        Assert.Equal(4000, total);
    }

    [Theory, SqliteBackend, PostgresBackend]
    public async Task Eight_processes_registering_one_model_get_versions_1_to_8(string backend)
    {
        using var h = new StoreHarness(backend);
        var bundle = TestBundles.Write(h.Temp("bundle"));
        var outputs = await Worker.RunAllAsync(h, 8, _ => ["register", "digits", bundle]);

        var versions = outputs.Select(o => int.Parse(o.Split("VERSION ")[1].Trim(), System.Globalization.CultureInfo.InvariantCulture)).Order();
        Assert.Equal(Enumerable.Range(1, 8), versions);
        Assert.Equal(Enumerable.Range(1, 8), h.Store.ListModelVersions("digits").Select(v => v.Version));
        Assert.Equal(8, h.Store.ListModelVersions("digits").Select(v => v.Source).Distinct().Count());
    }

    [Theory, SqliteBackend, PostgresBackend]
    public async Task A_run_killed_mid_training_stays_running_goes_stale_and_keeps_its_completed_epochs(string backend)
    {
        using var h = new StoreHarness(backend);
        using var process = Worker.Start(h, "-", "hang", "exp", "3");
        try
        {
            var ready = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60));
            // The messages are built only on failure: reading stderr means killing the worker first.
            if (ready != "READY") Assert.Fail($"worker said '{ready}': {await ReadErrorAsync(process)}");
            var line = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60));
            if (line is null || !line.StartsWith("RUN ", StringComparison.Ordinal)) Assert.Fail($"worker said '{line}': {await ReadErrorAsync(process)}");
            var runId = line!["RUN ".Length..].Trim();
            process.Kill(); // SIGKILL: no finally blocks, no Dispose, no flush.
            await process.WaitForExitAsync();

            var store = h.Open(staleAfter: TimeSpan.FromMilliseconds(200));
            Thread.Sleep(400);
            var run = store.GetRun(runId);
            Assert.Equal(RunStatus.Running, run.Info.Status);
            Assert.True(run.Info.Stale);
            Assert.Equal([1L, 2, 3], store.GetMetricHistory(runId, "accuracy").Select(p => p.Step));
            Assert.Equal([1L, 2, 3], store.GetMetricHistory(runId, "loss").Select(p => p.Step));
            Assert.Contains(store.SearchRuns(new RunQuery { Filter = "status = 'RUNNING'" }).Runs, r => r.RunId == runId && r.Stale);
        }
        finally
        {
            if (!process.HasExited) process.Kill();
        }
    }

    private static async Task<string> ReadErrorAsync(Process process)
    {
        if (!process.HasExited) process.Kill();
        return await process.StandardError.ReadToEndAsync();
    }
}
