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
    }

    [Fact]
    public void A_model_of_several_inputs_needs_a_table()
    {
        using var two = new EchoPredictor(new TensorSpec("a", "float32", [-1, 1]), new TensorSpec("b", "float32", [-1, 1]));

        Assert.Contains("takes 2 inputs", Assert.Throws<UsageException>(() => two.PredictRows([[1f]])).Message, StringComparison.Ordinal);
        Assert.Contains("takes 2 inputs", Assert.Throws<UsageException>(() => two.PredictTexts(["x"])).Message, StringComparison.Ordinal);
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
}
