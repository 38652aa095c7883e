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
    /// The observer that records a training run in the store the options name, or one that records nothing for
    /// <c>--no-track</c>. The store is opened here, before any training, so a malformed URI or an unreachable server
    /// stops the command at once. On a terminal the run id is printed as the run starts, so it can be followed from
    /// another shell.
    /// </summary>
    public CliObserver Observer(ParseResult p, CliContext ctx)
    {
        if (p.GetValue(NoTrack)) return new CliObserver(TrainingObservers.None, null, ctx);
        var experiment = p.GetValue(Experiment)!;
        if (string.IsNullOrWhiteSpace(experiment)) throw new UsageException("--experiment: the experiment name is empty");
        var tracking = TrackingObserver.Open(p.GetValue(Uri), experiment, p.GetValue(RunName),
            new Dictionary<string, string> { [RunTags.Source] = "cli" });
        return new CliObserver(tracking, tracking, ctx);
    }
}

/// <summary>A training observer as the CLI uses it: the run id printed when it starts, a warning when its end could not be recorded.</summary>
internal sealed class CliObserver(ITrainingObserver inner, TrackingObserver? tracking, CliContext ctx) : ITrainingObserver, IDisposable
{
    public string? RunId => inner.RunId;

    public void Started(TrainingStart start)
    {
        inner.Started(start);
        if (RunId is { } id && ctx.ErrorIsTerminal) ctx.Err.WriteLine($"tracking run {id} in {tracking!.StoreLocation}");
    }

    public void Epoch(long step, IReadOnlyDictionary<string, double> metrics) => inner.Epoch(step, metrics);

    public void Artifact(string localPath, string artifactPath) => inner.Artifact(localPath, artifactPath);

    public void Ended(TrainingEnd end)
    {
        inner.Ended(end);
        if (tracking?.EndWarning is { } warning) ctx.Err.WriteLine($"warning: {warning}");
    }

    public void Dispose() => tracking?.Dispose();
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
