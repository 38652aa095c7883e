using System.Data.Common;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Forge.Core;
using Forge.Tracking;
using Forge.Tuning;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Forge.Serving.Ui;

/// <summary>What the web UI is mounted over: the tracking store, the API key, and (under <c>forge serve</c>) the served models.</summary>
/// <param name="TrackingUri">The tracking store (null: <c>FORGE_TRACKING_URI</c>, else <c>$FORGE_HOME/forge.db</c>).</param>
/// <param name="ArtifactRoot">Where the store keeps artifacts (null: its default).</param>
/// <param name="ApiKey">The key that moving an alias requires; null refuses every move.</param>
/// <param name="Serving">True under <c>forge serve</c> (models, explain, drift and chat exist); false for <c>forge ui</c>.</param>
internal sealed record UiSettings(string? TrackingUri, string? ArtifactRoot, string? ApiKey, bool Serving);

/// <summary>
/// Forge's web UI: one page (<c>/</c>, with <c>/ui/app.js</c> and <c>/ui/app.css</c>, all embedded in this assembly, nothing
/// fetched from elsewhere) and the JSON it reads under <c>/api/ui</c>: runs (paged, filtered and sorted in SQL), run detail
/// and metric histories, artifacts, the registry, studies with their trials, and, under <c>forge serve</c>, each served
/// model's live status and drift timeline. Predictions, explanations and drift themselves come from the server's /v1 API.
/// </summary>
internal static class WebUi
{
    // The page loads its script and style from this server only, and talks to nothing else: a CDN or third-party call fails loudly.
    private const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data: blob:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    private static readonly Dictionary<string, (string Resource, string Type)> Assets = new(StringComparer.Ordinal)
    {
        ["/"] = ("Forge.Serving.Ui.index.html", "text/html; charset=utf-8"),
        ["/ui/app.js"] = ("Forge.Serving.Ui.app.js", "text/javascript; charset=utf-8"),
        ["/ui/app.css"] = ("Forge.Serving.Ui.app.css", "text/css; charset=utf-8"),
    };

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte[]> Loaded = new(StringComparer.Ordinal);

    /// <summary>The largest number of runs the compare view and a child-run list show.</summary>
    private const int MaxListed = 200;

    public static void MapWebUi(this WebApplication app, UiSettings settings)
    {
        ArgumentNullException.ThrowIfNull(app);
        var stores = new UiStores(settings.TrackingUri, settings.ArtifactRoot);
        app.Lifetime.ApplicationStopped.Register(stores.Dispose);
        ServedStatus? served = null;
        DriftTimeline? timeline = null;
        if (settings.Serving)
        {
            served = new ServedStatus(app.Services.GetRequiredService<ModelCatalog>(), app.Services.GetRequiredService<ServerMetrics>(),
                app.Services.GetRequiredService<TrafficRouter>());
            timeline = new DriftTimeline(app.Services.GetRequiredService<ModelMonitors>());
            app.Lifetime.ApplicationStopping.Register(timeline.Dispose);
        }

        foreach (var (path, (resource, type)) in Assets)
        {
            app.MapGet(path, (HttpContext context) =>
            {
                context.Response.Headers.ContentSecurityPolicy = ContentSecurityPolicy;
                context.Response.Headers.CacheControl = "no-cache";
                context.Response.Headers.XContentTypeOptions = "nosniff";
                return Results.Bytes(Loaded.GetOrAdd(resource, Load), type);
            }).ExcludeFromDescription();
        }

        var ui = app.MapGroup("/api/ui").WithTags("Web UI").ExcludeFromDescription();
        ui.MapGet("/summary", (HttpContext c) => Guard(c, () => Summary(stores, settings, served)));
        ui.MapGet("/runs", (HttpContext c, string? filter, string? sort, string? experiment, int? page, int? size) =>
            Guard(c, () => Runs(stores, filter, sort, experiment, page ?? 0, size ?? 50)));
        ui.MapGet("/runs/keys", (HttpContext c) => Guard(c, () =>
        {
            var keys = RunTable.Keys(stores.Store);
            var experiments = stores.Store.ListExperiments().Select(e => e.Name);
            return new JsonObject { ["metrics"] = Strings(keys.Metrics), ["params"] = Strings(keys.Params), ["experiments"] = Strings(experiments) };
        }));
        ui.MapGet("/runs/{id}", (HttpContext c, string id) => Guard(c, () => RunDetail(stores.Store, id)));
        ui.MapGet("/runs/{id}/metrics", (HttpContext c, string id, string? keys) => Guard(c, () => Histories(stores.Store, id, keys)));
        ui.MapGet("/runs/{id}/artifact", (HttpContext c, string id, string path) => Artifact(c, stores.Store, id, path));
        ui.MapGet("/models", (HttpContext c) => Guard(c, () => new JsonObject { ["models"] = new JsonArray([.. stores.Store.ListRegisteredModels().Select(Registered)]) }));
        ui.MapGet("/models/{name}", (HttpContext c, string name) => Guard(c, () => ModelDetail(stores.Store, name)));
        if (!settings.Serving)
        {
            // Under forge serve the page moves aliases through PUT /v1/models/{name}/aliases/{alias}, which also swaps served versions.
            ui.MapPut("/models/{name}/aliases/{alias}", (HttpContext c, string name, string alias, AliasBody? body) => Guard(c, () =>
            {
                if (body?.Version is not { } version || version < 1) throw new UsageException("version: send {\"version\": N} with N a registered version (1 or more)");
                stores.Store.SetAlias(name, alias, version);
                return new JsonObject { ["name"] = name, ["alias"] = alias, ["version"] = version };
            })).AddEndpointFilter(new ApiKeyFilter(settings.ApiKey, inferenceProtocol: false));
        }
        ui.MapGet("/served", (HttpContext c) => Guard(c, () => new JsonObject { ["serving"] = served is not null, ["models"] = served?.Read() ?? [] }));
        ui.MapGet("/drift/{name}/timeline", (HttpContext c, string name, string? version) => Guard(c, () =>
        {
            if (timeline is null) throw new UsageException("drift is monitored by forge serve; this is forge ui, which serves no models");
            var catalog = app.Services.GetRequiredService<ModelCatalog>();
            var found = catalog.Find(name, version);
            if (found.Entry is null) throw new NotFoundException("model", name, found.Known);
            return new JsonObject { ["model"] = name, ["version"] = found.Entry.Version, ["points"] = timeline.Read(name, found.Entry.Version) };
        }));
        ui.MapGet("/studies", (HttpContext c) => Guard(c, () => new JsonObject
        {
            ["studies"] = new JsonArray([.. StudySummaries.List(stores.Studies).Select(s => (JsonNode)new JsonObject
            {
                ["name"] = s.Name, ["direction"] = TuningText.Of(s.Direction), ["created"] = s.Created, ["trials"] = s.Trials,
                ["complete"] = s.Complete, ["running"] = s.Running, ["best"] = UiJson.Num(s.Best),
            })]),
        }));
        ui.MapGet("/studies/{name}", (HttpContext c, string name) => Guard(c, () => StudyDetail(stores.Studies, name)));
    }

    private static byte[] Load(string resource)
    {
        using var stream = typeof(WebUi).Assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"the web UI resource {resource} is missing from the assembly");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    /// <summary>Runs a handler; Forge's errors become problem details the page shows (never a blank page or a stack trace).</summary>
    private static IResult Guard(HttpContext context, Func<JsonNode> body)
    {
        try
        {
            return Results.Json(body(), UiJson.Options);
        }
        catch (NotFoundException e)
        {
            return new ApiError(404, "Not found", e.Message).ToProblem(context);
        }
        catch (UsageException e)
        {
            return new ApiError(400, "Invalid request", e.Message).ToProblem(context);
        }
        catch (Exception e) when (e is ForgeException or DbException or IOException)
        {
            return new ApiError(503, "Tracking store unavailable", e.Message.ReplaceLineEndings(" ")).ToProblem(context);
        }
    }

    private static JsonNode Summary(UiStores stores, UiSettings settings, ServedStatus? served)
    {
        var summary = new JsonObject
        {
            ["mode"] = settings.Serving ? "serve" : "ui",
            ["aliasUrl"] = settings.Serving ? "/v1/models/{name}/aliases/{alias}" : "/api/ui/models/{name}/aliases/{alias}",
            ["apiKeyConfigured"] = settings.ApiKey is not null,
            ["served"] = served?.Read() ?? [],
        };
        // Each part on its own: a store that cannot be opened still leaves the served models on the page, with the reason.
        try
        {
            var store = stores.Store;
            summary["store"] = store.Location;
            var page = RunTable.Query(store, new RunTableRequest { PageSize = 10 });
            summary["runCount"] = page.Total;
            summary["recentRuns"] = new JsonArray([.. page.Rows.Select(RunRow)]);
            summary["registered"] = new JsonArray([.. store.ListRegisteredModels().Select(Registered)]);
        }
        catch (Exception e) when (e is ForgeException or DbException or IOException)
        {
            summary["storeError"] = e.Message;
        }
        try
        {
            summary["studies"] = new JsonArray([.. StudySummaries.List(stores.Studies).Select(s => (JsonNode)new JsonObject
            {
                ["name"] = s.Name, ["trials"] = s.Trials, ["best"] = UiJson.Num(s.Best), ["direction"] = TuningText.Of(s.Direction),
            })]);
        }
        catch (Exception e) when (e is ForgeException or DbException or IOException)
        {
            summary["studiesError"] = e.Message;
        }
        return summary;
    }

    private static JsonNode Runs(UiStores stores, string? filter, string? sort, string? experiment, int page, int size)
    {
        var result = RunTable.Query(stores.Store, new RunTableRequest
        {
            Filter = string.IsNullOrWhiteSpace(filter) ? null : filter,
            OrderBy = string.IsNullOrWhiteSpace(sort) ? null : sort,
            Experiment = string.IsNullOrWhiteSpace(experiment) ? null : experiment,
            Page = page,
            PageSize = size,
        });
        return new JsonObject { ["total"] = result.Total, ["page"] = page, ["size"] = size, ["runs"] = new JsonArray([.. result.Rows.Select(RunRow)]) };
    }

    private static JsonNode RunRow(RunTableRow row) => new JsonObject
    {
        ["id"] = row.Info.RunId,
        ["name"] = row.Info.Name,
        ["experiment"] = row.Info.ExperimentName,
        ["status"] = Status(row.Info),
        ["start"] = row.Info.StartTime,
        ["end"] = row.Info.EndTime,
        ["metrics"] = new JsonObject(row.Metrics.Select(m => KeyValuePair.Create(m.Key, UiJson.Num(m.Value)))),
        ["params"] = new JsonObject(row.Params.Select(p => KeyValuePair.Create(p.Key, (JsonNode?)p.Value))),
    };

    private static string Status(RunInfo info) => info.Stale ? "STALE" : info.Status.ToString().ToUpperInvariant();

    private static JsonNode RunDetail(ITrackingStore store, string id)
    {
        var run = store.GetRun(id);
        var children = store.SearchRuns(new RunQuery { Filter = $"parent_run_id = '{id.Replace("'", "''", StringComparison.Ordinal)}'", MaxResults = MaxListed });
        var parent = run.Info.ParentRunId is { } p ? TryName(store, p) : null;
        return new JsonObject
        {
            ["id"] = run.Info.RunId,
            ["name"] = run.Info.Name,
            ["experiment"] = run.Info.ExperimentName,
            ["status"] = Status(run.Info),
            ["start"] = run.Info.StartTime,
            ["end"] = run.Info.EndTime,
            ["deleted"] = run.Info.Deleted,
            ["params"] = new JsonObject(run.Params.OrderBy(x => x.Key, StringComparer.Ordinal).Select(x => KeyValuePair.Create(x.Key, (JsonNode?)x.Value))),
            ["tags"] = new JsonObject(run.Tags.OrderBy(x => x.Key, StringComparer.Ordinal).Select(x => KeyValuePair.Create(x.Key, (JsonNode?)x.Value))),
            ["metrics"] = new JsonObject(run.Metrics.OrderBy(x => x.Key, StringComparer.Ordinal).Select(x => KeyValuePair.Create(x.Key, (JsonNode?)new JsonObject
            {
                ["value"] = UiJson.Num(x.Value.Value), ["step"] = x.Value.Step,
            }))),
            ["artifacts"] = new JsonArray([.. store.ListArtifacts(id).Select(a => (JsonNode)new JsonObject { ["path"] = a.Path, ["size"] = a.Size, ["sha256"] = a.Sha256 })]),
            ["parent"] = run.Info.ParentRunId is null ? null : new JsonObject { ["id"] = run.Info.ParentRunId, ["name"] = parent },
            ["children"] = new JsonArray([.. children.Runs.Select(r => (JsonNode)new JsonObject { ["id"] = r.RunId, ["name"] = r.Name, ["status"] = Status(r) })]),
            ["models"] = new JsonArray([.. RunTable.VersionsOfRun(store, id).Select(v => (JsonNode)new JsonObject { ["name"] = v.Name, ["version"] = v.Version })]),
        };
    }

    private static string? TryName(ITrackingStore store, string runId)
    {
        try
        {
            return store.GetRun(runId).Info.Name;
        }
        catch (NotFoundException)
        {
            return null;
        }
    }

    private static JsonNode Histories(ITrackingStore store, string id, string? keys)
    {
        var run = store.GetRun(id);
        var wanted = string.IsNullOrWhiteSpace(keys) ? run.Metrics.Keys.Order(StringComparer.Ordinal).ToList()
            : [.. keys.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];
        var result = new JsonObject();
        foreach (var key in wanted.Take(50))
        {
            var points = store.GetMetricHistory(id, key);
            // Long histories are thinned to about 2,000 points: a chart a few hundred pixels wide shows no more.
            var stride = Math.Max(1, points.Count / 2000);
            result[key] = new JsonArray([.. points.Where((_, i) => i % stride == 0 || i == points.Count - 1)
                .Select(pt => (JsonNode)new JsonArray(pt.Step, UiJson.Num(pt.Value)))]);
        }
        return new JsonObject { ["id"] = id, ["name"] = run.Info.Name, ["metrics"] = result };
    }

    private static IResult Artifact(HttpContext context, ITrackingStore store, string id, string path)
    {
        try
        {
            var run = store.GetRun(id);
            var known = store.ListArtifacts(id).FirstOrDefault(a => string.Equals(a.Path, path, StringComparison.Ordinal));
            if (known is null)
                return new ApiError(404, "Unknown artifact", $"run {id} has no artifact '{path}'") { Field = "path" }.ToProblem(context);
            var root = Path.GetFullPath(run.Info.ArtifactLocation) + Path.DirectorySeparatorChar;
            var file = Path.GetFullPath(Path.Combine(root, path));
            if (!file.StartsWith(root, StringComparison.Ordinal) || !File.Exists(file))
                return new ApiError(404, "Artifact missing", $"the file of artifact '{path}' is not in the run's artifact folder").ToProblem(context);
            return Results.File(file, "application/octet-stream", Path.GetFileName(file));
        }
        catch (NotFoundException e)
        {
            return new ApiError(404, "Not found", e.Message).ToProblem(context);
        }
    }

    private static JsonNode Registered(RegisteredModel m) => new JsonObject
    {
        ["name"] = m.Name,
        ["description"] = m.Description,
        ["latestVersion"] = m.LatestVersion,
        ["updated"] = m.UpdatedAt,
        ["aliases"] = new JsonObject(m.Aliases.OrderBy(a => a.Key, StringComparer.Ordinal).Select(a => KeyValuePair.Create(a.Key, (JsonNode?)a.Value))),
        ["tags"] = new JsonObject(m.Tags.OrderBy(a => a.Key, StringComparer.Ordinal).Select(a => KeyValuePair.Create(a.Key, (JsonNode?)a.Value))),
    };

    private static JsonNode ModelDetail(ITrackingStore store, string name)
    {
        var model = store.GetRegisteredModel(name);
        var versions = store.ListModelVersions(name).OrderByDescending(v => v.Version).Select(v =>
        {
            var version = new JsonObject
            {
                ["version"] = v.Version,
                ["created"] = v.CreatedAt,
                ["description"] = v.Description,
                ["aliases"] = Strings(v.Aliases),
                ["tags"] = new JsonObject(v.Tags.OrderBy(a => a.Key, StringComparer.Ordinal).Select(a => KeyValuePair.Create(a.Key, (JsonNode?)a.Value))),
                ["runId"] = v.Lineage.RunId,
                ["dataset"] = v.Lineage.Dataset,
                ["datasetChecksum"] = v.Lineage.DatasetChecksum,
                ["gitCommit"] = v.Lineage.GitCommit,
            };
            // The manifest is read as plain JSON, not loaded as a bundle: verifying every weight file's checksum for a page view would cost seconds.
            var manifestPath = Path.Combine(v.Source, ModelBundle.ManifestFileName);
            try
            {
                if (File.Exists(manifestPath) && JsonNode.Parse(File.ReadAllText(manifestPath)) is JsonObject manifest)
                {
                    foreach (var key in new[] { "flavor", "task", "signature", "metrics", "training", "description" })
                    {
                        if (manifest[key] is { } value) version["manifest_" + key] = value.DeepClone();
                    }
                }
                var card = Path.Combine(v.Source, "MODEL_CARD.md");
                if (File.Exists(card)) version["card"] = File.ReadAllText(card);
            }
            catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException)
            {
                version["manifestError"] = $"{manifestPath}: {e.Message}";
            }
            return (JsonNode)version;
        });
        var result = Registered(model).AsObject();
        result["versions"] = new JsonArray([.. versions]);
        return result;
    }

    private static JsonNode StudyDetail(SqlStudyStorage storage, string name)
    {
        var study = storage.GetStudy(name);
        var trials = storage.GetTrials(study.Id);
        var complete = trials.Where(t => t.State == TrialState.Complete && t.Value is not null).ToList();
        var names = trials.SelectMany(t => t.Params.Keys).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var distributions = new JsonObject();
        foreach (var n in names)
        {
            var d = trials.First(t => t.Distributions.ContainsKey(n)).Distributions[n];
            distributions[n] = d switch
            {
                CategoricalDistribution c => new JsonObject { ["kind"] = "categorical", ["choices"] = new JsonArray([.. c.Choices.Select(x => (JsonNode?)JsonValue.Create(Convert.ToString(x, CultureInfo.InvariantCulture)))]) },
                FloatDistribution f => new JsonObject { ["kind"] = "float", ["low"] = f.Low, ["high"] = f.High, ["log"] = f.Log },
                IntDistribution i => new JsonObject { ["kind"] = "int", ["low"] = i.Low, ["high"] = i.High, ["log"] = i.Log },
                _ => new JsonObject { ["kind"] = "other" },
            };
        }
        var (importance, pending) = Importance(study, complete);
        var rows = new JsonArray();
        foreach (var t in trials.OrderBy(t => t.Number))
        {
            // Compact rows: [number, state, value, seconds, [param values in the order of "params"]].
            rows.Add(new JsonArray(
                t.Number, TuningText.Of(t.State), UiJson.Num(t.Value), UiJson.Num(t.Duration?.TotalSeconds),
                new JsonArray([.. names.Select(n => t.Params.TryGetValue(n, out var v) ? UiJson.Value(v) : null)])));
        }
        return new JsonObject
        {
            ["name"] = study.Name,
            ["direction"] = TuningText.Of(study.Direction),
            ["created"] = study.Created,
            ["params"] = Strings(names),
            ["distributions"] = distributions,
            ["importance"] = importance ?? new JsonObject(),
            ["importanceTrials"] = Math.Min(complete.Count, ImportanceTrials),
            ["importancePending"] = pending,
            ["trials"] = rows,
            ["running"] = trials.Count(t => t.State == TrialState.Running),
        };
    }

    /// <summary>The most completed trials the importance forest is fitted to: the latest ones, so a live study's page stays quick.</summary>
    private const int ImportanceTrials = 2000;

    /// <summary>
    /// How long a study answer waits for an importance fit before it goes without: a few hundred trials fit within it,
    /// 2,000 take seconds on a small machine, and the page should not wait for them (it asks again until they are in).
    /// Settable by the tests.
    /// </summary>
    internal static TimeSpan ImportanceWait { get; set; } = TimeSpan.FromMilliseconds(250);

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, ImportanceState> ImportanceCache = new(StringComparer.Ordinal);

    /// <summary>One study's importance: the last finished fit and the one running, each for (completed count, last trial id).</summary>
    private sealed class ImportanceState
    {
        public (int Complete, long LastTrial, JsonObject Value)? Done;
        public (int Complete, long LastTrial, Task<JsonObject> Task)? Running;
    }

    /// <summary>
    /// The study's parameter importance as <c>forge tune report</c> computes it (ParameterImportance: a surrogate forest's
    /// permutation importance), over the latest completed trials; kept until another trial completes, since a live page
    /// asks every few seconds. The fit runs in the background, one at a time per study: an answer waits for it up to
    /// <see cref="ImportanceWait"/>, else carries the last finished importance (or none) and <c>pending</c>.
    /// </summary>
    private static (JsonObject? Importance, bool Pending) Importance(StudyInfo study, List<FrozenTrial> complete)
    {
        var key = $"{study.Id}\u0001{study.Name}";
        var count = complete.Count;
        var last = count == 0 ? -1 : complete.Max(t => t.TrialId);
        var state = ImportanceCache.GetOrAdd(key, _ => new ImportanceState());
        Task<JsonObject> task;
        lock (state)
        {
            Collect(state);
            if (state.Done is { } done && done.Complete == count && done.LastTrial == last) return ((JsonObject)done.Value.DeepClone(), false);
            // A fit for an older trial set keeps running rather than being joined by a second one; the next answer after
            // it finishes starts the fit for the trials then.
            if (state.Running is null)
            {
                var latest = complete.OrderByDescending(t => t.Number).Take(ImportanceTrials).ToList();
                var fit = Task.Run(() => new JsonObject(ParameterImportance.Evaluate(latest)
                    .OrderByDescending(x => x.Value).Select(x => KeyValuePair.Create(x.Key, UiJson.Num(x.Value)))));
                state.Running = (count, last, fit);
            }
            task = state.Running.Value.Task;
        }
        try
        {
            task.Wait(ImportanceWait);
        }
        catch (AggregateException e) when (e.InnerException is not null)
        {
            lock (state) Collect(state);
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerException).Throw();
        }
        lock (state)
        {
            Collect(state);
            if (state.Done is { } done && done.Complete == count && done.LastTrial == last) return ((JsonObject)done.Value.DeepClone(), false);
            return (state.Done is { } stale ? (JsonObject)stale.Value.DeepClone() : null, true);
        }
    }

    /// <summary>Moves a finished fit to Done (a failed one is dropped, so the next answer tries again). Call under the lock.</summary>
    private static void Collect(ImportanceState state)
    {
        if (state.Running is not { } running || !running.Task.IsCompleted) return;
        state.Running = null;
        if (running.Task.IsCompletedSuccessfully) state.Done = (running.Complete, running.LastTrial, running.Task.Result);
    }

    private static JsonArray Strings(IEnumerable<string> values) => new([.. values.Select(v => (JsonNode?)v)]);
}

/// <summary>The body of an alias move: <c>{"version": N}</c>.</summary>
internal sealed record AliasBody(int? Version);

/// <summary>JSON helpers: numbers that are not finite become null (JSON has no NaN), values of any scalar type become nodes.</summary>
internal static class UiJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web);

    public static JsonNode? Num(double? value) => value is { } v && double.IsFinite(v) ? JsonValue.Create(v) : null;

    public static JsonNode? Value(object? value) => value switch
    {
        null => null,
        double d => Num(d),
        float f => Num(f),
        int i => JsonValue.Create(i),
        long l => JsonValue.Create(l),
        bool b => JsonValue.Create(b),
        string s => JsonValue.Create(s),
        _ => JsonValue.Create(Convert.ToString(value, CultureInfo.InvariantCulture)),
    };
}
