using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Http.Json;
using System.Runtime.CompilerServices;
using Forge.Core;
using Forge.Monitoring;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Prometheus;

namespace Forge.Serving;

/// <summary>
/// Live monitoring of every served version that carries a reference profile: served inputs and predictions go into its
/// <see cref="DriftMonitor"/>'s rolling window, predictions are remembered by request id for feedback, and the state is
/// exported as Prometheus gauges. A failure here is logged and counted; it never fails the prediction request.
/// </summary>
internal sealed class ModelMonitors : IDisposable
{
    private readonly ConditionalWeakTable<ServedModel, Holder> _monitors = new();
    private readonly ConcurrentDictionary<string, PendingPrediction> _pending = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _pendingOrder = new();
    private readonly DriftServingOptions _options;
    private readonly ModelCatalog _catalog;
    private readonly ILogger _logger;
    private readonly HttpClient _webhook;
    private readonly Counter _feedback;
    private readonly Counter _webhookCalls;
    private readonly Counter _events;
    private readonly Counter _errors;
    private long _errorCount;

    public ModelMonitors(ServerOptions options, ModelCatalog catalog, ServerMetrics metrics, ILogger<ModelMonitors> logger)
    {
        _options = options.Drift ?? new DriftServingOptions();
        _catalog = catalog;
        _logger = logger;
        _webhook = new HttpClient { Timeout = _options.WebhookTimeout };
        var f = metrics.Factory;
        _feedback = NewCounter(f, "forge_feedback_total", "Feedback (true labels or values) received, by model, version and result: ok, unknown_request, bad_label, duplicate.", "model", "version", "result");
        _webhookCalls = NewCounter(f, "forge_drift_webhook_total", "Drift webhook calls, by result: ok or failed (an error answer, a timeout or no connection).", "result");
        _events = NewCounter(f, "forge_drift_events_total", "Drift that began, by model, version and kind: dataset, prediction or concept.", "model", "version", "kind");
        _errors = NewCounter(f, "forge_drift_errors_total", "Served batches monitoring could not take (e.g. columns unlike the reference's); the predictions were answered.", "model", "version");
        var featureScore = NewGauge(f, "forge_feature_drift_score",
            "Per column, the number its drift test compares with the threshold: the p-value (ks, chisquare, z; drift when low) or the distance (wasserstein, jensenshannon, psi; drift when high).",
            "model", "version", "feature");
        var featureDrifted = NewGauge(f, "forge_feature_drifted", "1 when the column drifted in the latest comparison with the reference, else 0.", "model", "version", "feature");
        var share = NewGauge(f, "forge_dataset_drift_share", "Share of the feature columns that drifted in the latest comparison with the reference.", "model", "version");
        var dataset = NewGauge(f, "forge_dataset_drift", "1 when the drift share reached its threshold in the latest comparison, else 0.", "model", "version");
        var concept = NewGauge(f, "forge_concept_drift_state",
            "Concept-drift detector state on the error stream of labelled feedback: 0 stable, 1 warning, 2 drift (held for a feedback window after a detection).",
            "model", "version", "detector");
        var estimated = NewGauge(f, "forge_estimated_accuracy", "Confidence-based (CBPE) estimate of accuracy over the latest predictions (classifiers; no labels needed): calibrated when forge_estimated_accuracy_calibrated is 1.", "model", "version");
        var accuracy = NewGauge(f, "forge_feedback_accuracy", "Accuracy over the latest labelled predictions (classifiers).", "model", "version");
        var f1 = NewGauge(f, "forge_feedback_macro_f1", "Macro F1 over the latest labelled predictions (classifiers).", "model", "version");
        var mae = NewGauge(f, "forge_feedback_mae", "Mean absolute error over the latest predictions given their true value (regressions).", "model", "version");
        var rmse = NewGauge(f, "forge_feedback_rmse", "Root mean squared error over the latest predictions given their true value (regressions).", "model", "version");
        var calibrated = NewGauge(f, "forge_estimated_accuracy_calibrated",
            "1 when forge_estimated_accuracy uses the bundle's CBPE recalibration (fitted on held-out rows at training time), 0 when it is the model's own mean confidence.", "model", "version");
        var window = NewGauge(f, "forge_drift_window_rows", "Served rows in the rolling drift window.", "model", "version");
        metrics.ScrapeGauge(featureScore, () => Each((m, s) => s.Latest?.Columns.Concat(s.Latest.Predictions).Select(c => (L(m, c.Name), c.Score)) ?? []));
        metrics.ScrapeGauge(featureDrifted, () => Each((m, s) => s.Latest?.Columns.Concat(s.Latest.Predictions).Select(c => (L(m, c.Name), c.Drifted ? 1.0 : 0)) ?? []));
        metrics.ScrapeGauge(share, () => Each((m, s) => s.Latest is { } r ? [(L(m), r.DriftShare)] : []));
        metrics.ScrapeGauge(dataset, () => Each((m, s) => s.Latest is { } r ? [(L(m), r.DatasetDrift ? 1.0 : 0)] : []));
        metrics.ScrapeGauge(concept, () => Each((m, s) => s.Detectors.Select(d => (L(m, d.Name), (double)m.HeldState(d)))));
        metrics.ScrapeGauge(estimated, () => Each((m, s) => s.EstimatedAccuracy is { } v ? [(L(m), v)] : []));
        metrics.ScrapeGauge(calibrated, () => Each((m, _) => m.Estimator is { } e ? [(L(m), e == "calibrated" ? 1.0 : 0)] : []));
        metrics.ScrapeGauge(accuracy, () => Each((m, s) => s.Accuracy is { } v && !m.Regression ? [(L(m), v)] : []));
        metrics.ScrapeGauge(f1, () => Each((m, s) => s.MacroF1 is { } v && !m.Regression ? [(L(m), v)] : []));
        metrics.ScrapeGauge(mae, () => Each((m, _) => m.Errors.Mae is { } v ? [(L(m), v)] : []));
        metrics.ScrapeGauge(rmse, () => Each((m, _) => m.Errors.Rmse is { } v ? [(L(m), v)] : []));
        metrics.ScrapeGauge(window, () => Each((m, s) => [(L(m), (double)s.WindowRows)]));
    }

    public DriftServingOptions Options => _options;

    /// <summary>The monitor of a served version; null when monitoring is off or the bundle has no profile.</summary>
    public MonitoredModel? For(ServedModel served) =>
        _options.Enabled ? _monitors.GetValue(served, s => new Holder(Create(s))).Monitor : null;

    /// <summary>Every served version's monitor (current versions only).</summary>
    public IEnumerable<MonitoredModel> Current() =>
        _catalog.Entries.Select(e => e.Current).OfType<ServedModel>().Select(For).OfType<MonitoredModel>();

    /// <summary>Takes one answered request: its rows into the window, its predictions remembered under the request id.</summary>
    public void Observe(HttpContext context, ServedModel served, Table rows, Prediction prediction)
    {
        MonitoredModel? monitored = null;
        try
        {
            monitored = For(served);
            if (monitored is null) return;
            Remember(context.TraceIdentifier, monitored, prediction);
            monitored.Monitor.Observe(ModelColumns.From(rows, prediction, mapping: monitored.Mapping));
            if (prediction.Probabilities is { } p)
                monitored.Monitor.ObserveProbabilities([.. p.Select(row => row.Select(x => (double)x).ToArray())]);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _errors.WithLabels(served.Name, served.Version).Inc(1);
            // Logged at 1, 2, 4, 8, … failures: a monitoring problem shows without flooding the log.
            var count = Interlocked.Increment(ref _errorCount);
            if ((count & (count - 1)) == 0)
                _logger.LogWarning("drift monitoring of {Model} version {Version} could not take a request ({Count} so far): {Error}", served.Name, served.Version, count, e.Message);
        }
    }

    /// <summary>Recomputes drift where it is due by time (a timer calls this; traffic triggers the row-count schedule itself).</summary>
    public void EvaluateDue()
    {
        foreach (var m in Current())
        {
            try
            {
                m.Monitor.EvaluateIfDue();
            }
            catch (ForgeException e)
            {
                _logger.LogWarning("drift of {Model} version {Version} could not be computed: {Error}", m.Name, m.Version, e.Message);
            }
        }
    }

    /// <summary>The prediction remembered under a request id, or why there is none.</summary>
    public (PendingPrediction? Pending, ApiError? Error) FindPending(string name, string requestId)
    {
        if (!_pending.TryGetValue(requestId, out var pending))
        {
            _feedback.WithLabels(name, "", "unknown_request").Inc(1);
            return (null, new ApiError(404, "Unknown request id", string.Create(CultureInfo.InvariantCulture,
                $"no prediction of model '{name}' with request id '{requestId}' is remembered; feedback needs the X-Request-Id of a predict answer from this server (the latest {_options.RememberedRequests:N0} are kept)")) { Field = "requestId" });
        }
        if (pending.Model.Name != name)
        {
            _feedback.WithLabels(name, "", "unknown_request").Inc(1);
            return (null, new ApiError(404, "Unknown request id", $"request id '{requestId}' was a prediction of model '{pending.Model.Name}', not '{name}'") { Field = "requestId" });
        }
        return (pending, null);
    }

    public void Count(MonitoredModel m, string result) => _feedback.WithLabels(m.Name, m.Version, result).Inc(1);

    private void Remember(string requestId, MonitoredModel monitored, Prediction prediction)
    {
        var pending = new PendingPrediction(monitored, requestId,
            prediction.Probabilities is null ? null : [.. Enumerable.Range(0, prediction.RowCount).Select(prediction.PredictedLabel)],
            prediction.Values);
        if (!_pending.TryAdd(requestId, pending))
        {
            // A client reusing an id: the latest prediction under it is the one feedback refers to.
            _pending[requestId] = pending;
            return;
        }
        _pendingOrder.Enqueue(requestId);
        while (_pending.Count > _options.RememberedRequests && _pendingOrder.TryDequeue(out var oldest)) _pending.TryRemove(oldest, out _);
    }

    private MonitoredModel? Create(ServedModel served)
    {
        var profile = BundleProfile.TryLoad(served.Resolved.Bundle);
        if (profile is null) return null;
        var regression = served.Model.Signature.Labels.Count == 0;
        var o = _options;
        var monitorOptions = new MonitorOptions
        {
            Window = new WindowOptions { Rows = o.WindowRows, Panes = Math.Min(4, o.WindowRows) },
            // Histograms on: the web UI's Drift page draws each column's reference against the window.
            Drift = new DriftOptions { AllMissing = AllMissingPolicy.FlagAsDrift, IncludeHistograms = true, DriftShareThreshold = o.DriftShareThreshold },
            EvaluateEveryRows = o.EvaluateEveryRows,
            EvaluateEvery = o.EvaluateEvery,
            MinRows = o.MinRows,
            FeedbackWindow = o.FeedbackWindow,
            EstimateWindow = o.FeedbackWindow,
        };
        var cbpe = regression ? null : Estimator(served);
        var monitor = new DriftMonitor(profile, monitorOptions, cbpe);
        var monitored = new MonitoredModel(served.Name, served.Version, monitor, served.Model.Signature.Labels, regression,
            regression ? Tolerance(served, profile) : 0, o.FeedbackWindow)
        {
            Mapping = InputMapping.Of(profile),
            Estimator = cbpe is null ? null : cbpe.Calibrated ? "calibrated" : "uncalibrated",
        };
        monitor.DriftDetected += (_, e) => OnDrift(monitored, e);
        _logger.LogInformation("monitoring drift of {Model} version {Version} against its reference profile ({Rows} rows, {Columns} columns)",
            served.Name, served.Version, profile.Rows, profile.Columns.Count);
        return monitored;
    }

    /// <summary>
    /// The bundle's fitted CBPE recalibration (reference/cbpe.json, written at training time from held-out rows), or the
    /// uncalibrated estimator — the model's own mean confidence — when it has none or it cannot be used.
    /// </summary>
    private Cbpe Estimator(ServedModel served)
    {
        var labels = served.Model.Signature.Labels;
        try
        {
            if (BundleCalibration.TryLoad(served.Resolved.Bundle, labels) is { } fitted)
            {
                _logger.LogInformation("estimating the accuracy of {Model} version {Version} with its CBPE calibration ({Rows} held-out rows)",
                    served.Name, served.Version, fitted.ReferenceRows);
                return fitted;
            }
        }
        catch (ForgeException e)
        {
            // A bad calibration must not stop the monitoring: the estimate falls back to the model's own confidence.
            _logger.LogWarning("the CBPE calibration of {Model} version {Version} is not used, the estimated accuracy is uncalibrated: {Error}",
                served.Name, served.Version, e.Message);
        }
        return Cbpe.Uncalibrated(labels.Count);
    }

    private double Tolerance(ServedModel served, ReferenceProfile profile)
    {
        if (_options.RegressionTolerance is { } t) return t;
        if (served.Manifest.Metrics.TryGetValue("testMae", out var mae) && mae > 0 && double.IsFinite(mae)) return 2 * mae;
        var std = profile.Columns.FirstOrDefault(c => c.Name == ModelColumns.PredictionColumn)?.Numeric?.Std ?? 0;
        return std > 0 ? std / 2 : 1;
    }

    private void OnDrift(MonitoredModel m, DriftEvent e)
    {
        _events.WithLabels(m.Name, m.Version, e.Kind).Inc(1);
        if (e.Detector is { } d) m.Detected(d);
        _logger.LogWarning("drift in {Model} version {Version}: {Message}", m.Name, m.Version, e.Message);
        if (_options.Webhook is not { } url) return;
        var body = new WebhookBody(m.Name, m.Version, e.Kind, e.Message, e.At, e.Result?.DatasetDrift, e.Result?.DriftShare,
            e.Result?.AllColumns().Where(c => c.Drifted).Select(c => c.Name).ToArray(), e.Detector?.Name);
        // Not awaited: a slow or dead receiver must not hold up the request that noticed the drift.
        _ = Task.Run(async () =>
        {
            try
            {
                using var response = await _webhook.PostAsJsonAsync(url, body);
                response.EnsureSuccessStatusCode();
                _webhookCalls.WithLabels("ok").Inc(1);
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or InvalidOperationException)
            {
                _logger.LogWarning("drift webhook {Url} failed for {Model} ({Kind}): {Error}", url, m.Name, e.Kind, ex.Message);
                _webhookCalls.WithLabels("failed").Inc(1);
            }
        });
    }

    private IEnumerable<(string[] Labels, double Value)> Each(Func<MonitoredModel, MonitorSnapshot, IEnumerable<(string[], double)>> read)
    {
        foreach (var m in Current())
        {
            foreach (var item in read(m, m.Monitor.Snapshot())) yield return item;
        }
    }

    private static Counter NewCounter(IMetricFactory f, string name, string help, params string[] labels) => f.CreateCounter(name, help, labels);

    private static Gauge NewGauge(IMetricFactory f, string name, string help, params string[] labels) => f.CreateGauge(name, help, labels);

    private static string[] L(MonitoredModel m, params string[] more) => [m.Name, m.Version, .. more];

    public void Dispose() => _webhook.Dispose();

    private sealed record Holder(MonitoredModel? Monitor);
}

/// <summary>One served version under monitoring: its drift monitor and, for regressions, the rolling error of its feedback.</summary>
internal sealed class MonitoredModel(string name, string version, DriftMonitor monitor, IReadOnlyList<string> labels, bool regression, double tolerance, int feedbackWindow)
{
    private readonly Dictionary<string, long> _detectedAt = new(StringComparer.Ordinal);

    public string Name { get; } = name;

    public string Version { get; } = version;

    public DriftMonitor Monitor { get; } = monitor;

    /// <summary>How served inputs become the profile's columns (text columns, image summaries), read from the profile itself.</summary>
    public InputMapping Mapping { get; init; } = InputMapping.Tabular;

    public IReadOnlyList<string> Labels { get; } = labels;

    public bool Regression { get; } = regression;

    /// <summary>How accuracy is estimated without labels: "calibrated" (the bundle's CBPE recalibration), "uncalibrated" (mean confidence); null for a regression.</summary>
    public string? Estimator { get; init; }

    /// <summary>A regression's absolute error above this is a miss for the concept-drift detectors.</summary>
    public double Tolerance { get; } = tolerance;

    public RollingErrors Errors { get; } = new(feedbackWindow);

    private int FeedbackWindow { get; } = feedbackWindow;

    private long _feedbackRows;

    /// <summary>Labelled rows received so far.</summary>
    public long FeedbackRows => Interlocked.Read(ref _feedbackRows);

    public void CountFeedback(int rows) => Interlocked.Add(ref _feedbackRows, rows);

    public void Detected(DetectorStatus d)
    {
        lock (_detectedAt) _detectedAt[d.Name] = FeedbackRows;
    }

    /// <summary>Drift is held for a feedback window after a detection: the detector restarts at once, a dashboard should still see it.</summary>
    public DetectorState HeldState(DetectorStatus d)
    {
        lock (_detectedAt)
        {
            if (_detectedAt.TryGetValue(d.Name, out var at) && FeedbackRows - at < FeedbackWindow) return DetectorState.Drift;
        }
        return d.State;
    }
}

/// <summary>Absolute and squared errors of the latest predictions given their true value, in a fixed-size ring.</summary>
internal sealed class RollingErrors(int capacity)
{
    private readonly double[] _errors = new double[capacity];
    private int _next;
    private int _count;
    private double _sumAbs;
    private double _sumSquares;

    public long TotalSeen { get; private set; }

    public double? Mae
    {
        get
        {
            lock (_errors) return _count == 0 ? null : Math.Max(0, _sumAbs) / _count;
        }
    }

    public double? Rmse
    {
        get
        {
            lock (_errors) return _count == 0 ? null : Math.Sqrt(Math.Max(0, _sumSquares) / _count);
        }
    }

    public void Add(double error)
    {
        lock (_errors)
        {
            if (_count == _errors.Length)
            {
                var old = _errors[_next];
                _sumAbs -= Math.Abs(old);
                _sumSquares -= old * old;
            }
            else _count++;
            _errors[_next] = error;
            _sumAbs += Math.Abs(error);
            _sumSquares += error * error;
            _next = (_next + 1) % _errors.Length;
            TotalSeen++;
            // Re-summed once per lap, so subtraction never lets rounding drift accumulate.
            if (_next == 0) Resum();
        }
    }

    private void Resum()
    {
        _sumAbs = 0;
        _sumSquares = 0;
        for (var i = 0; i < _count; i++)
        {
            _sumAbs += Math.Abs(_errors[i]);
            _sumSquares += _errors[i] * _errors[i];
        }
    }
}

/// <summary>A served prediction waiting for its true label or value.</summary>
internal sealed class PendingPrediction(MonitoredModel model, string requestId, string[]? labels, double[]? values)
{
    private int _answered;

    public MonitoredModel Model { get; } = model;

    public string RequestId { get; } = requestId;

    public string[]? Labels { get; } = labels;

    public double[]? Values { get; } = values;

    public int Rows => Labels?.Length ?? Values!.Length;

    /// <summary>True the first time; feedback for one prediction counts once.</summary>
    public bool TryAnswer() => Interlocked.Exchange(ref _answered, 1) == 0;
}

/// <summary>What the drift webhook receives.</summary>
internal sealed record WebhookBody(string Model, string Version, string Kind, string Message, DateTimeOffset At, bool? DatasetDrift, double? DriftShare,
    IReadOnlyList<string>? DriftedColumns, string? Detector);

/// <summary>Recomputes drift on the time schedule when traffic is too sparse to reach the row schedule.</summary>
internal sealed class DriftTimer(ModelMonitors monitors) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!monitors.Options.Enabled || monitors.Options.EvaluateEvery is null) return;
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken)) monitors.EvaluateDue();
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }
}
