using System.Data;
using System.Data.Common;
using System.Globalization;
using System.Net.Sockets;
using Forge.Core;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Forge.Tracking;

/// <summary>What differs between the SQL databases Forge stores into; everything else is shared SQL.</summary>
internal abstract class SqlDialect : IDisposable
{
    /// <summary>Where the database lives, for messages (never with a password).</summary>
    public abstract string Location { get; }

    /// <summary>The column definition of an auto-incrementing integer primary key.</summary>
    public abstract string IdentityColumn { get; }

    /// <summary>A query returning 1 when the schema_version table exists, else no row.</summary>
    public abstract string SchemaVersionTableExistsSql { get; }

    /// <summary>Appended to a SELECT that must lock the rows it reads until the transaction ends.</summary>
    public abstract string ForUpdate { get; }

    /// <summary>Opens a connection configured for Forge's use.</summary>
    public abstract DbConnection Open();

    /// <summary>Starts a transaction that may write; on SQLite it takes the write lock at once (BEGIN IMMEDIATE).</summary>
    public abstract DbTransaction BeginWrite(DbConnection connection);

    /// <summary>True for errors that mean "try again" (another writer holds a lock), never for errors in the request.</summary>
    public abstract bool IsTransient(Exception exception);

    /// <summary>How long one unit of work keeps being redone while other writers hold the database's lock.</summary>
    public static readonly TimeSpan BusyDeadline = TimeSpan.FromSeconds(120);

    /// <summary>
    /// Runs <paramref name="work"/>, redoing the whole unit with jittered back-off while another writer holds the lock
    /// longer than the driver's own wait; after <see cref="BusyDeadline"/> it fails naming the <paramref name="database"/>
    /// ("tracking", "study").
    /// </summary>
    public T WithRetry<T>(Func<T> work, string database)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var delay = 5;
        while (true)
        {
            try
            {
                return work();
            }
            catch (Exception ex) when (IsTransient(ex))
            {
                if (System.Diagnostics.Stopwatch.GetElapsedTime(started) > BusyDeadline)
                    throw new ForgeException($"the {database} database {Location} stayed locked by other writers for {BusyDeadline.TotalSeconds:0} s", ex);
                Thread.Sleep(Random.Shared.Next(delay, delay * 2));
                delay = Math.Min(delay * 2, 250);
            }
        }
    }

    /// <summary>Runs a read on its own connection, retried as <see cref="WithRetry"/> does.</summary>
    public T Read<T>(Func<DbConnection, T> work, string database) => WithRetry(() =>
    {
        using var connection = Open();
        return work(connection);
    }, database);

    /// <summary>Runs a write in its own transaction, committed at the end and redone whole on a transient lock error.</summary>
    public T Write<T>(Func<DbConnection, DbTransaction, T> work, string database) => WithRetry(() =>
    {
        using var connection = Open();
        using var transaction = BeginWrite(connection);
        var result = work(connection, transaction);
        transaction.Commit();
        return result;
    }, database);

    /// <summary>Serialises schema migrations between processes, inside <paramref name="transaction"/>.</summary>
    public virtual void LockForMigration(DbConnection connection, DbTransaction transaction) { }

    public virtual void Dispose() { }
}

/// <summary>SQLite through Microsoft.Data.Sqlite: WAL, a long busy timeout, and BEGIN IMMEDIATE for writes.</summary>
internal sealed class SqliteDialect : SqlDialect
{
    private const int BusyTimeoutMilliseconds = 30_000;
    private readonly string _connectionString;
    private bool _walChecked;

    public SqliteDialect(string path)
    {
        Path = path;
        var directory = System.IO.Path.GetDirectoryName(path);
        if (!string.IsNullOrEmpty(directory)) Directory.CreateDirectory(directory);
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = true,
            // Microsoft.Data.Sqlite retries a busy statement until the command timeout runs out.
            DefaultTimeout = BusyTimeoutMilliseconds / 1000,
        }.ToString();
    }

    public string Path { get; }

    public override string Location => Path;

    public override string IdentityColumn => "INTEGER PRIMARY KEY AUTOINCREMENT";

    public override string SchemaVersionTableExistsSql =>
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'";

    // BEGIN IMMEDIATE already gives the one writer the whole database.
    public override string ForUpdate => "";

    public override DbConnection Open()
    {
        var connection = new SqliteConnection(_connectionString);
        try
        {
            connection.Open();
            using (var pragma = connection.CreateCommand())
            {
                // Per connection: wait for other writers instead of failing; NORMAL is durable enough with WAL and much faster.
                pragma.CommandText = string.Create(CultureInfo.InvariantCulture,
                    $"PRAGMA busy_timeout = {BusyTimeoutMilliseconds}; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;");
                pragma.ExecuteNonQuery();
            }
            if (!_walChecked)
            {
                // WAL lets readers go on while one process writes; the mode is stored in the file, so once per store suffices.
                using var wal = connection.CreateCommand();
                wal.CommandText = "PRAGMA journal_mode = WAL;";
                wal.ExecuteScalar();
                _walChecked = true;
            }
            return connection;
        }
        catch (SqliteException ex) when (!IsTransient(ex))
        {
            connection.Dispose();
            throw new ForgeException($"cannot open the tracking database {Path}: {ex.Message}", ex);
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    public override DbTransaction BeginWrite(DbConnection connection) =>
        ((SqliteConnection)connection).BeginTransaction(deferred: false);

    public override bool IsTransient(Exception exception) =>
        exception is SqliteException { SqliteErrorCode: var code } && (code & 0xFF) is 5 or 6; // SQLITE_BUSY, SQLITE_LOCKED

    public override void Dispose()
    {
        // Pooled connections keep the file open; a test (or a user) deleting the folder after disposing the store expects it closed.
        using var connection = new SqliteConnection(_connectionString);
        SqliteConnection.ClearPool(connection);
    }
}

/// <summary>PostgreSQL through Npgsql: row locks for version numbers, an advisory lock for migrations.</summary>
internal sealed class PostgresDialect : SqlDialect
{
    private readonly TrackingUri _uri;
    private readonly NpgsqlDataSource _dataSource;

    public PostgresDialect(TrackingUri uri)
    {
        _uri = uri;
        var builder = new NpgsqlConnectionStringBuilder
        {
            Host = uri.Host,
            Port = uri.Port,
            Database = uri.Database,
            Username = uri.User,
            Password = uri.Password,
            // A refused connection fails at once whatever this says; the allowance is for a loaded machine where several
            // processes connect (and authenticate) at the same moment, which took over 5 s on a busy 2-core box.
            Timeout = 20,
            ApplicationName = "forge",
        };
        if (uri.Schema is not null) builder.SearchPath = uri.Schema;
        if (uri.SslMode is not null)
        {
            if (!Enum.TryParse<SslMode>(uri.SslMode, ignoreCase: true, out var mode))
                throw new UsageException($"tracking URI '{uri.Display}': sslmode '{uri.SslMode}' is not one of {string.Join(", ", Enum.GetNames<SslMode>())}");
            builder.SslMode = mode;
        }
        _dataSource = NpgsqlDataSource.Create(builder.ConnectionString);
    }

    public override string Location => _uri.Display;

    public override string IdentityColumn => "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY";

    public override string SchemaVersionTableExistsSql =>
        "SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'schema_version'";

    public override string ForUpdate => " FOR UPDATE";

    public override DbConnection Open()
    {
        try
        {
            return _dataSource.OpenConnection();
        }
        catch (PostgresException ex)
        {
            throw new ForgeException($"PostgreSQL at {_uri.Host}:{_uri.Port} refused the connection to database '{_uri.Database}' as '{_uri.User}': {ex.MessageText}", ex);
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException or SocketException)
        {
            throw new ForgeException($"cannot reach PostgreSQL at {_uri.Host}:{_uri.Port}: {Innermost(ex).Message}", ex);
        }
    }

    /// <summary>Creates the URI's schema when it names one; Forge's tables live there.</summary>
    public void EnsureSchema()
    {
        if (_uri.Schema is null) return;
        using var connection = Open();
        using var command = connection.CreateCommand();
        // The schema name was checked against [A-Za-z_][A-Za-z0-9_]* when the URI was parsed, so it cannot inject SQL.
        command.CommandText = $"CREATE SCHEMA IF NOT EXISTS {_uri.Schema}";
        try
        {
            command.ExecuteNonQuery();
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            // Two processes creating the same schema at once: the other one won, which is all we need.
        }
    }

    public override DbTransaction BeginWrite(DbConnection connection) => connection.BeginTransaction(IsolationLevel.ReadCommitted);

    public override bool IsTransient(Exception exception) =>
        exception is PostgresException { SqlState: PostgresErrorCodes.SerializationFailure or PostgresErrorCodes.DeadlockDetected or PostgresErrorCodes.LockNotAvailable };

    public override void LockForMigration(DbConnection connection, DbTransaction transaction)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        // Any fixed number works: it only has to be the same in every Forge process migrating this database.
        command.CommandText = "SELECT pg_advisory_xact_lock(7046011)";
        command.ExecuteNonQuery();
    }

    public override void Dispose() => _dataSource.Dispose();

    private static Exception Innermost(Exception ex)
    {
        while (ex.InnerException is not null) ex = ex.InnerException;
        return ex;
    }
}
