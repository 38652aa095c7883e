using Forge.Tracking;

namespace Forge.Serving.Ui;

/// <summary>
/// The tracking store and study storage the web UI reads, opened on first use (a server over bundle folders alone never
/// creates a database unless someone opens a page that needs one) and kept open: both are safe to share between requests.
/// A store that failed to open is tried again on the next request, so a database that appears later is picked up.
/// </summary>
internal sealed class UiStores(string? trackingUri, string? artifactRoot) : IDisposable
{
    private readonly object _gate = new();
    private ITrackingStore? _store;
    private SqlStudyStorage? _studies;

    public ITrackingStore Store
    {
        get
        {
            lock (_gate) return _store ??= TrackingStore.Open(trackingUri, new TrackingStoreOptions { ArtifactRoot = artifactRoot });
        }
    }

    public SqlStudyStorage Studies
    {
        get
        {
            lock (_gate) return _studies ??= SqlStudyStorage.Open(trackingUri);
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _store?.Dispose();
            _studies?.Dispose();
            _store = null;
            _studies = null;
        }
    }
}
