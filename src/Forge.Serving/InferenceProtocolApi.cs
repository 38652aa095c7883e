using System.Collections.Frozen;
using System.Globalization;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Forge.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace Forge.Serving;

/// <summary>
/// The Open Inference Protocol (KServe/Triton "v2") REST endpoints, with the protocol's JSON field names and its
/// <c>{"error": "…"}</c> error object, so existing v2 clients work unchanged.
/// </summary>
internal static class InferenceProtocolApi
{
    /// <summary>The extra output every classifier gives besides its probabilities: the most probable label per row.</summary>
    public const string LabelOutput = "label";

    public static void MapInferenceProtocol(this IEndpointRouteBuilder app, ServerOptions options)
    {
        var v2 = app.MapGroup("/v2").WithTags("Open Inference Protocol v2");
        v2.MapGet("", () => Results.Json(new ServerMetadata("forge", ServerVersion, [])))
            .WithName("V2ServerMetadata").WithSummary("Server metadata.").Produces<ServerMetadata>();
        v2.MapGet("/health/live", () => Results.Json(new ServerLive(true)))
            .WithName("V2ServerLive").WithSummary("Liveness: the server answers.").Produces<ServerLive>();
        v2.MapGet("/health/ready", (ModelCatalog catalog) => Results.Json(new ServerReady(true, catalog.IsReady), statusCode: catalog.IsReady ? 200 : 503))
            .WithName("V2ServerReady").WithSummary("Readiness: every model is loaded and warm (503 until then).").Produces<ServerReady>();

        v2.MapGet("/models/{name}", (HttpContext c, ModelCatalog m, string name) => Metadata(c, m, name, null))
            .WithName("V2ModelMetadata").WithSummary("Model metadata.").Produces<ModelMetadata>().Produces<InferenceError>(404);
        v2.MapGet("/models/{name}/versions/{version}", (HttpContext c, ModelCatalog m, string name, string version) => Metadata(c, m, name, version))
            .WithName("V2ModelVersionMetadata").WithSummary("Model version metadata.").Produces<ModelMetadata>().Produces<InferenceError>(404);
        v2.MapGet("/models/{name}/ready", (HttpContext c, ModelCatalog m, string name) => Ready(c, m, name, null))
            .WithName("V2ModelReady").WithSummary("Model readiness.").Produces<ModelReady>();
        v2.MapGet("/models/{name}/versions/{version}/ready", (HttpContext c, ModelCatalog m, string name, string version) => Ready(c, m, name, version))
            .WithName("V2ModelVersionReady").WithSummary("Model version readiness.").Produces<ModelReady>();

        var infer = new[]
        {
            v2.MapPost("/models/{name}/infer", (HttpContext c, PredictionService s, string name) => Infer(c, s, name, null))
                .WithName("V2Infer").WithSummary("Inference with the model's default version."),
            v2.MapPost("/models/{name}/versions/{version}/infer", (HttpContext c, PredictionService s, string name, string version) => Infer(c, s, name, version))
                .WithName("V2InferVersion").WithSummary("Inference with one version of the model."),
        };
        foreach (var endpoint in infer)
        {
            endpoint.AcceptsJson("An inference request: one input named as in the model's metadata, shape [N, ...instance shape] (or [N, values per row]), "
                    + "datatype FP32 (or another numeric type), data flat or nested; image models also take BYTES elements holding a base64 PNG or JPEG, "
                    + "shape [N], and text models take BYTES elements holding the texts, shape [N]. Outputs: the probabilities [N, labels] (FP32) and 'label' [N] (BYTES).")
                .Produces<InferenceResponse>().Produces<InferenceError>(400).Produces<InferenceError>(404).Produces<InferenceError>(503);
            if (options.RequireApiKeyForPredict) endpoint.AddEndpointFilter(new ApiKeyFilter(options.ApiKey, inferenceProtocol: true));
        }
    }

    private static string ServerVersion { get; } =
        typeof(InferenceProtocolApi).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0";

    private static Results<JsonHttpResult<ModelMetadata>, JsonHttpResult<InferenceError>> Metadata(HttpContext context, ModelCatalog catalog, string name, string? version)
    {
        var found = catalog.Find(name, version);
        if (found.Entry is not { } entry) return new ApiError(found.Status, "", found.Error!).ToInferenceError(context);
        var manifest = (entry.Current?.Resolved ?? entry.Resolved).Bundle.Manifest;
        var signature = manifest.Signature;
        var outputs = signature.Outputs.Select(Tensor).Concat(signature.Labels.Count == 0 ? [] : [new MetadataTensor(LabelOutput, "BYTES", [-1])]).ToArray();
        return TypedResults.Json(new ModelMetadata(
            entry.Name,
            catalog.Entries.Where(e => e.Name == name).Select(e => e.Version).ToArray(),
            "forge_" + manifest.Flavor.Replace('-', '_'),
            signature.Inputs.Select(Tensor).ToArray(),
            outputs));
    }

    private static Results<JsonHttpResult<ModelReady>, JsonHttpResult<InferenceError>> Ready(HttpContext context, ModelCatalog catalog, string name, string? version)
    {
        var found = catalog.Find(name, version);
        if (found.Entry is not { } entry) return new ApiError(found.Status, "", found.Error!).ToInferenceError(context);
        var ready = entry.State == ModelState.Ready;
        return TypedResults.Json(new ModelReady(entry.Name, ready), statusCode: ready ? 200 : 503);
    }

    private static MetadataTensor Tensor(TensorSpec spec) => new(spec.Name, DataType(spec.DType), spec.Shape);

    /// <summary>Forge's dtype names as the protocol spells them.</summary>
    internal static string DataType(string dtype) => dtype.ToLowerInvariant() switch
    {
        "float32" or "float" => "FP32",
        "float64" or "double" => "FP64",
        "float16" => "FP16",
        "int8" => "INT8",
        "int16" => "INT16",
        "int32" => "INT32",
        "int64" => "INT64",
        "uint8" => "UINT8",
        "bool" => "BOOL",
        "string" => "BYTES",
        var other => other.ToUpperInvariant(),
    };

    private static readonly FrozenSet<string> NumericTypes = new HashSet<string>(StringComparer.Ordinal)
    {
        "FP16", "FP32", "FP64", "INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32", "UINT64",
    }.ToFrozenSet(StringComparer.Ordinal);

    private static async Task<IResult> Infer(HttpContext context, PredictionService service, string name, string? version)
    {
        var (entry, error) = service.FindReady(context, name, version);
        if (entry is null) return error!.ToInferenceError(context);
        using var deadline = service.Deadline(context);
        var (bytes, readError) = await service.ReadBodyAsync(context, deadline.Token);
        if (bytes is null) return readError!.ToInferenceError(context);

        var decoder = entry.Current!.Model.Decoder;
        var signature = entry.Current.Model.Signature;
        string? id;
        Table rows;
        string[] requested;
        using (bytes)
        {
            // One flat numeric input (the common case) is read straight from the bytes; anything else goes the general way.
            if (FastNumericDecoder.TryInferRequest(bytes.Span, decoder, NumericTypes) is { } fast)
            {
                (rows, id) = fast;
                requested = AllOutputs(signature);
            }
            else
            {
                var (body, parseError) = PredictionService.ParseJson(bytes);
                if (body is null) return parseError!.ToInferenceError(context);
                try
                {
                    if (body is not JsonObject request) throw new InputException("body", $"expected an inference request object; got {InstanceDecoder.KindOf(body)}");
                    id = OptionalString(request, "id");
                    rows = DecodeInputs(request, decoder);
                    requested = RequestedOutputs(request, signature);
                }
                catch (InputException e)
                {
                    return ApiError.BadInput(e).ToInferenceError(context);
                }
            }
        }

        var (served, prediction, predictError) = await service.PredictAsync(context, entry, rows);
        if (served is null) return predictError!.ToInferenceError(context);
        if (prediction!.Values is { } values)
        {
            var valueName = served.Model.Signature.Outputs.Count > 0 ? served.Model.Signature.Outputs[0].Name : "value";
            return Results.Json(new InferenceResponse(served.Name, served.Version, id ?? context.TraceIdentifier,
                [new ResponseOutput(valueName, [values.Length], "FP64", [.. values.Select(v => (object)v)])]));
        }
        var labels = prediction.Labels;
        var probabilities = prediction.Probabilities!;
        var probabilityName = served.Model.Signature.Outputs.Count > 0 ? served.Model.Signature.Outputs[0].Name : "probabilities";
        var outputs = new List<ResponseOutput>();
        foreach (var output in requested)
        {
            if (output == LabelOutput)
            {
                outputs.Add(new ResponseOutput(LabelOutput, [probabilities.Length], "BYTES",
                    Enumerable.Range(0, prediction.RowCount).Select(r => (object)prediction.PredictedLabel(r)).ToArray()));
            }
            else
            {
                var flat = new object[probabilities.Length * labels.Count];
                for (var r = 0; r < probabilities.Length; r++)
                {
                    for (var k = 0; k < labels.Count; k++) flat[(r * labels.Count) + k] = probabilities[r][k];
                }
                outputs.Add(new ResponseOutput(probabilityName, [probabilities.Length, labels.Count], "FP32", flat));
            }
        }
        return Results.Json(new InferenceResponse(served.Name, served.Version, id ?? context.TraceIdentifier, outputs));
    }

    private static string? OptionalString(JsonObject obj, string key)
    {
        if (!obj.TryGetPropertyValue(key, out var node) || node is null) return null;
        return node is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>()
            : throw new InputException(key, $"expected a string; got {InstanceDecoder.KindOf(node)}");
    }

    /// <summary>Reads the request's one input tensor into the model's input table, checking name, datatype, shape and every value.</summary>
    internal static Table DecodeInputs(JsonObject request, InstanceDecoder decoder)
    {
        if (decoder is TabularInstanceDecoder tabular) return tabular.DecodeInferenceInputs(request);
        if (decoder is ForecastInstanceDecoder forecast) return forecast.DecodeInferenceInputs(request);
        if (!request.TryGetPropertyValue("inputs", out var inputsNode) || inputsNode is not JsonArray inputs)
            throw new InputException("inputs", $"required: an array with one input tensor named '{decoder.Input.Name}'");
        if (inputs.Count != 1)
            throw new InputException("inputs", $"{inputs.Count} tensors; this model takes exactly one, named '{decoder.Input.Name}'");
        const string field = "inputs[0]";
        if (inputs[0] is not JsonObject input) throw new InputException(field, $"expected a tensor object; got {InstanceDecoder.KindOf(inputs[0])}");

        var name = OptionalString(input, "name") ?? throw new InputException($"{field}.name", "required");
        if (name != decoder.Input.Name) throw new InputException($"{field}.name", $"unknown input '{name}'; the model takes '{decoder.Input.Name}'");
        var datatype = OptionalString(input, "datatype") ?? throw new InputException($"{field}.datatype", "required");
        var shape = Shape(input, $"{field}.shape");
        if (!input.TryGetPropertyValue("data", out var data) || data is not JsonArray)
            throw new InputException($"{field}.data", $"required: an array; got {InstanceDecoder.KindOf(data)}");
        var batch = shape[0];
        if (batch < 1) throw new InputException($"{field}.shape", "the first (batch) dimension must be at least 1");
        long declared = shape.Aggregate(1L, (a, d) => a * d);

        if (datatype == "BYTES")
        {
            if (declared != batch)
                throw new InputException($"{field}.shape", $"{InstanceDecoder.ShapeText(shape)} for BYTES: send one encoded item per row, shape [N] or [N, 1]");
            var items = Strings(data, $"{field}.data");
            if (items.Count != batch) throw new InputException($"{field}.data", $"{items.Count} items for shape {InstanceDecoder.ShapeText(shape)}");
            return Table.Concat([.. items.Select((s, i) => decoder.DecodeBytes(s, $"{field}.data[{i}]"))]);
        }
        if (!NumericTypes.Contains(datatype) || !decoder.TakesNumbers)
            throw new InputException($"{field}.datatype", $"'{datatype}' is not supported here; use {InferenceProtocolApi.DataType(decoder.Input.DType)}");

        var perRow = declared / batch;
        if (decoder.RowLength >= 0 && perRow != decoder.RowLength)
        {
            throw new InputException($"{field}.shape", $"{InstanceDecoder.ShapeText(shape)} does not fit the input's shape {InstanceDecoder.ShapeText(decoder.Input.Shape)}: "
                + $"each of the {batch} rows would hold {perRow} values instead of {decoder.RowLength}");
        }
        var (_, values) = InstanceDecoder.Flatten(data, $"{field}.data");
        if (values.Length != declared)
            throw new InputException($"{field}.data", $"{values.Length} values for shape {InstanceDecoder.ShapeText(shape)}, which needs {declared}");
        for (var r = 0; r < batch; r++) decoder.CheckValues(values.AsSpan((int)(r * perRow), (int)perRow), $"{field}.data[{r}]");
        // The flat data is already row after row: it becomes the tensor column as it is, no copy per row.
        return new Table(Column.Tensor(decoder.Input.Name, decoder.Input.CellShape(), values));
    }

    private static int[] Shape(JsonObject input, string field)
    {
        if (!input.TryGetPropertyValue("shape", out var node) || node is not JsonArray array || array.Count == 0)
            throw new InputException(field, "required: an array of dimensions, the first being the batch size");
        var shape = new int[array.Count];
        for (var i = 0; i < array.Count; i++)
        {
            if (array[i] is not JsonValue v || v.GetValueKind() != JsonValueKind.Number || !v.TryGetValue<int>(out var d) || d < 0)
                throw new InputException($"{field}[{i}]", "expected a whole number of 0 or more");
            shape[i] = d;
        }
        return shape;
    }

    private static List<string> Strings(JsonNode data, string field)
    {
        var result = new List<string>();
        Walk(data, field);
        return result;

        void Walk(JsonNode? node, string path)
        {
            if (node is JsonArray a)
            {
                for (var i = 0; i < a.Count; i++) Walk(a[i], $"{path}[{i}]");
            }
            else if (node is JsonValue v && v.GetValueKind() == JsonValueKind.String) result.Add(v.GetValue<string>());
            else throw new InputException(path, $"expected a string (BYTES); got {InstanceDecoder.KindOf(node)}");
        }
    }

    // Without "outputs" in the request, every output is answered.
    private static string[] AllOutputs(ModelSignature signature) => signature.Labels.Count == 0
        ? signature.Outputs.Select(o => o.Name).ToArray()
        : signature.Outputs.Select(o => o.Name).Append(LabelOutput).Distinct(StringComparer.Ordinal).ToArray();

    private static string[] RequestedOutputs(JsonObject request, ModelSignature signature)
    {
        var available = AllOutputs(signature);
        if (!request.TryGetPropertyValue("outputs", out var node) || node is null) return available;
        if (node is not JsonArray array) throw new InputException("outputs", $"expected an array; got {InstanceDecoder.KindOf(node)}");
        var names = new List<string>();
        for (var i = 0; i < array.Count; i++)
        {
            var field = $"outputs[{i}]";
            if (array[i] is not JsonObject o) throw new InputException(field, "expected an object with a name");
            var name = OptionalString(o, "name") ?? throw new InputException($"{field}.name", "required");
            if (!available.Contains(name, StringComparer.Ordinal))
                throw new InputException($"{field}.name", $"unknown output '{name}' (outputs: {string.Join(", ", available)})");
            names.Add(name);
        }
        return [.. names];
    }
}

/// <summary>The protocol's server metadata.</summary>
internal sealed record ServerMetadata(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("version")] string Version,
    [property: JsonPropertyName("extensions")] IReadOnlyList<string> Extensions);

/// <summary>The protocol's server liveness.</summary>
internal sealed record ServerLive([property: JsonPropertyName("live")] bool Live);

/// <summary>
/// The protocol's server readiness. The specification's text shows only "live" here; KServe answers "ready". Both are
/// given, and the status (200 or 503) says the same for probes that read no body.
/// </summary>
internal sealed record ServerReady([property: JsonPropertyName("live")] bool Live, [property: JsonPropertyName("ready")] bool Ready);

/// <summary>The protocol's model readiness.</summary>
internal sealed record ModelReady([property: JsonPropertyName("name")] string Name, [property: JsonPropertyName("ready")] bool Ready);

/// <summary>The protocol's tensor metadata.</summary>
internal sealed record MetadataTensor(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("datatype")] string Datatype,
    [property: JsonPropertyName("shape")] IReadOnlyList<int> Shape);

/// <summary>The protocol's model metadata.</summary>
internal sealed record ModelMetadata(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("versions")] IReadOnlyList<string> Versions,
    [property: JsonPropertyName("platform")] string Platform,
    [property: JsonPropertyName("inputs")] IReadOnlyList<MetadataTensor> Inputs,
    [property: JsonPropertyName("outputs")] IReadOnlyList<MetadataTensor> Outputs);

/// <summary>One output tensor of an inference response.</summary>
internal sealed record ResponseOutput(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("shape")] IReadOnlyList<int> Shape,
    [property: JsonPropertyName("datatype")] string Datatype,
    [property: JsonPropertyName("data")] IReadOnlyList<object> Data);

/// <summary>The protocol's inference response.</summary>
internal sealed record InferenceResponse(
    [property: JsonPropertyName("model_name")] string ModelName,
    [property: JsonPropertyName("model_version")] string ModelVersion,
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("outputs")] IReadOnlyList<ResponseOutput> Outputs);
