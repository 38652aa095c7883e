using System.Globalization;
using Forge.Core;

namespace Forge.Serving;

/// <summary>Batch inference jobs (<c>/v1/batch-jobs</c>): where their files live and how hard they may push the models.</summary>
public sealed record BatchJobOptions
{
    /// <summary>
    /// The jobs directory. Null: <c>$FORGE_HOME/batch-jobs/port-PORT</c>, so a server restarted on the same port finds
    /// and resumes its jobs; with port 0 (a test server) a temporary directory removed when the server stops.
    /// </summary>
    public string? Directory { get; init; }

    /// <summary>Rows read, decoded and predicted together; progress is committed after each chunk.</summary>
    public int ChunkRows { get; init; } = 256;

    /// <summary>Chunks in flight at once; bounds the job's memory and its share of the model's queue.</summary>
    public int MaxParallelChunks { get; init; } = 4;

    /// <summary>Jobs running at once; the others wait in the queue.</summary>
    public int MaxConcurrentJobs { get; init; } = 1;

    /// <summary>Jobs queued or running at once; one more upload is answered 429.</summary>
    public int MaxUnfinishedJobs { get; init; } = 100;

    /// <summary>The largest upload accepted (413 above it). Default 2 GB.</summary>
    public long MaxUploadBytes { get; init; } = 2L * 1024 * 1024 * 1024;

    /// <summary>The longest single row (a JSONL line or a CSV record); a longer one becomes an error record for that row.</summary>
    public int MaxRowBytes { get; init; } = 4 * 1024 * 1024;

    /// <summary>
    /// The fraction of rows that may fail validation before the whole job fails; a job may override it with
    /// <c>maxErrorFraction</c>. Default 0.1.
    /// </summary>
    public double MaxErrorFraction { get; init; } = 0.1;

    /// <summary>The jobs directory this server uses, given its port; null with port 0 means a fresh temporary one.</summary>
    internal string? ResolveDirectory(int port) =>
        Directory is { } dir ? Path.GetFullPath(dir)
        : port > 0 ? Path.Combine(ForgeHome.Directory, "batch-jobs", "port-" + port.ToString(CultureInfo.InvariantCulture))
        : null;

    internal IEnumerable<string> FindProblems(string field)
    {
        if (ChunkRows < 1) yield return $"{field}.chunkRows {ChunkRows} must be at least 1";
        if (MaxParallelChunks < 1) yield return $"{field}.maxParallelChunks {MaxParallelChunks} must be at least 1";
        if (MaxConcurrentJobs < 1) yield return $"{field}.maxConcurrentJobs {MaxConcurrentJobs} must be at least 1";
        if (MaxUnfinishedJobs < 1) yield return $"{field}.maxUnfinishedJobs {MaxUnfinishedJobs} must be at least 1";
        if (MaxUploadBytes < 1024) yield return $"{field}.maxUploadBytes {MaxUploadBytes} is below 1 KB";
        if (MaxRowBytes < 64) yield return $"{field}.maxRowBytes {MaxRowBytes} is below 64 bytes";
        if (!double.IsFinite(MaxErrorFraction) || MaxErrorFraction is < 0 or > 1)
            yield return $"{field}.maxErrorFraction {MaxErrorFraction} must be between 0 and 1";
        if (Directory is not null && string.IsNullOrWhiteSpace(Directory)) yield return $"{field}.directory is empty";
    }
}
