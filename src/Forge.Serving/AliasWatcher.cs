using Forge.Core;
using Forge.Tracking;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Forge.Serving;

/// <summary>
/// Hot reload: every <see cref="ServerOptions.WatchInterval"/> the registry aliases of served models (primaries, canaries
/// and shadows alike) are resolved again, and a version whose alias moved is loaded, warmed and swapped in through
/// <see cref="ModelCatalog.ReloadEntryAsync"/>. A check is one registry query per alias; bundles are read only when an alias moved.
/// </summary>
internal sealed class AliasWatcher(ModelCatalog catalog, ServerOptions options, ILogger<AliasWatcher> logger) : BackgroundService
{
    // The registry version whose load failed, per entry: it is not retried every interval, only when the alias moves on.
    private readonly Dictionary<ModelEntry, int> _failed = [];
    // Problems already logged: a registry that stays unreachable, or an alias that stays deleted, is said once, not every tick.
    private readonly HashSet<string> _reported = new(StringComparer.Ordinal);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var watched = catalog.Entries.Where(e => Challenger.FollowedAlias(e.Source.RegistryReference) is not null).ToArray();
        if (options.WatchInterval <= TimeSpan.Zero || watched.Length == 0) return;
        try
        {
            // Watching starts after the first load, so a reload never races it for the same entry.
            await catalog.Loaded.WaitAsync(stoppingToken);
        }
        catch (OperationCanceledException)
        {
            // The server is stopping (or stopped loading): nothing to watch.
            return;
        }
        catch (ForgeException)
        {
            // Some model failed to load; a later version behind its alias may load, so it is watched like the rest.
        }
        foreach (var entry in watched.Where(e => e.State == ModelState.Failed && e.Resolved.RegistryVersion is not null))
            _failed[entry] = entry.Resolved.RegistryVersion!.Value;
        logger.LogInformation("watching {Count} registry alias(es) every {Seconds:0.###} s: {Aliases}", watched.Length,
            options.WatchInterval.TotalSeconds, string.Join(", ", watched.Select(e => e.Source.RegistryReference).Distinct(StringComparer.Ordinal)));

        ITrackingStore? store = null;
        using var timer = new PeriodicTimer(options.WatchInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    store ??= TrackingStore.Open(options.TrackingUri);
                    if (await CheckAsync(store, watched, stoppingToken)) _reported.Clear();
                }
                catch (Exception e) when (!stoppingToken.IsCancellationRequested)
                {
                    // The registry is unreachable or busy: the served versions keep serving; the next tick tries afresh.
                    store?.Dispose();
                    store = null;
                    if (_reported.Add(e.Message)) logger.LogWarning("cannot check the registry aliases of served models: {Error}", e.Message);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
        finally
        {
            store?.Dispose();
        }
    }

    /// <summary>Checks every watched alias once and reloads the moved ones; false when some alias could not be resolved.</summary>
    private async Task<bool> CheckAsync(IModelRegistry store, IReadOnlyList<ModelEntry> watched, CancellationToken stoppingToken)
    {
        var allResolved = true;
        foreach (var entry in watched)
        {
            int registered;
            try
            {
                registered = store.ResolveModel(entry.Source.RegistryReference!).Version;
            }
            catch (ForgeException e)
            {
                // An alias deleted or a model renamed: this one keeps its version; the others are still checked.
                allResolved = false;
                if (_reported.Add(e.Message))
                    logger.LogWarning("cannot resolve {Reference}; version {Version} keeps serving: {Error}", entry.Source.RegistryReference, entry.Version, e.Message);
                continue;
            }
            var serving = entry.Current?.Resolved.RegistryVersion;
            if (registered == serving) continue;
            if (_failed.TryGetValue(entry, out var failed) && failed == registered) continue;
            logger.LogInformation("{Reference} moved to version {Version} (serving {Serving}): loading it", entry.Source.RegistryReference, registered,
                serving?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none");
            try
            {
                await catalog.ReloadEntryAsync(entry, onlyIfMoved: true, stoppingToken);
                _failed.Remove(entry);
            }
            catch (Exception) when (!stoppingToken.IsCancellationRequested)
            {
                // Already logged, counted and shown in readiness by the catalog; the old version keeps serving.
                _failed[entry] = registered;
            }
        }
        return allResolved;
    }
}
