using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace Forge.Serving;

/// <summary>
/// Requires the server's API key, as <c>Authorization: Bearer KEY</c> or <c>X-API-Key: KEY</c>. Without a configured
/// key, management endpoints are refused outright: an open reload endpoint would let anyone swap the model.
/// </summary>
internal sealed class ApiKeyFilter(string? apiKey, bool inferenceProtocol) : IEndpointFilter
{
    private readonly byte[]? _key = apiKey is null ? null : SHA256.HashData(Encoding.UTF8.GetBytes(apiKey));

    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(next);
        var http = context.HttpContext;
        ApiError? error = null;
        if (_key is null)
        {
            error = new ApiError(403, "Management is off", $"this endpoint needs an API key and the server has none; start it with {ServerOptions.ApiKeyVariable} set");
        }
        else
        {
            var given = Presented(http.Request);
            // Hashing both sides gives equal lengths, so the comparison's time says nothing about the key.
            if (given is null || !CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(given)), _key))
            {
                http.Response.Headers.WWWAuthenticate = "Bearer";
                error = new ApiError(401, "Unauthorized", given is null
                    ? "this endpoint needs the API key: send 'Authorization: Bearer KEY' or 'X-API-Key: KEY'"
                    : "the API key is wrong");
            }
        }
        if (error is not null) return inferenceProtocol ? error.ToInferenceError(http) : error.ToProblem(http);
        return await next(context);
    }

    private static string? Presented(HttpRequest request)
    {
        if (request.Headers["X-API-Key"].ToString() is { Length: > 0 } key) return key;
        var auth = request.Headers.Authorization.ToString();
        return auth.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? auth["Bearer ".Length..].Trim() : null;
    }
}
