namespace Forge.Tuning.Tests;

/// <summary>
/// The surrogate-forest permutation importance on studies whose answer is known: a strong, a weak and an idle
/// parameter; a pure interaction that no main-effects statistic sees; determinism under the seed; and the edges.
/// </summary>
public sealed class ImportanceTests
{
    private static IReadOnlyList<FrozenTrial> Run(int trials, Func<Trial, double> objective, int seed = 7)
    {
        var study = Study.Create(new StudyOptions { Sampler = new RandomSampler(seed) });
        study.Optimize(objective, trials: trials);
        return study.Trials;
    }

    [Fact]
    public void A_strong_parameter_outranks_a_weak_one_and_an_idle_one_scores_near_zero()
    {
        var trials = Run(80, t =>
        {
            var strong = t.SuggestFloat("strong", 0, 1);
            var weak = t.SuggestFloat("weak", 0, 1);
            t.SuggestFloat("idle", 0, 1);
            return (10 * strong) + (2 * weak);
        });

        var importance = ParameterImportance.Evaluate(trials);

        Assert.Equal(["idle", "strong", "weak"], importance.Keys.Order(StringComparer.Ordinal));
        Assert.InRange(importance.Values.Sum(), 1 - 1e-12, 1 + 1e-12);
        // 10² against 2²: the strong parameter carries most of the variance, the weak one a visible share.
        Assert.InRange(importance["strong"], 0.8, 1.0);
        Assert.InRange(importance["weak"], 0.01, 0.2);
        Assert.InRange(importance["idle"], 0, 0.02);
    }

    [Fact]
    public void A_pure_interaction_is_seen_where_each_parameter_alone_explains_nothing()
    {
        // XOR of two halves: each parameter's own mean effect is zero, the pair decides everything.
        var trials = Run(120, t =>
        {
            var a = t.SuggestFloat("a", 0, 1) > 0.5;
            var b = t.SuggestFloat("b", 0, 1) > 0.5;
            t.SuggestFloat("c", 0, 1);
            return a ^ b ? 1 : 0;
        });

        var importance = ParameterImportance.Evaluate(trials);

        Assert.InRange(importance["a"], 0.3, 0.7);
        Assert.InRange(importance["b"], 0.3, 0.7);
        Assert.InRange(importance["c"], 0, 0.05);
    }

    [Fact]
    public void Log_and_categorical_parameters_are_scored_and_the_seed_makes_it_repeatable()
    {
        var trials = Run(60, t =>
        {
            var lr = t.SuggestFloat("lr", 1e-5, 1e-1, log: true);
            var act = t.SuggestCategorical("act", ["relu", "gelu", "tanh"]);
            // Linear in log10(lr): a log-scale effect, plus a categorical one.
            return Math.Log10(lr) + (act == "tanh" ? 3 : 0);
        });

        var first = ParameterImportance.Evaluate(trials, new ImportanceOptions { Seed = 3 });
        var again = ParameterImportance.Evaluate(trials, new ImportanceOptions { Seed = 3 });
        var other = ParameterImportance.Evaluate(trials, new ImportanceOptions { Seed = 4 });

        Assert.Equal(first["lr"], again["lr"]);
        Assert.Equal(first["act"], again["act"]);
        Assert.NotEqual(first["lr"], other["lr"]);
        Assert.InRange(first["lr"], 0.2, 0.8);
        Assert.InRange(first["act"], 0.2, 0.8);
    }

    [Fact]
    public void Too_few_trials_constant_parameters_and_failed_trials_are_left_out()
    {
        var three = Run(3, t => t.SuggestFloat("x", 0, 1));
        Assert.Empty(ParameterImportance.Evaluate(three));

        var study = Study.Create(new StudyOptions { Sampler = new RandomSampler(1) });
        study.Optimize(t =>
        {
            var x = t.SuggestFloat("x", 0, 1);
            t.SuggestInt("fixed", 5, 5);
            if (t.Number % 4 == 3) throw new InvalidOperationException("boom");
            return x;
        }, trials: 20);
        var importance = ParameterImportance.Evaluate(study.Trials);
        Assert.Equal(["x"], importance.Keys);
        Assert.Equal(1.0, importance["x"], 12);

        var constant = Run(10, t => { t.SuggestInt("only", 2, 2); return 1.0; });
        Assert.Empty(ParameterImportance.Evaluate(constant));
    }

    [Fact]
    public void A_value_that_no_parameter_explains_gives_all_zeros_not_a_division_by_zero()
    {
        var trials = Run(30, t => { t.SuggestFloat("x", 0, 1); return 4.0; });

        var importance = ParameterImportance.Evaluate(trials);

        Assert.Equal(0.0, importance["x"]);
    }

    [Fact]
    public void Bad_options_are_named_together()
    {
        var ex = Assert.Throws<Core.UsageException>(() => new ImportanceOptions { Trees = 0, MinLeaf = 0, MaxDepth = 0, Repeats = 0 }.Validate());
        foreach (var name in new[] { "Trees", "MinLeaf", "MaxDepth", "Repeats" }) Assert.Contains(name, ex.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentNullException>(() => ParameterImportance.Evaluate(null!));
    }

    [Fact]
    public void The_tree_splits_where_the_error_falls_most_and_predicts_leaf_means()
    {
        // Feature 0 separates {1,1,1} from {5,5,5} between 0.3 and 0.6; feature 1 is noise.
        double[,] x = { { 0.1, 9 }, { 0.2, 1 }, { 0.3, 5 }, { 0.6, 2 }, { 0.7, 8 }, { 0.9, 3 } };
        double[] y = [1, 1, 1, 5, 5, 5];
        int[] rows = [0, 1, 2, 3, 4, 5];

        var (feature, threshold) = RegressionTree.BestSplit(x, y, rows, [0, 1], minLeaf: 1);
        Assert.Equal(0, feature);
        Assert.Equal(0.45, threshold, 12);

        var tree = RegressionTree.Fit(x, y, rows, [0, 1], minLeaf: 1, maxDepth: 8);
        Assert.Equal(3, tree.NodeCount);
        Assert.Equal(1.0, tree.Predict([0.2, 100]));
        Assert.Equal(5.0, tree.Predict([0.451, -1]));
        Assert.Equal(1.0, tree.Predict([0.449, -1]));

        // A leaf may not go below minLeaf: with 4 per side required, no split of 6 rows exists.
        Assert.Equal(-1, RegressionTree.BestSplit(x, y, rows, [0, 1], minLeaf: 4).Feature);
        // Depth 0 is one leaf holding the mean.
        var stump = RegressionTree.Fit(x, y, rows, [0, 1], minLeaf: 1, maxDepth: 0);
        Assert.Equal(1, stump.NodeCount);
        Assert.Equal(3.0, stump.Predict([0.1, 0]));
        // Constant targets offer nothing to split on.
        Assert.Equal(-1, RegressionTree.BestSplit(x, [2, 2, 2, 2, 2, 2], rows, [0, 1], minLeaf: 1).Feature);
    }

    [Fact]
    public void The_smallest_valid_options_are_accepted_and_bad_ones_are_refused_by_evaluate_itself()
    {
        new ImportanceOptions { Trees = 1, MinLeaf = 1, MaxDepth = 1, Repeats = 1 }.Validate();
        var trials = Run(10, t => t.SuggestFloat("x", 0, 1));

        var ex = Assert.Throws<Core.UsageException>(() => ParameterImportance.Evaluate(trials, new ImportanceOptions { Trees = 0 }));
        Assert.StartsWith("importance options: Trees", ex.Message, StringComparison.Ordinal);
        Assert.Single(ParameterImportance.Evaluate(trials, new ImportanceOptions { Trees = 1, Repeats = 1 }));
    }

    [Fact]
    public void Four_trials_are_enough_and_a_parameter_missing_from_some_trials_is_left_out()
    {
        var study = Study.Create(new StudyOptions { Sampler = new RandomSampler(2) });
        study.Optimize(t =>
        {
            var x = t.SuggestFloat("x", 0, 1);
            // A conditional parameter: only the even trials have it.
            if (t.Number % 2 == 0) t.SuggestFloat("sometimes", 0, 1);
            return x;
        }, trials: 4);

        var importance = ParameterImportance.Evaluate(study.Trials);

        Assert.Equal(["x"], importance.Keys);
    }

    [Fact]
    public void Leaves_respect_their_minimum_size_depth_is_capped_and_ties_go_to_the_first_feature()
    {
        // Two identical columns: the split is equally good on both, and the first one listed takes it.
        double[,] x = { { 0.1, 0.1 }, { 0.2, 0.2 }, { 0.3, 0.3 }, { 0.6, 0.6 }, { 0.7, 0.7 }, { 0.9, 0.9 } };
        double[] y = [1, 1, 1, 5, 5, 5];
        int[] rows = [0, 1, 2, 3, 4, 5];

        var (feature, threshold) = RegressionTree.BestSplit(x, y, rows, [0, 1], minLeaf: 3);
        Assert.Equal(0, feature);
        Assert.Equal(1, RegressionTree.BestSplit(x, y, rows, [1, 0], minLeaf: 3).Feature);
        // Three rows per side is allowed with minLeaf 3, and the tree uses it.
        Assert.Equal(3, RegressionTree.Fit(x, y, rows, [0], minLeaf: 3, maxDepth: 8).NodeCount);
        // A value exactly at the threshold goes left.
        Assert.Equal(1.0, RegressionTree.Fit(x, y, rows, [0], minLeaf: 1, maxDepth: 8).Predict([threshold, 0]));

        // A staircase of four levels needs depth 2 (7 nodes); depth 1 stops at one split (3 nodes).
        double[,] stairs = { { 1 }, { 2 }, { 3 }, { 4 }, { 5 }, { 6 }, { 7 }, { 8 } };
        double[] levels = [0, 0, 10, 10, 20, 20, 30, 30];
        int[] all = [0, 1, 2, 3, 4, 5, 6, 7];
        Assert.Equal(3, RegressionTree.Fit(stairs, levels, all, [0], minLeaf: 1, maxDepth: 1).NodeCount);
        Assert.Equal(7, RegressionTree.Fit(stairs, levels, all, [0], minLeaf: 1, maxDepth: 2).NodeCount);
        var deep = RegressionTree.Fit(stairs, levels, all, [0], minLeaf: 1, maxDepth: 8);
        Assert.Equal(7, deep.NodeCount);
        Assert.Equal(20.0, deep.Predict([5.5]));
    }
}
