using System.Globalization;
using Forge.Core;
using Forge.Explainability.Agnostic;

namespace Forge.Explainability.Tests;

/// <summary>Any IPredictor as an IModelFunction: encoding of numbers, categories, tensors and missing values, and explainers on top.</summary>
public sealed class PredictorFunctionTests
{
    /// <summary>p(yes) = σ(2·x + 3·[colour = red] − 1 − [flag]); counts its calls and the rows it saw.</summary>
    private sealed class FakeClassifier : IPredictor
    {
        public ModelSignature Signature { get; } = new(
            [
                new TensorSpec("x", "float32", [-1]),
                new TensorSpec("colour", "string", [-1]) { Categories = ["blue", "red"] },
                new TensorSpec("flag", "bool", [-1]),
            ],
            [new TensorSpec("probabilities", "float32", [-1, 2])],
            ["no", "yes"]);

        public List<Table> Seen { get; } = [];

        public Prediction Predict(Table batch)
        {
            Seen.Add(batch);
            var x = batch.Get<ScalarColumn<float>>("x");
            var colour = batch.Get<StringColumn>("colour");
            var flag = batch.Get<ScalarColumn<bool>>("flag");
            var p = new float[batch.RowCount][];
            for (var i = 0; i < batch.RowCount; i++)
            {
                var z = (2.0 * (x.IsMissing(i) ? 0 : x[i])) + (colour[i] == "red" ? 3 : 0) - 1 - (flag[i] ? 1 : 0);
                var yes = (float)(1 / (1 + Math.Exp(-z)));
                p[i] = [1 - yes, yes];
            }
            return Prediction.Classes(Signature.Labels, p);
        }

        public void Dispose() { }
    }

    private sealed class FakeRegression : IPredictor
    {
        public ModelSignature Signature { get; } = new([new TensorSpec("image", "float32", [-1, 1, 2, 2])], [new TensorSpec("value", "float64", [-1])], []);

        public Prediction Predict(Table batch)
        {
            var t = batch.Get<TensorColumn>("image");
            return Prediction.Regression([.. Enumerable.Range(0, batch.RowCount).Select(i => (double)t[i][0] + (2 * t[i][3]))]);
        }

        public void Dispose() { }
    }

    private sealed class FakeText : IPredictor
    {
        public ModelSignature Signature { get; } = new([new TensorSpec("text", "string", [-1])], [new TensorSpec("probabilities", "float32", [-1, 2])], ["negative", "positive"]);

        public Prediction Predict(Table batch)
        {
            var texts = batch.Get<StringColumn>("text");
            return Prediction.Classes(Signature.Labels, [.. Enumerable.Range(0, batch.RowCount).Select(i =>
            {
                var good = (texts[i] ?? "").Split(' ').Count(w => w == "great");
                var bad = (texts[i] ?? "").Split(' ').Count(w => w == "awful");
                var p = (float)(1 / (1 + Math.Exp(-(2 * good) + (2 * bad))));
                return new[] { 1 - p, p };
            })]);
        }

        public void Dispose() { }
    }

    [Fact]
    public void Encode_and_decode_round_trip_numbers_categories_booleans_and_missing_values()
    {
        using var model = new FakeClassifier();
        var f = PredictorFunction.Create(model);
        var table = new Table(
            Column.Float32("x", [1.5f, 0, -2], [false, true, false]),
            Column.String("colour", ["red", "green", null]),
            Column.Boolean("flag", [true, false, true]),
            Column.String("ignored", ["a", "b", "c"]));

        var x = f.Encode(table);

        Assert.Equal(["x", "colour", "flag"], f.FeatureNames);
        Assert.Equal([1], f.CategoricalFeatures);
        Assert.Equal(["blue", "red"], f.CategoriesOf(1));
        Assert.Null(f.CategoriesOf(0));
        Assert.Equal(1.5, x[0, 0]);
        Assert.True(double.IsNaN(x[1, 0]));
        Assert.Equal(1, x[0, 1]);
        Assert.True(double.IsNaN(x[1, 1])); // an unseen category is no category
        Assert.True(double.IsNaN(x[2, 1]));
        Assert.Equal(1, x[0, 2]);
        Assert.Equal(0, x[1, 2]);

        var back = f.Decode(Rows.AsSpan(x));
        Assert.Equal(1.5f, back.Get<ScalarColumn<float>>("x")[0]);
        Assert.True(back["x"].IsMissing(1));
        Assert.Equal("red", back.Get<StringColumn>("colour")[0]);
        Assert.Null(back.Get<StringColumn>("colour")[1]);
        Assert.True(back.Get<ScalarColumn<bool>>("flag")[0]);
        Assert.False(back.Get<ScalarColumn<bool>>("flag")[1]);
    }

    [Fact]
    public void Evaluate_gives_the_predictors_probabilities_per_class()
    {
        using var model = new FakeClassifier();
        var f = PredictorFunction.Create(model);
        var outputs = f.Evaluate(new double[,] { { 0.5, 1, 0 }, { 0, 0, 1 } });
        Assert.Equal(2, f.OutputCount);
        Assert.Equal(["no", "yes"], f.OutputNames);
        var z0 = (2 * 0.5) + 3 - 1;
        Assert.Equal(1 / (1 + Math.Exp(-z0)), outputs[0, 1], 6);
        Assert.Equal(1 - outputs[0, 1], outputs[0, 0], 6);
        Assert.Equal(1 / (1 + Math.Exp(2)), outputs[1, 1], 6);
    }

    [Fact]
    public void Exact_shap_over_a_predictor_adds_up_per_row_and_ranks_the_driving_feature_first()
    {
        using var model = new FakeClassifier();
        var f = PredictorFunction.Create(model);
        var rng = new Random(3);
        var background = new double[40, 3];
        for (var i = 0; i < 40; i++)
        {
            background[i, 0] = (rng.NextDouble() * 4) - 2;
            background[i, 1] = rng.Next(2);
            background[i, 2] = rng.Next(2);
        }
        var e = new ExactShapExplainer(f, Background.From(background), new ExactShapOptions { FeatureNames = f.FeatureNames }).Explain(background);
        for (var r = 0; r < e.RowCount; r++)
        {
            for (var k = 0; k < 2; k++) Assert.InRange(e.AdditivityGap(r, k), -1e-6, 1e-6);
        }
        Assert.Equal(0, e.RankFeatures(1)[0]);
        Assert.Equal(2, e.RankFeatures(1)[2]);
    }

    [Fact]
    public void Tensor_columns_become_one_feature_per_value_and_regressions_one_output()
    {
        using var model = new FakeRegression();
        var f = PredictorFunction.Create(model);
        Assert.Equal(["image[0]", "image[1]", "image[2]", "image[3]"], f.FeatureNames);
        Assert.Equal(1, f.OutputCount);
        var y = f.Evaluate(new double[,] { { 1, 5, 5, 2 } });
        Assert.Equal(5, y[0, 0], 6);
    }

    [Fact]
    public void Free_text_inputs_and_missing_columns_are_refused_naming_what_to_do()
    {
        using var text = new FakeText();
        var error = Assert.Throws<UsageException>(() => PredictorFunction.Create(text));
        Assert.Contains("--text", error.Message, StringComparison.Ordinal);

        using var model = new FakeClassifier();
        var missing = Assert.Throws<UsageException>(() => PredictorFunction.Create(model).Encode(new Table(Column.Float32("x", [1]), Column.String("color", ["red"]))));
        Assert.Contains("'colour'", missing.Message, StringComparison.Ordinal);
        Assert.Contains("flag", missing.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Kernel_over_words_adds_up_and_credits_the_sentiment_words()
    {
        using var model = new FakeText();
        var e = PredictorExplainers.ForText(model, "kernel", samples: 200).Explain("the food was great but the wait was awful");
        Assert.Equal(ExplanationKind.Text, e.Kind);
        Assert.Equal(["negative", "positive"], e.OutputNames);
        Assert.InRange(e.AdditivityGap(0, 1), -1e-6, 1e-6);
        var names = e.FeatureNames.ToList();
        Assert.True(e.Value(0, names.IndexOf("great"), 1) > 0.1);
        Assert.True(e.Value(0, names.IndexOf("awful"), 1) < -0.1);
        Assert.Equal(0, e.Value(0, names.IndexOf("food"), 1), 9);

        var lime = PredictorExplainers.ForText(model, "lime", samples: 300).Explain("great great awful");
        Assert.Equal("lime", lime.Method);
        var typo = Assert.Throws<UsageException>(() => PredictorExplainers.ForText(model, "kernal"));
        Assert.Contains("did you mean 'kernel'", typo.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Values_csv_has_a_class_column_for_several_outputs_and_base_value_last()
    {
        var e = new Explanation("kernel", ["a", "b,c"], 2, 2, [1, 2, 3, 4, 5, 6, 7, 8], [0.5, -0.5, 1.5, 2.5]) { OutputNames = ["no", "yes"] };
        using var writer = new StringWriter(CultureInfo.InvariantCulture);
        ExplanationExport.WriteValuesCsv(e, writer);
        Assert.Equal("class,a,\"b,c\",base_value\nno,1,2,0.5\nyes,3,4,-0.5\nno,5,6,1.5\nyes,7,8,2.5\n", writer.ToString());

        var joined = ExplanationExport.Concat([e, e]);
        Assert.Equal(4, joined.RowCount);
        Assert.Equal(7, joined.Value(3, 0, 1));
        Assert.Equal(2.5, joined.BaseValue(3, 1));
        var json = ExplanationExport.ToJson(e, top: 1);
        Assert.Equal("b,c", (string)json["rows"]![0]!["outputs"]![0]!["attributions"]![0]!["feature"]!);
    }

    /// <summary>Echoes every input column as a number: to check that decoding gives each column its own type.</summary>
    private sealed class EchoTypes : IPredictor
    {
        public ModelSignature Signature { get; } = new(
            [new TensorSpec("d", "float64", [-1]), new TensorSpec("i", "int32", [-1]), new TensorSpec("l", "int64", [-1])],
            [new TensorSpec("value", "float64", [-1])], []);

        public Table? Last { get; private set; }

        public Prediction Predict(Table batch)
        {
            Last = batch;
            var d = batch.Get<ScalarColumn<double>>("d");
            var i = batch.Get<ScalarColumn<int>>("i");
            var l = batch.Get<ScalarColumn<long>>("l");
            return Prediction.Regression([.. Enumerable.Range(0, batch.RowCount).Select(r => (d.IsMissing(r) ? 100 : d[r]) + (i.IsMissing(r) ? 1000 : i[r]) + (10 * l[r]))]);
        }

        public void Dispose() { }
    }

    [Fact]
    public void Float64_int32_and_int64_columns_decode_to_their_own_types_with_rounding_and_missing_values()
    {
        using var model = new EchoTypes();
        var f = PredictorFunction.Create(model);
        var y = f.Evaluate(new double[,] { { 0.25, 2.6, 3.4 }, { double.NaN, double.NaN, 1 } });
        Assert.Equal(0.25 + 3 + 30, y[0, 0], 12);
        Assert.Equal(100 + 1000 + 10, y[1, 0], 12);
        Assert.True(model.Last!["d"].IsMissing(1));
        Assert.True(model.Last["i"].IsMissing(1));
        var encoded = f.Encode(new Table(Column.Float64("d", [1.5]), Column.Int32("i", [7]), Column.Int64("l", [9])));
        Assert.Equal([1.5, 7, 9], [encoded[0, 0], encoded[0, 1], encoded[0, 2]]);
        Assert.Throws<ArgumentException>(() => f.Decode(new double[4]));
    }

    /// <summary>An RGB 2 x 3 image model (C x H x W input) whose score is the mean red of the top-left pixel.</summary>
    private sealed class TinyImageModel : IPredictor
    {
        public ModelSignature Signature { get; } = new([new TensorSpec("image", "float32", [-1, 3, 2, 3])], [new TensorSpec("probabilities", "float32", [-1, 2])], ["dark", "red"]);

        public Prediction Predict(Table batch)
        {
            var t = batch.Get<TensorColumn>("image");
            return Prediction.Classes(Signature.Labels, [.. Enumerable.Range(0, batch.RowCount).Select(r => new[] { 1 - t[r][0], t[r][0] })]);
        }

        public void Dispose() { }
    }

    [Fact]
    public void Image_rows_are_reordered_from_channels_first_and_lime_sees_the_models_scores()
    {
        using var model = new TinyImageModel();
        Assert.True(PredictorExplainers.TakesImage(model));
        Assert.False(PredictorExplainers.TakesText(model));
        // Channel-first: red plane, then green, then blue; pixel (0, 0) red = 0.9, green = 0.1, blue = 0.2.
        var row = new float[18];
        row[0] = 0.9f;
        row[6] = 0.1f;
        row[12] = 0.2f;
        var image = PredictorExplainers.ToImageInput(row, [3, 2, 3]);
        Assert.Equal((2, 3, 3), (image.Height, image.Width, image.Channels));
        Assert.Equal([0.9f, 0.1f, 0.2f], image.Pixels.Take(3));
        Assert.Throws<UsageException>(() => PredictorExplainers.ToImageInput(row, [18]));

        var e = PredictorExplainers.LimeForImages(model, new Lime.LimeImageOptions { Samples = 60, Segments = 2, HideColor = [0, 0, 0] }).Explain(image);
        Assert.Equal(["dark", "red"], e.OutputNames);
        Assert.Equal(0.9, e.Prediction(0, 1), 6);
        var region = e.Image!.Segments[0];
        Assert.True(e.Value(0, region, 1) > 0.3);

        using var text = new FakeText();
        var refused = Assert.Throws<UsageException>(() => PredictorExplainers.LimeForImages(text));
        Assert.Contains("--text", refused.Message, StringComparison.Ordinal);
        var wrong = Assert.Throws<UsageException>(() => PredictorExplainers.ForText(model, "lime"));
        Assert.Contains("--image", wrong.Message, StringComparison.Ordinal);
    }
}
