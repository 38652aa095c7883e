using System.Text.Json.Serialization;
using Forge.Core;

namespace Forge.Monitoring;

/// <summary>A data-drift test; <see cref="Auto"/> lets the size and kind of the data choose (see <see cref="TestSelection"/>).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<DriftTest>))]
public enum DriftTest
{
    /// <summary>Chosen per column by <see cref="DriftOptions.Selection"/>.</summary>
    [JsonStringEnumMemberName("auto")] Auto,

    /// <summary>Two-sample Kolmogorov–Smirnov p-value (numeric; default threshold 0.05, drift when p ≤ threshold).</summary>
    [JsonStringEnumMemberName("ks")] KolmogorovSmirnov,

    /// <summary>Chi-squared test of homogeneity of the reference and current counts (categorical; 0.05, drift when p &lt; threshold).</summary>
    [JsonStringEnumMemberName("chisquare")] ChiSquared,

    /// <summary>Two-proportion Z-test p-value (binary; 0.05, drift when p &lt; threshold).</summary>
    [JsonStringEnumMemberName("z")] ZTest,

    /// <summary>Wasserstein distance divided by the reference's standard deviation (numeric; 0.1, drift when ≥).</summary>
    [JsonStringEnumMemberName("wasserstein")] Wasserstein,

    /// <summary>Jensen–Shannon distance, base 2 (any kind; 0.1, drift when ≥).</summary>
    [JsonStringEnumMemberName("jensenshannon")] JensenShannon,

    /// <summary>Population stability index (any kind; 0.1, drift when ≥; 0.25 and above is a major shift).</summary>
    [JsonStringEnumMemberName("psi")] Psi,

    /// <summary>Euclidean distance between the mean embeddings (text with embeddings; 0.2, drift when ≥).</summary>
    [JsonStringEnumMemberName("embedding_distance")] EmbeddingDistance,
}

/// <summary>How <see cref="DriftTest.Auto"/> picks a test.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<TestSelection>))]
public enum TestSelection
{
    /// <summary>
    /// Evidently's rule. Reference ≤ 1000 values: numeric → KS, or chi-squared (3–5 distinct values) / Z (≤ 2);
    /// categorical → chi-squared (&gt; 2 categories) or Z. Larger: numeric → normed Wasserstein (0.1), or
    /// Jensen–Shannon when ≤ 5 distinct values; categorical → Jensen–Shannon (0.1). A distance threshold flags a change
    /// of a given size whatever the sample size; a p-value flags ever smaller changes as samples grow.
    /// </summary>
    [JsonStringEnumMemberName("evidently")] Evidently,

    /// <summary>Significance tests at every size: KS for numeric columns, chi-squared or Z for categorical ones (α = 0.05).</summary>
    [JsonStringEnumMemberName("significance")] Significance,
}

/// <summary>What to do when a current column has no values at all.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<AllMissingPolicy>))]
public enum AllMissingPolicy
{
    /// <summary>Refuse the comparison, naming every such column (the default for one-off reports).</summary>
    [JsonStringEnumMemberName("fail")] Fail,

    /// <summary>Report the column as drifted with test "missing" (what a live monitor wants: a feed that went empty is drift).</summary>
    [JsonStringEnumMemberName("flagAsDrift")] FlagAsDrift,
}

/// <summary>A per-column choice of test and threshold.</summary>
/// <param name="Test">The test to run on this column.</param>
/// <param name="Threshold">The threshold; null for the test's default.</param>
public sealed record ColumnTestOverride(DriftTest Test, double? Threshold = null);

/// <summary>Options of a drift comparison; the defaults are Evidently's.</summary>
public sealed record DriftOptions
{
    /// <summary>Dataset drift when at least this share of feature columns drifted (default 0.5).</summary>
    public double DriftShareThreshold { get; init; } = 0.5;

    /// <summary>How <see cref="DriftTest.Auto"/> chooses (default <see cref="TestSelection.Evidently"/>).</summary>
    public TestSelection Selection { get; init; } = TestSelection.Evidently;

    /// <summary>References with at most this many values get significance tests under the Evidently rule (default 1000).</summary>
    public int SmallReferenceLimit { get; init; } = 1000;

    /// <summary>A numeric column with at most this many distinct values (both samples together) is tested as categorical (default 5).</summary>
    public int FewValuesLimit { get; init; } = 5;

    /// <summary>Test for every numeric column without an override (default <see cref="DriftTest.Auto"/>).</summary>
    public DriftTest NumericTest { get; init; } = DriftTest.Auto;

    /// <summary>Test for every categorical column without an override (default <see cref="DriftTest.Auto"/>).</summary>
    public DriftTest CategoricalTest { get; init; } = DriftTest.Auto;

    /// <summary>Threshold for every column whose test has no override; null keeps each test's default.</summary>
    public double? Threshold { get; init; }

    /// <summary>Per-column test and threshold, by column name.</summary>
    public IReadOnlyDictionary<string, ColumnTestOverride> Columns { get; init; } = new Dictionary<string, ColumnTestOverride>();

    /// <summary>What to do with a current column that has no values (default <see cref="AllMissingPolicy.Fail"/>).</summary>
    public AllMissingPolicy AllMissing { get; init; } = AllMissingPolicy.Fail;

    /// <summary>Whether each column's result carries the reference and current histograms (for reports; default true).</summary>
    public bool IncludeHistograms { get; init; } = true;

    /// <summary>The default threshold of <paramref name="test"/>.</summary>
    public static double DefaultThreshold(DriftTest test) => test switch
    {
        DriftTest.KolmogorovSmirnov or DriftTest.ChiSquared or DriftTest.ZTest => 0.05,
        DriftTest.EmbeddingDistance => 0.2,
        _ => 0.1,
    };

    /// <summary>Checks every option and reports all problems at once.</summary>
    public void Validate()
    {
        var problems = new List<string>();
        if (!(DriftShareThreshold is > 0 and <= 1)) problems.Add($"DriftShareThreshold must be in (0, 1], got {DriftShareThreshold}");
        if (SmallReferenceLimit < 0) problems.Add($"SmallReferenceLimit must not be negative, got {SmallReferenceLimit}");
        if (FewValuesLimit is < 0 or > 20) problems.Add($"FewValuesLimit must be in [0, 20], got {FewValuesLimit}");
        if (Threshold is { } t && !(t > 0 && double.IsFinite(t))) problems.Add($"Threshold must be positive and finite, got {t}");
        if (NumericTest is DriftTest.ChiSquared or DriftTest.ZTest or DriftTest.EmbeddingDistance)
            problems.Add($"NumericTest cannot be {NumericTest}; use KolmogorovSmirnov, Wasserstein, JensenShannon, Psi or Auto");
        if (CategoricalTest is DriftTest.KolmogorovSmirnov or DriftTest.Wasserstein or DriftTest.EmbeddingDistance)
            problems.Add($"CategoricalTest cannot be {CategoricalTest}; use ChiSquared, ZTest, JensenShannon, Psi or Auto");
        foreach (var (name, o) in Columns ?? new Dictionary<string, ColumnTestOverride>())
        {
            if (o is null) problems.Add($"column '{name}' has a null override");
            else if (o.Threshold is { } ct && !(ct > 0 && double.IsFinite(ct))) problems.Add($"column '{name}': threshold must be positive and finite, got {ct}");
            else if (o.Test is DriftTest.KolmogorovSmirnov or DriftTest.ChiSquared or DriftTest.ZTest && o.Threshold is > 1)
                problems.Add($"column '{name}': a p-value threshold must be at most 1, got {o.Threshold}");
        }
        if (problems.Count > 0) throw new UsageException("invalid drift options: " + string.Join("; ", problems));
    }
}
