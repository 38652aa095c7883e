using System.Net;
using Forge.Core;
using Forge.Serving.Ui;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace Forge.Serving;

/// <summary>What <see cref="UiServer.Build"/> needs: the tracking store to show and where to listen.</summary>
public sealed record UiOptions
{
    /// <summary>The tracking store (null: <c>FORGE_TRACKING_URI</c>, else <c>$FORGE_HOME/forge.db</c>).</summary>
    public string? TrackingUri { get; init; }

    /// <summary>Where the store keeps artifacts; null means its default (<c>$FORGE_HOME/artifacts</c>).</summary>
    public string? ArtifactRoot { get; init; }

    /// <summary>The address to listen on: an IP address, "localhost", or "*" for every interface. Default 127.0.0.1.</summary>
    public string Host { get; init; } = "127.0.0.1";

    /// <summary>The TCP port; 0 picks a free one. Default 8090.</summary>
    public int Port { get; init; } = 8090;

    /// <summary>The key moving an alias requires; null reads <c>FORGE_API_KEY</c>. Without a key, aliases cannot be moved.</summary>
    public string? ApiKey { get; init; }

    /// <summary>Adjusts logging after Forge's defaults, e.g. to capture logs in tests.</summary>
    public Action<ILoggingBuilder>? ConfigureLogging { get; init; }

    /// <summary>Throws one <see cref="UsageException"/> listing every problem.</summary>
    public void Validate()
    {
        var problems = new List<string>();
        if (Port is < 0 or > 65535) problems.Add($"port {Port} is not between 0 and 65535");
        if (string.IsNullOrWhiteSpace(Host)) problems.Add("host is empty");
        if (problems.Count > 0) throw new UsageException(string.Join("; ", problems));
    }
}

/// <summary>
/// The web UI alone over a tracking store (<c>forge ui</c>): runs, the registry and studies, without serving models.
/// <c>forge serve</c> mounts the same UI beside its models.
/// </summary>
public static class UiServer
{
    /// <summary>Builds the UI server; start it with <c>StartAsync</c> and read its address with <see cref="ForgeServer.Addresses"/>.</summary>
    public static WebApplication Build(UiOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var apiKey = options.ApiKey ?? Environment.GetEnvironmentVariable(ServerOptions.ApiKeyVariable);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ApplicationName = typeof(UiServer).Assembly.GetName().Name,
            ContentRootPath = AppContext.BaseDirectory,
            Args = [],
        });
        builder.Logging.ClearProviders();
        builder.Logging.Services.Configure<ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss ";
        });
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.Hosting", LogLevel.Warning);
        options.ConfigureLogging?.Invoke(builder.Logging);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            if (options.Host is "*" or "0.0.0.0" or "+") kestrel.ListenAnyIP(options.Port);
            else if (string.Equals(options.Host, "localhost", StringComparison.OrdinalIgnoreCase)) kestrel.Listen(IPAddress.Loopback, options.Port);
            else if (IPAddress.TryParse(options.Host, out var address)) kestrel.Listen(address, options.Port);
            else throw new UsageException($"host '{options.Host}' is not an IP address, 'localhost' or '*'");
        });
        builder.Services.AddProblemDetails(p => p.CustomizeProblemDetails = c => c.ProblemDetails.Extensions.Remove("traceId"));
        var app = builder.Build();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.MapGet("/health/live", () => Results.Json(new { status = "live" })).ExcludeFromDescription();
        app.MapWebUi(new UiSettings(options.TrackingUri, options.ArtifactRoot, string.IsNullOrEmpty(apiKey) ? null : apiKey, Serving: false));
        return app;
    }
}
