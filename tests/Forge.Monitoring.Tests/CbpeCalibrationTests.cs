using System.Text.Json.Nodes;
using Forge.Core;

namespace Forge.Monitoring.Tests;

/// <summary>The CBPE recalibration saved to JSON and read back: exactly the same estimator, and a clear error for a bad file.</summary>
public sealed class CbpeCalibrationTests
{
    /// <summary>A seeded over-confident three-class model: the true class wins with probability 0.6, but it says 0.75–0.95.</summary>
    private static (double[][] Rows, int[] Labels) Overconfident(int n, int seed)
    {
        var rng = new Random(seed);
        var rows = new double[n][];
        var labels = new int[n];
        for (var i = 0; i < n; i++)
        {
            var truth = rng.Next(3);
            var predicted = rng.NextDouble() < 0.6 ? truth : (truth + 1 + rng.Next(2)) % 3;
            var top = 0.75 + (0.2 * rng.NextDouble());
            var split = rng.NextDouble();
            var row = new double[3];
            row[predicted] = top;
            row[(predicted + 1) % 3] = (1 - top) * split;
            row[(predicted + 2) % 3] = (1 - top) * (1 - split);
            rows[i] = row;
            labels[i] = truth;
        }
        return (rows, labels);
    }

    private static Cbpe Fitted() => Cbpe.Fit(Overconfident(2000, 1).Rows, Overconfident(2000, 1).Labels).WithLabels(["a", "b", "c"]);

    [Fact]
    public void Round_trip_through_json_restores_the_same_estimator_exactly()
    {
        var cbpe = Fitted();
        var json = cbpe.ToJson();
        var back = Cbpe.FromJson(json, "x/cbpe.json");

        Assert.True(back.Calibrated);
        Assert.Equal(3, back.Classes);
        Assert.Equal(2000, back.ReferenceRows);
        Assert.Equal(["a", "b", "c"], back.Labels!);
        Assert.Equal(json, back.ToJson());
        // Every calibrated probability bit for bit, on rows the curves were not fitted on (interpolated between knots).
        foreach (var row in Overconfident(500, 2).Rows)
        {
            var expected = cbpe.Calibrate(row);
            var actual = back.Calibrate(row);
            for (var k = 0; k < 3; k++) Assert.Equal(BitConverter.DoubleToInt64Bits(expected[k]), BitConverter.DoubleToInt64Bits(actual[k]));
        }
        var rows = Overconfident(500, 3).Rows;
        Assert.Equal(cbpe.Estimate(rows), back.Estimate(rows));
    }

    [Fact]
    public void Loaded_calibration_estimates_the_accuracy_of_new_rows_where_the_raw_confidence_does_not()
    {
        var back = Cbpe.FromJson(Fitted().ToJson());
        var (rows, labels) = Overconfident(4000, 4);
        var truth = rows.Select((r, i) => Cbpe.ArgMax(r) == labels[i] ? 1.0 : 0).Average();

        var calibrated = back.Estimate(rows).ExpectedAccuracy;
        var raw = Cbpe.Uncalibrated(3).Estimate(rows).ExpectedAccuracy;

        // Accuracy of 4,000 rows has a standard error of sqrt(0.6·0.4/4000) ≈ 0.008; the curve fitted on 2,000 others adds about as much.
        Assert.InRange(calibrated, truth - 0.03, truth + 0.03);
        Assert.True(raw - truth > 0.15, $"raw {raw} truth {truth}");
    }

    [Fact]
    public void An_uncalibrated_estimator_has_nothing_to_save()
    {
        Assert.Throws<InvalidOperationException>(() => Cbpe.Uncalibrated(2).ToJson());
        Assert.Throws<ArgumentException>(() => Fitted().WithLabels(["a", "b"]));
    }

    public static TheoryData<string, string> BadFiles => new()
    {
        { "not json", "not a valid CBPE calibration" },
        { "null", "is empty" },
        { """{"formatVersion":2}""", "format 2" },
        { """{"formatVersion":0}""", "format 0" },
        { """{"formatVersion":1,"classes":1,"referenceRows":5,"curves":[]}""", "classes is 1" },
        { """{"formatVersion":1,"classes":2,"referenceRows":0,"curves":[]}""", "referenceRows is 0" },
        { """{"formatVersion":1,"classes":2,"referenceRows":5,"curves":[{"x":[0.5],"y":[0.5]}]}""", "1 curves for 2 classes" },
        { """{"formatVersion":1,"classes":2,"referenceRows":5,"labels":["a"],"curves":[{"x":[0.5],"y":[0.5]},{"x":[0.5],"y":[0.5]}]}""", "2 distinct names" },
        { """{"formatVersion":1,"classes":2,"referenceRows":5,"labels":["a","a"],"curves":[{"x":[0.5],"y":[0.5]},{"x":[0.5],"y":[0.5]}]}""", "2 distinct names" },
        { """{"formatVersion":1,"classes":2,"referenceRows":5,"curves":[{"x":[0.5],"y":[0.5]},null]}""", "curve 1 is missing" },
        { """{"formatVersion":1,"classes":2,"referenceRows":5,"curves":[{"x":[0.5],"y":[0.5]},{"x":[],"y":[]}]}""", "curve 1 has no knots" },
        { """{"formatVersion":1,"classes":2,"referenceRows":5,"curves":[{"x":[0.5],"y":[0.5]},{"x":[0.1,0.2],"y":[0.5]}]}""", "has 2 scores but 1 values" },
        { """{"formatVersion":1,"classes":2,"referenceRows":5,"curves":[{"x":[0.5],"y":[0.5]},{"x":[0.1,1.2],"y":[0.2,0.5]}]}""", "knot 1 is outside [0, 1]" },
        { """{"formatVersion":1,"classes":2,"referenceRows":5,"curves":[{"x":[0.5],"y":[0.5]},{"x":[0.1,0.2],"y":[-0.1,0.5]}]}""", "knot 0 is outside [0, 1]" },
        { """{"formatVersion":1,"classes":2,"referenceRows":5,"curves":[{"x":[0.5],"y":[0.5]},{"x":[0.2,0.2],"y":[0.2,0.5]}]}""", "not strictly increasing at knot 1" },
        { """{"formatVersion":1,"classes":2,"referenceRows":5,"labels":["a","b"],"curves":[{"x":[0.5],"y":[0.5]},{"x":[0.1,0.2],"y":[0.6,0.5]}]}""", "curve 1 (class 'b') values decrease at knot 1" },
    };

    [Theory]
    [MemberData(nameof(BadFiles))]
    public void A_bad_file_is_refused_naming_the_file_and_the_problem(string json, string problem)
    {
        var e = Assert.Throws<DataFormatException>(() => Cbpe.FromJson(json, "bundle/reference/cbpe.json"));
        Assert.StartsWith("bundle/reference/cbpe.json: ", e.Message, StringComparison.Ordinal);
        Assert.Contains(problem, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_valid_minimal_file_is_read()
    {
        var json = new JsonObject
        {
            ["formatVersion"] = 1, ["classes"] = 2, ["referenceRows"] = 5,
            ["curves"] = new JsonArray(new JsonObject { ["x"] = new JsonArray(0.2, 0.8), ["y"] = new JsonArray(0.1, 0.9) }, new JsonObject { ["x"] = new JsonArray(0.5), ["y"] = new JsonArray(0.5) }),
        }.ToJsonString();
        var cbpe = Cbpe.FromJson(json);
        Assert.Null(cbpe.Labels);
        // Class 0 at 0.5 interpolates to 0.5 between its knots; class 1 is flat at 0.5: renormalised, both 0.5.
        Assert.Equal([0.5, 0.5], cbpe.Calibrate([0.5, 0.5]), new ToleranceComparer(1e-15));
        Assert.Equal([0.1 / 0.6, 0.5 / 0.6], cbpe.Calibrate([0.2, 0.8]), new ToleranceComparer(1e-15));
    }

    [Fact]
    public void The_bundle_calibration_is_written_read_checked_against_the_model_labels_and_kept_when_the_profile_is_replaced()
    {
        var dir = Directory.CreateTempSubdirectory("forge-bundle-cbpe-").FullName;
        try
        {
            var target = Path.Combine(dir, "model");
            var (rows, labels) = Overconfident(600, 5);
            string[] names = ["a", "b", "c"];
            var prediction = Prediction.Classes(names, [.. rows.Select(r => r.Select(x => (float)x).ToArray())]);
            var truth = labels.Select(l => names[l]).ToArray();
            var inputs = new Table(Column.Float32("x", [.. Enumerable.Range(0, 600).Select(i => (float)i)]));
            ModelBundle bundle;
            using (var writer = ModelBundle.Create(target))
            {
                BundleProfile.Write(writer, inputs, prediction);
                BundleCalibration.Write(writer, prediction, truth);
                bundle = writer.Commit(new ModelManifest
                {
                    Name = "calibrated",
                    Flavor = "onnx",
                    Task = "classification",
                    Signature = new ModelSignature([new TensorSpec("x", "float32", [-1])], [new TensorSpec("p", "float32", [-1, 3])], names),
                    Versions = new RuntimeVersions("", null, null),
                });
            }
            var cbpe = BundleCalibration.TryLoad(bundle, names)!;
            Assert.True(cbpe.Calibrated);
            Assert.Equal(600, cbpe.ReferenceRows);
            Assert.Equal(names, cbpe.Labels!);
            // The curves see the served (float, widened) scores: the same as a fit on them directly.
            var direct = Cbpe.Fit([.. rows.Select(r => r.Select(x => (double)(float)x).ToArray())], labels).WithLabels(names);
            Assert.Equal(direct.ToJson(), cbpe.ToJson());
            Assert.Equal(direct.ToJson(), File.ReadAllText(bundle.GetPath(BundleCalibration.FileName)));

            var e = Assert.Throws<DataFormatException>(() => BundleCalibration.TryLoad(bundle, ["a", "b"]));
            Assert.Contains("3 classes but the model has 2 labels", e.Message, StringComparison.Ordinal);
            Assert.Contains(BundleCalibration.FileName.Replace('/', Path.DirectorySeparatorChar), e.Message, StringComparison.Ordinal);
            e = Assert.Throws<DataFormatException>(() => BundleCalibration.TryLoad(bundle, ["a", "c", "b"]));
            Assert.Contains("labels (a, b, c) are not the model's (a, c, b)", e.Message, StringComparison.Ordinal);

            var replaced = BundleProfile.Add(ModelBundle.Load(target), ModelColumns.Profile(inputs.Slice(0, 100), prediction.Slice(0, 100)));
            Assert.Equal(cbpe.ToJson(), BundleCalibration.TryLoad(replaced, names)!.ToJson());

            using (var writer = ModelBundle.Create(Path.Combine(dir, "plain")))
            {
                BundleProfile.Write(writer, inputs, prediction);
                bundle = writer.Commit(new ModelManifest
                {
                    Name = "plain", Flavor = "onnx", Task = "classification",
                    Signature = new ModelSignature([new TensorSpec("x", "float32", [-1])], [new TensorSpec("p", "float32", [-1, 3])], names),
                    Versions = new RuntimeVersions("", null, null),
                });
            }
            Assert.Null(BundleCalibration.TryLoad(bundle, names));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Fitting_refuses_a_regression_a_count_mismatch_and_an_unknown_label()
    {
        var p = Prediction.Classes(["no", "yes"], [[0.8f, 0.2f], [0.3f, 0.7f]]);
        Assert.Contains("regression", Assert.Throws<UsageException>(() => BundleCalibration.Fit(Prediction.Regression([1, 2]), ["1", "2"])).Message, StringComparison.Ordinal);
        Assert.Contains("1 true labels for 2 predictions", Assert.Throws<UsageException>(() => BundleCalibration.Fit(p, ["no"])).Message, StringComparison.Ordinal);
        var e = Assert.Throws<UsageException>(() => BundleCalibration.Fit(p, ["no", "maybe"]));
        Assert.Contains("'maybe' of held-out row 1 is not one of the model's labels (no, yes)", e.Message, StringComparison.Ordinal);
        var fitted = BundleCalibration.Fit(p, ["no", "yes"]);
        Assert.Equal(2, fitted.ReferenceRows);
        Assert.Equal(["no", "yes"], fitted.Labels!);
    }

    [Fact]
    public void Null_arguments_are_refused_by_name()
    {
        var p = Prediction.Classes(["no", "yes"], [[0.8f, 0.2f]]);
        Assert.Equal("writer", Assert.Throws<ArgumentNullException>(() => BundleCalibration.Write(null!, p, ["no"])).ParamName);
        Assert.Equal("heldOut", Assert.Throws<ArgumentNullException>(() => BundleCalibration.Fit(null!, ["no"])).ParamName);
        Assert.Equal("labels", Assert.Throws<ArgumentNullException>(() => BundleCalibration.Fit(p, null!)).ParamName);
        Assert.Equal("bundle", Assert.Throws<ArgumentNullException>(() => BundleCalibration.TryLoad(null!)).ParamName);
        Assert.Equal("json", Assert.Throws<ArgumentNullException>(() => Cbpe.FromJson(null!)).ParamName);
        Assert.Equal("labels", Assert.Throws<ArgumentNullException>(() => Cbpe.Uncalibrated(2).WithLabels(null!)).ParamName);
    }

    private sealed class ToleranceComparer(double tolerance) : IEqualityComparer<double>
    {
        public bool Equals(double x, double y) => Math.Abs(x - y) <= tolerance;

        public int GetHashCode(double obj) => 0;
    }
}
