using Forge.Core;
using Forge.Explainability;
using Forge.Explainability.Agnostic;
using Forge.Explainability.Trees;
using Forge.Tests.Shared;

namespace Forge.Tabular.Tests;

/// <summary>
/// ML.NET FastTree and LightGBM models converted to a TreeEnsemble over the original columns: the converted trees give
/// ML.NET's own raw score on every row, and TreeSHAP's values add up to that score on every row.
/// </summary>
public sealed class TreeConversionTests : IDisposable
{
    private readonly TempDir _temp = new("forge-tabular-trees-");

    public void Dispose() => _temp.Dispose();

    private static double Tolerance(double f) => 1e-6 * Math.Max(1, Math.Abs(f));

    [Theory]
    [InlineData(TabularLearner.LightGbm, "binary")]
    [InlineData(TabularLearner.LightGbm, "multi")]
    [InlineData(TabularLearner.LightGbm, "target")]
    [InlineData(TabularLearner.FastTree, "binary")]
    [InlineData(TabularLearner.FastTree, "multi")]
    [InlineData(TabularLearner.FastTree, "target")]
    public void TreeShap_on_the_converted_model_adds_up_to_MLNETs_raw_score_on_every_row(TabularLearner learner, string label)
    {
        var data = SyntheticTable.Write(_temp.Combine("data.csv"));
        var result = TabularTraining.Run(WorkoutTests.Request(data, label, learner, _temp.Combine("bundle")));
        var bundle = ModelBundle.Load(result.Bundle.Directory);
        using var model = TabularBundle.Load(bundle);
        var background = TabularExplaining.Background(bundle, model);
        var ensemble = TabularTrees.ToTreeEnsemble(model, background);
        var rows = TabularCsv.ReadFor(data, model.Features, SyntheticTable.Csv(label)).Features;
        var encoded = PredictorFunction.Create(model).Encode(rows);

        var raw = TabularTrees.RawScores(model, rows);
        var explanation = new TreeShapExplainer(ensemble).Explain(encoded);

        Assert.Equal(model.Features.Select(f => f.Name), explanation.FeatureNames);
        Assert.Equal(raw.GetLength(1), explanation.OutputCount);
        for (var r = 0; r < rows.RowCount; r++)
        {
            for (var k = 0; k < explanation.OutputCount; k++)
            {
                var f = raw[r, k];
                var sum = explanation.BaseValue(r, k);
                foreach (var v in explanation.Values(r, k)) sum += v;
                Assert.InRange(sum - f, -Tolerance(f), Tolerance(f));
            }
        }
    }

    [Fact]
    public void Converted_LightGbm_multiclass_margins_give_MLNETs_probabilities_through_the_softmax()
    {
        var data = SyntheticTable.Write(_temp.Combine("data.csv"));
        var model = TabularTraining.Run(WorkoutTests.Request(data, "multi", TabularLearner.LightGbm, _temp.Combine("bundle"))).Model;
        var rows = TabularCsv.ReadFor(data, model.Features, SyntheticTable.Csv("multi")).Features;
        var ensemble = TabularTrees.ToTreeEnsemble(model, rows);
        var p = ensemble.Predict(PredictorFunction.Create(model).Encode(rows));
        var expected = model.Predict(rows).Probabilities!;
        for (var r = 0; r < rows.RowCount; r++)
        {
            for (var k = 0; k < 3; k++) Assert.InRange(p[r, k] - expected[r][k], -1e-5, 1e-5);
        }
    }

    [Fact]
    public void Missing_and_unseen_values_take_the_branch_MLNET_takes()
    {
        var data = SyntheticTable.Write(_temp.Combine("data.csv"));
        foreach (var learner in new[] { TabularLearner.LightGbm, TabularLearner.FastTree })
        {
            var model = TabularTraining.Run(WorkoutTests.Request(data, "target", learner, _temp.Combine($"b-{learner}"))).Model;
            var rows = new Table(
                Column.Float32("x1", [5, 0, 9.5f, 2], [false, true, false, false]),
                Column.Float32("x2", [0, 0, 1, -1], [true, true, false, false]),
                Column.String("colour", ["purple", null, "red", "blue"]),
                Column.String("size", ["S", "XL", null, "L"]));
            var ensemble = TabularTrees.ToTreeEnsemble(model, TabularCsv.ReadFor(data, model.Features, SyntheticTable.Csv("target")).Features);
            var mine = ensemble.PredictRaw(PredictorFunction.Create(model).Encode(rows));
            var theirs = TabularTrees.RawScores(model, rows);
            for (var r = 0; r < rows.RowCount; r++) Assert.InRange(mine[r, 0] - theirs[r, 0], -Tolerance(theirs[r, 0]), Tolerance(theirs[r, 0]));
        }
    }

    [Fact]
    public void Categorical_columns_get_one_attribution_each_and_the_driving_columns_rank_first()
    {
        var data = SyntheticTable.Write(_temp.Combine("data.csv"), rows: 600);
        var result = TabularTraining.Run(WorkoutTests.Request(data, "target", TabularLearner.LightGbm, _temp.Combine("bundle")));
        var bundle = ModelBundle.Load(result.Bundle.Directory);
        using var model = TabularBundle.Load(bundle);
        var explanation = TabularExplaining.Explain(bundle, model, TabularCsv.ReadFor(data, model.Features, SyntheticTable.Csv("target")).Features, "tree");

        Assert.Equal(["x1", "x2", "colour", "size"], explanation.FeatureNames);
        // target = 3·x1 + 5·[colour = blue] + x2 + noise: x1 first, colour second, size last.
        var rank = explanation.RankFeatures();
        Assert.Equal([0, 2, 1, 3], rank);
    }

    [Fact]
    public void Every_method_explains_a_tabular_bundle_and_the_shap_ones_add_up()
    {
        var data = SyntheticTable.Write(_temp.Combine("data.csv"));
        var result = TabularTraining.Run(WorkoutTests.Request(data, "binary", TabularLearner.Linear, _temp.Combine("bundle")));
        var bundle = ModelBundle.Load(result.Bundle.Directory);
        using var model = TabularBundle.Load(bundle);
        var rows = TabularCsv.ReadFor(data, model.Features, SyntheticTable.Csv("binary")).Features.Slice(0, 5);

        var error = Assert.Throws<UsageException>(() => TabularExplaining.Explain(bundle, model, rows, "tree"));
        Assert.Contains("kernel", error.Message, StringComparison.Ordinal);
        foreach (var method in new[] { "exact", "kernel", "permutation" })
        {
            var e = TabularExplaining.Explain(bundle, model, rows, method);
            Assert.Equal(method, e.Method);
            Assert.Equal(["no", "yes"], e.OutputNames);
            for (var r = 0; r < e.RowCount; r++)
            {
                for (var k = 0; k < 2; k++) Assert.InRange(e.AdditivityGap(r, k), -1e-6, 1e-6);
            }
        }
        var lime = TabularExplaining.Explain(bundle, model, rows, "lime");
        Assert.Equal("lime", lime.Method);
        Assert.Equal(5, lime.RowCount);
        var unknown = Assert.Throws<UsageException>(() => TabularExplaining.Explain(bundle, model, rows, "kernal"));
        Assert.Contains("did you mean 'kernel'", unknown.Message, StringComparison.Ordinal);
    }
}
