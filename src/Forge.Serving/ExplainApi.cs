using System.Text.Json.Nodes;
using Forge.Core;
using Forge.DeepLearning;
using Forge.DeepLearning.Transfer;
using Forge.Explainability;
using Forge.Tabular;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Forge.Serving;

/// <summary>
/// <c>POST /v1/models/{name}/explain</c>: the predict payload in, attributions out: per column for tabular models (the
/// bundle's background sample stands in for unknown values), per word for text models, per pixel or region for image
/// models. <c>?method=</c> picks the method; the default is exact TreeSHAP for tree models, KernelSHAP for other
/// tabular models, LIME for texts and transfer models, Integrated Gradients for Forge's CNNs.
/// </summary>
internal static class ExplainApi
{
    /// <summary>Most instances one explain request may carry: explaining costs far more than predicting.</summary>
    public const int MaxInstances = 100;

    public static void MapExplainApi(this IEndpointRouteBuilder app, ServerOptions options)
    {
        var v1 = app.MapGroup("/v1/models").WithTags("Models (native API)");
        var endpoint = v1.MapPost("/{name}/explain", (HttpContext c, PredictionService s, string name, string? method) => Explain(c, s, name, method))
            .WithName("Explain")
            .WithSummary("Attributions for the model's predictions: per column, word or image region.")
            .WithDescription("The same payload as predict. ?method= tree|kernel|exact|permutation|lime (tabular), lime|kernel (text), ig|saliency|gradientshap|lime (images).")
            .AcceptsJson("{\"instances\": [...]} or one instance, as for predict.")
            .ProducesProblem(400).ProducesProblem(404).ProducesProblem(413).ProducesProblem(503);
        if (options.RequireApiKeyForPredict) endpoint.AddEndpointFilter(new ApiKeyFilter(options.ApiKey, inferenceProtocol: false));
    }

    private static async Task<IResult> Explain(HttpContext context, PredictionService service, string name, string? method)
    {
        var (entry, error) = service.FindReady(context, name, null);
        if (entry is null) return error!.ToProblem(context);
        using var deadline = service.Deadline(context);
        var (body, readError) = await service.ReadJsonAsync(context, deadline.Token);
        if (body is null) return readError!.ToProblem(context);
        var served = entry.Current!;
        Table rows;
        try
        {
            rows = NativeApi.Decode(body, served.Model.Decoder);
        }
        catch (InputException e)
        {
            return ApiError.BadInput(e).ToProblem(context);
        }
        if (rows.RowCount > MaxInstances)
            return ApiError.BadRequest("instances", $"{rows.RowCount} instances; explain at most {MaxInstances} per request (use forge explain for files)").ToProblem(context);
        try
        {
            var m = method?.Trim().ToLowerInvariant();
            var explanations = await Task.Run(() => Run(served, rows, m), deadline.Token);
            var instances = new JsonArray();
            foreach (var e in explanations)
            {
                var json = ExplanationExport.ToJson(e);
                foreach (var row in json["rows"]!.AsArray().ToArray())
                {
                    var instance = row!.DeepClone().AsObject();
                    instance.Remove("row");
                    // Words and image regions point at features by index, and names do not say which: a word can
                    // repeat, a pixel's name is prose. ToJson without top lists every feature in order, so the
                    // position is that index; giving it explicitly keeps clients from relying on the order.
                    foreach (var output in instance["outputs"]!.AsArray())
                    {
                        var index = 0;
                        foreach (var attribution in output!["attributions"]!.AsArray()) attribution!["index"] = index++;
                    }
                    foreach (var key in new[] { "text", "tokens", "height", "width", "regions" })
                    {
                        if (json[key] is { } value) instance[key] = value.DeepClone();
                    }
                    instances.Add(instance);
                }
            }
            var first = explanations[0];
            return Results.Json(new JsonObject
            {
                ["model"] = served.Name,
                ["version"] = served.Version,
                ["method"] = first.Method,
                ["kind"] = first.Kind.ToString().ToLowerInvariant(),
                ["outputSpace"] = first.OutputSpace,
                ["features"] = new JsonArray([.. (first.Kind == ExplanationKind.Tabular ? first.FeatureNames : []).Select(f => (JsonNode)f)]),
                ["instances"] = instances,
            });
        }
        catch (Exception e) when (e is UsageException or NotFoundException or InputException)
        {
            return new ApiError(400, "Cannot explain", e.Message) { Field = "method" }.ToProblem(context);
        }
    }

    /// <summary>The explanations of every row: one for all tabular rows, one per text or image.</summary>
    private static List<Explanation> Run(ServedModel served, Table rows, string? method)
    {
        var predictor = served.Model.Predictor;
        var bundle = served.Resolved.Bundle;
        if (predictor is TabularModel tabular)
            return [TabularExplaining.Explain(bundle, tabular, rows, method ?? TabularExplaining.DefaultMethod(tabular), new TabularExplainOptions { MaxDegreeOfParallelism = 1 })];
        if (PredictorExplainers.TakesText(predictor))
        {
            var explainer = PredictorExplainers.ForText(predictor, method ?? "lime", samples: 500);
            var texts = (StringColumn)rows.Columns[0];
            return [.. Enumerable.Range(0, rows.RowCount).Select(i => explainer.Explain(texts[i] ?? ""))];
        }
        if (PredictorExplainers.TakesImage(predictor))
        {
            var cells = (TensorColumn)rows.Columns[0];
            var shape = cells.Spec.CellShape;
            IExplainer<ImageInput> explainer = (method ?? (predictor is ImageClassifier ? "ig" : "lime")) switch
            {
                "lime" => PredictorExplainers.LimeForImages(predictor, new Forge.Explainability.Lime.LimeImageOptions { Samples = 300, Segments = 40 }),
                "ig" or "saliency" or "gradientshap" when predictor is ImageClassifier cnn => new GradientExplainer(cnn, new GradientExplainerOptions
                {
                    Method = method switch { "saliency" => GradientMethod.Saliency, "gradientshap" => GradientMethod.GradientShap, _ => GradientMethod.IntegratedGradients },
                }),
                "ig" or "saliency" or "gradientshap" => throw new UsageException($"{served.Name} is a {(predictor is TransferClassifier ? "transfer model on a pretrained backbone" : "model")} that gradient methods do not run on; use method=lime"),
                var other => throw new UsageException($"method '{other}' does not explain an image model; use ig, saliency, gradientshap (Forge CNNs) or lime"),
            };
            return [.. Enumerable.Range(0, rows.RowCount).Select(i => explainer.Explain(PredictorExplainers.ToImageInput(cells[i].ToArray(), shape)))];
        }
        if (predictor is HourlyForecaster) throw new UsageException(HourlyForecaster.NotExplained(served.Name));
        throw new UsageException($"{served.Name} is a {bundle.Manifest.Flavor} model whose inputs the explain endpoint does not read; it explains tabular, text and image models");
    }
}
