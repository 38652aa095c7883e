using System.Diagnostics;
using System.Globalization;
using System.Text;
using Forge.Core;
using Forge.DeepLearning;
using Forge.Tabular;

namespace Forge.Bench;

/// <summary>
/// Hourly demand forecasting on bike sharing's hour.csv at horizons 1 and 24, on the test period of the tabular recipe
/// (the last 20 % of rows): the recurrent forecasters (LSTM and GRU, the default recipe of forge train bike-sharing
/// --model lstm|gru), the seasonal-naive baseline (same hour one week earlier) and the tabular recipe's LightGBM fed
/// with lags of cnt (1, 2, 3, 24, 168 at horizon 1; 24, 48, 168 at horizon 24) and the target hour's calendar.
/// --limit N caps the recurrent epochs (a short run on a loaded machine); --seeds the recurrent seeds (default 1);
/// --only lstm,gru,h1,h24 picks models and horizons.
/// </summary>
internal static class ForecastBench
{
    public static int Run(BenchOptions o)
    {
        var only = (o.Only ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var cells = only.Where(s => s is "lstm" or "gru").ToArray();
        if (cells.Length == 0) cells = ["lstm", "gru"];
        var horizons = only.Where(s => s is "h1" or "h24").Select(s => int.Parse(s[1..], CultureInfo.InvariantCulture)).ToArray();
        if (horizons.Length == 0) horizons = [1, 24];
        var seeds = o.SeedsGiven ? o.Seeds : [1];
        var dataDir = o.DataDir ?? Path.Combine(o.SharedDir, "data", "bike-sharing");
        var hourCsv = Path.Combine(dataDir, "hour.csv");
        var series = HourlySeries.ReadCsv(hourCsv);
        var (validationStart, testStart) = HourlyForecasting.Boundaries(series, 0.2, 0.1);
        var load = MachineLoad.Text(fields: null) ?? "unknown";
        var report = new StringBuilder();
        report.AppendLine("# Hourly demand forecasting: bike sharing (hour.csv)");
        report.AppendLine();
        report.AppendLine(CultureInfo.InvariantCulture, $"{DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, {o.Threads} threads, load average at start {load}.");
        report.AppendLine(CultureInfo.InvariantCulture,
            $"Test period: target hours from {HourlySeries.Format(testStart)} (the last 20 % of rows); validation from {HourlySeries.Format(validationStart)}; {series.FilledCount} missing hours filled (never scored).");
        report.AppendLine(CultureInfo.InvariantCulture,
            $"Recurrent: the default recipe{(o.Limit is { } l ? $" with at most {l} epochs" : "")}, seeds {string.Join(", ", seeds)} (RMSE and MAE as mean, and range when several seeds).");
        report.AppendLine();
        report.AppendLine("| horizon | model | test RMSE | test MAE | test hours | train s |");
        report.AppendLine("|---|---|---|---|---|---|");
        foreach (var h in horizons)
        {
            var (naive, skipped) = HourlyForecasting.SeasonalNaive(series, series.IndexOf(testStart), series.Length);
            foreach (var cell in cells)
            {
                var results = new List<HourlyForecastResult>();
                foreach (var seed in seeds)
                {
                    var defaults = HourlyForecasting.DefaultOptions;
                    var r = HourlyForecasting.Run(new HourlyForecastRequest
                    {
                        DataDir = dataDir,
                        Model = HourlyForecasting.DefaultModel with { Cell = SequenceModelOptions.ParseCell(cell) },
                        Options = defaults with { Epochs = o.Limit ?? defaults.Epochs, Seed = seed, Threads = o.Threads },
                        Forecast = new ForecastOptions { Horizon = h },
                    });
                    Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"[bench] h={h} {cell} seed {seed}: test RMSE {r.Test.Rmse:F2}, MAE {r.Test.Mae:F2}, {r.History.Count} epochs, {r.TrainSeconds:F0} s"));
                    results.Add(r);
                }
                report.AppendLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {h} | {cell} | {Summary(results.Select(r => r.Test.Rmse))} | {Summary(results.Select(r => r.Test.Mae))} | {results[0].Test.Hours:N0} | {results.Average(r => r.TrainSeconds):F0} |"));
            }
            var gbm = Gbm(series, h, validationStart, testStart);
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[bench] h={h} lightgbm: test RMSE {gbm.Score.Rmse:F2}, MAE {gbm.Score.Mae:F2}"));
            report.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"| {h} | LightGBM on lags {string.Join(", ", Lags(h))} + target calendar | {gbm.Score.Rmse:F2} | {gbm.Score.Mae:F2} | {gbm.Score.Hours:N0} | {gbm.Seconds:F0} |"));
            report.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"| {h} | seasonal-naive (same hour a week earlier; {skipped} test hours skipped) | {naive.Rmse:F2} | {naive.Mae:F2} | {naive.Hours:N0} | 0 |"));
        }
        report.AppendLine();
        return RecurrentBench.Finish(o, report, "forecast.md");
    }

    private static int[] Lags(int horizon) => horizon == 1 ? [1, 2, 3, 24, 168] : [24, 48, 168];

    private static string Summary(IEnumerable<double> values)
    {
        var v = values.ToArray();
        return v.Length == 1
            ? v[0].ToString("F2", CultureInfo.InvariantCulture)
            : string.Create(CultureInfo.InvariantCulture, $"{v.Average():F2} ({v.Min():F2}–{v.Max():F2})");
    }

    /// <summary>
    /// The tabular recipe's default LightGBM on the filled series: for each observed target hour, the counts at the
    /// horizon's lags (filled ones included, as the recurrent windows include them) and the target hour's calendar.
    /// Fitted on the target hours before the validation period, scored on the observed test hours.
    /// </summary>
    private static (ForecastScore Score, double Seconds) Gbm(HourlySeries series, int horizon, DateTime validationStart, DateTime testStart)
    {
        var lags = Lags(horizon);
        var csv = Path.Combine(Path.GetTempPath(), $"forge-forecast-gbm-{Environment.ProcessId}-h{horizon}.csv");
        var train = new List<int>();
        var test = new List<int>();
        var actual = new List<double>();
        try
        {
            using (var writer = new StreamWriter(csv, false, new UTF8Encoding(false)))
            {
                writer.WriteLine(string.Join(',', lags.Select(l => $"cnt_lag{l}").Concat(["hr", "weekday", "mnth", "holiday", "workingday", "target"])));
                var row = 0;
                for (var t = lags.Max(); t < series.Length; t++)
                {
                    var hour = series.HourAt(t);
                    if (series.Filled[t] || (hour >= validationStart && hour < testStart)) continue;
                    var day = DateOnly.FromDateTime(hour);
                    var fields = lags.Select(l => series.Count[t - l].ToString("R", CultureInfo.InvariantCulture)).Concat(
                    [
                        hour.Hour.ToString(CultureInfo.InvariantCulture), ((int)hour.DayOfWeek).ToString(CultureInfo.InvariantCulture),
                        hour.Month.ToString(CultureInfo.InvariantCulture), BikeCalendar.IsHoliday(day) ? "1" : "0", BikeCalendar.IsWorkingDay(day) ? "1" : "0",
                        series.Count[t].ToString("R", CultureInfo.InvariantCulture),
                    ]);
                    writer.WriteLine(string.Join(',', fields));
                    if (hour < validationStart) train.Add(row);
                    else
                    {
                        test.Add(row);
                        actual.Add(series.Count[t]);
                    }
                    row++;
                }
            }
            var data = TabularCsv.Read(csv, new TabularCsvOptions { Label = "target" });
            var clock = Stopwatch.StartNew();
            using var model = TabularTrainer.Fit(data.Take(train), new TabularOptions { Task = TabularTask.Regression });
            var seconds = clock.Elapsed.TotalSeconds;
            var predicted = model.Predict(data.Take(test).Features).Values!;
            return (ForecastScore.Of(actual, predicted), seconds);
        }
        finally
        {
            File.Delete(csv);
        }
    }
}
