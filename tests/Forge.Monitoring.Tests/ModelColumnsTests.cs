using Forge.Core;

namespace Forge.Monitoring.Tests;

/// <summary>The mapping from a model's input table and answer to monitored columns, and the bundle's profile file.</summary>
public sealed class ModelColumnsTests
{
    private static Table Inputs() => new(
        Column.Float32("temp", [0.5f, 0.25f, 0.75f], [false, true, false]),
        Column.Int32("hour", [1, 2, 3]),
        Column.String("season", ["summer", null, "winter"]),
        Column.Boolean("holiday", [true, false, true], [false, false, true]),
        Column.Tensor("pixels", [2], [1f, 2f, 3f, 4f, 5f, 6f]));

    [Fact]
    public void Scalars_become_numeric_or_categorical_columns_and_tensors_are_skipped()
    {
        var set = ModelColumns.From(Inputs());

        Assert.Equal(["temp", "hour", "season", "holiday"], set.Names.ToArray());
        var temp = set["temp"];
        Assert.Equal(ColumnKind.Numeric, temp.Kind);
        Assert.Equal(ColumnRole.Feature, temp.Role);
        Assert.Equal(0.5, temp.NumericValues[0]);
        Assert.True(double.IsNaN(temp.NumericValues[1]));
        Assert.Equal(0.75, temp.NumericValues[2], 9);
        Assert.Equal([1.0, 2.0, 3.0], set["hour"].NumericValues.ToArray());
        Assert.Equal(["summer", null, "winter"], set["season"].StringValues);
        Assert.Equal(ColumnKind.Categorical, set["holiday"].Kind);
        Assert.Equal(["true", "false", null], set["holiday"].StringValues);
    }

    [Fact]
    public void A_classifier_answer_gives_the_label_and_its_confidence_and_a_regression_its_value()
    {
        var classes = Prediction.Classes(["no", "yes"], [[0.9f, 0.1f], [0.3f, 0.7f], [0.5f, 0.5f]]);
        var set = ModelColumns.From(Inputs(), classes, ["no", "no", "yes"]);

        var label = set[ModelColumns.PredictionColumn];
        Assert.Equal(ColumnRole.Prediction, label.Role);
        Assert.Equal(ColumnKind.Categorical, label.Kind);
        Assert.Equal(["no", "yes", "no"], label.StringValues);
        var confidence = set[ModelColumns.ConfidenceColumn];
        Assert.Equal(ColumnRole.Prediction, confidence.Role);
        Assert.Equal(0.9, confidence.NumericValues[0], 6);
        Assert.Equal(0.7, confidence.NumericValues[1], 6);
        Assert.Equal(0.5, confidence.NumericValues[2], 6);
        Assert.Equal(ColumnRole.Target, set[ModelColumns.TargetColumn].Role);
        Assert.Equal(ColumnKind.Categorical, set[ModelColumns.TargetColumn].Kind);

        var regression = ModelColumns.From(Inputs(), Prediction.Regression([1.5, 2.5, -3]), ["1", "2.25", "-3"]);
        Assert.Equal([1.5, 2.5, -3.0], regression[ModelColumns.PredictionColumn].NumericValues.ToArray());
        Assert.Equal([1.0, 2.25, -3.0], regression[ModelColumns.TargetColumn].NumericValues.ToArray());
        Assert.False(regression.TryGetColumn(ModelColumns.ConfidenceColumn, out _));
    }

    [Fact]
    public void Mismatches_and_reserved_names_are_refused_by_name()
    {
        var e = Assert.Throws<DriftException>(() => ModelColumns.From(Inputs(), Prediction.Regression([1, 2])));
        Assert.Contains("2 predictions for 3 input rows", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<DriftException>(() => ModelColumns.From(new Table(Column.Float32("prediction", [1f])), Prediction.Regression([1])));
        Assert.Contains("'prediction'", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<DriftException>(() => ModelColumns.From(Inputs(), Prediction.Regression([1, 2, 3]), ["1", "two", "3"]));
        Assert.Contains("'two'", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<DriftException>(() => ModelColumns.Profile(Inputs().Slice(0, 0), Prediction.Regression([])));
        Assert.Contains("no rows", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_profile_written_into_a_bundle_reads_back_and_can_be_replaced_atomically()
    {
        var dir = Directory.CreateTempSubdirectory("forge-bundle-profile-").FullName;
        try
        {
            var target = Path.Combine(dir, "model");
            var inputs = new Table(Column.Float32("x", [.. Enumerable.Range(0, 50).Select(i => (float)i)]));
            var prediction = Prediction.Regression([.. Enumerable.Range(0, 50).Select(i => 2.0 * i)]);
            ModelBundle bundle;
            using (var writer = ModelBundle.Create(target))
            {
                File.WriteAllText(writer.PathFor("weights/w.txt"), "weights");
                BundleProfile.Write(writer, inputs, prediction);
                bundle = writer.Commit(new ModelManifest
                {
                    Name = "profiled",
                    Flavor = "onnx",
                    Task = "regression",
                    Signature = new ModelSignature([new TensorSpec("x", "float32", [-1])], [new TensorSpec("value", "float64", [-1])], []),
                    Versions = new RuntimeVersions("", null, null),
                });
            }
            var profile = BundleProfile.TryLoad(bundle)!;
            Assert.Equal(50, profile.Rows);
            Assert.Equal(["x", "prediction"], profile.Columns.Select(c => c.Name).ToArray());
            Assert.Equal(49.0, profile.Column("prediction").Numeric!.Mean, 9);

            var half = ModelColumns.Profile(inputs.Slice(0, 25), prediction.Slice(0, 25));
            var replaced = BundleProfile.Add(ModelBundle.Load(target), half);
            Assert.Equal(25, BundleProfile.TryLoad(replaced)!.Rows);
            Assert.Equal("weights", File.ReadAllText(replaced.GetPath("weights/w.txt")));
            Assert.Equal(["model"], Directory.GetDirectories(dir).Select(d => Path.GetFileName(d)!).ToArray());
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
