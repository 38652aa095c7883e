using System.Data.Common;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Forge.Core;

using static Forge.Tracking.SqlCommands;

namespace Forge.Tracking;

/// <summary>
/// The one implementation of <see cref="ITrackingStore"/>: plain SQL that SQLite and PostgreSQL both understand, with
/// the few differences kept in a <see cref="SqlDialect"/>. Each call opens a pooled connection, does its work in at most
/// one transaction and closes it, so a store is safe to share between threads.
/// </summary>
internal sealed partial class SqlTrackingStore : ITrackingStore
{
    /// <summary>How long a call keeps retrying while other writers hold the database before it gives up.</summary>

    private const string RunSelect =
        "SELECT r.run_id, r.name, e.name, r.status, r.start_time, r.end_time, r.heartbeat, r.parent_run_id, r.deleted, r.artifact_location " +
        "FROM runs r JOIN experiments e ON e.experiment_id = r.experiment_id";

    private readonly SqlDialect _dialect;
    private readonly TimeSpan _staleAfter;

    internal SqlTrackingStore(SqlDialect dialect, string artifactRoot, TimeSpan staleAfter)
    {
        _dialect = dialect;
        ArtifactRoot = artifactRoot;
        _staleAfter = staleAfter;
    }

    public string Location => _dialect.Location;

    public string ArtifactRoot { get; }

    public int SchemaVersion { get; private set; }

    internal SqlDialect Dialect => _dialect;

    /// <summary>Creates or migrates the schema (to <paramref name="targetVersion"/>, default the newest).</summary>
    internal void Initialise(int? targetVersion) => SchemaVersion = WithRetry(() => Schema.Migrate(_dialect, targetVersion));

    public void Dispose() => _dialect.Dispose();

    // ---------------------------------------------------------------- experiments

    public Experiment GetOrCreateExperiment(string name)
    {
        CheckName(name, "experiment name");
        var existing = Read(c => FindExperiment(c, null, name));
        if (existing is not null) return existing;
        return Write((c, tx) =>
        {
            var location = Path.Combine(ArtifactRoot, Artifacts.SafeName(name));
            Execute(c, tx, "INSERT INTO experiments (name, artifact_location, created_at) VALUES (@name, @location, @now) ON CONFLICT (name) DO NOTHING",
                ("name", name), ("location", location), ("now", Now()));
            return FindExperiment(c, tx, name)!;
        });
    }

    public Experiment GetExperiment(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return Read(c => FindExperiment(c, null, name)
            ?? throw new NotFoundException("experiment", name, Query(c, null, "SELECT name FROM experiments ORDER BY name", r => r.GetString(0))));
    }

    public IReadOnlyList<Experiment> ListExperiments() =>
        Read(c => Query(c, null, "SELECT experiment_id, name, artifact_location, created_at FROM experiments ORDER BY name", ReadExperiment));

    private static Experiment? FindExperiment(DbConnection c, DbTransaction? tx, string name) =>
        Query(c, tx, "SELECT experiment_id, name, artifact_location, created_at FROM experiments WHERE name = @name", ReadExperiment, ("name", name))
            .FirstOrDefault();

    private static Experiment ReadExperiment(DbDataReader r) => new(Int(r, 0), r.GetString(1), r.GetString(2), Time(Int(r, 3)));

    // ---------------------------------------------------------------- runs

    public RunInfo CreateRun(string experimentName, string? runName = null, string? parentRunId = null)
    {
        var experiment = GetOrCreateExperiment(experimentName);
        if (runName is not null) CheckName(runName, "run name");
        var runId = Guid.NewGuid().ToString("N");
        var name = runName ?? $"run-{runId[..8]}";
        var location = Path.Combine(experiment.ArtifactLocation, runId);
        var now = Now();
        Write((c, tx) =>
        {
            if (parentRunId is not null) RequireRun(c, tx, parentRunId);
            Execute(c, tx,
                "INSERT INTO runs (run_id, experiment_id, name, status, start_time, end_time, heartbeat, parent_run_id, deleted, artifact_location) " +
                "VALUES (@id, @experiment, @name, @status, @now, NULL, @now, @parent, 0, @location)",
                ("id", runId), ("experiment", experiment.Id), ("name", name), ("status", StatusText(RunStatus.Running)), ("now", now),
                ("parent", parentRunId), ("location", location));
        });
        return new RunInfo
        {
            RunId = runId,
            Name = name,
            ExperimentName = experiment.Name,
            Status = RunStatus.Running,
            StartTime = Time(now),
            Heartbeat = Time(now),
            ParentRunId = parentRunId,
            ArtifactLocation = location,
        };
    }

    public Run GetRun(string runId)
    {
        ArgumentNullException.ThrowIfNull(runId);
        return Read(c =>
        {
            var info = RequireRun(c, null, runId);
            var parameters = Query(c, null, "SELECT key, value FROM params WHERE run_id = @id", r => (r.GetString(0), r.GetString(1)), ("id", runId))
                .ToDictionary(p => p.Item1, p => p.Item2, StringComparer.Ordinal);
            var tags = Query(c, null, "SELECT key, value FROM tags WHERE run_id = @id", r => (r.GetString(0), r.GetString(1)), ("id", runId))
                .ToDictionary(p => p.Item1, p => p.Item2, StringComparer.Ordinal);
            var metrics = Query(c, null, "SELECT key, value, step, ts FROM latest_metrics WHERE run_id = @id", ReadMetric, ("id", runId))
                .ToDictionary(m => m.Key, StringComparer.Ordinal);
            return new Run(info, parameters, tags, metrics);
        });
    }

    public void LogParams(string runId, IReadOnlyDictionary<string, string> parameters)
    {
        ArgumentNullException.ThrowIfNull(runId);
        ArgumentNullException.ThrowIfNull(parameters);
        foreach (var (key, value) in parameters)
        {
            CheckKey(key, "param");
            if (value is null) throw new UsageException($"param '{key}' has no value");
        }
        if (parameters.Count == 0) return;
        Write((c, tx) =>
        {
            RequireWritable(RequireRun(c, tx, runId));
            foreach (var (key, value) in parameters)
            {
                var existing = Scalar(c, tx, "SELECT value FROM params WHERE run_id = @id AND key = @key", ("id", runId), ("key", key)) as string;
                if (existing is null)
                    Execute(c, tx, "INSERT INTO params (run_id, key, value) VALUES (@id, @key, @value)", ("id", runId), ("key", key), ("value", value));
                else if (!string.Equals(existing, value, StringComparison.Ordinal))
                    throw new UsageException($"param '{key}' of run {runId} is already '{existing}'; a param keeps its first value (log '{value}' under another key or as a tag)");
            }
        });
    }

    public void SetTags(string runId, IReadOnlyDictionary<string, string> tags)
    {
        ArgumentNullException.ThrowIfNull(runId);
        ArgumentNullException.ThrowIfNull(tags);
        foreach (var (key, value) in tags)
        {
            CheckKey(key, "tag");
            if (value is null) throw new UsageException($"tag '{key}' has no value");
        }
        if (tags.Count == 0) return;
        Write((c, tx) =>
        {
            RequireWritable(RequireRun(c, tx, runId));
            foreach (var (key, value) in tags)
            {
                Execute(c, tx, "INSERT INTO tags (run_id, key, value) VALUES (@id, @key, @value) ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value",
                    ("id", runId), ("key", key), ("value", value));
            }
        });
    }

    public void LogMetrics(string runId, IReadOnlyList<MetricPoint> points)
    {
        ArgumentNullException.ThrowIfNull(runId);
        ArgumentNullException.ThrowIfNull(points);
        if (points.Count == 0) return;
        // The newest point of each key in this batch: the only candidates for latest_metrics.
        var latest = new Dictionary<string, MetricPoint>(StringComparer.Ordinal);
        foreach (var point in points)
        {
            ArgumentNullException.ThrowIfNull(point);
            CheckKey(point.Key, "metric");
            if (!latest.TryGetValue(point.Key, out var seen) || IsNewer(point, seen)) latest[point.Key] = point;
        }
        Write((c, tx) =>
        {
            RequireWritable(RequireRun(c, tx, runId));
            // Multi-row INSERTs, prepared once and reused: a batch costs one transaction and a few round trips, not one per point.
            DbCommand? full = null;
            try
            {
                for (var start = 0; start < points.Count; start += MetricRowsPerInsert)
                {
                    var count = Math.Min(MetricRowsPerInsert, points.Count - start);
                    var partial = count < MetricRowsPerInsert ? PrepareMetricInsert(c, tx, runId, count, prepare: false) : null;
                    var insert = partial ?? (full ??= PrepareMetricInsert(c, tx, runId, count, prepare: true));
                    using (partial)
                    {
                        for (var i = 0; i < count; i++)
                        {
                            var point = points[start + i];
                            insert.Parameters[1 + (4 * i)].Value = point.Key;
                            insert.Parameters[2 + (4 * i)].Value = MetricValue(point.Value);
                            insert.Parameters[3 + (4 * i)].Value = point.Step;
                            insert.Parameters[4 + (4 * i)].Value = point.Timestamp.ToUnixTimeMilliseconds();
                        }
                        insert.ExecuteNonQuery();
                    }
                }
            }
            finally
            {
                full?.Dispose();
            }
            using (var upsert = Command(c, tx,
                       "INSERT INTO latest_metrics (run_id, key, value, step, ts) VALUES (@id, @key, @value, @step, @ts) " +
                       "ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value, step = excluded.step, ts = excluded.ts " +
                       "WHERE excluded.step > latest_metrics.step OR (excluded.step = latest_metrics.step AND excluded.ts >= latest_metrics.ts)",
                       ("id", runId), ("key", ""), ("value", 0.0), ("step", 0L), ("ts", 0L)))
            {
                upsert.Prepare();
                foreach (var point in latest.Values)
                {
                    upsert.Parameters[1].Value = point.Key;
                    upsert.Parameters[2].Value = MetricValue(point.Value);
                    upsert.Parameters[3].Value = point.Step;
                    upsert.Parameters[4].Value = point.Timestamp.ToUnixTimeMilliseconds();
                    upsert.ExecuteNonQuery();
                }
            }
            // Logging is a sign of life as good as a heartbeat.
            Execute(c, tx, "UPDATE runs SET heartbeat = @now WHERE run_id = @id", ("now", Now()), ("id", runId));
        });
    }

    /// <summary>Rows per metric INSERT statement: 5 parameters each stays far below every driver's parameter limit.</summary>
    private const int MetricRowsPerInsert = 100;

    private static DbCommand PrepareMetricInsert(DbConnection c, DbTransaction tx, string runId, int rows, bool prepare)
    {
        var sql = new StringBuilder("INSERT INTO metrics (run_id, key, value, step, ts) VALUES ");
        var parameters = new List<(string, object?)> { ("id", runId) };
        for (var i = 0; i < rows; i++)
        {
            if (i > 0) sql.Append(", ");
            sql.Append(CultureInfo.InvariantCulture, $"(@id, @k{i}, @v{i}, @s{i}, @t{i})");
            parameters.Add(($"k{i}", ""));
            parameters.Add(($"v{i}", 0.0));
            parameters.Add(($"s{i}", 0L));
            parameters.Add(($"t{i}", 0L));
        }
        var command = Command(c, tx, sql.ToString(), [.. parameters]);
        // Only the full-size statement is reused; preparing the one-off tail would cost a round trip for nothing.
        if (prepare) command.Prepare();
        return command;
    }

    public IReadOnlyList<MetricPoint> GetMetricHistory(string runId, string key)
    {
        ArgumentNullException.ThrowIfNull(runId);
        ArgumentNullException.ThrowIfNull(key);
        return Read(c =>
        {
            RequireRun(c, null, runId);
            var points = Query(c, null, "SELECT key, value, step, ts FROM metrics WHERE run_id = @id AND key = @key ORDER BY step, ts, metric_id",
                ReadMetric, ("id", runId), ("key", key));
            if (points.Count == 0)
            {
                var keys = Query(c, null, "SELECT key FROM latest_metrics WHERE run_id = @id ORDER BY key", r => r.GetString(0), ("id", runId));
                throw new NotFoundException($"metric of run {runId}", key, keys);
            }
            return (IReadOnlyList<MetricPoint>)points;
        });
    }

    public void Heartbeat(string runId)
    {
        ArgumentNullException.ThrowIfNull(runId);
        Write((c, tx) =>
        {
            if (Execute(c, tx, "UPDATE runs SET heartbeat = @now WHERE run_id = @id", ("now", Now()), ("id", runId)) == 0)
                RequireRun(c, tx, runId);
        });
    }

    public void SetRunStatus(string runId, RunStatus status)
    {
        ArgumentNullException.ThrowIfNull(runId);
        if (!Enum.IsDefined(status)) throw new ArgumentOutOfRangeException(nameof(status), status, "Unknown run status.");
        Write((c, tx) =>
        {
            RequireRun(c, tx, runId);
            var now = Now();
            Execute(c, tx, "UPDATE runs SET status = @status, end_time = @end, heartbeat = @now WHERE run_id = @id",
                ("status", StatusText(status)), ("end", status == RunStatus.Running ? null : (object)now), ("now", now), ("id", runId));
        });
    }

    public IReadOnlyList<ArtifactInfo> LogArtifact(string runId, string localPath, string? artifactPath = null)
    {
        ArgumentNullException.ThrowIfNull(runId);
        ArgumentException.ThrowIfNullOrWhiteSpace(localPath);
        var run = Read(c => RequireRun(c, null, runId));
        RequireWritable(run);
        var source = Path.GetFullPath(localPath);
        var logged = new List<ArtifactInfo>();
        if (File.Exists(source))
        {
            var folder = Artifacts.NormaliseRelative(artifactPath ?? "", "artifact path");
            logged.Add(Artifacts.CopyFile(source, run.ArtifactLocation, Artifacts.Join(folder, Path.GetFileName(source))));
        }
        else if (Directory.Exists(source))
        {
            var folder = Artifacts.NormaliseRelative(artifactPath ?? Path.GetFileName(Path.TrimEndingDirectorySeparator(source)), "artifact path");
            foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
            {
                var relative = Path.GetRelativePath(source, file).Replace(Path.DirectorySeparatorChar, '/');
                logged.Add(Artifacts.CopyFile(file, run.ArtifactLocation, Artifacts.Join(folder, relative)));
            }
        }
        else
        {
            throw new UsageException($"{source}: no such file or directory to log as an artifact");
        }
        // The rows are written after every file is in place, so a recorded artifact always exists with the recorded bytes.
        Write((c, tx) =>
        {
            var now = Now();
            foreach (var artifact in logged)
            {
                Execute(c, tx,
                    "INSERT INTO artifacts (run_id, path, size, sha256, logged_at) VALUES (@id, @path, @size, @sha, @now) " +
                    "ON CONFLICT (run_id, path) DO UPDATE SET size = excluded.size, sha256 = excluded.sha256, logged_at = excluded.logged_at",
                    ("id", runId), ("path", artifact.Path), ("size", artifact.Size), ("sha", artifact.Sha256), ("now", now));
            }
        });
        return logged;
    }

    public IReadOnlyList<ArtifactInfo> ListArtifacts(string runId)
    {
        ArgumentNullException.ThrowIfNull(runId);
        return Read(c =>
        {
            RequireRun(c, null, runId);
            // Sorted here, ordinally: the database's collation would order paths differently on PostgreSQL and SQLite.
            return (IReadOnlyList<ArtifactInfo>)Query(c, null, "SELECT path, size, sha256 FROM artifacts WHERE run_id = @id",
                    r => new ArtifactInfo(r.GetString(0), Int(r, 1), r.GetString(2)), ("id", runId))
                .OrderBy(a => a.Path, StringComparer.Ordinal).ToList();
        });
    }

    public void DeleteRun(string runId)
    {
        ArgumentNullException.ThrowIfNull(runId);
        Write((c, tx) =>
        {
            RequireRun(c, tx, runId);
            var versions = Query(c, tx, "SELECT name, version FROM model_versions WHERE run_id = @id ORDER BY name, version",
                r => $"{r.GetString(0)}/{Int(r, 1).ToString(CultureInfo.InvariantCulture)}", ("id", runId));
            if (versions.Count > 0)
            {
                throw new UsageException(
                    $"run {runId} cannot be deleted: model version {string.Join(", ", versions)} references it (lineage would be lost)");
            }
            Execute(c, tx, "UPDATE runs SET deleted = 1 WHERE run_id = @id", ("id", runId));
        });
    }

    public void RestoreRun(string runId)
    {
        ArgumentNullException.ThrowIfNull(runId);
        Write((c, tx) =>
        {
            RequireRun(c, tx, runId);
            Execute(c, tx, "UPDATE runs SET deleted = 0 WHERE run_id = @id", ("id", runId));
        });
    }

    // ---------------------------------------------------------------- search

    public RunPage SearchRuns(RunQuery query)
    {
        ArgumentNullException.ThrowIfNull(query);
        if (query.MaxResults is < 1 or > 50_000) throw new UsageException($"max results must be between 1 and 50000, not {query.MaxResults}");
        var clauses = RunFilter.ParseFilter(query.Filter);
        var sort = RunFilter.ParseOrderBy(query.OrderBy);
        var offset = DecodePageToken(query.PageToken);

        var parameters = new List<(string, object?)>();
        var joins = new StringBuilder();
        var where = new List<string>();
        var order = new List<string>();
        if (!query.IncludeDeleted) where.Add("r.deleted = 0");
        AddFilterConditions(clauses, where, parameters);
        for (var j = 0; j < sort.Count; j++)
        {
            var key = sort[j];
            string column;
            if (key.Entity.Kind == EntityKind.Attribute) column = $"r.{key.Entity.Key}";
            else
            {
                joins.Append(CultureInfo.InvariantCulture, $" LEFT JOIN {TableOf(key.Entity.Kind)} s{j} ON s{j}.run_id = r.run_id AND s{j}.key = @sk{j}");
                parameters.Add(($"sk{j}", key.Entity.Key));
                column = $"s{j}.value";
            }
            // Runs without the value come last in either direction, as people expect of "best first" lists.
            order.Add($"CASE WHEN {column} IS NULL THEN 1 ELSE 0 END");
            order.Add(key.Descending ? $"{column} DESC" : $"{column} ASC");
        }
        order.Add("r.start_time DESC");
        order.Add("r.run_id");

        return Read(c =>
        {
            // Copies: a retry after a busy database runs this lambda again.
            var allWhere = new List<string>(where);
            var allParameters = new List<(string, object?)>(parameters);
            if (query.Experiments.Count > 0)
            {
                var known = Query(c, null, "SELECT name FROM experiments", r => r.GetString(0));
                var names = new List<string>();
                for (var k = 0; k < query.Experiments.Count; k++)
                {
                    var experiment = query.Experiments[k];
                    if (!known.Contains(experiment, StringComparer.Ordinal)) throw new NotFoundException("experiment", experiment, known);
                    allParameters.Add(($"e{k}", experiment));
                    names.Add($"@e{k}");
                }
                allWhere.Add($"e.name IN ({string.Join(", ", names)})");
            }
            allParameters.Add(("limit", (long)query.MaxResults + 1));
            allParameters.Add(("offset", offset));
            var sql = new StringBuilder(RunSelect).Append(joins);
            if (allWhere.Count > 0) sql.Append(" WHERE ").AppendJoin(" AND ", allWhere);
            sql.Append(" ORDER BY ").AppendJoin(", ", order).Append(" LIMIT @limit OFFSET @offset");
            var now = Now();
            var runs = Query(c, null, sql.ToString(), r => ReadRunInfo(r, now), [.. allParameters]);
            string? next = null;
            if (runs.Count > query.MaxResults)
            {
                runs.RemoveAt(runs.Count - 1);
                next = EncodePageToken(offset + query.MaxResults);
            }
            return new RunPage(runs, next);
        });
    }

    /// <summary>
    /// One WHERE condition per filter clause, with its parameters, as run search and the run table both filter. A param
    /// or metric clause is IN (subquery) rather than EXISTS: the database reads the matching runs from the (key, value)
    /// index once.
    /// </summary>
    private static void AddFilterConditions(IReadOnlyList<FilterClause> clauses, List<string> where, List<(string, object?)> parameters)
    {
        for (var i = 0; i < clauses.Count; i++)
        {
            var clause = clauses[i];
            var value = clause.Value is double d && clause.Entity is { Kind: EntityKind.Attribute } ? (object)(long)d : clause.Value;
            parameters.Add(($"fv{i}", value));
            if (clause.Entity.Kind == EntityKind.Attribute)
            {
                where.Add(Compare($"r.{clause.Entity.Key}", clause.Operator, $"@fv{i}"));
                continue;
            }
            parameters.Add(($"fk{i}", clause.Entity.Key));
            where.Add($"r.run_id IN (SELECT f{i}.run_id FROM {TableOf(clause.Entity.Kind)} f{i} WHERE f{i}.key = @fk{i} AND {Compare($"f{i}.value", clause.Operator, $"@fv{i}")})");
        }
    }

    private static string TableOf(EntityKind kind) => kind switch
    {
        EntityKind.Metric => "latest_metrics",
        EntityKind.Param => "params",
        EntityKind.Tag => "tags",
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    private static string Compare(string column, string op, string parameter) => op switch
    {
        // LOWER on both sides: SQLite has no ILIKE, and PostgreSQL's LIKE is case-sensitive.
        "ILIKE" => $"LOWER({column}) LIKE LOWER({parameter})",
        _ => $"{column} {op} {parameter}",
    };

    private static string EncodePageToken(long offset) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"offset:{offset}")));

    private static long DecodePageToken(string? token)
    {
        if (string.IsNullOrEmpty(token)) return 0;
        try
        {
            var text = Encoding.UTF8.GetString(Convert.FromBase64String(token));
            if (text.StartsWith("offset:", StringComparison.Ordinal)
                && long.TryParse(text["offset:".Length..], NumberStyles.None, CultureInfo.InvariantCulture, out var offset))
                return offset;
        }
        catch (FormatException)
        {
        }
        throw new UsageException($"page token '{token}' was not issued by this store; pass the NextPageToken of the previous page");
    }

    // ---------------------------------------------------------------- registry

    public RegisteredModel CreateRegisteredModel(string name, string? description = null)
    {
        CheckModelName(name);
        return Write((c, tx) =>
        {
            var now = Now();
            Execute(c, tx, "INSERT INTO registered_models (name, description, created_at, updated_at) VALUES (@name, @description, @now, @now) ON CONFLICT (name) DO NOTHING",
                ("name", name), ("description", description), ("now", now));
            return LoadModel(c, tx, name);
        });
    }

    public RegisteredModel GetRegisteredModel(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return Read(c => LoadModel(c, null, name));
    }

    public IReadOnlyList<RegisteredModel> ListRegisteredModels() => Read(c =>
        (IReadOnlyList<RegisteredModel>)Query(c, null, "SELECT name FROM registered_models ORDER BY name", r => r.GetString(0))
            .Select(name => LoadModel(c, null, name)).ToList());

    public ModelVersion RegisterModelVersion(string name, string bundlePath, string? runId = null, string? description = null)
    {
        CheckModelName(name);
        ArgumentException.ThrowIfNullOrWhiteSpace(bundlePath);
        var bundle = ModelBundle.Load(bundlePath);
        if (runId is not null) Read(c => RequireRun(c, null, runId));
        var training = bundle.Manifest.Training;
        var lineageRun = runId ?? (string.IsNullOrWhiteSpace(training?.RunId) ? null : training.RunId);

        // The copy happens before the transaction, so the write lock is held for milliseconds, not for a copy of the weights.
        var destination = Path.Combine(ArtifactRoot, "models", Artifacts.SafeName(name),
            $"{DateTime.UtcNow.ToString("yyyyMMdd'T'HHmmss", CultureInfo.InvariantCulture)}-{Artifacts.RandomSuffix()}");
        CopyBundle(bundle, destination);
        int version;
        try
        {
            // Checked again after the copy: what the registry holds must be exactly what was verified.
            ModelBundle.Load(destination);
            version = Write((c, tx) =>
            {
                var now = Now();
                Execute(c, tx, "INSERT INTO registered_models (name, description, created_at, updated_at) VALUES (@name, NULL, @now, @now) ON CONFLICT (name) DO NOTHING",
                    ("name", name), ("now", now));
                // PostgreSQL: the row lock makes concurrent registrations of one name take turns; SQLite: BEGIN IMMEDIATE already did.
                Scalar(c, tx, "SELECT name FROM registered_models WHERE name = @name" + _dialect.ForUpdate, ("name", name));
                var next = Convert.ToInt32(Scalar(c, tx, "SELECT COALESCE(MAX(version), 0) FROM model_versions WHERE name = @name", ("name", name)),
                    CultureInfo.InvariantCulture) + 1;
                Execute(c, tx,
                    "INSERT INTO model_versions (name, version, source, description, created_at, run_id, dataset, dataset_checksum, git_commit) " +
                    "VALUES (@name, @version, @source, @description, @now, @run, @dataset, @checksum, @commit)",
                    ("name", name), ("version", next), ("source", destination), ("description", description), ("now", now), ("run", lineageRun),
                    ("dataset", string.IsNullOrEmpty(training?.Dataset) ? null : training.Dataset), ("checksum", training?.DatasetChecksum),
                    ("commit", training?.GitCommit));
                Execute(c, tx, "UPDATE registered_models SET updated_at = @now WHERE name = @name", ("now", now), ("name", name));
                return next;
            });
        }
        catch
        {
            // Nothing refers to the copy unless the transaction committed.
            Artifacts.TryDeleteDirectory(destination);
            throw;
        }
        return GetModelVersion(name, version);
    }

    public ModelVersion RegisterModelVersionFromRun(string name, string runId, string artifactPath = "model", string? description = null)
    {
        ArgumentNullException.ThrowIfNull(runId);
        ArgumentNullException.ThrowIfNull(artifactPath);
        var run = Read(c => RequireRun(c, null, runId));
        var directory = Artifacts.Combine(run.ArtifactLocation, Artifacts.NormaliseRelative(artifactPath, "artifact path"));
        if (!Directory.Exists(directory))
        {
            var logged = ListArtifacts(runId).Select(a => a.Path.Split('/')[0]).Distinct(StringComparer.Ordinal).ToList();
            throw new NotFoundException($"artifact folder of run {runId}", artifactPath, logged);
        }
        return RegisterModelVersion(name, directory, runId, description);
    }

    public ModelVersion GetModelVersion(string name, int version)
    {
        ArgumentNullException.ThrowIfNull(name);
        return Read(c =>
        {
            LoadModel(c, null, name);
            return LoadVersion(c, null, name, version);
        });
    }

    public IReadOnlyList<ModelVersion> ListModelVersions(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return Read(c =>
        {
            LoadModel(c, null, name);
            return (IReadOnlyList<ModelVersion>)Versions(c, null, name).Select(v => LoadVersion(c, null, name, v)).ToList();
        });
    }

    public ModelVersion ResolveModel(string reference)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(reference);
        string name;
        string? alias = null;
        int? version = null;
        var at = reference.IndexOf('@', StringComparison.Ordinal);
        var slash = reference.LastIndexOf('/');
        if (at >= 0)
        {
            name = reference[..at];
            alias = reference[(at + 1)..];
            if (alias.Length == 0) throw new UsageException($"model reference '{reference}' has nothing after '@'; write NAME@ALIAS");
        }
        else if (slash >= 0)
        {
            name = reference[..slash];
            if (!int.TryParse(reference[(slash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var parsed) || parsed < 1)
                throw new UsageException($"model reference '{reference}': the version after '/' must be a whole number from 1");
            version = parsed;
        }
        else
        {
            name = reference;
        }
        return Read(c =>
        {
            var model = LoadModel(c, null, name);
            if (version is { } v) return LoadVersion(c, null, name, v);
            if (alias is null || string.Equals(alias, "latest", StringComparison.Ordinal))
            {
                return model.LatestVersion is { } latest
                    ? LoadVersion(c, null, name, latest)
                    : throw new UsageException($"model '{name}' has no versions yet; register one first");
            }
            return model.Aliases.TryGetValue(alias, out var target)
                ? LoadVersion(c, null, name, target)
                : throw new NotFoundException($"alias of model '{name}'", alias, model.Aliases.Keys);
        });
    }

    public void SetAlias(string name, string alias, int version)
    {
        ArgumentNullException.ThrowIfNull(name);
        CheckAlias(alias);
        Write((c, tx) =>
        {
            LoadModel(c, tx, name);
            RequireVersion(c, tx, name, version);
            Execute(c, tx, "INSERT INTO model_aliases (name, alias, version) VALUES (@name, @alias, @version) ON CONFLICT (name, alias) DO UPDATE SET version = excluded.version",
                ("name", name), ("alias", alias), ("version", version));
            Touch(c, tx, name);
        });
    }

    public void DeleteAlias(string name, string alias)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(alias);
        Write((c, tx) =>
        {
            var model = LoadModel(c, tx, name);
            if (Execute(c, tx, "DELETE FROM model_aliases WHERE name = @name AND alias = @alias", ("name", name), ("alias", alias)) == 0)
                throw new NotFoundException($"alias of model '{name}'", alias, model.Aliases.Keys);
            Touch(c, tx, name);
        });
    }

    public void SetModelTag(string name, string key, string value)
    {
        ArgumentNullException.ThrowIfNull(name);
        CheckKey(key, "tag");
        ArgumentNullException.ThrowIfNull(value);
        Write((c, tx) =>
        {
            LoadModel(c, tx, name);
            Execute(c, tx, "INSERT INTO model_tags (name, key, value) VALUES (@name, @key, @value) ON CONFLICT (name, key) DO UPDATE SET value = excluded.value",
                ("name", name), ("key", key), ("value", value));
            Touch(c, tx, name);
        });
    }

    public void SetModelVersionTag(string name, int version, string key, string value)
    {
        ArgumentNullException.ThrowIfNull(name);
        CheckKey(key, "tag");
        ArgumentNullException.ThrowIfNull(value);
        Write((c, tx) =>
        {
            LoadModel(c, tx, name);
            RequireVersion(c, tx, name, version);
            Execute(c, tx,
                "INSERT INTO model_version_tags (name, version, key, value) VALUES (@name, @version, @key, @value) ON CONFLICT (name, version, key) DO UPDATE SET value = excluded.value",
                ("name", name), ("version", version), ("key", key), ("value", value));
            Touch(c, tx, name);
        });
    }

    public void SetModelDescription(string name, string? description)
    {
        ArgumentNullException.ThrowIfNull(name);
        Write((c, tx) =>
        {
            LoadModel(c, tx, name);
            Execute(c, tx, "UPDATE registered_models SET description = @description, updated_at = @now WHERE name = @name",
                ("description", description), ("now", Now()), ("name", name));
        });
    }

    public void SetModelVersionDescription(string name, int version, string? description)
    {
        ArgumentNullException.ThrowIfNull(name);
        Write((c, tx) =>
        {
            LoadModel(c, tx, name);
            RequireVersion(c, tx, name, version);
            Execute(c, tx, "UPDATE model_versions SET description = @description WHERE name = @name AND version = @version",
                ("description", description), ("name", name), ("version", version));
            Touch(c, tx, name);
        });
    }

    public ModelBundle ExportModel(string reference, string outDirectory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(outDirectory);
        var version = ResolveModel(reference);
        var target = Path.TrimEndingDirectorySeparator(Path.GetFullPath(outDirectory));
        if (Directory.Exists(target) || File.Exists(target))
            throw new UsageException($"{target}: already exists; export into a new directory");
        // Verifying the source first names the damaged registry file, rather than the copy, when something is wrong.
        ModelBundle.Load(version.Source);
        Artifacts.CopyDirectoryAtomically(version.Source, target);
        return ModelBundle.Load(target);
    }

    private static void CopyBundle(ModelBundle bundle, string destination)
    {
        var staging = $"{destination}.tmp-{Artifacts.RandomSuffix()}";
        try
        {
            Artifacts.CopyFile(Path.Combine(bundle.Directory, ModelBundle.ManifestFileName), staging, ModelBundle.ManifestFileName);
            foreach (var relative in bundle.Manifest.Files.Keys)
                Artifacts.CopyFile(Artifacts.Combine(bundle.Directory, relative), staging, relative);
            Directory.Move(staging, destination);
        }
        catch
        {
            Artifacts.TryDeleteDirectory(staging);
            throw;
        }
    }

    private static RegisteredModel LoadModel(DbConnection c, DbTransaction? tx, string name)
    {
        var row = Query(c, tx, "SELECT name, description, created_at, updated_at FROM registered_models WHERE name = @name",
            r => (Description: r.IsDBNull(1) ? null : r.GetString(1), Created: Int(r, 2), Updated: Int(r, 3)), ("name", name));
        if (row.Count == 0)
            throw new NotFoundException("model", name, Query(c, tx, "SELECT name FROM registered_models ORDER BY name", r => r.GetString(0)));
        var latest = Scalar(c, tx, "SELECT MAX(version) FROM model_versions WHERE name = @name", ("name", name));
        var aliases = Query(c, tx, "SELECT alias, version FROM model_aliases WHERE name = @name ORDER BY alias", r => (r.GetString(0), (int)Int(r, 1)), ("name", name))
            .ToDictionary(a => a.Item1, a => a.Item2, StringComparer.Ordinal);
        var tags = Query(c, tx, "SELECT key, value FROM model_tags WHERE name = @name", r => (r.GetString(0), r.GetString(1)), ("name", name))
            .ToDictionary(t => t.Item1, t => t.Item2, StringComparer.Ordinal);
        return new RegisteredModel(name, row[0].Description, Time(row[0].Created), Time(row[0].Updated),
            latest is null ? null : Convert.ToInt32(latest, CultureInfo.InvariantCulture), aliases, tags);
    }

    private static List<int> Versions(DbConnection c, DbTransaction? tx, string name) =>
        Query(c, tx, "SELECT version FROM model_versions WHERE name = @name ORDER BY version", r => (int)Int(r, 0), ("name", name));

    private static void RequireVersion(DbConnection c, DbTransaction? tx, string name, int version)
    {
        if (Scalar(c, tx, "SELECT version FROM model_versions WHERE name = @name AND version = @version", ("name", name), ("version", version)) is null)
            throw UnknownVersion(c, tx, name, version);
    }

    private static NotFoundException UnknownVersion(DbConnection c, DbTransaction? tx, string name, int version) =>
        new($"version of model '{name}'", version.ToString(CultureInfo.InvariantCulture),
            Versions(c, tx, name).Select(v => v.ToString(CultureInfo.InvariantCulture)));

    private static ModelVersion LoadVersion(DbConnection c, DbTransaction? tx, string name, int version)
    {
        var rows = Query(c, tx,
            "SELECT source, description, created_at, run_id, dataset, dataset_checksum, git_commit FROM model_versions WHERE name = @name AND version = @version",
            r => (Source: r.GetString(0), Description: Text(r, 1), Created: Int(r, 2),
                Lineage: new ModelLineage(Text(r, 3), Text(r, 4), Text(r, 5), Text(r, 6))),
            ("name", name), ("version", version));
        if (rows.Count == 0) throw UnknownVersion(c, tx, name, version);
        var aliases = Query(c, tx, "SELECT alias FROM model_aliases WHERE name = @name AND version = @version ORDER BY alias", r => r.GetString(0),
            ("name", name), ("version", version));
        var tags = Query(c, tx, "SELECT key, value FROM model_version_tags WHERE name = @name AND version = @version", r => (r.GetString(0), r.GetString(1)),
                ("name", name), ("version", version))
            .ToDictionary(t => t.Item1, t => t.Item2, StringComparer.Ordinal);
        var row = rows[0];
        return new ModelVersion(name, version, row.Source, row.Description, Time(row.Created), row.Lineage, aliases, tags);
    }

    private static void Touch(DbConnection c, DbTransaction tx, string name) =>
        Execute(c, tx, "UPDATE registered_models SET updated_at = @now WHERE name = @name", ("now", Now()), ("name", name));

    // ---------------------------------------------------------------- runs: shared reads

    private RunInfo RequireRun(DbConnection c, DbTransaction? tx, string runId)
    {
        var now = Now();
        var found = Query(c, tx, RunSelect + " WHERE r.run_id = @id", r => ReadRunInfo(r, now), ("id", runId));
        if (found.Count > 0) return found[0];
        throw new NotFoundException("run", runId, Query(c, tx, "SELECT run_id FROM runs", r => r.GetString(0)));
    }

    private static void RequireWritable(RunInfo run)
    {
        if (run.Deleted) throw new UsageException($"run {run.RunId} is deleted; restore it before logging to it");
    }

    private RunInfo ReadRunInfo(DbDataReader r, long now)
    {
        var status = ParseStatus(r.GetString(3));
        var heartbeat = Int(r, 6);
        return new RunInfo
        {
            RunId = r.GetString(0),
            Name = r.GetString(1),
            ExperimentName = r.GetString(2),
            Status = status,
            StartTime = Time(Int(r, 4)),
            EndTime = r.IsDBNull(5) ? null : Time(Int(r, 5)),
            Heartbeat = Time(heartbeat),
            ParentRunId = Text(r, 7),
            Deleted = Int(r, 8) != 0,
            ArtifactLocation = r.GetString(9),
            Stale = status == RunStatus.Running && now - heartbeat > (long)_staleAfter.TotalMilliseconds,
        };
    }

    private static MetricPoint ReadMetric(DbDataReader r) =>
        new(r.GetString(0), r.IsDBNull(1) ? double.NaN : r.GetDouble(1), Int(r, 2), Time(Int(r, 3)));

    private static bool IsNewer(MetricPoint candidate, MetricPoint than) =>
        candidate.Step > than.Step || (candidate.Step == than.Step && candidate.Timestamp >= than.Timestamp);

    private static object MetricValue(double value) => double.IsNaN(value) ? DBNull.Value : value;

    private static string StatusText(RunStatus status) => status.ToString().ToUpperInvariant();

    private static RunStatus ParseStatus(string text) =>
        Enum.TryParse<RunStatus>(text, ignoreCase: true, out var status) ? status : throw new ForgeException($"the tracking database holds an unknown run status '{text}'");

    // ---------------------------------------------------------------- validation

    private static void CheckName(string name, string what)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (string.IsNullOrWhiteSpace(name)) throw new UsageException($"the {what} is empty");
        if (name.Length > 256) throw new UsageException($"the {what} '{name[..40]}…' is longer than 256 characters");
        if (name.Any(char.IsControl)) throw new UsageException($"the {what} '{name}' contains a control character");
    }

    private static void CheckKey(string key, string what)
    {
        if (key is null) throw new UsageException($"a {what} key is missing");
        if (key.Length == 0 || key.Trim().Length != key.Length) throw new UsageException($"{what} key '{key}' is empty or starts or ends with a space");
        if (key.Length > 250) throw new UsageException($"{what} key '{key[..40]}…' is longer than 250 characters");
        if (key.Any(char.IsControl)) throw new UsageException($"{what} key '{key}' contains a control character");
    }

    private static void CheckModelName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        ModelNames.Validate(name);
    }

    private static void CheckAlias(string alias)
    {
        ArgumentNullException.ThrowIfNull(alias);
        if (!AliasPattern().IsMatch(alias))
            throw new UsageException($"alias '{alias}' must be 1-64 letters, digits, '_' or '-', starting with a letter");
        if (string.Equals(alias, "latest", StringComparison.OrdinalIgnoreCase))
            throw new UsageException("alias 'latest' is reserved: NAME@latest always means the highest version");
    }

    [GeneratedRegex("^[A-Za-z][A-Za-z0-9_-]{0,63}$")]
    private static partial Regex AliasPattern();

    // ---------------------------------------------------------------- plumbing

    private T WithRetry<T>(Func<T> work) => _dialect.WithRetry(work, "tracking");

    private T Read<T>(Func<DbConnection, T> work) => _dialect.Read(work, "tracking");

    private T Write<T>(Func<DbConnection, DbTransaction, T> work) => _dialect.Write(work, "tracking");

    private void Write(Action<DbConnection, DbTransaction> work) => Write<int>((c, tx) =>
    {
        work(c, tx);
        return 0;
    });


    private static long Now() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    private static DateTimeOffset Time(long milliseconds) => DateTimeOffset.FromUnixTimeMilliseconds(milliseconds);
}
