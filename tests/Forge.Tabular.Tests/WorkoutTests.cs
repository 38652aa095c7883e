using Forge.Core;
using Forge.Tests.Shared;

namespace Forge.Tabular.Tests;

/// <summary>Every learner on every task: train, write the bundle, load it, and get the very same predictions.</summary>
public sealed class WorkoutTests : IDisposable
{
    private readonly TempDir _temp = new("forge-tabular-");

    public void Dispose() => _temp.Dispose();

    internal static TabularTrainingRequest Request(string data, string label, TabularLearner learner, string output, int seed = 0) => new()
    {
        Dataset = "synthetic",
        DataPath = data,
        Csv = SyntheticTable.Csv(label),
        OutputDirectory = output,
        Options = new TabularOptions { Learner = learner, Trees = 20, Leaves = 8, LearningRate = 0.2, MinDataPerLeaf = 5, Seed = seed, ValidationFraction = 0.2, Threads = 2 },
    };

    [Theory]
    [InlineData(TabularLearner.LightGbm, "binary")]
    [InlineData(TabularLearner.LightGbm, "multi")]
    [InlineData(TabularLearner.LightGbm, "target")]
    [InlineData(TabularLearner.FastTree, "binary")]
    [InlineData(TabularLearner.FastTree, "multi")]
    [InlineData(TabularLearner.FastTree, "target")]
    [InlineData(TabularLearner.Linear, "binary")]
    [InlineData(TabularLearner.Linear, "multi")]
    [InlineData(TabularLearner.Linear, "target")]
    public void Train_save_load_gives_identical_predictions(TabularLearner learner, string label)
    {
        var data = SyntheticTable.Write(_temp.Combine("data.csv"));
        var result = TabularTraining.Run(Request(data, label, learner, _temp.Combine("bundle")));

        var bundle = ModelBundle.Load(result.Bundle.Directory);
        using var loaded = TabularBundle.Load(bundle);
        var rows = TabularCsv.ReadFor(data, loaded.Features, SyntheticTable.Csv(label));
        var before = result.Model.Predict(rows.Features);
        var after = loaded.Predict(rows.Features);
        Assert.Equal(before.RowCount, after.RowCount);
        if (label == "target")
        {
            for (var i = 0; i < before.RowCount; i++) Assert.Equal(before.Values![i], after.Values![i]);
            Assert.InRange(result.Test.Regression!.R2, 0.8, 1);
            Assert.Equal(TabularTask.Regression, loaded.Task);
            Assert.Empty(loaded.Signature.Labels);
        }
        else
        {
            for (var i = 0; i < before.RowCount; i++) Assert.Equal(before.Probabilities![i], after.Probabilities![i]);
            Assert.InRange(result.Test.Classification!.Accuracy, label == "binary" ? 0.8 : 0.6, 1);
            if (label == "binary")
            {
                Assert.Equal(["no", "yes"], loaded.Labels);
                Assert.InRange(result.Test.Auc!.Value, 0.85, 1);
            }
            else
            {
                Assert.Equal(["high", "low", "mid"], loaded.Labels);
            }
        }
        Assert.Equal(learner, loaded.Learner);
        // Multiclass linear models have a weight matrix, not one weight per input; their importance is not reported.
        if (learner == TabularLearner.Linear && label == "multi") Assert.Empty(loaded.Importance);
        else Assert.Equal("x1", loaded.Importance.MaxBy(p => p.Value).Key);
    }

    [Fact]
    public void The_bundle_carries_signature_background_split_and_metrics()
    {
        var data = SyntheticTable.Write(_temp.Combine("data.csv"), rows: 600);
        var result = TabularTraining.Run(Request(data, "binary", TabularLearner.LightGbm, _temp.Combine("bundle")));
        var m = ModelBundle.Load(result.Bundle.Directory).Manifest;

        Assert.Equal(ModelFlavors.MlNetTabular, m.Flavor);
        Assert.Equal(["x1", "x2", "colour", "size"], m.Signature.Inputs.Select(i => i.Name));
        var x1 = m.Signature.Inputs[0];
        Assert.Equal("float32", x1.DType);
        Assert.Equal([-1], x1.Shape);
        Assert.NotNull(x1.Min);
        Assert.InRange(x1.Max!.Value, 9, 10);
        var colour = m.Signature.Inputs[2];
        Assert.Equal("string", colour.DType);
        Assert.Equal(["blue", "green", "red"], colour.Categories);
        Assert.Equal(["no", "yes"], m.Signature.Labels);
        foreach (var key in new[] { "testAuc", "testLogLoss", "testAccuracy", "testF1", "testMacroF1", "validationAuc" }) Assert.True(m.Metrics.ContainsKey(key), key);

        var background = File.ReadAllLines(Path.Combine(result.Bundle.Directory, "reference", "background.csv"));
        Assert.Equal("x1,x2,colour,size", background[0]);
        Assert.Equal(TabularTraining.BackgroundRows + 1, background.Length);
        var card = File.ReadAllText(Path.Combine(result.Bundle.Directory, ModelBundle.ModelCardFileName));
        Assert.Contains("| Split | seeded stratified 80/20 split (seed 0) of data.csv: 480 training rows, 120 test rows", card, StringComparison.Ordinal);
        Assert.Contains("testAuc", card, StringComparison.Ordinal);
        Assert.Equal("synthetic", m.Training!.Dataset);
        Assert.Equal("lightgbm", m.Training.Hyperparameters["learner"]);
        Assert.Equal("20", m.Training.Hyperparameters["trees"]);
    }

    [Fact]
    public void The_same_seed_gives_the_same_model_for_every_tree_learner()
    {
        var data = SyntheticTable.Write(_temp.Combine("data.csv"));
        foreach (var learner in new[] { TabularLearner.LightGbm, TabularLearner.FastTree, TabularLearner.Linear })
        {
            var a = TabularTraining.Run(Request(data, "binary", learner, _temp.Combine($"a-{learner}")));
            var b = TabularTraining.Run(Request(data, "binary", learner, _temp.Combine($"b-{learner}")));
            var rows = TabularCsv.ReadFor(data, a.Model.Features, SyntheticTable.Csv("binary"));
            var pa = a.Model.Predict(rows.Features).Probabilities!;
            var pb = b.Model.Predict(rows.Features).Probabilities!;
            for (var i = 0; i < pa.Length; i++) Assert.Equal(pa[i], pb[i]);
            Assert.Equal(File.ReadAllBytes(Path.Combine(a.Bundle.Directory, "reference", "background.csv")),
                File.ReadAllBytes(Path.Combine(b.Bundle.Directory, "reference", "background.csv")));
        }
    }

    [Fact]
    public void An_unseen_category_is_answered_and_counted()
    {
        var data = SyntheticTable.Write(_temp.Combine("data.csv"));
        var model = TabularTraining.Run(Request(data, "binary", TabularLearner.LightGbm, _temp.Combine("bundle"))).Model;
        var events = new List<(string, int)>();
        model.UnseenCategory += (c, n) => events.Add((c, n));
        var rows = new Table(
            Column.Float32("x1", [5, 5, 5]),
            Column.Float32("x2", [0, 0, 0], [false, true, false]),
            Column.String("colour", ["purple", null, "red"]),
            Column.String("size", ["S", "XL", "L"]));

        var p = model.Predict(rows);

        Assert.Equal(3, p.RowCount);
        Assert.All(p.Probabilities!, r => Assert.InRange(r.Sum(), 0.999f, 1.001f));
        Assert.Equal(new Dictionary<string, long> { ["colour"] = 1, ["size"] = 1 }, model.UnseenCategories);
        Assert.Equal([("colour", 1), ("size", 1)], events);
    }
}
