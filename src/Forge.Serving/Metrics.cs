using System.Collections.Concurrent;
using System.Globalization;
using System.Text;

namespace Forge.Serving;

/// <summary>
/// A small Prometheus registry written by hand: counters, gauges and histograms with labels, rendered in the text
/// exposition format 0.0.4. Twenty lines of format do not justify a dependency.
/// </summary>
internal sealed class MetricsRegistry
{
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    private readonly List<MetricFamily> _families = [];

    public T Add<T>(T family) where T : MetricFamily
    {
        lock (_families) _families.Add(family);
        return family;
    }

    public string Render()
    {
        var sb = new StringBuilder(4096);
        MetricFamily[] families;
        lock (_families) families = [.. _families];
        foreach (var f in families)
        {
            sb.Append("# HELP ").Append(f.Name).Append(' ').Append(f.Help.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal)).Append('\n');
            sb.Append("# TYPE ").Append(f.Name).Append(' ').Append(f.Type).Append('\n');
            f.Write(sb);
        }
        return sb.ToString();
    }

    internal static string Format(double v) =>
        double.IsPositiveInfinity(v) ? "+Inf" : double.IsNegativeInfinity(v) ? "-Inf" : double.IsNaN(v) ? "NaN" : v.ToString("R", CultureInfo.InvariantCulture);

    internal static void AppendLabels(StringBuilder sb, IReadOnlyList<string> names, IReadOnlyList<string> values, string? extraName = null, string? extraValue = null)
    {
        if (names.Count == 0 && extraName is null) return;
        sb.Append('{');
        for (var i = 0; i < names.Count; i++)
        {
            if (i > 0) sb.Append(',');
            AppendLabel(sb, names[i], values[i]);
        }
        if (extraName is not null)
        {
            if (names.Count > 0) sb.Append(',');
            AppendLabel(sb, extraName, extraValue!);
        }
        sb.Append('}');
    }

    private static void AppendLabel(StringBuilder sb, string name, string value)
    {
        sb.Append(name).Append("=\"");
        foreach (var c in value)
        {
            switch (c)
            {
                case '\\': sb.Append("\\\\"); break;
                case '"': sb.Append("\\\""); break;
                case '\n': sb.Append("\\n"); break;
                default: sb.Append(c); break;
            }
        }
        sb.Append('"');
    }
}

/// <summary>One metric name with its help, type and labelled series.</summary>
internal abstract class MetricFamily(string name, string help, string type, string[] labelNames)
{
    public string Name { get; } = name;

    public string Help { get; } = help;

    public string Type { get; } = type;

    public string[] LabelNames { get; } = labelNames;

    public abstract void Write(StringBuilder sb);

    protected string Key(string[] values)
    {
        if (values.Length != LabelNames.Length)
            throw new ArgumentException($"{Name} takes {LabelNames.Length} label values, got {values.Length}", nameof(values));
        return string.Join('\u0001', values);
    }
}

/// <summary>A monotonically increasing count per label set.</summary>
internal sealed class CounterFamily(string name, string help, params string[] labelNames) : MetricFamily(name, help, "counter", labelNames)
{
    private readonly ConcurrentDictionary<string, (string[] Labels, double[] Value)> _series = new(StringComparer.Ordinal);

    public void Inc(double by, params string[] labels)
    {
        var cell = _series.GetOrAdd(Key(labels), _ => (labels, new double[1])).Value;
        lock (cell) cell[0] += by;
    }

    public double Get(params string[] labels) => _series.TryGetValue(Key(labels), out var s) ? Volatile.Read(ref s.Value[0]) : 0;

    public override void Write(StringBuilder sb)
    {
        foreach (var (labels, value) in _series.Values.OrderBy(s => string.Join('\u0001', s.Labels), StringComparer.Ordinal))
        {
            sb.Append(Name);
            MetricsRegistry.AppendLabels(sb, LabelNames, labels);
            double v;
            lock (value) v = value[0];
            sb.Append(' ').Append(MetricsRegistry.Format(v)).Append('\n');
        }
    }
}

/// <summary>A value that goes up and down, read from a callback at scrape time so it is never stale.</summary>
internal sealed class GaugeFamily(string name, string help, Func<IEnumerable<(string[] Labels, double Value)>> read, params string[] labelNames)
    : MetricFamily(name, help, "gauge", labelNames)
{
    public override void Write(StringBuilder sb)
    {
        foreach (var (labels, value) in read())
        {
            sb.Append(Name);
            MetricsRegistry.AppendLabels(sb, LabelNames, labels);
            sb.Append(' ').Append(MetricsRegistry.Format(value)).Append('\n');
        }
    }
}

/// <summary>Observations counted into cumulative buckets, with their sum and count, per label set.</summary>
internal sealed class HistogramFamily(string name, string help, double[] buckets, params string[] labelNames)
    : MetricFamily(name, help, "histogram", labelNames)
{
    private readonly double[] _bounds = buckets;
    private readonly ConcurrentDictionary<string, Series> _series = new(StringComparer.Ordinal);

    public void Observe(double value, params string[] labels)
    {
        var s = _series.GetOrAdd(Key(labels), _ => new Series(labels, _bounds.Length));
        lock (s)
        {
            var i = Array.FindIndex(_bounds, b => value <= b);
            if (i >= 0) s.Counts[i]++;
            s.Count++;
            s.Sum += value;
        }
    }

    /// <summary>The number of observations of one label set.</summary>
    public long Count(params string[] labels)
    {
        if (!_series.TryGetValue(Key(labels), out var s)) return 0;
        lock (s) return s.Count;
    }

    public override void Write(StringBuilder sb)
    {
        foreach (var s in _series.Values.OrderBy(s => string.Join('\u0001', s.Labels), StringComparer.Ordinal))
        {
            long[] counts;
            long count;
            double sum;
            lock (s)
            {
                counts = [.. s.Counts];
                count = s.Count;
                sum = s.Sum;
            }
            long cumulative = 0;
            for (var i = 0; i < _bounds.Length; i++)
            {
                cumulative += counts[i];
                sb.Append(Name).Append("_bucket");
                MetricsRegistry.AppendLabels(sb, LabelNames, s.Labels, "le", MetricsRegistry.Format(_bounds[i]));
                sb.Append(' ').Append(cumulative.ToString(CultureInfo.InvariantCulture)).Append('\n');
            }
            sb.Append(Name).Append("_bucket");
            MetricsRegistry.AppendLabels(sb, LabelNames, s.Labels, "le", "+Inf");
            sb.Append(' ').Append(count.ToString(CultureInfo.InvariantCulture)).Append('\n');
            sb.Append(Name).Append("_sum");
            MetricsRegistry.AppendLabels(sb, LabelNames, s.Labels);
            sb.Append(' ').Append(MetricsRegistry.Format(sum)).Append('\n');
            sb.Append(Name).Append("_count");
            MetricsRegistry.AppendLabels(sb, LabelNames, s.Labels);
            sb.Append(' ').Append(count.ToString(CultureInfo.InvariantCulture)).Append('\n');
        }
    }

    private sealed class Series(string[] labels, int buckets)
    {
        public string[] Labels { get; } = labels;

        public long[] Counts { get; } = new long[buckets];

        public long Count { get; set; }

        public double Sum { get; set; }
    }
}

/// <summary>The server's own series: what /metrics shows.</summary>
internal sealed class ServerMetrics
{
    private static readonly double[] LatencyBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
    private static readonly double[] BatchBuckets = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];
    private long _inFlight;

    public ServerMetrics()
    {
        IEnumerable<ModelStatus> models() => Models();
        Requests = Registry.Add(new CounterFamily("forge_requests_total", "Prediction and inference requests answered, by model, version and HTTP status.", "model", "version", "status"));
        Latency = Registry.Add(new HistogramFamily("forge_request_duration_seconds", "Time from request received to response written, by model, version and HTTP status.", LatencyBuckets, "model", "version", "status"));
        BatchSize = Registry.Add(new HistogramFamily("forge_batch_size", "Rows in each forward pass of a model; its count is the number of forward passes.", BatchBuckets, "model", "version"));
        ForwardRetries = Registry.Add(new CounterFamily("forge_forward_retries_total",
            "Forward passes that ran rows again after a failed pass: the whole batch once after a native failure, then each row alone when that failed too (or when one row's input was refused).", "model", "version"));
        Predictions = Registry.Add(new CounterFamily("forge_predictions_total", "Rows predicted, by model, version and predicted label.", "model", "version", "label"));
        Reloads = Registry.Add(new CounterFamily("forge_model_reloads_total", "Reloads of a model (alias moved, alias set, or asked for), by result: ok or failed (the old version kept serving).", "model", "result"));
        Routed = Registry.Add(new CounterFamily("forge_routed_requests_total",
            "Prediction requests each version handled, by role (primary, canary, shadow) and result: ok or error; for a shadow agree, disagree (its labels against the answer the client got) or error.",
            "model", "version", "role", "result"));
        Registry.Add(new GaugeFamily("forge_queue_depth", "Requests waiting for a model's inference thread.",
            () => models().Select(m => (new[] { m.Name, m.Version }, (double)m.QueueDepth)), "model", "version"));
        Registry.Add(new GaugeFamily("forge_inflight_requests", "HTTP requests being processed.",
            () => [([], Interlocked.Read(ref _inFlight))]));
        Registry.Add(new GaugeFamily("forge_model_load_seconds", "Seconds to load and warm each model version.",
            () => models().Where(m => m.LoadSeconds is not null).Select(m => (new[] { m.Name, m.Version }, m.LoadSeconds!.Value)), "model", "version"));
        Registry.Add(new GaugeFamily("forge_model_ready", "1 when a model version is loaded and warm, else 0.",
            () => models().Select(m => (new[] { m.Name, m.Version }, m.Ready ? 1.0 : 0.0)), "model", "version"));
    }

    public MetricsRegistry Registry { get; } = new();

    /// <summary>Reads the served models for the gauges; set by the catalog, which is built after the metrics.</summary>
    public Func<IEnumerable<ModelStatus>> Models { get; set; } = () => [];

    public CounterFamily Requests { get; }

    public HistogramFamily Latency { get; }

    public HistogramFamily BatchSize { get; }

    public CounterFamily Predictions { get; }

    public CounterFamily ForwardRetries { get; }

    public CounterFamily Reloads { get; }

    public CounterFamily Routed { get; }

    public void EnterRequest() => Interlocked.Increment(ref _inFlight);

    public void ExitRequest() => Interlocked.Decrement(ref _inFlight);
}

/// <summary>A snapshot of one served model version for gauges.</summary>
internal sealed record ModelStatus(string Name, string Version, bool Ready, int QueueDepth, double? LoadSeconds);
