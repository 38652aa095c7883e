using System.Data.Common;
using System.Globalization;
using Forge.Core;

using static Forge.Tracking.SqlCommands;

namespace Forge.Tracking;

/// <summary>
/// The runs table of the web UI. A page is found as run ids first, walking an index in the requested order (migration
/// 4: runs by deletion flag, start time and id; metrics and params by key, value and run id), and only the page's runs
/// are read in full, so page 1 and page 2,000 of 100,000 runs cost about the same. Runs without the sorted metric or
/// param come after those with it, newest first, as <see cref="SearchRuns"/> orders them; ties break on the run id in
/// the sort's direction. Sorting by several keys or by a tag goes through <see cref="SearchRuns"/>.
/// </summary>
internal sealed partial class SqlTrackingStore
{
    internal RunTablePage QueryRunTable(RunTableRequest request)
    {
        var clauses = RunFilter.ParseFilter(request.Filter);
        var sort = RunFilter.ParseOrderBy(request.OrderBy);
        var offset = (long)request.Page * request.PageSize;
        return Read(c =>
        {
            var parameters = new List<(string, object?)>();
            var where = new List<string> { "r.deleted = 0" };
            if (request.Experiment is { Length: > 0 } experiment)
            {
                var id = Scalar(c, null, "SELECT experiment_id FROM experiments WHERE name = @name", ("name", experiment))
                    ?? throw new NotFoundException("experiment", experiment, Query(c, null, "SELECT name FROM experiments ORDER BY name", r => r.GetString(0)));
                where.Add("r.experiment_id = @experiment");
                parameters.Add(("experiment", Convert.ToInt64(id, CultureInfo.InvariantCulture)));
            }
            AddFilterConditions(clauses, where, parameters);
            var filter = string.Join(" AND ", where);
            var args = parameters.ToArray();
            var total = Convert.ToInt64(Scalar(c, null, $"SELECT COUNT(*) FROM runs r WHERE {filter}", args), CultureInfo.InvariantCulture);
            if (offset >= total) return new RunTablePage(total, []);

            List<string> ids;
            if (sort.Count == 1 && sort[0].Entity.Kind is EntityKind.Metric or EntityKind.Param)
                ids = PageByValue(c, sort[0], filter, args, offset, request.PageSize, unfiltered: where.Count == 1);
            else if (sort.Count == 1 && sort[0].Entity.Kind == EntityKind.Attribute)
                ids = PageByAttribute(c, sort[0], filter, args, offset, request.PageSize);
            else
                ids = [.. SearchRunsOrdered(request).Select(r => r.RunId)];
            return new RunTablePage(total, ReadRows(c, ids));
        });
    }

    private static List<string> PageByAttribute(DbConnection c, SortKey key, string filter, (string, object?)[] args, long offset, int size)
    {
        var direction = key.Descending ? "DESC" : "ASC";
        var column = $"r.{key.Entity.Key}";
        // start_time, name, status and run_id are never null; only the others need "missing last".
        var nulls = key.Entity.Key is "end_time" or "parent_run_id" ? $"CASE WHEN {column} IS NULL THEN 1 ELSE 0 END, " : "";
        return Query(c, null, $"SELECT r.run_id FROM runs r WHERE {filter} ORDER BY {nulls}{column} {direction}, r.run_id {direction} LIMIT @limit OFFSET @offset",
            r => r.GetString(0), [.. args, ("limit", (long)size), ("offset", offset)]);
    }

    private static List<string> PageByValue(DbConnection c, SortKey key, string filter, (string, object?)[] args, long offset, int size, bool unfiltered)
    {
        var table = TableOf(key.Entity.Kind);
        var direction = key.Descending ? "DESC" : "ASC";
        (string, object?)[] withKey = [.. args, ("sk", key.Entity.Key)];
        // Runs with the value, in its order: the (key, value, run_id) index drives the loop (CROSS JOIN keeps SQLite from
        // reordering it; for PostgreSQL it is the same inner join). Without a filter the runs table is not joined at all:
        // the few deleted runs are left out through their own index, so skipping 50,000 entries reads the index alone.
        var withValue = unfiltered
            ? $"FROM {table} s WHERE s.key = @sk AND s.value IS NOT NULL AND s.run_id NOT IN (SELECT d.run_id FROM runs d WHERE d.deleted <> 0)"
            : $"FROM {table} s CROSS JOIN runs r WHERE r.run_id = s.run_id AND s.key = @sk AND s.value IS NOT NULL AND {filter}";
        var ids = Query(c, null, $"SELECT s.run_id {withValue} ORDER BY s.value {direction}, s.run_id {direction} LIMIT @limit OFFSET @offset",
            r => r.GetString(0), [.. withKey, ("limit", (long)size), ("offset", offset)]);
        if (ids.Count == size) return ids;
        // The page reaches past them: the runs without the value follow, newest first.
        var valued = Convert.ToInt64(Scalar(c, null, $"SELECT COUNT(*) {withValue}", withKey), CultureInfo.InvariantCulture);
        ids.AddRange(Query(c, null,
            $"SELECT r.run_id FROM runs r WHERE {filter} AND r.run_id NOT IN (SELECT s.run_id FROM {table} s WHERE s.key = @sk AND s.value IS NOT NULL) "
            + "ORDER BY r.start_time DESC, r.run_id DESC LIMIT @limit OFFSET @offset",
            r => r.GetString(0), [.. withKey, ("limit", (long)(size - ids.Count)), ("offset", Math.Max(0, offset - valued))]));
        return ids;
    }

    private IReadOnlyList<RunInfo> SearchRunsOrdered(RunTableRequest request) => SearchRuns(new RunQuery
    {
        Filter = request.Filter,
        OrderBy = request.OrderBy,
        Experiments = request.Experiment is { Length: > 0 } e ? [e] : [],
        MaxResults = request.PageSize,
        PageToken = request.Page == 0 ? null : EncodePageToken((long)request.Page * request.PageSize),
    }).Runs;

    /// <summary>The runs, in the order of <paramref name="ids"/>, with their latest metrics and params.</summary>
    private List<RunTableRow> ReadRows(DbConnection c, List<string> ids)
    {
        if (ids.Count == 0) return [];
        var named = ids.Select((id, i) => ($"id{i}", (object?)id)).ToArray();
        var list = string.Join(", ", named.Select(p => "@" + p.Item1));
        var now = Now();
        var infos = Query(c, null, $"{RunSelect} WHERE r.run_id IN ({list})", r => ReadRunInfo(r, now), named).ToDictionary(r => r.RunId, StringComparer.Ordinal);
        var metrics = ids.ToDictionary(id => id, _ => new Dictionary<string, double>(StringComparer.Ordinal), StringComparer.Ordinal);
        var parameters = ids.ToDictionary(id => id, _ => new Dictionary<string, string>(StringComparer.Ordinal), StringComparer.Ordinal);
        foreach (var (run, key, value) in Query(c, null, $"SELECT run_id, key, value FROM latest_metrics WHERE run_id IN ({list})",
            r => (r.GetString(0), r.GetString(1), r.IsDBNull(2) ? double.NaN : Convert.ToDouble(r.GetValue(2), CultureInfo.InvariantCulture)), named))
            metrics[run][key] = value;
        foreach (var (run, key, value) in Query(c, null, $"SELECT run_id, key, value FROM params WHERE run_id IN ({list})",
            r => (r.GetString(0), r.GetString(1), r.GetString(2)), named))
            parameters[run][key] = value;
        return [.. ids.Where(infos.ContainsKey).Select(id => new RunTableRow(infos[id], metrics[id], parameters[id]))];
    }

    internal RunTableKeys RunTableKeys() => Read(c => new RunTableKeys(
        Query(c, null, "SELECT DISTINCT key FROM latest_metrics ORDER BY key", r => r.GetString(0)),
        Query(c, null, "SELECT DISTINCT key FROM params ORDER BY key", r => r.GetString(0))));

    internal IReadOnlyList<(string Name, int Version)> VersionsOfRun(string runId) => Read(c =>
        Query(c, null, "SELECT name, version FROM model_versions WHERE run_id = @id ORDER BY name, version",
            (DbDataReader r) => (r.GetString(0), (int)Int(r, 1)), ("id", runId)));
}
