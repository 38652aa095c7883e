using System.Text.Json.Serialization;
using Forge.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Forge.Serving;

/// <summary>
/// The live support-chat demo at <c>/chat</c>: one static page (HTML, CSS and JavaScript in one embedded file, nothing
/// fetched from elsewhere) that classifies each customer message through the native predict endpoint, and
/// <c>/chat/config</c>, which tells the page which text model to call.
/// </summary>
internal static class ChatPage
{
    private const string ResourceName = "Forge.Serving.Chat.chat.html";

    // The page has no external resources and calls only this server; the policy makes a CDN or third-party call fail loudly.
    private const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'";

    private static readonly Lazy<byte[]> Html = new(() =>
    {
        using var stream = typeof(ChatPage).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"the chat page resource {ResourceName} is missing from the assembly");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    });

    /// <summary>
    /// Picks the chat page's model: the one named by <see cref="ServerOptions.ChatModel"/>, else the first text model served,
    /// else none (the page then says so). A named model that is not served, or does not take text, is a usage error.
    /// </summary>
    public static ChatConfig Configure(ServerOptions options, IReadOnlyList<(ModelSource Source, ResolvedBundle Resolved)> resolved)
    {
        var textModels = resolved.Where(r => IsText(r.Resolved.Bundle.Manifest)).Select(r => r.Resolved.Name).Distinct(StringComparer.Ordinal).ToArray();
        var served = resolved.Select(r => r.Resolved.Name).Distinct(StringComparer.Ordinal).ToArray();
        string? model;
        if (options.ChatModel is { } wanted)
        {
            if (!served.Contains(wanted, StringComparer.Ordinal))
                throw new UsageException($"--chat-model {wanted}: no such model is served ({Listing(served)})");
            if (!textModels.Contains(wanted, StringComparer.Ordinal))
            {
                var flavor = resolved.First(r => r.Resolved.Name == wanted).Resolved.Bundle.Manifest.Flavor;
                throw new UsageException($"--chat-model {wanted}: it is a {flavor} model, and the chat page needs a text model (text models served: {Listing(textModels)})");
            }
            model = wanted;
        }
        else model = textModels.FirstOrDefault();
        var labels = model is null ? [] : resolved.First(r => r.Resolved.Name == model).Resolved.Bundle.Manifest.Signature.Labels;
        return new ChatConfig(model, textModels, labels, options.RequireApiKeyForPredict, TextInstanceDecoder.DefaultMaxCharacters);
    }

    private static bool IsText(ModelManifest manifest) =>
        manifest.Signature.Inputs.Count == 1 && string.Equals(manifest.Signature.Inputs[0].DType, "string", StringComparison.Ordinal);

    private static string Listing(IReadOnlyList<string> names) => names.Count == 0 ? "none" : string.Join(", ", names);

    public static void MapChatPage(this IEndpointRouteBuilder app, ChatConfig config)
    {
        app.MapGet("/chat", (HttpContext context) =>
        {
            context.Response.Headers.ContentSecurityPolicy = ContentSecurityPolicy;
            context.Response.Headers.CacheControl = "no-cache";
            return Results.Bytes(Html.Value, "text/html; charset=utf-8");
        }).ExcludeFromDescription();
        app.MapGet("/chat/config", () => Results.Json(config))
            .WithTags("Chat demo").WithName("ChatConfig")
            .WithSummary("The model the /chat page classifies messages with (null when no text model is served), its labels, and whether predict needs the API key.")
            .Produces<ChatConfig>();
    }
}

/// <summary>What the chat page needs to know about the server.</summary>
/// <param name="Model">The text model it calls, or null when none is served.</param>
/// <param name="TextModels">Every text model served.</param>
/// <param name="Labels">The model's labels in probability order.</param>
/// <param name="ApiKeyRequired">Whether predict needs the API key (<c>--require-api-key</c>).</param>
/// <param name="MaxCharacters">The longest message the model accepts.</param>
internal sealed record ChatConfig(
    [property: JsonPropertyName("model")] string? Model,
    [property: JsonPropertyName("textModels")] IReadOnlyList<string> TextModels,
    [property: JsonPropertyName("labels")] IReadOnlyList<string> Labels,
    [property: JsonPropertyName("apiKeyRequired")] bool ApiKeyRequired,
    [property: JsonPropertyName("maxCharacters")] int MaxCharacters);
