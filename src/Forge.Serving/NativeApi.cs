using System.Text.Json.Nodes;
using Forge.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace Forge.Serving;

/// <summary>Forge's own REST API under /v1: list and describe models, predict, reload.</summary>
internal static class NativeApi
{
    public static void MapNativeApi(this IEndpointRouteBuilder app, ServerOptions options)
    {
        var v1 = app.MapGroup("/v1/models").WithTags("Models (native API)");
        v1.MapGet("/", ListModels).WithName("ListModels").WithSummary("Every served model with its versions and readiness.")
            .Produces<ModelList>();
        v1.MapGet("/{name}", GetModel).WithName("GetModel").WithSummary("One model: its versions, signature, batching and counters.")
            .ProducesProblem(404);

        var predict = new[]
        {
            v1.MapPost("/{name}/predict", (HttpContext c, PredictionService s, string name) => Predict(c, s, name, null))
                .WithName("Predict").WithSummary("Predict with the model's default version."),
            v1.MapPost("/{name}/versions/{version}/predict", (HttpContext c, PredictionService s, string name, string version) => Predict(c, s, name, version))
                .WithName("PredictVersion").WithSummary("Predict with one version of the model."),
        };
        foreach (var endpoint in predict)
        {
            endpoint.WithDescription("The answer's X-Forge-Model-Version header names the version that answered.")
                .AcceptsJson("{\"instances\": [...]} or one instance. An image instance is {\"image_b64\": \"<PNG or JPEG, base64>\"} "
                    + "or a numeric array, flattened or nested to the signature's shape; a text instance is {\"text\": \"...\"} or a JSON string.")
                .Produces<PredictResponse>()
                .ProducesProblem(400).ProducesProblem(404).ProducesProblem(413).ProducesProblem(503).ProducesProblem(504);
            if (options.RequireApiKeyForPredict) endpoint.AddEndpointFilter(new ApiKeyFilter(options.ApiKey, inferenceProtocol: false));
        }

        v1.MapPost("/{name}/reload", Reload).WithName("ReloadModel")
            .WithSummary("Reload a model from its source (a registry alias is resolved again), warm it, and swap it in. Needs the API key.")
            .ProducesProblem(401).ProducesProblem(403).ProducesProblem(404)
            .AddEndpointFilter(new ApiKeyFilter(options.ApiKey, inferenceProtocol: false));
    }

    private static ModelList ListModels(ModelCatalog catalog) =>
        new(catalog.Names.Select(name =>
        {
            var entries = catalog.Entries.Where(e => e.Name == name).ToArray();
            return new ModelSummary(name, entries[0].Version, entries.Select(e => e.Version).ToArray(),
                entries[0].Resolved.Bundle.Manifest.Flavor, entries.All(e => e.State == ModelState.Ready));
        }).ToArray());

    private static Results<Ok<ModelDetails>, ProblemHttpResult> GetModel(HttpContext context, ModelCatalog catalog, TrafficRouter router, string name)
    {
        var found = catalog.Find(name, null);
        if (found.Entry is null)
        {
            return new ApiError(found.Status, found.Status == 400 ? "Invalid model name" : "Unknown model", found.Error!)
            { KnownModels = found.Known }.ToProblem(context);
        }
        var entries = catalog.Entries.Where(e => e.Name == name).ToArray();
        return TypedResults.Ok(new ModelDetails(name, entries[0].Version, entries.Select(e => Details(e, router)).ToArray()));
    }

    private static VersionDetails Details(ModelEntry e, TrafficRouter router)
    {
        var current = e.Current;
        var (role, share) = router.Describe(e);
        var manifest = (current?.Resolved ?? e.Resolved).Bundle.Manifest;
        return new VersionDetails(
            e.Version, e.State.ToString().ToLowerInvariant(), manifest.Flavor, manifest.Task, (current?.Resolved ?? e.Resolved).Origin,
            manifest.Description, current?.LoadSeconds, e.Error, manifest.Signature, manifest.Metrics, e.Batching,
            new VersionStats(current?.Batcher.ForwardCalls ?? 0, current?.Batcher.RowsPredicted ?? 0, current?.Batcher.QueueDepth ?? 0),
            current?.Model.Decoder.InstanceFormat)
        {
            Role = role,
            TrafficPercent = share,
        };
    }

    private static async Task<IResult> Predict(HttpContext context, PredictionService service, string name, string? version)
    {
        var (entry, error) = service.FindReady(context, name, version);
        if (entry is null) return error!.ToProblem(context);
        using var deadline = service.Deadline(context);
        var (bytes, readError) = await service.ReadBodyAsync(context, deadline.Token);
        if (bytes is null) return readError!.ToProblem(context);
        Table rows;
        using (bytes)
        {
            var decoder = entry.Current!.Model.Decoder;
            // Flat numbers for a numeric model are read straight from the bytes; anything else (and every error) goes the general way.
            if (FastNumericDecoder.TryInstances(bytes.Span, decoder) is { } fast)
            {
                rows = fast;
            }
            else
            {
                var (body, parseError) = PredictionService.ParseJson(bytes);
                if (body is null) return parseError!.ToProblem(context);
                try
                {
                    rows = Decode(body, decoder);
                }
                catch (InputException e)
                {
                    return ApiError.BadInput(e).ToProblem(context);
                }
            }
        }
        var (served, prediction, predictError) = await service.PredictAsync(context, entry, rows);
        if (served is null) return predictError!.ToProblem(context);
        if (prediction!.Values is { } values) return Results.Ok(new PredictResponse(served.Name, served.Version, [], []) { Values = values });
        var labels = prediction.Labels;
        var probabilities = prediction.Probabilities!;
        return Results.Ok(new PredictResponse(
            served.Name, served.Version,
            Enumerable.Range(0, prediction.RowCount).Select(prediction.PredictedLabel).ToArray(),
            probabilities.Select(p => Probabilities(labels, p)).ToArray()));
    }

    /// <summary>Reads <c>{"instances": [...]}</c> or a single instance into the model's input table; errors name the instance.</summary>
    internal static Table Decode(JsonNode body, InstanceDecoder decoder)
    {
        if (body is JsonObject obj && obj.TryGetPropertyValue("instances", out var instances))
        {
            if (instances is not JsonArray array) throw new InputException("instances", $"expected an array of instances; got {InstanceDecoder.KindOf(instances)}");
            if (array.Count == 0) throw new InputException("instances", "the array is empty; send at least one instance");
            var rows = new Table[array.Count];
            for (var i = 0; i < array.Count; i++) rows[i] = decoder.Decode(array[i], $"instances[{i}]");
            return Table.Concat(rows);
        }
        return decoder.Decode(body, "instance");
    }

    private static Dictionary<string, float> Probabilities(IReadOnlyList<string> labels, float[] p)
    {
        var result = new Dictionary<string, float>(labels.Count, StringComparer.Ordinal);
        for (var k = 0; k < labels.Count; k++) result[labels[k]] = p[k];
        return result;
    }

    private static async Task<Results<Ok<ReloadResponse>, ProblemHttpResult>> Reload(HttpContext context, ModelCatalog catalog, string name)
    {
        var found = catalog.Find(name, null);
        if (found.Entry is null)
            return new ApiError(found.Status, found.Status == 400 ? "Invalid model name" : "Unknown model", found.Error!) { KnownModels = found.Known }.ToProblem(context);
        try
        {
            var reloaded = await catalog.ReloadAsync(name, context.RequestAborted);
            return TypedResults.Ok(new ReloadResponse(name, reloaded.Select(r => new ReloadedVersion(r.Version, r.Previous, r.Seconds)).ToArray()));
        }
        catch (ForgeException e)
        {
            return new ApiError(409, "Reload failed", $"{e.Message}; the previous version keeps serving").ToProblem(context);
        }
    }
}

/// <summary>The answer to a predict request.</summary>
/// <param name="Model">The model's name.</param>
/// <param name="Version">The version that answered.</param>
/// <param name="Predictions">The most probable label of each instance.</param>
/// <param name="Probabilities">Each instance's probability of every label.</param>
internal sealed record PredictResponse(string Model, string Version, IReadOnlyList<string> Predictions, IReadOnlyList<Dictionary<string, float>> Probabilities)
{
    /// <summary>A regression's value for each instance (then the labels and probabilities are empty).</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<double>? Values { get; init; }
}

/// <summary>The served models.</summary>
internal sealed record ModelList(IReadOnlyList<ModelSummary> Models);

/// <summary>One served model in a listing.</summary>
internal sealed record ModelSummary(string Name, string DefaultVersion, IReadOnlyList<string> Versions, string Flavor, bool Ready);

/// <summary>One model with every served version.</summary>
internal sealed record ModelDetails(string Name, string DefaultVersion, IReadOnlyList<VersionDetails> Versions);

/// <summary>One served version: where it came from, its signature, batching, counters, and how one predict instance looks once it is loaded.</summary>
internal sealed record VersionDetails(
    string Version, string State, string Flavor, string Task, string Source, string? Description, double? LoadSeconds, string? Error,
    ModelSignature Signature, IReadOnlyDictionary<string, double> Metrics, BatchingOptions Batching, VersionStats Stats, string? Instance)
{
    /// <summary>primary, canary (answers <see cref="TrafficPercent"/> of the requests by name) or shadow (sees copies of them).</summary>
    public string Role { get; init; } = "primary";

    /// <summary>The share of requests by model name this version answers, in percent; null for a shadow.</summary>
    public double? TrafficPercent { get; init; }
}

/// <summary>What a version's inference thread has done.</summary>
/// <param name="ForwardCalls">Forward passes run, the warm-up included; fewer than requests when batching coalesces them.</param>
/// <param name="RowsPredicted">Rows predicted.</param>
/// <param name="QueueDepth">Requests waiting now.</param>
internal sealed record VersionStats(long ForwardCalls, long RowsPredicted, int QueueDepth);

/// <summary>The outcome of a reload.</summary>
internal sealed record ReloadResponse(string Name, IReadOnlyList<ReloadedVersion> Versions);

/// <summary>One reloaded version.</summary>
internal sealed record ReloadedVersion(string Version, string? PreviousVersion, double LoadSeconds);
