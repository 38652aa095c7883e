using Forge.Core;

namespace Forge.Tracking;

/// <summary>
/// One page of the runs table a browser shows: the runs in order with their latest metrics and params, and how many
/// match in all. Filtering, sorting, counting and paging all happen in SQL, so a page costs the same at 100 runs as at
/// 100,000.
/// </summary>
public static class RunTable
{
    /// <summary>The largest page <see cref="Query"/> returns.</summary>
    public const int MaxPageSize = 500;

    /// <summary>Reads one page; <paramref name="store"/> must be a store opened by <see cref="TrackingStore.Open"/>.</summary>
    public static RunTablePage Query(IRunStore store, RunTableRequest request)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(request);
        request.Validate();
        return Sql(store).QueryRunTable(request);
    }

    /// <summary>Every metric key and param key logged by any run, sorted, for the table's column and sort pickers.</summary>
    public static RunTableKeys Keys(IRunStore store)
    {
        ArgumentNullException.ThrowIfNull(store);
        return Sql(store).RunTableKeys();
    }

    /// <summary>The registered model versions trained by <paramref name="runId"/> (lineage from run to model).</summary>
    public static IReadOnlyList<(string Name, int Version)> VersionsOfRun(IRunStore store, string runId)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(runId);
        return Sql(store).VersionsOfRun(runId);
    }

    private static SqlTrackingStore Sql(IRunStore store) => store as SqlTrackingStore
        ?? throw new UsageException($"the runs table reads a store opened by TrackingStore.Open, not a {store.GetType().Name}");
}

/// <summary>Which page of the runs table to read.</summary>
public sealed record RunTableRequest
{
    /// <summary>The filter language of <see cref="RunQuery.Filter"/>; null for every run.</summary>
    public string? Filter { get; init; }

    /// <summary>Sort keys as in <see cref="RunQuery.OrderBy"/>; null for newest first.</summary>
    public string? OrderBy { get; init; }

    /// <summary>Only runs of this experiment; null for all.</summary>
    public string? Experiment { get; init; }

    /// <summary>The 0-based page number. Default 0.</summary>
    public int Page { get; init; }

    /// <summary>Runs per page, 1 to <see cref="RunTable.MaxPageSize"/>. Default 50.</summary>
    public int PageSize { get; init; } = 50;

    /// <summary>Throws one <see cref="UsageException"/> listing every problem.</summary>
    public void Validate()
    {
        var problems = new List<string>();
        if (Page < 0) problems.Add($"page {Page} must be 0 or more");
        if (PageSize is < 1 or > RunTable.MaxPageSize) problems.Add($"page size {PageSize} must be between 1 and {RunTable.MaxPageSize}");
        if (problems.Count > 0) throw new UsageException(string.Join("; ", problems));
    }
}

/// <summary>One page of runs with their values, and the number of runs matching the filter.</summary>
/// <param name="Total">Runs matching the filter (not deleted).</param>
/// <param name="Rows">The runs on this page in order.</param>
public sealed record RunTablePage(long Total, IReadOnlyList<RunTableRow> Rows);

/// <summary>One run in the table.</summary>
/// <param name="Info">The run's attributes.</param>
/// <param name="Metrics">The latest value of each metric.</param>
/// <param name="Params">Each parameter.</param>
public sealed record RunTableRow(RunInfo Info, IReadOnlyDictionary<string, double> Metrics, IReadOnlyDictionary<string, string> Params);

/// <summary>The metric and param keys runs have logged.</summary>
/// <param name="Metrics">Metric keys, sorted.</param>
/// <param name="Params">Param keys, sorted.</param>
public sealed record RunTableKeys(IReadOnlyList<string> Metrics, IReadOnlyList<string> Params);
