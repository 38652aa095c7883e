using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Forge.Serving;

/// <summary>A request that cannot be answered as asked: the status, a short title, and a detail that names what to fix.</summary>
internal sealed record ApiError(int Status, string Title, string Detail)
{
    /// <summary>The request field at fault, e.g. <c>instances[3]</c>.</summary>
    public string? Field { get; init; }

    /// <summary>The model names served, for a 404.</summary>
    public IReadOnlyList<string>? KnownModels { get; init; }

    /// <summary>The versions served of the model, for a 404 on a version.</summary>
    public IReadOnlyList<string>? KnownVersions { get; init; }

    /// <summary>Seconds a client should wait before retrying (503).</summary>
    public int? RetryAfterSeconds { get; init; }

    /// <summary>The error as RFC 9457 problem details, the native API's error format.</summary>
    public ProblemHttpResult ToProblem(HttpContext context)
    {
        var extensions = new Dictionary<string, object?>(StringComparer.Ordinal);
        if (Field is not null) extensions["field"] = Field;
        if (KnownModels is not null) extensions["knownModels"] = KnownModels;
        if (KnownVersions is not null) extensions["knownVersions"] = KnownVersions;
        SetRetryAfter(context);
        return TypedResults.Problem(Detail, statusCode: Status, title: Title, extensions: extensions);
    }

    /// <summary>The error as the Open Inference Protocol's <c>{"error": "…"}</c> object.</summary>
    public JsonHttpResult<InferenceError> ToInferenceError(HttpContext context)
    {
        SetRetryAfter(context);
        return TypedResults.Json(new InferenceError(Detail), statusCode: Status);
    }

    private void SetRetryAfter(HttpContext context)
    {
        if (RetryAfterSeconds is { } s) context.Response.Headers.RetryAfter = s.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    public static ApiError BadInput(InputException e) => new(400, "Invalid input", e.Message) { Field = e.Field };

    public static ApiError BadRequest(string field, string problem) => new(400, "Invalid request", $"{field}: {problem}") { Field = field };
}

/// <summary>The Open Inference Protocol's error object.</summary>
/// <param name="Error">The descriptive message for the error.</param>
internal sealed record InferenceError(string Error);
