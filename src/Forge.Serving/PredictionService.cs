using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Forge.Core;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Forge.Serving;

/// <summary>The steps every prediction request takes, whichever protocol it speaks: find the model, read, predict, count.</summary>
internal sealed class PredictionService(ModelCatalog catalog, TrafficRouter router, ServerMetrics metrics, ServerOptions options, ModelMonitors monitors, ILogger<PredictionService> logger)
{
    public const string VersionHeader = "X-Forge-Model-Version";

    public ModelCatalog Catalog => catalog;

    /// <summary>Finds a model that is ready to answer; a 400, 404 or 503 otherwise.</summary>
    public (ModelEntry? Entry, ApiError? Error) FindReady(HttpContext context, string name, string? version)
    {
        var found = catalog.Find(name, version);
        if (found.Entry is not { } entry)
        {
            return (null, found.Status == 400
                ? new ApiError(400, "Invalid model name", found.Error!) { Field = version is null ? "name" : "version" }
                : version is not null && catalog.Names.Contains(name)
                    ? new ApiError(404, "Unknown version", found.Error!) { KnownVersions = found.Known }
                    : new ApiError(404, "Unknown model", found.Error!) { KnownModels = found.Known });
        }
        // Only requests by name are shared with a canary or copied to a shadow; a version in the path is kept.
        if (version is null) entry = router.Route(context, entry);
        RequestTracking.Attribute(context, entry.Name, entry.Version);
        return entry.State switch
        {
            ModelState.Ready => (entry, null),
            ModelState.Failed => (null, new ApiError(503, "Model failed to load", $"model '{entry.Name}' version {entry.Version} failed to load: {entry.Error}")),
            _ => (null, new ApiError(503, "Model loading", $"model '{entry.Name}' version {entry.Version} is still loading; retry shortly") { RetryAfterSeconds = 1 }),
        };
    }

    /// <summary>Reads the body as JSON within the size limit: 413 when it is larger, 400 when it is not JSON.</summary>
    public async Task<(JsonNode? Body, ApiError? Error)> ReadJsonAsync(HttpContext context, CancellationToken cancellationToken)
    {
        var (bytes, error) = await ReadBodyAsync(context, cancellationToken);
        if (bytes is null) return (null, error);
        using (bytes) return ParseJson(bytes);
    }

    /// <summary>The body's JSON; 400 naming where it is malformed, or that it is empty.</summary>
    public static (JsonNode? Body, ApiError? Error) ParseJson(RequestBody bytes)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        try
        {
            var node = bytes.Length == 0 ? null : JsonNode.Parse(bytes.Span, documentOptions: new JsonDocumentOptions { MaxDepth = 16 });
            return node is null ? (null, ApiError.BadRequest("body", "empty; send a JSON object")) : (node, null);
        }
        catch (JsonException e)
        {
            var where = e.LineNumber is { } line ? $" at line {line + 1}, byte {e.BytePositionInLine + 1}" : "";
            return (null, new ApiError(400, "Malformed JSON", $"the body is not valid JSON{where}: {FirstSentence(e.Message)}") { Field = "body" });
        }
    }

    /// <summary>Reads the whole body into a pooled buffer within the size limit: 413 when it is larger, 408 when it does not arrive in time.</summary>
    public async Task<(RequestBody? Body, ApiError? Error)> ReadBodyAsync(HttpContext context, CancellationToken cancellationToken)
    {
        var body = new RequestBody(context.Request.ContentLength is > 0 and <= int.MaxValue and var length ? (int)length : 16 * 1024);
        try
        {
            await body.FillAsync(context.Request.Body, cancellationToken);
            return (body, null);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            body.Dispose();
            return (null, new ApiError(413, "Request too large", string.Create(CultureInfo.InvariantCulture,
                $"the request body is larger than the server's limit of {options.MaxRequestBytes / 1048576.0:0.##} MB; send fewer instances per request")));
        }
        catch (OperationCanceledException) when (!context.RequestAborted.IsCancellationRequested)
        {
            body.Dispose();
            return (null, new ApiError(408, "Request timeout", "the request body did not arrive within the request timeout"));
        }
        catch
        {
            body.Dispose();
            throw;
        }
    }

    /// <summary>Predicts the rows on the model's inference thread within the request timeout.</summary>
    public async Task<(ServedModel? Model, Prediction? Prediction, ApiError? Error)> PredictAsync(HttpContext context, ModelEntry entry, Table rows)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        timeout.CancelAfter(options.RequestTimeout);
        try
        {
            var (served, prediction) = await catalog.PredictAsync(entry, rows, timeout.Token);
            RequestTracking.Attribute(context, served.Name, served.Version);
            context.Response.Headers[VersionHeader] = served.Version;
            if (prediction.Probabilities is not null)
            {
                for (var i = 0; i < prediction.RowCount; i++) metrics.Predictions.WithLabels(served.Name, served.Version, prediction.PredictedLabel(i)).Inc(1);
            }
            router.Answered(context, entry, served, rows, prediction);
            monitors.Observe(context, served, rows, prediction);
            return (served, prediction, null);
        }
        catch (Exception) when (Fail(entry))
        {
            throw;
        }
        catch (QueueFullException e)
        {
            return (null, null, new ApiError(503, "Model busy", e.Message) { RetryAfterSeconds = 1 });
        }
        catch (BatcherClosedException)
        {
            return (null, null, new ApiError(503, "Model reloading", $"model '{entry.Name}' is being swapped; retry") { RetryAfterSeconds = 1 });
        }
        catch (OperationCanceledException) when (!context.RequestAborted.IsCancellationRequested)
        {
            return (null, null, new ApiError(504, "Timed out", string.Create(CultureInfo.InvariantCulture,
                $"model '{entry.Name}' did not answer within {options.RequestTimeout.TotalSeconds:0.###} s")));
        }
        catch (OperationCanceledException)
        {
            // The client left; nobody reads this answer.
            return (null, null, new ApiError(499, "Client closed request", "the client closed the connection"));
        }
        catch (UsageException e)
        {
            // The model refused this request's own input (found when its rows ran alone): the client's fault, not the server's.
            return (null, null, new ApiError(400, "Invalid input", e.Message) { Field = "instances" });
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // The native message and stack go to the log only; the client gets the request id to quote.
            logger.LogError(e, "prediction on {Model} failed", entry.Name);
            return (null, null, new ApiError(500, "Model failed",
                $"model '{entry.Name}' failed on this request (id {context.TraceIdentifier}); the server log has the details"));
        }
    }

    /// <summary>The request's timeout as a token, for reading the body under the same deadline.</summary>
    public CancellationTokenSource Deadline(HttpContext context)
    {
        var cts = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        cts.CancelAfter(options.RequestTimeout);
        return cts;
    }

    // Counts the failure for the routing metrics and lets the handlers below answer it.
    private bool Fail(ModelEntry entry)
    {
        router.Failed(entry);
        return false;
    }

    private static string FirstSentence(string message)
    {
        var cut = message.IndexOf(". ", StringComparison.Ordinal);
        return cut > 0 ? message[..cut] : message.TrimEnd('.');
    }
}

/// <summary>A request body read whole into a buffer rented from the shared pool; dispose it to return the buffer.</summary>
internal sealed class RequestBody(int initialCapacity) : IDisposable
{
    private byte[]? _buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(Math.Max(256, initialCapacity));

    /// <summary>Bytes read.</summary>
    public int Length { get; private set; }

    /// <summary>The body's bytes.</summary>
    public ReadOnlySpan<byte> Span => (_buffer ?? throw new ObjectDisposedException(nameof(RequestBody))).AsSpan(0, Length);

    /// <summary>Reads the stream to its end, growing the buffer as needed (the server's body size limit stops a huge one).</summary>
    public async Task FillAsync(Stream stream, CancellationToken cancellationToken)
    {
        while (true)
        {
            if (Length == _buffer!.Length)
            {
                var larger = System.Buffers.ArrayPool<byte>.Shared.Rent(_buffer.Length * 2);
                _buffer.AsSpan(0, Length).CopyTo(larger);
                System.Buffers.ArrayPool<byte>.Shared.Return(_buffer);
                _buffer = larger;
            }
            var read = await stream.ReadAsync(_buffer.AsMemory(Length), cancellationToken);
            if (read == 0) return;
            Length += read;
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_buffer is { } b) System.Buffers.ArrayPool<byte>.Shared.Return(b);
        _buffer = null;
    }
}
