using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Forge.Core;
using Forge.DeepLearning;

namespace Forge.Serving;

/// <summary>
/// Serves hourly forecasters (flavor torch-sequence, preprocessing hourly-forecast). A native instance is a window:
/// an array of exactly <c>window</c> rows keyed by column name (dteday, hr, cnt, weathersit, temp, atemp, hum,
/// windspeed, and optionally filled), consecutive hours oldest first; the answer is one forecast of hour t + horizon per
/// instance. Open Inference Protocol requests send one input per column, shaped [batch, window].
/// </summary>
public sealed class ForecastLoader : IModelLoader
{
    /// <inheritdoc />
    public string Flavor => ModelFlavors.TorchSequence;

    /// <inheritdoc />
    public bool CanLoad(ModelManifest manifest) => HourlyForecaster.IsForecaster(manifest);

    /// <inheritdoc />
    public ServableModel Load(ModelBundle bundle)
    {
        ArgumentNullException.ThrowIfNull(bundle);
        var model = HourlyForecaster.Load(bundle);
        return new ServableModel(model, new ForecastInstanceDecoder(model));
    }
}

/// <summary>
/// Turns a window of rows into the forecaster's input. A wrong length, a missing hour, too many filled hours, a missing
/// column or a value that is not a finite number is an <see cref="InputException"/> that names the length, the hour or
/// the value.
/// </summary>
public sealed class ForecastInstanceDecoder : InstanceDecoder
{
    /// <summary>The optional column that marks a row as a filled (missing) hour.</summary>
    public const string FilledColumn = "filled";

    private readonly HourlyForecaster _model;

    /// <summary>Creates a decoder for a forecaster.</summary>
    public ForecastInstanceDecoder(HourlyForecaster model)
        : base((model ?? throw new ArgumentNullException(nameof(model))).WindowSpec) => _model = model;

    /// <inheritdoc />
    public override bool TakesNumbers => false;

    /// <inheritdoc />
    public override Table Decode(JsonNode? instance, string field)
    {
        ArgumentNullException.ThrowIfNull(field);
        if (instance is not JsonArray rows) throw new InputException(field, $"expected {Describe()}; got {KindOf(instance)}");
        var hours = new HourlyObservation[rows.Count];
        for (var i = 0; i < rows.Count; i++) hours[i] = Row(rows[i], $"{field}[{i}]");
        return Build(hours, field);
    }

    /// <inheritdoc />
    public override Table DecodeBytes(string element, string field) =>
        throw new InputException(field, $"a forecaster takes one input per column shaped [batch, {_model.Spec.Window}], not one BYTES element per window");

    /// <inheritdoc />
    public override Table WarmupRow() =>
        WithLatestHour(FromFlat(new float[_model.Spec.Window * ForecastSpec.Features]), new HourlyObservation(default, 0, 0, 0, 0, 0, 0));

    // The model reads the window tensor; drift monitoring reads the latest hour's columns beside it, as training profiled them.
    private static Table WithLatestHour(Table window, HourlyObservation latest) =>
        new([.. window.Columns, .. ForecastSpec.LatestHours([latest]).Columns]);

    /// <inheritdoc />
    protected override string Describe() =>
        string.Create(CultureInfo.InvariantCulture, $"an array of {_model.Spec.Window} rows (consecutive hours, oldest first), each an object with {string.Join(", ", HourlySeries.Columns)} (and optionally {FilledColumn}: 1 for a filled hour)");

    /// <summary>Reads an Open Inference Protocol request: one input per column, each [batch, window] (dteday BYTES, the others numbers).</summary>
    public Table DecodeInferenceInputs(JsonObject request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!request.TryGetPropertyValue("inputs", out var node) || node is not JsonArray inputs)
            throw new InputException("inputs", $"required: an array with one input per column ({string.Join(", ", HourlySeries.Columns)}), each shaped [batch, {_model.Spec.Window}]");
        var window = _model.Spec.Window;
        var byName = new Dictionary<string, (List<JsonNode?> Values, int Index)>(StringComparer.Ordinal);
        var batch = -1;
        for (var i = 0; i < inputs.Count; i++)
        {
            var field = $"inputs[{i}]";
            if (inputs[i] is not JsonObject input) throw new InputException(field, $"expected a tensor object; got {KindOf(inputs[i])}");
            var name = input["name"] is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : throw new InputException($"{field}.name", "required: the column's name");
            var known = HourlySeries.Columns.Append(FilledColumn).ToArray();
            if (!known.Contains(name))
            {
                var hint = NameSuggester.Closest(name, known) is { } s ? $"; did you mean '{s}'?" : "";
                throw new InputException($"{field}.name", $"unknown input '{name}'{hint}");
            }
            if (input["shape"] is not JsonArray shape || shape.Count != 2 || shape[0] is not JsonValue b || !b.TryGetValue<int>(out var rows) || shape[1] is not JsonValue w || !w.TryGetValue<int>(out var length))
                throw new InputException($"{field}.shape", string.Create(CultureInfo.InvariantCulture, $"expected [batch, {window}]"));
            if (length != window)
                throw new InputException($"{field}.shape", string.Create(CultureInfo.InvariantCulture, $"a window of {length} hours; the model reads exactly {window} consecutive hours, oldest first"));
            if (batch >= 0 && rows != batch) throw new InputException($"{field}.shape", string.Create(CultureInfo.InvariantCulture, $"batch {rows} where the other inputs have {batch}"));
            batch = rows;
            if (input["data"] is not JsonArray data) throw new InputException($"{field}.data", "required: an array of values");
            var flat = new List<JsonNode?>();
            foreach (var item in data)
            {
                if (item is JsonArray inner) flat.AddRange(inner);
                else flat.Add(item);
            }
            if (flat.Count != rows * window)
                throw new InputException($"{field}.data", string.Create(CultureInfo.InvariantCulture, $"{flat.Count} values for shape [{rows}, {window}]"));
            if (!byName.TryAdd(name, (flat, i))) throw new InputException($"{field}.name", $"input '{name}' is given twice");
        }
        foreach (var column in HourlySeries.Columns)
        {
            if (!byName.ContainsKey(column)) throw new InputException("inputs", $"no input for column '{column}' (shape [batch, {window}]); every column is needed");
        }
        var tables = new Table[batch];
        for (var r = 0; r < batch; r++)
        {
            var hours = new HourlyObservation[window];
            for (var k = 0; k < window; k++)
            {
                var row = new JsonObject();
                foreach (var (name, (values, _)) in byName) row[name] = values[(r * window) + k]?.DeepClone();
                var at = (r * window) + k;
                hours[k] = Row(row, string.Create(CultureInfo.InvariantCulture, $"inputs[{byName[HourlySeries.Columns[0]].Index}].data[{at}]"), byName.ToDictionary(kv => kv.Key, kv => string.Create(CultureInfo.InvariantCulture, $"inputs[{kv.Value.Index}].data[{at}]")));
            }
            tables[r] = Build(hours, string.Create(CultureInfo.InvariantCulture, $"inputs (window {r})"));
        }
        return Table.Concat(tables);
    }

    private Table Build(HourlyObservation[] hours, string field)
    {
        try
        {
            return WithLatestHour(FromFlat(_model.Spec.WindowInput(hours)), hours[^1]);
        }
        catch (UsageException e)
        {
            throw new InputException(field, e.Message);
        }
    }

    private static HourlyObservation Row(JsonNode? node, string field, IReadOnlyDictionary<string, string>? fieldOf = null)
    {
        if (node is not JsonObject row) throw new InputException(field, $"expected a row object keyed by column name; got {KindOf(node)}");
        string Where(string column) => fieldOf is not null && fieldOf.TryGetValue(column, out var f) ? f : $"{field}.{column}";
        double Number(string column, bool required = true)
        {
            if (!row.TryGetPropertyValue(column, out var value) || value is null)
            {
                if (!required) return 0;
                throw new InputException(Where(column), "required");
            }
            if (value is JsonValue v && v.GetValueKind() == JsonValueKind.Number && v.TryGetValue<double>(out var d))
            {
                if (!double.IsFinite(d)) throw new InputException(Where(column), $"{d} is not a finite number");
                return d;
            }
            var text = value is JsonValue sv && sv.GetValueKind() == JsonValueKind.String ? $"the string '{sv.GetValue<string>()}'" : KindOf(value);
            throw new InputException(Where(column), $"expected a finite number; got {text}");
        }
        var dayNode = row["dteday"];
        if (dayNode is not JsonValue dv || dv.GetValueKind() != JsonValueKind.String
            || !DateOnly.TryParseExact(dv.GetValue<string>(), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day))
            throw new InputException(Where("dteday"), $"required: a date as yyyy-MM-dd; got {KindOf(dayNode)}");
        var hr = Number("hr");
        if (hr is < 0 or > 23 || hr != Math.Floor(hr)) throw new InputException(Where("hr"), $"{hr.ToString(CultureInfo.InvariantCulture)} is not an hour 0-23");
        var filled = Number(FilledColumn, required: false);
        if (filled is not (0 or 1)) throw new InputException(Where(FilledColumn), "expected 0 or 1");
        return new HourlyObservation(day.ToDateTime(TimeOnly.MinValue).AddHours(hr), Number("cnt"), Number("weathersit"), Number("temp"), Number("atemp"), Number("hum"), Number("windspeed"))
        {
            Filled = filled == 1,
        };
    }
}
