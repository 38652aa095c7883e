using System.Diagnostics.Metrics;
using Prometheus;

namespace Forge.Serving;

/// <summary>
/// The server's Prometheus metrics, kept in a registry of its own (so two servers in one process never mix their series)
/// with prometheus-net: Forge's <c>forge_*</c> series, .NET runtime and process statistics, and the ASP.NET Core meters
/// (<c>http_server_*</c>, <c>kestrel_*</c>) of this server's host.
/// </summary>
internal sealed class ServerMetrics : IDisposable
{
    private static readonly double[] LatencyBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
    private static readonly double[] BatchBuckets = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];
    private readonly List<Action> _beforeScrape = [];
    private readonly Gauge _inFlightGauge;
    private IDisposable? _meters;
    private long _inFlight;

    public ServerMetrics()
    {
        Registry = Prometheus.Metrics.NewCustomRegistry();
        var factory = Prometheus.Metrics.WithCustomRegistry(Registry);
        Factory = factory;
        Requests = factory.CreateCounter("forge_requests_total", "Prediction and inference requests answered, by model, version and HTTP status.", "model", "version", "status");
        Latency = factory.CreateHistogram("forge_request_duration_seconds", "Time from request received to response written, by model, version and HTTP status.",
            new HistogramConfiguration { LabelNames = ["model", "version", "status"], Buckets = LatencyBuckets });
        BatchSize = factory.CreateHistogram("forge_batch_size", "Rows in each forward pass of a model; its count is the number of forward passes.",
            new HistogramConfiguration { LabelNames = ["model", "version"], Buckets = BatchBuckets });
        ForwardRetries = factory.CreateCounter("forge_forward_retries_total",
            "Forward passes that ran rows again after a failed pass: the whole batch once after a native failure, then each row alone when that failed too (or when one row's input was refused).",
            "model", "version");
        Predictions = factory.CreateCounter("forge_predictions_total", "Rows predicted, by model, version and predicted label.", "model", "version", "label");
        UnseenCategories = factory.CreateCounter("forge_unseen_categories_total",
            "Categorical values a tabular model had not seen in training, answered as no category, by model, version and column.", "model", "version", "column");
        Reloads = factory.CreateCounter("forge_model_reloads_total", "Reloads of a model (alias moved, alias set, or asked for), by result: ok or failed (the old version kept serving).", "model", "result");
        Routed = factory.CreateCounter("forge_routed_requests_total",
            "Prediction requests each version handled, by role (primary, canary, shadow) and result: ok or error; for a shadow agree, disagree (its labels against the answer the client got) or error.",
            "model", "version", "role", "result");
        var queue = factory.CreateGauge("forge_queue_depth", "Requests waiting for a model's inference thread.", "model", "version");
        _inFlightGauge = factory.CreateGauge("forge_inflight_requests", "HTTP requests being processed.");
        var load = factory.CreateGauge("forge_model_load_seconds", "Seconds to load and warm each model version.", "model", "version");
        var ready = factory.CreateGauge("forge_model_ready", "1 when a model version is loaded and warm, else 0.", "model", "version");
        OnScrape(() => _inFlightGauge.Set(Interlocked.Read(ref _inFlight)));
        ScrapeGauge(queue, () => Models().Select(m => (new[] { m.Name, m.Version }, (double)m.QueueDepth)));
        ScrapeGauge(load, () => Models().Where(m => m.LoadSeconds is not null).Select(m => (new[] { m.Name, m.Version }, m.LoadSeconds!.Value)));
        ScrapeGauge(ready, () => Models().Select(m => (new[] { m.Name, m.Version }, m.Ready ? 1.0 : 0.0)));
        Registry.AddBeforeCollectCallback(() =>
        {
            Action[] callbacks;
            lock (_beforeScrape) callbacks = [.. _beforeScrape];
            foreach (var callback in callbacks) callback();
        });
        DotNetStats.Register(Registry);
    }

    /// <summary>The registry <c>/metrics</c> exports.</summary>
    public CollectorRegistry Registry { get; }

    /// <summary>Creates more series in <see cref="Registry"/> (batch jobs, drift).</summary>
    public IMetricFactory Factory { get; }

    /// <summary>Reads the served models for the gauges; set by the catalog, which is built after the metrics.</summary>
    public Func<IEnumerable<ModelStatus>> Models { get; set; } = () => [];

    public Counter Requests { get; }

    public Histogram Latency { get; }

    public Histogram BatchSize { get; }

    public Counter ForwardRetries { get; }

    public Counter Predictions { get; }

    public Counter Reloads { get; }

    public Counter UnseenCategories { get; }

    public Counter Routed { get; }

    public void EnterRequest() => Interlocked.Increment(ref _inFlight);

    public void ExitRequest() => Interlocked.Decrement(ref _inFlight);

    /// <summary>Runs <paramref name="update"/> before every scrape, for values read rather than counted.</summary>
    public void OnScrape(Action update)
    {
        lock (_beforeScrape) _beforeScrape.Add(update);
    }

    /// <summary>A gauge whose series are read at scrape time; a series no longer read (an unloaded version) is removed.</summary>
    public void ScrapeGauge(Gauge gauge, Func<IEnumerable<(string[] Labels, double Value)>> read)
    {
        ArgumentNullException.ThrowIfNull(gauge);
        var previous = new HashSet<string>(StringComparer.Ordinal);
        OnScrape(() =>
        {
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var (labels, value) in read())
            {
                gauge.WithLabels(labels).Set(value);
                seen.Add(string.Join('\u0001', labels));
            }
            foreach (var gone in previous.Where(k => !seen.Contains(k))) gauge.RemoveLabelled(gone.Split('\u0001'));
            previous = seen;
        });
    }

    /// <summary>Exports the ASP.NET Core and Kestrel meters created by this host's meter factory (not another server's in the same process).</summary>
    public void ListenToHostMeters(IMeterFactory hostMeters)
    {
        _meters?.Dispose();
        _meters = MeterAdapter.StartListening(new MeterAdapterOptions
        {
            Registry = Registry,
            InstrumentFilterPredicate = i => ReferenceEquals(i.Meter.Scope, hostMeters)
                && (i.Meter.Name.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal) || i.Meter.Name.StartsWith("System.Net", StringComparison.Ordinal)),
        });
    }

    public void Dispose() => _meters?.Dispose();
}

/// <summary>A snapshot of one served model version for gauges.</summary>
internal sealed record ModelStatus(string Name, string Version, bool Ready, int QueueDepth, double? LoadSeconds);
