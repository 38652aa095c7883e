using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Forge.Serving;

/// <summary>
/// Marks an endpoint whose body is JSON read by hand. Declaring it with <c>Accepts</c> would make routing refuse other
/// content types with 415, and <c>curl -d</c> sends form-encoded by default: the body is JSON whatever its label says.
/// </summary>
internal sealed record JsonBodyDoc(string Description);

internal static class OpenApiDocs
{
    public static TBuilder AcceptsJson<TBuilder>(this TBuilder builder, string description) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new JsonBodyDoc(description));

    /// <summary>Documents the hand-read JSON bodies in the OpenAPI document.</summary>
    public static void AddJsonBodies(OpenApiOptions options) =>
        options.AddOperationTransformer((operation, context, _) =>
        {
            if (context.Description.ActionDescriptor.EndpointMetadata.OfType<JsonBodyDoc>().FirstOrDefault() is { } doc)
            {
                operation.RequestBody = new OpenApiRequestBody
                {
                    Required = true,
                    Description = doc.Description,
                    Content = new Dictionary<string, OpenApiMediaType>
                    {
                        ["application/json"] = new() { Schema = new OpenApiSchema { Type = JsonSchemaType.Object | JsonSchemaType.Array } },
                    },
                };
            }
            return Task.CompletedTask;
        });
}
