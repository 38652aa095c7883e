using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Forge.Tests.Shared;

namespace Forge.Serving.Tests;

/// <summary>
/// Batch jobs on a model that stalls on demand: progress and early results, cancelling, limits, per-row errors, and
/// what a restarted server does with the jobs its predecessor left (two servers over one jobs directory).
/// </summary>
public sealed class BatchJobLifecycleTests : IDisposable
{
    private readonly TempDir _temp = new("forge-batch-jobs-");
    private readonly List<StallingLoader> _loaders = [];

    private string JobsDir => _temp.Combine("jobs");

    public void Dispose()
    {
        // A stalled inference thread would keep its server from stopping.
        foreach (var loader in _loaders) loader.Open();
        _temp.Dispose();
    }

    private StallingLoader Loader(int permits)
    {
        var loader = new StallingLoader(permits);
        _loaders.Add(loader);
        return loader;
    }

    /// <summary>Chunks of 2 rows, one in flight, forward passes of 2: each chunk is exactly one forward pass.</summary>
    private ServerOptions Options(StallingLoader loader, BatchJobOptions? jobs = null) => new()
    {
        Models = [ModelSource.FromBundle(GatedLoader.WriteBundle(_temp.Combine("gated")))],
        Loaders = ModelLoaderRegistry.CreateDefault().Add(loader),
        Batching = new BatchingOptions { MaxBatchSize = 2, MaxDelayMs = 0 },
        BatchJobs = jobs ?? new BatchJobOptions { Directory = JobsDir, ChunkRows = 2, MaxParallelChunks = 1 },
    };

    private static float X(int i) => i / 10f;

    /// <summary><paramref name="n"/> JSONL instances; row i's first value is i/10, so "yes" has probability i/10.</summary>
    private static string Rows(int n) =>
        string.Concat(Enumerable.Range(0, n).Select(i => string.Create(CultureInfo.InvariantCulture, $"[{X(i)}, 0, 0]\n")));

    private static void AssertRowsAnswered(List<JsonNode> lines, int from, int to)
    {
        for (var i = from; i < to; i++)
        {
            Assert.Equal(i, (int)lines[i]["row"]!);
            Assert.Equal(X(i), (float)lines[i]["probabilities"]!["yes"]!);
            Assert.Equal(1 - X(i), (float)lines[i]["probabilities"]!["no"]!);
            Assert.Equal(X(i) > 0.5f ? "yes" : "no", (string?)lines[i]["label"]);
        }
    }

    [Fact]
    public async Task Progress_is_reported_while_it_runs_and_results_are_409_until_the_job_has_succeeded()
    {
        var loader = Loader(permits: 2);
        await using var server = await RunningServer.StartAsync(Options(loader));
        var id = await BatchJobs.SubmitOkAsync(server, "model=gated", Rows(6));

        // Warm-up, chunk 1 (committed), chunk 2 (stalled in the model).
        for (var i = 0; i < 3; i++) Assert.True(await loader.Entered.WaitAsync(TimeSpan.FromSeconds(30)));
        var running = await BatchJobs.StatusAsync(server, id);
        Assert.Equal("running", (string?)running["status"]);
        Assert.Equal(6, (int)running["rowsTotal"]!);
        Assert.Equal(2, (int)running["rowsDone"]!);
        Assert.NotNull(running["startedAt"]);
        Assert.Null(running["finishedAt"]);
        var early = await server.Client.GetAsync($"/v1/batch-jobs/{id}/results");
        Assert.Equal(HttpStatusCode.Conflict, early.StatusCode);
        Assert.Contains("running (2 of 6 rows done)", await early.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        var (_, list) = await server.GetAsync("/v1/batch-jobs");
        Assert.Contains(id, list!["jobs"]!.AsArray().Select(j => (string?)j!["id"]));

        loader.Open();
        var done = await BatchJobs.WaitFinishedAsync(server, id);
        Assert.Equal("succeeded", (string?)done["status"]);
        Assert.Equal(6, (int)done["rowsDone"]!);
        Assert.Equal(0, (int)done["errors"]!);
        Assert.Equal(1.0, (double)done["progress"]!);
        Assert.Equal(["1"], done["versions"]!.AsArray().Select(v => (string?)v));
        var lines = BatchJobs.JsonLines(await BatchJobs.ResultsAsync(server, id));
        Assert.Equal(6, lines.Count);
        AssertRowsAnswered(lines, 0, 6);
        Assert.All(lines, l => Assert.Equal("1", (string?)l["version"]));
    }

    [Fact]
    public async Task Cancelling_a_running_job_stops_it_and_deleting_it_afterwards_removes_it()
    {
        var loader = Loader(permits: 1);
        await using var server = await RunningServer.StartAsync(Options(loader));
        var id = await BatchJobs.SubmitOkAsync(server, "model=gated", Rows(6));
        for (var i = 0; i < 2; i++) Assert.True(await loader.Entered.WaitAsync(TimeSpan.FromSeconds(30)));

        var cancel = await server.Client.DeleteAsync($"/v1/batch-jobs/{id}");
        Assert.Equal(HttpStatusCode.OK, cancel.StatusCode);
        var cancelled = JsonNode.Parse(await cancel.Content.ReadAsStringAsync())!;
        Assert.Equal("cancelled", (string?)cancelled["status"]);
        Assert.Equal("cancelled by a client", (string?)cancelled["reason"]);
        Assert.Equal(0, (int)cancelled["rowsDone"]!);
        var results = await server.Client.GetAsync($"/v1/batch-jobs/{id}/results");
        Assert.Equal(HttpStatusCode.Conflict, results.StatusCode);
        Assert.Contains("cancelled", await results.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        loader.Open();
        Assert.Equal(HttpStatusCode.NoContent, (await server.Client.DeleteAsync($"/v1/batch-jobs/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await server.GetAsync($"/v1/batch-jobs/{id}")).Response.StatusCode);
        Assert.False(Directory.Exists(Path.Combine(JobsDir, id)));
    }

    [Fact]
    public async Task Bad_requests_are_answered_4xx_naming_the_problem_and_limits_hold()
    {
        var loader = Loader(permits: 1);
        var jobs = new BatchJobOptions { Directory = JobsDir, ChunkRows = 2, MaxParallelChunks = 1, MaxUploadBytes = 2048, MaxUnfinishedJobs = 1 };
        await using var server = await RunningServer.StartAsync(Options(loader, jobs));

        var (unknown, unknownBody) = await BatchJobs.SubmitAsync(server, "model=mnistt", Rows(2));
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal(["gated"], unknownBody!["knownModels"]!.AsArray().Select(m => (string?)m));
        var (version, versionBody) = await BatchJobs.SubmitAsync(server, "model=gated&version=9", Rows(2));
        Assert.Equal(HttpStatusCode.NotFound, version.StatusCode);
        Assert.Equal(["1"], versionBody!["knownVersions"]!.AsArray().Select(m => (string?)m));
        var (noModel, noModelBody) = await BatchJobs.SubmitAsync(server, "", Rows(2));
        Assert.Equal(HttpStatusCode.BadRequest, noModel.StatusCode);
        Assert.Equal("model", (string?)noModelBody!["field"]);
        var (badName, _) = await BatchJobs.SubmitAsync(server, "model=..%2Fetc", Rows(2));
        Assert.Equal(HttpStatusCode.BadRequest, badName.StatusCode);
        var (format, formatBody) = await BatchJobs.SubmitAsync(server, "model=gated&format=parquet", Rows(2));
        Assert.Equal(HttpStatusCode.BadRequest, format.StatusCode);
        Assert.Equal("format", (string?)formatBody!["field"]);
        var (fraction, fractionBody) = await BatchJobs.SubmitAsync(server, "model=gated&maxErrorFraction=1.5", Rows(2));
        Assert.Equal(HttpStatusCode.BadRequest, fraction.StatusCode);
        Assert.Equal("maxErrorFraction", (string?)fractionBody!["field"]);
        var (empty, emptyBody) = await BatchJobs.SubmitAsync(server, "model=gated", "\n\n");
        Assert.Equal(HttpStatusCode.BadRequest, empty.StatusCode);
        Assert.Contains("no instances", (string?)emptyBody!["detail"], StringComparison.Ordinal);
        var (duplicate, duplicateBody) = await BatchJobs.SubmitAsync(server, "model=gated", "x,x\n1,2\n", "text/csv");
        Assert.Equal(HttpStatusCode.BadRequest, duplicate.StatusCode);
        Assert.Contains("names column 'x' twice", (string?)duplicateBody!["detail"], StringComparison.Ordinal);
        var (headerOnly, _) = await BatchJobs.SubmitAsync(server, "model=gated&format=csv", "values\n");
        Assert.Equal(HttpStatusCode.BadRequest, headerOnly.StatusCode);

        // Over the upload limit: refused from Content-Length, and also when the length is not announced (chunked).
        var (large, largeBody) = await BatchJobs.SubmitAsync(server, "model=gated", Rows(300));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, large.StatusCode);
        Assert.Contains("batch limit", (string?)largeBody!["detail"], StringComparison.Ordinal);
        // Without a length the server reads up to the limit, answers 413 and stops reading: a client still writing may see
        // the connection close instead of the answer. Either way the server answers the next request and counts the refusal.
        var refusedBefore = Refused413(await MetricsTextAsync(server));
        using (var chunked = new StreamContent(new UnknownLengthStream(Encoding.UTF8.GetBytes(Rows(300)))))
        {
            try
            {
                var response = await server.Client.PostAsync("/v1/batch-jobs?model=gated", chunked);
                Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
            }
            catch (HttpRequestException e) when (e.GetBaseException() is IOException or System.Net.Sockets.SocketException)
            {
                // The connection closed once the limit was passed: the other accepted outcome.
            }
        }
        Assert.Equal(HttpStatusCode.OK, (await server.GetAsync("/v1/batch-jobs")).Response.StatusCode);
        Assert.Equal(refusedBefore + 1, Refused413(await MetricsTextAsync(server)));
        // Nothing refused left a job or an upload behind.
        Assert.Empty((await server.GetAsync("/v1/batch-jobs")).Body!["jobs"]!.AsArray());
        Assert.Empty(Directory.Exists(JobsDir) ? Directory.GetDirectories(JobsDir) : []);

        var first = await BatchJobs.SubmitOkAsync(server, "model=gated", Rows(4));
        var (busy, _) = await BatchJobs.SubmitAsync(server, "model=gated", Rows(4));
        Assert.Equal(HttpStatusCode.TooManyRequests, busy.StatusCode);
        Assert.NotNull(busy.Headers.RetryAfter);
        Assert.Equal(HttpStatusCode.NotFound, (await server.GetAsync("/v1/batch-jobs/no-such-job")).Response.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await server.GetAsync("/v1/batch-jobs/..%2F..%2Fetc")).Response.StatusCode);
        loader.Open();
        Assert.Equal("succeeded", (string?)(await BatchJobs.WaitFinishedAsync(server, first))["status"]);
        Assert.Equal(HttpStatusCode.Accepted, (await BatchJobs.SubmitAsync(server, "model=gated", Rows(4))).Response.StatusCode);
    }

    [Fact]
    public async Task Rows_that_fail_validation_get_error_records_and_too_many_of_them_fail_the_job()
    {
        var loader = Loader(permits: 0);
        loader.Open();
        var jobs = new BatchJobOptions { Directory = JobsDir, ChunkRows = 3, MaxParallelChunks = 2, MaxRowBytes = 200 };
        await using var server = await RunningServer.StartAsync(Options(loader, jobs));
        var input = "[0.0, 0, 0]\n[2, 0, 0]\n{not json\n[0.5, 0]\n[0.4, 0, 0]\n[0.1, 0, 0" + new string(' ', 300) + "]\n[0.6, 0, 0]\n";

        var id = await BatchJobs.SubmitOkAsync(server, "model=gated&maxErrorFraction=0.6", input);
        var done = await BatchJobs.WaitFinishedAsync(server, id);
        Assert.Equal("succeeded", (string?)done["status"]);
        Assert.Equal(7, (int)done["rowsDone"]!);
        Assert.Equal(4, (int)done["errors"]!);
        var lines = BatchJobs.JsonLines(await BatchJobs.ResultsAsync(server, id));
        Assert.Equal(Enumerable.Range(0, 7), lines.Select(l => (int)l["row"]!));
        Assert.Equal([false, true, true, true, false, true, false], lines.Select(l => l["error"] is not null));
        Assert.Contains("rows[1]: value 0 is 2, outside the range [0, 1]", (string?)lines[1]["error"], StringComparison.Ordinal);
        Assert.StartsWith("rows[2]: not valid JSON", (string?)lines[2]["error"], StringComparison.Ordinal);
        Assert.Contains("rows[3]: shape [2] does not fit", (string?)lines[3]["error"], StringComparison.Ordinal);
        Assert.Contains("longer than the server's row limit of 200 bytes", (string?)lines[5]["error"], StringComparison.Ordinal);
        Assert.Equal("rows[1]", (string?)lines[1]["field"]);
        Assert.Equal(0.4f, (float)lines[4]["probabilities"]!["yes"]!);
        Assert.Equal(0.6f, (float)lines[6]["probabilities"]!["yes"]!);
        Assert.Equal((string?)lines[1]["error"], (string?)done["firstError"]);

        var strict = await BatchJobs.SubmitOkAsync(server, "model=gated&maxErrorFraction=0.1", input);
        var failed = await BatchJobs.WaitFinishedAsync(server, strict);
        Assert.Equal("failed", (string?)failed["status"]);
        Assert.Contains("rows failed validation, more than the 0.1 allowed", (string?)failed["reason"], StringComparison.Ordinal);
        var results = await server.Client.GetAsync($"/v1/batch-jobs/{strict}/results");
        Assert.Equal(HttpStatusCode.Conflict, results.StatusCode);
        Assert.Contains("failed", await results.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_job_interrupted_by_a_stop_is_resumed_by_the_next_server_over_the_same_directory_and_never_run_twice()
    {
        var first = Loader(permits: 3);
        var a = await RunningServer.StartAsync(Options(first));
        Task? stopping = null;
        string id;
        try
        {
            id = await BatchJobs.SubmitOkAsync(a, "model=gated", Rows(10));
            // Warm-up, chunks 1 and 2 (committed), chunk 3 stalled.
            for (var i = 0; i < 4; i++) Assert.True(await first.Entered.WaitAsync(TimeSpan.FromSeconds(30)));

            // A second server over the same directory sees the job but leaves it to the server holding it.
            var other = Loader(permits: 0);
            other.Open();
            await using (var b = await RunningServer.StartAsync(Options(other)))
            {
                var seen = await BatchJobs.StatusAsync(b, id);
                Assert.Equal("running", (string?)seen["status"]);
                Assert.Equal(4, (int)seen["rowsDone"]!);
                Assert.Equal(HttpStatusCode.Conflict, (await b.Client.DeleteAsync($"/v1/batch-jobs/{id}")).StatusCode);
            }
            Assert.Equal(1, other.Rows);

            stopping = Task.Run(async () => await a.DisposeAsync());
            var statePath = Path.Combine(JobsDir, id, "state.json");
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            while (!File.ReadAllText(statePath).Contains("interrupted", StringComparison.Ordinal))
            {
                Assert.True(DateTime.UtcNow < deadline, "the stopping server never recorded the interruption");
                await Task.Delay(20);
            }
            var onDisk = JsonNode.Parse(File.ReadAllText(statePath))!;
            Assert.Equal("queued", (string?)onDisk["status"]);
            Assert.Equal(4, (int)onDisk["rowsDone"]!);
            first.Open();
            await stopping;
        }
        finally
        {
            first.Open();
            await (stopping ?? a.DisposeAsync().AsTask());
        }

        var next = Loader(permits: 0);
        next.Open();
        await using var c = await RunningServer.StartAsync(Options(next));
        var done = await BatchJobs.WaitFinishedAsync(c, id);
        Assert.Equal("succeeded", (string?)done["status"]);
        Assert.Equal(1, (int)done["resumes"]!);
        Assert.Equal("resumed after a server restart from row 4 of 10", (string?)done["note"]);
        // The restarted server predicted only the rows not committed before: the warm-up and rows 4–9.
        Assert.Equal(1 + 6, next.Rows);
        var lines = BatchJobs.JsonLines(await BatchJobs.ResultsAsync(c, id));
        Assert.Equal(10, lines.Count);
        AssertRowsAnswered(lines, 0, 10);
    }

    [Fact]
    public async Task A_job_left_running_by_a_crashed_server_resumes_after_its_last_committed_chunk()
    {
        const string id = "20260101-000000-00aa11bb22";
        var dir = Directory.CreateDirectory(Path.Combine(JobsDir, id)).FullName;
        await File.WriteAllTextAsync(Path.Combine(dir, "input.jsonl"), Rows(6));
        // Two committed rows (marked "old" to show they are kept, not redone), then half a row the crash cut short.
        var committed = "{\"row\":0,\"label\":\"no\",\"probabilities\":{\"no\":1,\"yes\":0},\"version\":\"old\"}\n"
            + "{\"row\":1,\"label\":\"no\",\"probabilities\":{\"no\":0.9,\"yes\":0.1},\"version\":\"old\"}\n";
        await File.WriteAllTextAsync(Path.Combine(dir, "results.jsonl"), committed + "{\"row\":2,\"lab");
        BatchJobStore.WriteState(dir, new BatchJobState
        {
            Id = id, Model = "gated", Format = "jsonl", Status = BatchJobStatus.Running, CreatedAt = DateTimeOffset.UtcNow,
            StartedAt = DateTimeOffset.UtcNow, RowsTotal = 6, RowsDone = 2, ResultsBytes = Encoding.UTF8.GetByteCount(committed), MaxErrorFraction = 0.1,
        });
        // An upload the crash interrupted: no client has its id, so it is removed.
        Directory.CreateDirectory(Path.Combine(JobsDir, ".incoming-20260101-000001-ffff"));
        // A running job of a model this server does not serve cannot resume: it fails, with the reason.
        var orphan = Directory.CreateDirectory(Path.Combine(JobsDir, "20260101-000002-00cc")).FullName;
        await File.WriteAllTextAsync(Path.Combine(orphan, "input.jsonl"), Rows(2));
        BatchJobStore.WriteState(orphan, new BatchJobState
        {
            Id = "20260101-000002-00cc", Model = "gone", Format = "jsonl", Status = BatchJobStatus.Running, CreatedAt = DateTimeOffset.UtcNow, RowsTotal = 2,
        });

        var loader = Loader(permits: 0);
        loader.Open();
        await using var server = await RunningServer.StartAsync(Options(loader));
        var done = await BatchJobs.WaitFinishedAsync(server, id);
        Assert.Equal("succeeded", (string?)done["status"]);
        Assert.Equal(6, (int)done["rowsDone"]!);
        Assert.Equal(1 + 4, loader.Rows);
        var lines = BatchJobs.JsonLines(await BatchJobs.ResultsAsync(server, id));
        Assert.Equal(Enumerable.Range(0, 6), lines.Select(l => (int)l["row"]!));
        Assert.Equal(["old", "old", "1", "1", "1", "1"], lines.Select(l => (string?)l["version"]));
        AssertRowsAnswered(lines, 2, 6);

        var failed = await BatchJobs.WaitFinishedAsync(server, "20260101-000002-00cc");
        Assert.Equal("failed", (string?)failed["status"]);
        Assert.Equal("server restarted mid-job; this server does not serve model 'gone'", (string?)failed["reason"]);
        Assert.False(Directory.Exists(Path.Combine(JobsDir, ".incoming-20260101-000001-ffff")));
        Assert.Equal(2, (await server.GetAsync("/v1/batch-jobs")).Body!["jobs"]!.AsArray().Count);
    }

    /// <summary>A body whose length HttpClient cannot know, so it is sent chunked.</summary>
    private static async Task<string> MetricsTextAsync(RunningServer server) => await server.Client.GetStringAsync("/metrics");

    // forge_requests_total{model="gated",version="1",status="413"}: the batch-job uploads refused for their size.
    private static double Refused413(string metrics) =>
        metrics.Split('\n').Where(l => l.StartsWith("forge_requests_total{", StringComparison.Ordinal) && l.Contains("model=\"gated\"", StringComparison.Ordinal)
                && l.Contains("status=\"413\"", StringComparison.Ordinal))
            .Sum(l => double.Parse(l[(l.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture));

    private sealed class UnknownLengthStream(byte[] data) : MemoryStream(data)
    {
        public override bool CanSeek => false;
    }
}
