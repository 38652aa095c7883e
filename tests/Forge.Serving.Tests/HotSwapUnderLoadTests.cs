using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using Forge.Core;
using Forge.Data;
using Forge.DeepLearning;
using Forge.Tests.Shared;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace Forge.Serving.Tests;

/// <summary>The load test owns the machine while it runs: nothing else in this assembly runs beside it.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class HotSwapCollection
{
    public const string Name = "hot-swap-under-load";
}

/// <summary>
/// Hot swap under load: a real Kestrel server on 127.0.0.1 serves <c>digits@champion</c> from a SQLite registry while
/// HttpClient loops drive it; once the load is flowing the alias moves to a second bundle and the alias watcher loads,
/// warms and swaps it in. The test judges behaviour only (no failed request, every later request answered by the new
/// version); its pace is measured by <c>bash bench/run-serving.sh --only hot-swap</c>, never asserted here.
/// </summary>
[Collection(HotSwapCollection.Name)]
public sealed class HotSwapUnderLoadTests(ITestOutputHelper output) : IDisposable
{
    private const int Loops = 8;
    private const int RequestsBeforeMove = 200;
    private const int RequestsAfterSwap = 200;
    // Generous: the loops stop as soon as enough requests met the new version; this bound only ends a hung run.
    private static readonly TimeSpan Deadline = TimeSpan.FromMinutes(3);
    private readonly TempDir _temp = new("forge-serving-hotswap-");

    public void Dispose() => _temp.Dispose();

    [SharedDataFact]
    public async Task A_moved_alias_is_swapped_in_under_load_with_no_failed_request_and_every_later_request_answered_by_the_new_version()
    {
        TorchRuntime.SetThreads(1);
        // The smallest MLP the fixtures train, twice with different seeds: two versions that answer alike, load in a blink.
        var train = MnistFormat.Load(SharedData.Mnist, "train").Take(500);
        var test = MnistFormat.Load(SharedData.Mnist, "test").Take(16);
        string Train(string folder, int seed)
        {
            var directory = _temp.Combine(folder);
            using var model = new ImageClassifierTrainer(ModelSpec.Mlp() with { Hidden = [16] },
                new TrainerOptions { Epochs = 1, BatchSize = 32, Augment = false, Threads = 1, Seed = seed }).Fit(train);
            using var writer = ModelBundle.Create(directory);
            writer.Commit(model.WriteTo(writer, "digits"));
            return directory;
        }
        var registry = new TestRegistry(_temp, "digits").With([Train("v1", 1), Train("v2", 2)], ("champion", 1));
        // Bodies are made once, so the load generator spends its time sending, not formatting; a PNG is a tenth of the JSON numbers.
        var bodies = Enumerable.Range(0, test.Count).Select(i =>
        {
            var png = _temp.Combine($"digit-{i}.png");
            DigitImage.SavePng(test.GetImage(i).ToArray(), 28, 28, png);
            return "{\"instances\": [{\"image_b64\": \"" + Convert.ToBase64String(File.ReadAllBytes(png)) + "\"}]}";
        }).ToArray();

        await using var server = await RunningServer.StartAsync(registry.Options() with { WatchInterval = TimeSpan.FromMilliseconds(200) });
        var catalog = server.App.Services.GetRequiredService<ModelCatalog>();
        long swappedAt = 0;
        string? swappedTo = null;
        catalog.Swapped += (_, _, served) =>
        {
            // Taken after the new version became current: a request that starts later must meet it.
            Interlocked.Exchange(ref swappedAt, Stopwatch.GetTimestamp());
            swappedTo = served.Version;
        };

        var results = new ConcurrentBag<(long Start, HttpStatusCode? Status, string? Version, string? Error)>();
        var completed = 0;
        var afterSwapCount = 0;
        var enoughBeforeMove = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var deadline = new CancellationTokenSource(Deadline);
        var startTicks = Stopwatch.GetTimestamp();
        async Task Loop(int loop)
        {
            for (var k = 0; Volatile.Read(ref afterSwapCount) < RequestsAfterSwap && !deadline.IsCancellationRequested; k++)
            {
                var start = Stopwatch.GetTimestamp();
                try
                {
                    using var content = new StringContent(bodies[(loop + k) % bodies.Length], Encoding.UTF8, "application/json");
                    using var response = await server.Client.PostAsync("/v1/models/digits/predict", content);
                    var body = await response.Content.ReadAsStringAsync();
                    var version = response.Headers.TryGetValues(PredictionService.VersionHeader, out var values) ? values.Single() : null;
                    results.Add((start, response.StatusCode, version, response.IsSuccessStatusCode ? null : body));
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
                {
                    results.Add((start, null, null, e.Message));
                }
                if (Interlocked.Increment(ref completed) == RequestsBeforeMove) enoughBeforeMove.TrySetResult();
                var swap = Interlocked.Read(ref swappedAt);
                if (swap != 0 && start > swap) Interlocked.Increment(ref afterSwapCount);
            }
        }
        long movedAt = 0;
        async Task MoveAliasOnceLoaded()
        {
            await enoughBeforeMove.Task.WaitAsync(deadline.Token);
            Interlocked.Exchange(ref movedAt, Stopwatch.GetTimestamp());
            await Task.Run(() => registry.SetAlias("champion", 2));
        }

        var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var aliasMove = MoveAliasOnceLoaded();
        await Task.WhenAll(Enumerable.Range(0, Loops).Select(Loop));
        await aliasMove;
        var elapsed = Stopwatch.GetElapsedTime(startTicks);
        var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;

        var all = results.ToArray();
        var failed = all.Where(r => r.Status != HttpStatusCode.OK).ToArray();
        var swapTicks = Interlocked.Read(ref swappedAt);
        var afterSwap = swapTicks == 0 ? [] : all.Where(r => r.Start > swapTicks).ToArray();
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{all.Length} requests in {elapsed.TotalSeconds:F2} s ({Loops} loops); failed {failed.Length}; "
            + $"alias moved after {RequestsBeforeMove} requests, swapped in {(swapTicks == 0 ? double.NaN : Stopwatch.GetElapsedTime(Interlocked.Read(ref movedAt), swapTicks).TotalSeconds):F2} s later; "
            + $"{afterSwap.Length} requests started after the swap; CPU (client and server, this process) {cpu.TotalMilliseconds / Math.Max(1, all.Length):F2} ms a request; "
            + $"versions: {string.Join(", ", all.GroupBy(r => r.Version).OrderBy(g => g.Key).Select(g => $"{g.Key ?? "none"} × {g.Count()}"))}"));

        Assert.Empty(failed.Select(f => $"{f.Status?.ToString() ?? "no answer"}: {f.Error}").Take(5));
        Assert.True(swapTicks != 0, $"the watcher never swapped the moved alias in within {Deadline.TotalMinutes} minutes");
        Assert.Equal("2", swappedTo);
        Assert.True(swapTicks > Interlocked.Read(ref movedAt), "the swap came before the alias moved");
        Assert.Contains(all, r => r.Version == "1");
        Assert.True(afterSwap.Length >= RequestsAfterSwap, $"only {afterSwap.Length} requests started after the swap");
        Assert.All(afterSwap, r => Assert.Equal("2", r.Version));
        var metrics = await Versions.MetricsAsync(server);
        Assert.Equal(1, Versions.Metric(metrics, "forge_model_reloads_total{model=\"digits\",result=\"ok\"}"));
        Assert.Equal(0, Versions.Metric(metrics, "forge_model_reloads_total{model=\"digits\",result=\"failed\"}"));
    }
}
