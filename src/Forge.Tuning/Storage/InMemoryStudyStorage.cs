using System.Text.Json;
using Forge.Core;

namespace Forge.Tuning;

/// <summary>
/// Studies kept in this process's memory: the default storage, fast and shared by the threads of one process (the
/// workers of <c>Optimize(…, parallelism: K)</c>). Everything is lost when the process ends; use the SQL storage in
/// Forge.Tracking to share a study between processes or keep it.
/// </summary>
public sealed class InMemoryStudyStorage : IStudyStorage
{
    private readonly Lock _lock = new();
    private readonly TimeProvider _time;
    private readonly Dictionary<string, StudyState> _studiesByName = new(StringComparer.Ordinal);
    private readonly Dictionary<long, StudyState> _studies = [];
    private readonly Dictionary<long, (StudyState Study, int Index)> _trials = [];
    private long _nextStudyId = 1;
    private long _nextTrialId = 1;

    /// <summary>Creates an empty storage; <paramref name="time"/> (default: the system clock) dates trials and heartbeats.</summary>
    public InMemoryStudyStorage(TimeProvider? time = null) => _time = time ?? TimeProvider.System;

    private sealed class StudyState(StudyInfo info)
    {
        public StudyInfo Info { get; set; } = info;
        public List<FrozenTrial> Trials { get; } = [];
        public Dictionary<string, long> Claims { get; } = new(StringComparer.Ordinal);
        public int Counted { get; set; }
    }

    /// <inheritdoc />
    public string Location => "memory";

    /// <inheritdoc />
    public StudyInfo CreateStudy(string name, StudyDirection direction, bool loadIfExists)
    {
        StudyStorageRules.Check(name);
        lock (_lock)
        {
            if (_studiesByName.TryGetValue(name, out var existing))
                return StudyStorageRules.Existing(existing.Info, direction, loadIfExists, Location);
            var info = new StudyInfo(_nextStudyId++, name, direction, _time.GetUtcNow(), new Dictionary<string, string>());
            var state = new StudyState(info);
            _studiesByName[name] = state;
            _studies[info.Id] = state;
            return info;
        }
    }

    /// <inheritdoc />
    public StudyInfo GetStudy(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        lock (_lock)
        {
            return _studiesByName.TryGetValue(name, out var s) ? s.Info : throw new NotFoundException("study", name, _studiesByName.Keys.ToList());
        }
    }

    /// <inheritdoc />
    public IReadOnlyList<StudyInfo> ListStudies()
    {
        lock (_lock) return _studiesByName.Values.Select(s => s.Info).OrderBy(s => s.Name, StringComparer.Ordinal).ToList();
    }

    /// <inheritdoc />
    public void DeleteStudy(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        lock (_lock)
        {
            if (!_studiesByName.TryGetValue(name, out var s)) throw new NotFoundException("study", name, _studiesByName.Keys.ToList());
            _studiesByName.Remove(name);
            _studies.Remove(s.Info.Id);
            foreach (var t in s.Trials) _trials.Remove(t.TrialId);
        }
    }

    /// <inheritdoc />
    public void SetStudyAttribute(long studyId, string key, string valueJson)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(valueJson);
        lock (_lock)
        {
            var s = Study(studyId);
            var attributes = new Dictionary<string, string>(s.Info.Attributes, StringComparer.Ordinal) { [key] = valueJson };
            s.Info = s.Info with { Attributes = attributes };
        }
    }

    /// <inheritdoc />
    public FrozenTrial? StartTrial(long studyId, TrialStartRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        lock (_lock)
        {
            var s = Study(studyId);
            var now = _time.GetUtcNow();
            DateTimeOffset? beat = request.Heartbeat ? now : null;
            for (var i = 0; i < s.Trials.Count; i++)
            {
                if (s.Trials[i].State != TrialState.Waiting) continue;
                var started = s.Trials[i].With(state: TrialState.Running, started: now, heartbeat: beat);
                s.Trials[i] = started;
                return started;
            }
            if (request.MaxTrials is { } max && s.Counted >= max) return null;
            var trial = new FrozenTrial(_nextTrialId++, s.Trials.Count, TrialState.Running, null, new Dictionary<string, Distribution>(),
                new Dictionary<string, double>(), started: now, heartbeat: beat);
            Add(s, trial);
            return trial;
        }
    }

    /// <inheritdoc />
    public FrozenTrial EnqueueTrial(long studyId, IReadOnlyDictionary<string, string> systemAttributes, IReadOnlyDictionary<string, string> userAttributes)
    {
        ArgumentNullException.ThrowIfNull(systemAttributes);
        ArgumentNullException.ThrowIfNull(userAttributes);
        lock (_lock)
        {
            var s = Study(studyId);
            var trial = new FrozenTrial(_nextTrialId++, s.Trials.Count, TrialState.Waiting, null, new Dictionary<string, Distribution>(),
                new Dictionary<string, double>(), null, Copy(userAttributes), Copy(systemAttributes));
            Add(s, trial);
            return trial;
        }
    }

    private void Add(StudyState s, FrozenTrial trial)
    {
        _trials[trial.TrialId] = (s, s.Trials.Count);
        s.Trials.Add(trial);
        s.Counted++;
    }

    /// <inheritdoc />
    public void SetTrialParam(long trialId, string name, double internalValue, Distribution distribution)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(distribution);
        Update(trialId, running: true, t =>
        {
            if (t.InternalParams.TryGetValue(name, out var existing))
            {
                if (existing.Equals(internalValue) && t.Distributions[name].Equals(distribution)) return t;
                throw new UsageException($"trial {t.Number} already has parameter '{name}' = {ScalarValues.Describe(t.Params[name])}");
            }
            var values = new Dictionary<string, double>(t.InternalParams, StringComparer.Ordinal) { [name] = internalValue };
            var distributions = new Dictionary<string, Distribution>(t.Distributions, StringComparer.Ordinal) { [name] = distribution };
            return t.With(distributions: distributions, internalParams: values);
        });
    }

    /// <inheritdoc />
    public void ReportIntermediateValue(long trialId, long step, double value) =>
        Update(trialId, running: true, t => new FrozenTrial(t.TrialId, t.Number, t.State, t.Value, t.Distributions, t.InternalParams,
            t.IntermediateValues.Add(step, value), t.UserAttributesJson, t.SystemAttributes, t.Started, t.Completed, t.Heartbeat, t.Retried));

    /// <inheritdoc />
    public void SetTrialUserAttribute(long trialId, string key, string valueJson)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(valueJson);
        Update(trialId, running: false, t => t.With(userAttributes: new Dictionary<string, string>(t.UserAttributesJson, StringComparer.Ordinal) { [key] = valueJson }));
    }

    /// <inheritdoc />
    public void SetTrialSystemAttribute(long trialId, string key, string valueJson)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(valueJson);
        Update(trialId, running: false, t => t.With(systemAttributes: new Dictionary<string, string>(t.SystemAttributes, StringComparer.Ordinal) { [key] = valueJson }));
    }

    /// <inheritdoc />
    public bool FinishTrial(long trialId, TrialState state, double? value, string? failReason)
    {
        StudyStorageRules.CheckFinish(state, value);
        lock (_lock)
        {
            var (s, index) = Locate(trialId);
            var t = s.Trials[index];
            if (t.State != TrialState.Running) return false;
            var system = failReason is null
                ? t.SystemAttributes
                : new Dictionary<string, string>(t.SystemAttributes, StringComparer.Ordinal) { [FrozenTrial.FailReasonKey] = ScalarValues.ToJson(failReason) };
            s.Trials[index] = new FrozenTrial(t.TrialId, t.Number, state, state == TrialState.Complete ? value : null, t.Distributions, t.InternalParams,
                t.IntermediateValues, t.UserAttributesJson, system, t.Started, _time.GetUtcNow(), t.Heartbeat, t.Retried);
            return true;
        }
    }

    /// <inheritdoc />
    public void RecordHeartbeat(long trialId)
    {
        lock (_lock)
        {
            var (s, index) = Locate(trialId);
            var t = s.Trials[index];
            if (t.State == TrialState.Running) s.Trials[index] = t.With(heartbeat: _time.GetUtcNow());
        }
    }

    /// <inheritdoc />
    public IReadOnlyList<FrozenTrial> FailStaleTrials(long studyId, TimeSpan gracePeriod)
    {
        lock (_lock)
        {
            var s = Study(studyId);
            var now = _time.GetUtcNow();
            var failed = new List<FrozenTrial>();
            for (var i = 0; i < s.Trials.Count; i++)
            {
                var t = s.Trials[i];
                if (t.State != TrialState.Running || t.Heartbeat is not { } beat || now - beat <= gracePeriod) continue;
                var reason = StudyStorageRules.StaleReason(now - beat);
                var system = new Dictionary<string, string>(t.SystemAttributes, StringComparer.Ordinal) { [FrozenTrial.FailReasonKey] = ScalarValues.ToJson(reason) };
                s.Trials[i] = new FrozenTrial(t.TrialId, t.Number, TrialState.Fail, null, t.Distributions, t.InternalParams, t.IntermediateValues,
                    t.UserAttributesJson, system, t.Started, now, t.Heartbeat, t.Retried);
                failed.Add(s.Trials[i]);
            }
            return failed;
        }
    }

    /// <inheritdoc />
    public FrozenTrial? RetryTrial(long trialId)
    {
        lock (_lock)
        {
            var (s, index) = Locate(trialId);
            var t = s.Trials[index];
            if (t.State != TrialState.Fail || t.Retried) return null;
            s.Trials[index] = t.With(retried: true);
            s.Counted--;
            var retry = new FrozenTrial(_nextTrialId++, s.Trials.Count, TrialState.Waiting, null, new Dictionary<string, Distribution>(),
                new Dictionary<string, double>(), null, t.UserAttributesJson, StudyStorageRules.RetryAttributes(t));
            Add(s, retry);
            return retry;
        }
    }

    /// <inheritdoc />
    public bool TryClaim(long studyId, string key, long trialId)
    {
        ArgumentNullException.ThrowIfNull(key);
        lock (_lock) return Study(studyId).Claims.TryAdd(key, trialId);
    }

    /// <inheritdoc />
    public IReadOnlySet<string> GetClaims(long studyId)
    {
        lock (_lock) return new HashSet<string>(Study(studyId).Claims.Keys, StringComparer.Ordinal);
    }

    /// <inheritdoc />
    public FrozenTrial GetTrial(long trialId)
    {
        lock (_lock)
        {
            var (s, index) = Locate(trialId);
            return s.Trials[index];
        }
    }

    /// <inheritdoc />
    public IReadOnlyList<FrozenTrial> GetTrials(long studyId)
    {
        lock (_lock) return Study(studyId).Trials.ToArray();
    }

    /// <inheritdoc />
    public void Dispose() { }

    private StudyState Study(long studyId) =>
        _studies.TryGetValue(studyId, out var s) ? s : throw new NotFoundException("study id", studyId.ToString(System.Globalization.CultureInfo.InvariantCulture), []);

    private (StudyState Study, int Index) Locate(long trialId) =>
        _trials.TryGetValue(trialId, out var at) ? at : throw new NotFoundException("trial id", trialId.ToString(System.Globalization.CultureInfo.InvariantCulture), []);

    private void Update(long trialId, bool running, Func<FrozenTrial, FrozenTrial> change)
    {
        lock (_lock)
        {
            var (s, index) = Locate(trialId);
            var t = s.Trials[index];
            StudyStorageRules.CheckWritable(t, running);
            s.Trials[index] = change(t);
        }
    }

    private static Dictionary<string, string> Copy(IReadOnlyDictionary<string, string> source) => new(source, StringComparer.Ordinal);
}
