using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Forge.Core;
using Forge.Tracking;
using Forge.Tuning;

namespace Forge.Cli;

/// <summary>
/// <c>forge tune</c>: hyperparameter tuning with Forge.Tuning. <c>command</c> tunes any external program, <c>adult</c>,
/// <c>bike-sharing</c> and <c>table</c> tune the tabular learner, <c>mnist</c> the image classifier with pruning, and
/// <c>report</c> draws a stored study. The objectives live in the TuneCommand*.cs files; this one holds what they share:
/// the study flags, the storage, tracking every trial as a run nested under the study's run, progress and the result.
/// </summary>
internal static class TuneCommand
{
    public static Command Create(TextWriter output, TextWriter error, bool terminal)
    {
        var flags = new TuneFlags();
        var cmd = new Command("tune", """
            Tune hyperparameters: a study runs trials, each with values a sampler proposes, and keeps the best.

            Samplers: tpe (default; learns from the trials so far), gp (Gaussian-process Bayesian optimisation, good
            for few trials), random, grid (every point once). Pruners stop trials that report poor intermediate values:
            median (default), asha, hyperband, none. Trials are logged as tracking runs under one study run.

            Examples:
              forge tune command --space space.json --trials 30 -- python train.py --lr {lr} --depth {depth}
              forge tune adult --trials 50 --out models/adult-tuned
              forge tune mnist --trials 12 --limit 6000 --pruner hyperband
              forge tune table --data x.csv --label y --storage sqlite:///tmp/tune.db --study s1 --out best
              forge tune report s1 --storage sqlite:///tmp/tune.db --out s1.html

            Parallel workers: give every process the same --storage (SQLite on one machine, postgresql://… for many)
            and --study NAME; --trials is then the study's total, shared by all of them.
            """);
        cmd.Subcommands.Add(TuneProgram.Create(flags, output, error, terminal));
        foreach (var dataset in new[] { "adult", "bike-sharing", TabularCli.TableDataset })
            cmd.Subcommands.Add(TuneTabular.Create(dataset, flags, output, error, terminal));
        cmd.Subcommands.Add(TuneMnist.Create(flags, output, error, terminal));
        cmd.Subcommands.Add(TuneReport.Create(output, error, terminal));
        return cmd;
    }

    /// <summary>The value a trial gave a parameter, as the command line and environment variables print it.</summary>
    public static string Format(object? value) => value switch
    {
        null => "",
        // 15 digits: a stepped float is low + k·step, whose last binary digit is noise ("0.15000000000000002"); a program
        // should read 0.15. The study keeps the exact value.
        double d => d.ToString("G15", CultureInfo.InvariantCulture),
        float f => f.ToString("G7", CultureInfo.InvariantCulture),
        bool b => b ? "true" : "false",
        IFormattable x => x.ToString(null, CultureInfo.InvariantCulture),
        var other => other.ToString() ?? "",
    };

    public static string Describe(IReadOnlyDictionary<string, object?> parameters) =>
        string.Join(", ", parameters.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}={Format(p.Value)}"));

    public static string StateName(TrialState state) => TuningText.Of(state);
}

/// <summary>The flags every tuning verb shares, created once and added to each verb.</summary>
internal sealed class TuneFlags
{
    public Option<int> Trials { get; } = new("--trials")
    {
        Description = "Trials to run (with --study on a shared --storage: the study's total over all workers)",
        DefaultValueFactory = _ => 20,
    };

    public Option<string?> Sampler { get; } = new("--sampler") { Description = "tpe (default), gp, random or grid" };

    public Option<string?> Pruner { get; } = new("--pruner") { Description = "median (default), asha, hyperband or none; acts only on reported intermediate values" };

    public Option<int?> Seed { get; } = new("--seed") { Description = "Seed of the sampler (and of the trained models), for reproducible studies" };

    public Option<string?> Storage { get; } = new("--storage")
    {
        Description = "Where trials are kept: memory (default), a SQLite file, sqlite:///path or postgresql://user:password@host:port/database",
    };

    public Option<string?> Study { get; } = new("--study") { Description = "Study name; an existing study of that name in --storage is continued (default: a new generated name)" };

    public Option<int> Parallel { get; } = new("--parallel") { Description = "Trials run at once in this process (default 1)", DefaultValueFactory = _ => 1 };

    public TrackingOptions Tracking { get; } = new();

    public void AddTo(Command command)
    {
        command.Options.Add(Trials);
        command.Options.Add(Sampler);
        command.Options.Add(Pruner);
        command.Options.Add(Seed);
        command.Options.Add(Storage);
        command.Options.Add(Study);
        command.Options.Add(Parallel);
        Tracking.AddTo(command);
    }

    /// <summary>
    /// Reads the study flags, reporting every problem at once. <paramref name="space"/> is what the grid sampler
    /// enumerates; <paramref name="maxStep"/> is the largest step a trial reports (Hyperband's maximum resource).
    /// </summary>
    public TuneSettings Read(ParseResult p, IReadOnlyDictionary<string, Distribution> space, StudyDirection direction, long? maxStep)
    {
        var problems = new List<string>();
        var trials = p.GetValue(Trials);
        if (trials < 1) problems.Add($"--trials must be at least 1 (got {trials})");
        var parallel = p.GetValue(Parallel);
        if (parallel < 1) problems.Add($"--parallel must be at least 1 (got {parallel})");
        var seed = p.GetValue(Seed);
        var samplerName = Word(p.GetValue(Sampler), "tpe", "--sampler", ["tpe", "gp", "random", "grid"], problems);
        var prunerName = Word(p.GetValue(Pruner), "median", "--pruner", ["median", "asha", "hyperband", "none"], problems);
        ISampler? sampler = null;
        try
        {
            sampler = samplerName switch
            {
                "grid" => GridSampler.FromSearchSpace(space, seed),
                "random" => new RandomSampler(seed),
                "gp" => new GpSampler(new GpOptions { Seed = seed }),
                _ => new TpeSampler(new TpeOptions { Seed = seed }),
            };
        }
        catch (UsageException e)
        {
            problems.Add("--sampler grid: " + e.Message.Replace("grid sampler: ", "", StringComparison.Ordinal));
        }
        IPruner pruner = prunerName switch
        {
            "none" => new NopPruner(),
            "asha" => new SuccessiveHalvingPruner(),
            "hyperband" => new HyperbandPruner(new HyperbandOptions { MaxResource = maxStep }),
            _ => new MedianPruner(),
        };
        var study = p.GetValue(Study);
        if (study is not null && string.IsNullOrWhiteSpace(study)) problems.Add("--study: the name is empty");
        var storage = p.GetValue(Storage);
        if (study is not null && IsMemory(storage))
            problems.Add("--study names a study to share or continue, which needs a --storage (sqlite:///path or postgresql://…)");
        if (problems.Count > 0) throw new UsageException(string.Join("; ", problems));
        return new TuneSettings(trials, parallel, seed, sampler!, pruner, study, storage, direction, samplerName, prunerName);
    }

    private static string Word(string? text, string fallback, string option, string[] words, List<string> problems)
    {
        if (text is null) return fallback;
        var key = text.Trim().ToLowerInvariant();
        if (words.Contains(key)) return key;
        problems.Add(CliFlags.Suggest($"{option}: unknown value '{text}'", key, words) + $" (one of {string.Join(", ", words)})");
        return fallback;
    }

    public static bool IsMemory(string? storage) => storage is null || storage.Trim().Equals("memory", StringComparison.OrdinalIgnoreCase);
}

/// <summary>The study flags as read: what <see cref="TuneSession"/> needs to create or continue a study.</summary>
internal sealed record TuneSettings(
    int Trials, int Parallel, int? Seed, ISampler Sampler, IPruner Pruner, string? StudyName, string? Storage, StudyDirection Direction,
    string SamplerName, string PrunerName);

/// <summary>
/// One tuning run of this process: the study (in memory or in a shared SQL storage), the study's tracking run with every
/// trial nested under it, the progress display, and the summary printed at the end.
/// </summary>
internal sealed class TuneSession : IDisposable
{
    /// <summary>The study attribute holding the id of the tracking run the trials are nested under (shared by workers).</summary>
    public const string TrackingRunAttribute = "forge.trackingRun";

    private readonly CliContext _ctx;
    private readonly TuneSettings _settings;
    private readonly SqlStudyStorage? _sql;
    private readonly ITrackingStore? _tracking;
    private readonly string? _experiment;
    private readonly Lock _lock = new();
    private ProgressDisplay? _bar;
    private int _finished;

    private TuneSession(CliContext ctx, TuneSettings settings, Study study, SqlStudyStorage? sql, ITrackingStore? tracking, string? experiment, string? parentRunId)
    {
        _ctx = ctx;
        _settings = settings;
        Study = study;
        _sql = sql;
        _tracking = tracking;
        _experiment = experiment;
        ParentRunId = parentRunId;
        study.TrialFinished += OnTrialFinished;
    }

    public Study Study { get; }

    /// <summary>The tracking run the trials are nested under; null with --no-track.</summary>
    public string? ParentRunId { get; }

    /// <summary>Where the study lives, for messages.</summary>
    public string StorageLocation => _sql?.Location ?? "memory";

    /// <summary>Opens the storage and the tracking store, creates or continues the study, and starts (or joins) the study's tracking run.</summary>
    public static TuneSession Open(CliContext ctx, ParseResult p, TuneFlags flags, TuneSettings settings, string what, IReadOnlyDictionary<string, string> parameters)
    {
        SqlStudyStorage? sql = null;
        ITrackingStore? tracking = null;
        try
        {
            IStudyStorage storage;
            if (TuneFlags.IsMemory(settings.Storage))
            {
                storage = new InMemoryStudyStorage();
            }
            else
            {
                sql = SqlStudyStorage.Open(settings.Storage);
                storage = sql;
            }
            var options = new StudyOptions
            {
                Name = settings.StudyName,
                Direction = settings.Direction,
                Sampler = settings.Sampler,
                Pruner = settings.Pruner,
                Storage = storage,
                LoadIfExists = settings.StudyName is not null,
                // A worker that dies leaves its trial Running; with a shared storage the others fail it after the grace period.
                HeartbeatInterval = sql is null ? null : TimeSpan.FromSeconds(10),
                HeartbeatGracePeriod = sql is null ? null : TimeSpan.FromSeconds(60),
            };
            var study = Study.Create(options);
            if (study.Direction != settings.Direction)
                throw new UsageException($"study '{study.Name}' in {sql!.Location} {TuningText.Of(study.Direction).ToLowerInvariant()}s its objective; this command would {TuningText.Of(settings.Direction).ToLowerInvariant()} it");
            string? parent = null;
            string? experiment = null;
            if (!p.GetValue(flags.Tracking.NoTrack))
            {
                experiment = p.GetValue(flags.Tracking.Experiment)!;
                if (string.IsNullOrWhiteSpace(experiment)) throw new UsageException("--experiment: the experiment name is empty");
                tracking = TrackingCli.Open(p.GetValue(flags.Tracking.Uri));
                parent = study.Attributes.TryGetValue(TrackingRunAttribute, out var json) ? ScalarValues.FromJson(json) as string : null;
                if (parent is null)
                {
                    var run = tracking.CreateRun(experiment, p.GetValue(flags.Tracking.RunName) ?? $"tune-{study.Name}");
                    parent = run.RunId;
                    var runParams = new Dictionary<string, string>(parameters, StringComparer.Ordinal)
                    {
                        ["study"] = study.Name, ["objective"] = what, ["direction"] = TuningText.Of(study.Direction).ToLowerInvariant(),
                        ["sampler"] = settings.SamplerName, ["pruner"] = settings.PrunerName, ["trials"] = settings.Trials.ToString(CultureInfo.InvariantCulture),
                    };
                    tracking.LogParams(parent, runParams);
                    tracking.SetTags(parent, new Dictionary<string, string> { [RunTags.Source] = "cli", [RunTags.Trainer] = "tune", ["forge.study"] = study.Name });
                    study.SetAttribute(TrackingRunAttribute, parent);
                    // Two workers starting at once may both create a run; the one stored last is the one every trial uses.
                    parent = ScalarValues.FromJson(study.Attributes[TrackingRunAttribute]) as string ?? parent;
                }
                if (ctx.ErrorIsTerminal) ctx.Err.WriteLine($"tracking study run {parent} in {tracking.Location}");
            }
            return new TuneSession(ctx, settings, study, sql, tracking, experiment, parent);
        }
        catch
        {
            tracking?.Dispose();
            sql?.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Runs the objective for the requested trials with the progress display; a cancelled run (Ctrl+C) stops starting
    /// trials. With --study the trial count is the study's total over every worker.
    /// </summary>
    public IReadOnlyList<FrozenTrial> Optimize(Func<Trial, CancellationToken, double> objective, CancellationToken cancellationToken)
    {
        var options = new OptimizeOptions
        {
            StudyWideTrialLimit = _settings.StudyName is not null,
            // Only Ctrl+C stops the study; an objective's own error fails its trial and the study goes on.
            Catch = e => e is not OperationCanceledException || !cancellationToken.IsCancellationRequested,
        };
        using var bar = _ctx.Progress("tune");
        _bar = bar;
        try
        {
            return Study.Optimize(t => objective(t, cancellationToken), _settings.Trials, _settings.Parallel, options, cancellationToken);
        }
        catch (SearchSpaceExhaustedException)
        {
            bar.Line("the grid is exhausted: every point has been tried");
            return Study.Trials;
        }
        finally
        {
            _bar = null;
        }
    }

    private void OnTrialFinished(object? sender, TrialFinishedEventArgs e)
    {
        var t = e.Trial;
        lock (_lock)
        {
            _finished++;
            var best = Study.FindBestOrNull();
            var detail = string.Create(CultureInfo.InvariantCulture,
                $"trial {_finished}/{_settings.Trials}{(best is null ? "" : $", best {TrackingCli.Number(best.Value!.Value)} (trial {best.Number})")}");
            _bar?.Update((double)_finished / _settings.Trials, detail);
            if (t.State == TrialState.Fail)
                _bar?.Line($"trial {t.Number} failed: {FirstLines(t.FailReason ?? "no reason recorded", 6)}");
            else if (!_ctx.ErrorIsTerminal && _bar is not null)
                _bar.Line($"trial {t.Number} {TuneCommand.StateName(t.State)}{(t.Value is { } v ? " " + TrackingCli.Number(v) : "")}: {TuneCommand.Describe(t.Params)}");
        }
        LogTrial(t);
    }

    private static string FirstLines(string text, int lines)
    {
        var all = text.ReplaceLineEndings("\n").Split('\n');
        return all.Length <= lines ? text.ReplaceLineEndings("\n  ") : string.Join("\n  ", all.Take(lines)) + "\n  …";
    }

    /// <summary>Logs a finished trial as a tracking run nested under the study's run: its parameters, value, state and reported values.</summary>
    private void LogTrial(FrozenTrial t)
    {
        if (_tracking is null || ParentRunId is null) return;
        try
        {
            var run = _tracking.CreateRun(_experiment!, $"{Study.Name}-trial-{t.Number}", ParentRunId);
            if (t.Params.Count > 0) _tracking.LogParams(run.RunId, t.Params.ToDictionary(p => p.Key, p => TuneCommand.Format(p.Value), StringComparer.Ordinal));
            var tags = new Dictionary<string, string>
            {
                [RunTags.Source] = "cli", [RunTags.Trainer] = "tune", ["forge.study"] = Study.Name,
                ["forge.trial"] = t.Number.ToString(CultureInfo.InvariantCulture), ["forge.trialState"] = TuneCommand.StateName(t.State),
            };
            if (t.FailReason is { } reason) tags[RunTags.Error] = reason.Length <= 500 ? reason : reason[..500];
            _tracking.SetTags(run.RunId, tags);
            var now = DateTimeOffset.UtcNow;
            var points = t.IntermediateValues.Select(kv => new MetricPoint("intermediate", kv.Value, kv.Key, now)).ToList();
            if (t.Value is { } value) points.Add(new MetricPoint("objective", value, t.LastStep ?? 0, now));
            if (t.Duration is { } d) points.Add(new MetricPoint("trialSeconds", d.TotalSeconds, 0, now));
            if (points.Count > 0) _tracking.LogMetrics(run.RunId, points);
            _tracking.SetRunStatus(run.RunId, t.State switch
            {
                TrialState.Complete => RunStatus.Finished,
                TrialState.Pruned => RunStatus.Killed,
                _ => RunStatus.Failed,
            });
        }
        catch (Exception ex) when (ex is ForgeException or IOException or System.Data.Common.DbException)
        {
            // A trial's result is in the study either way; tracking is a copy, so a failed copy is a warning, not an error.
            lock (_lock) _ctx.Err.WriteLine($"warning: trial {t.Number} was not logged as a tracking run: {ex.Message}");
        }
    }

    /// <summary>Logs the best value on the study's run and ends it (finished), whichever worker ends last.</summary>
    public void FinishTracking(IReadOnlyDictionary<string, double>? extraMetrics = null)
    {
        if (_tracking is null || ParentRunId is null) return;
        var now = DateTimeOffset.UtcNow;
        var points = new List<MetricPoint>();
        var trials = Study.Trials;
        if (Study.FindBestOrNull(trials) is { } best) points.Add(new MetricPoint("bestValue", best.Value!.Value, trials.Count, now));
        if (extraMetrics is not null) points.AddRange(extraMetrics.Select(m => new MetricPoint(m.Key, m.Value, trials.Count, now)));
        if (points.Count > 0) _tracking.LogMetrics(ParentRunId, points);
        if (trials.All(t => t.State != TrialState.Running && t.State != TrialState.Waiting)) _tracking.SetRunStatus(ParentRunId, RunStatus.Finished);
    }

    /// <summary>The study as JSON: bestValue, bestParams, bestTrial, counts and every trial (number, state, value, params).</summary>
    public JsonObject ToJson(IReadOnlyList<FrozenTrial> trials)
    {
        var best = Study.FindBestOrNull(trials);
        var list = new JsonArray();
        foreach (var t in trials.OrderBy(t => t.Number))
        {
            var o = new JsonObject
            {
                ["number"] = t.Number,
                ["state"] = TuneCommand.StateName(t.State),
                ["value"] = t.Value is { } v ? TrackingCli.Json(v) : null,
                ["params"] = Params(t.Params),
            };
            if (t.IntermediateValues.Count > 0)
            {
                var iv = new JsonObject();
                foreach (var (step, value) in t.IntermediateValues) iv[step.ToString(CultureInfo.InvariantCulture)] = TrackingCli.Json(value);
                o["intermediateValues"] = iv;
            }
            if (t.FailReason is { } reason) o["failReason"] = reason;
            if (t.Duration is { } d) o["seconds"] = Math.Round(d.TotalSeconds, 3);
            list.Add(o);
        }
        var counts = new JsonObject();
        foreach (var state in Enum.GetValues<TrialState>()) counts[TuneCommand.StateName(state).ToLowerInvariant()] = trials.Count(t => t.State == state);
        return new JsonObject
        {
            ["study"] = Study.Name,
            ["storage"] = StorageLocation,
            ["direction"] = TuningText.Of(Study.Direction).ToLowerInvariant(),
            ["sampler"] = _settings.SamplerName,
            ["pruner"] = _settings.PrunerName,
            ["runId"] = ParentRunId,
            ["bestValue"] = best?.Value is { } bv ? TrackingCli.Json(bv) : null,
            ["bestTrial"] = best?.Number,
            ["bestParams"] = best is null ? null : Params(best.Params),
            ["counts"] = counts,
            ["trials"] = list,
        };
    }

    public static JsonObject Params(IReadOnlyDictionary<string, object?> parameters)
    {
        var o = new JsonObject();
        foreach (var (k, v) in parameters.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            o[k] = v switch
            {
                null => null,
                double d => TrackingCli.Json(d),
                long l => l,
                int i => i,
                bool b => b,
                _ => JsonValue.Create(TuneCommand.Format(v)),
            };
        }
        return o;
    }

    /// <summary>Prints the counts and the best trial for people.</summary>
    public void SayResult(IReadOnlyList<FrozenTrial> trials, string valueName)
    {
        var count = (TrialState s) => trials.Count(t => t.State == s);
        _ctx.Say(string.Create(CultureInfo.InvariantCulture,
            $"study '{Study.Name}' ({StorageLocation}): {trials.Count} trials, {count(TrialState.Complete)} complete, {count(TrialState.Pruned)} pruned, {count(TrialState.Fail)} failed"));
        if (Study.FindBestOrNull(trials) is { } best)
        {
            _ctx.Say($"best {valueName} {TrackingCli.Number(best.Value!.Value)} (trial {best.Number}): {TuneCommand.Describe(best.Params)}");
        }
        else
        {
            _ctx.Say("no trial completed, so there is no best trial");
        }
        if (ParentRunId is not null) _ctx.Say($"trials tracked under run {ParentRunId} (forge runs list --filter \"parent_run_id = '{ParentRunId}'\")");
    }

    public void Dispose()
    {
        Study.TrialFinished -= OnTrialFinished;
        _tracking?.Dispose();
        _sql?.Dispose();
    }
}

/// <summary>Best-trial lookups that return null instead of throwing when nothing has completed.</summary>
internal static class StudyExtensions
{
    public static FrozenTrial? FindBestOrNull(this Study study) => study.FindBestOrNull(study.Trials);

    public static FrozenTrial? FindBestOrNull(this Study study, IReadOnlyList<FrozenTrial> trials)
    {
        FrozenTrial? best = null;
        foreach (var t in trials)
        {
            if (t.State != TrialState.Complete || t.Value is not { } v) continue;
            if (best is null || (study.Direction == StudyDirection.Minimize ? v < best.Value!.Value : v > best.Value!.Value)) best = t;
        }
        return best;
    }
}
