using System.Globalization;
using System.Text.Json;
using Forge.Data;
using Forge.Tabular;
using Forge.Tests.Shared;
using Forge.Tracking;
using Forge.Tuning;

namespace Forge.Cli.Tests;

/// <summary>
/// <c>forge tune</c> end to end with tiny /bin/sh programs: placeholders and environment variables, the objective read
/// from stdout, pruning from <c>forge:report</c> lines (and the pruned program killed), failing programs, bad space files,
/// a shared SQLite study, trials nested as tracking runs, the report, and a tiny tabular tune.
/// </summary>
public sealed class TuneCommandTests(ForgeHomeFixture home) : IClassFixture<ForgeHomeFixture>
{
    private readonly ForgeHomeFixture _home = home;

    private static string Space(TempDir dir, string json)
    {
        var path = dir.Combine("space.json");
        File.WriteAllText(path, json);
        return path;
    }

    private static JsonElement[] Trials(JsonElement json) => [.. json.GetProperty("trials").EnumerateArray()];

    [Fact]
    public void Placeholders_and_environment_variables_carry_the_trial_values_and_the_last_number_is_the_objective()
    {
        using var dir = new TempDir("forge-tune-");
        var space = Space(dir, """{"x": {"type": "float", "low": 0, "high": 1}, "n": {"type": "int", "low": 1, "high": 3}, "act": {"type": "categorical", "choices": ["relu", "gelu"]}}""");
        // The program fails (exit 3) unless each placeholder equals its environment variable; then prints two numbers, the last being x.
        const string script = """test "{x}" = "$FORGE_PARAM_X" && test "{n}" = "$FORGE_PARAM_N" && test "{act}" = "$FORGE_PARAM_ACT" && test -n "$FORGE_TRIAL" || exit 3; echo "epoch 5 of {n}"; echo "loss={x}" """;

        var result = Cli.Run("tune", "command", "--space", space, "--trials", "6", "--sampler", "random", "--seed", "3", "--no-track", "--json", "--", "/bin/sh", "-c", script);

        Assert.True(result.ExitCode == 0, result.ToString());
        var json = result.Json();
        var trials = Trials(json);
        Assert.Equal(6, trials.Length);
        foreach (var t in trials)
        {
            Assert.Equal("COMPLETE", t.Text("state"));
            var x = t.GetProperty("params").Number("x");
            Assert.InRange(t.Number("value") - x, -1e-12, 1e-12);
            Assert.Contains(t.GetProperty("params").Text("act"), new[] { "relu", "gelu" });
        }
        var best = trials.Min(t => t.Number("value"));
        Assert.InRange(json.Number("bestValue") - best, -1e-12, 1e-12);
        Assert.Equal("minimize", json.Text("direction"));
    }

    [Fact]
    public void Maximize_picks_the_largest_value()
    {
        using var dir = new TempDir("forge-tune-");
        var space = Space(dir, """{"n": {"type": "int", "low": 1, "high": 4}}""");

        var result = Cli.Run("tune", "command", "--space", space, "--sampler", "grid", "--trials", "4", "--direction", "maximize", "--no-track", "--json", "--", "/bin/sh", "-c", "echo {n}");

        Assert.True(result.ExitCode == 0, result.ToString());
        var json = result.Json();
        Assert.Equal(4.0, json.Number("bestValue"));
        // A grid visits each point once.
        Assert.Equal([1, 2, 3, 4], Trials(json).Select(t => (int)t.GetProperty("params").Number("n")).Order().ToArray());
    }

    [Fact]
    public void A_failing_program_is_a_failed_trial_with_its_stderr_and_the_study_goes_on()
    {
        using var dir = new TempDir("forge-tune-");
        var space = Space(dir, """{"n": {"type": "int", "low": 1, "high": 3}}""");
        const string script = "if [ {n} = 2 ]; then echo 'boom: out of memory' >&2; exit 7; fi; if [ {n} = 3 ]; then echo no number here; exit 0; fi; echo {n}";

        var result = Cli.Run("tune", "command", "--space", space, "--sampler", "grid", "--trials", "3", "--no-track", "--json", "--", "/bin/sh", "-c", script);

        Assert.True(result.ExitCode == 0, result.ToString());
        var trials = Trials(result.Json()).ToDictionary(t => (int)t.GetProperty("params").Number("n"));
        Assert.Equal("COMPLETE", trials[1].Text("state"));
        Assert.Equal("FAIL", trials[2].Text("state"));
        Assert.Contains("code 7", trials[2].Text("failReason"), StringComparison.Ordinal);
        Assert.Contains("boom: out of memory", trials[2].Text("failReason"), StringComparison.Ordinal);
        Assert.Equal("FAIL", trials[3].Text("state"));
        Assert.Contains("printed no number", trials[3].Text("failReason"), StringComparison.Ordinal);
        Assert.Equal(1.0, result.Json().Number("bestValue"));
        Assert.Contains("boom: out of memory", result.Err, StringComparison.Ordinal);
    }

    [Fact]
    public void Reported_values_prune_and_the_pruned_program_is_killed_on_a_shared_sqlite_study_logged_as_nested_runs()
    {
        using var dir = new TempDir("forge-tune-");
        var space = Space(dir, """{"x": {"type": "float", "low": 0, "high": 1}}""");
        var storage = "sqlite:///" + dir.Combine("tune.db").TrimStart('/');
        // Five quick trials that report x at step 1: the median pruner's startup trials.
        var first = Cli.Run("tune", "command", "--space", space, "--trials", "5", "--sampler", "random", "--seed", "1", "--storage", storage, "--study", "s1",
            "--experiment", "tune-tests", "--json", "--", "/bin/sh", "-c", "echo 'forge:report 1 {x}'; echo {x}");
        Assert.True(first.ExitCode == 0, first.ToString());
        // The same study continued to 8 trials in all: each new trial reports 10 + x, worse than every median, so it is
        // pruned; a program left running would sleep, then leave a marker file.
        var marker = dir.Combine("survived");
        var second = Cli.Run("tune", "command", "--space", space, "--trials", "8", "--sampler", "random", "--seed", "2", "--storage", storage, "--study", "s1",
            "--experiment", "tune-tests", "--json", "--", "/bin/sh", "-c", $"echo 'forge:report 1 1{{x}}'; sleep 4; touch {marker}-$FORGE_TRIAL; echo 1{{x}}");

        Assert.True(second.ExitCode == 0, second.ToString());
        var json = second.Json();
        var trials = Trials(json);
        Assert.Equal(8, trials.Length);
        Assert.Equal(5, trials.Count(t => t.Text("state") == "COMPLETE"));
        var pruned = trials.Where(t => t.Text("state") == "PRUNED").ToArray();
        Assert.Equal(3, pruned.Length);
        foreach (var t in pruned) Assert.True(t.GetProperty("intermediateValues").TryGetProperty("1", out _), t.ToString());
        Thread.Sleep(500);
        Assert.Empty(Directory.EnumerateFiles(dir.Path, "survived*"));

        // Both processes nested their trials under the one study run.
        var parent = json.Text("runId");
        Assert.Equal(first.Json().Text("runId"), parent);
        using var store = TrackingStore.Open(null);
        var children = store.SearchRuns(new RunQuery { Filter = $"parent_run_id = '{parent}'", MaxResults = 100 }).Runs;
        Assert.Equal(8, children.Count);
        Assert.Equal(3, children.Count(r => r.Status == Core.RunStatus.Killed));

        // The report draws the stored study.
        var html = dir.Combine("report", "s1.html");
        var report = Cli.Run("tune", "report", "s1", "--storage", storage, "--out", html, "--json");
        Assert.True(report.ExitCode == 0, report.ToString());
        var text = File.ReadAllText(html);
        Assert.Contains("data:image/png;base64,", text, StringComparison.Ordinal);
        foreach (var png in new[] { "history", "importance", "parallel", "slices" })
            Assert.True(File.Exists(dir.Combine("report", $"s1.{png}.png")), png);
        Assert.Contains("Parallel coordinates", text, StringComparison.Ordinal);
        Assert.Equal(5, report.Json().GetProperty("completeTrials").GetInt32());

        var missing = Cli.Run("tune", "report", "s2", "--storage", storage, "--out", html);
        Cli.AssertFailed(missing, "s2", "s1");
    }

    [Fact]
    public async Task Two_workers_on_one_sqlite_grid_study_run_every_point_exactly_once()
    {
        using var dir = new TempDir("forge-tune-");
        var space = Space(dir, """{"n": {"type": "int", "low": 1, "high": 12}}""");
        var storage = "sqlite:///" + dir.Combine("grid.db").TrimStart('/');
        string[] Args() => ["tune", "command", "--space", space, "--sampler", "grid", "--trials", "12", "--parallel", "2", "--storage", storage, "--study", "g",
            "--no-track", "--json", "--", "/bin/sh", "-c", "sleep 0.05; echo {n}"];

        var workers = await Task.WhenAll(Task.Run(() => Cli.Run(Args())), Task.Run(() => Cli.Run(Args())));

        foreach (var w in workers) Assert.True(w.ExitCode == 0, w.ToString());
        // Each worker's JSON is its view when it ended (the other's last trials may still be running then): read the study.
        using var sql = SqlStudyStorage.Open(storage);
        var trials = Study.Load("g", sql).Trials;
        Assert.Equal(12, trials.Count);
        Assert.All(trials, t => Assert.Equal(TrialState.Complete, t.State));
        Assert.Equal(Enumerable.Range(1, 12), trials.Select(t => Convert.ToInt32(t.Params["n"], CultureInfo.InvariantCulture)).Order());
    }

    /// <summary>
    /// The parallel case as a user runs it: separate <c>forge tune command</c> processes (two on one SQLite file,
    /// four on one PostgreSQL study) complete the study's requested trials exactly, with no grid point twice and nothing
    /// on stderr but progress.
    /// </summary>
    [Theory, InlineData("sqlite"), PostgresBackend]
    public void Worker_processes_on_one_grid_study_complete_the_requested_trials_exactly(string backend)
    {
        using var dir = new TempDir("forge-tune-");
        var space = Space(dir, """{"n": {"type": "int", "low": 1, "high": 16}}""");
        var study = "g-" + Guid.NewGuid().ToString("N")[..12];
        var storage = backend == "sqlite" ? "sqlite:///" + dir.Combine("grid.db").TrimStart('/') : TestPostgres.Uri;
        var workers = backend == "sqlite" ? 2 : 4;
        string[] args = ["tune", "command", "--space", space, "--sampler", "grid", "--trials", "16", "--storage", storage, "--study", study,
            "--no-track", "--json", "--", "/bin/sh", "-c", "sleep 0.1; echo {n}"];

        var processes = Enumerable.Range(0, workers).Select(_ => ForgeProcess.Start(args, dir.Path, _home.Home)).ToList();
        try
        {
            foreach (var p in processes)
            {
                Assert.True(p.Process.WaitForExit(TimeSpan.FromMinutes(3)), "a worker did not finish\n" + p.Output);
                p.Process.WaitForExit();
                Assert.True(p.Process.ExitCode == 0, p.Output);
                Assert.DoesNotContain("error", p.Output, StringComparison.OrdinalIgnoreCase);
            }
        }
        finally
        {
            foreach (var p in processes) p.Dispose();
        }

        using var sql = SqlStudyStorage.Open(storage);
        var trials = Study.Load(study, sql).Trials;
        Assert.Equal(16, trials.Count);
        Assert.All(trials, t => Assert.Equal(TrialState.Complete, t.State));
        Assert.Equal(Enumerable.Range(1, 16), trials.Select(t => Convert.ToInt32(t.Params["n"], CultureInfo.InvariantCulture)).Order());
        Assert.Equal(Enumerable.Range(0, 16), trials.Select(t => t.Number).Order());
    }

    [Fact]
    public void A_bad_space_file_names_the_parameter_and_the_field()
    {
        using var dir = new TempDir("forge-tune-");
        var space = Space(dir, """{"lr": {"type": "float", "low": 0.1, "hihg": 2}, "depth": {"type": "integer", "low": 1, "high": 3}}""");

        var result = Cli.Run("tune", "command", "--space", space, "--no-track", "--", "/bin/sh", "-c", "echo 1");

        Cli.AssertFailed(result, "'lr'", "\"hihg\"", "\"high\"", "'depth'", "\"integer\"", "float, int, categorical");
        Assert.Equal(2, result.ExitCode);
    }

    [Fact]
    public void An_unknown_placeholder_and_a_bad_flag_are_reported_before_any_trial()
    {
        using var dir = new TempDir("forge-tune-");
        var space = Space(dir, """{"lr": {"type": "float", "low": 0.1, "high": 2}}""");

        var placeholder = Cli.Run("tune", "command", "--space", space, "--no-track", "--", "/bin/sh", "-c", "echo {lrr}");
        Cli.AssertFailed(placeholder, "{lrr}", "did you mean 'lr'");

        var sampler = Cli.Run("tune", "command", "--space", space, "--sampler", "tpr", "--pruner", "hyperbnd", "--no-track", "--", "/bin/sh", "-c", "echo 1");
        Cli.AssertFailed(sampler, "--sampler", "'tpe'", "--pruner", "'hyperband'");

        var grid = Cli.Run("tune", "command", "--space", space, "--sampler", "grid", "--no-track", "--", "/bin/sh", "-c", "echo 1");
        Cli.AssertFailed(grid, "'lr'", "step");

        var noStorage = Cli.Run("tune", "command", "--space", space, "--study", "x", "--no-track", "--", "/bin/sh", "-c", "echo 1");
        Cli.AssertFailed(noStorage, "--study", "--storage");

        var missing = Cli.Run("tune", "command", "--space", dir.Combine("nope.json"), "--no-track", "--", "/bin/sh", "-c", "echo 1");
        Cli.AssertFailed(missing, "nope.json", "no such file");
    }

    [Fact]
    public void Help_explains_placeholders_reports_and_the_objective()
    {
        var result = Cli.Run("tune", "command", "--help");

        Assert.Equal(0, result.ExitCode);
        foreach (var text in new[] { "{name}", "FORGE_PARAM_", "forge:report STEP VALUE", "last number", "--space", "--sampler", "--pruner", "--storage", "--study", "--parallel", "--direction" })
            Assert.Contains(text, result.Out, StringComparison.Ordinal);
        var root = Cli.Run("tune", "--help");
        foreach (var verb in new[] { "command", "adult", "bike-sharing", "table", "mnist", "report" })
            Assert.Contains(verb, root.Out, StringComparison.Ordinal);
    }

    [Fact]
    public void Tune_mnist_tunes_the_epoch_count_or_fixes_it_and_counts_the_epochs_trained()
    {
        var drawn = Cli.Run("tune", "mnist", "--model", "mlp", "--trials", "3", "--limit", "600", "--max-epochs", "2", "--pruner", "none",
            "--seed", "1", "--threads", "1", "--no-track", "--json");
        Assert.True(drawn.ExitCode == 0, drawn.ToString());
        var json = drawn.Json();
        var trials = Trials(json);
        Assert.Equal(3, trials.Length);
        var asked = trials.Sum(t => (int)t.GetProperty("params").Number("epochs"));
        Assert.All(trials, t => Assert.InRange(t.GetProperty("params").Number("epochs"), 1, 2));
        // Without pruning every trial trains what it drew, and reports one validation accuracy per epoch.
        Assert.Equal(asked, json.GetProperty("epochsWithoutPruning").GetInt32());
        Assert.Equal(asked, json.GetProperty("epochsTrained").GetInt32());
        Assert.All(trials, t => Assert.Equal((int)t.GetProperty("params").Number("epochs"), t.GetProperty("intermediateValues").EnumerateObject().Count()));
        Assert.InRange(json.Number("bestValue"), 0.3, 1.0);

        var fixedRun = Cli.Run("tune", "mnist", "--model", "mlp", "--trials", "2", "--limit", "600", "--max-epochs", "2", "--fixed-epochs", "--pruner", "none",
            "--seed", "1", "--threads", "1", "--no-track", "--json");
        Assert.True(fixedRun.ExitCode == 0, fixedRun.ToString());
        var fixedJson = fixedRun.Json();
        Assert.All(Trials(fixedJson), t => Assert.False(t.GetProperty("params").TryGetProperty("epochs", out _)));
        Assert.Equal(4, fixedJson.GetProperty("epochsWithoutPruning").GetInt32());
        Assert.Equal(4, fixedJson.GetProperty("epochsTrained").GetInt32());
    }

    [Fact]
    public void Tune_mnist_validation_scores_on_that_many_further_images_and_refuses_what_it_cannot_hold_out()
    {
        var result = Cli.Run("tune", "mnist", "--model", "mlp", "--trials", "2", "--limit", "600", "--validation", "313", "--max-epochs", "2",
            "--fixed-epochs", "--pruner", "none", "--seed", "1", "--threads", "1", "--no-track", "--json");
        Assert.True(result.ExitCode == 0, result.ToString());
        // The split the trainer draws from the first 913 images with 313 of them held out: every accuracy is a count over its size.
        var labels = MnistFormat.Load(SharedData.Mnist, "train").Take(913).Labels.Select(b => (int)b).ToArray();
        var held = DataSplits.Stratified(labels, 10, 313.0 / 913, 1).HeldOut.Length;
        var byDefault = DataSplits.Stratified(labels, 10, 1.0 / 12, 1).HeldOut.Length;
        Assert.InRange(held, 308, 318);
        var values = Trials(result.Json()).SelectMany(t => t.GetProperty("intermediateValues").EnumerateObject().Select(v => v.Value.GetDouble())).ToArray();
        Assert.Equal(4, values.Length);
        Assert.All(values, v => Assert.Equal(Math.Round(v * held), v * held, 6));
        // The default share of the same images (1/12) could not produce all of these values.
        Assert.Contains(values, v => Math.Abs((v * byDefault) - Math.Round(v * byDefault)) > 1e-6);

        var tooFew = Cli.Run("tune", "mnist", "--model", "mlp", "--trials", "1", "--limit", "600", "--validation", "5", "--no-track");
        Assert.Equal(2, tooFew.ExitCode);
        Assert.Contains("--validation must be at least 10 images (got 5)", tooFew.Err, StringComparison.Ordinal);
        var noLimit = Cli.Run("tune", "mnist", "--model", "mlp", "--trials", "1", "--limit", "0", "--validation", "100", "--no-track");
        Assert.Equal(2, noLimit.ExitCode);
        Assert.Contains("--validation needs --limit", noLimit.Err, StringComparison.Ordinal);
        var tooMany = Cli.Run("tune", "mnist", "--model", "mlp", "--trials", "1", "--limit", "50000", "--validation", "20000", "--no-track");
        Assert.Equal(2, tooMany.ExitCode);
        Assert.Contains("--limit 50000 plus --validation 20000 exceeds the 60000 MNIST training images", tooMany.Err, StringComparison.Ordinal);
    }

    [Fact]
    public void Hyperband_on_mnist_prunes_only_before_the_last_epoch_so_every_fully_trained_trial_counts()
    {
        using var dir = new TempDir("forge-tune-");
        var result = Cli.Run("tune", "mnist", "--model", "mlp", "--trials", "10", "--limit", "600", "--max-epochs", "3", "--fixed-epochs",
            "--pruner", "hyperband", "--seed", "2", "--threads", "1", "--storage", "sqlite:///" + dir.Combine("s.db"), "--study", "hb", "--no-track", "--json");

        Assert.True(result.ExitCode == 0, result.ToString());
        var trials = Trials(result.Json());
        Assert.Equal(10, trials.Length);
        var steps = trials.Select(t => t.GetProperty("intermediateValues").EnumerateObject().Count()).ToArray();
        var states = trials.Select(t => t.GetProperty("state").GetString()).ToArray();
        // Hyperband's rung at the last epoch would prune a trial that already trained in full: nothing saved, a value lost.
        for (var i = 0; i < trials.Length; i++)
            Assert.Equal(steps[i] == 3 ? "COMPLETE" : "PRUNED", states[i]);
        Assert.Contains("PRUNED", states);
        Assert.Equal(steps.Sum(), result.Json().GetProperty("epochsTrained").GetInt32());
    }

    [Fact]
    public void Tune_table_scores_trials_on_validation_rows_starts_from_the_default_recipe_and_writes_the_refitted_bundle()
    {
        using var dir = new TempDir("forge-tune-");
        var csv = dir.Combine("adult-small.csv");
        var lines = File.ReadLines(Path.Combine(SharedData.Dir("adult-census-income"), "adult.data")).Where(l => l.Trim().Length > 0).Take(1500);
        File.WriteAllLines(csv, lines.Prepend(string.Join(",", TabularRecipes.AdultColumns)));
        var output = dir.Combine("best");

        var result = Cli.Run("tune", "table", "--data", csv, "--label", "income", "--trials", "3", "--seed", "0", "--threads", "1", "--out", output,
            "--experiment", "tune-table", "--json");

        Assert.True(result.ExitCode == 0, result.ToString());
        var json = result.Json();
        var trials = Trials(json);
        Assert.Equal(3, trials.Length);
        var first = trials[0].GetProperty("params");
        Assert.Equal(300, first.Number("trees"));
        Assert.Equal(new Forge.Tabular.TabularOptions().Leaves, first.Number("leaves"));
        Assert.Equal("validation AUC", json.Text("metric"));
        Assert.Equal("maximize", json.Text("direction"));
        Assert.InRange(json.Number("bestValue"), 0.5, 1.0);
        Assert.InRange(json.Number("bestValue") - trials.Max(t => t.Number("value")), -1e-12, 1e-12);
        Assert.InRange(json.GetProperty("test").Number("testAuc"), 0.5, 1.0);
        // The bundle is the best trial refitted: its recorded hyperparameters are the best trial's.
        var manifest = Core.ModelBundle.Load(output).Manifest;
        var bestTrees = json.GetProperty("bestParams").Number("trees").ToString(CultureInfo.InvariantCulture);
        Assert.Equal(bestTrees, manifest.Training!.Hyperparameters["trees"]);
    }
}
