using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Forge.Core;
using Forge.Tracking;

namespace Forge.Cli;

/// <summary>
/// The options every command that trains shares (<c>--experiment</c>, <c>--run-name</c>, <c>--no-track</c>,
/// <c>--tracking</c>) and the run they start.
/// </summary>
internal sealed class TrackingOptions
{
    public Option<string> Experiment { get; } = new("--experiment")
    {
        Description = "Experiment the run is logged under; created on first use",
        DefaultValueFactory = _ => "Default",
    };

    public Option<string?> RunName { get; } = new("--run-name") { Description = "Display name of the tracked run (default: generated)" };

    public Option<bool> NoTrack { get; } = new("--no-track") { Description = "Record nothing in the tracking store" };

    public Option<string?> Uri { get; } = TrackingCli.CreateUriOption(recursive: false);

    public void AddTo(Command command)
    {
        command.Options.Add(Experiment);
        command.Options.Add(RunName);
        command.Options.Add(NoTrack);
        command.Options.Add(Uri);
    }

    /// <summary>
    /// Starts a run in the store the options name, or returns <see cref="NullRunLogger"/> for <c>--no-track</c>. The
    /// store is opened here, before any training, so a malformed URI or an unreachable server stops the command at once.
    /// </summary>
    public TrackedRun Start(ParseResult p)
    {
        if (p.GetValue(NoTrack)) return TrackedRun.None;
        var experiment = p.GetValue(Experiment)!;
        if (string.IsNullOrWhiteSpace(experiment)) throw new UsageException("--experiment: the experiment name is empty");
        var store = TrackingCli.Open(p.GetValue(Uri));
        try
        {
            return new TrackedRun(store, RunLogger.Start(store, experiment, p.GetValue(RunName)));
        }
        catch
        {
            store.Dispose();
            throw;
        }
    }
}

/// <summary>A run being logged and the store it is logged to; disposing ends both (the logger first).</summary>
internal sealed class TrackedRun(ITrackingStore? store, IRunLogger logger) : IDisposable
{
    /// <summary>An untracked run: logs nothing, owns nothing.</summary>
    public static TrackedRun None => new(null, NullRunLogger.Instance);

    public IRunLogger Logger { get; } = logger;

    /// <summary>The run id, or null when untracked.</summary>
    public string? RunId => Logger.RunId.Length == 0 ? null : Logger.RunId;

    public string? StoreLocation => store?.Location;

    /// <summary>
    /// Runs <paramref name="body"/> under this run and records how it ended: FINISHED when it returns, KILLED on Ctrl+C or
    /// SIGTERM, FAILED on any other error (which is rethrown). On a terminal the run id is printed first, so the run can be
    /// followed from another shell; redirected stderr keeps to progress and, on failure, the one error line.
    /// </summary>
    public T Execute<T>(CliContext ctx, Func<IRunLogger, T> body)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        ArgumentNullException.ThrowIfNull(body);
        if (RunId is { } id && ctx.ErrorIsTerminal) ctx.Err.WriteLine($"tracking run {id} in {StoreLocation}");
        try
        {
            var result = body(Logger);
            Logger.End(RunStatus.Finished);
            return result;
        }
        catch (OperationCanceledException)
        {
            EndQuietly(RunStatus.Killed, ctx);
            throw;
        }
        catch
        {
            EndQuietly(RunStatus.Failed, ctx);
            throw;
        }
    }

    /// <summary>
    /// Logs a trained classifier's outcome the same way for every trainer: test accuracy, macro-F1 and log-loss, the
    /// training time and any <paramref name="extra"/> metrics at <paramref name="step"/>, then the bundle as artifact
    /// "model" and its plots folder, when it has one, as "plots".
    /// </summary>
    public void LogOutcome(ClassificationReport test, double trainSeconds, int step, ModelBundle? bundle, IReadOnlyDictionary<string, double>? extra = null)
    {
        ArgumentNullException.ThrowIfNull(test);
        var final = new Dictionary<string, double>(StringComparer.Ordinal)
        {
            ["testAccuracy"] = test.Accuracy,
            ["testMacroF1"] = test.MacroF1,
            ["trainSeconds"] = trainSeconds,
        };
        if (test.LogLoss is { } ll) final["testLogLoss"] = ll;
        if (extra is not null) foreach (var (k, v) in extra) final[k] = v;
        Logger.LogMetrics(final, step);
        if (bundle is null) return;
        Logger.LogArtifact(bundle.Directory, "model");
        var plots = Path.Combine(bundle.Directory, "plots");
        if (Directory.Exists(plots)) Logger.LogArtifact(plots, "plots");
    }

    /// <summary>
    /// Records the final status without letting a failure to record it hide the error that ended the run: the user
    /// needs the training error more than the bookkeeping one.
    /// </summary>
    public void EndQuietly(RunStatus status, CliContext ctx)
    {
        try
        {
            Logger.End(status);
        }
        catch (Exception e) when (e is ForgeException or IOException or InvalidOperationException or System.Data.Common.DbException)
        {
            ctx.Err.WriteLine($"warning: could not mark run {RunId} {TrackingCli.StatusName(status)}: {e.Message}");
        }
    }

    public void Dispose()
    {
        Logger.Dispose();
        store?.Dispose();
    }
}

/// <summary>Opening the tracking store and the lookups and formatting that the runs and models verbs share.</summary>
internal static class TrackingCli
{
    public static Option<string?> CreateUriOption(bool recursive) => new("--tracking")
    {
        Description = $"Tracking store: a SQLite file, sqlite:///path or postgresql://user:password@host:port/database (default: ${TrackingStore.UriVariable}, else $FORGE_HOME/forge.db)",
        Recursive = recursive,
    };

    public static ITrackingStore Open(string? uri) => TrackingStore.Open(uri);

    /// <summary>
    /// Finds a run by its full id or by a unique prefix of it (list prints 8 characters, so people type those).
    /// An unknown id is a <see cref="NotFoundException"/> suggesting the closest id; deleted runs are found too.
    /// </summary>
    public static RunInfo ResolveRun(ITrackingStore store, string idOrPrefix)
    {
        ArgumentNullException.ThrowIfNull(idOrPrefix);
        var text = idOrPrefix.Trim().ToLowerInvariant();
        if (text.Length == 0) throw new UsageException("the run id is empty");
        if (IsHex(text))
        {
            if (text.Length == 32)
            {
                try
                {
                    return store.GetRun(text).Info;
                }
                catch (NotFoundException)
                {
                    // Fall through to the suggestion below, which compares against every run, deleted ones included.
                }
            }
            else
            {
                // The text is hex only, so it cannot break out of the quoted filter value.
                var page = store.SearchRuns(new RunQuery { Filter = $"run_id LIKE '{text}%'", IncludeDeleted = true, MaxResults = 2 });
                if (page.Runs.Count == 1) return page.Runs[0];
                if (page.Runs.Count > 1)
                    throw new UsageException($"run id '{idOrPrefix}' is ambiguous: {page.Runs[0].RunId}, {page.Runs[1].RunId}{(page.NextPageToken is null ? "" : ", …")} all start with it; give more characters");
            }
        }
        // Compare at the length typed, so a slip in an 8-character short id is matched against 8-character short ids.
        var candidates = AllRuns(store).Select(r => r.RunId[..Math.Min(text.Length, r.RunId.Length)]).Distinct(StringComparer.Ordinal);
        throw new NotFoundException("run", idOrPrefix, candidates);
    }

    /// <summary>Every run in the store, deleted ones included, page by page.</summary>
    public static IEnumerable<RunInfo> AllRuns(ITrackingStore store)
    {
        string? token = null;
        do
        {
            var page = store.SearchRuns(new RunQuery { IncludeDeleted = true, MaxResults = 50_000, PageToken = token });
            foreach (var run in page.Runs) yield return run;
            token = page.NextPageToken;
        }
        while (token is not null);
    }

    public static string ShortId(string runId) => runId.Length <= 8 ? runId : runId[..8];

    /// <summary>The status as MLflow and the filter language spell it.</summary>
    public static string StatusName(RunStatus status) => status switch
    {
        RunStatus.Running => "RUNNING",
        RunStatus.Finished => "FINISHED",
        RunStatus.Failed => "FAILED",
        RunStatus.Killed => "KILLED",
        _ => "UNKNOWN",
    };

    public static string StatusText(RunInfo run) =>
        StatusName(run.Status) + (run.Stale ? " (stale)" : "") + (run.Deleted ? " (deleted)" : "");

    /// <summary>
    /// How long the run took, or has taken so far; a stale run counts up to its last heartbeat, when it was last seen
    /// alive. Null when unknown (or when clocks disagree so much the answer would be negative).
    /// </summary>
    public static double? DurationSeconds(RunInfo run)
    {
        var until = run.EndTime ?? (run.Status != RunStatus.Running ? (DateTimeOffset?)null : run.Stale ? run.Heartbeat : DateTimeOffset.UtcNow);
        return until is { } u && u >= run.StartTime ? (u - run.StartTime).TotalSeconds : null;
    }

    public static string Duration(double? seconds)
    {
        if (seconds is not { } s) return "-";
        var inv = CultureInfo.InvariantCulture;
        if (s < 60) return string.Create(inv, $"{s:F1}s");
        if (s < 3600) return string.Create(inv, $"{(int)(s / 60)}m{(int)(s % 60):D2}s");
        return string.Create(inv, $"{(int)(s / 3600)}h{(int)(s % 3600 / 60):D2}m");
    }

    public static string Time(DateTimeOffset t) => t.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    public static string? Time(DateTimeOffset? t) => t is { } v ? Time(v) : null;

    public static string Number(double v) => v.ToString("G6", CultureInfo.InvariantCulture);

    /// <summary>A metric value for JSON: NaN and infinities have no JSON number, so they become strings.</summary>
    public static JsonNode? Json(double v) => double.IsFinite(v) ? JsonValue.Create(v) : JsonValue.Create(v.ToString(CultureInfo.InvariantCulture));

    public static JsonObject Json(IReadOnlyDictionary<string, string> map)
    {
        var o = new JsonObject();
        foreach (var (k, v) in map.OrderBy(kv => kv.Key, StringComparer.Ordinal)) o[k] = v;
        return o;
    }

    /// <summary>Prints rows as left-aligned columns, the first row being the header.</summary>
    public static void Table(CliContext ctx, IReadOnlyList<string[]> rows, string indent = "")
    {
        if (rows.Count == 0) return;
        var widths = new int[rows.Max(r => r.Length)];
        foreach (var row in rows)
        {
            for (var i = 0; i < row.Length; i++) widths[i] = Math.Max(widths[i], row[i].Length);
        }
        foreach (var row in rows)
            ctx.Say(indent + string.Join("  ", row.Select((cell, i) => i == row.Length - 1 ? cell : cell.PadRight(widths[i]))).TrimEnd());
    }

    private static bool IsHex(string text) => text.All(char.IsAsciiHexDigitLower);
}
