using System.Diagnostics;
using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Forge.Serving;

/// <summary>
/// The outermost middleware: gives every request an id (the client's <c>X-Request-Id</c> when it is sane, else a new
/// one), echoes it, puts it in the logging scope of everything the request logs, counts the request in flight, and
/// records the per-model request count and latency once the response status is known.
/// </summary>
internal sealed class RequestTracking(RequestDelegate next, ServerMetrics metrics, ILogger<RequestTracking> logger)
{
    public const string RequestIdHeader = "X-Request-Id";
    private const string ModelKey = "forge.model";
    private const string VersionKey = "forge.version";

    /// <summary>Marks the request as one for this model version, so its status and latency are recorded under it.</summary>
    public static void Attribute(HttpContext context, string model, string version)
    {
        context.Items[ModelKey] = model;
        context.Items[VersionKey] = version;
    }

    public async Task InvokeAsync(HttpContext context)
    {
        var id = Sane(context.Request.Headers[RequestIdHeader].ToString()) ?? Guid.NewGuid().ToString("N");
        context.TraceIdentifier = id;
        context.Response.Headers[RequestIdHeader] = id;
        var start = Stopwatch.GetTimestamp();
        metrics.EnterRequest();
        // A message-template scope prints as "RequestId:…" in text logs and as a RequestId property in JSON logs.
        using var scope = logger.BeginScope("RequestId:{RequestId}", id);
        try
        {
            await next(context);
        }
        finally
        {
            metrics.ExitRequest();
            var seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
            var status = context.Response.StatusCode;
            var statusText = status.ToString(CultureInfo.InvariantCulture);
            if (context.Items[ModelKey] is string model && context.Items[VersionKey] is string version)
            {
                metrics.Requests.WithLabels(model, version, statusText).Inc(1);
                metrics.Latency.WithLabels(model, version, statusText).Observe(seconds);
            }
            var path = context.Request.Path.Value ?? "";
            // Probes and scrapes arrive every few seconds; at Information they would drown the requests that matter.
            var level = path.StartsWith("/health", StringComparison.Ordinal) || path.StartsWith("/v2/health", StringComparison.Ordinal) || path == "/metrics"
                ? LogLevel.Debug : status >= 500 ? LogLevel.Warning : LogLevel.Information;
            logger.Log(level, "{Method} {Path} {Status} in {Milliseconds:F1} ms", context.Request.Method, path, status, seconds * 1000);
        }
    }

    // A client's id is echoed into headers and logs: only short, plain ids are taken as given.
    private static string? Sane(string id) =>
        id.Length is > 0 and <= 128 && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or ':') ? id : null;
}
