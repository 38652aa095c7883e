using Forge.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;

namespace Forge.Serving;

/// <summary>Everything <see cref="ForgeServer.Build"/> needs: the models, where to listen, and the server's limits.</summary>
public sealed record ServerOptions
{
    /// <summary>The environment variable holding the API key when <see cref="ApiKey"/> is not set.</summary>
    public const string ApiKeyVariable = "FORGE_API_KEY";

    /// <summary>The models to serve; each becomes one name and version.</summary>
    public IReadOnlyList<ModelSource> Models { get; init; } = [];

    /// <summary>The address to listen on: an IP address, "localhost", or "*" / "0.0.0.0" for every interface.</summary>
    public string Host { get; init; } = "127.0.0.1";

    /// <summary>The TCP port; 0 picks a free one (read it back with <see cref="ForgeServer.Addresses"/>).</summary>
    public int Port { get; init; } = 8080;

    /// <summary>
    /// Threads each forward pass may use (libtorch's intra-op threads); null means <see cref="DefaultInferenceThreads"/>.
    /// The server sets this itself, so <c>OMP_NUM_THREADS</c> in the environment cannot make inference fight the HTTP
    /// threads for the cores.
    /// </summary>
    public int? InferenceThreads { get; init; }

    /// <summary>Half the cores, at least one: the other half parse requests and write answers while a batch runs.</summary>
    public static int DefaultInferenceThreads => Math.Max(1, Environment.ProcessorCount / 2);

    /// <summary>Batching for every model that does not set its own <see cref="ModelSource.Batching"/>.</summary>
    public BatchingOptions Batching { get; init; } = new();

    /// <summary>The largest request body accepted; a larger one is answered 413. Default 10 MB.</summary>
    public long MaxRequestBytes { get; init; } = 10 * 1024 * 1024;

    /// <summary>How long one prediction request may wait for its answer before it is answered 504.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long shutdown waits for in-flight requests to finish.</summary>
    public TimeSpan ShutdownTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The key management endpoints require; null reads <c>FORGE_API_KEY</c>. Without a key they are refused.</summary>
    public string? ApiKey { get; init; }

    /// <summary>Also require the API key for prediction and inference requests.</summary>
    public bool RequireApiKeyForPredict { get; init; }

    /// <summary>The tracking store registry references are resolved in (null: <c>FORGE_TRACKING_URI</c>, else <c>$FORGE_HOME/forge.db</c>).</summary>
    public string? TrackingUri { get; init; }

    /// <summary>The loaders that turn bundles into servable models; null means <see cref="ModelLoaderRegistry.CreateDefault"/>.</summary>
    public ModelLoaderRegistry? Loaders { get; init; }

    /// <summary>Batch jobs: the jobs directory (<c>--jobs-dir</c>), chunking, limits.</summary>
    public BatchJobOptions BatchJobs { get; init; } = new();

    /// <summary>Write logs as one JSON object a line (for log collectors) instead of plain text.</summary>
    public bool JsonLogs { get; init; }

    /// <summary>Adjusts logging after Forge's defaults, e.g. to capture logs in tests.</summary>
    public Action<ILoggingBuilder>? ConfigureLogging { get; init; }

    /// <summary>
    /// Adjusts the host after Forge has configured it and before it is built: a host embedding the server adds its own
    /// services; in-memory tests swap Kestrel for <c>TestServer</c> (the listen address is then unused).
    /// </summary>
    public Action<WebApplicationBuilder>? ConfigureHost { get; init; }

    /// <summary>The text model the <c>/chat</c> demo page calls; null picks the first text model served.</summary>
    public string? ChatModel { get; init; }
    /// <summary>How often served registry aliases are resolved again; a moved alias is loaded, warmed and swapped in. Zero turns watching off.</summary>
    public TimeSpan WatchInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Canary and shadow versions served beside a registry model's main version.</summary>
    public IReadOnlyList<Challenger> Challengers { get; init; } = [];

    /// <summary>The largest bundle <c>POST /v1/models</c> accepts; a larger one is answered 413. Default 500 MB.</summary>
    public long MaxUploadBytes { get; init; } = 500L * 1024 * 1024;

    /// <summary>Where uploaded bundles are stored when registered; null means the tracking store's default (<c>$FORGE_HOME/artifacts</c>).</summary>
    public string? ArtifactRoot { get; init; }

    /// <summary>Live drift monitoring of models whose bundle carries a reference profile: window, schedule, feedback, webhook.</summary>
    public DriftServingOptions Drift { get; init; } = new();

    /// <summary>Every problem with these options, so one error reports them all.</summary>
    internal List<string> FindProblems()
    {
        var problems = new List<string>();
        if (Models is null || Models.Count == 0) problems.Add("no models to serve: give at least one bundle folder or registry reference");
        if (Port is < 0 or > 65535) problems.Add($"port {Port} is not between 0 and 65535");
        if (string.IsNullOrWhiteSpace(Host)) problems.Add("host is empty");
        if (MaxRequestBytes < 1024) problems.Add($"the request size limit {MaxRequestBytes} bytes is below 1 KB");
        if (InferenceThreads is < 1) problems.Add($"inference threads must be at least 1 (got {InferenceThreads})");
        if (RequestTimeout <= TimeSpan.Zero) problems.Add("the request timeout must be positive");
        if (ShutdownTimeout < TimeSpan.Zero) problems.Add("the shutdown timeout must not be negative");
        problems.AddRange((Batching ?? new BatchingOptions()).FindProblems("batching"));
        problems.AddRange((BatchJobs ?? new BatchJobOptions()).FindProblems("batchJobs"));
        if (WatchInterval < TimeSpan.Zero) problems.Add("the watch interval must not be negative (0 turns watching off)");
        if (MaxUploadBytes < 1024) problems.Add($"the upload size limit {MaxUploadBytes} bytes is below 1 KB");
        problems.AddRange(Challenger.FindProblems(this));
        problems.AddRange((Drift ?? new DriftServingOptions()).FindProblems("drift"));
        foreach (var (source, i) in (Models ?? []).Select((s, i) => (s, i)))
        {
            if (source is null) problems.Add($"models[{i}] is null");
            else problems.AddRange(source.FindProblems($"models[{i}]"));
        }
        return problems;
    }
}

/// <summary>How one model's concurrent requests are coalesced into forward passes.</summary>
public sealed record BatchingOptions
{
    /// <summary>The most rows one forward pass takes; 1 switches batching off.</summary>
    public int MaxBatchSize { get; init; } = 32;

    /// <summary>How long the first request of a batch waits for others to join it, in milliseconds.</summary>
    public double MaxDelayMs { get; init; } = 2;

    /// <summary>How many requests may wait for the model; one more is answered 503 rather than queued without bound.</summary>
    public int QueueCapacity { get; init; } = 1024;

    /// <summary>
    /// Forward passes of one model that may run at once, each on <see cref="ServerOptions.InferenceThreads"/> threads
    /// (models that cannot predict from several threads use one). Two overlap one batch's forward pass with the next
    /// one's: on 2 cores at 64 connections that served 1,480-1,640 MNIST requests/s against 1,050-1,250 with one
    /// (docs/serving.md).
    /// </summary>
    public int Workers { get; init; } = 2;

    internal IEnumerable<string> FindProblems(string field)
    {
        if (MaxBatchSize < 1) yield return $"{field}.maxBatchSize {MaxBatchSize} must be at least 1";
        if (!double.IsFinite(MaxDelayMs) || MaxDelayMs < 0) yield return $"{field}.maxDelayMs {MaxDelayMs} must be 0 or more";
        if (QueueCapacity < 1) yield return $"{field}.queueCapacity {QueueCapacity} must be at least 1";
        if (Workers is < 1 or > 64) yield return $"{field}.workers {Workers} must be between 1 and 64";
    }
}

/// <summary>Where one served model comes from: a bundle folder (or .forge file), or the registry by name and alias.</summary>
public sealed record ModelSource
{
    /// <summary>The alias a registry reference without one resolves to.</summary>
    public const string DefaultAlias = "champion";

    /// <summary>A bundle directory or .forge file; set this or <see cref="RegistryReference"/>.</summary>
    public string? BundlePath { get; init; }

    /// <summary>A registry reference: <c>name@alias</c>, <c>name/version</c> or <c>name</c> (meaning <c>name@champion</c>).</summary>
    public string? RegistryReference { get; init; }

    /// <summary>The name clients call the model by; default the registered name, else the bundle's manifest name.</summary>
    public string? Name { get; init; }

    /// <summary>The version clients see; default the registry version number, else "1".</summary>
    public string? Version { get; init; }

    /// <summary>This model's batching; null uses <see cref="ServerOptions.Batching"/>.</summary>
    public BatchingOptions? Batching { get; init; }

    /// <summary>Primary for configured models; canary and shadow sources are added by the server for <see cref="ServerOptions.Challengers"/>.</summary>
    internal ModelRole Role { get; init; }

    /// <summary>A model served from a bundle directory or .forge file.</summary>
    public static ModelSource FromBundle(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        return new ModelSource { BundlePath = path };
    }

    /// <summary>A model served from the registry: <c>name@alias</c>, <c>name/version</c>, or <c>name</c> for <c>name@champion</c>.</summary>
    public static ModelSource FromRegistry(string reference)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(reference);
        var text = reference.Trim();
        if (!text.Contains('@', StringComparison.Ordinal) && !text.Contains('/', StringComparison.Ordinal)) text += "@" + DefaultAlias;
        return new ModelSource { RegistryReference = text };
    }

    /// <summary>What the source is, for logs and listings.</summary>
    public override string ToString() => BundlePath ?? (RegistryReference is null ? "(nothing)" : "registry:" + RegistryReference);

    internal IEnumerable<string> FindProblems(string field)
    {
        if ((BundlePath is null) == (RegistryReference is null))
            yield return $"{field}: give exactly one of a bundle path and a registry reference";
        if (Name is not null && ModelNames.Problem(Name) is { } nameProblem) yield return $"{field}.name: {nameProblem}";
        if (Version is not null && ModelNames.VersionProblem(Version) is { } versionProblem) yield return $"{field}.version: {versionProblem}";
        if (Batching is not null)
        {
            foreach (var p in Batching.FindProblems($"{field}.batching")) yield return p;
        }
    }
}
