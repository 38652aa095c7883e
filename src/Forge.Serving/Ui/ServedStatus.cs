using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json.Nodes;

namespace Forge.Serving.Ui;

/// <summary>
/// Each served version's live state for the Models page: load state, role, requests per second and mean latency over
/// about the last minute. The rates come from the same Prometheus counters <c>/metrics</c> exports, sampled whenever the
/// page asks; before there are two samples a minute apart, the rate is over the time since the server started.
/// </summary>
internal sealed class ServedStatus(ModelCatalog catalog, ServerMetrics metrics, TrafficRouter router)
{
    private static readonly TimeSpan Span = TimeSpan.FromSeconds(60);
    private readonly long _started = Stopwatch.GetTimestamp();
    private readonly ConcurrentDictionary<string, Queue<Sample>> _samples = new(StringComparer.Ordinal);

    private readonly record struct Sample(long At, double Requests, double Errors, double LatencySum, double LatencyCount);

    public JsonArray Read()
    {
        var result = new JsonArray();
        var requestLabels = metrics.Requests.GetAllLabelValues().ToArray();
        var latencyLabels = metrics.Latency.GetAllLabelValues().ToArray();
        foreach (var e in catalog.Entries)
        {
            double requests = 0, errors = 0, sum = 0, count = 0;
            foreach (var l in requestLabels.Where(l => l[0] == e.Name && l[1] == e.Version))
            {
                var v = metrics.Requests.WithLabels(l).Value;
                requests += v;
                if (!l[2].StartsWith('2')) errors += v;
            }
            foreach (var l in latencyLabels.Where(l => l[0] == e.Name && l[1] == e.Version))
            {
                var h = metrics.Latency.WithLabels(l);
                sum += h.Sum;
                count += h.Count;
            }
            var now = new Sample(Stopwatch.GetTimestamp(), requests, errors, sum, count);
            var queue = _samples.GetOrAdd(e.Name + "\u0001" + e.Version, _ => new Queue<Sample>());
            Sample baseline;
            lock (queue)
            {
                while (queue.Count > 0 && Stopwatch.GetElapsedTime(queue.Peek().At) > Span) queue.Dequeue();
                baseline = queue.Count > 0 && Stopwatch.GetElapsedTime(queue.Peek().At) >= TimeSpan.FromSeconds(1)
                    ? queue.Peek() : new Sample(_started, 0, 0, 0, 0);
                queue.Enqueue(now);
            }
            var seconds = Stopwatch.GetElapsedTime(baseline.At, now.At).TotalSeconds;
            var dCount = now.LatencyCount - baseline.LatencyCount;
            var current = e.Current;
            var (role, share) = router.Describe(e);
            result.Add(new JsonObject
            {
                ["name"] = e.Name,
                ["version"] = e.Version,
                ["role"] = role,
                ["trafficPercent"] = share,
                ["state"] = e.State.ToString().ToLowerInvariant(),
                ["error"] = e.Error,
                ["flavor"] = (current?.Resolved ?? e.Resolved).Bundle.Manifest.Flavor,
                ["source"] = (current?.Resolved ?? e.Resolved).Origin,
                ["loadSeconds"] = UiJson.Num(current?.LoadSeconds),
                ["requests"] = requests,
                ["errors"] = errors,
                ["ratePerSecond"] = UiJson.Num(seconds > 0 ? (now.Requests - baseline.Requests) / seconds : null),
                ["meanLatencyMs"] = UiJson.Num(dCount > 0 ? (now.LatencySum - baseline.LatencySum) / dCount * 1000 : count > 0 ? sum / count * 1000 : null),
                ["windowSeconds"] = UiJson.Num(seconds),
                ["queueDepth"] = current?.Batcher.QueueDepth ?? 0,
            });
        }
        return result;
    }
}

/// <summary>
/// The drift share of every drift evaluation of each served version, for the Drift page's timeline. The monitors keep only
/// their latest result, so this polls them each second and keeps each new one (the last 500 per version); evaluations
/// less than a second apart show as the later one.
/// </summary>
internal sealed class DriftTimeline : IDisposable
{
    private const int Keep = 500;
    private readonly ModelMonitors _monitors;
    private readonly ConcurrentDictionary<string, List<JsonObject>> _points = new(StringComparer.Ordinal);
    private readonly Timer _timer;

    public DriftTimeline(ModelMonitors monitors)
    {
        _monitors = monitors;
        _timer = new Timer(_ => Poll(), null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
    }

    /// <summary>Takes any new evaluation now (also called before the timeline is read, so a page sees the latest).</summary>
    public void Poll()
    {
        try
        {
            foreach (var m in _monitors.Current())
            {
                if (m.Monitor.Snapshot().Latest is not { } r) continue;
                var list = _points.GetOrAdd(m.Name + "\u0001" + m.Version, _ => []);
                lock (list)
                {
                    if (list.Count > 0 && list[^1]["at"]!.GetValue<DateTimeOffset>() == r.ComputedAt) continue;
                    list.Add(new JsonObject
                    {
                        ["at"] = r.ComputedAt,
                        ["driftShare"] = UiJson.Num(r.DriftShare),
                        ["threshold"] = UiJson.Num(r.DriftShareThreshold),
                        ["datasetDrift"] = r.DatasetDrift,
                        ["drifted"] = r.DriftedColumns,
                        ["columns"] = r.Columns.Count,
                    });
                    if (list.Count > Keep) list.RemoveAt(0);
                }
            }
        }
        catch (Exception e) when (e is InvalidOperationException or ObjectDisposedException)
        {
            // A model swapped or the server stopping between two looks: the next tick reads the new state.
        }
    }

    public JsonArray Read(string name, string version)
    {
        Poll();
        if (!_points.TryGetValue(name + "\u0001" + version, out var list)) return [];
        lock (list) return new JsonArray([.. list.Select(p => (JsonNode)p.DeepClone())]);
    }

    public void Dispose() => _timer.Dispose();
}
