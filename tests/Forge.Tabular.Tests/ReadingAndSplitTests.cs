using System.Text.Json.Nodes;
using Forge.Core;
using Forge.Tests.Shared;

namespace Forge.Tabular.Tests;

/// <summary>Bad files get one error naming the file, line and column; splits are seeded; options report every problem.</summary>
public sealed class ReadingAndSplitTests : IDisposable
{
    private readonly TempDir _temp = new("forge-tabular-");

    public void Dispose() => _temp.Dispose();

    private string File(string name, string text)
    {
        var path = _temp.Combine(name);
        System.IO.File.WriteAllText(path, text);
        return path;
    }

    private static DataFormatException ReadFails(string path, TabularCsvOptions options) => Assert.Throws<DataFormatException>(() => TabularCsv.Read(path, options));

    [Fact]
    public void Types_are_inferred_and_missing_values_marked()
    {
        var path = File("t.csv", "a,b,c,y\n1,x,?,p\n2.5,?,3,q\n,z,4,p\n");
        var data = TabularCsv.Read(path, new TabularCsvOptions { Label = "y" });
        Assert.Equal([FeatureKind.Numeric, FeatureKind.Categorical, FeatureKind.Numeric], data.Schema.Select(f => f.Kind));
        Assert.Equal(["x", "z"], data.Schema[1].Categories);
        Assert.Equal((1.0, 2.5, 1), (data.Schema[0].Min!.Value, data.Schema[0].Max!.Value, data.Schema[0].Missing));
        Assert.True(data.Features["a"].IsMissing(2));
        Assert.True(data.Features["b"].IsMissing(1));
        Assert.True(data.Features["c"].IsMissing(0));
        Assert.Equal(["p", "q", "p"], data.Labels);
        Assert.Equal([2L, 3L, 4L], data.Lines);
        var forced = TabularCsv.Read(path, new TabularCsvOptions { Label = "y", Types = new Dictionary<string, FeatureKind> { ["c"] = FeatureKind.Categorical } });
        Assert.Equal(["3", "4"], forced.Schema[2].Categories);
    }

    [Fact]
    public void A_ragged_row_names_file_and_line()
    {
        var path = File("ragged.csv", "a,b,y\n1,2,p\n3,4\n");
        var e = ReadFails(path, new TabularCsvOptions { Label = "y" });
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.Contains("line 3: 2 fields where the header has 3", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_label_column_is_named_with_the_closest_column()
    {
        var path = File("t.csv", "a,income\n1,p\n");
        var e = ReadFails(path, new TabularCsvOptions { Label = "incme" });
        Assert.Equal($"{path}: no label column 'incme' in the header; did you mean 'income'?", e.Message);
    }

    [Fact]
    public void Text_in_a_numeric_column_names_line_and_column()
    {
        var path = File("t.csv", "age,y\n39,p\nforty,q\n");
        var e = ReadFails(path, new TabularCsvOptions { Label = "y", Types = new Dictionary<string, FeatureKind> { ["age"] = FeatureKind.Numeric } });
        Assert.Equal($"{path}: line 3, column 'age': 'forty' is not a number, and the column is numeric", e.Message);
        // Reading for a trained model: the model's numeric column decides.
        e = Assert.Throws<DataFormatException>(() => TabularCsv.ReadFor(path, [new FeatureInfo("age", FeatureKind.Numeric, [], 0, 90, 0)], new TabularCsvOptions()));
        Assert.Contains("line 3, column 'age'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_empty_file_and_a_header_without_rows_are_refused()
    {
        var empty = File("empty.csv", "");
        Assert.Equal($"{empty}: empty file: expected a header line and rows", ReadFails(empty, new TabularCsvOptions { Label = "y" }).Message);
        var header = File("header.csv", "a,y\n");
        Assert.Equal($"{header}: no rows after the header line", ReadFails(header, new TabularCsvOptions { Label = "y" }).Message);
    }

    [Fact]
    public void A_label_with_one_class_is_refused_naming_file_and_column()
    {
        var path = File("one.csv", "a,y\n1,p\n2,p\n");
        var data = TabularCsv.Read(path, new TabularCsvOptions { Label = "y" });
        var e = Assert.Throws<DataFormatException>(() => TabularTrainer.ResolveTask(data, null));
        Assert.Equal($"{path}: column 'y': the label has one class only ('p'); a classifier needs at least two", e.Message);
    }

    [Fact]
    public void A_missing_label_value_and_a_non_numeric_regression_label_name_their_line()
    {
        var path = File("t.csv", "a,y\n1,2\n2,?\n");
        Assert.Contains("line 3, column 'y': the label is missing", ReadFails(path, new TabularCsvOptions { Label = "y" }).Message, StringComparison.Ordinal);
        var text = File("r.csv", "a,y\n1,2\n2,many\n");
        var data = TabularCsv.Read(text, new TabularCsvOptions { Label = "y" });
        var e = Assert.Throws<DataFormatException>(() => TabularTrainer.ResolveTask(data, TabularTask.Regression));
        Assert.Contains("line 3, column 'y': 'many' is not a number", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_identifier_like_column_is_refused_as_a_category()
    {
        var rows = string.Concat(Enumerable.Range(0, 30).Select(i => $"id{i},{i % 2}\n"));
        var path = File("ids.csv", "id,y\n" + rows);
        var e = ReadFails(path, new TabularCsvOptions { Label = "y", MaxCategories = 20 });
        Assert.Contains("column 'id' has 30 distinct values", e.Message, StringComparison.Ordinal);
        Assert.Single(TabularCsv.Read(path, new TabularCsvOptions { Label = "y", MaxCategories = 20, Exclude = ["id"] }.WithDummyFeature(path)).Schema);
    }

    [Fact]
    public void Tasks_are_inferred_from_the_label_and_labels_sort_numbers_as_numbers()
    {
        var many = File("many.csv", "a,y\n" + string.Concat(Enumerable.Range(0, 30).Select(i => $"{i},{i * 1.5}\n")));
        Assert.Equal(TabularTask.Regression, TabularTrainer.ResolveTask(TabularCsv.Read(many, new TabularCsvOptions { Label = "y" }), null).Task);
        var classes = File("c.csv", "a,y\n1,10\n2,2\n3,1\n");
        var (task, labels) = TabularTrainer.ResolveTask(TabularCsv.Read(classes, new TabularCsvOptions { Label = "y" }), null);
        Assert.Equal(TabularTask.Multiclass, task);
        Assert.Equal(["1", "2", "10"], labels);
        Assert.Throws<DataFormatException>(() => TabularTrainer.ResolveTask(TabularCsv.Read(classes, new TabularCsvOptions { Label = "y" }), TabularTask.Binary));
    }

    [Fact]
    public void Splits_are_reproducible_under_a_seed_and_differ_across_seeds()
    {
        var path = SyntheticTable.Write(_temp.Combine("data.csv"), rows: 500);
        var data = TabularCsv.Read(path, SyntheticTable.Csv("binary"));
        TabularTrainingRequest Request(int seed) => WorkoutTests.Request(path, "binary", TabularLearner.LightGbm, "unused", seed);
        var a = TabularTraining.SplitRows(data, Request(3));
        var b = TabularTraining.SplitRows(data, Request(3));
        var c = TabularTraining.SplitRows(data, Request(4));
        Assert.Equal(a.Test, b.Test);
        Assert.Equal(a.Fit, b.Fit);
        Assert.Equal(a.Validation, b.Validation);
        Assert.NotEqual(a.Test, c.Test);
        Assert.Equal(100, a.Test.Length);
        Assert.Equal(500, a.Fit.Length + a.Validation.Length + a.Test.Length);
        Assert.Empty(a.Fit.Intersect(a.Test));
        Assert.Empty(a.Validation.Intersect(a.Test));
        // Stratified: each part keeps the share of "yes" within a row of the whole.
        var yes = data.Labels!.Count(l => l == "yes");
        var testYes = a.Test.Count(i => data.Labels![i] == "yes");
        Assert.InRange(testYes, (int)Math.Round(yes * 0.2) - 1, (int)Math.Round(yes * 0.2) + 1);
        Assert.Equal(TabularTraining.RowsHash(a.Test), TabularTraining.RowsHash(b.Test));
    }

    [Fact]
    public void A_chronological_split_holds_out_the_last_rows_of_both_parts()
    {
        var path = SyntheticTable.Write(_temp.Combine("data.csv"), rows: 100);
        var data = TabularCsv.Read(path, SyntheticTable.Csv("target"));
        var request = WorkoutTests.Request(path, "target", TabularLearner.LightGbm, "unused") with { Split = new TabularSplit(SplitMethod.Chronological, 0.2) };
        var (fit, validation, test, task, _, _) = TabularTraining.SplitRows(data, request);
        Assert.Equal(TabularTask.Regression, task);
        Assert.Equal(Enumerable.Range(80, 20), test);
        Assert.Equal(Enumerable.Range(64, 16), validation);
        Assert.Equal(Enumerable.Range(0, 64), fit);
    }

    [Fact]
    public void Options_report_every_problem_at_once()
    {
        var e = Assert.Throws<UsageException>(() => new TabularOptions { Trees = 0, Leaves = 1, LearningRate = 0, FeatureFraction = 1.5, ValidationFraction = 1, MinDataPerLeaf = 0, Threads = -1 }.Validate());
        foreach (var name in new[] { "Trees", "Leaves", "LearningRate", "FeatureFraction", "ValidationFraction", "MinDataPerLeaf", "Threads" })
            Assert.Contains(name + " must", e.Message, StringComparison.Ordinal);
        Assert.Empty(new TabularOptions().Problems());
    }

    [Fact]
    public void The_hyperparameter_map_holds_every_public_option()
    {
        var map = new TabularOptions().ToDictionary();
        var properties = typeof(TabularOptions).GetProperties().Where(p => p.Name != nameof(TabularOptions.EffectiveThreads)).Select(p => char.ToLowerInvariant(p.Name[0]) + p.Name[1..]);
        Assert.Equal(properties.Order(), map.Keys.Order());
        Assert.Equal("infer", map["task"]);
        Assert.Equal("lightgbm", map["learner"]);
        Assert.Equal("0.05", map["learningRate"]);
    }

    [Fact]
    public void Json_rows_decode_by_name_and_name_what_is_wrong()
    {
        var features = new[]
        {
            new FeatureInfo("age", FeatureKind.Numeric, [], 17, 90, 0),
            new FeatureInfo("job", FeatureKind.Categorical, ["a", "b"], null, null, 0),
        };
        var decoder = new TabularInstances(features, ["", "?"]);
        var row = decoder.Decode(JsonNode.Parse("""{"age": 39, "job": "b", "id": 7}"""), "instances[0]");
        Assert.Equal(39f, row.Get<ScalarColumn<float>>("age")[0]);
        Assert.Equal("b", row.Get<StringColumn>("job")[0]);
        var missing = decoder.Decode(JsonNode.Parse("""{"age": null, "job": "?"}"""), "r");
        Assert.True(missing["age"].IsMissing(0));
        Assert.True(missing["job"].IsMissing(0));
        Assert.Equal("1", decoder.Decode(JsonNode.Parse("""{"age": 1, "job": 1}"""), "r").Get<StringColumn>("job")[0]);

        void Fails(string json, string field, string problem)
        {
            var e = Assert.Throws<TabularInputException>(() => decoder.Decode(JsonNode.Parse(json), "instances[0]"));
            Assert.Equal(field, e.Field);
            Assert.Contains(problem, e.Problem, StringComparison.Ordinal);
        }
        Fails("""{"job": "a"}""", "instances[0].age", "missing: the model takes column 'age' (a number)");
        Fails("""{"agee": 3, "job": "a"}""", "instances[0].agee", "unknown column; did you mean 'age'?");
        Fails("""{"age": "39", "job": "a"}""", "instances[0].age", "expected a number; got the string \"39\"");
        Fails("""{"age": "NaN", "job": "a"}""", "instances[0].age", "NaN and infinities are rejected");
        Fails("""{"age": 1e999, "job": "a"}""", "instances[0].age", "is not a finite 32-bit number");
        Fails("""{"age": 1, "job": ["a"]}""", "instances[0].job", "expected a category (a string) or null; got an array");
        Fails("""[1, 2]""", "instances[0]", "expected an object keyed by column name");
    }
}

internal static class CsvOptionsTestExtensions
{
    // The identifier file has one column besides the label; excluding it leaves none, so a constant feature is added.
    public static TabularCsvOptions WithDummyFeature(this TabularCsvOptions options, string path)
    {
        var lines = System.IO.File.ReadAllLines(path);
        System.IO.File.WriteAllLines(path, lines.Select((l, i) => (i == 0 ? "k," : "1,") + l));
        return options;
    }
}
