using Forge.Core;
using Forge.Explainability.Agnostic;

namespace Forge.Explainability.Tests;

public sealed class KernelShapTests
{
    /// <summary>Two outputs with interactions between every pair of neighbouring features.</summary>
    private static IModelFunction Model(int d) =>
        ModelFunction.FromBatch(d, 2, (rows, outputs) =>
        {
            for (var i = 0; i < outputs.Length / 2; i++)
            {
                var x = rows.Slice(i * d, d);
                var a = 0.0;
                for (var j = 0; j < d; j++) a += (j + 1) * x[j] + x[j] * x[(j + 1) % d];
                outputs[i * 2] = a;
                outputs[i * 2 + 1] = Math.Exp(-a * a / 50) + x[0];
            }
        });

    private static double[,] Grid(int seed, int n, int d)
    {
        var rng = new Random(seed);
        var m = new double[n, d];
        for (var i = 0; i < n; i++)
        {
            for (var j = 0; j < d; j++) m[i, j] = rng.Next(-3, 4) / 2.0;
        }
        return m;
    }

    private static void AssertSame(Explanation expected, Explanation actual, double tolerance)
    {
        for (var r = 0; r < expected.RowCount; r++)
        {
            for (var o = 0; o < expected.OutputCount; o++)
            {
                Assert.InRange(actual.BaseValue(r, o) - expected.BaseValue(r, o), -tolerance, tolerance);
                for (var f = 0; f < expected.FeatureCount; f++)
                    Assert.True(Math.Abs(actual.Value(r, f, o) - expected.Value(r, f, o)) <= tolerance, $"row {r} output {o} feature {f}: {actual.Value(r, f, o)} vs {expected.Value(r, f, o)}");
            }
        }
    }

    [Fact]
    public void Invalid_options_are_listed_in_one_message_with_their_values()
    {
        var bg = Background.From(new double[2, 3]);

        var e = Assert.Throws<UsageException>(() => new KernelShapExplainer(Model(3), bg, new KernelShapOptions { Samples = 1, FeatureSelection = KernelFeatureSelection.TopFeatures, MaxFeatures = 0, MaxDegreeOfParallelism = -1 }));

        Assert.Equal("invalid KernelSHAP options: Samples must be at least 2 (is 1); MaxFeatures must be at least 1 (is 0); "
            + "MaxDegreeOfParallelism must be 0 (all cores) or more (is -1)", e.Message);
        // MaxFeatures only matters for TopFeatures selection, and two coalitions are enough to run.
        var explainer = new KernelShapExplainer(Model(3), bg, new KernelShapOptions { Samples = 2, MaxFeatures = 0, FeatureSelection = KernelFeatureSelection.Auto });
        Assert.Equal("kernel", explainer.Method);
        Assert.Equal(2, explainer.Options.Samples);
        Assert.Equal(KernelFeatureSelection.None, new KernelShapOptions().FeatureSelection);
        Assert.Equal(10, new KernelShapOptions().MaxFeatures);
    }

    [Fact]
    public void A_row_that_differs_from_the_background_in_one_feature_gives_that_feature_the_whole_difference()
    {
        var background = new double[,] { { 1, 2, double.NaN, 4 }, { 1, 3, double.NaN, 4 } };
        var model = Model(4);
        var explainer = new KernelShapExplainer(model, Background.From(background), new KernelShapOptions { Samples = 2 });
        // Row 0 matches the background everywhere but column 1 (NaN counts as equal to NaN); row 1 matches both
        // columns 0 and 3 and the missing column 2, and its column 1 differs from one background row only.
        var rows = new double[,] { { 1, 7, double.NaN, 4 }, { 1, 2, double.NaN, 4 } };

        var e = explainer.Explain(rows);
        var f = model.Evaluate(rows);

        for (var r = 0; r < 2; r++)
        {
            for (var o = 0; o < 2; o++)
            {
                Assert.Equal(f[r, o] - explainer.ExpectedValue[o], e.Value(r, 1, o), 12);
                Assert.Equal(0.0, e.Value(r, 0, o));
                Assert.Equal(0.0, e.Value(r, 2, o));
                Assert.Equal(0.0, e.Value(r, 3, o));
            }
        }
    }

    [Fact]
    public void A_row_equal_to_every_background_row_gets_all_zero_values_and_its_own_output_as_base()
    {
        var background = new double[,] { { 1, 2, 3 }, { 1, 2, 3 } };
        var model = Model(3);

        var e = new KernelShapExplainer(model, Background.From(background)).Explain(new double[,] { { 1, 2, 3 } });

        var f = model.Evaluate(new double[,] { { 1, 2, 3 } });
        for (var o = 0; o < 2; o++)
        {
            Assert.Equal([0.0, 0.0, 0.0], e.Values(0, o).ToArray());
            Assert.Equal(f[0, o], e.BaseValue(0, o), 12);
        }
    }

    [Fact]
    public void Selection_is_skipped_when_every_coalition_is_evaluated_so_the_values_stay_exact()
    {
        var model = Model(6);
        var bg = Background.From(Grid(1, 6, 6));
        var rows = Grid(2, 4, 6);
        var exact = new ExactShapExplainer(model, bg).Explain(rows);

        // 62 = 2^6 - 2 coalitions: the whole game. TopFeatures with room for all six features and Auto with a full
        // budget both fit every feature; the default budget (2·6 + 2048) covers the game too.
        AssertSame(exact, new KernelShapExplainer(model, bg, new KernelShapOptions { Samples = 62, FeatureSelection = KernelFeatureSelection.TopFeatures, MaxFeatures = 6 }).Explain(rows), 1e-9);
        AssertSame(exact, new KernelShapExplainer(model, bg, new KernelShapOptions { Samples = 62, FeatureSelection = KernelFeatureSelection.Auto }).Explain(rows), 1e-9);
        AssertSame(exact, new KernelShapExplainer(model, bg).Explain(rows), 1e-9);
    }

    [Fact]
    public void Top_feature_selection_leaves_exactly_the_requested_number_of_features_non_zero()
    {
        // y = 6 x0 - 5 x3 + 0.01 (x1 + x2 + x4 + x5): two features carry the signal.
        var model = ModelFunction.FromRow(6, x => 6 * x[0] - 5 * x[3] + 0.01 * (x[1] + x[2] + x[4] + x[5]));
        var bg = Background.From(Grid(3, 8, 6));
        var rows = new double[,] { { 1.5, 1, -1, -1.5, 0.5, 1 } };

        var e = new KernelShapExplainer(model, bg, new KernelShapOptions { Samples = 30, FeatureSelection = KernelFeatureSelection.TopFeatures, MaxFeatures = 2 }).Explain(rows);

        Assert.Equal([0, 3], Enumerable.Range(0, 6).Where(j => e.Value(0, j) != 0));
        Assert.InRange(e.AdditivityGap(0), -1e-9, 1e-9);
    }
}
