using System.Globalization;
using Forge.Core;
using Forge.Tests.Shared;

namespace Forge.Cli.Tests;

public sealed class ForecastCommandTests(ForgeHomeFixture home) : IClassFixture<ForgeHomeFixture>, IDisposable
{
    private readonly TempDir _temp = new("forge-cli-forecast-");

    public void Dispose()
    {
        _ = home;
        _temp.Dispose();
    }

    private static string HourCsv => Path.Combine(SharedData.Dir("bike-sharing"), "hour.csv");

    [SharedDataFact("bike-sharing")]
    public void A_batch_prediction_over_the_hours_reproduces_the_test_metric_exactly()
    {
        var dir = _temp.Combine("gru");
        var train = Cli.Run("train", "bike-sharing", "--model", "gru", "--window", "12", "--horizon", "24", "--epochs", "1", "--hidden", "8", "--batch-size", "256",
            "--early-stopping", "0", "--threads", "1", "--data-dir", SharedData.Dir("bike-sharing"), "--out", dir, "--json");
        Assert.True(train.ExitCode == 0, train.ToString());
        var json = train.Json();
        Assert.Equal("2012-08-07 12:00", json.Text("testStart"));
        Assert.Equal("2012-06-10 14:00", json.Text("validationStart"));
        Assert.True(json.Number("seasonalNaiveSkipped") > 0);
        // Tracked like any run: the options and the test metrics beside the baseline's.
        var show = Cli.Run("runs", "show", json.Text("runId"), "--json");
        Assert.True(show.ExitCode == 0, show.ToString());
        foreach (var key in new[] { "testRmse", "seasonalNaiveRmse", "forecast.window", "model.cell" }) Assert.Contains(key, show.Out, StringComparison.Ordinal);
        var manifest = ModelBundle.Load(dir).Manifest;
        Assert.Equal("torch-sequence", manifest.Flavor);
        Assert.Equal("regression", manifest.Task);

        // A CSV holding the test period and the hours before it that its windows and the fill rule read.
        var lines = File.ReadAllLines(HourCsv);
        var testCsv = _temp.Combine("test-hours.csv");
        File.WriteAllLines(testCsv, [lines[0], .. lines.Skip(1).Where(l => string.CompareOrdinal(l.Split(',')[1], "2012-07-20") >= 0)]);
        var output = _temp.Combine("forecasts.csv");
        var predict = Cli.Run("predict", dir, "--batch", testCsv, "--out", output, "--json");
        Assert.True(predict.ExitCode == 0, predict.ToString());
        var test = predict.Json().GetProperty("scores").GetProperty("test");
        Assert.Equal(manifest.Metrics["testRmse"], test.Number("rmse"));
        Assert.Equal(manifest.Metrics["testMae"], test.Number("mae"));
        Assert.Equal(manifest.Metrics["testHours"], test.Number("hours"));
        var rows = File.ReadAllLines(output);
        Assert.Equal("dteday,hr,forecast,cnt,period", rows[0]);
        Assert.Contains(rows, r => r.StartsWith("2012-12-31,23,", StringComparison.Ordinal) && r.EndsWith(",test", StringComparison.Ordinal));
        // Sandy's 36 filled hours are never a forecast target.
        Assert.DoesNotContain(rows, r => r.StartsWith("2012-10-29,5,", StringComparison.Ordinal));

        // The bundle carries its drift reference (the test period's windows: latest hour and forecast), so forge monitor
        // checks a CSV of hours against it: the same months do not drift, a January does.
        Assert.Contains("reference/profile.json", manifest.Files.Keys);
        var same = Cli.Run("monitor", dir, "--current", testCsv, "--json");
        Assert.True(same.ExitCode == 0, same.ToString());
        var report = same.Json();
        Assert.Equal(["cnt", "filled", "weathersit", "temp", "atemp", "hum", "windspeed"], report.GetProperty("columns").EnumerateArray().Select(c => c.Text("name")).ToArray());
        Assert.False(report.GetProperty("datasetDrift").GetBoolean(), same.Out);
        var januaryCsv = _temp.Combine("january.csv");
        File.WriteAllLines(januaryCsv, [lines[0], .. lines.Skip(1).Where(l => l.Split(',')[1].StartsWith("2011-01-", StringComparison.Ordinal))]);
        var january = Cli.Run("monitor", dir, "--current", januaryCsv, "--json");
        Assert.True(january.ExitCode == 0, january.ToString());
        var drifted = january.Json().GetProperty("columns").EnumerateArray().Where(c => c.GetProperty("drifted").GetBoolean()).Select(c => c.Text("name")).ToArray();
        Assert.Contains("temp", drifted);
        Assert.Contains("cnt", drifted);

        // The explainers do not apply to a window of hours; the refusal names what to use instead.
        Cli.AssertFailed(Cli.Run("explain", dir, "--rows", testCsv), "hourly forecaster", "forge train bike-sharing", "forge monitor");
        Cli.AssertFailed(Cli.Run("evaluate", dir), "hourly forecaster", "does not score", "forge predict BUNDLE --batch");
    }

    [SharedDataFact("bike-sharing")]
    public void Bad_forecasting_input_gets_one_clear_line()
    {
        var data = SharedData.Dir("bike-sharing");
        Cli.AssertFailed(Cli.Run("train", "bike-sharing", "--model", "lstm", "--window", "20000", "--data-dir", data, "--out", _temp.Combine("x"), "--no-track"),
            "--window 20000", "longer than the training data");
        Cli.AssertFailed(Cli.Run("train", "bike-sharing", "--model", "lstn", "--out", _temp.Combine("x"), "--no-track"), "did you mean 'lstm'");
        Cli.AssertFailed(Cli.Run("train", "bike-sharing", "--model", "gru", "--window", "0", "--horizon", "0", "--out", _temp.Combine("x"), "--no-track"), "window", "horizon");
        Cli.AssertFailed(Cli.Run("train", "bike-sharing", "--model", "gru", "--trees", "10", "--out", _temp.Combine("x"), "--no-track"), "--trees");
        Cli.AssertFailed(Cli.Run("train", "adult", "--window", "24", "--out", _temp.Combine("x"), "--no-track"), "--window");
        Assert.False(Directory.Exists(_temp.Combine("x")));
    }
}
