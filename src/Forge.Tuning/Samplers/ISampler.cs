namespace Forge.Tuning;

/// <summary>What a sampler or pruner sees of a study: its name, direction and a snapshot of its trials.</summary>
public sealed class StudySnapshot
{
    /// <summary>Creates a snapshot.</summary>
    public StudySnapshot(string studyName, StudyDirection direction, IReadOnlyList<FrozenTrial> trials)
    {
        ArgumentNullException.ThrowIfNull(studyName);
        ArgumentNullException.ThrowIfNull(trials);
        StudyName = studyName;
        Direction = direction;
        Trials = trials;
    }

    /// <summary>The study's name.</summary>
    public string StudyName { get; }

    /// <summary>Whether the study minimises or maximises.</summary>
    public StudyDirection Direction { get; }

    /// <summary>Every trial when the snapshot was taken, by number.</summary>
    public IReadOnlyList<FrozenTrial> Trials { get; }

    /// <summary>+1 when minimising, -1 when maximising: multiply a value by it and smaller is always better.</summary>
    public double Sign => Direction == StudyDirection.Minimize ? 1.0 : -1.0;
}

/// <summary>What a sampler may do when a trial starts: claim study-wide keys atomically and tag the trial.</summary>
public interface ITrialStartContext
{
    /// <summary>The study, with its trials as they were when the trial started.</summary>
    StudySnapshot Study { get; }

    /// <summary>The trial being started.</summary>
    FrozenTrial Trial { get; }

    /// <summary>Keys already claimed in the study (by any worker).</summary>
    IReadOnlySet<string> Claims();

    /// <summary>Claims a key for this trial; true for exactly one caller across all workers sharing the storage.</summary>
    bool TryClaim(string key);

    /// <summary>Records a system attribute (JSON text) on the trial.</summary>
    void SetSystemAttribute(string key, string valueJson);
}

/// <summary>
/// Chooses parameter values. A sampler is one class with one job and sees only read-only snapshots. The study calls, in
/// order: <see cref="BeforeTrial"/> when a trial starts; at the first suggestion, <see cref="InferRelativeSearchSpace"/>
/// and <see cref="SampleRelative"/> for the parameters it samples jointly; <see cref="SampleIndependent"/> for any other
/// parameter; and <see cref="AfterTrial"/> when the trial finishes. The study serialises calls, so a sampler needs no
/// locks, but one sampler instance serves one study. Values are internal numbers (see <see cref="Distribution"/>).
/// </summary>
public interface ISampler
{
    /// <summary>The parameters to sample jointly for this trial (empty for samplers that work one parameter at a time).</summary>
    IReadOnlyDictionary<string, Distribution> InferRelativeSearchSpace(StudySnapshot study, FrozenTrial trial);

    /// <summary>Joint values for (some of) the parameters of <paramref name="searchSpace"/>; leave out any it does not choose.</summary>
    IReadOnlyDictionary<string, double> SampleRelative(StudySnapshot study, FrozenTrial trial, IReadOnlyDictionary<string, Distribution> searchSpace);

    /// <summary>A value for one parameter the relative step did not choose.</summary>
    double SampleIndependent(StudySnapshot study, FrozenTrial trial, string name, Distribution distribution);

    /// <summary>Called when a trial starts, before any suggestion.</summary>
    void BeforeTrial(ITrialStartContext context) { }

    /// <summary>Called after a trial finished, with its final snapshot.</summary>
    void AfterTrial(FrozenTrial trial) { }

    /// <summary>
    /// True when the sampler has nothing left to propose (a grid with every point claimed); the study then starts no
    /// more trials. <paramref name="claims"/> reads the study's claimed keys when called.
    /// </summary>
    bool IsExhausted(Func<IReadOnlySet<string>> claims) => false;
}
