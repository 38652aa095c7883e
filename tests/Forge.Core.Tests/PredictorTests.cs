namespace Forge.Core.Tests;

public sealed class PredictorTests
{
    [Fact]
    public void Rows_and_texts_become_the_model_input_column()
    {
        using var image = new EchoPredictor(new TensorSpec("image", "float32", [-1, 1, 2]));
        using var text = new EchoPredictor(new TensorSpec("text", "string", [-1]));

        Assert.Equal([[0.25f, 0.75f], [1f, 0f]], image.PredictRows([[0.25f, 0.75f], [1f, 0f]]));
        Assert.Equal([new ColumnSpec("image", ColumnType.Tensor) { CellShape = [1, 2] }], image.Seen!.Schema);
        Assert.Equal([[2f, 0f], [3f, 0f]], text.PredictTexts(["hi", "hey"]));
        Assert.Equal(new string?[] { "hi", "hey" }, text.Seen!.Get<StringColumn>("text").Values.ToArray().AsEnumerable());
    }

    [Fact]
    public void The_model_input_checks_name_type_shape_and_missing_cells()
    {
        var input = new TensorSpec("image", "float32", [-1, 2]);

        Assert.Contains("has no column 'image'", Assert.Throws<UsageException>(() => ModelInputs.Tensor(new Table(Column.Int32("x", [1])), input, "2 pixels")).Message, StringComparison.Ordinal);
        Assert.Contains("the model expects image (tensor [2]): 2 values (2 pixels)",
            Assert.Throws<UsageException>(() => ModelInputs.Tensor(new Table(Column.Tensor("image", [3], [1f, 2f, 3f])), input, "2 pixels")).Message, StringComparison.Ordinal);
        Assert.Contains("row 1 of column 'image' is missing",
            Assert.Throws<UsageException>(() => ModelInputs.Tensor(new Table(Column.Tensor("image", [2], [1f, 2f, 3f, 4f], [false, true])), input, "2 pixels")).Message, StringComparison.Ordinal);
        Assert.Equal(2, ModelInputs.Tensor(new Table(Column.Tensor("image", [2], [1f, 2f, 3f, 4f])), input, "2 pixels").Length);

        var text = new TensorSpec("text", "string", [-1]);
        Assert.Contains("row 0 of column 'text' has no text", Assert.Throws<UsageException>(() => ModelInputs.Text(new Table(Column.String("text", [null])), text)).Message, StringComparison.Ordinal);
        Assert.Contains("takes texts", Assert.Throws<UsageException>(() => ModelInputs.Text(new Table(Column.Int32("text", [1])), text)).Message, StringComparison.Ordinal);
        Assert.Contains("has no column 'text'", Assert.Throws<UsageException>(() => ModelInputs.Text(new Table(Column.Int32("x", [1])), text)).Message, StringComparison.Ordinal);
        var texts = new Table(Column.Int32("id", [7, 8]), Column.String("text", ["a", "bc"]));
        Assert.Same(texts["text"], ModelInputs.Text(texts, text));
    }

    [Fact]
    public void The_model_input_checks_refuse_null_arguments_by_name()
    {
        var image = new TensorSpec("image", "float32", [-1, 2]);
        var text = new TensorSpec("text", "string", [-1]);
        var batch = new Table(Column.Tensor("image", [2], [1f, 2f]), Column.String("text", ["a"]));

        Assert.Equal("batch", Assert.Throws<ArgumentNullException>(() => ModelInputs.Tensor(null!, image, "2 pixels")).ParamName);
        Assert.Equal("input", Assert.Throws<ArgumentNullException>(() => ModelInputs.Tensor(batch, null!, "2 pixels")).ParamName);
        Assert.Equal("batch", Assert.Throws<ArgumentNullException>(() => ModelInputs.Text(null!, text)).ParamName);
        Assert.Equal("input", Assert.Throws<ArgumentNullException>(() => ModelInputs.Text(batch, null!)).ParamName);
    }

    [Fact]
    public void A_model_of_several_inputs_needs_a_table()
    {
        using var two = new EchoPredictor(new TensorSpec("a", "float32", [-1, 1]), new TensorSpec("b", "float32", [-1, 1]));

        Assert.Contains("takes 2 inputs", Assert.Throws<UsageException>(() => two.PredictRows([[1f]])).Message, StringComparison.Ordinal);
        Assert.Contains("takes 2 inputs", Assert.Throws<UsageException>(() => two.PredictTexts(["x"])).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_regression_model_has_no_probabilities_to_give()
    {
        using var rows = new RegressionPredictor(new TensorSpec("x", "float32", [-1, 1]));
        using var texts = new RegressionPredictor(new TensorSpec("text", "string", [-1]));

        Assert.Equal("the model is a regression; it predicts values, not probabilities", Assert.Throws<UsageException>(() => rows.PredictRows([[1f]])).Message);
        Assert.Equal("the model is a regression; it predicts values, not probabilities", Assert.Throws<UsageException>(() => texts.PredictTexts(["x"])).Message);
        Assert.Equal("a regression predicts values, not labels", Assert.Throws<InvalidOperationException>(() => rows.Predict(new Table(Column.Float32("x", [1f]))).PredictedLabel(0)).Message);
    }

    [Fact]
    public void The_conveniences_refuse_null_arguments_by_name()
    {
        using var image = new EchoPredictor(new TensorSpec("image", "float32", [-1, 1]));

        Assert.Equal("predictor", Assert.Throws<ArgumentNullException>(() => ((IPredictor)null!).PredictRows([[1f]])).ParamName);
        Assert.Equal("rows", Assert.Throws<ArgumentNullException>(() => image.PredictRows(null!)).ParamName);
        Assert.Equal("predictor", Assert.Throws<ArgumentNullException>(() => ((IPredictor)null!).PredictTexts(["x"])).ParamName);
        Assert.Equal("texts", Assert.Throws<ArgumentNullException>(() => image.PredictTexts(null!)).ParamName);
    }

    [Fact]
    public void A_prediction_refuses_rows_that_do_not_match_its_labels()
    {
        var uneven = Assert.Throws<ArgumentException>(() => Prediction.Classes(["a", "b"], [[0.5f, 0.5f], [1f]]));
        Assert.StartsWith("row 1 has 1 probabilities for 2 labels", uneven.Message, StringComparison.Ordinal);
        Assert.Equal("probabilities", uneven.ParamName);
        Assert.StartsWith("row 0 has 0 probabilities for 2 labels",
            Assert.Throws<ArgumentException>(() => Prediction.Classes(["a", "b"], [null!])).Message, StringComparison.Ordinal);
        Assert.Equal("labels", Assert.Throws<ArgumentNullException>(() => Prediction.Classes(null!, [[1f]])).ParamName);
        Assert.Equal("probabilities", Assert.Throws<ArgumentNullException>(() => Prediction.Classes(["a"], null!)).ParamName);
        Assert.Equal("values", Assert.Throws<ArgumentNullException>(() => Prediction.Regression(null!)).ParamName);
        Assert.Equal(0, Prediction.Classes(["a"], []).RowCount);
    }

    [Theory]
    [InlineData(0, 3)]
    [InlineData(0, 1)]
    [InlineData(1, 0)]
    [InlineData(3, 0)]
    [InlineData(1, 2)]
    public void A_prediction_slices_any_rows_inside_it(int start, int count)
    {
        var classes = Prediction.Classes(["no", "yes"], [[0.9f, 0.1f], [0.2f, 0.8f], [0.5f, 0.5f]]);
        var values = Prediction.Regression([1.5, 2.5, 3.5]);

        Assert.Equal(classes.Probabilities![start..(start + count)], classes.Slice(start, count).Probabilities!);
        Assert.Equal(values.Values![start..(start + count)], values.Slice(start, count).Values!);
        Assert.Equal(count, values.Slice(start, count).RowCount);
    }

    [Theory]
    [InlineData(2, 2, "rows 2..4 are outside a prediction of 3 rows")]
    [InlineData(-1, 1, "rows -1..0 are outside a prediction of 3 rows")]
    [InlineData(0, -1, "rows 0..-1 are outside a prediction of 3 rows")]
    [InlineData(4, 0, "rows 4..4 are outside a prediction of 3 rows")]
    public void A_prediction_refuses_a_slice_outside_it_naming_the_rows(int start, int count, string message)
    {
        foreach (var prediction in new[] { Prediction.Classes(["no", "yes"], [[0.9f, 0.1f], [0.2f, 0.8f], [0.5f, 0.5f]]), Prediction.Regression([1.5, 2.5, 3.5]) })
        {
            var e = Assert.Throws<ArgumentOutOfRangeException>(() => prediction.Slice(start, count));
            Assert.StartsWith(message, e.Message, StringComparison.Ordinal);
            Assert.Equal("start", e.ParamName);
        }
    }

    [Fact]
    public void Embeddings_ride_along_with_the_answer_and_its_slices()
    {
        float[][] embeddings = [[1f, 0f], [2f, 0f], [3f, 0f]];
        var classes = Prediction.Classes(["no", "yes"], [[0.9f, 0.1f], [0.2f, 0.8f], [0.5f, 0.5f]]).WithEmbeddings(embeddings);
        var values = Prediction.Regression([1.5, 2.5, 3.5]).WithEmbeddings(embeddings);

        Assert.Same(embeddings, classes.Embeddings);
        Assert.Equal(["no", "yes"], classes.Labels);
        Assert.Equal([0.2f, 0.8f], classes.Probabilities![1]);
        Assert.Equal([1.5, 2.5, 3.5], values.Values!);
        Assert.Equal([[2f, 0f], [3f, 0f]], classes.Slice(1, 2).Embeddings!);
        Assert.Equal([[3f, 0f]], values.Slice(2, 1).Embeddings!);
        Assert.Equal([3.5], values.Slice(2, 1).Values!);
        Assert.Null(Prediction.Regression([1.0]).Embeddings);
        Assert.Null(Prediction.Regression([1.0]).Slice(0, 1).Embeddings);

        var e = Assert.Throws<ArgumentException>(() => values.WithEmbeddings([[1f, 0f]]));
        Assert.StartsWith("1 embeddings for a prediction of 3 rows", e.Message, StringComparison.Ordinal);
        Assert.Equal("embeddings", e.ParamName);
        Assert.Equal("embeddings", Assert.Throws<ArgumentNullException>(() => values.WithEmbeddings(null!)).ParamName);
    }

    /// <summary>Answers a tensor row with itself and a text with [its length, 0]; remembers the last batch.</summary>
    private sealed class EchoPredictor(params TensorSpec[] inputs) : IPredictor
    {
        public Table? Seen { get; private set; }

        public ModelSignature Signature { get; } = new(inputs, [], ["a", "b"]);

        public Prediction Predict(Table batch)
        {
            Seen = batch;
            var c = batch.Columns[0];
            var rows = Enumerable.Range(0, batch.RowCount).Select(i => c is StringColumn s ? [s[i]!.Length, 0f] : ((TensorColumn)c)[i].ToArray()).ToArray();
            return Prediction.Classes(Signature.Labels, rows);
        }

        public void Dispose()
        {
        }
    }

    /// <summary>Answers every row with the value 1.</summary>
    private sealed class RegressionPredictor(TensorSpec input) : IPredictor
    {
        public ModelSignature Signature { get; } = new([input], [new TensorSpec("value", "float64", [-1])], []);

        public Prediction Predict(Table batch) => Prediction.Regression([.. Enumerable.Repeat(1.0, batch.RowCount)]);

        public void Dispose()
        {
        }
    }
}
