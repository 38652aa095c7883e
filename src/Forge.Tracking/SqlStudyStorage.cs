using System.Collections.Concurrent;
using System.Data.Common;
using System.Globalization;
using Forge.Core;
using Forge.Tuning;

using static Forge.Tracking.SqlCommands;

namespace Forge.Tracking;

/// <summary>The tables of tuning studies: schema migration 3 (see <see cref="Schema"/>).</summary>
internal static class StudySchema
{
    public static readonly string[] Migration =
    [
        "CREATE TABLE studies (study_id {ID}, name TEXT NOT NULL UNIQUE, direction TEXT NOT NULL, created_at BIGINT NOT NULL)",
        "CREATE TABLE study_attrs (study_id BIGINT NOT NULL REFERENCES studies (study_id), key TEXT NOT NULL, value_json TEXT NOT NULL, PRIMARY KEY (study_id, key))",
        // retried = 1 marks a failed trial replaced by a retry: it no longer counts towards a study-wide trial limit.
        """
        CREATE TABLE trials (trial_id {ID}, study_id BIGINT NOT NULL REFERENCES studies (study_id), number INTEGER NOT NULL,
            state TEXT NOT NULL, value DOUBLE PRECISION, start_time BIGINT, end_time BIGINT, heartbeat BIGINT,
            retried INTEGER NOT NULL DEFAULT 0, UNIQUE (study_id, number))
        """,
        "CREATE INDEX ix_trials_study_state ON trials (study_id, state)",
        """
        CREATE TABLE trial_params (trial_id BIGINT NOT NULL REFERENCES trials (trial_id), name TEXT NOT NULL,
            value DOUBLE PRECISION NOT NULL, distribution TEXT NOT NULL, PRIMARY KEY (trial_id, name))
        """,
        // Intermediate values; NaN is stored as NULL, as in the metrics table.
        "CREATE TABLE trial_values (trial_id BIGINT NOT NULL REFERENCES trials (trial_id), step BIGINT NOT NULL, value DOUBLE PRECISION, PRIMARY KEY (trial_id, step))",
        """
        CREATE TABLE trial_attrs (trial_id BIGINT NOT NULL REFERENCES trials (trial_id), is_system INTEGER NOT NULL, key TEXT NOT NULL,
            value_json TEXT NOT NULL, PRIMARY KEY (trial_id, is_system, key))
        """,
        // A claim (a grid point) is granted once per study: the primary key is the lock.
        "CREATE TABLE study_claims (study_id BIGINT NOT NULL REFERENCES studies (study_id), key TEXT NOT NULL, trial_id BIGINT NOT NULL, PRIMARY KEY (study_id, key))",
    ];
}

/// <summary>
/// Tuning studies in the tracking database (SQLite for one machine, PostgreSQL for many): the <see cref="IStudyStorage"/>
/// that lets several <c>forge tune</c> processes work on one study. Every operation is one transaction. Starting a
/// trial locks the study's row (SQLite: the whole database, BEGIN IMMEDIATE), so trial numbers and the study-wide
/// trial limit are exact; locks are always taken study row first, then trial row, so workers cannot deadlock; a busy
/// database is retried with back-off for up to two minutes. Finished trials are cached, since they never change.
/// </summary>
public sealed class SqlStudyStorage : IStudyStorage
{
    private const string TrialColumns = "trial_id, study_id, number, state, value, start_time, end_time, heartbeat, retried";

    private readonly SqlDialect _dialect;
    private readonly ConcurrentDictionary<long, FrozenTrial> _finished = new();
    private readonly ConcurrentDictionary<string, Distribution> _distributions = new(StringComparer.Ordinal);

    private SqlStudyStorage(SqlDialect dialect) => _dialect = dialect;

    /// <summary>
    /// Opens (creating and migrating when needed) the database a tracking URI names, as <see cref="TrackingStore.Open"/>
    /// does: null for <c>$FORGE_TRACKING_URI</c> or <c>$FORGE_HOME/forge.db</c>; a path or <c>sqlite:///path</c>;
    /// <c>postgresql://user:password@host:port/database[?schema=NAME]</c>.
    /// </summary>
    public static SqlStudyStorage Open(string? uri = null)
    {
        var parsed = TrackingUri.Resolve(uri);
        SqlDialect dialect = parsed.IsPostgres ? new PostgresDialect(parsed) : new SqliteDialect(parsed.SqlitePath);
        try
        {
            if (dialect is PostgresDialect postgres) postgres.EnsureSchema();
            var storage = new SqlStudyStorage(dialect);
            storage.SchemaVersion = storage.WithRetry(() => Schema.Migrate(dialect));
            return storage;
        }
        catch
        {
            dialect.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public string Location => _dialect.Location;

    /// <summary>The schema version the database is at.</summary>
    public int SchemaVersion { get; private set; }

    internal SqlDialect Dialect => _dialect;

    /// <inheritdoc />
    public void Dispose() => _dialect.Dispose();

    // ---------------------------------------------------------------- studies

    /// <inheritdoc />
    public StudyInfo CreateStudy(string name, StudyDirection direction, bool loadIfExists)
    {
        StudyStorageRules.Check(name);
        var (info, created) = Write((c, tx) =>
        {
            var inserted = Execute(c, tx, "INSERT INTO studies (name, direction, created_at) VALUES (@name, @direction, @now) ON CONFLICT (name) DO NOTHING",
                ("name", name), ("direction", TuningText.Of(direction)), ("now", Now()));
            return (FindStudy(c, tx, name)!, inserted == 1);
        });
        return created ? info : StudyStorageRules.Existing(info, direction, loadIfExists, Location);
    }

    /// <inheritdoc />
    public StudyInfo GetStudy(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return Read(c => FindStudy(c, null, name) ?? throw UnknownStudy(c, null, name));
    }

    /// <inheritdoc />
    public IReadOnlyList<StudyInfo> ListStudies() => Read(c =>
    {
        var ids = Query(c, null, "SELECT name FROM studies ORDER BY name", r => r.GetString(0));
        return ids.Select(n => FindStudy(c, null, n)!).ToList();
    });

    /// <inheritdoc />
    public void DeleteStudy(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var id = Write((c, tx) =>
        {
            var study = FindStudy(c, tx, name) ?? throw UnknownStudy(c, tx, name);
            var p = ("id", (object?)study.Id);
            LockStudy(c, tx, study.Id);
            foreach (var table in new[] { "trial_params", "trial_values", "trial_attrs" })
                Execute(c, tx, $"DELETE FROM {table} WHERE trial_id IN (SELECT trial_id FROM trials WHERE study_id = @id)", p);
            Execute(c, tx, "DELETE FROM trials WHERE study_id = @id", p);
            Execute(c, tx, "DELETE FROM study_claims WHERE study_id = @id", p);
            Execute(c, tx, "DELETE FROM study_attrs WHERE study_id = @id", p);
            Execute(c, tx, "DELETE FROM studies WHERE study_id = @id", p);
            return study.Id;
        });
        foreach (var (trialId, studyId) in _studyOf)
        {
            if (studyId != id) continue;
            _finished.TryRemove(trialId, out _);
            _studyOf.TryRemove(trialId, out _);
        }
    }

    private readonly ConcurrentDictionary<long, long> _studyOf = new();

    /// <inheritdoc />
    public void SetStudyAttribute(long studyId, string key, string valueJson)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(valueJson);
        Write((c, tx) =>
        {
            RequireStudy(c, tx, studyId);
            Execute(c, tx, "INSERT INTO study_attrs (study_id, key, value_json) VALUES (@id, @key, @value) ON CONFLICT (study_id, key) DO UPDATE SET value_json = excluded.value_json",
                ("id", studyId), ("key", key), ("value", valueJson));
            return 0;
        });
    }

    private StudyInfo? FindStudy(DbConnection c, DbTransaction? tx, string name)
    {
        var row = Query(c, tx, "SELECT study_id, name, direction, created_at FROM studies WHERE name = @name",
            r => (Id: Int(r, 0), Name: r.GetString(1), Direction: r.GetString(2), Created: Int(r, 3)), ("name", name)).FirstOrDefault();
        if (row.Name is null) return null;
        var attributes = Query(c, tx, "SELECT key, value_json FROM study_attrs WHERE study_id = @id", r => (r.GetString(0), r.GetString(1)), ("id", row.Id))
            .ToDictionary(p => p.Item1, p => p.Item2, StringComparer.Ordinal);
        return new StudyInfo(row.Id, row.Name, TuningText.ParseDirection(row.Direction), Time(row.Created), attributes);
    }

    private static NotFoundException UnknownStudy(DbConnection c, DbTransaction? tx, string name) =>
        new("study", name, Query(c, tx, "SELECT name FROM studies ORDER BY name", r => r.GetString(0)));

    private static void RequireStudy(DbConnection c, DbTransaction? tx, long studyId)
    {
        if (Scalar(c, tx, "SELECT 1 FROM studies WHERE study_id = @id", ("id", studyId)) is null)
            throw new NotFoundException("study id", studyId.ToString(CultureInfo.InvariantCulture), []);
    }

    /// <summary>Takes the study's row lock (PostgreSQL; SQLite's BEGIN IMMEDIATE already holds the database) and checks it exists.</summary>
    private void LockStudy(DbConnection c, DbTransaction tx, long studyId)
    {
        // FOR NO KEY UPDATE serialises workers on the study without blocking inserts that only reference it.
        var suffix = _dialect is PostgresDialect ? " FOR NO KEY UPDATE" : "";
        if (Scalar(c, tx, "SELECT study_id FROM studies WHERE study_id = @id" + suffix, ("id", studyId)) is null)
            throw new NotFoundException("study id", studyId.ToString(CultureInfo.InvariantCulture), []);
    }

    // ---------------------------------------------------------------- trials

    /// <inheritdoc />
    public FrozenTrial? StartTrial(long studyId, TrialStartRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return Write((c, tx) =>
        {
            LockStudy(c, tx, studyId);
            var now = Now();
            object? beat = request.Heartbeat ? now : null;
            var waiting = Scalar(c, tx, "SELECT trial_id FROM trials WHERE study_id = @s AND state = 'WAITING' ORDER BY number LIMIT 1", ("s", studyId));
            if (waiting is not null)
            {
                var id = Convert.ToInt64(waiting, CultureInfo.InvariantCulture);
                Execute(c, tx, "UPDATE trials SET state = 'RUNNING', start_time = @now, heartbeat = @beat WHERE trial_id = @id", ("now", now), ("beat", beat), ("id", id));
                return LoadTrial(c, tx, id);
            }
            if (request.MaxTrials is { } max)
            {
                var counted = Convert.ToInt64(Scalar(c, tx, "SELECT COUNT(*) FROM trials WHERE study_id = @s AND retried = 0", ("s", studyId)), CultureInfo.InvariantCulture);
                if (counted >= max) return null;
            }
            var trialId = InsertTrial(c, tx, studyId, "RUNNING", now, beat);
            return LoadTrial(c, tx, trialId);
        });
    }

    private static long InsertTrial(DbConnection c, DbTransaction tx, long studyId, string state, object? start, object? beat)
    {
        // The study's row is locked by the caller, so MAX(number) + 1 is ours alone; UNIQUE (study_id, number) guards it anyway.
        var number = Convert.ToInt64(Scalar(c, tx, "SELECT COALESCE(MAX(number) + 1, 0) FROM trials WHERE study_id = @s", ("s", studyId)), CultureInfo.InvariantCulture);
        return Convert.ToInt64(Scalar(c, tx,
            "INSERT INTO trials (study_id, number, state, value, start_time, end_time, heartbeat, retried) VALUES (@s, @n, @state, NULL, @start, NULL, @beat, 0) RETURNING trial_id",
            ("s", studyId), ("n", number), ("state", state), ("start", start), ("beat", beat)), CultureInfo.InvariantCulture);
    }

    /// <inheritdoc />
    public FrozenTrial EnqueueTrial(long studyId, IReadOnlyDictionary<string, string> systemAttributes, IReadOnlyDictionary<string, string> userAttributes)
    {
        ArgumentNullException.ThrowIfNull(systemAttributes);
        ArgumentNullException.ThrowIfNull(userAttributes);
        return Write((c, tx) =>
        {
            LockStudy(c, tx, studyId);
            var id = InsertTrial(c, tx, studyId, "WAITING", null, null);
            foreach (var (k, v) in systemAttributes) UpsertAttribute(c, tx, id, true, k, v);
            foreach (var (k, v) in userAttributes) UpsertAttribute(c, tx, id, false, k, v);
            return LoadTrial(c, tx, id);
        });
    }

    /// <inheritdoc />
    public void SetTrialParam(long trialId, string name, double internalValue, Distribution distribution)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(distribution);
        var json = distribution.ToJson();
        Write((c, tx) =>
        {
            var header = LockTrial(c, tx, trialId);
            StudyStorageRules.CheckWritable(header, running: true);
            var existing = Query(c, tx, "SELECT value, distribution FROM trial_params WHERE trial_id = @id AND name = @name",
                r => (Value: r.GetDouble(0), Distribution: r.GetString(1)), ("id", trialId), ("name", name)).FirstOrDefault();
            if (existing.Distribution is not null)
            {
                if (existing.Value.Equals(internalValue) && ParseDistribution(existing.Distribution).Equals(distribution)) return 0;
                var old = ParseDistribution(existing.Distribution).ToExternal(existing.Value);
                throw new UsageException($"trial {header.Number} already has parameter '{name}' = {ScalarValues.Describe(old)}");
            }
            Execute(c, tx, "INSERT INTO trial_params (trial_id, name, value, distribution) VALUES (@id, @name, @value, @distribution)",
                ("id", trialId), ("name", name), ("value", internalValue), ("distribution", json));
            return 0;
        });
    }

    /// <inheritdoc />
    public void ReportIntermediateValue(long trialId, long step, double value) => Write((c, tx) =>
    {
        StudyStorageRules.CheckWritable(LockTrial(c, tx, trialId), running: true);
        Execute(c, tx, "INSERT INTO trial_values (trial_id, step, value) VALUES (@id, @step, @value) ON CONFLICT (trial_id, step) DO NOTHING",
            ("id", trialId), ("step", step), ("value", double.IsNaN(value) ? null : value));
        return 0;
    });

    /// <inheritdoc />
    public void SetTrialUserAttribute(long trialId, string key, string valueJson) => SetAttribute(trialId, false, key, valueJson);

    /// <inheritdoc />
    public void SetTrialSystemAttribute(long trialId, string key, string valueJson) => SetAttribute(trialId, true, key, valueJson);

    private void SetAttribute(long trialId, bool system, string key, string valueJson)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(valueJson);
        Write((c, tx) =>
        {
            StudyStorageRules.CheckWritable(LockTrial(c, tx, trialId), running: false);
            UpsertAttribute(c, tx, trialId, system, key, valueJson);
            return 0;
        });
    }

    private static void UpsertAttribute(DbConnection c, DbTransaction tx, long trialId, bool system, string key, string valueJson) =>
        Execute(c, tx,
            "INSERT INTO trial_attrs (trial_id, is_system, key, value_json) VALUES (@id, @system, @key, @value) " +
            "ON CONFLICT (trial_id, is_system, key) DO UPDATE SET value_json = excluded.value_json",
            ("id", trialId), ("system", system ? 1 : 0), ("key", key), ("value", valueJson));

    /// <inheritdoc />
    public bool FinishTrial(long trialId, TrialState state, double? value, string? failReason)
    {
        StudyStorageRules.CheckFinish(state, value);
        return Write((c, tx) =>
        {
            LockTrial(c, tx, trialId);
            var changed = Execute(c, tx, "UPDATE trials SET state = @state, value = @value, end_time = @now WHERE trial_id = @id AND state = 'RUNNING'",
                ("state", TuningText.Of(state)), ("value", state == TrialState.Complete ? value : null), ("now", Now()), ("id", trialId));
            if (changed == 1 && failReason is not null) UpsertAttribute(c, tx, trialId, true, FrozenTrial.FailReasonKey, ScalarValues.ToJson(failReason));
            return changed == 1;
        });
    }

    /// <inheritdoc />
    public void RecordHeartbeat(long trialId) => Write((c, tx) =>
        Execute(c, tx, "UPDATE trials SET heartbeat = @now WHERE trial_id = @id AND state = 'RUNNING'", ("now", Now()), ("id", trialId)));

    /// <inheritdoc />
    public IReadOnlyList<FrozenTrial> FailStaleTrials(long studyId, TimeSpan gracePeriod)
    {
        var failed = Write((c, tx) =>
        {
            var now = Now();
            var cutoff = now - (long)gracePeriod.TotalMilliseconds;
            // Cheap check first: most calls find nothing and should not queue behind other workers for the study lock.
            var any = Scalar(c, tx, "SELECT 1 FROM trials WHERE study_id = @s AND state = 'RUNNING' AND heartbeat IS NOT NULL AND heartbeat < @cutoff LIMIT 1",
                ("s", studyId), ("cutoff", cutoff));
            if (any is null) return new List<long>();
            LockStudy(c, tx, studyId);
            var stale = Query(c, tx, "SELECT trial_id, heartbeat FROM trials WHERE study_id = @s AND state = 'RUNNING' AND heartbeat IS NOT NULL AND heartbeat < @cutoff ORDER BY trial_id",
                r => (Id: Int(r, 0), Beat: Int(r, 1)), ("s", studyId), ("cutoff", cutoff));
            var ids = new List<long>();
            foreach (var (id, beat) in stale)
            {
                var changed = Execute(c, tx, "UPDATE trials SET state = 'FAIL', end_time = @now WHERE trial_id = @id AND state = 'RUNNING' AND heartbeat < @cutoff",
                    ("now", now), ("id", id), ("cutoff", cutoff));
                if (changed != 1) continue;
                UpsertAttribute(c, tx, id, true, FrozenTrial.FailReasonKey, ScalarValues.ToJson(StudyStorageRules.StaleReason(TimeSpan.FromMilliseconds(now - beat))));
                ids.Add(id);
            }
            return ids;
        });
        return failed.Select(GetTrial).ToList();
    }

    /// <inheritdoc />
    public FrozenTrial? RetryTrial(long trialId) => Write((c, tx) =>
    {
        var studyId = Scalar(c, tx, "SELECT study_id FROM trials WHERE trial_id = @id", ("id", trialId)) is { } s
            ? Convert.ToInt64(s, CultureInfo.InvariantCulture)
            : throw UnknownTrial(trialId);
        LockStudy(c, tx, studyId);
        var failed = LoadTrial(c, tx, trialId);
        if (failed.State != TrialState.Fail || failed.Retried) return null;
        Execute(c, tx, "UPDATE trials SET retried = 1 WHERE trial_id = @id", ("id", trialId));
        var retry = InsertTrial(c, tx, studyId, "WAITING", null, null);
        foreach (var (k, v) in StudyStorageRules.RetryAttributes(failed)) UpsertAttribute(c, tx, retry, true, k, v);
        foreach (var (k, v) in failed.UserAttributesJson) UpsertAttribute(c, tx, retry, false, k, v);
        return LoadTrial(c, tx, retry);
    });

    /// <inheritdoc />
    public bool TryClaim(long studyId, string key, long trialId)
    {
        ArgumentNullException.ThrowIfNull(key);
        return Write((c, tx) =>
            Execute(c, tx, "INSERT INTO study_claims (study_id, key, trial_id) VALUES (@s, @key, @t) ON CONFLICT (study_id, key) DO NOTHING",
                ("s", studyId), ("key", key), ("t", trialId)) == 1);
    }

    /// <inheritdoc />
    public IReadOnlySet<string> GetClaims(long studyId) =>
        Read(c => Query(c, null, "SELECT key FROM study_claims WHERE study_id = @s", r => r.GetString(0), ("s", studyId)).ToHashSet(StringComparer.Ordinal));

    /// <inheritdoc />
    public FrozenTrial GetTrial(long trialId)
    {
        if (_finished.TryGetValue(trialId, out var cached))
        {
            // Only the retried flag can change on a finished trial.
            var retried = Read(c => Scalar(c, null, "SELECT retried FROM trials WHERE trial_id = @id", ("id", trialId)));
            if (retried is not null && Convert.ToInt64(retried, CultureInfo.InvariantCulture) == (cached.Retried ? 1 : 0)) return cached;
        }
        return Read(c => LoadTrial(c, null, trialId));
    }

    /// <inheritdoc />
    public IReadOnlyList<FrozenTrial> GetTrials(long studyId) => Read(c =>
    {
        var headers = Query(c, null, $"SELECT {TrialColumns} FROM trials WHERE study_id = @s ORDER BY number", ReadHeader, ("s", studyId));
        if (headers.Count == 0) RequireStudy(c, null, studyId);
        var result = new FrozenTrial[headers.Count];
        var missing = new List<int>();
        for (var i = 0; i < headers.Count; i++)
        {
            var h = headers[i];
            if (_finished.TryGetValue(h.TrialId, out var cached) && cached.State == h.State && cached.Retried == h.Retried) result[i] = cached;
            else missing.Add(i);
        }
        if (missing.Count > 0)
        {
            var details = LoadDetails(c, null, missing.Select(i => headers[i].TrialId).ToList(), missing.Count == headers.Count ? studyId : null);
            foreach (var i in missing) result[i] = Assemble(headers[i], details);
        }
        return result;
    });

    // ---------------------------------------------------------------- reading trials

    private readonly record struct Header(long TrialId, long StudyId, int Number, TrialState State, double? Value, long? Start, long? End, long? Beat, bool Retried);

    private sealed class Details
    {
        public Dictionary<long, List<(string Name, double Value, string Distribution)>> Params { get; } = [];
        public Dictionary<long, List<KeyValuePair<long, double>>> Values { get; } = [];
        public Dictionary<long, Dictionary<string, string>> User { get; } = [];
        public Dictionary<long, Dictionary<string, string>> System { get; } = [];
    }

    private static Header ReadHeader(DbDataReader r) => new(
        Int(r, 0), Int(r, 1), (int)Int(r, 2), TuningText.ParseState(r.GetString(3)), r.IsDBNull(4) ? null : r.GetDouble(4),
        r.IsDBNull(5) ? null : Int(r, 5), r.IsDBNull(6) ? null : Int(r, 6), r.IsDBNull(7) ? null : Int(r, 7), Int(r, 8) != 0);

    private FrozenTrial LoadTrial(DbConnection c, DbTransaction? tx, long trialId)
    {
        var header = Query(c, tx, $"SELECT {TrialColumns} FROM trials WHERE trial_id = @id", ReadHeader, ("id", trialId));
        if (header.Count == 0) throw UnknownTrial(trialId);
        return Assemble(header[0], LoadDetails(c, tx, [trialId], null));
    }

    /// <summary>Locks a trial's row (PostgreSQL) inside a write and returns its current header as a snapshot without details.</summary>
    private FrozenTrial LockTrial(DbConnection c, DbTransaction tx, long trialId)
    {
        var header = Query(c, tx, $"SELECT {TrialColumns} FROM trials WHERE trial_id = @id" + _dialect.ForUpdate, ReadHeader, ("id", trialId));
        if (header.Count == 0) throw UnknownTrial(trialId);
        var h = header[0];
        return new FrozenTrial(h.TrialId, h.Number, h.State, h.Value, new Dictionary<string, Distribution>(), new Dictionary<string, double>());
    }

    private static NotFoundException UnknownTrial(long trialId) => new("trial id", trialId.ToString(CultureInfo.InvariantCulture), []);

    private static Details LoadDetails(DbConnection c, DbTransaction? tx, List<long> ids, long? wholeStudy)
    {
        var details = new Details();
        void Load(string where, params (string Name, object? Value)[] parameters)
        {
            foreach (var (id, name, value, distribution) in Query(c, tx, $"SELECT p.trial_id, p.name, p.value, p.distribution FROM trial_params p {where}",
                         r => (Int(r, 0), r.GetString(1), r.GetDouble(2), r.GetString(3)), parameters))
            {
                if (!details.Params.TryGetValue(id, out var list)) details.Params[id] = list = [];
                list.Add((name, value, distribution));
            }
            foreach (var (id, step, value) in Query(c, tx, $"SELECT p.trial_id, p.step, p.value FROM trial_values p {where}",
                         r => (Int(r, 0), Int(r, 1), r.IsDBNull(2) ? double.NaN : r.GetDouble(2)), parameters))
            {
                if (!details.Values.TryGetValue(id, out var list)) details.Values[id] = list = [];
                list.Add(new KeyValuePair<long, double>(step, value));
            }
            foreach (var (id, system, key, json) in Query(c, tx, $"SELECT p.trial_id, p.is_system, p.key, p.value_json FROM trial_attrs p {where}",
                         r => (Int(r, 0), Int(r, 1) != 0, r.GetString(2), r.GetString(3)), parameters))
            {
                var map = system ? details.System : details.User;
                if (!map.TryGetValue(id, out var attributes)) map[id] = attributes = new Dictionary<string, string>(StringComparer.Ordinal);
                attributes[key] = json;
            }
        }
        if (wholeStudy is { } studyId)
        {
            Load("JOIN trials t ON t.trial_id = p.trial_id WHERE t.study_id = @s", ("s", studyId));
            return details;
        }
        // Chunks keep the parameter count far below every driver's limit.
        for (var start = 0; start < ids.Count; start += 500)
        {
            var chunk = ids.Skip(start).Take(500).ToList();
            var names = string.Join(", ", chunk.Select((_, i) => "@t" + i.ToString(CultureInfo.InvariantCulture)));
            Load($"WHERE p.trial_id IN ({names})", chunk.Select((id, i) => ("t" + i.ToString(CultureInfo.InvariantCulture), (object?)id)).ToArray());
        }
        return details;
    }

    private FrozenTrial Assemble(Header h, Details details)
    {
        var distributions = new Dictionary<string, Distribution>(StringComparer.Ordinal);
        var values = new Dictionary<string, double>(StringComparer.Ordinal);
        if (details.Params.TryGetValue(h.TrialId, out var ps))
        {
            foreach (var (name, value, distribution) in ps)
            {
                distributions[name] = ParseDistribution(distribution);
                values[name] = value;
            }
        }
        var trial = new FrozenTrial(h.TrialId, h.Number, h.State, h.Value, distributions, values,
            details.Values.GetValueOrDefault(h.TrialId), details.User.GetValueOrDefault(h.TrialId), details.System.GetValueOrDefault(h.TrialId),
            h.Start is { } s ? Time(s) : null, h.End is { } e ? Time(e) : null, h.Beat is { } b ? Time(b) : null, h.Retried);
        if (h.State is TrialState.Complete or TrialState.Pruned or TrialState.Fail)
        {
            _finished[h.TrialId] = trial;
            _studyOf[h.TrialId] = h.StudyId;
        }
        return trial;
    }

    private Distribution ParseDistribution(string json) => _distributions.GetOrAdd(json, Distribution.FromJson);

    // ---------------------------------------------------------------- plumbing

    private T WithRetry<T>(Func<T> work) => _dialect.WithRetry(work, "study");

    private T Read<T>(Func<DbConnection, T> work) => _dialect.Read(work, "study");

    private T Write<T>(Func<DbConnection, DbTransaction, T> work) => _dialect.Write(work, "study");

    private static long Now() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    private static DateTimeOffset Time(long milliseconds) => DateTimeOffset.FromUnixTimeMilliseconds(milliseconds);
}
