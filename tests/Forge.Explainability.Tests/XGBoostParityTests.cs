using Forge.Explainability.Trees;

namespace Forge.Explainability.Tests;

/// <summary>TreeSHAP on XGBoost JSON models equals XGBoost 1.7.4's own pred_contribs / pred_interactions (golden/make_xgboost_golden.py).</summary>
public sealed class XGBoostParityTests
{
    private const double Tolerance = 1e-5;

    [Theory]
    [InlineData("binary", 8, 1)]
    [InlineData("multiclass", 6, 3)]
    [InlineData("regression", 6, 1)]
    [InlineData("categorical", 3, 1)]
    [InlineData("poisson", 4, 1)]
    public void Margins_and_contributions_equal_xgboost_pred_contribs(string name, int features, int outputs)
    {
        var model = TreeModels.FromXGBoostJson(Golden.PathOf($"xgb_{name}.model.json"));
        var golden = Golden.Json($"xgb_{name}.golden.json");
        var rows = Golden.Matrix(golden.GetProperty("rows"));
        var margin = Golden.Flat(golden.GetProperty("margin"));
        var contribs = Golden.Flat(golden.GetProperty("contribs"));
        Assert.Equal(features, model.FeatureCount);
        Assert.Equal(outputs, model.OutputCount);
        var n = rows.GetLength(0);

        var predicted = model.PredictRaw(rows);
        var explanation = new TreeShapExplainer(model).Explain(rows);

        for (var r = 0; r < n; r++)
        {
            for (var o = 0; o < outputs; o++)
            {
                var expectedMargin = margin[r * outputs + o];
                Assert.True(Math.Abs(predicted[r, o] - expectedMargin) <= Tolerance, $"row {r} output {o}: margin {predicted[r, o]} vs xgboost {expectedMargin}");
                // pred_contribs: per row (and class) the features, then the bias column.
                var offset = (r * outputs + o) * (features + 1);
                for (var f = 0; f < features; f++)
                {
                    var err = explanation.Value(r, f, o) - contribs[offset + f];
                    Assert.True(Math.Abs(err) <= Tolerance, $"row {r} output {o} feature {f}: {explanation.Value(r, f, o)} vs xgboost {contribs[offset + f]}");
                }
                Assert.True(Math.Abs(explanation.BaseValue(r, o) - contribs[offset + features]) <= Tolerance, $"row {r} output {o}: base {explanation.BaseValue(r, o)} vs xgboost bias {contribs[offset + features]}");
                var gap = explanation.AdditivityGap(r, o);
                Assert.True(Math.Abs(gap) <= 1e-6 * Math.Max(1, Math.Abs(predicted[r, o])), $"row {r} output {o}: additivity gap {gap}");
            }
        }
    }

    [Theory]
    [InlineData("binary", 8, 1)]
    [InlineData("multiclass", 6, 3)]
    [InlineData("regression", 6, 1)]
    public void Interaction_values_equal_xgboost_pred_interactions(string name, int features, int outputs)
    {
        var model = TreeModels.FromXGBoostJson(Golden.PathOf($"xgb_{name}.model.json"));
        var golden = Golden.Json($"xgb_{name}.golden.json");
        var rows = Golden.Matrix(golden.GetProperty("rows"));
        var expected = Golden.Flat(golden.GetProperty("interactions"));
        var n = rows.GetLength(0);

        var explanation = new TreeShapExplainer(model, new TreeShapOptions { Interactions = true }).Explain(rows);

        var width = features + 1;
        for (var r = 0; r < n; r++)
        {
            for (var o = 0; o < outputs; o++)
            {
                var offset = (r * outputs + o) * width * width;
                for (var i = 0; i < features; i++)
                {
                    for (var j = 0; j < features; j++)
                    {
                        var want = expected[offset + i * width + j];
                        var err = explanation.Interaction(r, i, j, o) - want;
                        Assert.True(Math.Abs(err) <= Tolerance, $"row {r} output {o} ({i},{j}): {explanation.Interaction(r, i, j, o)} vs xgboost {want}");
                    }
                }
                Assert.True(Math.Abs(explanation.BaseValue(r, o) - expected[offset + features * width + features]) <= Tolerance);
            }
        }
    }

    [Fact]
    public void The_reader_takes_names_objective_and_link_from_the_file()
    {
        var binary = TreeModels.FromXGBoostJson(Golden.PathOf("xgb_binary.model.json"));
        var multi = TreeModels.FromXGBoostJson(Golden.PathOf("xgb_multiclass.model.json"));
        var poisson = TreeModels.FromXGBoostJson(Golden.PathOf("xgb_poisson.model.json"));
        var categorical = TreeModels.FromXGBoostJson(Golden.PathOf("xgb_categorical.model.json"));

        Assert.Equal(TreeLink.Logistic, binary.Link);
        Assert.Equal(20, binary.Trees.Count);
        Assert.Equal(TreeLink.Softmax, multi.Link);
        Assert.Equal(24, multi.Trees.Count);
        Assert.Equal([0, 1, 2, 0, 1, 2], multi.Trees.Take(6).Select(t => t.Output));
        Assert.Equal(TreeLink.Exp, poisson.Link);
        Assert.Equal(["a", "b", "c"], categorical.FeatureNames);
        Assert.True(binary.Options.SinglePrecisionInputs);
        Assert.StartsWith("xgboost 1.7.4 JSON", binary.Options.Source, StringComparison.Ordinal);
        // base_score 0.5 on the probability scale is a margin of 0.
        Assert.Equal(0.0, binary.BaseScore[0], 12);
    }
}
