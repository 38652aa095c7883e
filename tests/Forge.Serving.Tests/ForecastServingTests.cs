using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using Forge.Core;
using Forge.DeepLearning;
using Forge.Tests.Shared;

namespace Forge.Serving.Tests;

/// <summary>An hourly forecaster behind /v1/models/{name}/predict and the Open Inference Protocol, against forge predict --batch.</summary>
public sealed class ForecastServingTests : IAsyncLifetime
{
    private const string Folder = "bike-sharing";
    private const int Window = 12;
    private readonly TempDir _temp = new("forge-serving-forecast-");
    private RunningServer? _server;
    private HourlySeries? _series;

    private string Bundle => _temp.Combine("bike-gru");

    public async Task InitializeAsync()
    {
        if (SharedData.DirOrNull(Folder) is null) return;
        TorchRuntime.SetThreads(1);
        HourlyForecasting.Run(new HourlyForecastRequest
        {
            DataDir = SharedData.Dir(Folder),
            Model = new SequenceModelOptions { Cell = RecurrentCell.Gru, HiddenSize = 8 },
            Options = HourlyForecasting.DefaultOptions with { Epochs = 1, BatchSize = 256, Threads = 1, EarlyStoppingPatience = 0 },
            Forecast = new ForecastOptions { Window = Window, Horizon = 1 },
            OutputDirectory = Bundle,
            Name = "bike-gru",
            ReferenceWriter = Forge.Monitoring.BundleProfile.Write,
        });
        _series = HourlySeries.ReadCsv(Path.Combine(SharedData.Dir(Folder), "hour.csv"));
        _server = await RunningServer.StartAsync(new ServerOptions { Models = [ModelSource.FromBundle(Bundle)] });
    }

    public async Task DisposeAsync()
    {
        if (_server is not null) await _server.DisposeAsync();
        _temp.Dispose();
    }

    // The window of rows ending at series index end, filled hours marked as forge predict --batch fills them.
    private JsonArray WindowRows(int end) => new([.. Enumerable.Range(end - Window + 1, Window).Select(i => (JsonNode)Row(i))]);

    private JsonObject Row(int i)
    {
        var s = _series!;
        var hour = s.HourAt(i);
        return new JsonObject
        {
            ["dteday"] = hour.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            ["hr"] = hour.Hour,
            ["cnt"] = s.Count[i],
            ["weathersit"] = s.Weathersit[i],
            ["temp"] = s.Temp[i],
            ["atemp"] = s.Atemp[i],
            ["hum"] = s.Hum[i],
            ["windspeed"] = s.Windspeed[i],
            ["filled"] = s.Filled[i] ? 1 : 0,
        };
    }

    [SharedDataFact(Folder)]
    public async Task The_server_answers_what_forge_predict_batch_writes_on_v1_and_v2()
    {
        var server = _server!;
        var s = _series!;
        // forge predict --batch over hour.csv: forecast per target hour.
        var csv = _temp.Combine("forecasts.csv");
        using (var output = new StringWriter())
        using (var error = new StringWriter())
        {
            var code = Forge.Cli.CliApp.Run(["predict", Bundle, "--batch", Path.Combine(SharedData.Dir(Folder), "hour.csv"), "--out", csv, "--json"], output, error, errorIsTerminal: false);
            Assert.True(code == 0, error.ToString());
        }
        var batch = File.ReadLines(csv).Skip(1).Select(l => l.Split(',')).ToDictionary(
            f => DateTime.ParseExact(f[0], "yyyy-MM-dd", CultureInfo.InvariantCulture).AddHours(int.Parse(f[1], CultureInfo.InvariantCulture)),
            f => double.Parse(f[2], CultureInfo.InvariantCulture));

        // Target hours: ordinary ones, and ones right after Hurricane Sandy's gap whose windows hold filled hours.
        var targets = new[] { new DateTime(2012, 9, 1, 8, 0, 0), new DateTime(2012, 12, 31, 23, 0, 0), new DateTime(2012, 10, 30, 22, 0, 0), new DateTime(2012, 10, 29, 0, 0, 0) };
        var ends = targets.Select(t => s.IndexOf(t) - 1).ToArray();
        Assert.True(s.Filled[ends[2] - Window + 1]);
        var (response, body) = await server.PostAsync("/v1/models/bike-gru/predict", new JsonObject { ["instances"] = new JsonArray([.. ends.Select(e => (JsonNode)WindowRows(e))]) });
        Assert.True(response.StatusCode == HttpStatusCode.OK, body?.ToJsonString());
        var values = body!["values"]!.AsArray().Select(v => v!.GetValue<double>()).ToArray();
        Assert.Equal(targets.Length, values.Length);
        for (var i = 0; i < targets.Length; i++) Assert.InRange(values[i] - batch[targets[i]], -1e-4, 1e-4);

        // v2: one input per column, [batch, window].
        var inputs = new JsonArray();
        foreach (var column in HourlySeries.Columns.Append("filled"))
        {
            var data = new JsonArray();
            foreach (var e in ends)
            {
                foreach (var row in WindowRows(e)) data.Add(row![column]!.DeepClone());
            }
            inputs.Add(new JsonObject
            {
                ["name"] = column,
                ["datatype"] = column == "dteday" ? "BYTES" : "FP64",
                ["shape"] = new JsonArray(ends.Length, Window),
                ["data"] = data,
            });
        }
        var (v2, v2Body) = await server.PostAsync("/v2/models/bike-gru/infer", new JsonObject { ["inputs"] = inputs });
        Assert.True(v2.StatusCode == HttpStatusCode.OK, v2Body?.ToJsonString());
        var output0 = v2Body!["outputs"]![0]!;
        Assert.Equal("cnt", (string?)output0["name"]);
        var v2Values = output0["data"]!.AsArray().Select(v => v!.GetValue<double>()).ToArray();
        for (var i = 0; i < targets.Length; i++) Assert.InRange(v2Values[i] - batch[targets[i]], -1e-4, 1e-4);
    }

    [SharedDataFact(Folder)]
    public async Task A_bad_window_is_a_400_naming_the_length_the_missing_hour_the_filled_hours_or_the_value()
    {
        var server = _server!;
        var s = _series!;
        var end = s.IndexOf(new DateTime(2012, 9, 1, 8, 0, 0));

        async Task<string> Refused(JsonArray window)
        {
            var (response, body) = await server.PostAsync("/v1/models/bike-gru/predict", new JsonObject { ["instances"] = new JsonArray(window) });
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, body?.ToJsonString());
            return (string?)body!["detail"] ?? "";
        }

        var shortWindow = WindowRows(end);
        shortWindow.RemoveAt(0);
        Assert.Contains("11 hours; the model reads a window of exactly 12 consecutive hours", await Refused(shortWindow), StringComparison.Ordinal);

        var gap = WindowRows(end);
        gap.RemoveAt(5);
        gap.Add(Row(end + 1));
        Assert.Contains("hour 2012-09-01 02:00 is missing", await Refused(gap), StringComparison.Ordinal);

        var nan = WindowRows(end);
        nan[3]!["temp"] = "NaN";
        Assert.Contains("instances[0][3].temp: expected a finite number; got the string 'NaN'", await Refused(nan), StringComparison.Ordinal);

        var filled = WindowRows(end);
        for (var i = 0; i < 4; i++) filled[i]!["filled"] = 1;
        Assert.Contains("4 missing (filled) hours, more than the 3 allowed: 2012-08-31 21:00", await Refused(filled), StringComparison.Ordinal);

        var (v2, v2Body) = await server.PostAsync("/v2/models/bike-gru/infer", new JsonObject
        {
            ["inputs"] = new JsonArray(new JsonObject { ["name"] = "cnt", ["datatype"] = "FP32", ["shape"] = new JsonArray(1, 24), ["data"] = new JsonArray([.. Enumerable.Range(0, 24).Select(_ => (JsonNode)1)]) }),
        });
        Assert.True(v2.StatusCode == HttpStatusCode.BadRequest, v2Body?.ToJsonString());
        Assert.Contains("a window of 24 hours; the model reads exactly 12", v2Body!.ToJsonString(), StringComparison.Ordinal);

        // The explainers do not apply to a window of hours: a clear 400 that names what to use instead.
        var (explain, explainBody) = await server.PostAsync("/v1/models/bike-gru/explain", new JsonObject { ["instances"] = new JsonArray(WindowRows(end)) });
        Assert.True(explain.StatusCode == HttpStatusCode.BadRequest, explainBody?.ToJsonString());
        Assert.Contains("do not support", explainBody!.ToJsonString(), StringComparison.Ordinal);
        Assert.Contains("forge train bike-sharing", explainBody.ToJsonString(), StringComparison.Ordinal);
    }

    [SharedDataFact(Folder)]
    public async Task Served_windows_are_watched_for_drift_through_their_latest_hour()
    {
        var server = _server!;
        var s = _series!;
        var (early, earlyBody) = await server.GetAsync("/v1/models/bike-gru/drift");
        Assert.True(early.StatusCode == HttpStatusCode.OK, earlyBody?.ToJsonString());

        // Windows spread over the test period (the profile's own hours) look like the reference...
        using var model = HourlyForecaster.Load(ModelBundle.Load(Bundle));
        var testStart = s.IndexOf(model.Spec.TestStart);
        var like = HourlyForecasting.Ends(model.Spec, s, testStart, s.Length, out _).Where((_, i) => i % 23 == 0).Take(150).ToArray();
        Assert.Equal(150, like.Length);
        await SendAsync(like);
        var (response, body) = await server.GetAsync("/v1/models/bike-gru/drift?refresh=true");
        Assert.True(response.StatusCode == HttpStatusCode.OK, body?.ToJsonString());
        var names = body!["columns"]!.AsArray().Select(c => (string)c!["name"]!).ToArray();
        Assert.Equal(ForecastSpec.MonitoredColumns, names);
        Assert.False((bool)body["datasetDrift"]!, body.ToJsonString());
        Assert.Contains(body["predictions"]!.AsArray(), p => (string)p!["name"]! == "prediction");

        // ...and a window's worth of January 2011 (cold, few riders) drifts, temperature and count first.
        var winter = HourlyForecasting.Ends(model.Spec, s, 0, 420, out _);
        Assert.True(winter.Length >= 350, $"{winter.Length} accepted windows in January 2011");
        await SendAsync(winter);
        (response, body) = await server.GetAsync("/v1/models/bike-gru/drift?refresh=true");
        Assert.True(response.StatusCode == HttpStatusCode.OK, body?.ToJsonString());
        var drifted = body!["columns"]!.AsArray().Where(c => (bool)c!["drifted"]!).Select(c => (string)c!["name"]!).ToArray();
        Assert.Contains("temp", drifted);
        Assert.Contains("cnt", drifted);
    }

    private async Task SendAsync(IReadOnlyList<int> ends)
    {
        foreach (var chunk in ends.Chunk(50))
        {
            var (response, body) = await _server!.PostAsync("/v1/models/bike-gru/predict", new JsonObject { ["instances"] = new JsonArray([.. chunk.Select(e => (JsonNode)WindowRows(e))]) });
            Assert.True(response.StatusCode == HttpStatusCode.OK, body?.ToJsonString());
        }
    }
}
