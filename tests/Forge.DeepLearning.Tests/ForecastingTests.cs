using System.Globalization;
using Forge.Core;
using Forge.Data;
using Forge.Tests.Shared;
using static TorchSharp.torch;

namespace Forge.DeepLearning.Tests;

/// <summary>Reindexing, the fill rule, the calendar and window building on bike sharing's real hour.csv.</summary>
public sealed class HourlySeriesTests
{
    private static readonly Lazy<HourlySeries> Real = new(() => HourlySeries.ReadCsv(Path.Combine(SharedData.Dir("bike-sharing"), "hour.csv")));

    [SharedDataFact("bike-sharing")]
    public void The_real_file_misses_165_hours_in_75_gaps_the_longest_36_hours_from_2012_10_29()
    {
        var s = Real.Value;
        Assert.Equal(17_379, s.RowHours.Count);
        Assert.Equal(new DateTime(2011, 1, 1, 0, 0, 0), s.Start);
        Assert.Equal(731 * 24, s.Length);
        Assert.Equal(165, s.FilledCount);
        var gaps = s.Gaps();
        Assert.Equal(75, gaps.Count);
        Assert.Equal(165, gaps.Sum(g => g.Hours));
        var longest = gaps.MaxBy(g => g.Hours)!;
        Assert.Equal(36, longest.Hours);
        Assert.Equal(new DateTime(2012, 10, 29, 1, 0, 0), longest.Start);
        // The only other gaps longer than a day's working hours: 2011-01-26 18:00 (22 h) and 2011-08-27 18:00 (13 h).
        Assert.Equal(22, gaps.Single(g => g.Start == new DateTime(2011, 1, 26, 18, 0, 0)).Hours);
    }

    [SharedDataFact("bike-sharing")]
    public void A_missing_hour_takes_the_count_of_a_week_earlier_and_the_weather_of_the_hour_before()
    {
        var s = Real.Value;
        var sandy = s.IndexOf(new DateTime(2012, 10, 29, 1, 0, 0));
        Assert.False(s.Filled[sandy - 1]);
        for (var i = sandy; i < sandy + 36; i++)
        {
            Assert.True(s.Filled[i]);
            Assert.Equal(s.Count[i - 168], s.Count[i]);
            Assert.Equal(s.Temp[sandy - 1], s.Temp[i]);
            Assert.Equal(s.Weathersit[sandy - 1], s.Weathersit[i]);
            Assert.Equal(s.Hum[sandy - 1], s.Hum[i]);
            Assert.Equal(s.Windspeed[sandy - 1], s.Windspeed[i]);
        }
        Assert.False(s.Filled[sandy + 36]);
        // In the first week there is no week-earlier hour: the hour before's count is carried.
        var early = s.IndexOf(new DateTime(2011, 1, 2, 5, 0, 0));
        Assert.True(s.Filled[early]);
        Assert.Equal(s.Count[early - 1], s.Count[early]);
    }

    [SharedDataFact("bike-sharing")]
    public void Drift_monitoring_reads_each_windows_latest_hour_column_by_column_as_the_series_holds_it()
    {
        var s = Real.Value;
        var sandy = s.IndexOf(new DateTime(2012, 10, 29, 1, 0, 0));
        int[] ends = [sandy - 1, sandy + 3, 200];
        var table = ForecastSpec.LatestHours(s, ends);
        Assert.Equal(ForecastSpec.MonitoredColumns, table.Columns.Select(c => c.Name).ToArray());
        double[][] expected =
        [
            [.. ends.Select(e => s.Count[e])], [.. ends.Select(e => s.Filled[e] ? 1.0 : 0.0)], [.. ends.Select(e => s.Weathersit[e])],
            [.. ends.Select(e => s.Temp[e])], [.. ends.Select(e => s.Atemp[e])], [.. ends.Select(e => s.Hum[e])], [.. ends.Select(e => s.Windspeed[e])],
        ];
        for (var c = 0; c < expected.Length; c++) Assert.Equal(expected[c], ((ScalarColumn<double>)table.Columns[c]).Values.ToArray());
        // Sandy's fourth hour was missing: the monitored row says so, as a served window's "filled": 1 would.
        Assert.Equal([0.0, 1.0], ((ScalarColumn<double>)table.Columns[1]).Values.ToArray()[..2]);
        Assert.Equal(s.HourAt(200), s.At(200).Hour);
    }

    [SharedDataFact("bike-sharing")]
    public void The_calendar_rule_reproduces_the_files_holiday_weekday_and_workingday_on_every_day()
    {
        var records = Csv.ReadFile(Path.Combine(SharedData.Dir("bike-sharing"), "hour.csv"));
        var at = Csv.Columns(records[0], "hour.csv", "dteday", "holiday", "weekday", "workingday");
        var days = 0;
        foreach (var r in records.Skip(1).DistinctBy(r => r[at[0]]))
        {
            var day = DateOnly.ParseExact(r[at[0]], "yyyy-MM-dd", CultureInfo.InvariantCulture);
            Assert.True(r[at[1]] == (BikeCalendar.IsHoliday(day) ? "1" : "0"), $"holiday of {day}");
            Assert.True(r[at[2]] == ((int)day.DayOfWeek).ToString(CultureInfo.InvariantCulture), $"weekday of {day}");
            Assert.True(r[at[3]] == (BikeCalendar.IsWorkingDay(day) ? "1" : "0"), $"workingday of {day}");
            days++;
        }
        Assert.Equal(731, days);
    }

    [SharedDataFact("bike-sharing")]
    public void The_split_is_the_tabular_recipes_last_20_percent_of_rows_with_validation_the_last_10_percent_of_training()
    {
        var (validation, test) = HourlyForecasting.Boundaries(Real.Value, 0.2, 0.1);
        // 17,379 rows: 3,476 test rows from row 13,904 (instant 13904), 1,390 validation rows before them.
        Assert.Equal(new DateTime(2012, 8, 7, 12, 0, 0), test);
        Assert.Equal(new DateTime(2012, 6, 10, 14, 0, 0), validation);
    }

    [SharedDataFact("bike-sharing")]
    public void The_seasonal_naive_baseline_skips_and_counts_hours_whose_week_earlier_hour_is_missing()
    {
        var s = Real.Value;
        var (_, test) = HourlyForecasting.Boundaries(s, 0.2, 0.1);
        var from = s.IndexOf(test);
        var (score, skipped) = HourlyForecasting.SeasonalNaive(s, from, s.Length);
        var observed = Enumerable.Range(from, s.Length - from).Count(t => !s.Filled[t]);
        var expectedSkipped = Enumerable.Range(from, s.Length - from).Count(t => !s.Filled[t] && s.Filled[t - 168]);
        Assert.Equal(3_476, observed);
        Assert.Equal(expectedSkipped, skipped);
        Assert.True(skipped > 0);
        Assert.Equal(observed - skipped, score.Hours);
    }

    [Fact]
    public void A_window_holds_past_weather_and_the_target_hours_calendar_but_never_its_weather_or_count()
    {
        var start = new DateTime(2012, 11, 20, 0, 0, 0);
        var rows = Enumerable.Range(0, 60).Select(i => new HourlyObservation(start.AddHours(i), 100 + i, 1 + (i % 4), 0.01 * i, 0.02 * i, 0.5, 0.1)).ToList();
        var series = HourlySeries.Build(rows, "test");
        var spec = new ForecastSpec
        {
            Window = 5, Horizon = 24, MaxFilledHours = 2, CountMean = 100, CountStd = 10,
            TrainStart = start, ValidationStart = start, TestStart = start, End = start,
        };
        var f = ForecastSpec.Features;
        Assert.Equal(23, f);
        var x = new float[5 * f];
        spec.Fill(series, 10, x);
        // Steps are hours 6..10, oldest first; the target is hour 34 = 2012-11-21 10:00, the day before Thanksgiving.
        for (var k = 0; k < 5; k++)
        {
            var i = 6 + k;
            Assert.Equal((float)((100 + i - 100) / 10.0), x[(k * f) + 0], 5);
            Assert.Equal(0f, x[(k * f) + 1]);
            Assert.Equal((float)((1 + (i % 4) - 1) / 3.0), x[(k * f) + 2], 5);
            Assert.Equal((float)(0.01 * i), x[(k * f) + 3], 5);
            Assert.Equal((float)Math.Sin(2 * Math.PI * i / 24), x[(k * f) + 7], 5);
            Assert.Equal((float)Math.Sin(2 * Math.PI * 10 / 24), x[(k * f) + 15], 5);
            Assert.Equal((float)Math.Cos(2 * Math.PI * 10 / 24), x[(k * f) + 16], 5);
            Assert.Equal((float)Math.Sin(2 * Math.PI * 3 / 7), x[(k * f) + 17], 5);
            Assert.Equal(0f, x[(k * f) + 21]);
            Assert.Equal(1f, x[(k * f) + 22]);
        }
        // Changing the target hour's own weather and count changes nothing.
        rows[34] = rows[34] with { Count = 9999, Temp = 0.99, Weathersit = 4 };
        var y = new float[5 * f];
        spec.Fill(HourlySeries.Build(rows, "test"), 10, y);
        Assert.Equal(x, y);
        // One day later the target is Thanksgiving: holiday 1, workingday 0.
        spec.Fill(series, 34, x);
        Assert.Equal(1f, x[21]);
        Assert.Equal(0f, x[22]);
    }

    [Fact]
    public void A_window_with_more_filled_hours_than_allowed_is_refused_naming_them()
    {
        var start = new DateTime(2012, 1, 1, 0, 0, 0);
        var rows = Enumerable.Range(0, 20).Where(i => i is not (12 or 13 or 14)).Select(i => new HourlyObservation(start.AddHours(i), i, 1, 0.5, 0.5, 0.5, 0.1)).ToList();
        var series = HourlySeries.Build(rows, "test");
        var spec = new ForecastSpec
        {
            Window = 8, Horizon = 1, MaxFilledHours = 2, CountMean = 0, CountStd = 1,
            TrainStart = start, ValidationStart = start, TestStart = start, End = start,
        };
        Assert.True(spec.Accepts(series, 13));
        Assert.False(spec.Accepts(series, 14));
        Assert.False(spec.Accepts(series, 6));
        var message = spec.DescribeRefusal(series, 14);
        Assert.Contains("3 missing (filled) hours, more than the 2 allowed: 2012-01-01 12:00, 2012-01-01 13:00, 2012-01-01 14:00", message, StringComparison.Ordinal);
        Assert.Equal(11.0, series.Count[12]); // first week: the hour before's count (hour 11's)
    }

    [Fact]
    public void Hours_out_of_order_or_not_finite_are_refused_naming_the_row()
    {
        var t = new DateTime(2012, 1, 1, 5, 0, 0);
        var e = Assert.Throws<DataFormatException>(() => HourlySeries.Build([new(t, 1, 1, 0, 0, 0, 0), new(t, 2, 1, 0, 0, 0, 0)], "x.csv"));
        Assert.Contains("row 2 (2012-01-01 05:00) is not after row 1", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<DataFormatException>(() => HourlySeries.Build([new(t, double.NaN, 1, 0, 0, 0, 0)], "x.csv"));
        Assert.Contains("row 1 (2012-01-01 05:00): cnt is NaN", e.Message, StringComparison.Ordinal);
    }
}

[Collection(TorchCollection.Name)]
public sealed class HourlyForecasterTests(TorchFixture torchFixture) : IDisposable
{
    private readonly TempDir _temp = new("forge-dl-forecast-");

    public void Dispose()
    {
        _ = torchFixture;
        _temp.Dispose();
    }

    [Fact]
    public void Masked_targets_are_left_out_of_the_loss_and_its_gradient()
    {
        using var scope = NewDisposeScope();
        var output = tensor(new float[] { 1, 2, 3 }, [3, 1]).requires_grad_(true);
        var a = HourlyForecastTrainer.MaskedMse(output, tensor(new float[] { 0, 1, 2, 0, 5, 1 }, [3, 2]));
        // Row 1 is masked: (1-0)^2 and (3-5)^2 over 2 observed rows.
        Assert.Equal(2.5f, a.item<float>(), 6);
        a.backward();
        var grad = output.grad!.data<float>().ToArray();
        Assert.Equal(1f, grad[0], 6);
        Assert.Equal(0f, grad[1], 6);
        Assert.Equal(-2f, grad[2], 6);
        var b = HourlyForecastTrainer.MaskedMse(output, tensor(new float[] { 0, 1, 1000, 0, 5, 1 }, [3, 2]));
        Assert.Equal(a.item<float>(), b.item<float>());
    }

    [Fact]
    public void Early_stopping_on_a_score_keeps_the_epoch_with_the_lowest_validation_loss()
    {
        using var module = TorchSharp.torch.nn.Linear(1, 1);
        using var best = new Training.BestWeights(module, patience: 2, laterWinsTies: false) { Score = m => -m.ValidationLoss };
        var state = new Training.LoopState { Module = module };
        var losses = new[] { 0.5, 0.3, 0.4, 0.35 };
        for (var epoch = 0; epoch < losses.Length && !state.StopRequested; epoch++)
        {
            using (no_grad()) module.weight!.fill_(epoch);
            // An accuracy that rises while the loss does not: the score, not the accuracy, decides.
            best.OnEpochEnd(state, new EpochMetrics(epoch + 1, 1, 0, losses[epoch], epoch, 1e-3, 1));
        }
        Assert.True(state.StopRequested);
        best.OnTrainEnd(state);
        Assert.Equal(1f, module.weight!.item<float>());
    }

    [SharedDataFact("bike-sharing")]
    public void Train_save_load_gives_identical_forecasts_and_the_bundle_carries_the_spec()
    {
        foreach (var cell in new[] { RecurrentCell.Lstm, RecurrentCell.Gru })
        {
            var output = _temp.Combine(cell.ToString());
            var result = HourlyForecasting.Run(SmallRequest(cell, output));
            Assert.Single(result.History);
            Assert.True(result.Test.Rmse > 0 && double.IsFinite(result.Test.Rmse));
            Assert.Equal(new DateTime(2012, 8, 7, 12, 0, 0), result.Spec.TestStart);
            var bundle = ModelBundle.Load(output);
            Assert.True(HourlyForecaster.IsForecaster(bundle.Manifest));
            Assert.Equal("2012-08-07 12:00", (string?)bundle.Manifest.Preprocessing["split"]!["testStart"]);
            Assert.Equal(result.Test.Rmse, bundle.Manifest.Metrics["testRmse"]);
            using var loaded = HourlyForecaster.Load(bundle);
            var series = HourlySeries.ReadCsv(Path.Combine(SharedData.Dir("bike-sharing"), "hour.csv"));
            var ts = series.IndexOf(loaded.Spec.TestStart);
            // The score recomputed from the loaded bundle is the training command's, to the last bit.
            var again = HourlyForecasting.Score(loaded, series, ts, series.Length);
            Assert.Equal(result.Test.Rmse, again.Rmse);
            Assert.Equal(result.Test.Mae, again.Mae);
            Assert.Equal(result.Test.Hours, again.Hours);
        }
    }

    [SharedDataFact("bike-sharing")]
    public void A_window_longer_than_the_training_data_is_refused()
    {
        var request = SmallRequest(RecurrentCell.Gru, null) with { Forecast = new ForecastOptions { Window = 20_000, Horizon = 1 } };
        var e = Assert.Throws<UsageException>(() => HourlyForecasting.Run(request));
        Assert.Contains("--window 20000 with --horizon 1 is longer than the training data", e.Message, StringComparison.Ordinal);
    }

    internal static HourlyForecastRequest SmallRequest(RecurrentCell cell, string? output) => new()
    {
        DataDir = SharedData.Dir("bike-sharing"),
        Model = new SequenceModelOptions { Cell = cell, HiddenSize = 8 },
        Options = HourlyForecasting.DefaultOptions with { Epochs = 1, BatchSize = 256, Threads = 1, EarlyStoppingPatience = 0 },
        Forecast = new ForecastOptions { Window = 12, Horizon = 1 },
        OutputDirectory = output,
    };
}
