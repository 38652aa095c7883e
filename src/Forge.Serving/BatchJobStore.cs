using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using Forge.Core;
using Microsoft.Extensions.Logging;

namespace Forge.Serving;

/// <summary>A batch job's lifecycle; "queued" and "running" are unfinished, the others final.</summary>
internal static class BatchJobStatus
{
    public const string Queued = "queued";
    public const string Running = "running";
    public const string Succeeded = "succeeded";
    public const string Failed = "failed";
    public const string Cancelled = "cancelled";

    public static bool IsFinished(string status) => status is Succeeded or Failed or Cancelled;
}

/// <summary>
/// What is known of a job, as kept in its <c>state.json</c>. <see cref="RowsDone"/> and <see cref="ResultsBytes"/> are
/// the last committed chunk: the results file is at least that long, and a resumed job cuts it back to that length and
/// goes on from that row.
/// </summary>
internal sealed class BatchJobState
{
    public int FormatVersion { get; set; } = 1;

    public string Id { get; set; } = "";

    public string Model { get; set; } = "";

    /// <summary>The version asked for; null follows the model's default version (across reloads).</summary>
    public string? Version { get; set; }

    public string Format { get; set; } = "jsonl";

    public string Status { get; set; } = BatchJobStatus.Queued;

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset? StartedAt { get; set; }

    public DateTimeOffset? FinishedAt { get; set; }

    /// <summary>Seconds spent running, summed over every run of the job (a resumed job runs more than once).</summary>
    public double RunSeconds { get; set; }

    public long UploadBytes { get; set; }

    public long RowsTotal { get; set; }

    public long RowsDone { get; set; }

    public long Errors { get; set; }

    public long ResultsBytes { get; set; }

    public double MaxErrorFraction { get; set; }

    /// <summary>How a CSV row becomes an instance (CSV only).</summary>
    public string? Input { get; set; }

    public string? Reason { get; set; }

    public string? FirstError { get; set; }

    /// <summary>What happened to the job that a client should know, e.g. that it was resumed after a restart.</summary>
    public string? Note { get; set; }

    /// <summary>How many times the job was picked up again after its server stopped.</summary>
    public int Resumes { get; set; }

    /// <summary>The model versions that answered the job's rows.</summary>
    public List<string> Versions { get; set; } = [];

    public BatchJobState Copy()
    {
        var copy = (BatchJobState)MemberwiseClone();
        copy.Versions = [.. Versions];
        return copy;
    }
}

/// <summary>One job this server owns: its state, its folder, the lock that keeps another server off it, and its cancellation.</summary>
internal sealed class BatchJob : IDisposable
{
    public const string StateFile = "state.json";
    public const string LockFile = "lock";

    private readonly FileStream _lock;

    public BatchJob(string directory, BatchJobState state, FileStream lockHandle)
    {
        Directory = directory;
        State = state;
        _lock = lockHandle;
    }

    public string Id => State.Id;

    public string Directory { get; }

    /// <summary>The live state; read and changed under <see cref="Gate"/>.</summary>
    public BatchJobState State { get; }

    public Lock Gate { get; } = new();

    public CancellationTokenSource Cancel { get; } = new();

    /// <summary>True once a client asked to cancel (as opposed to the server stopping).</summary>
    public volatile bool CancelRequested;

    public string InputPath => Path.Combine(Directory, "input." + State.Format);

    public string ResultsPath => Path.Combine(Directory, "results." + State.Format);

    /// <summary>When the current run started (a <see cref="System.Diagnostics.Stopwatch"/> timestamp), 0 when not running; read and changed under <see cref="Gate"/>.</summary>
    public long RunStart { get; set; }

    /// <summary>A copy of the state whose <see cref="BatchJobState.RunSeconds"/> includes the run in progress.</summary>
    public BatchJobState Snapshot()
    {
        lock (Gate)
        {
            var copy = State.Copy();
            if (RunStart != 0) copy.RunSeconds += System.Diagnostics.Stopwatch.GetElapsedTime(RunStart).TotalSeconds;
            return copy;
        }
    }

    /// <summary>Changes the state and writes it to disk atomically (temporary file, flushed, renamed over the old one).</summary>
    public void Update(Action<BatchJobState> change)
    {
        // Written under the same lock as the change, so two updates never reach the disk in the opposite order.
        lock (Gate)
        {
            change(State);
            BatchJobStore.WriteState(Directory, State);
        }
    }

    public void Dispose()
    {
        _lock.Dispose();
        Cancel.Dispose();
    }
}

/// <summary>
/// The jobs directory: one folder per job holding <c>state.json</c>, the uploaded input and the results. A job being
/// worked on is locked (an exclusive lock on its <c>lock</c> file, which the operating system drops when the process dies),
/// so two servers over one directory never run the same job, and a crashed server's jobs are free to resume.
/// </summary>
internal sealed class BatchJobStore : IDisposable
{
    private const string IncomingPrefix = ".incoming-";
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    private readonly ConcurrentDictionary<string, BatchJob> _jobs = new(StringComparer.Ordinal);
    private readonly ILogger _logger;
    private readonly bool _temporary;

    public BatchJobStore(ServerOptions options, ILogger<BatchJobStore> logger)
    {
        _logger = logger;
        Options = options.BatchJobs ?? new BatchJobOptions();
        var dir = Options.ResolveDirectory(options.Port);
        _temporary = dir is null;
        Root = dir ?? Path.Combine(Path.GetTempPath(), "forge-batch-jobs-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6)));
    }

    public BatchJobOptions Options { get; }

    public string Root { get; }

    /// <summary>The jobs this server owns now (queued, running, or finished while it ran).</summary>
    public ICollection<BatchJob> OwnedJobs => _jobs.Values;

    public int Unfinished => _jobs.Values.Count(j => !BatchJobStatus.IsFinished(j.Snapshot().Status));

    /// <summary>A new job id: sortable by creation time, and unguessable enough that ids are not enumerated by accident.</summary>
    public static string NewId() =>
        DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture) + "-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(5));

    /// <summary>Whether <paramref name="id"/> can be a job id (it becomes a folder name, so nothing that could climb out of the jobs directory).</summary>
    public static bool IsValidId(string? id) =>
        !string.IsNullOrEmpty(id) && id.Length <= 64 && char.IsAsciiLetterOrDigit(id[0]) && id.All(c => char.IsAsciiLetterOrDigit(c) || c == '-');

    /// <summary>A folder for an upload in progress; it becomes a job only when the upload is complete.</summary>
    public string CreateIncoming(string id)
    {
        var dir = Path.Combine(Root, IncomingPrefix + id);
        System.IO.Directory.CreateDirectory(dir);
        return dir;
    }

    /// <summary>Turns a complete upload into a queued job this server owns.</summary>
    public BatchJob Commit(string incoming, BatchJobState state)
    {
        var dir = Path.Combine(Root, state.Id);
        WriteState(incoming, state);
        System.IO.Directory.Move(incoming, dir);
        var job = new BatchJob(dir, state, TakeLock(dir) ?? throw new IOException($"job {state.Id} was locked by someone else as it was created"));
        _jobs[state.Id] = job;
        return job;
    }

    /// <summary>The job's state: live when this server owns it, else as last written by whoever ran it.</summary>
    public BatchJobState? Find(string id)
    {
        if (_jobs.TryGetValue(id, out var job)) return job.Snapshot();
        return ReadState(Path.Combine(Root, id));
    }

    /// <summary>The job when this server owns it.</summary>
    public BatchJob? GetOwned(string id) => _jobs.TryGetValue(id, out var job) ? job : null;

    /// <summary>Every job in the directory, newest first.</summary>
    public IReadOnlyList<BatchJobState> List()
    {
        if (!System.IO.Directory.Exists(Root)) return [];
        var result = new List<BatchJobState>();
        foreach (var dir in System.IO.Directory.EnumerateDirectories(Root))
        {
            var id = Path.GetFileName(dir);
            if (!IsValidId(id)) continue;
            if (Find(id) is { } state) result.Add(state);
        }
        return result.OrderByDescending(s => s.CreatedAt).ThenByDescending(s => s.Id, StringComparer.Ordinal).ToList();
    }

    /// <summary>
    /// Takes over every job left unfinished in the directory by a server that is gone (its lock is free): each comes back
    /// as it was written, for the runner to resume or fail. Half-finished uploads are removed: no client was given their id.
    /// </summary>
    public List<BatchJob> Recover()
    {
        var recovered = new List<BatchJob>();
        if (!System.IO.Directory.Exists(Root)) return recovered;
        foreach (var dir in System.IO.Directory.EnumerateDirectories(Root).Order(StringComparer.Ordinal))
        {
            var name = Path.GetFileName(dir);
            if (name.StartsWith(IncomingPrefix, StringComparison.Ordinal))
            {
                TryDelete(dir);
                continue;
            }
            if (!IsValidId(name) || _jobs.ContainsKey(name)) continue;
            BatchJobState? state;
            try
            {
                state = ReadState(dir);
            }
            catch (Exception e) when (e is IOException or JsonException)
            {
                _logger.LogWarning("batch job folder {Dir} has an unreadable state file, skipped: {Error}", dir, e.Message);
                continue;
            }
            if (state is null || BatchJobStatus.IsFinished(state.Status)) continue;
            var handle = TakeLock(dir);
            if (handle is null)
            {
                _logger.LogInformation("batch job {Id} is being run by another server over {Root}; left to it", name, Root);
                continue;
            }
            // Read again under the lock: the other server may have finished it between the first read and the lock.
            state = ReadState(dir);
            if (state is null || BatchJobStatus.IsFinished(state.Status))
            {
                handle.Dispose();
                continue;
            }
            var job = new BatchJob(dir, state, handle);
            _jobs[name] = job;
            recovered.Add(job);
        }
        return recovered;
    }

    /// <summary>Removes a finished job's folder.</summary>
    public bool Delete(string id)
    {
        var dir = Path.Combine(Root, id);
        if (_jobs.TryRemove(id, out var job)) job.Dispose();
        else
        {
            // Someone else's job may only go when it is finished and nobody holds it.
            using var handle = TakeLock(dir);
            if (handle is null) return false;
        }
        return TryDelete(dir);
    }

    internal static void WriteState(string directory, BatchJobState state)
    {
        AtomicFile.Write(Path.Combine(directory, BatchJob.StateFile), stream => JsonSerializer.Serialize(stream, state, Json));
    }

    internal static BatchJobState? ReadState(string directory)
    {
        var path = Path.Combine(directory, BatchJob.StateFile);
        if (!File.Exists(path)) return null;
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        return JsonSerializer.Deserialize<BatchJobState>(stream, Json);
    }

    /// <summary>The job folder's exclusive lock, or null when another process (or another server in this one) holds it.</summary>
    private static FileStream? TakeLock(string directory)
    {
        try
        {
            return new FileStream(Path.Combine(directory, BatchJob.LockFile), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException)
        {
            return null;
        }
    }

    private bool TryDelete(string dir)
    {
        try
        {
            if (System.IO.Directory.Exists(dir)) System.IO.Directory.Delete(dir, recursive: true);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _logger.LogWarning("could not remove {Dir}: {Error}", dir, e.Message);
            return false;
        }
    }

    /// <summary>Releases every job's lock; a temporary jobs directory goes with the server.</summary>
    public void Dispose()
    {
        foreach (var job in _jobs.Values) job.Dispose();
        _jobs.Clear();
        if (_temporary) TryDelete(Root);
    }
}
