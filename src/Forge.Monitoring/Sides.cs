namespace Forge.Monitoring;

/// <summary>
/// One side (reference or current) of a numeric comparison: every value when they are at hand, else the counts on
/// the reference's histogram edges; plus the moments and, while few, the distinct values.
/// </summary>
internal sealed class NumericSide
{
    internal long Count { get; init; }

    internal double Min { get; init; }

    internal double Max { get; init; }

    internal double PopulationStd { get; init; }

    /// <summary>Every present value, ascending; null when only the profile is known.</summary>
    internal double[]? Sorted { get; init; }

    internal double[]? Edges { get; init; }

    internal long[]? Counts { get; init; }

    /// <summary>Distinct values with counts, when at most the profile's limit; null when there are more.</summary>
    internal SortedDictionary<double, long>? Distinct { get; init; }

    internal bool Exact => Sorted is not null;

    internal static NumericSide FromValues(ReadOnlySpan<double> values, int distinctLimit)
    {
        var sorted = PresentSorted(values);
        SortedDictionary<double, long>? distinct = [];
        for (var i = 0; i < sorted.Length;)
        {
            var j = i;
            while (j < sorted.Length && sorted[j] == sorted[i]) j++;
            distinct[sorted[i]] = j - i;
            if (distinct.Count > distinctLimit)
            {
                distinct = null;
                break;
            }
            i = j;
        }
        return new NumericSide
        {
            Count = sorted.Length,
            Min = sorted.Length > 0 ? sorted[0] : double.NaN,
            Max = sorted.Length > 0 ? sorted[^1] : double.NaN,
            PopulationStd = sorted.Length > 0 ? DriftStatistics.PopulationStd(sorted) : 0,
            Sorted = sorted,
            Distinct = distinct,
        };
    }

    /// <summary>The values that are not NaN, ascending, in one array (wide data would otherwise churn the large-object heap).</summary>
    internal static double[] PresentSorted(ReadOnlySpan<double> values)
    {
        var present = 0;
        foreach (var x in values)
        {
            if (!double.IsNaN(x)) present++;
        }
        var sorted = new double[present];
        var i = 0;
        foreach (var x in values)
        {
            if (!double.IsNaN(x)) sorted[i++] = x;
        }
        Array.Sort(sorted);
        return sorted;
    }

    internal static NumericSide FromProfile(NumericProfile p, long count) => new()
    {
        Count = count,
        Min = p.Min,
        Max = p.Max,
        PopulationStd = count > 0 ? Math.Sqrt(p.SumSquaredDeviations / count) : 0,
        Sorted = p.Values,
        Edges = [.. p.Histogram.Edges],
        Counts = [.. p.Histogram.Counts],
        Distinct = p.DistinctValues is null ? null : new SortedDictionary<double, long>(p.DistinctValues.ToDictionary(v => v.Value, v => v.Count)),
    };

    /// <summary>Counts per bin on <paramref name="edges"/>: the stored histogram if it has these edges, else counted from the values.</summary>
    internal long[] CountsOn(double[] edges, string column)
    {
        if (Counts is not null && Edges is not null && Edges.AsSpan().SequenceEqual(edges)) return Counts;
        if (Sorted is null)
        {
            throw new DriftException(
                $"column '{column}': the current profile was built on other histogram edges than the reference's; build windows with ProfileBuilder.ForWindow(reference)");
        }
        var counts = new long[edges.Length + 1];
        var bin = 0;
        foreach (var x in Sorted)
        {
            while (bin < edges.Length && edges[bin] <= x) bin++;
            counts[bin]++;
        }
        return counts;
    }
}

/// <summary>One side of a categorical comparison: counts by category, plus a count of values known only as "other".</summary>
internal sealed class CategoricalSide
{
    internal required Dictionary<string, long> Counts { get; init; }

    internal long Other { get; init; }

    internal long Count => Counts.Values.Sum() + Other;

    internal static CategoricalSide FromValues(IReadOnlyList<string?> values)
    {
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var v in values)
        {
            if (v is null) continue;
            counts[v] = counts.TryGetValue(v, out var c) ? c + 1 : 1;
        }
        return new CategoricalSide { Counts = counts };
    }

    internal static CategoricalSide FromProfile(CategoricalProfile p) => new()
    {
        Counts = p.Top.ToDictionary(t => t.Category, t => t.Count, StringComparer.Ordinal),
        Other = p.Other,
    };
}
