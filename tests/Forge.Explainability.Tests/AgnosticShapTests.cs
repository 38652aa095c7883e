using Forge.Core;
using Forge.Explainability.Agnostic;
using Forge.Explainability.Trees;

namespace Forge.Explainability.Tests;

public sealed class AgnosticShapTests
{
    private static readonly double[] Beta = [2, -1, 0.5, 0, 3, -0.25];

    private static IModelFunction Linear() =>
        ModelFunction.FromBatch(6, 1, (rows, outputs) =>
        {
            for (var i = 0; i < outputs.Length; i++)
            {
                var sum = 1.0;
                for (var j = 0; j < 6; j++) sum += Beta[j] * rows[i * 6 + j];
                outputs[i] = sum;
            }
        });

    /// <summary>Non-linear with interactions and two outputs.</summary>
    private static IModelFunction Nonlinear(int d) =>
        ModelFunction.FromBatch(d, 2, (rows, outputs) =>
        {
            var n = outputs.Length / 2;
            for (var i = 0; i < n; i++)
            {
                var x = rows.Slice(i * d, d);
                var a = Math.Sin(x[0]) + x[1] * x[2] + 0.5 * x[3] * x[3];
                for (var j = 4; j < d; j++) a += 0.1 * j * x[j] * (j % 2 == 0 ? x[j - 1] : 1);
                outputs[i * 2] = a;
                outputs[i * 2 + 1] = Math.Tanh(a) + x[0] * x[d - 1];
            }
        });

    private static double[,] Random(int seed, int n, int d)
    {
        var rng = new Random(seed);
        var m = new double[n, d];
        for (var i = 0; i < n; i++)
        {
            for (var j = 0; j < d; j++) m[i, j] = Math.Round(rng.NextDouble() * 4 - 2, 3);
        }
        return m;
    }

    [Fact]
    public void On_a_linear_model_every_method_gives_beta_times_x_minus_the_background_mean()
    {
        var background = Random(1, 30, 6);
        var rows = Random(2, 8, 6);
        var bg = Background.From(background);
        var mean = new double[6];
        for (var j = 0; j < 6; j++)
        {
            for (var b = 0; b < 30; b++) mean[j] += background[b, j] / 30;
        }
        IExplainer<double[,]>[] explainers =
        [
            new ExactShapExplainer(Linear(), bg),
            new KernelShapExplainer(Linear(), bg, new KernelShapOptions { Samples = 64 }),
            new KernelShapExplainer(Linear(), bg, new KernelShapOptions { Samples = 20, Seed = 3 }),
            new PermutationShapExplainer(Linear(), bg, new PermutationShapOptions { Permutations = 1 }),
        ];
        foreach (var explainer in explainers)
        {
            var e = explainer.Explain(rows);
            for (var r = 0; r < 8; r++)
            {
                for (var j = 0; j < 6; j++)
                {
                    var expected = Beta[j] * (rows[r, j] - mean[j]);
                    Assert.True(Math.Abs(e.Value(r, j) - expected) <= 1e-9, $"{explainer.Method}: row {r} feature {j}: {e.Value(r, j)} vs {expected}");
                }
                Assert.InRange(e.AdditivityGap(r), -1e-9, 1e-9);
            }
        }
    }

    [Fact]
    public void Exact_shap_equals_brute_force_interventional_Shapley_values()
    {
        var model = Nonlinear(5);
        var background = Random(3, 7, 5);
        var rows = Random(4, 4, 5);

        var e = new ExactShapExplainer(model, Background.From(background)).Explain(rows);

        for (var r = 0; r < 4; r++)
        {
            // v(S) by definition: average over background rows of f with S taken from the row.
            var v = new double[32 * 2];
            for (var s = 0; s < 32; s++)
            {
                for (var b = 0; b < 7; b++)
                {
                    var z = new double[5];
                    for (var j = 0; j < 5; j++) z[j] = (s >> j & 1) != 0 ? rows[r, j] : background[b, j];
                    var y = model.Evaluate(To2D(z));
                    v[s * 2] += y[0, 0] / 7;
                    v[s * 2 + 1] += y[0, 1] / 7;
                }
            }
            var phi = BruteForce.Shapley(v, 5, 2);
            for (var o = 0; o < 2; o++)
            {
                for (var j = 0; j < 5; j++) Assert.InRange(e.Value(r, j, o) - phi[o * 5 + j], -1e-12, 1e-12);
                Assert.InRange(e.BaseValue(r, o) - v[o], -1e-12, 1e-12);
            }
        }
    }

    [Fact]
    public void Kernel_shap_with_the_full_coalition_budget_equals_exact_shap_on_six_features()
    {
        var model = Nonlinear(6);
        var bg = Background.From(Random(5, 20, 6));
        var rows = Random(6, 10, 6);

        var exact = new ExactShapExplainer(model, bg).Explain(rows);
        var kernel = new KernelShapExplainer(model, bg, new KernelShapOptions { Samples = 62 }).Explain(rows);

        for (var r = 0; r < 10; r++)
        {
            for (var o = 0; o < 2; o++)
            {
                for (var j = 0; j < 6; j++)
                {
                    var err = kernel.Value(r, j, o) - exact.Value(r, j, o);
                    Assert.True(Math.Abs(err) <= 1e-6, $"row {r} output {o} feature {j}: kernel {kernel.Value(r, j, o)} vs exact {exact.Value(r, j, o)}");
                }
            }
        }
    }

    [Fact]
    public void Kernel_shap_with_2048_samples_on_twelve_features_is_within_a_hundredth_of_exact()
    {
        var model = Nonlinear(12);
        var bg = Background.From(Random(7, 10, 12));
        var rows = Random(8, 5, 12);

        var exact = new ExactShapExplainer(model, bg).Explain(rows);
        var kernel = new KernelShapExplainer(model, bg, new KernelShapOptions { Samples = 2048, Seed = 1 }).Explain(rows);

        for (var r = 0; r < 5; r++)
        {
            for (var o = 0; o < 2; o++)
            {
                for (var j = 0; j < 12; j++)
                {
                    var err = kernel.Value(r, j, o) - exact.Value(r, j, o);
                    Assert.True(Math.Abs(err) <= 1e-2, $"row {r} output {o} feature {j}: kernel {kernel.Value(r, j, o)} vs exact {exact.Value(r, j, o)}");
                }
                Assert.InRange(kernel.AdditivityGap(r, o), -1e-9, 1e-9);
            }
        }
    }

    [Fact]
    public void Sampled_kernel_and_permutation_shap_stay_additive_for_every_row()
    {
        var model = Nonlinear(9);
        var bg = Background.KMeans(Random(9, 200, 9), 15, seed: 1);
        var rows = Random(10, 20, 9);
        IExplainer<double[,]>[] explainers =
        [
            new KernelShapExplainer(model, bg, new KernelShapOptions { Samples = 100 }),
            new PermutationShapExplainer(model, bg, new PermutationShapOptions { Permutations = 3 }),
        ];
        foreach (var explainer in explainers)
        {
            var e = explainer.Explain(rows);
            for (var r = 0; r < 20; r++)
            {
                for (var o = 0; o < 2; o++)
                    Assert.True(Math.Abs(e.AdditivityGap(r, o)) <= 1e-9 * Math.Max(1, Math.Abs(e.Prediction(r, o))), $"{explainer.Method} row {r} output {o}: gap {e.AdditivityGap(r, o)}");
            }
        }
    }

    [Fact]
    public void Permutation_shap_converges_to_exact_with_more_permutations()
    {
        // Antithetic pairs are exact for games with at most pairwise interactions, so the model needs three-way ones.
        var model = ModelFunction.FromRow(7, x => x[0] * x[1] * x[2] + Math.Sin(x[3] * x[4] * x[5] * x[6]) + x[1] * x[3] * x[5]);
        var bg = Background.From(Random(11, 10, 7));
        var rows = Random(12, 3, 7);
        var exact = new ExactShapExplainer(model, bg).Explain(rows);

        double Error(int permutations)
        {
            var e = new PermutationShapExplainer(model, bg, new PermutationShapOptions { Permutations = permutations, Seed = 2 }).Explain(rows);
            var max = 0.0;
            for (var r = 0; r < 3; r++)
            {
                for (var j = 0; j < 7; j++) max = Math.Max(max, Math.Abs(e.Value(r, j) - exact.Value(r, j)));
            }
            return max;
        }

        var rough = Error(2);
        var fine = Error(400);
        Assert.True(fine < rough, $"400 permutations ({fine}) should beat 2 ({rough})");
        Assert.True(fine < 0.05, $"400 antithetic permutations are {fine} from exact ({rough} with 2)");
    }

    [Fact]
    public void Features_equal_to_every_background_row_get_zero_and_the_rest_stay_exact()
    {
        var model = Nonlinear(6);
        var background = Random(13, 5, 6);
        for (var b = 0; b < 5; b++) background[b, 2] = 0.75;
        var rows = Random(14, 3, 6);
        for (var r = 0; r < 3; r++) rows[r, 2] = 0.75;
        var bg = Background.From(background);

        var kernel = new KernelShapExplainer(model, bg, new KernelShapOptions { Samples = 1000 }).Explain(rows);
        var exact = new ExactShapExplainer(model, bg).Explain(rows);

        for (var r = 0; r < 3; r++)
        {
            Assert.Equal(0.0, kernel.Value(r, 2));
            for (var j = 0; j < 6; j++) Assert.InRange(kernel.Value(r, j) - exact.Value(r, j), -1e-9, 1e-9);
        }
    }

    [Fact]
    public void L1_selection_keeps_the_requested_number_of_features_and_stays_additive()
    {
        // Only x0 and x4 matter (large coefficients); 8 features, a small budget.
        var model = ModelFunction.FromBatch(8, 1, (rows, outputs) =>
        {
            for (var i = 0; i < outputs.Length; i++) outputs[i] = 5 * rows[i * 8] - 4 * rows[i * 8 + 4] + 0.01 * rows[i * 8 + 1];
        });
        var bg = Background.From(Random(15, 10, 8));
        var rows = Random(16, 4, 8);

        var top = new KernelShapExplainer(model, bg, new KernelShapOptions { Samples = 40, FeatureSelection = KernelFeatureSelection.TopFeatures, MaxFeatures = 2 }).Explain(rows);
        var auto = new KernelShapExplainer(model, bg, new KernelShapOptions { Samples = 40, FeatureSelection = KernelFeatureSelection.Auto }).Explain(rows);

        for (var r = 0; r < 4; r++)
        {
            var nonZero = Enumerable.Range(0, 8).Where(j => top.Value(r, j) != 0).ToArray();
            Assert.Equal([0, 4], nonZero);
            Assert.InRange(top.AdditivityGap(r), -1e-9, 1e-9);
            Assert.InRange(auto.AdditivityGap(r), -1e-9, 1e-9);
            Assert.Contains(0, Enumerable.Range(0, 8).Where(j => auto.Value(r, j) != 0));
            Assert.Contains(4, Enumerable.Range(0, 8).Where(j => auto.Value(r, j) != 0));
        }
    }

    [Fact]
    public void The_same_seed_gives_the_same_values_whatever_the_threading()
    {
        var model = Nonlinear(10);
        var bg = Background.From(Random(17, 10, 10));
        var rows = Random(18, 12, 10);
        var one = new KernelShapExplainer(model, bg, new KernelShapOptions { Samples = 300, Seed = 4, MaxDegreeOfParallelism = 1 }).Explain(rows);
        var many = new KernelShapExplainer(model, bg, new KernelShapOptions { Samples = 300, Seed = 4, MaxDegreeOfParallelism = 3 }).Explain(rows);
        var other = new KernelShapExplainer(model, bg, new KernelShapOptions { Samples = 300, Seed = 5 }).Explain(rows);
        var differs = false;
        for (var r = 0; r < 12; r++)
        {
            for (var j = 0; j < 10; j++)
            {
                Assert.Equal(one.Value(r, j), many.Value(r, j));
                differs |= one.Value(r, j) != other.Value(r, j);
            }
        }
        Assert.True(differs, "another seed should sample other coalitions");
    }

    [Fact]
    public void Exact_shap_refuses_more_than_fifteen_features_and_names_the_alternatives()
    {
        var model = ModelFunction.FromRow(20, x => x.Sum());
        var explainer = new ExactShapExplainer(model, Background.From(new double[2, 20]));

        var e = Assert.Throws<UsageException>(() => explainer.Explain(new double[1, 20]));

        Assert.Equal("exact SHAP enumerates 2^d coalitions; 20 features is too many (max 15); use --method kernel or permutation (KernelShapExplainer, PermutationShapExplainer), or tree for tree models", e.Message);
    }

    [Fact]
    public void Wrong_column_counts_are_refused_naming_both_counts()
    {
        var model = Linear();
        var explainer = new KernelShapExplainer(model, Background.From(new double[3, 6]), new KernelShapOptions { FeatureNames = ["a", "b", "c", "d", "e", "f"] });

        var rows = Assert.Throws<ForgeException>(() => explainer.Explain(new double[2, 5]));
        Assert.Equal("rows have 5 columns but the model takes 6 features (a, b, c, d, e, f); pass the columns the model was trained on, in the same order", rows.Message);

        var background = Assert.Throws<ForgeException>(() => new ExactShapExplainer(model, Background.From(new double[3, 7])));
        Assert.Contains("background data has 7 columns but the model takes 6", background.Message, StringComparison.Ordinal);

        var tree = new TreeShapExplainer(RandomTrees.Ensemble(1, 4, 2, 2));
        Assert.Contains("rows have 3 columns but the model takes 4 features (f0, f1, f2, f3)", Assert.Throws<ForgeException>(() => tree.Explain(new double[1, 3])).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Invalid_options_are_reported_all_at_once()
    {
        var bg = Background.From(new double[2, 6]);
        var kernel = Assert.Throws<UsageException>(() => new KernelShapExplainer(Linear(), bg, new KernelShapOptions { Samples = 1, MaxDegreeOfParallelism = -1, FeatureSelection = KernelFeatureSelection.TopFeatures, MaxFeatures = 0 }));
        Assert.Contains("Samples must be at least 2", kernel.Message, StringComparison.Ordinal);
        Assert.Contains("MaxFeatures must be at least 1", kernel.Message, StringComparison.Ordinal);
        Assert.Contains("MaxDegreeOfParallelism", kernel.Message, StringComparison.Ordinal);

        var permutation = Assert.Throws<UsageException>(() => new PermutationShapExplainer(Linear(), bg, new PermutationShapOptions { Permutations = 0, MaxDegreeOfParallelism = -2 }));
        Assert.Contains("Permutations must be at least 1", permutation.Message, StringComparison.Ordinal);
        Assert.Contains("MaxDegreeOfParallelism", permutation.Message, StringComparison.Ordinal);

        Assert.Throws<UsageException>(() => new ExactShapExplainer(Linear(), bg, new ExactShapOptions { FeatureNames = ["a"] }));
        Assert.Throws<UsageException>(() => new ExactShapExplainer(Linear(), bg, new ExactShapOptions { MaxDegreeOfParallelism = -1 }));
        Assert.Throws<UsageException>(() => new TreeShapExplainer(RandomTrees.Ensemble(1, 3, 1, 2), new TreeShapOptions { MaxDegreeOfParallelism = -1 }));
    }

    [Fact]
    public void Base_values_are_the_weighted_mean_output_over_the_background()
    {
        var background = new double[,] { { 1, 0, 0, 0, 0, 0 }, { 3, 0, 0, 0, 0, 0 } };
        var bg = Background.Weighted(background, [1, 3]);

        var explainer = new ExactShapExplainer(Linear(), bg);

        // f = 1 + 2 x0: 3 and 7, weighted 1:3.
        Assert.Equal(0.25 * 3 + 0.75 * 7, explainer.ExpectedValue[0], 12);
        Assert.Equal(0.25 * 3 + 0.75 * 7, explainer.Explain(new double[1, 6]).BaseValue(0), 12);
    }

    private static double[,] To2D(double[] row)
    {
        var m = new double[1, row.Length];
        for (var j = 0; j < row.Length; j++) m[0, j] = row[j];
        return m;
    }
}
