using System.Diagnostics;
using System.Globalization;
using Forge.Core;
using Forge.Data;

namespace Forge.DeepLearning;

/// <summary>What to train: a recurrent forecaster of bike sharing's hourly count.</summary>
public sealed record HourlyForecastRequest
{
    /// <summary>The catalog dataset (only bike-sharing is hourly).</summary>
    public string Dataset { get; init; } = "bike-sharing";

    /// <summary>The dataset's own folder; when set it is the only place looked in.</summary>
    public string? DataDir { get; init; }

    /// <summary>A CSV of hours to read instead of the catalog's hour.csv (tests).</summary>
    public string? DataPath { get; init; }

    /// <summary>The architecture (default: an LSTM, one layer of 32).</summary>
    public SequenceModelOptions Model { get; init; } = HourlyForecasting.DefaultModel;

    /// <summary>The training loop's options; its validation fraction is the chronological validation share of the training rows.</summary>
    public TrainerOptions Options { get; init; } = HourlyForecasting.DefaultOptions;

    /// <summary>Window, horizon, most filled hours, test share.</summary>
    public ForecastOptions Forecast { get; init; } = new();

    /// <summary>Bundle directory to write; null writes none.</summary>
    public string? OutputDirectory { get; init; }

    /// <summary>Replace an existing bundle directory.</summary>
    public bool Overwrite { get; init; }

    /// <summary>Model name recorded in the manifest (default: bike-sharing-lstm-h1).</summary>
    public string? Name { get; init; }

    /// <summary>Follows the run (Forge.Tracking's observer records it as a tracked run).</summary>
    public ITrainingObserver Observer { get; init; } = TrainingObservers.None;

    /// <summary>
    /// Writes the drift reference into the bundle from the test period's windows: their latest hours
    /// (<see cref="ForecastSpec.LatestHours(HourlySeries, IReadOnlyList{int})"/>) and the forecasts made from them, hours the
    /// model never trained on, as served windows are (Forge.Monitoring's <c>BundleProfile.Write</c>, which the CLI passes;
    /// Forge.DeepLearning may not reference Forge.Monitoring); null writes none.
    /// </summary>
    public Action<BundleWriter, Table, Prediction>? ReferenceWriter { get; init; }
}

/// <summary>RMSE and MAE over some hours.</summary>
/// <param name="Rmse">Root mean squared error, in rentals per hour.</param>
/// <param name="Mae">Mean absolute error, in rentals per hour.</param>
/// <param name="Hours">Hours scored.</param>
public sealed record ForecastScore(double Rmse, double Mae, int Hours)
{
    /// <summary>Scores forecasts against actual counts.</summary>
    public static ForecastScore Of(IReadOnlyList<double> actual, IReadOnlyList<double> forecast)
    {
        ArgumentNullException.ThrowIfNull(actual);
        ArgumentNullException.ThrowIfNull(forecast);
        double se = 0, ae = 0;
        for (var i = 0; i < actual.Count; i++)
        {
            var d = forecast[i] - actual[i];
            se += d * d;
            ae += Math.Abs(d);
        }
        var n = Math.Max(1, actual.Count);
        return new ForecastScore(Math.Sqrt(se / n), ae / n, actual.Count);
    }
}

/// <summary>The outcome of <see cref="HourlyForecasting.Run"/>.</summary>
/// <param name="Bundle">The bundle written, when one was.</param>
/// <param name="Spec">Window, horizon, scaling and split boundaries.</param>
/// <param name="Test">The forecaster on the observed test hours.</param>
/// <param name="Validation">The forecaster on the observed validation hours.</param>
/// <param name="SeasonalNaive">Same hour one week earlier, on the observed test hours whose week-earlier hour was observed too.</param>
/// <param name="SeasonalNaiveSkipped">Observed test hours the seasonal-naive baseline skipped (their week-earlier hour was missing).</param>
/// <param name="History">Per-epoch metrics.</param>
/// <param name="TrainSeconds">Seconds in training steps.</param>
/// <param name="TotalSeconds">Seconds from start to end.</param>
/// <param name="TrainWindows">Training windows (masked targets included).</param>
/// <param name="RefusedWindows">Windows left out for holding more filled hours than allowed.</param>
/// <param name="FilledHours">Hours the data lacked and the fill rule filled.</param>
public sealed record HourlyForecastResult(ModelBundle? Bundle, ForecastSpec Spec, ForecastScore Test, ForecastScore Validation, ForecastScore SeasonalNaive,
    int SeasonalNaiveSkipped, IReadOnlyList<EpochMetrics> History, double TrainSeconds, double TotalSeconds, int TrainWindows, int RefusedWindows, int FilledHours);

/// <summary>Hourly demand forecasting with a recurrent network: the workflow behind <c>forge train bike-sharing --model lstm|gru</c>.</summary>
public static class HourlyForecasting
{
    /// <summary>The default architecture: an LSTM with one layer of 32 (chosen on the validation period: see docs/deep-learning.md).</summary>
    public static SequenceModelOptions DefaultModel { get; } = new() { Cell = RecurrentCell.Lstm, HiddenSize = 32, Layers = 1 };

    /// <summary>
    /// The loop options of the forecasting recipe: Adam 2e-3, batch 128, up to 10 epochs keeping the epoch with the lowest
    /// validation loss and stopping after 3 without improvement, clipping at 1 (about 11 s an epoch on one core).
    /// </summary>
    public static TrainerOptions DefaultOptions { get; } = SequenceTextTraining.DefaultOptions with { BatchSize = 128 };

    /// <summary>Every hyperparameter of a request, as its manifest and tracked run record them.</summary>
    public static Dictionary<string, string> Hyperparameters(HourlyForecastRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var map = SequenceClassifierTrainer.Hyperparameters(request.Model, request.Options);
        foreach (var (k, v) in request.Forecast.ToDictionary()) map["forecast." + k] = v;
        map["forecast.effectiveMaxFilled"] = request.Forecast.EffectiveMaxFilled.ToString(CultureInfo.InvariantCulture);
        return map;
    }

    /// <summary>Checks a request without reading data; every problem at once.</summary>
    public static void Validate(HourlyForecastRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var problems = new List<OptionProblem>();
        if (request.OutputDirectory is not null) problems.AddRange(BundleOutput.FindProblems(request.OutputDirectory, request.Overwrite));
        if (request.Dataset != "bike-sharing") problems.Add(new OptionProblem("dataset", $"'{request.Dataset}' is not an hourly dataset (bike-sharing)"));
        if (request.Options.ValidationFraction <= 0) problems.Add(new OptionProblem("validationFraction", "a forecaster needs a validation period (> 0)"));
        problems.AddRange(request.Model.FindProblems());
        problems.AddRange(request.Options.FindProblems());
        problems.AddRange(request.Forecast.FindProblems());
        OptionsException.ThrowIfAny(problems);
        if (request.Name is not null || request.OutputDirectory is not null) ModelNames.Validate(ModelName(request));
    }

    /// <summary>The name the bundle carries: the request's, or dataset, cell and horizon joined (<c>bike-sharing-lstm-h1</c>).</summary>
    public static string ModelName(HourlyForecastRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return request.Name ?? ModelNames.Join(request.Dataset, request.Model.Cell.ToString().ToLowerInvariant(), "h" + request.Forecast.Horizon.ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>
    /// The split of a series by its rows, as the tabular recipe splits hour.csv: the last <paramref name="testFraction"/>
    /// of the rows are the test period, and the last <paramref name="validationFraction"/> of the training rows the
    /// validation period. Returns each period's first hour.
    /// </summary>
    public static (DateTime ValidationStart, DateTime TestStart) Boundaries(HourlySeries series, double testFraction, double validationFraction)
    {
        ArgumentNullException.ThrowIfNull(series);
        var n = series.RowHours.Count;
        // The same rounding as TabularSplit.Apply, so the same rows are test rows.
        var held = (int)Math.Round(n * testFraction);
        var trainRows = n - held;
        var validationRows = (int)Math.Round(trainRows * validationFraction);
        if (held < 1 || validationRows < 1 || trainRows - validationRows < 1)
            throw new UsageException($"{n} hours are too few to split into training, validation and test periods");
        return (series.RowHours[trainRows - validationRows], series.RowHours[trainRows]);
    }

    /// <summary>The seasonal-naive forecast (same hour one week earlier) on the observed hours of [from, to) whose week-earlier hour was observed; also how many it skipped.</summary>
    public static (ForecastScore Score, int Skipped) SeasonalNaive(HourlySeries series, int from, int to)
    {
        ArgumentNullException.ThrowIfNull(series);
        var actual = new List<double>();
        var forecast = new List<double>();
        var skipped = 0;
        for (var t = Math.Max(from, 0); t < Math.Min(to, series.Length); t++)
        {
            if (series.Filled[t]) continue;
            if (t < HourlySeries.FillLag || series.Filled[t - HourlySeries.FillLag])
            {
                skipped++;
                continue;
            }
            actual.Add(series.Count[t]);
            forecast.Add(series.Count[t - HourlySeries.FillLag]);
        }
        return (ForecastScore.Of(actual, forecast), skipped);
    }

    /// <summary>The window ends whose targets fall in [from, to) and whose windows are accepted; <paramref name="refused"/> counts the others.</summary>
    public static int[] Ends(ForecastSpec spec, HourlySeries series, int from, int to, out int refused)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(series);
        var ends = new List<int>();
        refused = 0;
        for (var t = Math.Max(from, spec.Window - 1 + spec.Horizon); t < Math.Min(to, series.Length); t++)
        {
            var end = t - spec.Horizon;
            if (spec.Accepts(series, end)) ends.Add(end);
            else refused++;
        }
        return [.. ends];
    }

    /// <summary>Scores a forecaster on the observed target hours of [from, to).</summary>
    public static ForecastScore Score(HourlyForecaster model, HourlySeries series, int from, int to)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(series);
        var ends = Ends(model.Spec, series, from, to, out _).Where(e => !series.Filled[e + model.Spec.Horizon]).ToArray();
        var forecast = model.Predict(series, ends);
        return ForecastScore.Of([.. ends.Select(e => series.Count[e + model.Spec.Horizon])], forecast);
    }

    /// <summary>Reads the data, splits it by time, trains, tests against seasonal-naive and writes the bundle.</summary>
    public static HourlyForecastResult Run(HourlyForecastRequest request, IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var total = Stopwatch.StartNew();
        Validate(request);
        var info = DatasetCatalog.Get(request.Dataset);
        var start = new TrainingStart("forecast", info.Name, Hyperparameters(request))
        {
            Tags = request.DataPath is null ? new Dictionary<string, string> { [RunTags.DatasetChecksum] = ImageTraining.DatasetChecksum(info) } : new Dictionary<string, string>(),
        };
        return request.Observer.Run(start, runId => Train(request, info, runId, total, progress, cancellationToken), r =>
        {
            var metrics = Metrics(r);
            return new TrainingEnd(RunStatus.Finished, metrics, r.History.Count) { BundlePath = r.Bundle?.Directory };
        });
    }

    /// <summary>The run's metrics: test and validation RMSE/MAE, the seasonal-naive baseline's, and the hours behind them.</summary>
    public static Dictionary<string, double> Metrics(HourlyForecastResult r)
    {
        ArgumentNullException.ThrowIfNull(r);
        return new Dictionary<string, double>(StringComparer.Ordinal)
        {
            ["testRmse"] = r.Test.Rmse,
            ["testMae"] = r.Test.Mae,
            ["testHours"] = r.Test.Hours,
            ["validationRmse"] = r.Validation.Rmse,
            ["validationMae"] = r.Validation.Mae,
            ["seasonalNaiveRmse"] = r.SeasonalNaive.Rmse,
            ["seasonalNaiveMae"] = r.SeasonalNaive.Mae,
            ["seasonalNaiveHours"] = r.SeasonalNaive.Hours,
            ["seasonalNaiveSkipped"] = r.SeasonalNaiveSkipped,
            ["refusedWindows"] = r.RefusedWindows,
            ["filledHours"] = r.FilledHours,
            ["trainSeconds"] = r.TrainSeconds,
        };
    }

    /// <summary>The hour.csv the request reads.</summary>
    public static string DataFile(HourlyForecastRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.DataPath is { } path) return Path.GetFullPath(path);
        var resolved = new DatasetResolver(new DatasetResolverOptions { DataDir = request.DataDir, AllowDownload = true }).Resolve(request.Dataset);
        return resolved.FindFile("hour.csv") ?? throw new ForgeException($"{resolved.Directory}: dataset '{request.Dataset}' lacks hour.csv");
    }

    private static HourlyForecastResult Train(HourlyForecastRequest request, DatasetInfo info, string? runId, Stopwatch total, IProgress<TrainingProgress>? progress,
        CancellationToken cancellationToken)
    {
        var path = DataFile(request);
        var series = HourlySeries.ReadCsv(path);
        var f = request.Forecast;
        var (validationStart, testStart) = Boundaries(series, f.TestFraction, request.Options.ValidationFraction);
        int vs = series.IndexOf(validationStart), ts = series.IndexOf(testStart);
        if (f.Window + f.Horizon >= vs)
            throw new UsageException(string.Create(CultureInfo.InvariantCulture,
                $"--window {f.Window} with --horizon {f.Horizon} is longer than the training data: {vs} hours ({HourlySeries.Format(series.Start)} to {HourlySeries.Format(series.HourAt(vs - 1))}) come before the validation period"));
        var observed = Enumerable.Range(0, vs).Where(i => !series.Filled[i]).Select(i => series.Count[i]).ToArray();
        var mean = observed.Average();
        var std = Math.Sqrt(observed.Select(v => (v - mean) * (v - mean)).Average());
        var spec = new ForecastSpec
        {
            Window = f.Window,
            Horizon = f.Horizon,
            MaxFilledHours = f.EffectiveMaxFilled,
            CountMean = mean,
            CountStd = std > 0 ? std : 1,
            TrainStart = series.Start,
            ValidationStart = validationStart,
            TestStart = testStart,
            End = series.HourAt(series.Length - 1),
        };
        var trainEnds = Ends(spec, series, 0, vs, out var refusedTrain);
        var validationEnds = Ends(spec, series, vs, ts, out var refusedValidation);
        _ = Ends(spec, series, ts, series.Length, out var refusedTest);
        var observedProgress = new ObservedProgress(progress, request.Observer);
        using var model = HourlyForecastTrainer.Fit(request.Model, request.Options, spec, series, trainEnds, validationEnds, observedProgress, null, cancellationToken);
        var test = Score(model, series, ts, series.Length);
        var validation = Score(model, series, vs, ts);
        var (naive, skipped) = SeasonalNaive(series, ts, series.Length);
        var result = new HourlyForecastResult(null, spec, test, validation, naive, skipped, model.History, model.TrainSeconds, 0, trainEnds.Length,
            refusedTrain + refusedValidation + refusedTest, series.FilledCount);
        ModelBundle? bundle = null;
        if (request.OutputDirectory is { } output)
        {
            using var writer = ModelBundle.Create(output, request.Overwrite);
            var manifest = model.WriteTo(writer, ModelName(request));
            if (request.ReferenceWriter is { } writeReference)
            {
                var testEnds = Ends(spec, series, ts, series.Length, out _);
                writeReference(writer, ForecastSpec.LatestHours(series, testEnds), Prediction.Regression(model.Predict(series, testEnds)));
            }
            foreach (var (key, value) in Metrics(result)) manifest.Metrics[key] = value;
            var cell = request.Model.Cell.ToString().ToLowerInvariant();
            manifest.Description = string.Create(CultureInfo.InvariantCulture,
                $"{cell} forecaster of {info.Name}'s hourly count, {f.Horizon} h ahead from a {f.Window}-hour window ({trainEnds.Length:N0} training windows).");
            manifest.License = info.License;
            manifest.Training = new TrainingInfo
            {
                RunId = runId,
                Dataset = info.Name,
                DatasetChecksum = request.DataPath is null ? ImageTraining.DatasetChecksum(info) : null,
                Hyperparameters = Hyperparameters(request),
                Seed = request.Options.Seed,
                GitCommit = GitInfo.TryGetCommit(),
                DurationSeconds = model.TrainSeconds,
                Epochs = model.History.Count,
                Split = string.Create(CultureInfo.InvariantCulture,
                    $"chronological by rows, as the tabular recipe: the last {f.TestFraction:P0} of {Path.GetFileName(path)}'s rows are the test period (target hours from {HourlySeries.Format(testStart)}), the last {request.Options.ValidationFraction:P0} of the training rows the validation period (from {HourlySeries.Format(validationStart)}); training targets from {HourlySeries.Format(series.HourAt(spec.Window - 1 + spec.Horizon))}"),
            };
            bundle = writer.Commit(manifest);
        }
        return result with { Bundle = bundle, TotalSeconds = total.Elapsed.TotalSeconds };
    }

    private sealed class ObservedProgress(IProgress<TrainingProgress>? inner, ITrainingObserver observer) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value)
        {
            if (value.Completed is { } epoch) observer.Epoch(epoch.Epoch, epoch.ToMetrics());
            inner?.Report(value);
        }
    }
}
