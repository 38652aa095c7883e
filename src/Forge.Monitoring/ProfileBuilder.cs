using Forge.Core;

namespace Forge.Monitoring;

/// <summary>
/// Accumulates rows into a profile, batch by batch, in bounded memory. A builder made with <see cref="ForWindow"/>
/// uses the reference's histogram edges, so its profile is directly comparable with (and mergeable into) the
/// reference; builders on the same edges merge exactly.
/// </summary>
public sealed class ProfileBuilder
{
    private readonly ProfileOptions _options;
    private readonly List<ColumnAccumulator> _columns;
    private readonly Dictionary<string, ColumnAccumulator> _byName;

    private ProfileBuilder(ProfileOptions options, List<ColumnAccumulator> columns)
    {
        _options = options;
        _columns = columns;
        _byName = columns.ToDictionary(c => c.Name, StringComparer.Ordinal);
    }

    /// <summary>Rows added so far.</summary>
    public long Rows { get; private set; }

    /// <summary>The column names this builder expects, in order.</summary>
    public IEnumerable<string> ColumnNames => _columns.Select(c => c.Name);

    /// <summary>A builder for live data compared with <paramref name="reference"/>: same columns, kinds and histogram edges.</summary>
    public static ProfileBuilder ForWindow(ReferenceProfile reference, ProfileOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(reference);
        options ??= new ProfileOptions();
        options.Validate();
        var columns = reference.Columns.Select(c => ColumnAccumulator.Empty(c, options)).ToList();
        return new ProfileBuilder(options, columns);
    }

    internal static ProfileBuilder FromProfile(ReferenceProfile profile, ProfileOptions? options = null)
    {
        options ??= new ProfileOptions();
        var columns = profile.Columns.Select(c => ColumnAccumulator.FromProfile(c, options)).ToList();
        return new ProfileBuilder(options, columns) { Rows = profile.Rows };
    }

    internal static ReferenceProfile BuildReference(ColumnSet data, ProfileOptions options)
    {
        options.Validate();
        var columns = new ColumnAccumulator[data.Count];
        // Columns are independent; on two cores this halves the time to profile a large training set.
        Parallel.For(0, data.Count, i => columns[i] = ColumnAccumulator.Reference(data[i], options));
        var builder = new ProfileBuilder(options, [.. columns]) { Rows = data.RowCount };
        return builder.ToProfile();
    }

    /// <summary>
    /// Adds a batch of rows. The batch must hold every column of the profile with the same kind; extra columns are
    /// ignored. Every missing or mismatched column is reported at once.
    /// </summary>
    public void Add(ColumnSet batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var problems = new List<string>();
        foreach (var acc in _columns)
        {
            if (!batch.TryGetColumn(acc.Name, out var column))
            {
                var suggestion = NameSuggester.Closest(acc.Name, batch.Names);
                problems.Add(suggestion is null
                    ? $"the batch has no column '{acc.Name}'"
                    : $"the batch has no column '{acc.Name}' (it has '{suggestion}': a typo?)");
            }
            else if (column.Kind != acc.Kind)
            {
                problems.Add($"column '{acc.Name}' is {Describe(column.Kind)} in the batch but {Describe(acc.Kind)} in the profile");
            }
        }
        if (problems.Count > 0) throw new DriftException(string.Join("; ", problems));
        foreach (var acc in _columns) acc.Add(batch[acc.Name]);
        Rows += batch.RowCount;
    }

    internal static string Describe(ColumnKind kind) => kind switch
    {
        ColumnKind.Numeric => "numeric",
        ColumnKind.Categorical => "categorical",
        _ => "text",
    };

    /// <summary>Adds everything <paramref name="other"/> has accumulated; both must have the same columns and edges.</summary>
    public void Merge(ProfileBuilder other)
    {
        ArgumentNullException.ThrowIfNull(other);
        var problems = new List<string>();
        foreach (var acc in _columns)
        {
            if (!other._byName.TryGetValue(acc.Name, out var theirs)) problems.Add($"the other profile has no column '{acc.Name}'");
            else if (theirs.Kind != acc.Kind) problems.Add($"column '{acc.Name}' is {Describe(acc.Kind)} here but {Describe(theirs.Kind)} there");
            else if (acc.EdgesDiffer(theirs)) problems.Add($"column '{acc.Name}' has different histogram edges; profiles merge only on shared edges (build windows with ProfileBuilder.ForWindow)");
        }
        foreach (var name in other._byName.Keys)
        {
            if (!_byName.ContainsKey(name)) problems.Add($"the other profile has column '{name}', which this one lacks");
        }
        if (problems.Count > 0) throw new DriftException("cannot merge profiles: " + string.Join("; ", problems));
        foreach (var acc in _columns) acc.Merge(other._byName[acc.Name]);
        Rows += other.Rows;
    }

    /// <summary>The profile of everything added so far; the builder stays usable.</summary>
    public ReferenceProfile ToProfile() => new()
    {
        Rows = Rows,
        Columns = _columns.Select(c => c.ToProfile(_options)).ToArray(),
    };

    internal ColumnAccumulator Accumulator(string name) => _byName[name];
}

/// <summary>A drift computation or profile operation that cannot be done on the data given (names the column at fault).</summary>
public class DriftException : ForgeException
{
    /// <summary>Creates the error with a message naming the columns at fault.</summary>
    public DriftException(string message) : base(message) { }
}

/// <summary>Running state of one column.</summary>
internal sealed class ColumnAccumulator
{
    private ColumnAccumulator(string name, ColumnKind kind, ColumnRole role)
    {
        Name = name;
        Kind = kind;
        Role = role;
    }

    internal string Name { get; }

    internal ColumnKind Kind { get; }

    internal ColumnRole Role { get; }

    internal long Missing { get; private set; }

    internal NumericAccumulator? Numeric { get; private init; }

    internal CategoricalAccumulator? Categorical { get; private init; }

    internal EmbeddingAccumulator? Embedding { get; private set; }

    internal long Count => Numeric?.Count ?? Categorical!.Count;

    internal static ColumnAccumulator Empty(ColumnProfile reference, ProfileOptions options) => reference.Kind switch
    {
        ColumnKind.Numeric => new(reference.Name, reference.Kind, reference.Role)
        {
            Numeric = new NumericAccumulator([.. reference.Numeric!.Histogram.Edges], options),
        },
        ColumnKind.Categorical => new(reference.Name, reference.Kind, reference.Role) { Categorical = new CategoricalAccumulator(options) },
        _ => new(reference.Name, reference.Kind, reference.Role)
        {
            Numeric = new NumericAccumulator([.. reference.Text!.Length.Histogram.Edges], options),
        },
    };

    internal static ColumnAccumulator FromProfile(ColumnProfile profile, ProfileOptions options)
    {
        var acc = profile.Kind switch
        {
            ColumnKind.Numeric => new ColumnAccumulator(profile.Name, profile.Kind, profile.Role)
            {
                Numeric = NumericAccumulator.FromProfile(profile.Numeric!, profile.Count, options),
            },
            ColumnKind.Categorical => new ColumnAccumulator(profile.Name, profile.Kind, profile.Role)
            {
                Categorical = CategoricalAccumulator.FromProfile(profile.Categorical!, options),
            },
            _ => new ColumnAccumulator(profile.Name, profile.Kind, profile.Role)
            {
                Numeric = NumericAccumulator.FromProfile(profile.Text!.Length, profile.Count, options),
                Embedding = profile.Text.Embedding is { } e ? EmbeddingAccumulator.FromSummary(e) : null,
            },
        };
        acc.Missing = profile.Missing;
        return acc;
    }

    /// <summary>A reference column: histogram edges at this data's quantiles, then the values added.</summary>
    internal static ColumnAccumulator Reference(DataColumn column, ProfileOptions options)
    {
        switch (column.Kind)
        {
            case ColumnKind.Numeric:
                return SortedReference(column, column.NumericValues, options);
            case ColumnKind.Categorical:
            {
                var acc = new ColumnAccumulator(column.Name, column.Kind, column.Role) { Categorical = new CategoricalAccumulator(options) };
                acc.Add(column);
                return acc;
            }
            default:
            {
                var acc = SortedReference(column, Lengths(column), options);
                if (column.Embeddings is { } embeddings)
                {
                    acc.Embedding = new EmbeddingAccumulator();
                    acc.Embedding.Add(column.Name, embeddings);
                }
                return acc;
            }
        }
    }

    /// <summary>A numeric (or text-length) reference column: one sort gives the edges, the counts, the distinct values and the sketch.</summary>
    private static ColumnAccumulator SortedReference(DataColumn column, ReadOnlySpan<double> values, ProfileOptions options)
    {
        var sorted = NumericSide.PresentSorted(values);
        var acc = new ColumnAccumulator(column.Name, column.Kind, column.Role)
        {
            Numeric = new NumericAccumulator(QuantileEdges(sorted, options.HistogramBins, alreadySorted: true), options),
            Missing = values.Length - sorted.Length,
        };
        acc.Numeric.AddSorted(sorted);
        return acc;
    }

    internal static double[] Lengths(DataColumn column)
    {
        var texts = column.StringValues;
        var lengths = new double[texts.Count];
        for (var i = 0; i < lengths.Length; i++) lengths[i] = texts[i] is { } t ? t.Length : double.NaN;
        return lengths;
    }

    /// <summary>Extra edges in each tail, so the open outer bins hold 0.1% of the reference rather than 1/bins of it.</summary>
    private static readonly double[] TailProbabilities = [0.001, 0.0025, 0.005, 0.995, 0.9975, 0.999];

    /// <summary>
    /// Edges at the i/bins quantiles (lower order statistic) plus finer ones in the tails when the reference is large
    /// enough to place them; duplicates dropped so bins never collapse.
    /// </summary>
    internal static double[] QuantileEdges(double[] values, int bins, bool alreadySorted = false)
    {
        if (values.Length == 0) return [];
        var sorted = values;
        if (!alreadySorted)
        {
            sorted = (double[])values.Clone();
            Array.Sort(sorted);
        }
        var positions = new SortedSet<long>();
        for (var i = 1; i < bins; i++) positions.Add((long)i * sorted.Length / bins);
        // Tail edges matter for distances (the outer bins are spread over the whole tail); they need ~1000 values.
        if (sorted.Length >= 10L * bins)
        {
            foreach (var q in TailProbabilities) positions.Add((long)(q * sorted.Length));
        }
        var edges = new List<double>(positions.Count);
        foreach (var position in positions)
        {
            var e = sorted[position];
            if (edges.Count == 0 || e > edges[^1]) edges.Add(e);
        }
        return [.. edges];
    }

    internal void Add(DataColumn column)
    {
        switch (Kind)
        {
            case ColumnKind.Numeric:
                Missing += Numeric!.Add(column.NumericValues);
                break;
            case ColumnKind.Categorical:
                Missing += Categorical!.Add(column.StringValues);
                break;
            default:
                Missing += Numeric!.Add(Lengths(column));
                if (column.Embeddings is { } embeddings)
                {
                    Embedding ??= new EmbeddingAccumulator();
                    Embedding.Add(column.Name, embeddings);
                }
                break;
        }
    }

    internal bool EdgesDiffer(ColumnAccumulator other) =>
        Numeric is not null && other.Numeric is not null && !Numeric.Edges.AsSpan().SequenceEqual(other.Numeric.Edges);

    internal void Merge(ColumnAccumulator other)
    {
        Missing += other.Missing;
        Numeric?.Merge(other.Numeric!);
        Categorical?.Merge(other.Categorical!);
        if (other.Embedding is not null)
        {
            Embedding ??= new EmbeddingAccumulator();
            Embedding.Merge(Name, other.Embedding);
        }
    }

    internal ColumnProfile ToProfile(ProfileOptions options) => new()
    {
        Name = Name,
        Kind = Kind,
        Role = Role,
        Count = Count,
        Missing = Missing,
        Numeric = Kind == ColumnKind.Numeric ? Numeric!.ToProfile() : null,
        Categorical = Kind == ColumnKind.Categorical ? Categorical!.ToProfile(options.TopCategories) : null,
        Text = Kind == ColumnKind.Text ? new TextProfile { Length = Numeric!.ToProfile(), Embedding = Embedding?.ToSummary() } : null,
    };
}

/// <summary>Moments, histogram on fixed edges, distinct values, sketch and (while few) every value of a numeric column.</summary>
internal sealed class NumericAccumulator
{
    private readonly int _distinctLimit;
    private readonly int _valuesLimit;
    private SortedDictionary<double, long>? _distinct = [];
    private List<double>? _values = [];

    internal NumericAccumulator(double[] edges, ProfileOptions options)
    {
        Edges = edges;
        Counts = new long[edges.Length + 1];
        Sketch = new KllSketch(options.SketchK);
        _distinctLimit = options.DistinctValuesLimit;
        _valuesLimit = options.ExactValuesLimit;
    }

    internal double[] Edges { get; }

    internal long[] Counts { get; }

    internal KllSketch Sketch { get; private set; }

    internal long Count { get; private set; }

    internal double Mean { get; private set; }

    internal double SumSquaredDeviations { get; private set; }

    internal double Min { get; private set; } = double.NaN;

    internal double Max { get; private set; } = double.NaN;

    internal SortedDictionary<double, long>? Distinct => _distinct;

    internal List<double>? Values => _values;

    internal static NumericAccumulator FromProfile(NumericProfile p, long count, ProfileOptions options)
    {
        var acc = new NumericAccumulator([.. p.Histogram.Edges], options)
        {
            Count = count,
            Mean = p.Mean,
            SumSquaredDeviations = p.SumSquaredDeviations,
            Min = p.Min,
            Max = p.Max,
            Sketch = KllSketch.FromRecord(p.Sketch),
        };
        for (var i = 0; i < acc.Counts.Length; i++) acc.Counts[i] = p.Histogram.Counts[i];
        acc._distinct = p.DistinctValues is null ? null : new SortedDictionary<double, long>(p.DistinctValues.ToDictionary(v => v.Value, v => v.Count));
        acc._values = p.Values is null ? null : [.. p.Values];
        return acc;
    }

    /// <summary>Batches at least this large are sorted first: one sort is cheaper than a sketch update per value.</summary>
    private const int SortedBatch = 256;

    /// <summary>Adds the present values; returns how many were missing.</summary>
    internal int Add(ReadOnlySpan<double> values)
    {
        if (values.Length >= SortedBatch)
        {
            var sorted = NumericSide.PresentSorted(values);
            AddSorted(sorted);
            return values.Length - sorted.Length;
        }
        return AddEach(values);
    }

    /// <summary>Adds present values given in ascending order: counts by one walk, distinct values by runs, the sketch built whole.</summary>
    internal void AddSorted(double[] sorted)
    {
        if (sorted.Length == 0) return;
        double sum = 0;
        foreach (var x in sorted) sum += x;
        var mean = sum / sorted.Length;
        double m2 = 0;
        foreach (var x in sorted) m2 += (x - mean) * (x - mean);
        var bin = 0;
        foreach (var x in sorted)
        {
            while (bin < Edges.Length && Edges[bin] <= x) bin++;
            Counts[bin]++;
        }
        if (_distinct is not null)
        {
            for (var i = 0; i < sorted.Length && _distinct is not null;)
            {
                var j = i;
                while (j < sorted.Length && sorted[j] == sorted[i]) j++;
                _distinct[sorted[i]] = _distinct.TryGetValue(sorted[i], out var c) ? c + (j - i) : j - i;
                if (_distinct.Count > _distinctLimit) _distinct = null;
                i = j;
            }
        }
        if (_values is not null)
        {
            if (_values.Count + sorted.Length <= _valuesLimit) _values.AddRange(sorted);
            else _values = null;
        }
        if (Sketch.N == 0) Sketch = KllSketch.FromSorted(sorted, Sketch.K);
        else Sketch.Merge(KllSketch.FromSorted(sorted, Sketch.K));
        CombineMoments(sorted.Length, mean, m2, sorted[0], sorted[^1]);
    }

    private int AddEach(ReadOnlySpan<double> values)
    {
        // Moments of the batch by two passes, then combined with the running ones (Chan et al.): accurate and cheap.
        long n = 0;
        double sum = 0;
        var missing = 0;
        foreach (var x in values)
        {
            if (double.IsNaN(x))
            {
                missing++;
                continue;
            }
            n++;
            sum += x;
        }
        if (n == 0) return missing;
        var mean = sum / n;
        double m2 = 0, min = double.PositiveInfinity, max = double.NegativeInfinity;
        foreach (var x in values)
        {
            if (double.IsNaN(x)) continue;
            m2 += (x - mean) * (x - mean);
            if (x < min) min = x;
            if (x > max) max = x;
            Counts[Histogram.BinOf(Edges, x)]++;
            Sketch.Add(x);
            if (_distinct is not null)
            {
                _distinct[x] = _distinct.TryGetValue(x, out var c) ? c + 1 : 1;
                if (_distinct.Count > _distinctLimit) _distinct = null;
            }
            if (_values is not null)
            {
                if (_values.Count < _valuesLimit) _values.Add(x);
                else _values = null;
            }
        }
        CombineMoments(n, mean, m2, min, max);
        return missing;
    }

    private void CombineMoments(long n, double mean, double m2, double min, double max)
    {
        if (n == 0) return;
        if (Count == 0)
        {
            Count = n;
            Mean = mean;
            SumSquaredDeviations = m2;
            Min = min;
            Max = max;
            return;
        }
        var total = Count + n;
        var delta = mean - Mean;
        Mean += delta * n / total;
        SumSquaredDeviations += m2 + delta * delta * Count * n / total;
        Count = total;
        Min = Math.Min(Min, min);
        Max = Math.Max(Max, max);
    }

    internal void Merge(NumericAccumulator other)
    {
        CombineMoments(other.Count, other.Mean, other.SumSquaredDeviations, other.Min, other.Max);
        for (var i = 0; i < Counts.Length; i++) Counts[i] += other.Counts[i];
        Sketch.Merge(other.Sketch);
        if (_distinct is not null && other._distinct is not null)
        {
            foreach (var (v, c) in other._distinct) _distinct[v] = _distinct.TryGetValue(v, out var mine) ? mine + c : c;
            if (_distinct.Count > _distinctLimit) _distinct = null;
        }
        else
        {
            _distinct = null;
        }
        if (_values is not null && other._values is not null && _values.Count + other._values.Count <= _valuesLimit)
            _values.AddRange(other._values);
        else
            _values = null;
    }

    internal NumericProfile ToProfile()
    {
        double[]? values = null;
        if (_values is not null)
        {
            values = [.. _values];
            Array.Sort(values);
        }
        var quantiles = NumericProfile.QuantileProbabilities
            .Select(q => Count == 0 ? double.NaN : values is not null ? Quantile(values, q) : Sketch.Quantile(q))
            .ToArray();
        return new NumericProfile
        {
            Mean = Mean,
            Std = Count > 1 ? Math.Sqrt(SumSquaredDeviations / (Count - 1)) : 0,
            Min = Min,
            Max = Max,
            SumSquaredDeviations = SumSquaredDeviations,
            Quantiles = quantiles,
            Histogram = new Histogram { Edges = [.. Edges], Counts = [.. Counts] },
            DistinctValues = _distinct?.Select(kv => new ValueCount(kv.Key, kv.Value)).ToArray(),
            Sketch = Sketch.ToRecord(),
            Values = values,
        };
    }

    /// <summary>The q-quantile of sorted values by linear interpolation between order statistics (numpy's default).</summary>
    internal static double Quantile(double[] sorted, double q)
    {
        var position = q * (sorted.Length - 1);
        var lo = (int)Math.Floor(position);
        var hi = Math.Min(lo + 1, sorted.Length - 1);
        return sorted[lo] + (position - lo) * (sorted[hi] - sorted[lo]);
    }
}

/// <summary>Counts per category, bounded: past <see cref="ProfileOptions.MaxTrackedCategories"/> new names count as "other".</summary>
internal sealed class CategoricalAccumulator
{
    private readonly int _maxTracked;

    internal CategoricalAccumulator(ProfileOptions options) => _maxTracked = options.MaxTrackedCategories;

    internal Dictionary<string, long> Counts { get; } = new(StringComparer.Ordinal);

    /// <summary>Values whose category is not known by name (beyond the tracking bound, or an "other" from a merged profile).</summary>
    internal long Other { get; private set; }

    internal long Count => Counts.Values.Sum() + Other;

    internal static CategoricalAccumulator FromProfile(CategoricalProfile p, ProfileOptions options)
    {
        var acc = new CategoricalAccumulator(options) { Other = p.Other };
        foreach (var t in p.Top) acc.Counts[t.Category] = t.Count;
        return acc;
    }

    internal int Add(IReadOnlyList<string?> values)
    {
        var missing = 0;
        foreach (var v in values)
        {
            if (v is null)
            {
                missing++;
                continue;
            }
            Increment(v, 1);
        }
        return missing;
    }

    private void Increment(string category, long by)
    {
        if (Counts.TryGetValue(category, out var c)) Counts[category] = c + by;
        else if (Counts.Count < _maxTracked) Counts[category] = by;
        else Other += by;
    }

    internal void Merge(CategoricalAccumulator other)
    {
        foreach (var (k, v) in other.Counts) Increment(k, v);
        Other += other.Other;
    }

    internal CategoricalProfile ToProfile(int top)
    {
        var ordered = Counts.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal).ToArray();
        var kept = ordered.Take(top).Select(kv => new CategoryCount(kv.Key, kv.Value)).ToArray();
        var rest = ordered.Skip(top).Sum(kv => kv.Value);
        return new CategoricalProfile { Top = kept, Other = Other + rest };
    }
}

/// <summary>Per-dimension mean and Σ(x - mean)² of embeddings, combined across batches by Chan's formulas.</summary>
internal sealed class EmbeddingAccumulator
{
    private double[] _mean = [];
    private double[] _m2 = [];

    internal long Count { get; private set; }

    internal static EmbeddingAccumulator FromSummary(EmbeddingSummary s) =>
        new() { Count = s.Count, _mean = (double[])s.Mean.Clone(), _m2 = (double[])s.SumSquaredDeviations.Clone() };

    internal void Add(string column, float[]?[] embeddings)
    {
        var batch = new EmbeddingAccumulator();
        foreach (var e in embeddings)
        {
            if (e is null) continue;
            if (batch.Count == 0)
            {
                batch._mean = new double[e.Length];
                batch._m2 = new double[e.Length];
            }
            batch.Count++;
            // Welford per vector within the batch; batches then combine exactly.
            for (var d = 0; d < e.Length; d++)
            {
                var delta = e[d] - batch._mean[d];
                batch._mean[d] += delta / batch.Count;
                batch._m2[d] += delta * (e[d] - batch._mean[d]);
            }
        }
        Merge(column, batch);
    }

    internal void Merge(string column, EmbeddingAccumulator other)
    {
        if (other.Count == 0) return;
        if (Count == 0)
        {
            Count = other.Count;
            _mean = (double[])other._mean.Clone();
            _m2 = (double[])other._m2.Clone();
            return;
        }
        if (other._mean.Length != _mean.Length)
            throw new DriftException($"column '{column}' has {other._mean.Length}-dimensional embeddings where earlier ones had {_mean.Length}");
        var total = Count + other.Count;
        for (var d = 0; d < _mean.Length; d++)
        {
            var delta = other._mean[d] - _mean[d];
            _mean[d] += delta * other.Count / total;
            _m2[d] += other._m2[d] + delta * delta * Count * other.Count / total;
        }
        Count = total;
    }

    internal double[] Mean => _mean;

    internal EmbeddingSummary ToSummary() => new() { Count = Count, Mean = (double[])_mean.Clone(), SumSquaredDeviations = (double[])_m2.Clone() };
}
