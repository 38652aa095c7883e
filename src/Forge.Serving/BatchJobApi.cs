using System.Diagnostics;
using System.Globalization;
using Forge.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.OpenApi;

namespace Forge.Serving;

/// <summary>Marks the upload endpoint, whose body (JSONL or CSV) is streamed to disk by hand.</summary>
internal sealed record BatchUploadDoc(string Description);

/// <summary>
/// <c>/v1/batch-jobs</c>: upload a JSONL or CSV file of instances, follow the job, fetch its results, cancel it. The
/// upload streams to the jobs directory (never held in memory) and is answered 202 with the job and its Location.
/// </summary>
internal static class BatchJobApi
{
    public const string JsonlContentType = "application/x-ndjson";
    public const string CsvContentType = "text/csv";

    /// <summary>The jobs directory, the background runner, and the upload body in the OpenAPI document.</summary>
    public static IServiceCollection AddBatchJobs(this IServiceCollection services)
    {
        services.AddSingleton<BatchJobStore>();
        services.AddSingleton<BatchJobRunner>();
        services.AddHostedService(sp => sp.GetRequiredService<BatchJobRunner>());
        services.Configure<OpenApiOptions>("v1", o => o.AddOperationTransformer((operation, context, _) =>
        {
            if (context.Description.ActionDescriptor.EndpointMetadata.OfType<BatchUploadDoc>().FirstOrDefault() is { } doc)
            {
                operation.RequestBody = new OpenApiRequestBody
                {
                    Required = true,
                    Description = doc.Description,
                    Content = new Dictionary<string, OpenApiMediaType>
                    {
                        [JsonlContentType] = new() { Schema = new OpenApiSchema { Type = JsonSchemaType.String } },
                        [CsvContentType] = new() { Schema = new OpenApiSchema { Type = JsonSchemaType.String } },
                    },
                };
            }
            return Task.CompletedTask;
        }));
        return services;
    }

    public static void MapBatchJobs(this IEndpointRouteBuilder app, ServerOptions options)
    {
        var jobs = app.MapGroup("/v1/batch-jobs").WithTags("Batch jobs");
        var endpoints = new[]
        {
            jobs.MapPost("/", SubmitAsync).WithName("SubmitBatchJob")
                .WithSummary("Upload a JSONL or CSV file of instances; it runs in the background. Answers 202 with the job and a Location header.")
                .WithDescription("Query: model (required), version (default: the model's default version, following reloads), format "
                    + "(jsonl or csv; default from Content-Type: text/csv means csv, anything else jsonl), maxErrorFraction (0–1: the share of rows "
                    + "that may fail validation before the job fails; default the server's). A JSONL line is one instance as /v1 predict takes it. "
                    + "A CSV row becomes one: numbered columns p0…p783 (any prefix) covering a fixed-size input are its numbers; a column named as "
                    + "the input, 'pixels' or 'values' holds the numbers in one cell; an 'image_b64' or 'text' column is {\"image_b64\"|\"text\": cell}; "
                    + "otherwise every column but 'id' forms an object. Unused columns are copied into CSV results.")
                .WithMetadata(new BatchUploadDoc("JSONL (one instance a line) or CSV with a header line."))
                .Produces<BatchJobView>(202).ProducesProblem(400).ProducesProblem(404).ProducesProblem(413).ProducesProblem(429).ProducesProblem(503),
            jobs.MapGet("/", List).WithName("ListBatchJobs").WithSummary("Every job in the jobs directory, newest first.").Produces<BatchJobList>(),
            jobs.MapGet("/{id}", Get).WithName("GetBatchJob")
                .WithSummary("A job's status (queued, running, succeeded, failed, cancelled), rows done of the total, errors, timings, and the reason when it failed.")
                .Produces<BatchJobView>().ProducesProblem(404),
            jobs.MapGet("/{id}/results", GetResults).WithName("GetBatchJobResults")
                .WithSummary("The results of a succeeded job, streamed in input order: JSONL ({row, label, probabilities, version} or {row, error, field}) or CSV "
                    + "(row, passed-through columns, label, p_LABEL…, error). 409 while the job is unfinished, and for a failed or cancelled job.")
                .Produces(200, contentType: JsonlContentType, additionalContentTypes: [CsvContentType]).ProducesProblem(404).ProducesProblem(409),
            jobs.MapDelete("/{id}", DeleteAsync).WithName("DeleteBatchJob")
                .WithSummary("Cancels a queued or running job (200 with its state, 202 while it is still stopping); removes a finished job and its files (204).")
                .Produces<BatchJobView>().Produces<BatchJobView>(202).Produces(204).ProducesProblem(404).ProducesProblem(409),
        };
        if (options.RequireApiKeyForPredict)
        {
            foreach (var endpoint in endpoints) endpoint.AddEndpointFilter(new ApiKeyFilter(options.ApiKey, inferenceProtocol: false));
        }
    }

    private static async Task<IResult> SubmitAsync(HttpContext context, BatchJobStore store, BatchJobRunner runner, ModelCatalog catalog,
        [FromQuery] string? model, [FromQuery] string? version, [FromQuery] string? format, [FromQuery] string? maxErrorFraction)
    {
        var options = store.Options;
        if (string.IsNullOrWhiteSpace(model))
            return ApiError.BadRequest("model", "missing; name the model to run: POST /v1/batch-jobs?model=NAME").ToProblem(context);
        var found = catalog.Find(model, version);
        if (found.Entry is not { } entry)
        {
            return (found.Status == 400
                ? new ApiError(400, "Invalid model name", found.Error!) { Field = version is null ? "model" : "version" }
                : version is not null && catalog.Names.Contains(model)
                    ? new ApiError(404, "Unknown version", found.Error!) { KnownVersions = found.Known }
                    : new ApiError(404, "Unknown model", found.Error!) { KnownModels = found.Known }).ToProblem(context);
        }
        RequestTracking.Attribute(context, entry.Name, entry.Version);
        if (entry.State == ModelState.Failed)
            return new ApiError(503, "Model failed to load", $"model '{entry.Name}' version {entry.Version} failed to load: {entry.Error}").ToProblem(context);

        BatchFormat batchFormat;
        var mediaType = context.Request.ContentType?.Split(';')[0].Trim();
        switch (format?.ToLowerInvariant())
        {
            case null when string.Equals(mediaType, CsvContentType, StringComparison.OrdinalIgnoreCase):
            case "csv":
                batchFormat = BatchFormat.Csv;
                break;
            case null:
            case "jsonl" or "ndjson":
                batchFormat = BatchFormat.Jsonl;
                break;
            default:
                return ApiError.BadRequest("format", $"'{format}' is not a batch format; use jsonl or csv").ToProblem(context);
        }
        var fraction = options.MaxErrorFraction;
        if (maxErrorFraction is not null
            && (!double.TryParse(maxErrorFraction, NumberStyles.Float, CultureInfo.InvariantCulture, out fraction) || !double.IsFinite(fraction) || fraction is < 0 or > 1))
            return ApiError.BadRequest("maxErrorFraction", $"'{maxErrorFraction}' is not a number between 0 and 1").ToProblem(context);
        if (store.Unfinished >= options.MaxUnfinishedJobs)
        {
            return new ApiError(429, "Too many batch jobs",
                $"{options.MaxUnfinishedJobs} batch jobs are queued or running already; retry when some have finished") { RetryAfterSeconds = 10 }.ToProblem(context);
        }
        if (context.Request.ContentLength > options.MaxUploadBytes) return TooLarge(context, options);
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit) limit.MaxRequestBodySize = options.MaxUploadBytes;

        var id = BatchJobStore.NewId();
        var incoming = store.CreateIncoming(id);
        var committed = false;
        try
        {
            var extension = batchFormat == BatchFormat.Csv ? "csv" : "jsonl";
            var path = Path.Combine(incoming, "input." + extension);
            var bytes = await CopyBodyAsync(context, path, options.MaxUploadBytes);
            if (bytes < 0) return TooLarge(context, options);

            // A second pass over the file on disk counts the rows (and reads the CSV header) with the reader the job will use.
            long rows = 0;
            string? layoutText = null;
            await using (var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan))
            {
                var reader = new RecordReader(file, batchFormat, options.MaxRowBytes);
                if (batchFormat == BatchFormat.Csv)
                {
                    if (!reader.TryRead(out var header)) return ApiError.BadRequest("body", "empty; send a CSV header line, then one row per instance").ToProblem(context);
                    if (header.Bytes is null) return ApiError.BadRequest("header", $"the CSV header is longer than {options.MaxRowBytes} bytes").ToProblem(context);
                    try
                    {
                        var columns = BatchRows.ParseCsvRecord(header.Bytes, "header");
                        // The decoder is known once the model has loaded; before that the layout is chosen when the job runs.
                        if (entry.Current is { } current) layoutText = CsvLayout.Create(columns, current.Model.Decoder).Description;
                    }
                    catch (ForgeException e)
                    {
                        return ApiError.BadRequest("header", e.Message).ToProblem(context);
                    }
                }
                while (reader.TryRead(out _, keepBytes: false)) rows++;
            }
            if (rows == 0)
                return ApiError.BadRequest("body", batchFormat == BatchFormat.Csv ? "the CSV has a header but no rows" : "no instances; send one JSON instance per line").ToProblem(context);

            var state = new BatchJobState
            {
                Id = id,
                Model = entry.Name,
                Version = version,
                Format = extension,
                Status = BatchJobStatus.Queued,
                CreatedAt = DateTimeOffset.UtcNow,
                UploadBytes = bytes,
                RowsTotal = rows,
                MaxErrorFraction = fraction,
                Input = layoutText,
            };
            var job = store.Commit(incoming, state);
            committed = true;
            runner.Enqueue(job);
            context.Response.Headers.Location = Location(id);
            return Results.Json(View(job.Snapshot()), statusCode: StatusCodes.Status202Accepted);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return TooLarge(context, options);
        }
        finally
        {
            if (!committed) DeleteQuietly(incoming);
        }
    }

    /// <summary>Streams the body to a file; -1 when it grows past the limit (the limit is enforced here too, for hosts without Kestrel's).</summary>
    private static async Task<long> CopyBodyAsync(HttpContext context, string path, long limit)
    {
        var buffer = new byte[64 * 1024];
        long total = 0;
        await using var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.Asynchronous);
        while (true)
        {
            var n = await context.Request.Body.ReadAsync(buffer, context.RequestAborted);
            if (n == 0) break;
            total += n;
            if (total > limit) return -1;
            await file.WriteAsync(buffer.AsMemory(0, n), context.RequestAborted);
        }
        file.Flush(flushToDisk: true);
        return total;
    }

    private static IResult TooLarge(HttpContext context, BatchJobOptions options) =>
        new ApiError(413, "Upload too large", string.Create(CultureInfo.InvariantCulture,
            $"the upload is larger than the server's batch limit of {options.MaxUploadBytes / 1048576.0:0.##} MB; split it into several jobs")).ToProblem(context);

    private static BatchJobList List(BatchJobStore store) => new(store.List().Select(View).ToArray());

    private static IResult Get(HttpContext context, BatchJobStore store, string id) =>
        Find(store, id) is { } state ? Results.Ok(View(state)) : NotFound(context, id);

    private static IResult GetResults(HttpContext context, BatchJobStore store, string id)
    {
        if (Find(store, id) is not { } state) return NotFound(context, id);
        if (state.Status != BatchJobStatus.Succeeded)
        {
            var detail = state.Status switch
            {
                BatchJobStatus.Failed => $"job {id} failed ({state.Reason}); it has no results",
                BatchJobStatus.Cancelled => $"job {id} was cancelled; it has no results",
                _ => string.Create(CultureInfo.InvariantCulture, $"job {id} is {state.Status} ({state.RowsDone} of {state.RowsTotal} rows done); results are served once it has succeeded"),
            };
            return new ApiError(409, "Results not ready", detail) { RetryAfterSeconds = BatchJobStatus.IsFinished(state.Status) ? null : 2 }.ToProblem(context);
        }
        var path = Path.Combine(store.Root, id, "results." + state.Format);
        if (!File.Exists(path)) return new ApiError(409, "Results missing", $"job {id} succeeded but its results file is gone from the jobs directory").ToProblem(context);
        var contentType = state.Format == "csv" ? CsvContentType + "; charset=utf-8" : JsonlContentType;
        return Results.File(path, contentType, fileDownloadName: $"{id}-results.{state.Format}", enableRangeProcessing: true);
    }

    private static async Task<IResult> DeleteAsync(HttpContext context, BatchJobStore store, string id)
    {
        if (Find(store, id) is not { } state) return NotFound(context, id);
        if (BatchJobStatus.IsFinished(state.Status))
        {
            return store.Delete(id)
                ? Results.NoContent()
                : new ApiError(409, "Job in use", $"job {id} could not be removed; another server holds it").ToProblem(context);
        }
        if (store.GetOwned(id) is not { } job)
            return new ApiError(409, "Job run elsewhere", $"job {id} is {state.Status} on another server over this jobs directory; cancel it there").ToProblem(context);
        job.CancelRequested = true;
        if (state.Status == BatchJobStatus.Queued)
        {
            job.Update(s =>
            {
                if (BatchJobStatus.IsFinished(s.Status)) return;
                s.Status = BatchJobStatus.Cancelled;
                s.Reason = "cancelled by a client";
                s.FinishedAt = DateTimeOffset.UtcNow;
            });
        }
        await job.Cancel.CancelAsync();
        // A running job stops at its next chunk boundary; a short wait lets most cancellations answer with the final state.
        var clock = Stopwatch.StartNew();
        while (!BatchJobStatus.IsFinished(job.Snapshot().Status) && clock.Elapsed < TimeSpan.FromSeconds(5))
            await Task.Delay(20, context.RequestAborted);
        var now = job.Snapshot();
        return Results.Json(View(now), statusCode: BatchJobStatus.IsFinished(now.Status) ? 200 : 202);
    }

    private static BatchJobState? Find(BatchJobStore store, string id)
    {
        if (!BatchJobStore.IsValidId(id)) return null;
        try
        {
            return store.Find(id);
        }
        catch (Exception e) when (e is IOException or System.Text.Json.JsonException)
        {
            return null;
        }
    }

    private static IResult NotFound(HttpContext context, string id) =>
        new ApiError(404, "Unknown batch job", $"there is no batch job '{(id.Length > 64 ? id[..64] + "…" : id)}'; GET /v1/batch-jobs lists them").ToProblem(context);

    private static string Location(string id) => "/v1/batch-jobs/" + id;

    private static void DeleteQuietly(string dir)
    {
        try
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
        catch (IOException)
        {
            // Left behind; the next start removes unfinished uploads.
        }
    }

    internal static BatchJobView View(BatchJobState s)
    {
        double? seconds = s.StartedAt is null ? null : Math.Round(s.RunSeconds, 3);
        return new BatchJobView(
            s.Id, s.Model, s.Version, s.Format, s.Status, s.RowsTotal, s.RowsDone, s.Errors,
            s.RowsTotal == 0 ? 0 : Math.Round((double)s.RowsDone / s.RowsTotal, 4),
            s.CreatedAt, s.StartedAt, s.FinishedAt, seconds,
            seconds is > 0 ? Math.Round(s.RowsDone / seconds.Value, 1) : null,
            s.UploadBytes, s.MaxErrorFraction, s.Input, s.Reason, s.FirstError, s.Note, s.Resumes, s.Versions,
            Location(s.Id) + "/results");
    }
}

/// <summary>A batch job as the API shows it.</summary>
/// <param name="Id">The job's id.</param>
/// <param name="Model">The model it runs on.</param>
/// <param name="Version">The version asked for; null follows the model's default version.</param>
/// <param name="Format">jsonl or csv (the input's, and the results').</param>
/// <param name="Status">queued, running, succeeded, failed or cancelled.</param>
/// <param name="RowsTotal">Rows in the upload.</param>
/// <param name="RowsDone">Rows done (predicted or recorded as errors), committed to the results.</param>
/// <param name="Errors">Rows that failed validation; each has an error record in the results.</param>
/// <param name="Progress">RowsDone / RowsTotal.</param>
/// <param name="CreatedAt">When the upload completed.</param>
/// <param name="StartedAt">When it first ran.</param>
/// <param name="FinishedAt">When it finished.</param>
/// <param name="RunSeconds">Seconds spent running, over every run.</param>
/// <param name="RowsPerSecond">RowsDone / RunSeconds.</param>
/// <param name="UploadBytes">The upload's size.</param>
/// <param name="MaxErrorFraction">The share of rows that may fail validation before the job fails.</param>
/// <param name="Input">How a CSV row becomes an instance.</param>
/// <param name="Reason">Why it failed or was cancelled.</param>
/// <param name="FirstError">The first row error.</param>
/// <param name="Note">E.g. that it resumed after a server restart.</param>
/// <param name="Resumes">Times it was resumed after its server stopped.</param>
/// <param name="Versions">The model versions that answered its rows.</param>
/// <param name="Results">Where its results are served.</param>
internal sealed record BatchJobView(
    string Id, string Model, string? Version, string Format, string Status, long RowsTotal, long RowsDone, long Errors, double Progress,
    DateTimeOffset CreatedAt, DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt, double? RunSeconds, double? RowsPerSecond,
    long UploadBytes, double MaxErrorFraction, string? Input, string? Reason, string? FirstError, string? Note, int Resumes,
    IReadOnlyList<string> Versions, string Results);

/// <summary>The jobs in the jobs directory.</summary>
internal sealed record BatchJobList(IReadOnlyList<BatchJobView> Jobs);
