using System.Globalization;
using Forge.Core;

namespace Forge.Monitoring;

/// <summary>
/// Compares current data with a reference, column by column, and decides dataset, prediction and target drift.
/// With raw data on both sides every statistic is exactly Evidently's (same test choice, binning and thresholds);
/// against a stored profile the reference is read through its kept values (≤ 1000 rows: still exact) or its
/// 100-bin histogram (larger references: KS and Wasserstein become "binned", see docs/monitoring.md).
/// </summary>
public static class DataDrift
{
    private const int DistinctLimitForRaw = 32;
    private const int EvidentlyValueBinsLimit = 20;
    private const int CoarseBins = 10;

    /// <summary>Compares raw current data with raw reference data (the exact path).</summary>
    public static DriftResult Compare(ColumnSet reference, ColumnSet current, DriftOptions? options = null, TimeProvider? clock = null)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(current);
        var referenceColumns = reference.Select(c => (c.Name, c.Kind, c.Role)).ToArray();
        return Run(referenceColumns, reference.RowCount, current.RowCount, current.Names,
            name => current.TryGetColumn(name, out var c) ? c.Kind : null,
            name => Side(reference[name]), name => Side(current[name]), options, clock);
    }

    /// <summary>Compares raw current data with a stored reference profile.</summary>
    public static DriftResult Compare(ReferenceProfile reference, ColumnSet current, DriftOptions? options = null, TimeProvider? clock = null)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(current);
        var referenceColumns = reference.Columns.Select(c => (c.Name, c.Kind, c.Role)).ToArray();
        return Run(referenceColumns, reference.Rows, current.RowCount, current.Names,
            name => current.TryGetColumn(name, out var c) ? c.Kind : null,
            name => Side(reference.Column(name)), name => Side(current[name]), options, clock);
    }

    /// <summary>Compares a current profile (a window built with <see cref="ProfileBuilder.ForWindow"/>) with the reference profile.</summary>
    public static DriftResult Compare(ReferenceProfile reference, ReferenceProfile current, DriftOptions? options = null, TimeProvider? clock = null)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(current);
        var referenceColumns = reference.Columns.Select(c => (c.Name, c.Kind, c.Role)).ToArray();
        var currentKinds = current.Columns.ToDictionary(c => c.Name, c => c.Kind, StringComparer.Ordinal);
        return Run(referenceColumns, reference.Rows, current.Rows, currentKinds.Keys,
            name => currentKinds.TryGetValue(name, out var k) ? k : null,
            name => Side(reference.Column(name)), name => Side(current.Column(name)), options, clock);
    }

    /// <summary>Everything known about one side of one column.</summary>
    private sealed class ColumnSide
    {
        internal NumericSide? Numeric { get; init; }

        internal CategoricalSide? Categorical { get; init; }

        internal EmbeddingAccumulator? Embedding { get; init; }

        internal long Missing { get; init; }

        internal long Count => Numeric?.Count ?? Categorical!.Count;
    }

    private static ColumnSide Side(DataColumn column) => column.Kind switch
    {
        ColumnKind.Numeric => new ColumnSide { Numeric = NumericSide.FromValues(column.NumericValues, DistinctLimitForRaw), Missing = column.MissingCount() },
        ColumnKind.Categorical => new ColumnSide { Categorical = CategoricalSide.FromValues(column.StringValues), Missing = column.MissingCount() },
        _ => new ColumnSide
        {
            Numeric = NumericSide.FromValues(ColumnAccumulator.Lengths(column), DistinctLimitForRaw),
            Embedding = EmbeddingOf(column),
            Missing = column.MissingCount(),
        },
    };

    private static EmbeddingAccumulator? EmbeddingOf(DataColumn column)
    {
        if (column.Embeddings is null) return null;
        var acc = new EmbeddingAccumulator();
        acc.Add(column.Name, column.Embeddings);
        return acc.Count > 0 ? acc : null;
    }

    private static ColumnSide Side(ColumnProfile profile) => profile.Kind switch
    {
        ColumnKind.Numeric => new ColumnSide { Numeric = NumericSide.FromProfile(profile.Numeric!, profile.Count), Missing = profile.Missing },
        ColumnKind.Categorical => new ColumnSide { Categorical = CategoricalSide.FromProfile(profile.Categorical!), Missing = profile.Missing },
        _ => new ColumnSide
        {
            Numeric = NumericSide.FromProfile(profile.Text!.Length, profile.Count),
            Embedding = profile.Text.Embedding is { Count: > 0 } e ? EmbeddingAccumulator.FromSummary(e) : null,
            Missing = profile.Missing,
        },
    };

    private static DriftResult Run(
        (string Name, ColumnKind Kind, ColumnRole Role)[] referenceColumns,
        long referenceRows,
        long currentRows,
        IEnumerable<string> currentNames,
        Func<string, ColumnKind?> currentKind,
        Func<string, ColumnSide> referenceSide,
        Func<string, ColumnSide> currentSide,
        DriftOptions? options,
        TimeProvider? clock)
    {
        options ??= new DriftOptions();
        options.Validate();
        if (referenceColumns.Length == 0) throw new DriftException("the reference has no columns to compare");
        if (referenceRows == 0) throw new DriftException("the reference has no rows");
        if (currentRows == 0) throw new DriftException("the current data has no rows (an empty window): nothing to compare yet");

        var problems = new List<string>();
        var names = currentNames.ToArray();
        var referenceNames = referenceColumns.Select(c => c.Name).ToArray();
        foreach (var name in options.Columns.Keys)
        {
            if (Array.IndexOf(referenceNames, name) < 0)
            {
                var suggestion = NameSuggester.Closest(name, referenceNames);
                problems.Add(suggestion is null
                    ? $"the options name column '{name}', which the reference does not have"
                    : $"the options name column '{name}', which the reference does not have; did you mean '{suggestion}'?");
            }
        }
        var present = new List<(string Name, ColumnKind Kind, ColumnRole Role)>();
        foreach (var c in referenceColumns)
        {
            var kind = currentKind(c.Name);
            if (kind is null)
            {
                var suggestion = NameSuggester.Closest(c.Name, names);
                problems.Add(suggestion is null
                    ? $"the current data has no column '{c.Name}'"
                    : $"the current data has no column '{c.Name}'; it has '{suggestion}' (a renamed column?)");
            }
            else if (kind != c.Kind)
            {
                problems.Add($"column '{c.Name}' is {ProfileBuilder.Describe(c.Kind)} in the reference but {ProfileBuilder.Describe(kind.Value)} in the current data");
            }
            else
            {
                present.Add(c);
            }
        }
        if (problems.Count > 0) throw new DriftException(string.Join("; ", problems));

        // Column by column, so only the columns in flight hold their sorted values: wide data stays within memory.
        var results = new ColumnDrift[present.Count];
        var columnProblems = new List<string>?[present.Count];
        Parallel.For(0, present.Count, i =>
        {
            var (name, kind, role) = present[i];
            var found = new List<string>();
            try
            {
                var reference = referenceSide(name);
                var current = currentSide(name);
                if (reference.Count == 0) found.Add($"column '{name}' has no values in the reference, so it has no baseline");
                if (current.Count == 0 && options.AllMissing == AllMissingPolicy.Fail)
                    found.Add($"column '{name}' has no values in the current data (all {currentRows} rows missing)");
                var (test, threshold) = Choose(name, kind, reference, current, options, out var problem);
                if (problem is not null) found.Add(problem);
                if (found.Count == 0)
                {
                    results[i] = current.Count == 0
                        ? MissingColumn(name, kind, role, reference, current, currentRows)
                        : Evaluate(name, kind, role, test, threshold, reference, current, currentRows, options.IncludeHistograms);
                }
            }
            catch (DriftException e)
            {
                found.Add(e.Message);
            }
            columnProblems[i] = found.Count > 0 ? found : null;
        });
        problems.AddRange(columnProblems.Where(p => p is not null).SelectMany(p => p!));
        if (problems.Count > 0) throw new DriftException(string.Join("; ", problems));

        var features = results.Where(r => r.Role == ColumnRole.Feature).ToArray();
        var predictions = results.Where(r => r.Role == ColumnRole.Prediction).ToArray();
        var targets = results.Where(r => r.Role == ColumnRole.Target).ToArray();
        var drifted = features.Count(r => r.Drifted);
        var share = features.Length == 0 ? 0 : (double)drifted / features.Length;
        return new DriftResult
        {
            DatasetDrift = features.Length > 0 && share >= options.DriftShareThreshold,
            DriftShare = share,
            DriftedColumns = drifted,
            DriftShareThreshold = options.DriftShareThreshold,
            ReferenceRows = referenceRows,
            CurrentRows = currentRows,
            Columns = features,
            Predictions = predictions,
            PredictionDrift = predictions.Length == 0 ? null : predictions.Any(p => p.Drifted),
            Targets = targets,
            TargetDrift = targets.Length == 0 ? null : targets.Any(t => t.Drifted),
            ComputedAt = (clock ?? TimeProvider.System).GetUtcNow(),
        };
    }

    private static ColumnDrift MissingColumn(string name, ColumnKind kind, ColumnRole role, ColumnSide reference, ColumnSide current, long currentRows) => new()
    {
        Name = name,
        Kind = kind,
        Role = role,
        Test = "missing",
        Statistic = 1,
        Threshold = 1,
        Drifted = true,
        ReferenceCount = reference.Count,
        CurrentCount = 0,
        CurrentMissingShare = 1,
        Note = $"every one of the {currentRows} current values is missing",
    };

    /// <summary>The test and threshold for a column: its override, else the kind's, else the automatic choice.</summary>
    private static (DriftTest Test, double Threshold) Choose(
        string name, ColumnKind kind, ColumnSide reference, ColumnSide current, DriftOptions options, out string? problem)
    {
        problem = null;
        options.Columns.TryGetValue(name, out var over);
        var hasEmbeddings = reference.Embedding is not null && current.Embedding is not null;
        var test = over?.Test ?? (kind == ColumnKind.Categorical ? options.CategoricalTest : options.NumericTest);
        if (test == DriftTest.Auto)
        {
            var values = DistinctUnion(kind, reference, current, options.FewValuesLimit + 1);
            var small = reference.Count <= options.SmallReferenceLimit;
            var significance = options.Selection == TestSelection.Significance || small;
            if (kind == ColumnKind.Text && hasEmbeddings) test = DriftTest.EmbeddingDistance;
            else if (kind == ColumnKind.Categorical || values <= options.FewValuesLimit)
                test = significance ? (values > 2 ? DriftTest.ChiSquared : DriftTest.ZTest) : DriftTest.JensenShannon;
            else test = significance ? DriftTest.KolmogorovSmirnov : DriftTest.Wasserstein;
        }
        else if (kind == ColumnKind.Categorical && test is DriftTest.KolmogorovSmirnov or DriftTest.Wasserstein or DriftTest.EmbeddingDistance)
        {
            problem = $"column '{name}' is categorical, so it cannot take the {Name(test)} test";
        }
        else if (kind == ColumnKind.Numeric && test == DriftTest.EmbeddingDistance)
        {
            problem = $"column '{name}' is numeric, so it cannot take the {Name(test)} test";
        }
        else if (test == DriftTest.EmbeddingDistance && !hasEmbeddings)
        {
            problem = $"column '{name}' needs embeddings on both sides for the {Name(test)} test";
        }
        else if (test == DriftTest.ZTest && DistinctUnion(kind, reference, current, 3) > 2)
        {
            problem = $"column '{name}' has more than two values, so it cannot take the Z-test (use chi-squared)";
        }
        var threshold = over?.Threshold ?? options.Threshold ?? DriftOptions.DefaultThreshold(test);
        return (test, threshold);
    }

    /// <summary>Distinct values of both sides together, counted up to <paramref name="cap"/> (int.MaxValue when unknown and many).</summary>
    private static int DistinctUnion(ColumnKind kind, ColumnSide reference, ColumnSide current, int cap)
    {
        if (kind == ColumnKind.Categorical)
        {
            var keys = new HashSet<string>(reference.Categorical!.Counts.Keys, StringComparer.Ordinal);
            keys.UnionWith(current.Categorical!.Counts.Keys);
            var other = reference.Categorical.Other > 0 || current.Categorical.Other > 0 ? 1 : 0;
            return keys.Count + other;
        }
        var r = reference.Numeric!.Distinct;
        var c = current.Numeric!.Distinct;
        if (r is null || c is null) return int.MaxValue;
        var union = new HashSet<double>(r.Keys);
        union.UnionWith(c.Keys);
        return union.Count > cap ? int.MaxValue : union.Count;
    }

    internal static string Name(DriftTest test) => test switch
    {
        DriftTest.KolmogorovSmirnov => "ks",
        DriftTest.ChiSquared => "chisquare",
        DriftTest.ZTest => "z",
        DriftTest.Wasserstein => "wasserstein",
        DriftTest.JensenShannon => "jensenshannon",
        DriftTest.Psi => "psi",
        DriftTest.EmbeddingDistance => "embedding_distance",
        _ => "auto",
    };

    private static ColumnDrift Evaluate(
        string name, ColumnKind kind, ColumnRole role, DriftTest test, double threshold,
        ColumnSide reference, ColumnSide current, long currentRows, bool histograms)
    {
        double statistic;
        double? pValue = null;
        string? method;
        bool drifted;
        string? note = kind == ColumnKind.Text && test != DriftTest.EmbeddingDistance ? "tested on the text length in characters" : null;
        Bins? bins = null;
        switch (test)
        {
            case DriftTest.KolmogorovSmirnov:
            {
                var (d, p, how) = Ks(name, reference.Numeric!, current.Numeric!);
                (statistic, pValue, method, drifted) = (d, p, how, p <= threshold);
                break;
            }
            case DriftTest.Wasserstein:
            {
                var (w, how) = NormedWasserstein(name, reference.Numeric!, current.Numeric!);
                (statistic, method, drifted) = (w, how, w >= threshold);
                break;
            }
            case DriftTest.EmbeddingDistance:
            {
                var a = reference.Embedding!.Mean;
                var b = current.Embedding!.Mean;
                if (a.Length != b.Length)
                    throw new DriftException($"column '{name}': reference embeddings have {a.Length} dimensions, current ones {b.Length}");
                double ss = 0;
                for (var i = 0; i < a.Length; i++) ss += (a[i] - b[i]) * (a[i] - b[i]);
                (statistic, method) = (Math.Sqrt(ss), "exact");
                drifted = statistic >= threshold;
                break;
            }
            default:
            {
                bins = kind == ColumnKind.Categorical ? CategoryBins(reference.Categorical!, current.Categorical!) : NumericBins(name, reference.Numeric!, current.Numeric!, test);
                method = bins.Method;
                switch (test)
                {
                    case DriftTest.ChiSquared:
                    {
                        var r = DriftStatistics.ChiSquaredContingency(bins.Reference, bins.Current);
                        (statistic, pValue) = (r.Statistic, r.PValue);
                        drifted = pValue < threshold;
                        break;
                    }
                    case DriftTest.ZTest:
                    {
                        var r = ZTest(bins);
                        (statistic, pValue, drifted) = (r.Statistic, r.PValue, r.PValue < threshold);
                        break;
                    }
                    case DriftTest.JensenShannon:
                    {
                        statistic = DriftStatistics.JensenShannon(Shares(bins.Reference), Shares(bins.Current));
                        drifted = statistic >= threshold;
                        break;
                    }
                    default:
                    {
                        statistic = DriftStatistics.Psi(
                            DriftStatistics.FillEmptyBins(Shares(bins.Reference)), DriftStatistics.FillEmptyBins(Shares(bins.Current)));
                        drifted = statistic >= threshold;
                        break;
                    }
                }
                break;
            }
        }

        DriftHistogram? histogram = null;
        if (histograms)
        {
            var plotBins = bins ?? (kind == ColumnKind.Categorical
                ? CategoryBins(reference.Categorical!, current.Categorical!)
                : test == DriftTest.EmbeddingDistance ? null : NumericBins(name, reference.Numeric!, current.Numeric!, DriftTest.JensenShannon));
            if (plotBins is not null)
            {
                histogram = new DriftHistogram
                {
                    Labels = plotBins.Labels,
                    Edges = plotBins.Edges,
                    Reference = Shares(plotBins.Reference),
                    Current = Shares(plotBins.Current),
                };
            }
        }

        return new ColumnDrift
        {
            Name = name,
            Kind = kind,
            Role = role,
            Test = Name(test),
            Statistic = statistic,
            PValue = pValue,
            Threshold = threshold,
            Drifted = drifted,
            Method = method,
            PsiBand = test == DriftTest.Psi ? statistic < 0.1 ? "none" : statistic < 0.25 ? "moderate" : "major" : null,
            ReferenceCount = reference.Count,
            CurrentCount = current.Count,
            CurrentMissingShare = currentRows == 0 ? 0 : (double)current.Missing / currentRows,
            Note = note,
            Histogram = histogram,
        };
    }

    private static double[] Shares(double[] counts)
    {
        var total = counts.Sum();
        return counts.Select(c => total > 0 ? c / total : 0).ToArray();
    }

    private static (double D, double P, string Method) Ks(string name, NumericSide reference, NumericSide current)
    {
        if (reference.Exact && current.Exact)
        {
            var r = DriftStatistics.KolmogorovSmirnovSorted(reference.Sorted!, current.Sorted!);
            return (r.Statistic, r.PValue, r.Method == KsMethod.Exact ? "exact" : "asymptotic");
        }
        // Through the reference's histogram: D is read at the bin edges only, so it can only be smaller than the exact
        // D (by at most one bin's share) and the test errs on the side of fewer alarms.
        var edges = reference.Edges!;
        var rc = reference.CountsOn(edges, name);
        var cc = current.CountsOn(edges, name);
        double nr = reference.Count, nc = current.Count, cumR = 0, cumC = 0, d = 0;
        for (var i = 0; i < edges.Length; i++)
        {
            cumR += rc[i];
            cumC += cc[i];
            d = Math.Max(d, Math.Abs(cumR / nr - cumC / nc));
        }
        var p = DriftStatistics.KsPValue((int)Math.Min(reference.Count, int.MaxValue), (int)Math.Min(current.Count, int.MaxValue), Math.Min(d, 1));
        return (d, p.PValue, p.Method == KsMethod.Exact ? "binned, exact p-value" : "binned, asymptotic p-value");
    }

    private static (double Distance, string Method) NormedWasserstein(string name, NumericSide reference, NumericSide current)
    {
        var norm = Math.Max(reference.PopulationStd, 0.001);
        if (reference.Exact && current.Exact)
            return (DriftStatistics.WassersteinSorted(reference.Sorted!, current.Sorted!) / norm, "exact");
        var edges = reference.Edges!;
        var referenceCounts = reference.CountsOn(edges, name);
        if (current.Exact)
            return (BinnedWasserstein(edges, referenceCounts, reference.Min, reference.Max, current.Sorted!) / norm, "binned reference");
        var w = BinnedWasserstein(edges, referenceCounts, reference.Min, reference.Max,
            current.CountsOn(edges, name), current.Min, current.Max);
        return (w / norm, "binned");
    }

    /// <summary>
    /// ∫|F_r - F_c| dx with each CDF linear between its own min, the shared edges and its own max (values spread evenly
    /// within a bin). Exact on the bin edges; within a bin the error is at most the bin's width times its share.
    /// </summary>
    internal static double BinnedWasserstein(double[] edges, long[] countsA, double minA, double maxA, long[] countsB, double minB, double maxB)
    {
        var a = new LinearCdf(Knots(edges, countsA, minA, maxA));
        var b = new LinearCdf(Knots(edges, countsB, minB, maxB));
        var xs = a.Xs.Concat(b.Xs).Distinct().Order().ToArray();
        double total = 0;
        for (var i = 1; i < xs.Length; i++)
        {
            var (a0, a1) = a.Segment(xs[i - 1], xs[i]);
            var (b0, b1) = b.Segment(xs[i - 1], xs[i]);
            total += Trapezoid(xs[i] - xs[i - 1], a0 - b0, a1 - b1);
        }
        return total;
    }

    /// <summary>
    /// ∫|F_r - F_c| dx with the reference's CDF linear within its bins and the current's the exact step function of
    /// its sorted values: only the reference is approximated.
    /// </summary>
    internal static double BinnedWasserstein(double[] edges, long[] counts, double min, double max, double[] sorted)
    {
        var reference = new LinearCdf(Knots(edges, counts, min, max));
        var xs = MergeDistinct(reference.Xs.ToArray(), sorted);
        double n = sorted.Length, total = 0;
        var below = 0;
        for (var i = 1; i < xs.Length; i++)
        {
            double x0 = xs[i - 1], x1 = xs[i];
            while (below < sorted.Length && sorted[below] <= x0) below++;
            var g = below / n; // the current CDF is constant on [x0, x1)
            var (f0, f1) = reference.Segment(x0, x1);
            total += Trapezoid(x1 - x0, f0 - g, f1 - g);
        }
        return total;
    }

    /// <summary>The distinct values of two ascending arrays, ascending, in one merge.</summary>
    private static double[] MergeDistinct(double[] a, double[] b)
    {
        var result = new double[a.Length + b.Length];
        int i = 0, j = 0, n = 0;
        while (i < a.Length || j < b.Length)
        {
            var x = j >= b.Length || (i < a.Length && a[i] <= b[j]) ? a[i++] : b[j++];
            if (n == 0 || x > result[n - 1]) result[n++] = x;
        }
        return result.AsSpan(0, n).ToArray();
    }

    /// <summary>∫|d| over a segment where d is linear from d0 to d1 (two triangles when it changes sign).</summary>
    private static double Trapezoid(double width, double d0, double d1)
    {
        if (d0 * d1 >= 0) return width * (Math.Abs(d0) + Math.Abs(d1)) / 2;
        var t = Math.Abs(d0) / (Math.Abs(d0) + Math.Abs(d1));
        return width * (t * Math.Abs(d0) + (1 - t) * Math.Abs(d1)) / 2;
    }

    private static List<(double X, double F)> Knots(double[] edges, long[] counts, double min, double max)
    {
        double n = counts.Sum();
        var knots = new List<(double X, double F)> { (min, 0) };
        double cum = 0;
        for (var i = 0; i < edges.Length; i++)
        {
            cum += counts[i];
            if (edges[i] > min && edges[i] < max) knots.Add((edges[i], cum / n));
        }
        // A single value is a step: a rise of zero width at min.
        knots.Add((Math.Max(max, min), 1));
        return knots;
    }

    /// <summary>A piecewise-linear CDF read along increasing segments whose ends include every knot.</summary>
    private sealed class LinearCdf(List<(double X, double F)> knots)
    {
        private int _i;

        internal IEnumerable<double> Xs => knots.Select(k => k.X);

        /// <summary>F just after x0 and just before x1, for a segment that no knot splits.</summary>
        internal (double F0, double F1) Segment(double x0, double x1)
        {
            if (x1 <= knots[0].X) return (0, 0);
            if (x0 >= knots[^1].X) return (1, 1);
            while (_i + 1 < knots.Count && knots[_i + 1].X <= x0) _i++;
            var (a, fa) = knots[_i];
            var (b, fb) = knots[_i + 1];
            var slope = (fb - fa) / (b - a);
            return (fa + slope * (x0 - a), fa + slope * (x1 - a));
        }
    }

    /// <summary>Counts per bin or value on both sides, with labels and (numeric) plot bounds.</summary>
    private sealed record Bins(string[] Labels, double[] Reference, double[] Current, double[]? Edges, string Method);

    private static Bins CategoryBins(CategoricalSide reference, CategoricalSide current)
    {
        const string otherLabel = "(other)";
        var keys = new SortedSet<string>(reference.Counts.Keys, StringComparer.Ordinal);
        long curOther = current.Other, refOther = reference.Other;
        foreach (var (k, _) in current.Counts)
        {
            // A reference that lumped its rare categories into "other" cannot tell a new category from a rare one.
            if (!reference.Counts.ContainsKey(k) && refOther > 0) continue;
            keys.Add(k);
        }
        foreach (var (k, v) in current.Counts)
        {
            if (!keys.Contains(k)) curOther += v;
        }
        var labels = keys.ToList();
        var r = labels.Select(k => (double)reference.Counts.GetValueOrDefault(k)).ToList();
        var c = labels.Select(k => (double)current.Counts.GetValueOrDefault(k)).ToList();
        if (refOther > 0 || curOther > 0)
        {
            labels.Add(otherLabel);
            r.Add(refOther);
            c.Add(curOther);
        }
        return new Bins([.. labels], [.. r], [.. c], null, refOther > 0 ? "top categories + other" : "exact");
    }

    private static ZTestResult ZTest(Bins bins)
    {
        // Evidently codes the first category (in sorted order) as 0 and every other value as 1.
        double nr = bins.Reference.Sum(), nc = bins.Current.Sum();
        var successesR = nr - bins.Reference[0];
        var successesC = nc - bins.Current[0];
        return DriftStatistics.TwoProportionZ((long)successesR, (long)nr, (long)successesC, (long)nc);
    }

    private static Bins NumericBins(string name, NumericSide reference, NumericSide current, DriftTest test)
    {
        if (test is DriftTest.JensenShannon or DriftTest.Psi)
        {
            // Evidently: one bin per value when the reference has at most 20 distinct values, else Sturges bins.
            var fewValues = reference.Distinct is { Count: <= EvidentlyValueBinsLimit };
            if (reference.Exact && current.Exact)
                return fewValues ? ValueBins(Runs(reference.Sorted!), Runs(current.Sorted!)) : Sturges(reference.Sorted!, current.Sorted!);
            if (fewValues && current.Distinct is not null) return ValueBins(reference.Distinct!, current.Distinct);
            return Deciles(name, reference, current);
        }
        if (reference.Distinct is not null && current.Distinct is not null) return ValueBins(reference.Distinct, current.Distinct);
        return reference.Edges is null ? Sturges(reference.Sorted!, current.Sorted!) : Deciles(name, reference, current);
    }

    private static SortedDictionary<double, long> Runs(double[] sorted)
    {
        var runs = new SortedDictionary<double, long>();
        foreach (var x in sorted) runs[x] = runs.TryGetValue(x, out var c) ? c + 1 : 1;
        return runs;
    }

    private static Bins ValueBins(SortedDictionary<double, long> reference, SortedDictionary<double, long> current)
    {
        var keys = new SortedSet<double>(reference.Keys);
        keys.UnionWith(current.Keys);
        return new Bins(
            keys.Select(k => k.ToString("R", CultureInfo.InvariantCulture)).ToArray(),
            keys.Select(k => (double)reference.GetValueOrDefault(k)).ToArray(),
            keys.Select(k => (double)current.GetValueOrDefault(k)).ToArray(),
            null,
            "values");
    }

    /// <summary>Evidently's bins for raw samples: numpy's Sturges edges over both samples together.</summary>
    private static Bins Sturges(double[] reference, double[] current)
    {
        double min = Math.Min(reference[0], current[0]), max = Math.Max(reference[^1], current[^1]);
        double first = min, last = max;
        if (first == last)
        {
            first -= 0.5;
            last += 0.5;
        }
        var n = reference.Length + current.Length;
        var width = (max - min) / (Math.Log2(n) + 1.0);
        var bins = width != 0 ? (int)Math.Ceiling((last - first) / width) : 1;
        var edges = new double[bins + 1];
        var step = (last - first) / bins;
        for (var i = 0; i < bins; i++)
        {
            var e = i * step;
            edges[i] = e + first;
        }
        edges[bins] = last;
        var r = CountOnClosedEdges(reference, edges);
        var c = CountOnClosedEdges(current, edges);
        return new Bins(RangeLabels(edges), r, c, edges, "sturges");
    }

    /// <summary>numpy.histogram's counting: [e(i), e(i+1)) for every bin but the last, which also takes e(last).</summary>
    private static double[] CountOnClosedEdges(double[] sorted, double[] edges)
    {
        var bins = edges.Length - 1;
        var counts = new double[bins];
        for (var b = 0; b < bins; b++)
        {
            var lo = LowerBound(sorted, edges[b]);
            var hi = b == bins - 1 ? UpperBound(sorted, edges[b + 1]) : LowerBound(sorted, edges[b + 1]);
            counts[b] = hi - lo;
        }
        return counts;
    }

    private static int LowerBound(double[] sorted, double x)
    {
        int lo = 0, hi = sorted.Length;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (sorted[mid] < x) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }

    private static int UpperBound(double[] sorted, double x)
    {
        int lo = 0, hi = sorted.Length;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (sorted[mid] <= x) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }

    /// <summary>Ten bins at the reference's deciles, made of whole bins of its fine histogram (the classic PSI binning).</summary>
    private static Bins Deciles(string name, NumericSide reference, NumericSide current)
    {
        var fine = reference.Edges!;
        var rc = reference.CountsOn(fine, name);
        var cc = current.CountsOn(fine, name);
        double total = rc.Sum();
        var cut = new List<int>();
        double cum = 0;
        var next = 1;
        for (var i = 0; i < fine.Length && next < CoarseBins; i++)
        {
            cum += rc[i];
            if (cum >= next * total / CoarseBins)
            {
                cut.Add(i);
                while (next < CoarseBins && cum >= next * total / CoarseBins) next++;
            }
        }
        var r = new double[cut.Count + 1];
        var c = new double[cut.Count + 1];
        var bin = 0;
        for (var i = 0; i < rc.Length; i++)
        {
            r[bin] += rc[i];
            c[bin] += cc[i];
            if (bin < cut.Count && i == cut[bin]) bin++;
        }
        var lo = Math.Min(reference.Min, current.Min);
        var hi = Math.Max(reference.Max, current.Max);
        var edges = new double[cut.Count + 2];
        edges[0] = lo;
        for (var k = 0; k < cut.Count; k++) edges[k + 1] = fine[cut[k]];
        edges[^1] = hi;
        return new Bins(RangeLabels(edges), r, c, edges, "reference deciles");
    }

    private static string[] RangeLabels(double[] edges)
    {
        var labels = new string[edges.Length - 1];
        for (var i = 0; i < labels.Length; i++)
            labels[i] = string.Create(CultureInfo.InvariantCulture, $"[{edges[i]:G4}, {edges[i + 1]:G4}{(i == labels.Length - 1 ? "]" : ")")}");
        return labels;
    }
}
