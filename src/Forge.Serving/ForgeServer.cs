using System.Net;
using Forge.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using Scalar.AspNetCore;

namespace Forge.Serving;

/// <summary>
/// Builds Forge's model server. The table of contents: request tracking, errors as problem details, health, metrics,
/// the native API, the Open Inference Protocol, and the OpenAPI document with its Scalar UI.
/// </summary>
public static class ForgeServer
{
    /// <summary>
    /// Checks the options and every model source (bundles verified, registry references resolved: all problems in one
    /// <see cref="UsageException"/>), then builds the server. Models load and warm in the background once it starts;
    /// <c>/health/ready</c> answers 200 only after that.
    /// </summary>
    public static WebApplication Build(ServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var apiKey = options.ApiKey ?? Environment.GetEnvironmentVariable(ServerOptions.ApiKeyVariable);
        options = options with { ApiKey = string.IsNullOrEmpty(apiKey) ? null : apiKey };
        var problems = options.FindProblems();
        if (options.RequireApiKeyForPredict && options.ApiKey is null)
            problems.Add($"predict is to require the API key, but there is none: set {ServerOptions.ApiKeyVariable}");
        if (problems.Count > 0) throw new UsageException(string.Join("; ", problems));
        // Canaries and shadows are served versions like the rest: resolved, loaded and warmed before ready, watched after.
        options = options with { Models = [.. options.Models, .. Challenger.Sources(options)] };
        // Process-wide, and before any model loads: a forward pass uses these threads whatever OMP_NUM_THREADS says.
        Forge.DeepLearning.TorchRuntime.SetThreads(options.InferenceThreads ?? ServerOptions.DefaultInferenceThreads);
        var loaders = options.Loaders ?? ModelLoaderRegistry.CreateDefault();
        var resolved = ModelCatalog.ResolveAll(options, loaders);
        var chat = ChatPage.Configure(options, resolved);

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ApplicationName = typeof(ForgeServer).Assembly.GetName().Name,
            // Not the working directory: an appsettings.json lying there must not reconfigure the server.
            ContentRootPath = AppContext.BaseDirectory,
            Args = [],
        });
        ConfigureLogging(builder.Logging, options);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = options.MaxRequestBytes;
            Listen(kestrel, options.Host, options.Port);
        });
        builder.Services.Configure<HostOptions>(h => h.ShutdownTimeout = options.ShutdownTimeout);
        builder.Services.AddProblemDetails(p => p.CustomizeProblemDetails = c =>
        {
            // One id per request, the one in X-Request-Id and in the logs; ASP.NET's trace id would be a second one.
            c.ProblemDetails.Extensions.Remove("traceId");
            c.ProblemDetails.Extensions["requestId"] = c.HttpContext.TraceIdentifier;
        });
        builder.Services.AddOpenApi(OpenApiDocs.AddJsonBodies);
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(loaders);
        builder.Services.AddSingleton<ServerMetrics>();
        builder.Services.AddSingleton(sp => new ModelCatalog(options, loaders, resolved, sp.GetRequiredService<ServerMetrics>(), sp.GetRequiredService<ILogger<ModelCatalog>>()));
        builder.Services.AddSingleton<PredictionService>();
        builder.Services.AddHostedService<ModelLoadingService>();
        builder.Services.AddBatchJobs();
        builder.Services.AddSingleton<TrafficRouter>();
        builder.Services.AddHostedService<AliasWatcher>();
        builder.Services.AddDriftMonitoring();
        options.ConfigureHost?.Invoke(builder);

        var app = builder.Build();
        app.UseMiddleware<RequestTracking>();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.MapHealth();
        app.MapPrometheus();
        app.MapNativeApi(options);
        app.MapExplainApi(options);
        app.MapManagementApi(options);
        app.MapInferenceProtocol(options);
        app.MapBatchJobs(options);
        app.MapMonitoringApi();
        app.MapChatPage(chat);
        Ui.WebUi.MapWebUi(app, new Ui.UiSettings(options.TrackingUri, options.ArtifactRoot, options.ApiKey, Serving: true));
        app.MapOpenApi();
        app.MapScalarApiReference();
        // After the server has drained its in-flight requests: each model answers what it queued, then is freed.
        var catalog = app.Services.GetRequiredService<ModelCatalog>();
        app.Lifetime.ApplicationStopped.Register(catalog.Dispose);
        return app;
    }

    /// <summary>The addresses the started server listens on, e.g. <c>http://127.0.0.1:41234</c> when port 0 was asked for.</summary>
    public static IReadOnlyList<string> Addresses(WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        return app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.ToArray() ?? [];
    }

    /// <summary>Completes when every model is loaded and warm; faults with a <see cref="ForgeException"/> naming each model that failed.</summary>
    public static Task WaitUntilReadyAsync(WebApplication app, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(app);
        return app.Services.GetRequiredService<ModelCatalog>().Loaded.WaitAsync(cancellationToken);
    }

    /// <summary>Each served model's name, version and where it came from, in the order configured.</summary>
    public static IReadOnlyList<(string Name, string Version, string Origin)> Models(WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        return app.Services.GetRequiredService<ModelCatalog>().Entries.Select(e => (e.Name, e.Version, e.Resolved.Origin)).ToArray();
    }

    private static void Listen(Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerOptions kestrel, string host, int port)
    {
        if (host is "*" or "0.0.0.0" or "+") kestrel.ListenAnyIP(port);
        else if (string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase)) kestrel.Listen(IPAddress.Loopback, port);
        else if (IPAddress.TryParse(host, out var address)) kestrel.Listen(address, port);
        else throw new UsageException($"host '{host}' is not an IP address, 'localhost' or '*'");
    }

    private static void ConfigureLogging(ILoggingBuilder logging, ServerOptions options)
    {
        logging.ClearProviders();
        // Our request id is the one id a request carries; ASP.NET's own request scope and trace ids would add conflicting ones.
        logging.Configure(o => o.ActivityTrackingOptions = ActivityTrackingOptions.None);
        logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.None);
        // Logs go to stderr: stdout stays for what the caller asked for (forge serve --json prints one object there).
        logging.Services.Configure<ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        if (options.JsonLogs)
        {
            logging.AddJsonConsole(o =>
            {
                o.IncludeScopes = true;
                o.UseUtcTimestamp = true;
                o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
            });
        }
        else
        {
            logging.AddSimpleConsole(o =>
            {
                o.IncludeScopes = true;
                o.SingleLine = true;
                o.TimestampFormat = "HH:mm:ss ";
            });
        }
        // ASP.NET Core's own per-request lines repeat ours; its warnings and errors still show.
        logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        logging.AddFilter("Microsoft.Hosting", LogLevel.Warning);
        options.ConfigureLogging?.Invoke(logging);
    }

    private static void MapHealth(this IEndpointRouteBuilder app)
    {
        var health = app.MapGroup("/health").WithTags("Health");
        health.MapGet("/live", () => Results.Json(new HealthStatus("live", null)))
            .WithName("Live").WithSummary("Liveness: the process answers HTTP.").Produces<HealthStatus>();
        health.MapGet("/ready", (ModelCatalog catalog) =>
        {
            var models = catalog.Entries.Select(e => new ModelHealth(e.Name, e.Version, e.State.ToString().ToLowerInvariant(), e.Error)).ToArray();
            var status = catalog.IsReady ? "ready" : models.Any(m => m.State == "failed") ? "failed" : "loading";
            return Results.Json(new HealthStatus(status, models), statusCode: catalog.IsReady ? 200 : 503);
        }).WithName("Ready").WithSummary("Readiness: 200 once every model is loaded and warm, 503 before.").Produces<HealthStatus>().Produces<HealthStatus>(503);
    }

    private static void MapPrometheus(this WebApplication app)
    {
        var metrics = app.Services.GetRequiredService<ServerMetrics>();
        metrics.ListenToHostMeters(app.Services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>());
        // Text format 0.0.4 even when the scraper asks for OpenMetrics: there bucket bounds read le="1.0", and every
        // dashboard and alert written against le="1" would silently match nothing.
        Prometheus.MetricServerMiddlewareExtensions.MapMetrics(app, settings =>
            {
                settings.Registry = metrics.Registry;
                settings.EnableOpenMetrics = false;
            }, "/metrics")
            .WithTags("Health").WithName("Metrics").WithSummary("Prometheus metrics, text exposition format 0.0.4.");
    }
}

/// <summary>The answer of the health endpoints.</summary>
/// <param name="Status">"live", "ready", "loading" or "failed".</param>
/// <param name="Models">Each model's state (readiness only).</param>
internal sealed record HealthStatus(string Status, IReadOnlyList<ModelHealth>? Models);

/// <summary>One model's state in a readiness answer.</summary>
internal sealed record ModelHealth(string Name, string Version, string State, string? Error);

/// <summary>Loads and warms the models after the server has started, so liveness answers while they load.</summary>
internal sealed class ModelLoadingService(ModelCatalog catalog) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.Run(() => catalog.LoadAll(stoppingToken), CancellationToken.None);
}
