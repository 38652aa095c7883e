using Forge.Core;

namespace Forge.Tracking;

/// <summary>Opens the tracking store a URI names.</summary>
public static class TrackingStore
{
    /// <summary>The environment variable naming the tracking store when no URI is given.</summary>
    public const string UriVariable = "FORGE_TRACKING_URI";

    /// <summary>
    /// Opens (creating and migrating when needed) the store named by <paramref name="uri"/>: null means
    /// <c>$FORGE_TRACKING_URI</c>, or else SQLite at <c>$FORGE_HOME/forge.db</c>; a plain path or <c>sqlite:///abs/path</c>
    /// is SQLite; <c>postgresql://user:password@host:port/database[?schema=NAME]</c> (or <c>postgres://</c>) is PostgreSQL.
    /// A malformed URI raises <see cref="UsageException"/>; an unreachable server or a database written by a newer Forge
    /// raises <see cref="ForgeException"/>.
    /// </summary>
    public static ITrackingStore Open(string? uri = null, TrackingStoreOptions? options = null)
    {
        options ??= new TrackingStoreOptions();
        if (options.StaleAfter <= TimeSpan.Zero) throw new UsageException("StaleAfter must be positive");
        var parsed = TrackingUri.Resolve(uri);
        var artifactRoot = Path.GetFullPath(options.ArtifactRoot ?? Path.Combine(ForgeHome.Directory, "artifacts"));
        SqlDialect dialect = parsed.IsPostgres ? new PostgresDialect(parsed) : new SqliteDialect(parsed.SqlitePath);
        try
        {
            if (dialect is PostgresDialect postgres) postgres.EnsureSchema();
            var store = new SqlTrackingStore(dialect, artifactRoot, options.StaleAfter);
            store.Initialise(null);
            return store;
        }
        catch
        {
            dialect.Dispose();
            throw;
        }
    }

    /// <summary>Opens a store migrated only up to <paramref name="schemaVersion"/>, so tests can exercise upgrades.</summary>
    internal static SqlTrackingStore OpenAtVersion(string uri, string artifactRoot, int schemaVersion)
    {
        var parsed = TrackingUri.Parse(uri);
        SqlDialect dialect = parsed.IsPostgres ? new PostgresDialect(parsed) : new SqliteDialect(parsed.SqlitePath);
        if (dialect is PostgresDialect postgres) postgres.EnsureSchema();
        var store = new SqlTrackingStore(dialect, artifactRoot, TimeSpan.FromSeconds(60));
        store.Initialise(schemaVersion);
        return store;
    }
}
