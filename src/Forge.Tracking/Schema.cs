using System.Data.Common;
using System.Globalization;
using Forge.Core;

namespace Forge.Tracking;

/// <summary>
/// The database schema as a list of forward migrations. A migration may add tables, columns and indexes; it never drops
/// or rewrites what a user logged. The version lives in schema_version, the first table any Forge creates.
/// </summary>
internal static class Schema
{
    /// <summary>The newest schema version this Forge knows.</summary>
    public static int CurrentVersion => Migrations.Count;

    /// <summary>Migration i (0-based) takes the schema from version i to i + 1. "{ID}" is the dialect's identity column.</summary>
    internal static IReadOnlyList<string[]> Migrations { get; } =
    [
        // 1: experiments, runs, params, tags, metrics, artifacts, registry.
        [
            "CREATE TABLE experiments (experiment_id {ID}, name TEXT NOT NULL UNIQUE, artifact_location TEXT NOT NULL, created_at BIGINT NOT NULL)",
            """
            CREATE TABLE runs (run_id TEXT PRIMARY KEY, experiment_id BIGINT NOT NULL REFERENCES experiments (experiment_id),
                name TEXT NOT NULL, status TEXT NOT NULL, start_time BIGINT NOT NULL, end_time BIGINT, heartbeat BIGINT NOT NULL,
                parent_run_id TEXT, deleted INTEGER NOT NULL DEFAULT 0, artifact_location TEXT NOT NULL)
            """,
            "CREATE INDEX ix_runs_experiment ON runs (experiment_id, start_time)",
            "CREATE TABLE params (run_id TEXT NOT NULL REFERENCES runs (run_id), key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (run_id, key))",
            "CREATE TABLE tags (run_id TEXT NOT NULL REFERENCES runs (run_id), key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (run_id, key))",
            // NaN is stored as NULL: SQLite cannot store NaN, and PostgreSQL would sort it above every number.
            """
            CREATE TABLE metrics (metric_id {ID}, run_id TEXT NOT NULL REFERENCES runs (run_id), key TEXT NOT NULL,
                value DOUBLE PRECISION, step BIGINT NOT NULL, ts BIGINT NOT NULL)
            """,
            "CREATE INDEX ix_metrics_run_key ON metrics (run_id, key, step)",
            """
            CREATE TABLE latest_metrics (run_id TEXT NOT NULL REFERENCES runs (run_id), key TEXT NOT NULL,
                value DOUBLE PRECISION, step BIGINT NOT NULL, ts BIGINT NOT NULL, PRIMARY KEY (run_id, key))
            """,
            """
            CREATE TABLE artifacts (run_id TEXT NOT NULL REFERENCES runs (run_id), path TEXT NOT NULL, size BIGINT NOT NULL,
                sha256 TEXT NOT NULL, logged_at BIGINT NOT NULL, PRIMARY KEY (run_id, path))
            """,
            "CREATE TABLE registered_models (name TEXT PRIMARY KEY, description TEXT, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL)",
            """
            CREATE TABLE model_versions (name TEXT NOT NULL REFERENCES registered_models (name), version INTEGER NOT NULL,
                source TEXT NOT NULL, description TEXT, created_at BIGINT NOT NULL, run_id TEXT, dataset TEXT,
                dataset_checksum TEXT, git_commit TEXT, PRIMARY KEY (name, version))
            """,
            "CREATE INDEX ix_model_versions_run ON model_versions (run_id)",
            """
            CREATE TABLE model_aliases (name TEXT NOT NULL, alias TEXT NOT NULL, version INTEGER NOT NULL, PRIMARY KEY (name, alias),
                FOREIGN KEY (name, version) REFERENCES model_versions (name, version))
            """,
            "CREATE TABLE model_tags (name TEXT NOT NULL REFERENCES registered_models (name), key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (name, key))",
            """
            CREATE TABLE model_version_tags (name TEXT NOT NULL, version INTEGER NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
                PRIMARY KEY (name, version, key), FOREIGN KEY (name, version) REFERENCES model_versions (name, version))
            """,
        ],
        // 2: indexes that keep filtering and sorting fast over many runs.
        [
            "CREATE INDEX ix_latest_metrics_key_value ON latest_metrics (key, value)",
            "CREATE INDEX ix_params_key_value ON params (key, value)",
            "CREATE INDEX ix_tags_key_value ON tags (key, value)",
            "CREATE INDEX ix_runs_start_time ON runs (start_time)",
        ],
        // 3: tuning studies (SqlStudyStorage): trials with their params, intermediate values, attributes and grid claims.
        StudySchema.Migration,
        // 4: indexes the web UI's runs table pages along (RunTable): newest first, and by one metric or param, each with
        // the run id as tie-breaker, so a page deep into 100,000 runs is read from the index instead of sorted.
        [
            "CREATE INDEX ix_runs_deleted_start ON runs (deleted, start_time, run_id)",
            "CREATE INDEX ix_latest_metrics_key_value_run ON latest_metrics (key, value, run_id)",
            "CREATE INDEX ix_params_key_value_run ON params (key, value, run_id)",
        ],
    ];

    /// <summary>
    /// Brings the database up to <paramref name="targetVersion"/> (default: current) in one transaction, or refuses a
    /// database written by a newer Forge. Returns the version the database is at afterwards.
    /// </summary>
    internal static int Migrate(SqlDialect dialect, int? targetVersion = null)
    {
        var target = targetVersion ?? CurrentVersion;
        using var connection = dialect.Open();
        // Fast path without the write lock: eight processes opening an up-to-date store must not queue behind each other.
        var found = ReadVersion(dialect, connection, null);
        if (found is { } known && known >= target)
        {
            CheckNotNewer(dialect, known);
            return known;
        }

        using var transaction = dialect.BeginWrite(connection);
        dialect.LockForMigration(connection, transaction);
        Execute(connection, transaction, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
        var version = ReadVersion(dialect, connection, transaction) ?? 0;
        CheckNotNewer(dialect, version);
        EnsureRow(connection, transaction);
        for (var v = version; v < target; v++)
        {
            foreach (var statement in Migrations[v])
                Execute(connection, transaction, statement.Replace("{ID}", dialect.IdentityColumn, StringComparison.Ordinal));
            Execute(connection, transaction, string.Create(CultureInfo.InvariantCulture, $"UPDATE schema_version SET version = {v + 1}"));
        }
        transaction.Commit();
        return Math.Max(version, target);
    }

    private static void CheckNotNewer(SqlDialect dialect, int version)
    {
        if (version > CurrentVersion)
        {
            throw new ForgeException(
                $"the tracking database {dialect.Location} was written by a newer Forge (schema {version}; this Forge knows up to {CurrentVersion}); upgrade Forge to use it");
        }
    }

    private static int? ReadVersion(SqlDialect dialect, DbConnection connection, DbTransaction? transaction)
    {
        using (var exists = connection.CreateCommand())
        {
            exists.Transaction = transaction;
            exists.CommandText = dialect.SchemaVersionTableExistsSql;
            if (exists.ExecuteScalar() is null) return null;
        }
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT MAX(version) FROM schema_version";
        var value = command.ExecuteScalar();
        return value is null or DBNull ? 0 : Convert.ToInt32(value, CultureInfo.InvariantCulture);
    }

    private static void EnsureRow(DbConnection connection, DbTransaction transaction)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT COUNT(*) FROM schema_version";
        if (Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture) == 0)
            Execute(connection, transaction, "INSERT INTO schema_version (version) VALUES (0)");
    }

    private static void Execute(DbConnection connection, DbTransaction transaction, string sql)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
