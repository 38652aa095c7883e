using Forge.Core;
using Forge.Tests.Shared;
using Forge.Tuning;

namespace Forge.Tracking.Tests;

/// <summary>
/// The web UI's runs table on SQLite and PostgreSQL: every page, for every kind of sort, is the documented order (runs with
/// the sorted value by value then run id, the others newest first), filters and counts agree with <see cref="IRunStore.SearchRuns"/>,
/// and deleted runs never show.
/// </summary>
public sealed class RunTableTests
{
    private static List<Run> Seed(ITrackingStore store)
    {
        var ids = new List<string>();
        for (var i = 0; i < 23; i++)
        {
            var run = store.CreateRun(i % 3 == 0 ? "a" : "b", $"run-{(i * 7) % 23:00}");
            ids.Add(run.RunId);
            // Every fourth run has no accuracy, one has NaN (stored as missing); two runs share a value, so ties occur.
            if (i % 4 != 0) store.LogMetrics(run.RunId, [new MetricPoint("accuracy", i == 5 ? double.NaN : i == 9 ? 0.5 : (i % 11) / 10.0, 1, DateTimeOffset.UtcNow)]);
            if (i % 5 != 0) store.LogParams(run.RunId, new Dictionary<string, string> { ["optimizer"] = i % 2 == 0 ? "adam" : "sgd", ["depth"] = $"{i % 6}" });
            store.SetTags(run.RunId, new Dictionary<string, string> { ["t"] = $"{i % 4}" });
            if (i % 7 == 0) store.SetRunStatus(run.RunId, RunStatus.Finished);
        }
        store.DeleteRun(ids[6]);
        return [.. ids.Where(id => id != ids[6]).Select(store.GetRun)];
    }

    private static List<string> ReadAll(ITrackingStore store, string? sort, string? filter = null, string? experiment = null, int size = 4)
    {
        var all = new List<string>();
        for (var page = 0; ; page++)
        {
            var result = RunTable.Query(store, new RunTableRequest { OrderBy = sort, Filter = filter, Experiment = experiment, Page = page, PageSize = size });
            all.AddRange(result.Rows.Select(r => r.Info.RunId));
            if (result.Rows.Count < size) return all;
        }
    }

    private static List<string> Expected(IEnumerable<Run> runs, Func<Run, IComparable?> value, bool descending)
    {
        var valued = runs.Where(r => value(r) is not null).ToList();
        var ordered = descending
            ? valued.OrderByDescending(value).ThenByDescending(r => r.Info.RunId, StringComparer.Ordinal)
            : valued.OrderBy(value).ThenBy(r => r.Info.RunId, StringComparer.Ordinal);
        return [.. ordered.Select(r => r.Info.RunId).Concat(Newest(runs.Where(r => value(r) is null)))];
    }

    private static IEnumerable<string> Newest(IEnumerable<Run> runs) =>
        runs.OrderByDescending(r => r.Info.StartTime).ThenByDescending(r => r.Info.RunId, StringComparer.Ordinal).Select(r => r.Info.RunId);

    private static IComparable? Accuracy(Run r) => r.Metrics.TryGetValue("accuracy", out var m) && !double.IsNaN(m.Value) ? m.Value : null;

    private static IComparable? Optimizer(Run r) => r.Params.TryGetValue("optimizer", out var v) ? new OrdinalString(v) : null;

    /// <summary>Compares as the databases' binary text order does.</summary>
    private sealed record OrdinalString(string Value) : IComparable
    {
        public int CompareTo(object? obj) => string.CompareOrdinal(Value, ((OrdinalString)obj!).Value);
    }

    [Theory, SqliteBackend, PostgresBackend]
    public void Every_page_follows_the_sort_and_the_pages_join_up(string backend)
    {
        using var h = new StoreHarness(backend);
        var runs = Seed(h.Store);
        Assert.Equal([.. Newest(runs)], ReadAll(h.Store, null));
        Assert.Equal([.. Newest(runs)], ReadAll(h.Store, "start_time DESC", size: 5));
        Assert.Equal(Expected(runs, Accuracy, true), ReadAll(h.Store, "metrics.accuracy DESC"));
        Assert.Equal(Expected(runs, Accuracy, false), ReadAll(h.Store, "metrics.accuracy ASC", size: 3));
        Assert.Equal(Expected(runs, Optimizer, false), ReadAll(h.Store, "params.optimizer ASC"));
        Assert.Equal(Expected(runs, Optimizer, true), ReadAll(h.Store, "params.optimizer DESC", size: 7));
        Assert.Equal([.. runs.OrderBy(r => r.Info.Name, StringComparer.Ordinal).ThenBy(r => r.Info.RunId, StringComparer.Ordinal).Select(r => r.Info.RunId)],
            ReadAll(h.Store, "name ASC"));
        // A sort the indexes do not cover (a tag, or two keys) gives the same runs as SearchRuns, in its order.
        var bySearch = h.Store.SearchRuns(new RunQuery { OrderBy = "tags.t DESC, name ASC" }).Runs.Select(r => r.RunId).ToList();
        Assert.Equal(bySearch, ReadAll(h.Store, "tags.t DESC, name ASC"));
    }

    [Theory, SqliteBackend, PostgresBackend]
    public void Filters_and_counts_agree_with_search(string backend)
    {
        using var h = new StoreHarness(backend);
        var runs = Seed(h.Store);
        foreach (var (filter, experiment) in new (string?, string?)[]
        {
            (null, null), ("metrics.accuracy >= 0.5", null), ("params.optimizer = 'adam'", null), ("params.optimizer = 'adam' and metrics.accuracy > 0.1", "b"),
            ("status = 'FINISHED'", null), ("tags.t != '0'", "a"), ("name LIKE 'run-1%'", null),
        })
        {
            var expected = h.Store.SearchRuns(new RunQuery { Filter = filter, Experiments = experiment is null ? [] : [experiment] }).Runs.Select(r => r.RunId).ToHashSet();
            var page = RunTable.Query(h.Store, new RunTableRequest { Filter = filter, Experiment = experiment, PageSize = 500 });
            Assert.Equal(expected.Count, page.Total);
            Assert.Equal(expected, page.Rows.Select(r => r.Info.RunId).ToHashSet());
            foreach (var sort in new[] { "metrics.accuracy DESC", "params.optimizer ASC", "start_time ASC" })
            {
                var sorted = ReadAll(h.Store, sort, filter, experiment, size: 3);
                Assert.Equal(expected.Count, sorted.Count);
                Assert.Equal(expected, sorted.ToHashSet());
            }
        }
        Assert.Equal(runs.Count, RunTable.Query(h.Store, new RunTableRequest()).Total);
    }

    [Theory, SqliteBackend, PostgresBackend]
    public void A_row_has_the_runs_metrics_and_params_and_bad_requests_name_the_problem(string backend)
    {
        using var h = new StoreHarness(backend);
        var runs = Seed(h.Store);
        var top = RunTable.Query(h.Store, new RunTableRequest { OrderBy = "metrics.accuracy DESC", PageSize = 1 }).Rows.Single();
        var run = runs.Single(r => r.Info.RunId == top.Info.RunId);
        Assert.Equal(run.Metrics["accuracy"].Value, top.Metrics["accuracy"]);
        Assert.Equal(run.Params, top.Params);
        Assert.Empty(RunTable.Query(h.Store, new RunTableRequest { Page = 100 }).Rows);
        var keys = RunTable.Keys(h.Store);
        Assert.Equal(["accuracy"], keys.Metrics);
        Assert.Equal(["depth", "optimizer"], keys.Params);

        var bad = Assert.Throws<UsageException>(() => RunTable.Query(h.Store, new RunTableRequest { Page = -1, PageSize = 0 }));
        Assert.Contains("page -1", bad.Message, StringComparison.Ordinal);
        Assert.Contains("page size 0", bad.Message, StringComparison.Ordinal);
        var unknown = Assert.Throws<NotFoundException>(() => RunTable.Query(h.Store, new RunTableRequest { Experiment = "bb" }));
        Assert.Equal("b", unknown.Suggestion);
    }

    [Theory, SqliteBackend, PostgresBackend]
    public void Study_summaries_count_trials_by_state_and_keep_the_best_value(string backend)
    {
        using var h = new StoreHarness(backend);
        using var storage = SqlStudyStorage.Open(h.Uri);
        var min = Study.Create(new StudyOptions { Name = "min", Storage = storage, Sampler = new RandomSampler(1) });
        var values = min.Optimize(t => t.SuggestFloat("x", -1, 1) * t.SuggestFloat("x", -1, 1), 6).Select(t => t.Value!.Value).ToList();
        min.Ask();
        var max = Study.Create(new StudyOptions { Name = "max", Storage = storage, Sampler = new RandomSampler(2), Direction = StudyDirection.Maximize });
        var maxValues = max.Optimize(t => t.SuggestFloat("y", 0, 1), 3).Select(t => t.Value!.Value).ToList();

        var summaries = StudySummaries.List(storage);
        Assert.Equal(["max", "min"], summaries.Select(s => s.Name));
        Assert.Equal((3L, 3L, 0L, maxValues.Max()), (summaries[0].Trials, summaries[0].Complete, summaries[0].Running, summaries[0].Best!.Value));
        Assert.Equal((7L, 6L, 1L, values.Min()), (summaries[1].Trials, summaries[1].Complete, summaries[1].Running, summaries[1].Best!.Value));
        Assert.Equal(StudyDirection.Maximize, summaries[0].Direction);
    }
}
