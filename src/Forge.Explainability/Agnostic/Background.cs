using Forge.Core;

namespace Forge.Explainability.Agnostic;

/// <summary>
/// The reference data a model-agnostic explainer replaces "missing" features with: rows and their weights. Summarise
/// a large training set with <see cref="KMeans"/> or <see cref="Sample"/>; cost grows linearly with the row count.
/// </summary>
public sealed class Background
{
    private readonly double[] _rows;
    private readonly double[] _weights;

    private Background(double[] rows, double[] weights, int featureCount)
    {
        _rows = rows;
        _weights = weights;
        FeatureCount = featureCount;
    }

    /// <summary>Number of background rows.</summary>
    public int Count => _weights.Length;

    /// <summary>Columns per row.</summary>
    public int FeatureCount { get; }

    /// <summary>Weights of the rows, summing to 1.</summary>
    public IReadOnlyList<double> Weights => _weights;

    internal ReadOnlySpan<double> RowData => _rows;

    internal double Weight(int i) => _weights[i];

    /// <summary>One background row.</summary>
    public double[] Row(int i) => _rows.AsSpan(i * FeatureCount, FeatureCount).ToArray();

    /// <summary>Every row with equal weight.</summary>
    public static Background From(double[,] rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        if (rows.GetLength(0) == 0) throw new UsageException("the background data has no rows; pass a sample of the training data");
        return new Background(Rows.AsSpan(rows).ToArray(), Enumerable.Repeat(1.0 / rows.GetLength(0), rows.GetLength(0)).ToArray(), rows.GetLength(1));
    }

    /// <summary>Rows with given (non-negative) weights, normalised to sum to 1.</summary>
    public static Background Weighted(double[,] rows, IReadOnlyList<double> weights)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(weights);
        if (rows.GetLength(0) == 0) throw new UsageException("the background data has no rows; pass a sample of the training data");
        if (weights.Count != rows.GetLength(0)) throw new ArgumentException($"{weights.Count} weights for {rows.GetLength(0)} rows", nameof(weights));
        var sum = weights.Sum();
        if (weights.Any(w => !(w >= 0) || double.IsInfinity(w)) || !(sum > 0))
            throw new ArgumentException("weights must be finite, non-negative and not all zero", nameof(weights));
        return new Background(Rows.AsSpan(rows).ToArray(), weights.Select(w => w / sum).ToArray(), rows.GetLength(1));
    }

    /// <summary><paramref name="count"/> rows drawn without replacement (all rows when there are fewer), equal weights.</summary>
    public static Background Sample(double[,] rows, int count, int seed = 0)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        var n = rows.GetLength(0);
        if (n <= count) return From(rows);
        var order = Enumerable.Range(0, n).ToArray();
        new Random(seed).Shuffle(order);
        var d = rows.GetLength(1);
        var picked = new double[count, d];
        for (var i = 0; i < count; i++)
        {
            for (var j = 0; j < d; j++) picked[i, j] = rows[order[i], j];
        }
        return From(picked);
    }

    /// <summary>
    /// <paramref name="k"/> k-means centres (k-means++ start, Lloyd iterations) weighted by cluster size. Each centre's
    /// value is moved to the nearest value seen in its column, so integer codes of categorical columns stay valid codes.
    /// Missing values are ignored in distances and means.
    /// </summary>
    public static Background KMeans(double[,] rows, int k, int seed = 0, int iterations = 100)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(iterations, 1);
        var n = rows.GetLength(0);
        var d = rows.GetLength(1);
        if (n == 0) throw new UsageException("the background data has no rows; pass a sample of the training data");
        if (n <= k) return From(rows);
        var data = Rows.AsSpan(rows).ToArray();
        var rng = new Random(seed);
        var centres = new double[k * d];
        var nearest = new double[n];
        Array.Fill(nearest, double.PositiveInfinity);
        // k-means++: the first centre at random, each next one with probability proportional to the squared distance.
        var first = rng.Next(n);
        Array.Copy(data, first * d, centres, 0, d);
        for (var c = 1; c < k; c++)
        {
            var total = 0.0;
            for (var i = 0; i < n; i++)
            {
                nearest[i] = Math.Min(nearest[i], Distance(data, i * d, centres, (c - 1) * d, d));
                total += nearest[i];
            }
            var pick = 0;
            if (total > 0)
            {
                var u = rng.NextDouble() * total;
                for (pick = 0; pick < n - 1 && (u -= nearest[pick]) > 0; pick++) { }
            }
            else
            {
                pick = rng.Next(n);
            }
            Array.Copy(data, pick * d, centres, c * d, d);
        }
        var assignment = new int[n];
        var sums = new double[k * d];
        var counts = new double[k * d];
        var sizes = new int[k];
        for (var iteration = 0; iteration < iterations; iteration++)
        {
            var changed = false;
            for (var i = 0; i < n; i++)
            {
                var best = 0;
                var bestDistance = double.PositiveInfinity;
                for (var c = 0; c < k; c++)
                {
                    var dist = Distance(data, i * d, centres, c * d, d);
                    if (dist < bestDistance)
                    {
                        bestDistance = dist;
                        best = c;
                    }
                }
                if (assignment[i] != best || iteration == 0) changed = true;
                assignment[i] = best;
            }
            if (!changed) break;
            Array.Clear(sums);
            Array.Clear(counts);
            Array.Clear(sizes);
            for (var i = 0; i < n; i++)
            {
                var c = assignment[i];
                sizes[c]++;
                for (var j = 0; j < d; j++)
                {
                    var v = data[i * d + j];
                    if (double.IsNaN(v)) continue;
                    sums[c * d + j] += v;
                    counts[c * d + j]++;
                }
            }
            for (var c = 0; c < k; c++)
            {
                for (var j = 0; j < d; j++)
                {
                    if (counts[c * d + j] > 0) centres[c * d + j] = sums[c * d + j] / counts[c * d + j];
                }
            }
        }
        Array.Clear(sizes);
        foreach (var c in assignment) sizes[c]++;
        // Snap every centre value to the closest value observed in its column.
        for (var j = 0; j < d; j++)
        {
            var column = new List<double>();
            for (var i = 0; i < n; i++)
            {
                if (!double.IsNaN(data[i * d + j])) column.Add(data[i * d + j]);
            }
            if (column.Count == 0) continue;
            var sorted = column.Distinct().Order().ToArray();
            for (var c = 0; c < k; c++)
            {
                var v = centres[c * d + j];
                if (double.IsNaN(v)) continue;
                var at = Array.BinarySearch(sorted, v);
                if (at >= 0) continue;
                at = ~at;
                centres[c * d + j] = at == 0 ? sorted[0]
                    : at == sorted.Length ? sorted[^1]
                    : v - sorted[at - 1] <= sorted[at] - v ? sorted[at - 1] : sorted[at];
            }
        }
        var kept = Enumerable.Range(0, k).Where(c => sizes[c] > 0).ToArray();
        var result = new double[kept.Length * d];
        for (var i = 0; i < kept.Length; i++) Array.Copy(centres, kept[i] * d, result, i * d, d);
        return new Background(result, kept.Select(c => sizes[c] / (double)n).ToArray(), d);
    }

    private static double Distance(double[] a, int ai, double[] b, int bi, int d)
    {
        var sum = 0.0;
        for (var j = 0; j < d; j++)
        {
            var diff = a[ai + j] - b[bi + j];
            if (!double.IsNaN(diff)) sum += diff * diff;
        }
        return sum;
    }
}
