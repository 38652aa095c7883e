using System.Globalization;
using System.Text.Json.Nodes;
using Forge.Core;

namespace Forge.DeepLearning;

/// <summary>The shape of an hourly forecast: how many past hours it reads and how far ahead it forecasts. Hyperparameters only.</summary>
public sealed record ForecastOptions
{
    /// <summary>Past hours each forecast reads, up to and including hour t (default 168, one week).</summary>
    public int Window { get; init; } = 168;

    /// <summary>Hours ahead: the forecast is of the single hour t + horizon (a direct forecast; default 1).</summary>
    public int Horizon { get; init; } = 1;

    /// <summary>
    /// Most filled (missing) hours a window may hold; a window with more is refused (default: 2/7 of the window, 48 hours
    /// of 168, so the longest gap of the bike-sharing data, 36 hours, passes).
    /// </summary>
    public int? MaxFilledHours { get; init; }

    /// <summary>Share of the file's rows, the last ones, whose hours are the test period (default 0.2, the tabular recipe's split).</summary>
    public double TestFraction { get; init; } = 0.2;

    /// <summary>The maximum in force: <see cref="MaxFilledHours"/>, or 2/7 of the window.</summary>
    public int EffectiveMaxFilled => MaxFilledHours ?? Window * 2 / 7;

    /// <summary>Checks every option and reports all problems in one <see cref="OptionsException"/>.</summary>
    public void Validate() => OptionsException.ThrowIfAny(FindProblems());

    /// <summary>Every problem with these options, each naming its option.</summary>
    public IReadOnlyList<OptionProblem> FindProblems()
    {
        var problems = new List<OptionProblem>();
        void Add(string option, string problem) => problems.Add(new OptionProblem(OptionsMap.Key(option), problem));
        if (Window < 1) Add(nameof(Window), $"must be at least 1 hour (got {Window})");
        if (Horizon < 1) Add(nameof(Horizon), $"must be at least 1 hour (got {Horizon})");
        if (Horizon > HourlySeries.FillLag) Add(nameof(Horizon), $"must be at most {HourlySeries.FillLag} hours, the seasonal-naive baseline's lag (got {Horizon})");
        if (MaxFilledHours is < 0) Add(nameof(MaxFilledHours), $"must not be negative (got {MaxFilledHours})");
        if (TestFraction is <= 0 or >= 1 || double.IsNaN(TestFraction)) Add(nameof(TestFraction), $"must be in (0, 1) (got {TestFraction})");
        return problems;
    }

    /// <summary>Every option as name/value text for a manifest or a tracked run.</summary>
    public IReadOnlyDictionary<string, string> ToDictionary() => OptionsMap.From(this);
}

/// <summary>
/// Everything a trained forecaster needs besides its weights, as its bundle carries it: window, horizon, the most filled
/// hours a window may hold, the count's scaling, and the split boundaries. It builds the network's input for a window:
/// per past hour the scaled <c>cnt</c>, the fill indicator, the weather and the calendar, and on every step the
/// calendar of the target hour (never its weather or count).
/// </summary>
public sealed record ForecastSpec
{
    /// <summary>The preprocessing kind of forecasting bundles of flavor <c>torch-sequence</c>.</summary>
    public const string PreprocessingKind = "hourly-forecast";

    /// <summary>Past hours read, up to and including hour t.</summary>
    public required int Window { get; init; }

    /// <summary>The forecast is of hour t + horizon.</summary>
    public required int Horizon { get; init; }

    /// <summary>Most filled hours a window may hold.</summary>
    public required int MaxFilledHours { get; init; }

    /// <summary>Mean of the observed training-period counts (the count is standardised with it).</summary>
    public required double CountMean { get; init; }

    /// <summary>Standard deviation of the observed training-period counts.</summary>
    public required double CountStd { get; init; }

    /// <summary>The first hour of the data trained on.</summary>
    public required DateTime TrainStart { get; init; }

    /// <summary>The first target hour of the validation period (the last 10 % of the training rows).</summary>
    public required DateTime ValidationStart { get; init; }

    /// <summary>The first target hour of the test period (the last 20 % of the rows).</summary>
    public required DateTime TestStart { get; init; }

    /// <summary>The last hour of the data.</summary>
    public required DateTime End { get; init; }

    /// <summary>Per-step input features, in order: the hour's own (<c>cnt</c> scaled, <c>filled</c>, weather, calendar), then the target hour's calendar.</summary>
    public static IReadOnlyList<string> FeatureNames { get; } =
    [
        "cnt", "filled", "weathersit", "temp", "atemp", "hum", "windspeed",
        .. BikeCalendar.FeatureNames,
        .. BikeCalendar.FeatureNames.Select(n => "target_" + n),
    ];

    /// <summary>Features per time step.</summary>
    public static int Features => FeatureNames.Count;

    private const int OwnFeatures = 7;

    /// <summary>
    /// The columns drift monitoring watches for each forecast: the latest hour of its window as it was observed (or
    /// filled), named as hour.csv names them. The target hour's calendar is left out: it follows the clock, not the data.
    /// </summary>
    public static IReadOnlyList<string> MonitoredColumns { get; } = ["cnt", "filled", "weathersit", "temp", "atemp", "hum", "windspeed"];

    /// <summary>
    /// One row per window, its latest hour's <see cref="MonitoredColumns"/>: what training profiles into the bundle,
    /// <c>forge monitor</c> reads from a CSV and the server observes, so the three compare like with like.
    /// </summary>
    public static Table LatestHours(IReadOnlyList<HourlyObservation> latest)
    {
        ArgumentNullException.ThrowIfNull(latest);
        double[] Of(Func<HourlyObservation, double> value) => [.. latest.Select(value)];
        return new Table(
            Column.Float64("cnt", Of(h => h.Count)),
            Column.Float64("filled", Of(h => h.Filled ? 1 : 0)),
            Column.Float64("weathersit", Of(h => h.Weathersit)),
            Column.Float64("temp", Of(h => h.Temp)),
            Column.Float64("atemp", Of(h => h.Atemp)),
            Column.Float64("hum", Of(h => h.Hum)),
            Column.Float64("windspeed", Of(h => h.Windspeed)));
    }

    /// <summary>The <see cref="LatestHours(IReadOnlyList{HourlyObservation})"/> of the windows ending at the given series indices.</summary>
    public static Table LatestHours(HourlySeries series, IReadOnlyList<int> ends)
    {
        ArgumentNullException.ThrowIfNull(series);
        ArgumentNullException.ThrowIfNull(ends);
        return LatestHours([.. ends.Select(series.At)]);
    }

    /// <summary>The filled hours of the window that ends at series index <paramref name="end"/>.</summary>
    public IReadOnlyList<DateTime> FilledHours(HourlySeries series, int end)
    {
        ArgumentNullException.ThrowIfNull(series);
        var hours = new List<DateTime>();
        for (var i = end - Window + 1; i <= end; i++)
        {
            if (series.Filled[i]) hours.Add(series.HourAt(i));
        }
        return hours;
    }

    /// <summary>Whether the window ending at <paramref name="end"/> lies in the series and holds no more filled hours than allowed.</summary>
    public bool Accepts(HourlySeries series, int end) =>
        end - Window + 1 >= 0 && end < series.Length && CountFilled(series, end) <= MaxFilledHours;

    /// <summary>The refusal of a window with too many filled hours, naming them.</summary>
    public string DescribeRefusal(HourlySeries series, int end)
    {
        var filled = FilledHours(series, end);
        var shown = string.Join(", ", filled.Take(12).Select(HourlySeries.Format)) + (filled.Count > 12 ? $" and {filled.Count - 12} more" : "");
        return string.Create(CultureInfo.InvariantCulture,
            $"the window {HourlySeries.Format(series.HourAt(end - Window + 1))} to {HourlySeries.Format(series.HourAt(end))} has {filled.Count} missing (filled) hours, more than the {MaxFilledHours} allowed: {shown}");
    }

    /// <summary>
    /// The network input of one served window: exactly <see cref="Window"/> consecutive hours, oldest first, a missing
    /// hour sent filled by the fill rule and marked <see cref="HourlyObservation.Filled"/>, at most
    /// <see cref="MaxFilledHours"/> of them. Any other window is a <see cref="UsageException"/> naming the length, the
    /// missing hour or the filled hours.
    /// </summary>
    public float[] WindowInput(IReadOnlyList<HourlyObservation> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        if (rows.Count != Window)
            throw new UsageException(string.Create(CultureInfo.InvariantCulture, $"{rows.Count} hours; the model reads a window of exactly {Window} consecutive hours, oldest first"));
        for (var i = 1; i < rows.Count; i++)
        {
            var expected = rows[i - 1].Hour.AddHours(1);
            if (rows[i].Hour == expected) continue;
            throw new UsageException(rows[i].Hour > expected
                ? $"hour {HourlySeries.Format(expected)} is missing (row {i + 1} is {HourlySeries.Format(rows[i].Hour)}, after {HourlySeries.Format(rows[i - 1].Hour)}); send every hour of the window, a missing one filled (cnt of the same hour one week earlier, the weather of the hour before) and marked \"filled\": 1"
                : $"row {i + 1} ({HourlySeries.Format(rows[i].Hour)}) is not after row {i} ({HourlySeries.Format(rows[i - 1].Hour)}); send the hours oldest first, each once");
        }
        HourlySeries series;
        try
        {
            series = HourlySeries.Build(rows, "window");
        }
        catch (DataFormatException e)
        {
            throw new UsageException(e.Message.StartsWith("window: ", StringComparison.Ordinal) ? e.Message["window: ".Length..] : e.Message);
        }
        if (!Accepts(series, Window - 1)) throw new UsageException(DescribeRefusal(series, Window - 1));
        var x = new float[Window * Features];
        Fill(series, Window - 1, x);
        return x;
    }

    /// <summary>Writes the [window, features] input of the window ending at series index <paramref name="end"/> into <paramref name="into"/>.</summary>
    internal void Fill(HourlySeries series, int end, Span<float> into)
    {
        var f = Features;
        Span<float> target = stackalloc float[BikeCalendar.FeatureNames.Count];
        BikeCalendar.Features(series.HourAt(end + Horizon), target);
        var first = end - Window + 1;
        for (var k = 0; k < Window; k++)
        {
            var i = first + k;
            var row = into.Slice(k * f, f);
            row[0] = (float)((series.Count[i] - CountMean) / CountStd);
            row[1] = series.Filled[i] ? 1 : 0;
            row[2] = (float)((series.Weathersit[i] - 1) / 3);
            row[3] = (float)series.Temp[i];
            row[4] = (float)series.Atemp[i];
            row[5] = (float)series.Hum[i];
            row[6] = (float)series.Windspeed[i];
            BikeCalendar.Features(series.HourAt(i), row.Slice(OwnFeatures, target.Length));
            target.CopyTo(row[(OwnFeatures + target.Length)..]);
        }
    }

    /// <summary>The spec as the manifest's <c>preprocessing</c> section records it.</summary>
    public JsonObject ToJson() => new()
    {
        ["kind"] = PreprocessingKind,
        ["window"] = Window,
        ["horizon"] = Horizon,
        ["maxFilledHours"] = MaxFilledHours,
        ["countMean"] = CountMean,
        ["countStd"] = CountStd,
        ["columns"] = new JsonArray([.. HourlySeries.Columns.Select(c => (JsonNode)c)]),
        ["features"] = new JsonArray([.. FeatureNames.Select(c => (JsonNode)c)]),
        ["fillRule"] = HourlySeries.FillRule,
        ["calendar"] = "hour, weekday and day of year as sine/cosine pairs; holiday = US federal holidays as observed plus D.C. Emancipation Day; workingday = Monday-Friday and not a holiday; computed from each timestamp, the target hour's included",
        ["split"] = new JsonObject
        {
            ["trainStart"] = HourlySeries.Format(TrainStart),
            ["validationStart"] = HourlySeries.Format(ValidationStart),
            ["testStart"] = HourlySeries.Format(TestStart),
            ["end"] = HourlySeries.Format(End),
        },
    };

    /// <summary>Reads a spec written by <see cref="ToJson"/>; <paramref name="source"/> names the manifest in errors.</summary>
    public static ForecastSpec FromJson(JsonObject json, string source)
    {
        ArgumentNullException.ThrowIfNull(json);
        JsonNode Get(JsonObject o, string key, string path) => o[key] ?? throw new BundleException(source, $"preprocessing.{path} is missing");
        DateTime Hour(string key)
        {
            var split = Get(json, "split", "split") as JsonObject ?? throw new BundleException(source, "preprocessing.split is not an object");
            var text = (string?)Get(split, key, "split." + key);
            return DateTime.TryParseExact(text, "yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture, DateTimeStyles.None, out var t)
                ? t
                : throw new BundleException(source, $"preprocessing.split.{key} '{text}' is not an hour (yyyy-MM-dd HH:mm)");
        }
        var spec = new ForecastSpec
        {
            Window = (int)Get(json, "window", "window"),
            Horizon = (int)Get(json, "horizon", "horizon"),
            MaxFilledHours = (int)Get(json, "maxFilledHours", "maxFilledHours"),
            CountMean = (double)Get(json, "countMean", "countMean"),
            CountStd = (double)Get(json, "countStd", "countStd"),
            TrainStart = Hour("trainStart"),
            ValidationStart = Hour("validationStart"),
            TestStart = Hour("testStart"),
            End = Hour("end"),
        };
        if (spec.Window < 1 || spec.Horizon < 1 || !(spec.CountStd > 0))
            throw new BundleException(source, "preprocessing: window and horizon must be at least 1 and countStd positive");
        return spec;
    }

    private int CountFilled(HourlySeries series, int end)
    {
        var n = 0;
        for (var i = end - Window + 1; i <= end; i++) n += series.Filled[i] ? 1 : 0;
        return n;
    }
}
