namespace Forge.Data;

/// <summary>Seeded, stratified splits of labelled samples: hold-out sets and k folds that keep each class's share.</summary>
public static class DataSplits
{
    /// <summary>
    /// Splits sample indexes so that each class gives round(count × <paramref name="fraction"/>) samples to the held-out
    /// part; both parts are sorted. A fraction of 0 holds nothing out. The same seed always gives the same split.
    /// </summary>
    public static (int[] Train, int[] HeldOut) Stratified(IReadOnlyList<int> labels, int classes, double fraction, int seed)
    {
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(classes);
        if (!(fraction >= 0 && fraction < 1)) throw new ArgumentOutOfRangeException(nameof(fraction), fraction, "must be in [0, 1)");
        if (fraction <= 0) return (Enumerable.Range(0, labels.Count).ToArray(), []);
        var rng = new Random(seed);
        var train = new List<int>();
        var heldOut = new List<int>();
        for (var c = 0; c < classes; c++)
        {
            var members = Enumerable.Range(0, labels.Count).Where(i => labels[i] == c).ToArray();
            rng.Shuffle(members);
            var take = (int)Math.Round(members.Length * fraction);
            heldOut.AddRange(members.Take(take));
            train.AddRange(members.Skip(take));
        }
        train.Sort();
        heldOut.Sort();
        return (train.ToArray(), heldOut.ToArray());
    }

    /// <summary>
    /// Deals the indexes of each class, shuffled with <paramref name="seed"/>, round-robin into <paramref name="folds"/>
    /// folds, so every fold holds about 1/k of each class. Returns each fold's (sorted) indexes.
    /// </summary>
    public static int[][] StratifiedFolds(IReadOnlyList<int> labels, int classes, int folds, int seed)
    {
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(classes);
        ArgumentOutOfRangeException.ThrowIfLessThan(folds, 2);
        if (labels.Count < folds) throw new ArgumentException($"{labels.Count} samples cannot fill {folds} folds", nameof(labels));
        var rng = new Random(seed);
        var result = Enumerable.Range(0, folds).Select(_ => new List<int>()).ToArray();
        var next = 0;
        for (var c = 0; c < classes; c++)
        {
            var members = Enumerable.Range(0, labels.Count).Where(i => labels[i] == c).ToArray();
            rng.Shuffle(members);
            // Continuing the deal across classes keeps fold sizes within one of each other.
            foreach (var i in members) result[next++ % folds].Add(i);
        }
        return result.Select(f => f.Order().ToArray()).ToArray();
    }
}
