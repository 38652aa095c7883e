using Forge.Core;

namespace Forge.Tuning.Tests;

/// <summary>The grid sampler's points, its refusals and how it treats retries and enqueued trials.</summary>
public sealed class GridSamplerTests
{
    private static GridSampler Grid(int? seed = null) => new(new Dictionary<string, IReadOnlyList<object?>>
    {
        ["b"] = [10, 20, 30],
        ["a"] = ["x", "y"],
    }, seed);

    [Fact]
    public void Points_vary_the_last_parameter_by_name_fastest()
    {
        var grid = Grid();
        Assert.Equal(6, grid.Size);
        var points = Enumerable.Range(0, 6).Select(i => $"{grid.Point(i)["a"]}{grid.Point(i)["b"]}").ToList();
        Assert.Equal(["x10", "x20", "x30", "y10", "y20", "y30"], points);
        Assert.Throws<ArgumentOutOfRangeException>(() => grid.Point(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => grid.Point(6));
        Assert.Equal(2, grid.Point(5).Count);
    }

    [Fact]
    public void Without_a_seed_trials_take_points_in_order_and_with_one_in_a_fixed_shuffle()
    {
        static List<string> Visit(GridSampler grid)
        {
            var study = Study.Create(new StudyOptions { Sampler = grid });
            study.Optimize(t => t.SuggestInt("b", 0, 100) + (t.SuggestCategorical("a", "x", "y") == "x" ? 0 : 1), trials: 10);
            return study.Trials.Select(t => $"{t.Params["a"]}{t.Params["b"]}").ToList();
        }
        Assert.Equal(["x10", "x20", "x30", "y10", "y20", "y30"], Visit(Grid()));
        var shuffled = Visit(Grid(seed: 3));
        Assert.Equal(shuffled, Visit(Grid(seed: 3)));
        Assert.NotEqual(["x10", "x20", "x30", "y10", "y20", "y30"], shuffled);
        Assert.Equal(6, shuffled.Distinct().Count());
    }

    [Fact]
    public void Construction_problems_are_listed_together()
    {
        Assert.Equal("grid sampler: the grid has no parameter", Assert.Throws<UsageException>(() => new GridSampler(new Dictionary<string, IReadOnlyList<object?>>())).Message);
        Assert.Equal("grid sampler: parameter 'a' lists no value; parameter 'c' lists no value",
            Assert.Throws<UsageException>(() => new GridSampler(new Dictionary<string, IReadOnlyList<object?>> { ["a"] = [], ["b"] = [1], ["c"] = null! })).Message);
        var huge = Enumerable.Range(0, 10).Select(i => (object?)i).ToList();
        var tooBig = new Dictionary<string, IReadOnlyList<object?>>();
        for (var p = 0; p < 7; p++) tooBig[$"p{p}"] = p == 6 ? [.. huge, 10] : huge;
        Assert.Equal("grid sampler: the grid has more than 10,000,000 points; use a random or TPE sampler", Assert.Throws<UsageException>(() => new GridSampler(tooBig)).Message);
        tooBig["p6"] = huge;
        Assert.Equal(10_000_000, new GridSampler(tooBig).Size);
    }

    [Fact]
    public void A_search_space_grid_lists_every_value_and_names_what_cannot_be_gridded()
    {
        var grid = GridSampler.FromSearchSpace(new Dictionary<string, Distribution>
        {
            ["i"] = new IntDistribution(-2, 5, step: 3),
            ["f"] = new FloatDistribution(0.5, 1.5, step: 0.25),
        });
        Assert.Equal(3 * 5, grid.Size);
        Assert.Equal([0.5, 0.75, 1.0, 1.25, 1.5], Enumerable.Range(0, 5).Select(k => (double)grid.Point(k * 3)["f"]!));
        Assert.Equal([-2L, 1L, 4L], Enumerable.Range(0, 3).Select(k => (long)grid.Point(k)["i"]!));
        var error = Assert.Throws<UsageException>(() => GridSampler.FromSearchSpace(new Dictionary<string, Distribution>
        {
            ["lr"] = new FloatDistribution(1e-3, 1, log: true),
            ["n"] = new IntDistribution(0, 10_000_000),
            ["fine"] = new FloatDistribution(0, 1, step: 1e-8),
        }));
        Assert.Equal("grid sampler: 'lr' is a continuous float; give it a step (or list its values) to search it on a grid; 'n' has too many values for a grid; " +
            "'fine' is a continuous float; give it a step (or list its values) to search it on a grid", error.Message);
    }

    [Fact]
    public void Only_grid_claims_count_towards_exhaustion()
    {
        var grid = Grid();
        Assert.False(grid.IsExhausted(() => new HashSet<string> { "grid:0", "grid:1", "grid:2", "grid:3", "grid:4", "other:5", "other:6" }));
        Assert.True(grid.IsExhausted(() => new HashSet<string> { "grid:0", "grid:1", "grid:2", "grid:3", "grid:4", "grid:5" }));
    }

    [Fact]
    public void Sampling_names_the_unknown_parameter_and_a_trial_without_a_point()
    {
        var grid = Grid();
        var study = new StudySnapshot("s", StudyDirection.Minimize, []);
        var trial = Trials.Make(4, TrialState.Running);
        Assert.Equal("parameter 'bb' is not in the grid; did you mean 'b'?", Assert.Throws<UsageException>(() => grid.SampleIndependent(study, trial, "bb", new IntDistribution(0, 9))).Message);
        Assert.Equal("parameter 'zzzzzz' is not in the grid (grid: a, b)", Assert.Throws<UsageException>(() => grid.SampleIndependent(study, trial, "zzzzzz", new IntDistribution(0, 9))).Message);
        Assert.Equal("trial 4 holds no grid point; was it started by this study?", Assert.Throws<ForgeException>(() => grid.SampleIndependent(study, trial, "b", new IntDistribution(0, 9))).Message);
        var placed = new FrozenTrial(1, 5, TrialState.Running, null, new Dictionary<string, Distribution>(), new Dictionary<string, double>(),
            systemAttributes: new Dictionary<string, string> { [GridSampler.GridIdKey] = "4" });
        Assert.Equal(20.0, grid.SampleIndependent(study, placed, "b", new IntDistribution(0, 100)));
        Assert.Equal(1.0, grid.SampleIndependent(study, placed, "a", new CategoricalDistribution(["x", "y"])));
        Assert.Equal("grid value 20 of 'b' is not in the suggested range {\"type\":\"int\",\"low\":0,\"high\":9}",
            Assert.Throws<UsageException>(() => grid.SampleIndependent(study, placed, "b", new IntDistribution(0, 9))).Message);
        Assert.Empty(grid.InferRelativeSearchSpace(study, placed));
        Assert.Empty(grid.SampleRelative(study, placed, new Dictionary<string, Distribution> { ["b"] = new IntDistribution(0, 100) }));
    }

    [Fact]
    public void An_enqueued_trial_naming_only_some_grid_parameters_still_claims_a_point()
    {
        var grid = Grid();
        var study = Study.Create(new StudyOptions { Sampler = grid });
        study.EnqueueTrial(new Dictionary<string, object?> { ["a"] = "y" });
        study.EnqueueTrial(new Dictionary<string, object?> { ["a"] = "y", ["b"] = 99 });
        study.Optimize(t => t.SuggestInt("b", 0, 100) + (t.SuggestCategorical("a", "x", "y") == "x" ? 0 : 1), trials: 2);
        var trials = study.Trials;
        Assert.Equal("y", trials[0].Params["a"]);
        Assert.Equal(10, trials[0].Params["b"]);
        Assert.Equal("0", trials[0].SystemAttributes[GridSampler.GridIdKey]);
        Assert.Equal(99, trials[1].Params["b"]);
        Assert.False(trials[1].SystemAttributes.ContainsKey(GridSampler.GridIdKey));
        Assert.Equal(["grid:0"], study.Storage.GetClaims(study.Id));
    }
}
