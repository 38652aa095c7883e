using Forge.Core;

namespace Forge.Monitoring;

/// <summary>Options of a <see cref="DriftMonitor"/>.</summary>
public sealed record MonitorOptions
{
    /// <summary>The rolling window of served rows (default: the latest 5000 rows in 4 panes).</summary>
    public WindowOptions Window { get; init; } = new();

    /// <summary>
    /// The drift comparison (default: Evidently's choices; a column that went all-missing is reported as drifted
    /// instead of stopping the whole comparison).
    /// </summary>
    public DriftOptions Drift { get; init; } = new() { AllMissing = AllMissingPolicy.FlagAsDrift, IncludeHistograms = false };

    /// <summary>Recompute drift after this many new rows (default 500; 0 to disable).</summary>
    public int EvaluateEveryRows { get; init; } = 500;

    /// <summary>Recompute drift when this much time has passed and there are new rows (default 1 minute; null to disable).</summary>
    public TimeSpan? EvaluateEvery { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>Rows the window needs before drift is computed at all (default 100): tiny windows only make noise.</summary>
    public int MinRows { get; init; } = 100;

    /// <summary>Labelled predictions the rolling accuracy and F1 cover (default 1000).</summary>
    public int FeedbackWindow { get; init; } = 1000;

    /// <summary>Rows the confidence-based accuracy estimate covers (default 1000).</summary>
    public int EstimateWindow { get; init; } = 1000;

    /// <summary>Creates the concept-drift detectors fed by the error stream (default: DDM, EDDM, ADWIN, Page–Hinkley).</summary>
    public Func<IReadOnlyList<IConceptDriftDetector>> Detectors { get; init; } =
        () => [new Ddm(), new Eddm(), new Adwin(), new PageHinkley()];

    /// <summary>Checks every option and reports all problems at once.</summary>
    public void Validate()
    {
        var problems = new List<string>();
        if (EvaluateEveryRows < 0) problems.Add($"EvaluateEveryRows must not be negative, got {EvaluateEveryRows}");
        if (EvaluateEvery is { } t && t <= TimeSpan.Zero) problems.Add($"EvaluateEvery must be positive, got {t}");
        if (MinRows < 1) problems.Add($"MinRows must be at least 1, got {MinRows}");
        if (FeedbackWindow < 1) problems.Add($"FeedbackWindow must be at least 1, got {FeedbackWindow}");
        if (EstimateWindow < 1) problems.Add($"EstimateWindow must be at least 1, got {EstimateWindow}");
        if (problems.Count > 0) throw new UsageException("invalid monitor options: " + string.Join("; ", problems));
        Window.Validate();
        Drift.Validate();
    }
}

/// <summary>What changed, for a webhook or a log line.</summary>
/// <param name="Kind">"dataset" (dataset drift began), "prediction" (prediction drift began) or "concept" (a detector fired).</param>
/// <param name="Message">One line describing it.</param>
/// <param name="At">When it was noticed.</param>
/// <param name="Result">The drift result that showed it (dataset and prediction events).</param>
/// <param name="Detector">The detector's status (concept events).</param>
public sealed record DriftEvent(string Kind, string Message, DateTimeOffset At, DriftResult? Result = null, DetectorStatus? Detector = null);

/// <summary>A consistent view of a monitor's state at one moment: what a drift endpoint or a metrics scrape reads.</summary>
public sealed record MonitorSnapshot
{
    /// <summary>The latest drift result; null until the window first had enough rows.</summary>
    public DriftResult? Latest { get; init; }

    /// <summary>Rows in the window now.</summary>
    public long WindowRows { get; init; }

    /// <summary>Rows observed since the monitor started.</summary>
    public long RowsSeen { get; init; }

    /// <summary>Each concept-drift detector's state.</summary>
    public IReadOnlyList<DetectorStatus> Detectors { get; init; } = [];

    /// <summary>Accuracy over the latest labelled predictions (null before any feedback).</summary>
    public double? Accuracy { get; init; }

    /// <summary>Macro F1 over the latest labelled predictions (null before any feedback).</summary>
    public double? MacroF1 { get; init; }

    /// <summary>Labelled predictions received.</summary>
    public long FeedbackSeen { get; init; }

    /// <summary>Confidence-based estimate of accuracy over the latest predictions (null without probabilities).</summary>
    public double? EstimatedAccuracy { get; init; }
}

/// <summary>
/// Live monitoring of one deployed model: served rows (inputs and predictions) go into a rolling window compared with
/// the reference profile every N rows or T seconds; labelled feedback drives rolling accuracy/F1 and the concept-drift
/// detectors; predicted probabilities drive a confidence-based accuracy estimate. Thread-safe: a server calls it from
/// every request. Events fire outside the lock, once per change (drift beginning, a detector firing).
/// </summary>
public sealed class DriftMonitor
{
    private readonly object _gate = new();
    private readonly ReferenceProfile _reference;
    private readonly MonitorOptions _options;
    private readonly TimeProvider _clock;
    private readonly RollingWindow _window;
    private readonly RollingClassificationMetrics _feedback;
    private readonly IReadOnlyList<IConceptDriftDetector> _detectors;
    private readonly Cbpe? _cbpe;
    private readonly double[] _expectedCorrect;
    private int _expectedNext;
    private int _expectedCount;
    private double _expectedSum;
    private long _rowsSinceEvaluation;
    private DateTimeOffset _lastEvaluation;
    private DriftResult? _latest;
    private long _rowsSeen;

    /// <summary>Starts monitoring against <paramref name="reference"/>; <paramref name="cbpe"/> enables the accuracy estimate.</summary>
    public DriftMonitor(ReferenceProfile reference, MonitorOptions? options = null, Cbpe? cbpe = null, TimeProvider? clock = null)
    {
        ArgumentNullException.ThrowIfNull(reference);
        _reference = reference;
        _options = options ?? new MonitorOptions();
        _options.Validate();
        _clock = clock ?? TimeProvider.System;
        _window = new RollingWindow(reference, _options.Window, _clock);
        _feedback = new RollingClassificationMetrics(_options.FeedbackWindow);
        _detectors = _options.Detectors();
        _cbpe = cbpe;
        _expectedCorrect = new double[_options.EstimateWindow];
        _lastEvaluation = _clock.GetUtcNow();
    }

    /// <summary>Raised when dataset or prediction drift begins, or a concept-drift detector fires.</summary>
    public event EventHandler<DriftEvent>? DriftDetected;

    /// <summary>The reference this monitor compares with.</summary>
    public ReferenceProfile Reference => _reference;

    /// <summary>The latest drift result (null until one was computed).</summary>
    public DriftResult? Latest
    {
        get
        {
            lock (_gate) return _latest;
        }
    }

    /// <summary>Adds served rows (inputs and predictions); recomputes drift when due. Returns the new result if it did.</summary>
    public DriftResult? Observe(ColumnSet rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        List<DriftEvent> events = [];
        DriftResult? computed = null;
        lock (_gate)
        {
            _window.Add(rows);
            _rowsSeen += rows.RowCount;
            _rowsSinceEvaluation += rows.RowCount;
            if (Due()) computed = EvaluateLocked(out events);
        }
        Raise(events);
        return computed;
    }

    /// <summary>Adds the predicted class probabilities of served rows (for the confidence-based accuracy estimate).</summary>
    public void ObserveProbabilities(IReadOnlyList<double[]> probabilities)
    {
        ArgumentNullException.ThrowIfNull(probabilities);
        if (_cbpe is null) throw new UsageException("this monitor has no CBPE estimator; pass one to the constructor to estimate accuracy");
        lock (_gate)
        {
            foreach (var row in probabilities)
            {
                var p = _cbpe.Calibrate(row);
                var expected = p[Cbpe.ArgMax(row)];
                if (_expectedCount == _expectedCorrect.Length) _expectedSum -= _expectedCorrect[_expectedNext];
                else _expectedCount++;
                _expectedCorrect[_expectedNext] = expected;
                _expectedSum += expected;
                _expectedNext = (_expectedNext + 1) % _expectedCorrect.Length;
            }
        }
    }

    /// <summary>Records the true label of a served prediction: updates accuracy/F1 and feeds the error to every detector.</summary>
    public void Feedback(string predicted, string actual)
    {
        ArgumentNullException.ThrowIfNull(predicted);
        ArgumentNullException.ThrowIfNull(actual);
        var events = new List<DriftEvent>();
        lock (_gate)
        {
            _feedback.Add(predicted, actual);
            FeedError(predicted == actual ? 0 : 1, events);
        }
        Raise(events);
    }

    /// <summary>Feeds an error indicator (1 wrong, 0 right) to the detectors without a label (e.g. a regression miss).</summary>
    public void FeedbackError(double error)
    {
        var events = new List<DriftEvent>();
        lock (_gate) FeedError(error, events);
        Raise(events);
    }

    private void FeedError(double error, List<DriftEvent> events)
    {
        foreach (var d in _detectors)
        {
            if (d.Update(error) == DetectorState.Drift)
                events.Add(new DriftEvent("concept", $"{d.Name} detected a change in the error rate after {d.Seen} labelled predictions", _clock.GetUtcNow(), Detector: DetectorStatus.Of(d)));
        }
    }

    /// <summary>Computes drift now if there are enough rows (for a timer when traffic is sparse); null otherwise.</summary>
    public DriftResult? EvaluateIfDue()
    {
        List<DriftEvent> events = [];
        DriftResult? computed = null;
        lock (_gate)
        {
            if (_rowsSinceEvaluation > 0 && Due()) computed = EvaluateLocked(out events);
        }
        Raise(events);
        return computed;
    }

    /// <summary>Computes drift now, whatever the schedule; fails when the window has fewer rows than <see cref="MonitorOptions.MinRows"/>.</summary>
    public DriftResult Evaluate()
    {
        List<DriftEvent> events;
        DriftResult result;
        lock (_gate)
        {
            var rows = _window.Rows;
            if (rows < _options.MinRows)
                throw new DriftException($"the window has {rows} rows; drift needs at least {_options.MinRows}");
            result = EvaluateLocked(out events)!;
        }
        Raise(events);
        return result;
    }

    private bool Due()
    {
        if (_window.Rows < _options.MinRows) return false;
        if (_options.EvaluateEveryRows > 0 && _rowsSinceEvaluation >= _options.EvaluateEveryRows) return true;
        return _options.EvaluateEvery is { } every && _clock.GetUtcNow() - _lastEvaluation >= every;
    }

    private DriftResult? EvaluateLocked(out List<DriftEvent> events)
    {
        events = [];
        var current = _window.Profile();
        var result = DataDrift.Compare(_reference, current, _options.Drift, _clock);
        var previous = _latest;
        _latest = result;
        _rowsSinceEvaluation = 0;
        _lastEvaluation = _clock.GetUtcNow();
        if (result.DatasetDrift && previous?.DatasetDrift != true)
        {
            var names = string.Join(", ", result.Columns.Where(c => c.Drifted).Select(c => c.Name));
            events.Add(new DriftEvent("dataset", $"dataset drift: {result.DriftedColumns} of {result.Columns.Count} features drifted ({names})", result.ComputedAt, result));
        }
        if (result.PredictionDrift == true && previous?.PredictionDrift != true)
            events.Add(new DriftEvent("prediction", "the predictions' distribution drifted", result.ComputedAt, result));
        return result;
    }

    private void Raise(List<DriftEvent> events)
    {
        foreach (var e in events) DriftDetected?.Invoke(this, e);
    }

    /// <summary>Everything a status endpoint or a metrics scrape needs, read under one lock.</summary>
    public MonitorSnapshot Snapshot()
    {
        lock (_gate)
        {
            return new MonitorSnapshot
            {
                Latest = _latest,
                WindowRows = _window.Rows,
                RowsSeen = _rowsSeen,
                Detectors = _detectors.Select(DetectorStatus.Of).ToArray(),
                Accuracy = _feedback.Count == 0 ? null : _feedback.Accuracy,
                MacroF1 = _feedback.Count == 0 ? null : _feedback.MacroF1,
                FeedbackSeen = _feedback.TotalSeen,
                EstimatedAccuracy = _expectedCount == 0 ? null : _expectedSum / _expectedCount,
            };
        }
    }
}
