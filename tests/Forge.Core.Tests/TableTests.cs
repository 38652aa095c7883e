namespace Forge.Core.Tests;

public sealed class TableTests
{
    private static Table Sample() => new(
        Column.Float32("f", [1.5f, 2.5f, 3.5f], [false, true, false]),
        Column.Float64("d", [0.1, 0.2, 0.3]),
        Column.Int32("i", [1, 2, 3]),
        Column.Int64("l", [10, 20, 30]),
        Column.Boolean("b", [true, false, true]),
        Column.String("s", ["a", null, "c"]),
        Column.Tensor("t", [2], [1f, 2f, 3f, 4f, 5f, 6f]));

    [Fact]
    public void A_table_has_a_schema_row_count_and_typed_columns()
    {
        var t = Sample();

        Assert.Equal(3, t.RowCount);
        Assert.Equal(["f", "d", "i", "l", "b", "s", "t"], t.Schema.Select(c => c.Name));
        Assert.Equal([ColumnType.Float32, ColumnType.Float64, ColumnType.Int32, ColumnType.Int64, ColumnType.Boolean, ColumnType.String, ColumnType.Tensor],
            t.Schema.Select(c => c.Type));
        Assert.Equal(2.5f, t.Get<ScalarColumn<float>>("f")[1]);
        Assert.Equal(20L, t.Get<ScalarColumn<long>>("l")[1]);
        Assert.Equal("c", t.Get<StringColumn>("s")[2]);
        Assert.Equal([3f, 4f], t.Get<TensorColumn>("t")[1].ToArray());
        Assert.Equal(2, t.Get<TensorColumn>("t").CellLength);
        Assert.Equal(6, t.Schema.IndexOf("t"));
        Assert.True(t.Schema.Contains("b"));
        Assert.False(t.Schema.Contains("B"));
    }

    [Fact]
    public void Missing_values_are_marked_per_row_and_boxed_as_null()
    {
        var t = Sample();

        Assert.Equal([false, true, false], Enumerable.Range(0, 3).Select(t["f"].IsMissing));
        Assert.Equal([false, true, false], Enumerable.Range(0, 3).Select(t["s"].IsMissing));
        Assert.Equal([false, false, false], Enumerable.Range(0, 3).Select(t["d"].IsMissing));
        Assert.Equal(1, t["f"].MissingCount);
        Assert.Equal(0, t["t"].MissingCount);
        Assert.Null(t["f"].GetValue(1));
        Assert.Equal(1.5f, t["f"].GetValue(0));
        Assert.Equal(true, t["b"].GetValue(0));
        Assert.Null(t["s"].GetValue(1));
        Assert.Equal([5f, 6f], (float[])t["t"].GetValue(2)!);
    }

    [Fact]
    public void A_slice_is_a_view_and_take_copies_any_rows_in_any_order()
    {
        var t = Sample();

        var slice = t.Slice(1, 2);
        var taken = t.Take([2, 0, 2]);

        Assert.Equal(2, slice.RowCount);
        Assert.Equal([2.5f, 3.5f], slice.Get<ScalarColumn<float>>("f").Values.ToArray());
        Assert.True(slice["f"].IsMissing(0));
        Assert.False(slice["f"].IsMissing(1));
        Assert.Equal([3f, 4f, 5f, 6f], slice.Get<TensorColumn>("t").Values.ToArray());
        Assert.Equal(new string?[] { null, "c" }, slice.Get<StringColumn>("s").Values.ToArray().AsEnumerable());
        Assert.Equal(t.Schema, slice.Schema);

        Assert.Equal(3, taken.RowCount);
        Assert.Equal([3, 1, 3], taken.Get<ScalarColumn<int>>("i").Values.ToArray());
        Assert.Equal([true, true, true], taken.Get<ScalarColumn<bool>>("b").Values.ToArray());
        Assert.Equal(new string?[] { "c", "a", "c" }, taken.Get<StringColumn>("s").Values.ToArray().AsEnumerable());
        Assert.Equal([5f, 6f, 1f, 2f, 5f, 6f], taken.Get<TensorColumn>("t").Values.ToArray());
        Assert.Equal([false, false, false], Enumerable.Range(0, 3).Select(taken["f"].IsMissing));
        Assert.True(t.Take([1])["f"].IsMissing(0));
        Assert.Equal(0, t.Take([]).RowCount);
    }

    [Fact]
    public void Concat_joins_rows_bit_for_bit_and_keeps_missing_marks()
    {
        var t = Sample();
        var parts = new[] { t.Slice(0, 1), t.Slice(1, 0), t.Slice(1, 1), t.Slice(2, 1) };

        var joined = Table.Concat(parts);

        Assert.Equal(3, joined.RowCount);
        foreach (var column in t.Schema)
        {
            for (var r = 0; r < 3; r++)
            {
                Assert.Equal(t[column.Name].IsMissing(r), joined[column.Name].IsMissing(r));
                Assert.Equal(t[column.Name].GetValue(r), joined[column.Name].GetValue(r));
            }
        }
        Assert.Same(t, Table.Concat([t]));
        var none = Assert.Throws<ArgumentException>(() => Table.Concat([]));
        Assert.StartsWith("no tables to join", none.Message, StringComparison.Ordinal);
        Assert.Equal("tables", none.ParamName);
    }

    [Fact]
    public void Concat_without_missing_values_keeps_no_mask_and_one_with_them_marks_only_theirs()
    {
        var clean = new Table(Column.Float32("x", [1, 2]), Column.Tensor("t", [1], [1f, 2f]));
        var holey = new Table(Column.Float32("x", [3, 4], [true, false]), Column.Tensor("t", [1], [3f, 4f], [false, true]));

        Assert.True(Table.Concat([clean, clean])["x"].Missing.IsEmpty);
        Assert.True(Table.Concat([clean, clean, clean])["t"].Missing.IsEmpty);
        Assert.Equal([false, false, true, false], Table.Concat([clean, holey])["x"].Missing.ToArray());
        Assert.Equal([true, false, false, false], Table.Concat([holey, clean])["x"].Missing.ToArray());
        // Only the last of three tables has gaps: the first two must not make the mask look unneeded.
        var joined = Table.Concat([clean, clean, holey]);
        Assert.Equal([false, false, false, false, true, false], joined["x"].Missing.ToArray());
        Assert.Equal([false, false, false, false, false, true], joined["t"].Missing.ToArray());
        Assert.Equal([1f, 2f, 1f, 2f, 3f, 4f], joined.Get<TensorColumn>("t").Values.ToArray());
        Assert.Null(joined["t"].GetValue(5));
        Assert.Equal([3f], (float[])joined["t"].GetValue(4)!);
    }

    [Fact]
    public void Tables_of_other_schemas_do_not_join_and_say_why()
    {
        var a = new Table(Column.Float32("x", [1]));
        var b = new Table(Column.Float64("x", [1]));
        var c = new Table(Column.Tensor("x", [3], [1f, 2f, 3f]));
        var d = new Table(Column.Tensor("x", [1, 3], [1f, 2f, 3f]));

        Assert.Contains("table 1 has columns x (float64); table 0 has x (float32)", Assert.Throws<UsageException>(() => Table.Concat([a, b])).Message, StringComparison.Ordinal);
        Assert.Throws<UsageException>(() => Table.Concat([c, d]));
    }

    [Fact]
    public void Bad_tables_are_refused_naming_the_column()
    {
        Assert.Equal("column 'b' has 1 rows; column 'a' has 2",
            Assert.Throws<UsageException>(() => new Table(Column.Int32("a", [1, 2]), Column.Int32("b", [1]))).Message);
        Assert.Equal("column 'a' appears twice", Assert.Throws<UsageException>(() => new Table(Column.Int32("a", [1]), Column.Int32("a", [2]))).Message);
        Assert.Equal("tensor column 't' has 5 values, not a whole number of 2-value cells",
            Assert.Throws<UsageException>(() => Column.Tensor("t", [2], [1f, 2f, 3f, 4f, 5f])).Message);
        Assert.Equal("column 't' row 1 has 3 values; its cells hold 2 ([2])",
            Assert.Throws<UsageException>(() => Column.Tensor("t", [2], [[1f, 2f], [1f, 2f, 3f]])).Message);
        Assert.Equal("column 't' row 0 has 3 values; its cells hold 4 ([2, 2])",
            Assert.Throws<UsageException>(() => Column.Tensor("t", [2, 2], [[1f, 2f, 3f]])).Message);
        var mask = Assert.Throws<ArgumentException>(() => Column.Float32("m", [1, 2], [true]));
        Assert.StartsWith("column 'm': the missing mask has 1 entries for 2 rows", mask.Message, StringComparison.Ordinal);
        Assert.Equal("missing", mask.ParamName);
        Assert.Equal("column 0 has no name", Assert.Throws<UsageException>(() => new TableSchema([new ColumnSpec("", ColumnType.Int32)])).Message);
        Assert.StartsWith("column 1 is null",
            Assert.Throws<ArgumentException>(() => new TableSchema([new ColumnSpec("a", ColumnType.Int32), null!])).Message, StringComparison.Ordinal);
        Assert.Equal("tensor column 't' needs a cell shape of positive sizes",
            Assert.Throws<UsageException>(() => new TableSchema([new ColumnSpec("t", ColumnType.Tensor)])).Message);
        Assert.Throws<UsageException>(() => new TableSchema([new ColumnSpec("t", ColumnType.Tensor) { CellShape = [0] }]));
        Assert.Throws<UsageException>(() => new TableSchema([new ColumnSpec("t", ColumnType.Tensor) { CellShape = [2, 0] }]));
        Assert.Equal("column 'x' is Int32; only tensor columns have a cell shape",
            Assert.Throws<UsageException>(() => new TableSchema([new ColumnSpec("x", ColumnType.Int32) { CellShape = [2] }])).Message);
        Assert.Equal(0, new Table().RowCount);
    }

    [Fact]
    public void Unknown_columns_and_wrong_types_get_a_suggestion_or_the_actual_type()
    {
        var t = Sample();

        var missing = Assert.Throws<NotFoundException>(() => t["tt"]);
        Assert.Equal("t", missing.Suggestion);
        Assert.Equal("unknown column 'tt'; did you mean 't'?", missing.Message);
        Assert.Equal("column 's' is s (string), not TensorColumn", Assert.Throws<UsageException>(() => t.Get<TensorColumn>("s")).Message);
    }

    [Fact]
    public void Rows_outside_a_column_are_refused()
    {
        var t = Sample();

        Assert.Throws<ArgumentOutOfRangeException>(() => t["i"].IsMissing(3));
        Assert.Throws<ArgumentOutOfRangeException>(() => t["s"].IsMissing(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => t.Slice(2, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => t.Slice(-1, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => t.Slice(0, -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => t.Take([3]));
        Assert.Throws<ArgumentOutOfRangeException>(() => t.Get<TensorColumn>("t")[3].ToArray());
        Assert.Equal(0, t.Slice(3, 0).RowCount);
    }

    [Fact]
    public void A_row_outside_a_column_is_refused_naming_the_column_and_its_length()
    {
        var t = Sample();

        var scalar = Assert.Throws<ArgumentOutOfRangeException>(() => t.Get<ScalarColumn<int>>("i")[3]);
        Assert.StartsWith("column 'i' has 3 rows", scalar.Message, StringComparison.Ordinal);
        Assert.Equal("row", scalar.ParamName);
        Assert.Equal(3, scalar.ActualValue);
        Assert.StartsWith("column 't' has 3 rows",
            Assert.Throws<ArgumentOutOfRangeException>(() => t.Get<TensorColumn>("t")[-1].ToArray()).Message, StringComparison.Ordinal);
        Assert.StartsWith("column 's' has 3 rows", Assert.Throws<ArgumentOutOfRangeException>(() => t.Get<StringColumn>("s")[3]).Message, StringComparison.Ordinal);
        Assert.Equal(3.5f, t.Slice(1, 2).Get<ScalarColumn<float>>("f")[1]);
        Assert.Throws<ArgumentOutOfRangeException>(() => t.Slice(1, 2).Get<ScalarColumn<float>>("f")[2]);
    }

    [Theory]
    [InlineData("f", 2, 2, "rows 2..4 are outside column 'f' of 3 rows")]
    [InlineData("s", 2, 2, "rows 2..4 are outside column 's' of 3 rows")]
    [InlineData("t", 2, 2, "rows 2..4 are outside column 't' of 3 rows")]
    [InlineData("f", -1, 1, "rows -1..0 are outside column 'f' of 3 rows")]
    [InlineData("s", -1, 1, "rows -1..0 are outside column 's' of 3 rows")]
    [InlineData("t", -1, 1, "rows -1..0 are outside column 't' of 3 rows")]
    [InlineData("t", 0, -1, "rows 0..-1 are outside column 't' of 3 rows")]
    public void A_slice_outside_a_column_names_the_rows_asked_for(string column, int start, int count, string message)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Sample()[column].Slice(start, count));

        Assert.StartsWith(message, e.Message, StringComparison.Ordinal);
        Assert.Equal("start", e.ParamName);
    }

    [Fact]
    public void Null_arguments_are_refused_by_name()
    {
        var t = Sample();

        Assert.Equal("columns", Assert.Throws<ArgumentNullException>(() => new Table((IEnumerable<Column>)null!)).ParamName);
        Assert.Equal("columns", Assert.Throws<ArgumentNullException>(() => new TableSchema(null!)).ParamName);
        Assert.Equal("tables", Assert.Throws<ArgumentNullException>(() => Table.Concat(null!)).ParamName);
        Assert.Equal("name", Assert.Throws<ArgumentNullException>(() => t.Schema.IndexOf(null!)).ParamName);
        Assert.Equal("cellShape", Assert.Throws<ArgumentNullException>(() => Column.Tensor("t", null!, (IReadOnlyList<float[]>)[[1f]])).ParamName);
        Assert.Equal("rows", Assert.Throws<ArgumentNullException>(() => Column.Tensor("t", [1], (IReadOnlyList<float[]>)null!)).ParamName);
    }

    [Fact]
    public void Specs_compare_by_value_and_describe_themselves()
    {
        var a = new ColumnSpec("img", ColumnType.Tensor) { CellShape = [1, 28, 28] };
        var b = new ColumnSpec("img", ColumnType.Tensor) { CellShape = [1, 28, 28] };

        Assert.Equal(a, b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.NotEqual(a, b with { CellShape = [28, 28] });
        Assert.NotEqual(a, b with { Name = "x" });
        Assert.Equal(784, a.CellLength);
        Assert.Equal(1, new ColumnSpec("x", ColumnType.Float64).CellLength);
        Assert.Equal("img (tensor [1, 28, 28])", a.ToString());
        Assert.Equal("age (int32)", new ColumnSpec("age", ColumnType.Int32).ToString());
        Assert.Equal(new TableSchema([a]), new TableSchema([b]));
        Assert.Equal(new TableSchema([a]).GetHashCode(), new TableSchema([b]).GetHashCode());
        Assert.NotEqual(new TableSchema([a]), new TableSchema([a, new ColumnSpec("x", ColumnType.Int32)]));
        Assert.NotEqual(new TableSchema([a]).GetHashCode(), new TableSchema([a, new ColumnSpec("x", ColumnType.Int32)]).GetHashCode());
        Assert.Equal("f (float32), d (float64), i (int32), l (int64), b (boolean), s (string), t (tensor [2])", Sample().Schema.ToString());
    }

    [Fact]
    public void A_signature_names_the_columns_its_model_takes()
    {
        var image = new TensorSpec("image", "float32", [-1, 1, 28, 28]);
        var signature = new ModelSignature([image, new TensorSpec("age", "int64", [-1]), new TensorSpec("city", "string", [-1])], [], ["a"]);

        Assert.Equal([1, 28, 28], image.CellShape());
        Assert.Equal([new ColumnSpec("image", ColumnType.Tensor) { CellShape = [1, 28, 28] }, new ColumnSpec("age", ColumnType.Int64), new ColumnSpec("city", ColumnType.String)],
            signature.InputSchema());
        Assert.Equal(ColumnType.Float32, new TensorSpec("x", "float32", [-1]).ToColumnSpec().Type);
        Assert.Equal(ColumnType.Float64, new TensorSpec("x", "float64", [-1]).ToColumnSpec().Type);
        Assert.Equal(ColumnType.Int32, new TensorSpec("x", "int32", [-1]).ToColumnSpec().Type);
        Assert.Equal(ColumnType.Boolean, new TensorSpec("x", "bool", [-1]).ToColumnSpec().Type);
        Assert.Empty(new TensorSpec("bias", "float32", []).CellShape());
        Assert.Equal(new ColumnSpec("bias", ColumnType.Float32), new TensorSpec("bias", "float32", []).ToColumnSpec());
        Assert.Equal("input 'x' has dtype 'complex', which no column type holds",
            Assert.Throws<UsageException>(() => new TensorSpec("x", "complex", [-1]).ToColumnSpec()).Message);
        Assert.Equal("input 'x' is a int64 tensor; only float32 tensors are supported",
            Assert.Throws<UsageException>(() => new TensorSpec("x", "int64", [-1, 3]).ToColumnSpec()).Message);
    }

    [Fact]
    public void A_prediction_slices_and_names_the_most_probable_label()
    {
        var p = Prediction.Classes(["no", "yes"], [[0.9f, 0.1f], [0.2f, 0.8f], [0.5f, 0.5f]]);
        var r = Prediction.Regression([1.5, 2.5]);

        Assert.Equal(3, p.RowCount);
        Assert.Equal(["no", "yes", "no"], Enumerable.Range(0, 3).Select(p.PredictedLabel));
        Assert.Equal([[0.2f, 0.8f]], p.Slice(1, 1).Probabilities!);
        Assert.Equal(["no", "yes"], p.Slice(1, 1).Labels);
        Assert.Equal([2.5], r.Slice(1, 1).Values!);
        Assert.Empty(r.Labels);
        Assert.Throws<InvalidOperationException>(() => r.PredictedLabel(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => p.Slice(2, 2));
        Assert.Throws<ArgumentException>(() => Prediction.Classes(["a", "b"], [[1f]]));
    }
}
