using System.Globalization;
using Forge.Core;

namespace Forge.Tabular;

/// <summary>
/// How a tabular model is trained. The tree defaults are the recipe chosen on Adult's validation rows (docs/tabular.md
/// lists the candidates); the linear learner uses only <see cref="Seed"/>, <see cref="Threads"/> and <see cref="L2"/>.
/// </summary>
public sealed record TabularOptions
{
    /// <summary>What to predict; null infers it from the label (numbers with more than 20 distinct values: regression; two values: binary; else multiclass).</summary>
    public TabularTask? Task { get; init; }

    /// <summary>The learner (default LightGBM).</summary>
    public TabularLearner Learner { get; init; } = TabularLearner.LightGbm;

    /// <summary>Boosting rounds: trees per class (default 300).</summary>
    public int Trees { get; init; } = 300;

    /// <summary>Leaves per tree (default 15, chosen on Adult's validation rows: docs/tabular.md).</summary>
    public int Leaves { get; init; } = 15;

    /// <summary>Shrinkage of each tree (default 0.05).</summary>
    public double LearningRate { get; init; } = 0.05;

    /// <summary>The fewest training rows a leaf may hold (default 20).</summary>
    public int MinDataPerLeaf { get; init; } = 20;

    /// <summary>The share of features each tree may use, in (0, 1] (default 1).</summary>
    public double FeatureFraction { get; init; } = 1.0;

    /// <summary>L2 penalty of the linear learner (default 1, ML.NET's).</summary>
    public double L2 { get; init; } = 1.0;

    /// <summary>The seed of every random choice: the splits, the learner, the background sample (default 0).</summary>
    public int Seed { get; init; }

    /// <summary>The share of training rows held out to report validation metrics, in [0, 1) (default 0.1).</summary>
    public double ValidationFraction { get; init; } = 0.1;

    /// <summary>Learner threads; 0 takes every core. Trees are reproducible for a given thread count.</summary>
    public int Threads { get; init; }

    /// <summary>Every problem with the options, in library terms; empty when they are usable.</summary>
    public IReadOnlyList<string> Problems()
    {
        var problems = new List<string>();
        var inv = CultureInfo.InvariantCulture;
        if (!Enum.IsDefined(Learner)) problems.Add($"Learner {Learner} is not a learner");
        if (Task is { } t && !Enum.IsDefined(t)) problems.Add($"Task {t} is not a task");
        if (Trees < 1) problems.Add(string.Create(inv, $"Trees must be at least 1 (got {Trees})"));
        if (Leaves < 2) problems.Add(string.Create(inv, $"Leaves must be at least 2 (got {Leaves})"));
        if (!(LearningRate > 0 && LearningRate <= 1)) problems.Add(string.Create(inv, $"LearningRate must be in (0, 1] (got {LearningRate})"));
        if (MinDataPerLeaf < 1) problems.Add(string.Create(inv, $"MinDataPerLeaf must be at least 1 (got {MinDataPerLeaf})"));
        if (!(FeatureFraction > 0 && FeatureFraction <= 1)) problems.Add(string.Create(inv, $"FeatureFraction must be in (0, 1] (got {FeatureFraction})"));
        if (!(L2 >= 0) || double.IsInfinity(L2)) problems.Add(string.Create(inv, $"L2 must be a finite number of 0 or more (got {L2})"));
        if (!(ValidationFraction >= 0 && ValidationFraction < 1)) problems.Add(string.Create(inv, $"ValidationFraction must be in [0, 1) (got {ValidationFraction})"));
        if (Threads < 0) problems.Add(string.Create(inv, $"Threads must be 0 (every core) or more (got {Threads})"));
        return problems;
    }

    /// <summary>Throws one <see cref="UsageException"/> listing every problem.</summary>
    public void Validate()
    {
        var problems = Problems();
        if (problems.Count > 0) throw new UsageException("invalid tabular options: " + string.Join("; ", problems));
    }

    /// <summary>The thread count a learner gets: <see cref="Threads"/>, or every core for 0.</summary>
    public int EffectiveThreads => Threads > 0 ? Threads : Environment.ProcessorCount;

    /// <summary>
    /// Every option as text, for the manifest and the tracked run: generated from the record's properties so no option
    /// can be left out (the resolved task and thread count are recorded by the trainer).
    /// </summary>
    public Dictionary<string, string> ToDictionary()
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var p in typeof(TabularOptions).GetProperties().Where(p => p.GetMethod!.IsPublic && p.Name != nameof(EffectiveThreads)))
        {
            var value = p.GetValue(this);
            var name = char.ToLowerInvariant(p.Name[0]) + p.Name[1..];
            map[name] = value switch
            {
                null => "infer",
                double d => d.ToString("R", CultureInfo.InvariantCulture),
                IFormattable f => f.ToString(null, CultureInfo.InvariantCulture).ToLowerInvariant(),
                var other => other.ToString()!.ToLowerInvariant(),
            };
        }
        return map;
    }
}

/// <summary>How rows are split into training and test rows.</summary>
/// <param name="Method">Stratified, random or chronological.</param>
/// <param name="TestFraction">The share of rows held out for testing, in (0, 1); the shuffles take <see cref="TabularOptions.Seed"/>.</param>
public sealed record TabularSplit(SplitMethod Method, double TestFraction)
{
    /// <summary>The split in words, for the model card: "seeded stratified 80/20 split (seed 0) of adult.data: 26,049 training rows, 6,512 test rows".</summary>
    public string Describe(string source, int seed, int trainRows, int testRows)
    {
        var inv = CultureInfo.InvariantCulture;
        var test = (int)Math.Round(TestFraction * 100);
        var how = Method switch
        {
            SplitMethod.Stratified => string.Create(inv, $"seeded stratified {100 - test}/{test} split (seed {seed})"),
            SplitMethod.Random => string.Create(inv, $"seeded random {100 - test}/{test} split (seed {seed})"),
            _ => string.Create(inv, $"chronological {100 - test}/{test} split (the last {test}% of rows in file order are the test rows)"),
        };
        return string.Create(inv, $"{how} of {source}: {trainRows:N0} training rows, {testRows:N0} test rows");
    }

    /// <summary>
    /// Splits <paramref name="rows"/> row indexes (in file order) into kept and held-out parts of
    /// <paramref name="fraction"/>: stratified by <paramref name="classes"/> (a class index per row), shuffled, or the last rows.
    /// </summary>
    internal static (int[] Kept, int[] HeldOut) Apply(SplitMethod method, int rows, double fraction, int seed, int[]? classes, int classCount)
    {
        if (fraction <= 0) return (Enumerable.Range(0, rows).ToArray(), []);
        switch (method)
        {
            case SplitMethod.Stratified when classes is not null:
                return Forge.Data.DataSplits.Stratified(classes, classCount, fraction, seed);
            case SplitMethod.Chronological:
            {
                var held = (int)Math.Round(rows * fraction);
                return (Enumerable.Range(0, rows - held).ToArray(), Enumerable.Range(rows - held, held).ToArray());
            }
            default:
            {
                var order = Enumerable.Range(0, rows).ToArray();
                new Random(seed).Shuffle(order);
                var held = (int)Math.Round(rows * fraction);
                return ([.. order.Skip(held).Order()], [.. order.Take(held).Order()]);
            }
        }
    }
}
