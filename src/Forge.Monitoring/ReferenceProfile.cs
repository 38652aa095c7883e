using System.Text.Json;
using System.Text.Json.Serialization;
using Forge.Core;

namespace Forge.Monitoring;

/// <summary>Options for building a profile; the defaults keep a 100-column profile under a megabyte.</summary>
public sealed record ProfileOptions
{
    /// <summary>Bins of each numeric histogram, on edges at the reference's quantiles (default 100, 1% of the reference each).</summary>
    public int HistogramBins { get; init; } = 100;

    /// <summary>Accuracy parameter of the KLL quantile sketch (default 200: about ±1.3% rank error).</summary>
    public int SketchK { get; init; } = 200;

    /// <summary>
    /// A numeric column with at most this many values keeps them all (default 1000, Evidently's small-reference
    /// limit), so tests against the profile are exactly the tests against the raw reference.
    /// </summary>
    public int ExactValuesLimit { get; init; } = 1000;

    /// <summary>Categories kept by name per categorical column; the rest are counted together as "other" (default 100).</summary>
    public int TopCategories { get; init; } = 100;

    /// <summary>Distinct values counted exactly per numeric column (default 32): enough to treat a few-valued column as categorical.</summary>
    public int DistinctValuesLimit { get; init; } = 32;

    /// <summary>Distinct categories an accumulator tracks before further new ones go to "other" (default 10,000; bounds memory).</summary>
    public int MaxTrackedCategories { get; init; } = 10_000;

    /// <summary>Checks every option and reports all problems at once.</summary>
    public void Validate()
    {
        var problems = new List<string>();
        if (HistogramBins is < 2 or > 10_000) problems.Add($"HistogramBins must be in [2, 10000], got {HistogramBins}");
        if (SketchK is < 8 or > 100_000) problems.Add($"SketchK must be in [8, 100000], got {SketchK}");
        if (ExactValuesLimit is < 0 or > 10_000_000) problems.Add($"ExactValuesLimit must be in [0, 10000000], got {ExactValuesLimit}");
        if (TopCategories < 1) problems.Add($"TopCategories must be at least 1, got {TopCategories}");
        if (DistinctValuesLimit is < 0 or > 10_000) problems.Add($"DistinctValuesLimit must be in [0, 10000], got {DistinctValuesLimit}");
        if (MaxTrackedCategories < TopCategories)
            problems.Add($"MaxTrackedCategories ({MaxTrackedCategories}) must be at least TopCategories ({TopCategories})");
        if (problems.Count > 0) throw new UsageException("invalid profile options: " + string.Join("; ", problems));
    }
}

/// <summary>
/// The statistical fingerprint of a data set that drift is measured against (a bundle's reference/profile.json):
/// per column its counts, moments, quantiles, a histogram on fixed edges or category frequencies, and for text the
/// length and embedding summary. Profiles on the same edges merge exactly, so live windows accumulate incrementally.
/// </summary>
public sealed record ReferenceProfile
{
    /// <summary>The profile format this code writes.</summary>
    public const int CurrentFormatVersion = 1;

    /// <summary>Format version of the file.</summary>
    public int FormatVersion { get; init; } = CurrentFormatVersion;

    /// <summary>Rows profiled (missing values included).</summary>
    public long Rows { get; init; }

    /// <summary>The columns, in the order they were given.</summary>
    public IReadOnlyList<ColumnProfile> Columns { get; init; } = [];

    /// <summary>The column called <paramref name="name"/>; an unknown name fails with the closest known one.</summary>
    public ColumnProfile Column(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        foreach (var c in Columns)
        {
            if (c.Name == name) return c;
        }
        throw new NotFoundException("column", name, Columns.Select(c => c.Name));
    }

    /// <summary>Profiles <paramref name="data"/>: histogram edges come from this data's quantiles.</summary>
    public static ReferenceProfile Build(ColumnSet data, ProfileOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        return ProfileBuilder.BuildReference(data, options ?? new ProfileOptions());
    }

    /// <summary>
    /// The profile of the two data sets together. Exact for counts, moments, histograms, distinct values and
    /// categories (while each side kept them all); the quantile sketch merges within its stated error. Both profiles
    /// must share histogram edges (a window built with <see cref="ProfileBuilder.ForWindow"/> does).
    /// </summary>
    public static ReferenceProfile Merge(ReferenceProfile a, ReferenceProfile b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        var builder = ProfileBuilder.FromProfile(a);
        builder.Merge(ProfileBuilder.FromProfile(b));
        return builder.ToProfile();
    }

    /// <summary>Serialises to compact JSON (camelCase; arrays of full-precision numbers base64-packed).</summary>
    public string ToJson() => JsonSerializer.Serialize(this, ProfileJson.Options);

    /// <summary>Reads a profile from JSON, refusing a newer format or inconsistent contents.</summary>
    public static ReferenceProfile FromJson(string json, string source = "profile.json")
    {
        ArgumentNullException.ThrowIfNull(json);
        ReferenceProfile? profile;
        try
        {
            profile = JsonSerializer.Deserialize<ReferenceProfile>(json, ProfileJson.Options);
        }
        catch (JsonException e)
        {
            throw new DataFormatException(source, $"not a valid profile: {e.Message}", e);
        }
        if (profile is null) throw new DataFormatException(source, "the profile is empty");
        if (profile.FormatVersion > CurrentFormatVersion)
            throw new DataFormatException(source, $"profile format {profile.FormatVersion} is newer than this Forge reads ({CurrentFormatVersion}); upgrade Forge");
        profile.Check(source);
        return profile;
    }

    /// <summary>Writes the profile to <paramref name="path"/> atomically.</summary>
    public void Save(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var json = ToJson();
        AtomicFile.Write(path, stream =>
        {
            using var writer = new StreamWriter(stream, leaveOpen: true);
            writer.Write(json);
        });
    }

    /// <summary>Reads a profile written by <see cref="Save"/>.</summary>
    public static ReferenceProfile Load(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!File.Exists(path)) throw new DataFormatException(path, "no such profile file");
        return FromJson(File.ReadAllText(path), path);
    }

    private void Check(string source)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var c in Columns)
        {
            if (c is null || string.IsNullOrWhiteSpace(c.Name)) throw new DataFormatException(source, "a column has no name");
            if (!names.Add(c.Name)) throw new DataFormatException(source, $"column '{c.Name}' appears twice");
            var problem = c.Problem();
            if (problem is not null) throw new DataFormatException(source, $"column '{c.Name}': {problem}");
        }
    }

    /// <summary>Equal when every column is equal.</summary>
    public bool Equals(ReferenceProfile? other) =>
        other is not null && FormatVersion == other.FormatVersion && Rows == other.Rows && Columns.SequenceEqual(other.Columns);

    /// <summary>A hash consistent with <see cref="Equals(ReferenceProfile?)"/>.</summary>
    public override int GetHashCode() => HashCode.Combine(FormatVersion, Rows, Columns.Count);
}

/// <summary>The profile of one column.</summary>
public sealed record ColumnProfile
{
    /// <summary>The column's name.</summary>
    public required string Name { get; init; }

    /// <summary>Numeric, categorical or text.</summary>
    public ColumnKind Kind { get; init; }

    /// <summary>Feature, prediction or target.</summary>
    public ColumnRole Role { get; init; }

    /// <summary>Values present.</summary>
    public long Count { get; init; }

    /// <summary>Values missing (NaN or null).</summary>
    public long Missing { get; init; }

    /// <summary>The numeric summary, for numeric columns.</summary>
    public NumericProfile? Numeric { get; init; }

    /// <summary>Category frequencies, for categorical columns.</summary>
    public CategoricalProfile? Categorical { get; init; }

    /// <summary>Length and embedding summary, for text columns.</summary>
    public TextProfile? Text { get; init; }

    internal string? Problem()
    {
        if (Count < 0 || Missing < 0) return "negative counts";
        return Kind switch
        {
            ColumnKind.Numeric when Numeric is null => "a numeric column without its numeric summary",
            ColumnKind.Numeric => Numeric.Problem(Count),
            ColumnKind.Categorical when Categorical is null => "a categorical column without its frequencies",
            ColumnKind.Categorical => Categorical.Top.Sum(t => t.Count) + Categorical.Other != Count
                ? "category counts do not add up to the column's count"
                : null,
            ColumnKind.Text when Text is null => "a text column without its text summary",
            ColumnKind.Text => Text.Length.Problem(Count),
            _ => $"unknown kind {Kind}",
        };
    }
}

/// <summary>Summary of a numeric column's present values.</summary>
public sealed record NumericProfile
{
    /// <summary>Mean (0 when there are no values).</summary>
    public double Mean { get; init; }

    /// <summary>Sample standard deviation (ddof = 1; 0 for fewer than two values).</summary>
    public double Std { get; init; }

    /// <summary>Smallest value (NaN when there are none).</summary>
    public double Min { get; init; }

    /// <summary>Largest value (NaN when there are none).</summary>
    public double Max { get; init; }

    /// <summary>Σ (x - mean)²: carried so merges add variances exactly (Chan et al.).</summary>
    public double SumSquaredDeviations { get; init; }

    /// <summary>Quantiles at <see cref="QuantileProbabilities"/> (exact when <see cref="Values"/> is kept, else from the sketch).</summary>
    public IReadOnlyList<double> Quantiles { get; init; } = [];

    /// <summary>The probabilities of <see cref="Quantiles"/>: 1%, 5%, 25%, 50%, 75%, 95%, 99%.</summary>
    public static IReadOnlyList<double> QuantileProbabilities { get; } = [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99];

    /// <summary>The histogram on the reference's fixed edges.</summary>
    public Histogram Histogram { get; init; } = new();

    /// <summary>Distinct values and their counts, ascending, while the column has few; null once it has more.</summary>
    public IReadOnlyList<ValueCount>? DistinctValues { get; init; }

    /// <summary>The mergeable quantile sketch.</summary>
    public QuantileSketch Sketch { get; init; } = new();

    /// <summary>Every present value, ascending, when there are at most <see cref="ProfileOptions.ExactValuesLimit"/>; null otherwise.</summary>
    [JsonConverter(typeof(PackedDoublesConverter))]
    public double[]? Values { get; init; }

    /// <summary>Equal when every field is equal, arrays element by element.</summary>
    public bool Equals(NumericProfile? other) =>
        other is not null
        && Same(Mean, other.Mean) && Same(Std, other.Std) && Same(Min, other.Min) && Same(Max, other.Max)
        && Same(SumSquaredDeviations, other.SumSquaredDeviations)
        && Quantiles.SequenceEqual(other.Quantiles)
        && Histogram.Equals(other.Histogram)
        && (DistinctValues is null ? other.DistinctValues is null : other.DistinctValues is not null && DistinctValues.SequenceEqual(other.DistinctValues))
        && Sketch.Equals(other.Sketch)
        && (Values is null ? other.Values is null : other.Values is not null && Values.AsSpan().SequenceEqual(other.Values));

    private static bool Same(double a, double b) => a.Equals(b);

    /// <summary>A hash consistent with <see cref="Equals(NumericProfile?)"/>.</summary>
    public override int GetHashCode() => HashCode.Combine(Mean, Std, Min, Max);

    internal string? Problem(long count)
    {
        if (Histogram.Counts.Count != Histogram.Edges.Count + 1) return "histogram counts do not match its edges";
        for (var i = 1; i < Histogram.Edges.Count; i++)
        {
            if (!(Histogram.Edges[i] > Histogram.Edges[i - 1])) return "histogram edges are not strictly increasing";
        }
        if (Histogram.Counts.Sum() != count) return "histogram counts do not add up to the column's count";
        if (Values is not null && Values.Length != count) return "kept values do not match the column's count";
        if (Sketch.N != count) return "the quantile sketch does not cover the column's count";
        return null;
    }
}

/// <summary>A value and how often it occurs.</summary>
/// <param name="Value">The value.</param>
/// <param name="Count">Its number of occurrences.</param>
public sealed record ValueCount(double Value, long Count);

/// <summary>A category and how often it occurs.</summary>
/// <param name="Category">The category.</param>
/// <param name="Count">Its number of occurrences.</param>
public sealed record CategoryCount(string Category, long Count);

/// <summary>
/// Counts on fixed edges: bin 0 is (-∞, e0), bin i is [e(i-1), e(i)), the last is [e(last), +∞), so values beyond the
/// reference's range still land somewhere.
/// </summary>
public sealed record Histogram
{
    /// <summary>Interior edges, strictly increasing.</summary>
    [JsonConverter(typeof(PackedDoubleListConverter))]
    public IReadOnlyList<double> Edges { get; init; } = [];

    /// <summary>Counts per bin: one more than there are edges.</summary>
    public IReadOnlyList<long> Counts { get; init; } = [0];

    /// <summary>Equal when edges and counts are equal element by element.</summary>
    public bool Equals(Histogram? other) =>
        other is not null && Edges.SequenceEqual(other.Edges) && Counts.SequenceEqual(other.Counts);

    /// <summary>A hash consistent with <see cref="Equals(Histogram?)"/>.</summary>
    public override int GetHashCode() => HashCode.Combine(Edges.Count, Counts.Count);

    /// <summary>The bin index of <paramref name="x"/>: the number of edges at or below it.</summary>
    internal static int BinOf(double[] edges, double x)
    {
        int lo = 0, hi = edges.Length;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (edges[mid] <= x) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }
}

/// <summary>Category frequencies: the most frequent categories by name, the rest as one "other" count.</summary>
public sealed record CategoricalProfile
{
    /// <summary>Categories by descending count (ties by name).</summary>
    public IReadOnlyList<CategoryCount> Top { get; init; } = [];

    /// <summary>Count of values in categories not listed in <see cref="Top"/>.</summary>
    public long Other { get; init; }

    /// <summary>Equal when the categories, counts and other count are equal.</summary>
    public bool Equals(CategoricalProfile? other) =>
        other is not null && Other == other.Other && Top.SequenceEqual(other.Top);

    /// <summary>A hash consistent with <see cref="Equals(CategoricalProfile?)"/>.</summary>
    public override int GetHashCode() => HashCode.Combine(Other, Top.Count);
}

/// <summary>Summary of a text column: its length in characters and, when embeddings were given, their mean and spread.</summary>
public sealed record TextProfile
{
    /// <summary>Length in characters, summarised as a numeric column.</summary>
    public NumericProfile Length { get; init; } = new();

    /// <summary>Mean vector and per-dimension variance of the embeddings; null when none were given.</summary>
    public EmbeddingSummary? Embedding { get; init; }
}

/// <summary>Mean vector and diagonal of the covariance of a set of embeddings, mergeable by Chan's formulas.</summary>
public sealed record EmbeddingSummary
{
    /// <summary>Number of embeddings summarised.</summary>
    public long Count { get; init; }

    /// <summary>Per-dimension mean.</summary>
    [JsonConverter(typeof(PackedDoublesConverter))]
    public double[] Mean { get; init; } = [];

    /// <summary>Per-dimension Σ (x - mean)²; divide by Count - 1 for the sample variance.</summary>
    [JsonConverter(typeof(PackedDoublesConverter))]
    public double[] SumSquaredDeviations { get; init; } = [];

    /// <summary>Per-dimension sample variance (the covariance diagonal).</summary>
    [JsonIgnore]
    public double[] Variance => SumSquaredDeviations.Select(s => Count > 1 ? s / (Count - 1) : 0).ToArray();

    /// <summary>Equal when the count and both vectors are equal.</summary>
    public bool Equals(EmbeddingSummary? other) =>
        other is not null && Count == other.Count && Mean.AsSpan().SequenceEqual(other.Mean)
        && SumSquaredDeviations.AsSpan().SequenceEqual(other.SumSquaredDeviations);

    /// <summary>A hash consistent with <see cref="Equals(EmbeddingSummary?)"/>.</summary>
    public override int GetHashCode() => HashCode.Combine(Count, Mean.Length);
}

/// <summary>Profiles are written compactly (no indentation): they are read by programs, and size is a goal.</summary>
internal static class ProfileJson
{
    internal static readonly JsonSerializerOptions Options = new(ForgeJson.Options) { WriteIndented = false };
}
