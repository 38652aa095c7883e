using System.Globalization;
using System.Text.Json;
using Forge.Core;

namespace Forge.Tuning;

/// <summary>
/// The range a parameter is drawn from. Samplers work on an internal number (the value itself for floats and ints,
/// the choice's index for categoricals); <see cref="FrozenTrial.Params"/> shows the external value.
/// </summary>
public abstract record Distribution
{
    private protected Distribution() { }

    /// <summary>"float", "int" or "categorical".</summary>
    public abstract string Kind { get; }

    /// <summary>True when the distribution holds exactly one value (nothing to search).</summary>
    public abstract bool IsSingle { get; }

    /// <summary>The internal number of an external value; throws <see cref="UsageException"/> when the value cannot be one.</summary>
    public abstract double ToInternal(object? value);

    /// <summary>The external value of an internal number.</summary>
    public abstract object? ToExternal(double internalValue);

    /// <summary>True when the internal number is a value of this distribution (in range, on the step grid).</summary>
    public abstract bool Contains(double internalValue);

    /// <summary>The distribution as JSON, in the form a search-space file uses: <c>{"type": "float", "low": …}</c>.</summary>
    public string ToJson()
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer)) WriteJson(writer);
        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    internal abstract void WriteJson(Utf8JsonWriter writer);

    /// <summary>Reads a distribution written by <see cref="ToJson"/> (or by hand in a search-space file).</summary>
    public static Distribution FromJson(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        try
        {
            using var document = JsonDocument.Parse(json);
            return FromJson(document.RootElement, "distribution");
        }
        catch (JsonException ex)
        {
            throw new UsageException($"distribution '{json}' is not valid JSON: {ex.Message}");
        }
    }

    /// <summary>
    /// Reads a search space: a JSON object mapping each parameter name to its distribution, e.g.
    /// <c>{"lr": {"type": "float", "low": 1e-5, "high": 0.1, "log": true}, "act": {"type": "categorical", "choices": ["relu", "gelu"]}}</c>.
    /// Every problem is reported at once, each naming its parameter.
    /// </summary>
    public static IReadOnlyDictionary<string, Distribution> ParseSearchSpace(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException ex)
        {
            throw new UsageException($"the search space is not valid JSON: {ex.Message}");
        }
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                throw new UsageException("the search space must be a JSON object mapping parameter names to distributions");
            var result = new Dictionary<string, Distribution>(StringComparer.Ordinal);
            var problems = new List<string>();
            foreach (var property in document.RootElement.EnumerateObject())
            {
                try
                {
                    result[property.Name] = FromJson(property.Value, $"parameter '{property.Name}'");
                }
                catch (UsageException ex)
                {
                    problems.Add(ex.Message);
                }
            }
            if (result.Count == 0 && problems.Count == 0) problems.Add("the search space declares no parameter");
            if (problems.Count > 0) throw new UsageException(string.Join("; ", problems));
            return result;
        }
    }

    internal static Distribution FromJson(JsonElement element, string what)
    {
        if (element.ValueKind != JsonValueKind.Object) throw new UsageException($"{what}: a distribution is a JSON object with a \"type\"");
        string? type = null;
        double? low = null, high = null, step = null;
        bool log = false;
        List<object?>? choices = null;
        var problems = new List<string>();
        foreach (var p in element.EnumerateObject())
        {
            switch (p.Name)
            {
                case "type":
                    type = p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString() : null;
                    if (type is null) problems.Add("\"type\" must be a string");
                    break;
                case "low":
                    low = Number(p.Value, "low", problems);
                    break;
                case "high":
                    high = Number(p.Value, "high", problems);
                    break;
                case "step":
                    step = p.Value.ValueKind == JsonValueKind.Null ? null : Number(p.Value, "step", problems);
                    break;
                case "log":
                    if (p.Value.ValueKind is JsonValueKind.True or JsonValueKind.False) log = p.Value.GetBoolean();
                    else problems.Add("\"log\" must be true or false");
                    break;
                case "choices":
                    if (p.Value.ValueKind == JsonValueKind.Array) choices = p.Value.EnumerateArray().Select(ScalarValues.FromJsonElement).ToList();
                    else problems.Add("\"choices\" must be an array");
                    break;
                default:
                    problems.Add($"unknown key \"{p.Name}\"" + (NameSuggester.Closest(p.Name, Keys) is { } s ? $" (did you mean \"{s}\"?)" : $" (known: {string.Join(", ", Keys)})"));
                    break;
            }
        }
        if (problems.Count == 0)
        {
            try
            {
                switch (type)
                {
                    case "float":
                        if (low is null || high is null) problems.Add("a float needs \"low\" and \"high\"");
                        else return new FloatDistribution(low.Value, high.Value, log, step);
                        break;
                    case "int":
                        if (low is null || high is null) problems.Add("an int needs \"low\" and \"high\"");
                        else if (!IsInt(low.Value) || !IsInt(high.Value) || (step is { } s && !IsInt(s))) problems.Add("an int's \"low\", \"high\" and \"step\" must be whole numbers");
                        else return new IntDistribution((int)low.Value, (int)high.Value, log, step is { } st ? (int)st : 1);
                        break;
                    case "categorical":
                        if (choices is null) problems.Add("a categorical needs \"choices\"");
                        else return new CategoricalDistribution(choices);
                        break;
                    case null:
                        problems.Add("\"type\" is missing (float, int or categorical)");
                        break;
                    default:
                        problems.Add($"unknown type \"{type}\"" + (NameSuggester.Closest(type, Types) is { } t ? $" (did you mean \"{t}\"?)" : " (known: float, int, categorical)"));
                        break;
                }
            }
            catch (UsageException ex)
            {
                problems.Add(ex.Message);
            }
        }
        throw new UsageException($"{what}: {string.Join("; ", problems)}");
    }

    private static readonly string[] Keys = ["type", "low", "high", "step", "log", "choices"];
    private static readonly string[] Types = ["float", "int", "categorical"];

    private static double? Number(JsonElement value, string key, List<string> problems)
    {
        if (value.ValueKind == JsonValueKind.Number) return value.GetDouble();
        problems.Add($"\"{key}\" must be a number");
        return null;
    }

    private static bool IsInt(double v) => v == Math.Floor(v) && v is >= int.MinValue and <= int.MaxValue;

    private protected static string Text(double v) => v.ToString("R", CultureInfo.InvariantCulture);
}

/// <summary>A real number in [low, high], optionally on a log scale or on a grid of <c>step</c>.</summary>
public sealed record FloatDistribution : Distribution
{
    /// <summary>
    /// Creates the distribution; every problem (low above high, log with low ≤ 0, log and step together, a step that is
    /// not positive, non-finite bounds) is reported at once. With a step, high is lowered onto the last grid point.
    /// </summary>
    public FloatDistribution(double low, double high, bool log = false, double? step = null)
    {
        var problems = new List<string>();
        if (!double.IsFinite(low) || !double.IsFinite(high)) problems.Add($"low ({Text(low)}) and high ({Text(high)}) must be finite");
        else if (low > high) problems.Add($"low ({Text(low)}) is above high ({Text(high)})");
        if (log && low <= 0) problems.Add($"a log scale needs low > 0 (got {Text(low)})");
        if (log && step is not null) problems.Add("log and step cannot be combined");
        if (step is { } s && !(s > 0 && double.IsFinite(s))) problems.Add($"step must be positive (got {Text(s)})");
        if (problems.Count > 0) throw new UsageException("float distribution: " + string.Join("; ", problems));
        Low = low;
        Log = log;
        Step = step;
        High = step is { } q ? AdjustHigh(low, high, q) : high;
    }

    /// <summary>The smallest value.</summary>
    public double Low { get; }

    /// <summary>The largest value (on the step grid when there is a step).</summary>
    public double High { get; }

    /// <summary>Values are drawn uniformly in log space.</summary>
    public bool Log { get; }

    /// <summary>Values lie on low, low + step, low + 2·step, …; null for a continuous range.</summary>
    public double? Step { get; }

    /// <inheritdoc />
    public override string Kind => "float";

    /// <inheritdoc />
    public override bool IsSingle => Low == High;

    private static double AdjustHigh(double low, double high, double step)
    {
        // Tolerant floor: (1.0 - 0.0) / 0.1 is 9.999999999999998, and 1.0 is meant to be on the grid.
        var n = Math.Floor(((high - low) / step) + 1e-9);
        return Math.Min(high, low + (n * step));
    }

    /// <inheritdoc />
    public override double ToInternal(object? value) => ScalarValues.Canonical(value) switch
    {
        double d => d,
        long l => l,
        _ => throw new UsageException($"'{ScalarValues.Describe(value)}' is not a number"),
    };

    /// <inheritdoc />
    public override object? ToExternal(double internalValue) => Snap(internalValue);

    /// <summary>The nearest value of the distribution (rounded to the step grid and clipped to the range).</summary>
    public double Snap(double value)
    {
        if (Step is { } q) value = Low + (Math.Round((value - Low) / q) * q);
        return Math.Clamp(value, Low, High);
    }

    /// <inheritdoc />
    public override bool Contains(double internalValue)
    {
        if (!(internalValue >= Low && internalValue <= High)) return false;
        if (Step is not { } q) return true;
        var k = (internalValue - Low) / q;
        return Math.Abs(k - Math.Round(k)) < 1e-8 * Math.Max(1, Math.Abs(k));
    }

    internal override void WriteJson(Utf8JsonWriter writer)
    {
        writer.WriteStartObject();
        writer.WriteString("type", "float");
        writer.WriteNumber("low", Low);
        writer.WriteNumber("high", High);
        if (Log) writer.WriteBoolean("log", true);
        if (Step is { } q) writer.WriteNumber("step", q);
        writer.WriteEndObject();
    }
}

/// <summary>An integer in [low, high], optionally on a log scale or on a grid of <c>step</c>.</summary>
public sealed record IntDistribution : Distribution
{
    /// <summary>
    /// Creates the distribution; every problem (low above high, log with low &lt; 1, log with a step other than 1, a step
    /// below 1) is reported at once. High is lowered onto the last grid point.
    /// </summary>
    public IntDistribution(int low, int high, bool log = false, int step = 1)
    {
        var problems = new List<string>();
        if (low > high) problems.Add($"low ({low}) is above high ({high})");
        if (log && low < 1) problems.Add($"a log scale needs low ≥ 1 (got {low})");
        if (log && step != 1) problems.Add($"a log scale needs step 1 (got {step})");
        if (step < 1) problems.Add($"step must be at least 1 (got {step})");
        if (problems.Count > 0) throw new UsageException("int distribution: " + string.Join("; ", problems));
        Low = low;
        Log = log;
        Step = step;
        High = (int)(low + ((((long)high - low) / step) * step));
    }

    /// <summary>The smallest value.</summary>
    public int Low { get; }

    /// <summary>The largest value (on the step grid).</summary>
    public int High { get; }

    /// <summary>Values are drawn uniformly in log space (then rounded).</summary>
    public bool Log { get; }

    /// <summary>Values lie on low, low + step, …</summary>
    public int Step { get; }

    /// <inheritdoc />
    public override string Kind => "int";

    /// <inheritdoc />
    public override bool IsSingle => Low == High;

    /// <inheritdoc />
    public override double ToInternal(object? value) => ScalarValues.Canonical(value) switch
    {
        long l => l,
        double d when d == Math.Floor(d) => d,
        _ => throw new UsageException($"'{ScalarValues.Describe(value)}' is not a whole number"),
    };

    /// <inheritdoc />
    public override object? ToExternal(double internalValue) => Snap(internalValue);

    /// <summary>The nearest value of the distribution (rounded to the step grid and clipped to the range).</summary>
    public int Snap(double value)
    {
        var k = Math.Round((value - Low) / Step, MidpointRounding.AwayFromZero);
        var snapped = Low + (k * Step);
        return (int)Math.Clamp(snapped, Low, High);
    }

    /// <inheritdoc />
    public override bool Contains(double internalValue) =>
        internalValue >= Low && internalValue <= High && internalValue == Math.Floor(internalValue) && ((long)internalValue - Low) % Step == 0;

    internal override void WriteJson(Utf8JsonWriter writer)
    {
        writer.WriteStartObject();
        writer.WriteString("type", "int");
        writer.WriteNumber("low", Low);
        writer.WriteNumber("high", High);
        if (Log) writer.WriteBoolean("log", true);
        if (Step != 1) writer.WriteNumber("step", Step);
        writer.WriteEndObject();
    }
}

/// <summary>One of a list of choices (strings, numbers, bools or null once stored).</summary>
public sealed record CategoricalDistribution : Distribution
{
    private readonly object?[] _choices;

    /// <summary>Creates the distribution; refuses an empty list and choices that are equal once stored (1 and 1.0).</summary>
    public CategoricalDistribution(IEnumerable<object?> choices)
    {
        ArgumentNullException.ThrowIfNull(choices);
        _choices = choices.Select(ScalarValues.Canonical).ToArray();
        if (_choices.Length == 0) throw new UsageException("categorical distribution: needs at least one choice");
        for (var i = 0; i < _choices.Length; i++)
        {
            for (var j = 0; j < i; j++)
            {
                if (ScalarValues.AreEqual(_choices[i], _choices[j]))
                    throw new UsageException($"categorical distribution: choice '{ScalarValues.Describe(_choices[i])}' is listed twice");
            }
        }
    }

    /// <summary>The choices in their stored form, in order.</summary>
    public IReadOnlyList<object?> Choices => _choices;

    /// <inheritdoc />
    public override string Kind => "categorical";

    /// <inheritdoc />
    public override bool IsSingle => _choices.Length == 1;

    /// <summary>The index of a choice, or -1.</summary>
    public int IndexOf(object? value)
    {
        for (var i = 0; i < _choices.Length; i++) if (ScalarValues.AreEqual(_choices[i], value)) return i;
        return -1;
    }

    /// <inheritdoc />
    public override double ToInternal(object? value)
    {
        var index = IndexOf(value);
        return index >= 0
            ? index
            : throw new UsageException($"'{ScalarValues.Describe(value)}' is not one of the choices ({string.Join(", ", _choices.Select(ScalarValues.Describe))})");
    }

    /// <inheritdoc />
    public override object? ToExternal(double internalValue) => _choices[(int)internalValue];

    /// <inheritdoc />
    public override bool Contains(double internalValue) => internalValue >= 0 && internalValue < _choices.Length && internalValue == Math.Floor(internalValue);

    /// <inheritdoc />
    public bool Equals(CategoricalDistribution? other) =>
        other is not null && other._choices.Length == _choices.Length && _choices.Zip(other._choices).All(p => ScalarValues.AreEqual(p.First, p.Second)
            && p.First?.GetType() == p.Second?.GetType());

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (var c in _choices) hash.Add(ScalarValues.Describe(c));
        return hash.ToHashCode();
    }

    internal override void WriteJson(Utf8JsonWriter writer)
    {
        writer.WriteStartObject();
        writer.WriteString("type", "categorical");
        writer.WriteStartArray("choices");
        foreach (var c in _choices) ScalarValues.Write(writer, c);
        writer.WriteEndArray();
        writer.WriteEndObject();
    }
}
