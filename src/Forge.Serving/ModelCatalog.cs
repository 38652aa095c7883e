using System.Diagnostics;
using System.Globalization;
using Forge.Core;
using Forge.Tracking;
using Microsoft.Extensions.Logging;

namespace Forge.Serving;

/// <summary>Where a served model is in its life.</summary>
internal enum ModelState
{
    Pending,
    Loading,
    Ready,
    Failed,
}

/// <summary>A verified bundle, the name and version it is served as, and the loader that will read it.</summary>
internal sealed record ResolvedBundle(ModelBundle Bundle, string Name, string Version, IModelLoader Loader, string Origin)
{
    /// <summary>The registry version it was resolved to, for a registry source; the alias watcher compares it.</summary>
    public int? RegistryVersion { get; init; }
}

/// <summary>One loaded, warmed model version with its inference thread.</summary>
internal sealed class ServedModel(ResolvedBundle resolved, ServableModel model, ModelBatcher batcher, double loadSeconds) : IDisposable
{
    public string Name => Resolved.Name;

    public string Version => Resolved.Version;

    public ResolvedBundle Resolved { get; } = resolved;

    public ServableModel Model { get; } = model;

    public ModelBatcher Batcher { get; } = batcher;

    public double LoadSeconds { get; } = loadSeconds;

    public ModelManifest Manifest => Resolved.Bundle.Manifest;

    /// <summary>Drains the queue (every accepted request is answered), then frees the model.</summary>
    public void Dispose()
    {
        Batcher.Dispose();
        Model.Dispose();
    }
}

/// <summary>One configured model source and the version currently serving it; reloading swaps the version atomically.</summary>
internal sealed class ModelEntry(ModelSource source, ResolvedBundle resolved, BatchingOptions batching)
{
    private volatile ServedModel? _current;
    private volatile ModelState _state = ModelState.Pending;

    public ModelSource Source { get; } = source;

    public ModelRole Role => Source.Role;

    public string Name { get; } = resolved.Name;

    public BatchingOptions Batching { get; } = batching;

    /// <summary>The bundle to load first; after that, what the current version was loaded from.</summary>
    public ResolvedBundle Resolved { get; set; } = resolved;

    public ServedModel? Current
    {
        get => _current;
        set => _current = value;
    }

    public ModelState State
    {
        get => _state;
        set => _state = value;
    }

    public string? Error { get; set; }

    public string Version => _current?.Version ?? Resolved.Version;

    public SemaphoreSlim ReloadLock { get; } = new(1, 1);
}

/// <summary>What a lookup by name and version found.</summary>
internal sealed record ModelLookup(ModelEntry? Entry, int Status, string? Error, IReadOnlyList<string> Known);

/// <summary>The served models: resolving their sources, loading and warming them, finding them per request, reloading them.</summary>
internal sealed class ModelCatalog : IDisposable
{
    private readonly List<ModelEntry> _entries;
    private readonly ServerOptions _options;
    private readonly ModelLoaderRegistry _loaders;
    private readonly ServerMetrics _metrics;
    private readonly ILogger _logger;
    private readonly TaskCompletionSource _loaded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _disposed;

    public ModelCatalog(ServerOptions options, ModelLoaderRegistry loaders, IReadOnlyList<(ModelSource Source, ResolvedBundle Resolved)> resolved,
        ServerMetrics metrics, ILogger<ModelCatalog> logger)
    {
        _options = options;
        _loaders = loaders;
        _metrics = metrics;
        _logger = logger;
        _entries = resolved.Select(r => new ModelEntry(r.Source, r.Resolved, r.Source.Batching ?? options.Batching)).ToList();
        metrics.Models = Statuses;
    }

    public IReadOnlyList<ModelEntry> Entries => _entries;

    /// <summary>Model names in the order they were configured, each once.</summary>
    public IReadOnlyList<string> Names => _entries.Select(e => e.Name).Distinct(StringComparer.Ordinal).ToArray();

    /// <summary>True once every model is loaded and warm.</summary>
    public bool IsReady => _entries.All(e => e.State == ModelState.Ready);

    /// <summary>Completes when every model has been loaded (or faults naming every model that failed).</summary>
    public Task Loaded => _loaded.Task;

    /// <summary>
    /// Verifies every source before the server starts: bundles exist and pass their checksums, registry references
    /// resolve, names are valid and unique per version, and a loader reads each flavor. Every problem is reported at once.
    /// </summary>
    public static List<(ModelSource Source, ResolvedBundle Resolved)> ResolveAll(ServerOptions options, ModelLoaderRegistry loaders)
    {
        var problems = new List<string>();
        var result = new List<(ModelSource, ResolvedBundle)>();
        ITrackingStore? store = null;
        try
        {
            foreach (var source in options.Models)
            {
                try
                {
                    if (source.RegistryReference is not null) store ??= TrackingStore.Open(options.TrackingUri);
                    var resolved = Resolve(source, loaders, store);
                    // A challenger may sit on its primary's version: the aliases point at the same version until one moves.
                    if (source.Role == ModelRole.Primary && result.Any(r => r.Item2.Name == resolved.Name && r.Item2.Version == resolved.Version))
                        problems.Add($"{source}: model '{resolved.Name}' version {resolved.Version} is served twice; give one of them another version or name");
                    else result.Add((source, resolved));
                }
                catch (ForgeException e)
                {
                    problems.Add(e.Message.StartsWith(source.ToString(), StringComparison.Ordinal) ? e.Message : $"{source}: {e.Message}");
                }
            }
        }
        finally
        {
            store?.Dispose();
        }
        if (problems.Count > 0) throw new UsageException(string.Join("; ", problems));
        return result;
    }

    private static ResolvedBundle Resolve(ModelSource source, ModelLoaderRegistry loaders, ITrackingStore? store)
    {
        ModelBundle bundle;
        string name, version, origin;
        int? registryVersion = null;
        if (source.RegistryReference is { } reference)
        {
            var registered = store!.ResolveModel(reference);
            registryVersion = registered.Version;
            bundle = ModelBundle.Load(registered.Source);
            name = source.Name ?? registered.Name;
            version = source.Version ?? registered.Version.ToString(CultureInfo.InvariantCulture);
            origin = $"registry:{reference} (version {registered.Version.ToString(CultureInfo.InvariantCulture)})";
        }
        else
        {
            bundle = ModelBundle.Load(source.BundlePath!);
            name = source.Name ?? bundle.Manifest.Name;
            version = source.Version ?? "1";
            origin = bundle.Directory;
        }
        if (ModelNames.Problem(name) is { } problem)
            throw new UsageException($"{problem}; serve it under another name (--model NAME=DIR)");
        if (ModelNames.VersionProblem(version) is { } versionProblem) throw new UsageException(versionProblem);
        var loader = loaders.Find(bundle.Manifest, out var why) ?? throw new BundleException(bundle.Directory, why!);
        if (bundle.Manifest.Signature.Inputs.Count == 0) throw new BundleException(bundle.Directory, "the signature lists no inputs");
        return new ResolvedBundle(bundle, name, version, loader, origin) { RegistryVersion = registryVersion };
    }

    /// <summary>Loads and warms every model, one after the other (loads compete for the same cores), then completes <see cref="Loaded"/>.</summary>
    public void LoadAll(CancellationToken cancellationToken)
    {
        var failures = new List<string>();
        foreach (var entry in _entries)
        {
            if (cancellationToken.IsCancellationRequested) break;
            entry.State = ModelState.Loading;
            try
            {
                entry.Current = LoadAndWarm(entry.Resolved, entry.Batching, cancellationToken);
                entry.State = ModelState.Ready;
                _logger.LogInformation("model {Model} version {Version} ready in {Seconds:F2} s ({Flavor}, from {Origin})",
                    entry.Name, entry.Version, entry.Current.LoadSeconds, entry.Resolved.Bundle.Manifest.Flavor, entry.Resolved.Origin);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // The server is stopping while this model warms: nothing failed, and nothing is left to load.
                entry.State = ModelState.Pending;
                break;
            }
            catch (Exception e)
            {
                entry.Error = e.Message;
                entry.State = ModelState.Failed;
                failures.Add($"{entry.Name} version {entry.Version}: {e.Message}");
                _logger.LogError(e, "model {Model} version {Version} failed to load: {Error}", entry.Name, entry.Version, e.Message);
            }
        }
        if (failures.Count > 0) _loaded.TrySetException(new ForgeException("models failed to load: " + string.Join("; ", failures)));
        else if (cancellationToken.IsCancellationRequested) _loaded.TrySetCanceled(cancellationToken);
        else _loaded.TrySetResult();
    }

    private ServedModel LoadAndWarm(ResolvedBundle resolved, BatchingOptions batching, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var model = resolved.Loader.Load(resolved.Bundle);
        ModelBatcher? batcher = null;
        try
        {
            batcher = new ModelBatcher(resolved.Name, resolved.Version, model.Predictor, batching, _metrics, _logger);
            // One pass through the real inference thread: native kernels, lazily built networks and caches are ready
            // before the first client arrives, so readiness means a fast first answer, not a slow one.
            var warm = batcher.PredictAsync(model.Decoder.WarmupRow(), cancellationToken).GetAwaiter().GetResult();
            if (warm.RowCount != 1 || (warm.Probabilities is { } p && p[0].Length != model.Signature.Labels.Count))
                throw new BundleException(resolved.Bundle.Directory, $"the warm-up prediction gave {warm.RowCount} rows ({warm.Probabilities?[0].Length ?? 0} probabilities) for one row of {model.Signature.Labels.Count} labels");
            if (model.Predictor is Forge.Tabular.TabularModel tabular)
                tabular.UnseenCategory += (column, count) => _metrics.UnseenCategories.WithLabels(resolved.Name, resolved.Version, column).Inc(count);
            return new ServedModel(resolved, model, batcher, clock.Elapsed.TotalSeconds);
        }
        catch
        {
            batcher?.Dispose();
            model.Dispose();
            throw;
        }
    }

    /// <summary>Finds the entry serving a name (and version, when given); otherwise the status and message to answer with.</summary>
    public ModelLookup Find(string name, string? version)
    {
        if (ModelNames.Problem(name) is { } problem) return new ModelLookup(null, 400, problem, Names);
        var candidates = _entries.Where(e => e.Name == name).ToArray();
        if (candidates.Length == 0) return new ModelLookup(null, 404, new NotFoundException("model", name, Names).Message, Names);
        if (version is null) return new ModelLookup(candidates[0], 200, null, Names);
        if (ModelNames.VersionProblem(version) is { } versionProblem) return new ModelLookup(null, 400, versionProblem, Names);
        var entry = candidates.FirstOrDefault(e => e.Version == version);
        var versions = candidates.Select(e => e.Version).ToArray();
        return entry is not null
            ? new ModelLookup(entry, 200, null, Names)
            : new ModelLookup(null, 404, $"model '{name}' has no version '{version}' (served versions: {string.Join(", ", versions)})", versions);
    }

    /// <summary>Predicts rows on the entry's current version, following it to the new version when a reload swapped it meanwhile.</summary>
    public async Task<(ServedModel Model, Prediction Prediction)> PredictAsync(ModelEntry entry, Table rows, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            var served = entry.Current ?? throw new InvalidOperationException($"model {entry.Name} is not loaded");
            try
            {
                var output = await served.Batcher.PredictAsync(rows, cancellationToken);
                return (served, output);
            }
            catch (BatcherClosedException) when (attempt < 3 && !ReferenceEquals(entry.Current, served))
            {
                // Swapped out between lookup and enqueue: the new version answers instead.
            }
        }
    }

    /// <summary>
    /// Reloads every version of a model from its source (a registry alias is resolved again, so a moved alias brings
    /// the new version), warms it, swaps it in atomically and drains the old one in the background.
    /// </summary>
    public async Task<IReadOnlyList<(string Version, string? Previous, double Seconds)>> ReloadAsync(string name, CancellationToken cancellationToken)
    {
        var results = new List<(string, string?, double)>();
        foreach (var entry in _entries.Where(e => e.Name == name))
        {
            var reloaded = (await ReloadEntryAsync(entry, onlyIfMoved: false, cancellationToken))!;
            results.Add((reloaded.Version, reloaded.PreviousVersion, reloaded.LoadSeconds));
        }
        return results;
    }

    /// <summary>Raised right after a reload swapped a new version in: the entry, the version it replaced, the new one.</summary>
    public event Action<ModelEntry, ServedModel?, ServedModel>? Swapped;

    /// <summary>
    /// Reloads one entry from its source, warms it and swaps it in; the old version answers what it had queued, then is
    /// freed. With <paramref name="onlyIfMoved"/>, a registry source still resolving to the version it serves is left
    /// alone (null). A failed load keeps the old version serving, is counted and logged, noted in the entry's error
    /// (readiness detail), and rethrown.
    /// </summary>
    public async Task<ReloadedVersion?> ReloadEntryAsync(ModelEntry entry, bool onlyIfMoved, CancellationToken cancellationToken)
    {
        await entry.ReloadLock.WaitAsync(cancellationToken);
        try
        {
            ServedModel? served;
            try
            {
                served = await Task.Run(() =>
                {
                    ResolvedBundle resolved;
                    if (entry.Source.RegistryReference is not null)
                    {
                        using var store = TrackingStore.Open(_options.TrackingUri);
                        resolved = Resolve(entry.Source, _loaders, store);
                    }
                    else resolved = Resolve(entry.Source, _loaders, null);
                    if (onlyIfMoved && entry.Current is { } current && resolved.RegistryVersion == current.Resolved.RegistryVersion) return null;
                    return LoadAndWarm(resolved with { Name = entry.Name }, entry.Batching, cancellationToken);
                }, cancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                entry.Error = entry.Current is { } still ? $"reload failed, version {still.Version} keeps serving: {e.Message}" : e.Message;
                _logger.LogError(e, "model {Model} ({Source}) failed to reload; {Serving}: {Error}", entry.Name, entry.Source,
                    entry.Current is { } c ? $"version {c.Version} keeps serving" : "nothing is served", e.Message);
                // Counted last: whoever sees the count also sees the error in readiness.
                _metrics.Reloads.WithLabels(entry.Name, "failed").Inc(1);
                throw;
            }
            if (served is null) return null;
            var old = entry.Current;
            // The error goes first, so whoever sees the new version sees it cleared; the state last, so a model that had
            // failed is never ready without a current version.
            entry.Error = null;
            entry.Resolved = served.Resolved;
            entry.Current = served;
            entry.State = ModelState.Ready;
            _metrics.Reloads.WithLabels(entry.Name, "ok").Inc(1);
            _logger.LogInformation("model {Model} reloaded: version {Version} (was {Previous}) ready in {Seconds:F2} s",
                entry.Name, served.Version, old?.Version ?? "none", served.LoadSeconds);
            Swapped?.Invoke(entry, old, served);
            // Requests already queued on the old version are answered by it; then it is freed.
            if (old is not null) _ = Task.Run(old.Dispose, CancellationToken.None);
            return new ReloadedVersion(served.Version, old?.Version, served.LoadSeconds);
        }
        finally
        {
            entry.ReloadLock.Release();
        }
    }

    public IEnumerable<ModelStatus> Statuses() =>
        _entries.Select(e => e.Current is { } c
            ? new ModelStatus(e.Name, c.Version, e.State == ModelState.Ready, c.Batcher.QueueDepth, c.LoadSeconds)
            : new ModelStatus(e.Name, e.Version, false, 0, null))
            // A canary or shadow on its primary's version would repeat a series, which Prometheus refuses.
            .DistinctBy(m => (m.Name, m.Version));

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        foreach (var entry in _entries)
        {
            entry.Current?.Dispose();
            entry.ReloadLock.Dispose();
        }
        _loaded.TrySetCanceled();
    }
}
