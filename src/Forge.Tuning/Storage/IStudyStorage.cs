namespace Forge.Tuning;

/// <summary>A study as a storage knows it.</summary>
/// <param name="Id">The storage's id of the study.</param>
/// <param name="Name">The study's unique name.</param>
/// <param name="Direction">Whether the study minimises or maximises.</param>
/// <param name="Created">When the study was created.</param>
/// <param name="Attributes">Study attributes as JSON text (e.g. the tracking run a CLI nests trials under).</param>
public sealed record StudyInfo(long Id, string Name, StudyDirection Direction, DateTimeOffset Created, IReadOnlyDictionary<string, string> Attributes);

/// <summary>How <see cref="IStudyStorage.StartTrial"/> starts a trial.</summary>
public sealed record TrialStartRequest
{
    /// <summary>
    /// A study-wide limit: no new trial is created once the study holds this many trials (retried failures not
    /// counted); waiting trials are still handed out. Null for no limit.
    /// </summary>
    public int? MaxTrials { get; init; }

    /// <summary>Record a heartbeat at start, so the trial can be found stale if its worker dies.</summary>
    public bool Heartbeat { get; init; }
}

/// <summary>
/// Where studies and their trials live. Every method is one atomic step, safe to call from several threads and, for
/// shared storages (SQL), from several processes on several machines: trial numbers are never given twice, a waiting
/// trial is handed to one worker only, a claim key is granted once, and a finished trial never changes again.
/// Implementations: <see cref="InMemoryStudyStorage"/> here, and the SQL storage in Forge.Tracking (SQLite, PostgreSQL).
/// Unknown names raise <c>NotFoundException</c>; changing a finished trial raises <c>UsageException</c>.
/// </summary>
public interface IStudyStorage : IDisposable
{
    /// <summary>Where the storage lives, for messages (never with a password).</summary>
    string Location { get; }

    /// <summary>Creates a study; when the name is taken, returns it if <paramref name="loadIfExists"/> (and its direction matches), else refuses.</summary>
    StudyInfo CreateStudy(string name, StudyDirection direction, bool loadIfExists);

    /// <summary>The study of that name; <c>NotFoundException</c> with the closest name when there is none.</summary>
    StudyInfo GetStudy(string name);

    /// <summary>Every study, by name.</summary>
    IReadOnlyList<StudyInfo> ListStudies();

    /// <summary>Deletes a study and all its trials.</summary>
    void DeleteStudy(string name);

    /// <summary>Sets a study attribute (JSON text), replacing an earlier value.</summary>
    void SetStudyAttribute(long studyId, string key, string valueJson);

    /// <summary>
    /// Starts a trial in one atomic step: hands out the oldest waiting trial if there is one (setting it running), else
    /// creates a running trial with the next number, unless <see cref="TrialStartRequest.MaxTrials"/> is reached (then null).
    /// </summary>
    FrozenTrial? StartTrial(long studyId, TrialStartRequest request);

    /// <summary>Adds a waiting trial with the given system and user attributes (JSON text), e.g. fixed parameters.</summary>
    FrozenTrial EnqueueTrial(long studyId, IReadOnlyDictionary<string, string> systemAttributes, IReadOnlyDictionary<string, string> userAttributes);

    /// <summary>Records a parameter of a running trial; setting it again to the same value is allowed, to another is refused.</summary>
    void SetTrialParam(long trialId, string name, double internalValue, Distribution distribution);

    /// <summary>Records an intermediate value of a running trial; a step already reported keeps its first value.</summary>
    void ReportIntermediateValue(long trialId, long step, double value);

    /// <summary>Sets a user attribute (JSON text) of a running or waiting trial.</summary>
    void SetTrialUserAttribute(long trialId, string key, string valueJson);

    /// <summary>Sets a system attribute (JSON text) of a running or waiting trial.</summary>
    void SetTrialSystemAttribute(long trialId, string key, string valueJson);

    /// <summary>
    /// Finishes a running trial (Complete with a value, Pruned, or Fail with a reason). Returns false, changing nothing,
    /// when the trial was already finished, e.g. failed as stale while its worker was slow.
    /// </summary>
    bool FinishTrial(long trialId, TrialState state, double? value, string? failReason);

    /// <summary>Marks the running trial's worker alive now.</summary>
    void RecordHeartbeat(long trialId);

    /// <summary>
    /// Fails every running trial of the study whose last heartbeat is older than <paramref name="gracePeriod"/> and
    /// returns those this call failed (each stale trial is failed by exactly one caller).
    /// </summary>
    IReadOnlyList<FrozenTrial> FailStaleTrials(long studyId, TimeSpan gracePeriod);

    /// <summary>
    /// Replaces a failed trial by a waiting copy with the same parameters (fixed) and a <c>retry_of</c> attribute, and
    /// marks the failed one retried, in one step. Returns null when the trial is not failed or was already retried.
    /// </summary>
    FrozenTrial? RetryTrial(long trialId);

    /// <summary>Claims a key in the study for a trial (e.g. a grid point); true for exactly one caller per key.</summary>
    bool TryClaim(long studyId, string key, long trialId);

    /// <summary>The keys claimed in the study so far.</summary>
    IReadOnlySet<string> GetClaims(long studyId);

    /// <summary>One trial's current snapshot.</summary>
    FrozenTrial GetTrial(long trialId);

    /// <summary>Every trial of the study, by number.</summary>
    IReadOnlyList<FrozenTrial> GetTrials(long studyId);
}
