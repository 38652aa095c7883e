using System.Text.Json;
using Forge.Core;

namespace Forge.Monitoring;

/// <summary>
/// The outcome of a drift comparison: the dataset verdict over feature columns, every column's test, and the
/// prediction and target drift. Serialises (camelCase) with <c>datasetDrift</c>, <c>driftShare</c> and
/// <c>columns[]</c> {<c>name</c>, <c>test</c>, <c>statistic</c>, <c>pValue</c>, <c>drifted</c>}.
/// </summary>
public sealed record DriftResult
{
    /// <summary>Whether the share of drifted feature columns reached <see cref="DriftShareThreshold"/>.</summary>
    public bool DatasetDrift { get; init; }

    /// <summary>Drifted feature columns divided by feature columns tested (0 when there are none).</summary>
    public double DriftShare { get; init; }

    /// <summary>Number of drifted feature columns.</summary>
    public int DriftedColumns { get; init; }

    /// <summary>The share at which the dataset counts as drifted.</summary>
    public double DriftShareThreshold { get; init; }

    /// <summary>Rows in the reference (missing values included).</summary>
    public long ReferenceRows { get; init; }

    /// <summary>Rows in the current data.</summary>
    public long CurrentRows { get; init; }

    /// <summary>Feature columns, in the reference's order.</summary>
    public IReadOnlyList<ColumnDrift> Columns { get; init; } = [];

    /// <summary>Prediction columns (labels, probabilities or values).</summary>
    public IReadOnlyList<ColumnDrift> Predictions { get; init; } = [];

    /// <summary>Whether any prediction column drifted; null when there is none.</summary>
    public bool? PredictionDrift { get; init; }

    /// <summary>Target columns.</summary>
    public IReadOnlyList<ColumnDrift> Targets { get; init; } = [];

    /// <summary>Whether any target column drifted; null when there is none.</summary>
    public bool? TargetDrift { get; init; }

    /// <summary>When the comparison was made.</summary>
    public DateTimeOffset ComputedAt { get; init; }

    /// <summary>Every column result: features, then predictions, then targets.</summary>
    public IEnumerable<ColumnDrift> AllColumns() => Columns.Concat(Predictions).Concat(Targets);

    /// <summary>The result as indented camelCase JSON.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, ForgeJson.Options);

    /// <summary>Reads a result written by <see cref="ToJson"/>.</summary>
    public static DriftResult FromJson(string json) =>
        JsonSerializer.Deserialize<DriftResult>(json, ForgeJson.Options) ?? throw new DataFormatException("drift result", "empty JSON");
}

/// <summary>One column's drift test.</summary>
public sealed record ColumnDrift
{
    /// <summary>The column's name.</summary>
    public required string Name { get; init; }

    /// <summary>Numeric, categorical or text.</summary>
    public ColumnKind Kind { get; init; }

    /// <summary>Feature, prediction or target.</summary>
    public ColumnRole Role { get; init; }

    /// <summary>The test run ("ks", "chisquare", "z", "wasserstein", "jensenshannon", "psi", "embedding_distance"), or "missing" for an empty column.</summary>
    public required string Test { get; init; }

    /// <summary>The test statistic: D, χ², z, or the distance / index itself.</summary>
    public double Statistic { get; init; }

    /// <summary>The p-value for KS, chi-squared and Z; null for distances.</summary>
    public double? PValue { get; init; }

    /// <summary>The threshold the p-value or distance was compared with.</summary>
    public double Threshold { get; init; }

    /// <summary>Whether the column drifted.</summary>
    public bool Drifted { get; init; }

    /// <summary>The number compared with the threshold: the p-value for tests, the distance otherwise (a gauge value).</summary>
    public double Score => PValue ?? Statistic;

    /// <summary>How the statistic was computed: "exact", "asymptotic", "binned" (through the reference's histogram) and the like.</summary>
    public string? Method { get; init; }

    /// <summary>For PSI: "none" (&lt; 0.1), "moderate" (0.1–0.25) or "major" (≥ 0.25).</summary>
    public string? PsiBand { get; init; }

    /// <summary>Present values in the reference.</summary>
    public long ReferenceCount { get; init; }

    /// <summary>Present values in the current data.</summary>
    public long CurrentCount { get; init; }

    /// <summary>Share of the current rows that are missing.</summary>
    public double CurrentMissingShare { get; init; }

    /// <summary>What else a reader should know (e.g. that a text column was tested on its length).</summary>
    public string? Note { get; init; }

    /// <summary>Reference and current shares per bin or category, for plots.</summary>
    public DriftHistogram? Histogram { get; init; }
}

/// <summary>Shares of the reference and the current data per bin (numeric) or per category.</summary>
public sealed record DriftHistogram
{
    /// <summary>Bin or category labels.</summary>
    public IReadOnlyList<string> Labels { get; init; } = [];

    /// <summary>For numeric columns, the bin bounds (one more than there are bins); the outer ones are the data's min and max.</summary>
    public IReadOnlyList<double>? Edges { get; init; }

    /// <summary>Reference share per bin.</summary>
    public IReadOnlyList<double> Reference { get; init; } = [];

    /// <summary>Current share per bin.</summary>
    public IReadOnlyList<double> Current { get; init; } = [];
}
