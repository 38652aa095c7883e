using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using Forge.Core;
using Forge.Monitoring;
using Forge.Tabular;
using Forge.Tests.Shared;
using Xunit.Abstractions;

namespace Forge.Serving.Tests;

/// <summary>A small LightGBM on UCI Adult (the catalog's stratified 80/20 split), trained once as forge train writes it: profile and CBPE calibration.</summary>
public sealed class AdultCalibratedFixture : IDisposable
{
    private readonly TempDir _temp = new("forge-cbpe-");

    public AdultCalibratedFixture()
    {
        if (SharedData.DirOrNull("adult-census-income") is null && !SharedData.IsCi) return;
        Request = TabularRecipes.For("adult", _temp.Combine("adult-cbpe")) with
        {
            DataPath = Path.Combine(SharedData.Dir("adult-census-income"), "adult.data"),
            Name = "adult-cbpe",
            Options = new TabularOptions { Task = TabularTask.Binary, Trees = 40, Leaves = 15, LearningRate = 0.2, Threads = 2 },
            ReferenceWriter = BundleProfile.Write,
            CalibrationWriter = BundleCalibration.Write,
        };
        Result = TabularTraining.Run(Request);
        var data = TabularCsv.Read(Request.DataPath!, Request.Csv);
        var (_, _, testRows, _, _, _) = TabularTraining.SplitRows(data, Request);
        Test = data.Take(testRows);
    }

    public TabularTrainingRequest? Request { get; }

    public TabularTrainingResult? Result { get; }

    /// <summary>The test split: rows neither the model nor its calibration saw.</summary>
    public TabularData? Test { get; }

    public void Dispose() => _temp.Dispose();
}

/// <summary>
/// The served accuracy estimate is calibrated when the bundle carries the CBPE recalibration that training fitted on
/// its validation rows: on the test split it lands near the true accuracy, where the model's mean confidence need not.
/// </summary>
public sealed class CalibratedEstimateTests(AdultCalibratedFixture adult, ITestOutputHelper output) : IClassFixture<AdultCalibratedFixture>
{
    private const int Served = 1000;

    private static double[][] Widen(Prediction p) => [.. p.Probabilities!.Select(r => r.Select(x => (double)x).ToArray())];

    [SharedDataFact("adult-census-income")]
    public void Training_writes_the_calibration_fitted_on_the_validation_rows_and_it_round_trips_exactly()
    {
        var bundle = adult.Result!.Bundle;
        Assert.True(bundle.TryGetPath(BundleCalibration.FileName, out var path));
        var cbpe = BundleCalibration.TryLoad(bundle, adult.Result.Model.Signature.Labels);
        Assert.NotNull(cbpe);
        Assert.True(cbpe.Calibrated);
        Assert.Equal(adult.Result.Model.Signature.Labels, cbpe.Labels!);
        // Fitted on the held-out validation rows: not the rows the trees were fitted on, where it would be over-confident.
        Assert.True(adult.Result.ValidationRows > 2000, $"{adult.Result.ValidationRows} validation rows");
        Assert.Equal(adult.Result.ValidationRows, cbpe.ReferenceRows);
        Assert.NotEqual(adult.Result.TrainRows, cbpe.ReferenceRows);

        var text = File.ReadAllText(path);
        var back = Cbpe.FromJson(text, path);
        Assert.Equal(text, back.ToJson());
        var rows = Widen(adult.Result.Model.Predict(adult.Test!.Features));
        foreach (var row in rows)
        {
            var expected = cbpe.Calibrate(row);
            var actual = back.Calibrate(row);
            for (var k = 0; k < row.Length; k++) Assert.Equal(BitConverter.DoubleToInt64Bits(expected[k]), BitConverter.DoubleToInt64Bits(actual[k]));
        }
    }

    [SharedDataFact("adult-census-income")]
    public void On_the_test_split_the_calibrated_estimate_is_close_to_the_true_accuracy()
    {
        var model = adult.Result!.Model;
        var test = adult.Test!;
        var prediction = model.Predict(test.Features);
        var truth = Enumerable.Range(0, test.RowCount).Average(i => prediction.PredictedLabel(i) == test.Labels![i] ? 1.0 : 0);
        var rows = Widen(prediction);
        var cbpe = BundleCalibration.TryLoad(adult.Result.Bundle)!;
        var calibrated = cbpe.Estimate(rows).ExpectedAccuracy;
        var uncalibrated = Cbpe.Uncalibrated(2).Estimate(rows).ExpectedAccuracy;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"adult test split: {test.RowCount} rows; true accuracy {truth:F4}; calibrated estimate {calibrated:F4} (fitted on {cbpe.ReferenceRows} held-out rows); uncalibrated (mean confidence) {uncalibrated:F4}"));

        // The true accuracy of 6,512 rows near 0.87 has a standard error of sqrt(0.87·0.13/6512) ≈ 0.004, and the
        // calibration's mean, fitted on ~2,600 validation rows, about sqrt(0.87·0.13/2600) ≈ 0.007: 0.02 is ~2.5 of the
        // combined ≈ 0.008, wide enough for any seed yet a fraction of the error an unfitted or mis-fitted curve makes.
        Assert.InRange(calibrated, truth - 0.02, truth + 0.02);
    }

    [SharedDataFact("adult-census-income")]
    public async Task A_served_model_reports_the_calibrated_estimate()
    {
        var test = adult.Test!;
        var instances = Instances(test, Served);
        var offline = BundleCalibration.TryLoad(adult.Result!.Bundle)!
            .Estimate(Widen(adult.Result.Model.Predict(test.Features.Take([.. Enumerable.Range(0, Served)])))).ExpectedAccuracy;

        await using var server = await RunningServer.StartAsync(new ServerOptions
        {
            Models = [ModelSource.FromBundle(adult.Result.Bundle.Directory)],
            Drift = new DriftServingOptions { WindowRows = Served, EvaluateEveryRows = 500, MinRows = 100, EvaluateEvery = null, FeedbackWindow = Served },
        });
        foreach (var chunk in instances.Chunk(100))
        {
            var (response, body) = await server.PostAsync("/v1/models/adult-cbpe/predict", new JsonObject { ["instances"] = new JsonArray([.. chunk]) });
            Assert.True(response.StatusCode == HttpStatusCode.OK, body?.ToJsonString());
        }

        var (drift, status) = await server.GetAsync("/v1/models/adult-cbpe/drift");
        Assert.Equal(HttpStatusCode.OK, drift.StatusCode);
        Assert.Equal("calibrated", (string)status!["estimator"]!);
        // The same rows through JSON, the server's parsing and the same curves: equal up to float parsing of the inputs.
        Assert.Equal(offline, (double)status["estimatedAccuracy"]!, 6);
        var metrics = await server.Client.GetStringAsync("/metrics");
        Assert.Equal(1, DriftServingTests.Metric(metrics, "forge_estimated_accuracy_calibrated{model=\"adult-cbpe\",version=\"1\"}"));
        Assert.Equal(offline, DriftServingTests.Metric(metrics, "forge_estimated_accuracy{model=\"adult-cbpe\",version=\"1\"}")!.Value, 6);
    }

    /// <summary>The first <paramref name="count"/> test rows as predict instances (missing values as null).</summary>
    private static JsonObject[] Instances(TabularData data, int count) =>
        [.. Enumerable.Range(0, count).Select(i =>
        {
            var o = new JsonObject();
            foreach (var c in data.Features.Columns)
            {
                o[c.Name] = c.GetValue(i) switch
                {
                    null => null,
                    string s => JsonValue.Create(s),
                    var v => JsonValue.Create(Convert.ToDouble(v, CultureInfo.InvariantCulture)),
                };
            }
            return o;
        })];
}
