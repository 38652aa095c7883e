using Forge.Core;
using Forge.Explainability.Agnostic;
using Forge.Explainability.Importance;
using Forge.Explainability.Lime;
using Forge.Explainability.Trees;

namespace Forge.Explainability.Tests;

/// <summary>
/// The XGBoost regression golden model was trained on y = 2·x0 + x1² + noise with four pure-noise columns: every
/// method must rank x0 and x1 as the two most important features globally.
/// </summary>
public sealed class SanityTests
{
    private static TreeEnsemble Model() => TreeModels.FromXGBoostJson(Golden.PathOf("xgb_regression.model.json"));

    private static double[,] Rows(int seed, int n)
    {
        var rng = new Random(seed);
        var rows = new double[n, 6];
        for (var i = 0; i < n; i++)
        {
            for (var j = 0; j < 6; j++) rows[i, j] = rng.NextDouble() * 4 - 2;
        }
        return rows;
    }

    [Fact]
    public void Every_method_ranks_x0_and_x1_as_the_top_two_features()
    {
        var model = Model();
        var rows = Rows(1, 60);
        var background = Background.KMeans(Rows(2, 400), 20, seed: 3);
        var explainers = new (string Name, IExplainer<double[,]> Explainer)[]
        {
            ("tree", new TreeShapExplainer(model)),
            ("exact", new ExactShapExplainer(model, background)),
            ("kernel", new KernelShapExplainer(model, background, new KernelShapOptions { Samples = 200 })),
            ("permutation", new PermutationShapExplainer(model, background, new PermutationShapOptions { Permutations = 3 })),
            ("lime", new LimeTabularExplainer(model, Rows(4, 400), new LimeTabularOptions { Samples = 500 })),
        };
        foreach (var (name, explainer) in explainers)
        {
            var ranking = explainer.Explain(rows).RankFeatures();
            Assert.True(ranking.Take(2).Order().SequenceEqual([0, 1]), $"{name} ranks {string.Join(", ", ranking)}");
        }

        var targets = Enumerable.Range(0, 60).Select(i => 2 * rows[i, 0] + rows[i, 1] * rows[i, 1]).ToArray();
        var importance = PermutationImportance.Compute(model, rows, targets, new PermutationImportanceOptions { Repeats = 3 });
        Assert.Equal([0, 1], importance.Ranking().Take(2).Order());
    }
}
