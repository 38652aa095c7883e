using Forge.Core;

namespace Forge.Tracking;

/// <summary>
/// The tracking store and model registry in one: what <c>TrackingStore.Open</c> returns. Code that needs only one side
/// takes <see cref="IRunStore"/> or <see cref="IModelRegistry"/>. Every method is safe to call from several threads and
/// from several processes sharing the same database. Unknown names raise <see cref="NotFoundException"/> with a
/// suggestion; bad input raises <see cref="UsageException"/> and changes nothing.
/// </summary>
public interface ITrackingStore : IRunStore, IModelRegistry
{
}

/// <summary>Experiments and runs: params, tags, metric histories, artifacts, search, heartbeats and status.</summary>
public interface IRunStore : IDisposable
{
    /// <summary>A description of where the store lives (a file path, or a PostgreSQL URI without its password).</summary>
    string Location { get; }

    /// <summary>The folder under which artifacts and registered bundles are copied.</summary>
    string ArtifactRoot { get; }

    /// <summary>The schema version the database is at.</summary>
    int SchemaVersion { get; }

    /// <summary>Returns the experiment named <paramref name="name"/>, creating it when it does not exist.</summary>
    Experiment GetOrCreateExperiment(string name);

    /// <summary>Returns the experiment named <paramref name="name"/>; throws <see cref="NotFoundException"/> when there is none.</summary>
    Experiment GetExperiment(string name);

    /// <summary>Every experiment, by name.</summary>
    IReadOnlyList<Experiment> ListExperiments();

    /// <summary>Starts a run in <paramref name="experimentName"/> (created when missing) with status Running and a fresh heartbeat.</summary>
    RunInfo CreateRun(string experimentName, string? runName = null, string? parentRunId = null);

    /// <summary>Returns a run with its params, tags and latest metrics; deleted runs are returned too, marked.</summary>
    Run GetRun(string runId);

    /// <summary>Records parameters; a key keeps its first value, and logging a different value for it is refused.</summary>
    void LogParams(string runId, IReadOnlyDictionary<string, string> parameters);

    /// <summary>Sets tags, replacing earlier values of the same keys.</summary>
    void SetTags(string runId, IReadOnlyDictionary<string, string> tags);

    /// <summary>Appends metric points in one transaction and keeps the latest value of each key up to date.</summary>
    void LogMetrics(string runId, IReadOnlyList<MetricPoint> points);

    /// <summary>Every point of one metric of a run, ordered by step then timestamp.</summary>
    IReadOnlyList<MetricPoint> GetMetricHistory(string runId, string key);

    /// <summary>Marks the run alive now, so it is not reported stale.</summary>
    void Heartbeat(string runId);

    /// <summary>Sets the run's status; a final status (anything but Running) also sets the end time.</summary>
    void SetRunStatus(string runId, RunStatus status);

    /// <summary>
    /// Copies a file or directory into the run's artifact folder (each file written to a temporary name, then renamed),
    /// records each file's size and SHA-256 and returns them. A file goes into the folder <paramref name="artifactPath"/>
    /// (the root when null); a directory's contents go under <paramref name="artifactPath"/>, or its own name when null.
    /// </summary>
    IReadOnlyList<ArtifactInfo> LogArtifact(string runId, string localPath, string? artifactPath = null);

    /// <summary>Every artifact file recorded for the run, by path.</summary>
    IReadOnlyList<ArtifactInfo> ListArtifacts(string runId);

    /// <summary>Finds runs matching a filter, sorted and paged; see <see cref="RunQuery"/>.</summary>
    RunPage SearchRuns(RunQuery query);

    /// <summary>Soft-deletes a run: it disappears from searches but keeps its data; refused while a model version references it.</summary>
    void DeleteRun(string runId);

    /// <summary>Brings back a soft-deleted run.</summary>
    void RestoreRun(string runId);

}

/// <summary>The model registry: registered models, their versions (bundles with lineage), aliases, tags and export.</summary>
public interface IModelRegistry : IDisposable
{
    /// <summary>Registers a model name (with no versions yet); an existing name is returned unchanged.</summary>
    RegisteredModel CreateRegisteredModel(string name, string? description = null);

    /// <summary>Returns a registered model; throws <see cref="NotFoundException"/> with a suggestion for an unknown name.</summary>
    RegisteredModel GetRegisteredModel(string name);

    /// <summary>Every registered model, by name.</summary>
    IReadOnlyList<RegisteredModel> ListRegisteredModels();

    /// <summary>
    /// Verifies the bundle at <paramref name="bundlePath"/> (a directory or a .forge file), copies it into the artifact
    /// store and records it as the next version of <paramref name="name"/> (registered on first use). Each call makes a new
    /// version, even for the same bundle; concurrent calls get consecutive, unique numbers. The lineage comes from the
    /// bundle's training section; <paramref name="runId"/>, when given, must exist and overrides the bundle's run id.
    /// </summary>
    ModelVersion RegisterModelVersion(string name, string bundlePath, string? runId = null, string? description = null);

    /// <summary>Registers the bundle a run logged as an artifact at <paramref name="artifactPath"/> (default "model").</summary>
    ModelVersion RegisterModelVersionFromRun(string name, string runId, string artifactPath = "model", string? description = null);

    /// <summary>Returns one version of a model.</summary>
    ModelVersion GetModelVersion(string name, int version);

    /// <summary>Every version of a model, oldest first.</summary>
    IReadOnlyList<ModelVersion> ListModelVersions(string name);

    /// <summary>
    /// Resolves a model reference: <c>name</c> or <c>name@latest</c> (the highest version), <c>name@alias</c>, or
    /// <c>name/version</c>.
    /// </summary>
    ModelVersion ResolveModel(string reference);

    /// <summary>Points <paramref name="alias"/> (e.g. "champion") at an existing version, moving it from any other version.</summary>
    void SetAlias(string name, string alias, int version);

    /// <summary>Removes an alias; throws <see cref="NotFoundException"/> when the model has no such alias.</summary>
    void DeleteAlias(string name, string alias);

    /// <summary>Sets or replaces a registered model's tag.</summary>
    void SetModelTag(string name, string key, string value);

    /// <summary>Sets or replaces a model version's tag.</summary>
    void SetModelVersionTag(string name, int version, string key, string value);

    /// <summary>Sets a registered model's description (null clears it).</summary>
    void SetModelDescription(string name, string? description);

    /// <summary>Sets a model version's description (null clears it).</summary>
    void SetModelVersionDescription(string name, int version, string? description);

    /// <summary>
    /// Copies the bundle a reference resolves to (see <see cref="ResolveModel"/>) into <paramref name="outDirectory"/>,
    /// which must not exist yet, atomically, and returns it loaded and verified.
    /// </summary>
    ModelBundle ExportModel(string reference, string outDirectory);
}
