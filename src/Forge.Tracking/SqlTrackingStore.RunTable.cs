using System.Data.Common;
using System.Globalization;
using System.Text;

using static Forge.Tracking.SqlCommands;

namespace Forge.Tracking;

/// <summary>The runs table of the web UI: a page of <see cref="SearchRuns"/> plus its values and the matching count.</summary>
internal sealed partial class SqlTrackingStore
{
    internal RunTablePage QueryRunTable(RunTableRequest request)
    {
        var page = SearchRuns(new RunQuery
        {
            Filter = request.Filter,
            OrderBy = request.OrderBy,
            Experiments = request.Experiment is { Length: > 0 } e ? [e] : [],
            MaxResults = request.PageSize,
            PageToken = request.Page == 0 ? null : EncodePageToken((long)request.Page * request.PageSize),
        });
        var total = CountRuns(request.Filter, request.Experiment);
        if (page.Runs.Count == 0) return new RunTablePage(total, []);
        return Read(c =>
        {
            var ids = page.Runs.Select((r, i) => ($"id{i}", (object?)r.RunId)).ToArray();
            var list = string.Join(", ", ids.Select(p => "@" + p.Item1));
            var metrics = page.Runs.ToDictionary(r => r.RunId, _ => new Dictionary<string, double>(StringComparer.Ordinal), StringComparer.Ordinal);
            var parameters = page.Runs.ToDictionary(r => r.RunId, _ => new Dictionary<string, string>(StringComparer.Ordinal), StringComparer.Ordinal);
            foreach (var (run, key, value) in Query(c, null, $"SELECT run_id, key, value FROM latest_metrics WHERE run_id IN ({list})",
                r => (r.GetString(0), r.GetString(1), r.IsDBNull(2) ? double.NaN : Convert.ToDouble(r.GetValue(2), CultureInfo.InvariantCulture)), ids))
                metrics[run][key] = value;
            foreach (var (run, key, value) in Query(c, null, $"SELECT run_id, key, value FROM params WHERE run_id IN ({list})",
                r => (r.GetString(0), r.GetString(1), r.GetString(2)), ids))
                parameters[run][key] = value;
            return new RunTablePage(total, [.. page.Runs.Select(r => new RunTableRow(r, metrics[r.RunId], parameters[r.RunId]))]);
        });
    }

    /// <summary>Runs matching the filter, counted with the same clauses <see cref="SearchRuns"/> applies.</summary>
    private long CountRuns(string? filter, string? experiment)
    {
        var clauses = RunFilter.ParseFilter(filter);
        var where = new List<string> { "r.deleted = 0" };
        var parameters = new List<(string, object?)>();
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
            where.Add($"EXISTS (SELECT 1 FROM {TableOf(clause.Entity.Kind)} f{i} WHERE f{i}.run_id = r.run_id AND f{i}.key = @fk{i} AND {Compare($"f{i}.value", clause.Operator, $"@fv{i}")})");
        }
        var sql = new StringBuilder("SELECT COUNT(*) FROM runs r");
        if (experiment is { Length: > 0 })
        {
            sql.Append(" JOIN experiments e ON e.experiment_id = r.experiment_id");
            where.Add("e.name = @experiment");
            parameters.Add(("experiment", experiment));
        }
        sql.Append(" WHERE ").AppendJoin(" AND ", where);
        return Read(c => Convert.ToInt64(Scalar(c, null, sql.ToString(), [.. parameters]), CultureInfo.InvariantCulture));
    }

    internal RunTableKeys RunTableKeys() => Read(c => new RunTableKeys(
        Query(c, null, "SELECT DISTINCT key FROM latest_metrics ORDER BY key", r => r.GetString(0)),
        Query(c, null, "SELECT DISTINCT key FROM params ORDER BY key", r => r.GetString(0))));

    internal IReadOnlyList<(string Name, int Version)> VersionsOfRun(string runId) => Read(c =>
        Query(c, null, "SELECT name, version FROM model_versions WHERE run_id = @id ORDER BY name, version",
            (DbDataReader r) => (r.GetString(0), (int)Int(r, 1)), ("id", runId)));
}
