using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Forge.Core;
using Forge.Data;
using Forge.DeepLearning;

namespace Forge.Cli;

/// <summary>
/// <c>forge predict BUNDLE --batch hours.csv --out forecasts.csv</c> for an hourly forecaster: the CSV is reindexed and
/// filled by the training rule, and every hour of it that has a full window gets a forecast. Forecasts are made period
/// by period (train, validation, test, after) in the order training scored them, so the test period's RMSE printed here
/// equals the bundle's exactly when the CSV holds the same hours (hour.csv, or its rows from one window + horizon + one
/// week before the test period on).
/// </summary>
internal static class ForecastPredict
{
    private static readonly string[] Periods = ["train", "validation", "test", "after"];

    public static int Run(CliContext ctx, ModelBundle bundle, string[] files, bool textsGiven, string? batch, string? output)
    {
        if (files.Length > 0 || textsGiven || batch is null || output is null)
            throw new UsageException($"{bundle.Manifest.Name} forecasts hourly counts: pass --batch HOURS.csv --out FORECASTS.csv (a CSV with {string.Join(", ", HourlySeries.Columns)})");
        var inputPath = Path.GetFullPath(batch);
        var outputPath = Path.GetFullPath(output);
        if (!File.Exists(inputPath)) throw new UsageException($"--batch {inputPath}: no such file");
        if (string.Equals(inputPath, outputPath, StringComparison.Ordinal)) throw new UsageException("--out must not be the --batch file itself");
        if (Directory.Exists(outputPath)) throw new UsageException($"--out {outputPath} is a directory; name the CSV file to write");
        var series = HourlySeries.ReadCsv(inputPath);
        using var model = HourlyForecaster.Load(bundle);
        var spec = model.Spec;

        // Every hour the file has is a possible target; its window ends horizon hours before it.
        var byPeriod = Periods.ToDictionary(p => p, _ => new List<int>(), StringComparer.Ordinal);
        var refused = new List<(DateTime Hour, string Why)>();
        var noWindow = 0;
        foreach (var hour in series.RowHours)
        {
            var end = series.IndexOf(hour) - spec.Horizon;
            if (end - spec.Window + 1 < 0)
            {
                noWindow++;
                continue;
            }
            if (!spec.Accepts(series, end))
            {
                refused.Add((hour, spec.DescribeRefusal(series, end)));
                continue;
            }
            byPeriod[PeriodOf(spec, hour)].Add(end);
        }
        var forecasts = new Dictionary<int, double>();
        var scores = new JsonObject();
        var lines = new List<string>();
        foreach (var period in Periods)
        {
            var ends = byPeriod[period];
            if (ends.Count == 0) continue;
            var values = model.Predict(series, ends);
            for (var i = 0; i < ends.Count; i++) forecasts[ends[i]] = values[i];
            var score = ForecastScore.Of([.. ends.Select(e => series.Count[e + spec.Horizon])], values);
            scores[period] = new JsonObject { ["rmse"] = score.Rmse, ["mae"] = score.Mae, ["hours"] = score.Hours };
            lines.Add(string.Create(CultureInfo.InvariantCulture, $"{period}: RMSE {score.Rmse:F4}, MAE {score.Mae:F4} on {score.Hours:N0} hours"));
        }

        var temp = $"{outputPath}.tmp-{Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(6))}";
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(outputPath)!);
            using (var writer = new StreamWriter(temp, false, new UTF8Encoding(false)))
            {
                Csv.WriteRecord(writer, ["dteday", "hr", "forecast", "cnt", "period"]);
                foreach (var (end, value) in forecasts.OrderBy(kv => kv.Key))
                {
                    var hour = series.HourAt(end + spec.Horizon);
                    Csv.WriteRecord(writer,
                    [
                        hour.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), hour.Hour.ToString(CultureInfo.InvariantCulture),
                        value.ToString("R", CultureInfo.InvariantCulture), series.Count[end + spec.Horizon].ToString("R", CultureInfo.InvariantCulture), PeriodOf(spec, hour),
                    ]);
                }
            }
            File.Move(temp, outputPath, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
        if (ctx.Json)
        {
            ctx.WriteJson(new JsonObject
            {
                ["input"] = inputPath,
                ["output"] = outputPath,
                ["forecasts"] = forecasts.Count,
                ["withoutFullWindow"] = noWindow,
                ["filledHours"] = series.FilledCount,
                ["refused"] = new JsonArray([.. refused.Select(r => (JsonNode)new JsonObject { ["hour"] = HourlySeries.Format(r.Hour), ["reason"] = r.Why })]),
                ["scores"] = scores,
            });
            return 0;
        }
        ctx.Say(string.Create(CultureInfo.InvariantCulture,
            $"{forecasts.Count:N0} hours forecast {spec.Horizon} h ahead ({noWindow:N0} hours without a full {spec.Window}-hour window before them, {series.FilledCount} missing hours filled); written to {outputPath}"));
        foreach (var (hour, why) in refused.Take(5)) ctx.Say($"refused {HourlySeries.Format(hour)}: {why}");
        if (refused.Count > 5) ctx.Say($"... and {refused.Count - 5} more refused windows");
        foreach (var line in lines) ctx.Say(line);
        return 0;
    }

    private static string PeriodOf(ForecastSpec spec, DateTime hour) =>
        hour < spec.ValidationStart ? "train" : hour < spec.TestStart ? "validation" : hour <= spec.End ? "test" : "after";
}
