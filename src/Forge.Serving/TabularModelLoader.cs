using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Forge.Core;
using Forge.Tabular;

namespace Forge.Serving;

/// <summary>Serves <c>mlnet-tabular</c> bundles: rows keyed by column name in, class probabilities or values out.</summary>
public sealed class TabularModelLoader : IModelLoader
{
    /// <inheritdoc />
    public string Flavor => ModelFlavors.MlNetTabular;

    /// <inheritdoc />
    public bool CanLoad(ModelManifest manifest) => TabularBundle.IsTabular(manifest);

    /// <inheritdoc />
    public ServableModel Load(ModelBundle bundle)
    {
        ArgumentNullException.ThrowIfNull(bundle);
        var model = TabularBundle.Load(bundle);
        return new ServableModel(model, new TabularInstanceDecoder(model.Signature, TabularInstances.For(bundle.Manifest)));
    }
}

/// <summary>
/// Decodes tabular rows: a native instance is an object keyed by column name (<c>{"age": 39, "workclass": "Private", …}</c>);
/// an Open Inference Protocol request has one named input per column, shape [N] (or [N, 1]), as MLServer takes tabular
/// models: numbers (FP32, FP64, INT*) for numeric columns, BYTES for categorical ones. A missing, unknown or mistyped
/// column, or a NaN or infinite number, is an <see cref="InputException"/> naming it.
/// </summary>
public sealed class TabularInstanceDecoder : InstanceDecoder
{
    private readonly ModelSignature _signature;
    private readonly TabularInstances _instances;

    /// <summary>Creates a decoder for a tabular model's signature.</summary>
    public TabularInstanceDecoder(ModelSignature signature, TabularInstances instances)
        : base((signature ?? throw new ArgumentNullException(nameof(signature))).Inputs[0])
    {
        ArgumentNullException.ThrowIfNull(instances);
        _signature = signature;
        _instances = instances;
    }

    /// <inheritdoc />
    public override TableSchema Schema => _instances.Schema;

    /// <inheritdoc />
    public override bool TakesNumbers => false;

    /// <inheritdoc />
    public override bool TakesColumns => true;

    /// <inheritdoc />
    public override Table Decode(JsonNode? instance, string field)
    {
        try
        {
            return _instances.Decode(instance, field);
        }
        catch (TabularInputException e)
        {
            throw new InputException(e.Field, e.Problem);
        }
    }

    /// <inheritdoc />
    public override Table DecodeBytes(string element, string field) =>
        throw new InputException(field, $"a tabular model takes one input per column, not one BYTES element per row; send {Describe()}");

    /// <inheritdoc />
    public override Table WarmupRow() => _instances.Example(1);

    /// <inheritdoc />
    protected override string Describe() => _instances.Example();

    /// <summary>Reads an inference request's inputs, one per column, into a table; every column must be there, each with the same row count.</summary>
    public Table DecodeInferenceInputs(JsonObject request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!request.TryGetPropertyValue("inputs", out var node) || node is not JsonArray inputs)
            throw new InputException("inputs", $"required: an array with one input per column ({string.Join(", ", _signature.Inputs.Select(i => i.Name).Take(8))}…)");
        var byName = new Dictionary<string, (JsonObject Input, int Index)>(StringComparer.Ordinal);
        for (var i = 0; i < inputs.Count; i++)
        {
            var field = $"inputs[{i}]";
            if (inputs[i] is not JsonObject input) throw new InputException(field, $"expected a tensor object; got {KindOf(inputs[i])}");
            var name = input["name"] is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : throw new InputException($"{field}.name", "required: the column's name");
            if (!_signature.Inputs.Any(s => s.Name == name))
            {
                var hint = NameSuggester.Closest(name, _signature.Inputs.Select(s => s.Name)) is { } s ? $"; did you mean '{s}'?" : "";
                throw new InputException($"{field}.name", $"unknown input '{name}'{hint}");
            }
            if (!byName.TryAdd(name, (input, i))) throw new InputException($"{field}.name", $"input '{name}' is given twice");
        }
        // Each column's values become one instance per row, so the native decoder's checks (types, NaN, missing) apply unchanged.
        var rows = -1;
        var objects = Array.Empty<JsonObject>();
        foreach (var spec in _signature.Inputs)
        {
            if (!byName.TryGetValue(spec.Name, out var found))
                throw new InputException("inputs", $"no input for column '{spec.Name}' ({(spec.DType == "string" ? "BYTES" : "FP32")}, shape [N]); every column is needed");
            var field = $"inputs[{found.Index}]";
            var values = Values(found.Input, field, spec);
            if (rows < 0)
            {
                rows = values.Count;
                objects = [.. Enumerable.Range(0, rows).Select(_ => new JsonObject())];
            }
            else if (values.Count != rows)
            {
                throw new InputException($"{field}.shape", string.Create(CultureInfo.InvariantCulture, $"{values.Count} rows where the other inputs have {rows}"));
            }
            for (var r = 0; r < rows; r++) objects[r][spec.Name] = values[r]?.DeepClone();
        }
        var tables = new Table[rows];
        for (var r = 0; r < rows; r++)
        {
            var field = string.Create(CultureInfo.InvariantCulture, $"inputs[row {r}]");
            try
            {
                tables[r] = _instances.Decode(objects[r], field);
            }
            catch (TabularInputException e)
            {
                // Name the tensor the value came from, not the row object built from it.
                var column = e.Field[(field.Length + 1)..];
                var index = byName.TryGetValue(column, out var f) ? f.Index : 0;
                throw new InputException(string.Create(CultureInfo.InvariantCulture, $"inputs[{index}].data[{r}]"), e.Problem);
            }
        }
        return Table.Concat(tables);
    }

    private static List<JsonNode?> Values(JsonObject input, string field, TensorSpec spec)
    {
        var datatype = input["datatype"] is JsonValue d && d.GetValueKind() == JsonValueKind.String ? d.GetValue<string>() : throw new InputException($"{field}.datatype", "required");
        var numeric = datatype is "FP16" or "FP32" or "FP64" or "INT8" or "INT16" or "INT32" or "INT64" or "UINT8" or "UINT16" or "UINT32" or "UINT64";
        if (spec.DType == "string" ? datatype != "BYTES" : !numeric)
            throw new InputException($"{field}.datatype", $"'{datatype}' does not fit column '{spec.Name}'; use {(spec.DType == "string" ? "BYTES" : "FP32 (or another numeric type)")}");
        if (input["shape"] is not JsonArray shape || shape.Count is < 1 or > 2 || (shape.Count == 2 && shape[1]?.GetValue<int>() != 1))
            throw new InputException($"{field}.shape", "expected [N] or [N, 1]: one value per row");
        if (input["data"] is not JsonArray data) throw new InputException($"{field}.data", "required: an array of one value per row");
        var flat = new List<JsonNode?>();
        foreach (var item in data)
        {
            if (item is JsonArray inner) flat.AddRange(inner);
            else flat.Add(item);
        }
        var declared = shape[0] is JsonValue n && n.TryGetValue<int>(out var count) ? count : -1;
        if (declared != flat.Count)
            throw new InputException($"{field}.data", string.Create(CultureInfo.InvariantCulture, $"{flat.Count} values for shape [{declared}]"));
        return flat;
    }
}
