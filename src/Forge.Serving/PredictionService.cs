using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Forge.Core;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Forge.Serving;

/// <summary>The steps every prediction request takes, whichever protocol it speaks: find the model, read, predict, count.</summary>
internal sealed class PredictionService(ModelCatalog catalog, TrafficRouter router, ServerMetrics metrics, ServerOptions options, ILogger<PredictionService> logger)
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
        try
        {
            var node = await JsonNode.ParseAsync(context.Request.Body, documentOptions: new JsonDocumentOptions { MaxDepth = 16 }, cancellationToken: cancellationToken);
            return node is null ? (null, ApiError.BadRequest("body", "empty; send a JSON object")) : (node, null);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (null, new ApiError(413, "Request too large", string.Create(CultureInfo.InvariantCulture,
                $"the request body is larger than the server's limit of {options.MaxRequestBytes / 1048576.0:0.##} MB; send fewer instances per request")));
        }
        catch (OperationCanceledException) when (!context.RequestAborted.IsCancellationRequested)
        {
            return (null, new ApiError(408, "Request timeout", "the request body did not arrive within the request timeout"));
        }
        catch (JsonException e)
        {
            var where = e.LineNumber is { } line ? $" at line {line + 1}, byte {e.BytePositionInLine + 1}" : "";
            return (null, new ApiError(400, "Malformed JSON", $"the body is not valid JSON{where}: {FirstSentence(e.Message)}") { Field = "body" });
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
                for (var i = 0; i < prediction.RowCount; i++) metrics.Predictions.Inc(1, served.Name, served.Version, prediction.PredictedLabel(i));
            }
            router.Answered(context, entry, served, rows, prediction);
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
