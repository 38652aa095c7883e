using Forge.Core;
using Forge.Explainability.Agnostic;
using Forge.Explainability.Trees;

namespace Forge.Explainability.Tests;

public sealed class ModelTypesTests
{
    [Fact]
    public void Explanation_checks_its_shapes_and_reads_back_what_it_was_given()
    {
        var e = new Explanation("m", ["a", "b"], 2, 2, [1, 2, 3, 4, 5, 6, 7, 8], [0.5, 1.5, 2.5, 3.5])
        {
            Data = [10, 20, 30, double.NaN],
            Predictions = [3.5, 8.5, 13.5, 18.5],
            OutputNames = ["no", "yes"],
            OutputSpace = "probability",
        };

        Assert.Equal(4.0, e.Value(0, 1, 1));
        Assert.Equal([5.0, 6.0], e.Values(1, 0).ToArray());
        Assert.Equal(2.5, e.BaseValue(1, 0));
        Assert.Equal(30.0, e.DataValue(1, 0));
        Assert.Equal(8.5, e.Prediction(0, 1));
        Assert.Equal(0.0, e.AdditivityGap(0, 0));
        Assert.Equal("b = missing", e.DisplayLabel(1, 1));
        Assert.Equal("a = 10", e.DisplayLabel(0, 0));
        Assert.Equal([3.0, 4.0], e.MeanAbsoluteValues(0));
        Assert.Equal([1, 0], e.RankFeatures(0));
        Assert.Equal(ExplanationKind.Tabular, e.Kind);
        Assert.Throws<InvalidOperationException>(() => e.Interaction(0, 0, 0));

        Assert.Throws<ArgumentException>(() => new Explanation("m", ["a"], 2, 1, [1], [0, 0]));
        Assert.Throws<ArgumentException>(() => new Explanation("m", ["a"], 1, 1, [1], [0, 0]));
        Assert.Throws<ArgumentException>(() => new Explanation("m", ["a"], 1, 1, [1], [0]) { Data = [1, 2] });
        Assert.Throws<ArgumentException>(() => new Explanation("m", ["a"], 1, 1, [1], [0]) { OutputNames = ["x", "y"] });
        Assert.Throws<ArgumentOutOfRangeException>(() => e.Value(2, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => e.Value(0, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => e.Value(0, 0, 2));
        Assert.True(double.IsNaN(new Explanation("m", ["a"], 1, 1, [1], [0]).Prediction(0)));
        Assert.Equal("a", new Explanation("m", ["a"], 1, 1, [1], [0]).DisplayLabel(0, 0));
    }

    [Theory]
    [InlineData(3.0, "3")]
    [InlineData(-12.0, "-12")]
    [InlineData(0.25, "0.25")]
    [InlineData(1234567.891, "1.235E+06")]
    [InlineData(double.NaN, "missing")]
    public void Values_are_formatted_compactly(double value, string expected) => Assert.Equal(expected, Explanation.FormatValue(value));

    [Fact]
    public void Malformed_trees_are_refused_naming_the_node()
    {
        Assert.Contains("out of range", Assert.Throws<ForgeException>(() => new DecisionTree([TreeNode.Split(0, 1, 1, 5, 2), TreeNode.Leaf(0, 1)])).Message, StringComparison.Ordinal);
        Assert.Contains("reached twice", Assert.Throws<ForgeException>(() => new DecisionTree([TreeNode.Split(0, 1, 1, 1, 2), TreeNode.Leaf(0, 1)])).Message, StringComparison.Ordinal);
        Assert.Contains("reached twice", Assert.Throws<ForgeException>(() => new DecisionTree([TreeNode.Split(0, 1, 0, 1, 2), TreeNode.Leaf(0, 1)])).Message, StringComparison.Ordinal);
        Assert.Contains("cover", Assert.Throws<ForgeException>(() => new DecisionTree([TreeNode.Leaf(0, -1)])).Message, StringComparison.Ordinal);
        Assert.Contains("values", Assert.Throws<ForgeException>(() => new DecisionTree([TreeNode.Split(0, 1, 1, 2, 2), TreeNode.Leaf(0, 1), TreeNode.Leaf([1.0, 2.0], 1)])).Message, StringComparison.Ordinal);
        Assert.Contains("NaN threshold", Assert.Throws<ForgeException>(() => new DecisionTree([TreeNode.Split(0, double.NaN, 1, 2, 2), TreeNode.Leaf(0, 1), TreeNode.Leaf(0, 1)])).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => TreeNode.Split(0, 1, 1, 2, 1, rule: SplitRule.InCategorySet));
        Assert.Throws<ArgumentException>(() => TreeNode.CategorySplit(0, [-1], 1, 2, 1));
        Assert.Throws<ArgumentException>(() => TreeNode.Leaf([], 1));
        Assert.Throws<ArgumentException>(() => new DecisionTree([]));

        var tree = new DecisionTree([TreeNode.Split(3, 1, 1, 2, 2), TreeNode.Leaf(0, 1), TreeNode.Leaf(1, 1)], output: 1);
        Assert.Contains("feature 3", Assert.Throws<ForgeException>(() => new TreeEnsemble([tree], new TreeEnsembleOptions { FeatureCount = 2, OutputCount = 2, Link = TreeLink.Softmax })).Message, StringComparison.Ordinal);
        Assert.Contains("output", Assert.Throws<ForgeException>(() => new TreeEnsemble([tree], new TreeEnsembleOptions { FeatureCount = 4 })).Message, StringComparison.Ordinal);
        Assert.Equal(1, tree.Depth);
        Assert.Equal(2, tree.LeafCount);
    }

    [Fact]
    public void Ensemble_options_report_every_problem()
    {
        var e = Assert.Throws<UsageException>(() => new TreeEnsembleOptions { FeatureCount = 0, OutputCount = 1, BaseScore = [1, 2], FeatureNames = ["a"], OutputNames = ["x", "y"], Link = TreeLink.Softmax }.Validate());
        foreach (var part in new[] { "FeatureCount", "BaseScore has 2", "FeatureNames", "OutputNames", "softmax" })
            Assert.Contains(part, e.Message, StringComparison.Ordinal);
        Assert.Contains("finite", Assert.Throws<UsageException>(() => new TreeEnsembleOptions { FeatureCount = 1, BaseScore = [double.NaN] }.Validate()).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Links_turn_margins_into_predictions()
    {
        var leaf = new DecisionTree([TreeNode.Leaf(0.5, 1)]);
        var logistic = new TreeEnsemble([leaf], new TreeEnsembleOptions { FeatureCount = 1, BaseScore = [0.5], Link = TreeLink.Logistic });
        Assert.Equal(1 / (1 + Math.Exp(-1.0)), logistic.Predict(new double[1, 1])[0, 0], 14);
        var exp = new TreeEnsemble([leaf], new TreeEnsembleOptions { FeatureCount = 1, Link = TreeLink.Exp });
        Assert.Equal(Math.Exp(0.5), exp.Predict(new double[1, 1])[0, 0], 14);
        var softmax = new TreeEnsemble([leaf, new DecisionTree([TreeNode.Leaf(2.0, 1)], 1)], new TreeEnsembleOptions { FeatureCount = 1, OutputCount = 2, Link = TreeLink.Softmax, OutputNames = ["a", "b"] });
        var p = softmax.Predict(new double[1, 1]);
        Assert.Equal(1 / (1 + Math.Exp(1.5)), p[0, 0], 14);
        Assert.Equal(1.0, p[0, 0] + p[0, 1], 14);
        Assert.Equal(["a", "b"], softmax.OutputNames!);
        var identity = new TreeEnsemble([leaf], new TreeEnsembleOptions { FeatureCount = 1 });
        Assert.Equal(0.5, identity.Predict(new double[1, 1])[0, 0]);
    }

    [Fact]
    public void Single_precision_inputs_compare_as_32_bit_floats()
    {
        // 0.3 rounds to the float 0.30000001192…, which equals the float threshold: not less than it.
        var tree = new DecisionTree([TreeNode.Split(0, 0.3f, 1, 2, 2), TreeNode.Leaf(-1, 1), TreeNode.Leaf(1, 1)]);
        var asFloat = new TreeEnsemble([tree], new TreeEnsembleOptions { FeatureCount = 1, SinglePrecisionInputs = true });
        var asDouble = new TreeEnsemble([tree], new TreeEnsembleOptions { FeatureCount = 1 });

        Assert.Equal(1.0, asFloat.PredictRaw(new double[,] { { 0.3 } })[0, 0]);
        Assert.Equal(-1.0, asDouble.PredictRaw(new double[,] { { 0.3 } })[0, 0]);
    }

    [Fact]
    public void Vector_leaf_trees_add_one_value_per_output_and_explain_exactly()
    {
        var tree = new DecisionTree([TreeNode.Split(0, 0, 1, 2, 4), TreeNode.Leaf([1.0, -1.0], 3), TreeNode.Leaf([0.0, 2.0], 1)]);
        var model = new TreeEnsemble([tree], new TreeEnsembleOptions { FeatureCount = 1, OutputCount = 2 });
        var rows = new double[,] { { -1 }, { 1 } };

        var raw = model.PredictRaw(rows);
        var e = new TreeShapExplainer(model).Explain(rows);

        Assert.Equal([1.0, -1.0, 0.0, 2.0], new[] { raw[0, 0], raw[0, 1], raw[1, 0], raw[1, 1] });
        Assert.Equal(0.75, e.BaseValue(0, 0), 12);
        Assert.Equal(-0.25, e.BaseValue(0, 1), 12);
        Assert.Equal(0.25, e.Value(0, 0, 0), 12);
        Assert.Equal(2.25, e.Value(1, 0, 1), 12);
    }

    [Fact]
    public void Xgboost_reader_refuses_what_it_cannot_explain_and_says_what_to_use()
    {
        Assert.Contains("not valid JSON", Assert.Throws<DataFormatException>(() => TreeModels.ParseXGBoostJson("{", "m.json")).Message, StringComparison.Ordinal);
        Assert.Contains("no \"learner\"", Assert.Throws<DataFormatException>(() => TreeModels.ParseXGBoostJson("{}", "m.json")).Message, StringComparison.Ordinal);
        var json = File.ReadAllText(Golden.PathOf("xgb_poisson.model.json"));
        var linear = json.Replace("\"name\":\"gbtree\"", "\"name\":\"gblinear\"", StringComparison.Ordinal);
        Assert.Contains("use --method exact, kernel or permutation", Assert.Throws<DataFormatException>(() => TreeModels.ParseXGBoostJson(linear, "m.json")).Message, StringComparison.Ordinal);
        var objective = json.Replace("count:poisson", "reg:mystery", StringComparison.Ordinal);
        Assert.Contains("objective 'reg:mystery' is not supported", Assert.Throws<DataFormatException>(() => TreeModels.ParseXGBoostJson(objective, "m.json")).Message, StringComparison.Ordinal);
        var broken = json.Replace("\"tree_info\"", "\"tree_inf\"", StringComparison.Ordinal);
        Assert.Contains("not an XGBoost JSON tree model", Assert.Throws<DataFormatException>(() => TreeModels.ParseXGBoostJson(broken, "m.json")).Message, StringComparison.Ordinal);
        Assert.Throws<DataFormatException>(() => TreeModels.FromXGBoostJson("/no/such/model.json"));
    }

    [Fact]
    public void Dart_models_scale_each_tree_by_its_weight()
    {
        var json = File.ReadAllText(Golden.PathOf("xgb_poisson.model.json"));
        var doc = System.Text.Json.Nodes.JsonNode.Parse(json)!;
        var booster = doc["learner"]!["gradient_booster"]!;
        var trees = booster["model"]!["trees"]!.AsArray().Count;
        var dart = new System.Text.Json.Nodes.JsonObject
        {
            ["name"] = "dart",
            ["gbtree"] = System.Text.Json.Nodes.JsonNode.Parse(booster.ToJsonString()),
            ["weight_drop"] = new System.Text.Json.Nodes.JsonArray(Enumerable.Repeat(0.5, trees).Select(w => (System.Text.Json.Nodes.JsonNode?)w).ToArray()),
        };
        doc["learner"]!["gradient_booster"] = dart;

        var halved = TreeModels.ParseXGBoostJson(doc.ToJsonString());
        var full = TreeModels.FromXGBoostJson(Golden.PathOf("xgb_poisson.model.json"));

        var rows = new double[,] { { 0.1, -0.4, 1.2, 0.3 } };
        Assert.Equal((full.PredictRaw(rows)[0, 0] - full.BaseScore[0]) / 2, halved.PredictRaw(rows)[0, 0] - halved.BaseScore[0], 6);
    }

    [Fact]
    public void Kmeans_background_weights_sum_to_one_and_centres_use_observed_values()
    {
        var rng = new Random(1);
        var rows = new double[300, 3];
        for (var i = 0; i < 300; i++)
        {
            rows[i, 0] = rng.Next(4);                       // a category code
            rows[i, 1] = (i % 3) * 10 + rng.NextDouble();   // three clear clusters
            rows[i, 2] = rng.Next(10) == 0 ? double.NaN : rng.NextDouble();
        }

        var bg = Background.KMeans(rows, 5, seed: 2);

        Assert.InRange(bg.Count, 1, 5);
        Assert.Equal(1.0, bg.Weights.Sum(), 12);
        for (var c = 0; c < bg.Count; c++)
        {
            var centre = bg.Row(c);
            Assert.Contains(centre[0], new[] { 0.0, 1, 2, 3 });
            Assert.Contains(Enumerable.Range(0, 300), i => rows[i, 1] == centre[1]);
        }
        Assert.Equal(10, Background.Sample(rows, 10, seed: 1).Count);
        Assert.Equal(300, Background.Sample(rows, 1000).Count);
        Assert.Equal(300, Background.KMeans(rows, 400).Count);
        Assert.Throws<UsageException>(() => Background.From(new double[0, 3]));
        Assert.Throws<ArgumentException>(() => Background.Weighted(new double[2, 1], [1, -1]));
        Assert.Throws<ArgumentException>(() => Background.Weighted(new double[2, 1], [1]));
    }

    [Fact]
    public void Model_functions_from_delegates_check_their_shapes()
    {
        var model = ModelFunction.FromRow(2, 2, x => [x[0], x[1]], ["a", "b"]);
        var y = model.Evaluate(new double[,] { { 1, 2 } });
        Assert.Equal(2.0, y[0, 1]);
        Assert.Equal(["a", "b"], model.OutputNames!);
        var bad = ModelFunction.FromRow(2, 2, x => [x[0]]);
        Assert.Throws<ForgeException>(() => bad.Evaluate(new double[,] { { 1, 2 } }));
        Assert.Throws<ArgumentException>(() => ModelFunction.FromBatch(2, 2, (_, _) => { }, ["only one"]));
        Assert.Throws<ArgumentOutOfRangeException>(() => ModelFunction.FromBatch(0, 1, (_, _) => { }));
        Assert.Throws<ForgeException>(() => model.Evaluate(new double[,] { { 1, 2, 3 } }));
    }

    [Fact]
    public void Row_streams_are_cut_into_batches_and_bad_rows_are_named()
    {
        var rows = Enumerable.Range(0, 25).Select(i => new double[] { i, i * 2 });
        var batches = ExplainerStreaming.Batch(rows, 2, 10).ToList();
        Assert.Equal([10, 10, 5], batches.Select(b => b.GetLength(0)));
        Assert.Equal(48.0, batches[2][4, 1]);
        var bad = ExplainerStreaming.Batch([[1.0, 2], [1.0]], 2, 10);
        Assert.Contains("row 1 has 1 values", Assert.Throws<ForgeException>(() => bad.ToList()).Message, StringComparison.Ordinal);
    }
}

/// <summary>DESIGN.md: the pure projects reference only the base library and Forge.Core.</summary>
public sealed class ArchitectureTests
{
    [Fact]
    public void Forge_Explainability_references_only_the_base_library_and_Forge_Core()
    {
        string[] heavy = ["TorchSharp", "Microsoft.ML", "Microsoft.AspNetCore", "SkiaSharp", "ScottPlot", "Npgsql", "Microsoft.Data.Sqlite", "MathNet"];
        var references = typeof(Explanation).Assembly.GetReferencedAssemblies().Select(a => a.Name!).ToArray();

        foreach (var name in references)
            Assert.DoesNotContain(heavy, h => name.StartsWith(h, StringComparison.Ordinal));
        Assert.Equal(["Forge.Core"], references.Where(n => n.StartsWith("Forge.", StringComparison.Ordinal)));
    }
}
