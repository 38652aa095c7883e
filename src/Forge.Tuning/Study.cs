using System.Globalization;
using System.Runtime.ExceptionServices;
using Forge.Core;

namespace Forge.Tuning;

/// <summary>
/// An optimisation task: a direction, a sampler, a pruner and a storage holding its trials. Run it define-by-run with
/// <see cref="Optimize"/> (the objective asks the trial for values as it needs them), or drive it yourself with
/// <see cref="Ask()"/> and <see cref="Tell(Trial, double)"/>. Several studies objects (threads, processes, machines) with
/// the same name on a shared storage work on one study together.
/// </summary>
public sealed class Study
{
    private readonly Lock _samplerLock = new();
    private readonly Lock _prunerLock = new();
    private readonly StudyOptions _options;
    private readonly Dictionary<string, string> _kinds = new(StringComparer.Ordinal);
    private volatile bool _stopRequested;

    private Study(StudyInfo info, StudyOptions options)
    {
        Id = info.Id;
        Name = info.Name;
        Direction = info.Direction;
        Sampler = options.Sampler ?? new TpeSampler();
        Pruner = options.Pruner ?? new MedianPruner();
        Storage = options.Storage!;
        _options = options;
    }

    /// <summary>Creates a study (or loads it when <see cref="StudyOptions.LoadIfExists"/> and the name exists).</summary>
    public static Study Create(StudyOptions? options = null)
    {
        options ??= new StudyOptions();
        options.Validate();
        var storage = options.Storage ?? new InMemoryStudyStorage();
        var name = options.Name ?? "study-" + Guid.NewGuid().ToString("N")[..8];
        var info = storage.CreateStudy(name, options.Direction, options.LoadIfExists);
        return new Study(info, options with { Storage = storage, Name = name });
    }

    /// <summary>Creates an in-memory study with the given direction and sampler (seed a sampler for reproducible runs).</summary>
    public static Study Create(StudyDirection direction, ISampler? sampler = null, IPruner? pruner = null) =>
        Create(new StudyOptions { Direction = direction, Sampler = sampler, Pruner = pruner });

    /// <summary>Loads an existing study by name (its direction comes from the storage).</summary>
    public static Study Load(string name, IStudyStorage storage, StudyOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(storage);
        options ??= new StudyOptions();
        options.Validate();
        var info = storage.GetStudy(name);
        return new Study(info, options with { Storage = storage, Name = name, Direction = info.Direction, LoadIfExists = true });
    }

    /// <summary>The storage's id of the study.</summary>
    public long Id { get; }

    /// <summary>The study's name.</summary>
    public string Name { get; }

    /// <summary>Minimise or maximise.</summary>
    public StudyDirection Direction { get; }

    /// <summary>The sampler choosing parameter values.</summary>
    public ISampler Sampler { get; }

    /// <summary>The pruner judging intermediate values.</summary>
    public IPruner Pruner { get; }

    /// <summary>Where the trials are kept.</summary>
    public IStudyStorage Storage { get; }

    /// <summary>The study's attributes (JSON text) as stored now.</summary>
    public IReadOnlyDictionary<string, string> Attributes => Storage.GetStudy(Name).Attributes;

    /// <summary>
    /// Raised after each trial this study object finishes (completed, pruned or failed, including trials it found stale),
    /// on the worker's thread. A handler that throws stops <see cref="Optimize"/>. The CLI logs trials as tracking runs here.
    /// </summary>
    public event EventHandler<TrialFinishedEventArgs>? TrialFinished;

    /// <summary>Every trial, by number, as stored now.</summary>
    public IReadOnlyList<FrozenTrial> Trials => Storage.GetTrials(Id);

    /// <summary>The trials in any of the given states, by number.</summary>
    public IReadOnlyList<FrozenTrial> GetTrials(params IReadOnlyCollection<TrialState> states)
    {
        ArgumentNullException.ThrowIfNull(states);
        var all = Trials;
        return states.Count == 0 ? all : all.Where(t => states.Contains(t.State)).ToList();
    }

    /// <summary>The best Complete trial (lowest number on ties); <see cref="ForgeException"/> when none has completed.</summary>
    public FrozenTrial BestTrial => FindBest(Trials)
        ?? throw new ForgeException($"study '{Name}' has no COMPLETE trial yet, so it has no best trial");

    /// <summary>The best trial's value.</summary>
    public double BestValue => BestTrial.Value!.Value;

    /// <summary>The best trial's parameters.</summary>
    public IReadOnlyDictionary<string, object?> BestParams => BestTrial.Params;

    internal FrozenTrial? FindBest(IReadOnlyList<FrozenTrial> trials)
    {
        FrozenTrial? best = null;
        foreach (var t in trials)
        {
            if (t.State != TrialState.Complete || t.Value is not { } v) continue;
            if (best is null || (Direction == StudyDirection.Minimize ? v < best.Value!.Value : v > best.Value!.Value)) best = t;
        }
        return best;
    }

    /// <summary>Sets a study attribute (null, string, bool or number), e.g. the tracking run the trials are nested under.</summary>
    public void SetAttribute(string key, object? value)
    {
        ArgumentNullException.ThrowIfNull(key);
        Storage.SetStudyAttribute(Id, key, ScalarValues.ToJson(value));
    }

    /// <summary>
    /// Adds a waiting trial that will use the given parameter values (external values, as the objective sees them);
    /// parameters it does not name are sampled as usual. Waiting trials are run before new ones, by any worker.
    /// </summary>
    public FrozenTrial EnqueueTrial(IReadOnlyDictionary<string, object?> parameters, IReadOnlyDictionary<string, object?>? userAttributes = null)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        using var buffer = new MemoryStream();
        using (var writer = new System.Text.Json.Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            foreach (var (k, v) in parameters)
            {
                writer.WritePropertyName(k);
                ScalarValues.Write(writer, v);
            }
            writer.WriteEndObject();
        }
        var system = new Dictionary<string, string>(StringComparer.Ordinal) { [FrozenTrial.FixedParamsKey] = System.Text.Encoding.UTF8.GetString(buffer.ToArray()) };
        var user = (userAttributes ?? new Dictionary<string, object?>()).ToDictionary(p => p.Key, p => ScalarValues.ToJson(p.Value), StringComparer.Ordinal);
        return Storage.EnqueueTrial(Id, system, user);
    }

    /// <summary>Asks the study to start no more trials; running trials finish. <see cref="Optimize"/> then returns.</summary>
    public void Stop() => _stopRequested = true;

    // ---------------------------------------------------------------- ask / tell

    /// <summary>
    /// Starts a trial (a waiting one first) for the caller to evaluate; finish it with <see cref="Tell(Trial, double)"/>.
    /// Throws <see cref="SearchSpaceExhaustedException"/> when the sampler has nothing left to propose (a finished grid).
    /// </summary>
    public Trial Ask() => TryAsk(null) ?? throw new ForgeException($"study '{Name}': the storage started no trial");

    /// <summary>Starts a trial and suggests the given parameters at once (the rest stay define-by-run).</summary>
    public Trial Ask(IReadOnlyDictionary<string, Distribution> distributions)
    {
        ArgumentNullException.ThrowIfNull(distributions);
        var trial = Ask();
        foreach (var (name, distribution) in distributions) trial.Suggest(name, distribution);
        return trial;
    }

    /// <summary>Starts a trial unless the study-wide limit is reached (then null); throws when the sampler is exhausted.</summary>
    internal Trial? TryAsk(int? maxTrials)
    {
        if (_options.HeartbeatInterval is not null) FailStaleTrials();
        if (Sampler.IsExhausted(() => Storage.GetClaims(Id)))
            throw new SearchSpaceExhaustedException($"study '{Name}': the sampler {Sampler.GetType().Name} has nothing left to propose");
        var frozen = Storage.StartTrial(Id, new TrialStartRequest { MaxTrials = maxTrials, Heartbeat = _options.HeartbeatInterval is not null });
        if (frozen is null) return null;
        var trial = new Trial(this, frozen);
        if (_options.HeartbeatInterval is { } interval)
        {
            var id = frozen.TrialId;
            trial.HeartbeatTimer = new Timer(_ => Beat(id), null, interval, interval);
        }
        try
        {
            var context = new StartContext(this, frozen);
            WithSampler(s =>
            {
                s.BeforeTrial(context);
                return 0;
            });
            if (context.Changed) trial.Refresh(Storage.GetTrial(frozen.TrialId));
        }
        catch (SearchSpaceExhaustedException ex)
        {
            // Another worker took the last point between our check and our claim: this trial has nothing to evaluate.
            Finish(trial, TrialState.Fail, null, ex.Message, ex);
            throw;
        }
        return trial;
    }

    private void Beat(long trialId)
    {
        try
        {
            Storage.RecordHeartbeat(trialId);
        }
        catch (Exception ex) when (ex is ForgeException or InvalidOperationException or IOException)
        {
            // A missed beat is survivable: the grace period is several intervals long, and the next beat may succeed.
            LastHeartbeatError = ex;
        }
    }

    /// <summary>The last error a background heartbeat met (heartbeats keep going after one).</summary>
    public Exception? LastHeartbeatError { get; private set; }

    /// <summary>Finishes a trial as Complete with its objective value (NaN is recorded as Fail). Returns the final snapshot.</summary>
    public FrozenTrial Tell(Trial trial, double value)
    {
        ArgumentNullException.ThrowIfNull(trial);
        return double.IsNaN(value)
            ? Finish(trial, TrialState.Fail, null, "the objective returned NaN", null)
            : Finish(trial, TrialState.Complete, value, null, null);
    }

    /// <summary>Finishes a trial as Pruned or Fail (or Complete with <paramref name="value"/>). Returns the final snapshot.</summary>
    public FrozenTrial Tell(Trial trial, TrialState state, double? value = null, string? failReason = null)
    {
        ArgumentNullException.ThrowIfNull(trial);
        if (state == TrialState.Complete)
        {
            return value is { } v ? Tell(trial, v) : throw new UsageException($"trial {trial.Number}: a COMPLETE trial needs a value");
        }
        return Finish(trial, state, null, state == TrialState.Fail ? failReason ?? "failed (told by the caller)" : null, null);
    }

    private FrozenTrial Finish(Trial trial, TrialState state, double? value, string? failReason, Exception? exception)
    {
        if (trial.Study != this) throw new UsageException($"trial {trial.Number} belongs to study '{trial.Study.Name}', not '{Name}'");
        if (trial.Finished) throw new UsageException($"trial {trial.Number} was already told");
        trial.Finished = true;
        trial.HeartbeatTimer?.Dispose();
        Storage.FinishTrial(trial.TrialId, state, value, failReason);
        // When the storage refused (the trial was failed as stale meanwhile), the stored outcome stands and is returned.
        var final = Storage.GetTrial(trial.TrialId);
        WithSampler(s =>
        {
            s.AfterTrial(final);
            return 0;
        });
        TrialFinished?.Invoke(this, new TrialFinishedEventArgs(final, exception));
        return final;
    }

    /// <summary>
    /// Fails the running trials whose workers stopped sending heartbeats for longer than the grace period, retrying
    /// them when <see cref="StudyOptions.StaleTrialRetries"/> allows. Called before every new trial when heartbeats are on.
    /// </summary>
    public IReadOnlyList<FrozenTrial> FailStaleTrials()
    {
        if (_options.EffectiveGracePeriod is not { } grace) return [];
        var failed = Storage.FailStaleTrials(Id, grace);
        if (failed.Count == 0) return failed;
        IReadOnlyList<FrozenTrial>? all = null;
        foreach (var trial in failed)
        {
            WithSampler(s =>
            {
                s.AfterTrial(trial);
                return 0;
            });
            if (_options.StaleTrialRetries > 0)
            {
                all ??= Trials;
                var original = OriginalNumber(trial);
                var retries = all.Count(t => t.SystemAttributes.ContainsKey(FrozenTrial.RetryOfKey) && OriginalNumber(t) == original);
                if (retries < _options.StaleTrialRetries) Storage.RetryTrial(trial.TrialId);
            }
            TrialFinished?.Invoke(this, new TrialFinishedEventArgs(Storage.GetTrial(trial.TrialId), null));
        }
        return failed;
    }

    private static long OriginalNumber(FrozenTrial t) => StudyStorageRules.OriginalNumber(t);

    // ---------------------------------------------------------------- optimize

    /// <summary>
    /// Runs the objective on <paramref name="trials"/> trials, <paramref name="parallelism"/> at a time on this process's
    /// threads. A trial whose objective throws is recorded Fail with the message and the study goes on (see
    /// <see cref="OptimizeOptions.Catch"/>); <see cref="TrialPrunedException"/> records it Pruned. Returns the trials this
    /// call finished, by number. Cancelling the token starts no more trials and throws <see cref="OperationCanceledException"/>.
    /// </summary>
    public IReadOnlyList<FrozenTrial> Optimize(Func<Trial, double> objective, int trials, int parallelism = 1, OptimizeOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(objective);
        return OptimizeAsync((t, _) => Task.FromResult(objective(t)), trials, parallelism, options, cancellationToken, synchronous: true)
            .GetAwaiter().GetResult();
    }

    /// <summary>The asynchronous form of <see cref="Optimize"/>: the objective gets the call's cancellation token.</summary>
    public Task<IReadOnlyList<FrozenTrial>> OptimizeAsync(Func<Trial, CancellationToken, Task<double>> objective, int trials, int parallelism = 1,
        OptimizeOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(objective);
        return OptimizeAsync(objective, trials, parallelism, options, cancellationToken, synchronous: false);
    }

    private async Task<IReadOnlyList<FrozenTrial>> OptimizeAsync(Func<Trial, CancellationToken, Task<double>> objective, int trials, int parallelism,
        OptimizeOptions? options, CancellationToken cancellationToken, bool synchronous)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(trials);
        ArgumentOutOfRangeException.ThrowIfLessThan(parallelism, 1);
        options ??= new OptimizeOptions();
        options.Validate();
        _stopRequested = false;
        var run = new Run(this, objective, trials, options, cancellationToken);
        if (synchronous && parallelism == 1)
        {
            run.Worker().GetAwaiter().GetResult();
        }
        else if (synchronous)
        {
            // Objectives are usually CPU-bound and synchronous: a dedicated thread each keeps them off the thread pool.
            var threads = Enumerable.Range(0, parallelism).Select(i => new Thread(() => run.Worker().GetAwaiter().GetResult())
            {
                IsBackground = true,
                Name = $"forge-tune-{i.ToString(CultureInfo.InvariantCulture)}",
            }).ToList();
            threads.ForEach(t => t.Start());
            threads.ForEach(t => t.Join());
        }
        else
        {
            await Task.WhenAll(Enumerable.Range(0, parallelism).Select(_ => Task.Run(run.Worker, CancellationToken.None))).ConfigureAwait(false);
        }
        run.Error?.Throw();
        cancellationToken.ThrowIfCancellationRequested();
        return run.Finished.OrderBy(t => t.Number).ToList();
    }

    /// <summary>One Optimize call: its budget, its workers' shared state, and the first error that stops them.</summary>
    private sealed class Run(Study study, Func<Trial, CancellationToken, Task<double>> objective, int trials, OptimizeOptions options, CancellationToken token)
    {
        private readonly long _deadline = options.Timeout is { } t ? Environment.TickCount64 + (long)t.TotalMilliseconds : long.MaxValue;
        private int _started;

        public ExceptionDispatchInfo? Error { get; private set; }

        public System.Collections.Concurrent.ConcurrentBag<FrozenTrial> Finished { get; } = [];

        private bool ShouldStop => study._stopRequested || Error is not null || token.IsCancellationRequested || Environment.TickCount64 >= _deadline;

        public async Task Worker()
        {
            while (!ShouldStop)
            {
                Trial? trial;
                try
                {
                    if (options.StudyWideTrialLimit)
                    {
                        trial = study.TryAsk(trials);
                    }
                    else
                    {
                        if (Interlocked.Increment(ref _started) > trials) return;
                        trial = study.TryAsk(null);
                    }
                }
                catch (SearchSpaceExhaustedException)
                {
                    // A finished grid ends the optimisation normally.
                    study._stopRequested = true;
                    return;
                }
                catch (Exception ex)
                {
                    Fail(ex);
                    return;
                }
                if (trial is null) return;
                await RunTrial(trial).ConfigureAwait(false);
            }
        }

        private void Fail(Exception ex)
        {
            lock (this) Error ??= ExceptionDispatchInfo.Capture(ex);
        }

        private async Task RunTrial(Trial trial)
        {
            try
            {
                double value;
                try
                {
                    value = await objective(trial, token).ConfigureAwait(false);
                }
                catch (TrialPrunedException)
                {
                    Finished.Add(study.Finish(trial, TrialState.Pruned, null, null, null));
                    return;
                }
                catch (OperationCanceledException ex) when (token.IsCancellationRequested)
                {
                    Finished.Add(study.Finish(trial, TrialState.Fail, null, "the optimisation was cancelled while the trial ran", ex));
                    return;
                }
                catch (Exception ex)
                {
                    var reason = $"{ex.GetType().Name}: {ex.Message}";
                    Finished.Add(study.Finish(trial, TrialState.Fail, null, reason, ex));
                    if (options.Catch is { } accept && !accept(ex)) Fail(ex);
                    return;
                }
                Finished.Add(study.Tell(trial, value));
            }
            catch (Exception ex)
            {
                // The storage or a TrialFinished handler failed: the study cannot go on reliably.
                Fail(ex);
            }
        }
    }

    // ---------------------------------------------------------------- helpers for Trial

    internal StudySnapshot Snapshot() => new(Name, Direction, Storage.GetTrials(Id));

    internal T WithSampler<T>(Func<ISampler, T> work)
    {
        lock (_samplerLock) return work(Sampler);
    }

    internal bool Prune(FrozenTrial trial)
    {
        var snapshot = Snapshot();
        lock (_prunerLock) return Pruner.Prune(snapshot, trial);
    }

    /// <summary>Refuses a parameter suggested as another kind (float, int, categorical) than in earlier trials of the study.</summary>
    internal void CheckConsistent(StudySnapshot snapshot, string name, Distribution distribution)
    {
        string? kind;
        lock (_kinds)
        {
            if (!_kinds.TryGetValue(name, out kind))
            {
                kind = snapshot.Trials.FirstOrDefault(t => t.Distributions.ContainsKey(name))?.Distributions[name].Kind;
                if (kind is not null) _kinds[name] = kind;
            }
        }
        if (kind is not null && kind != distribution.Kind)
            throw new UsageException($"parameter '{name}' is {distribution.Kind} here but {kind} in earlier trials of study '{Name}'");
    }

    private sealed class StartContext(Study study, FrozenTrial trial) : ITrialStartContext
    {
        private StudySnapshot? _snapshot;

        public bool Changed { get; private set; }

        public StudySnapshot Study => _snapshot ??= study.Snapshot();

        public FrozenTrial Trial => trial;

        public IReadOnlySet<string> Claims() => study.Storage.GetClaims(study.Id);

        public bool TryClaim(string key) => study.Storage.TryClaim(study.Id, key, trial.TrialId);

        public void SetSystemAttribute(string key, string valueJson)
        {
            study.Storage.SetTrialSystemAttribute(trial.TrialId, key, valueJson);
            Changed = true;
        }
    }

    // ---------------------------------------------------------------- export

    /// <summary>The trials as a table: number, state, value, each parameter, duration, fail reason.</summary>
    public TrialTable ToTable() => TrialTable.From(Trials);

    /// <summary>
    /// The study as JSON: name, direction, bestValue, bestParams, bestTrial and every trial (number, state, value, params,
    /// intermediate values, user attributes, times, fail reason).
    /// </summary>
    public string ToJson() => StudyJson.Write(this, Trials);
}

/// <summary>Thrown by a sampler's <see cref="ISampler.BeforeTrial"/> when it has nothing left to propose.</summary>
public sealed class SearchSpaceExhaustedException : ForgeException
{
    /// <summary>Creates the error.</summary>
    public SearchSpaceExhaustedException(string message) : base(message) { }
}
