using System.Text.Json;
using System.Text.Json.Nodes;
using Forge.Core;

namespace Forge.Tabular;

/// <summary>Reads <c>mlnet-tabular</c> bundles back into <see cref="TabularModel"/>s.</summary>
public static class TabularBundle
{
    /// <summary>Whether the bundle holds a tabular model this Forge reads.</summary>
    public static bool IsTabular(ModelManifest manifest)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        return manifest.Flavor == ModelFlavors.MlNetTabular
            && manifest.Model?["kind"] is JsonValue kind && kind.GetValueKind() == JsonValueKind.String
            && Enum.TryParse<TabularLearner>(kind.GetValue<string>(), ignoreCase: true, out _);
    }

    /// <summary>Loads the model of a verified bundle; a bundle of another kind is a <see cref="BundleException"/>.</summary>
    public static TabularModel Load(ModelBundle bundle)
    {
        ArgumentNullException.ThrowIfNull(bundle);
        var m = bundle.Manifest;
        var manifestPath = Path.Combine(bundle.Directory, ModelBundle.ManifestFileName);
        if (!IsTabular(m)) throw new BundleException(manifestPath, $"is a {m.Flavor} bundle, not an {ModelFlavors.MlNetTabular} model");
        var p = m.Preprocessing;
        if (!Enum.TryParse<TabularTask>(p["task"]?.GetValue<string>(), ignoreCase: true, out var task))
            throw new BundleException(manifestPath, "preprocessing.task is missing or unknown");
        var learner = Enum.Parse<TabularLearner>(m.Model!["kind"]!.GetValue<string>(), ignoreCase: true);
        var label = p["label"]?.GetValue<string>() ?? throw new BundleException(manifestPath, "preprocessing.label is missing");
        var features = m.Signature.Inputs.Select(FeatureInfo.FromTensorSpec).ToArray();
        var importance = new Dictionary<string, double>(StringComparer.Ordinal);
        if (m.Model["importance"] is JsonObject imp) foreach (var (k, v) in imp) importance[k] = v!.GetValue<double>();
        return TabularModel.LoadWeights(bundle.GetPath(TabularTraining.WeightsFile), features, task, m.Signature.Labels, label, learner, importance);
    }

    /// <summary>How the bundle's training file was read, for reading files shaped like it (the label included when <paramref name="withLabel"/>).</summary>
    public static TabularCsvOptions CsvOptions(ModelManifest manifest, bool withLabel, bool hasHeader = true)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        var p = manifest.Preprocessing;
        return new TabularCsvOptions
        {
            Label = withLabel ? p["label"]?.GetValue<string>() : null,
            MissingValues = p["missingValues"] is JsonArray mv ? [.. mv.Select(v => v!.GetValue<string>())] : ["", "?"],
            TrimFields = p["trimFields"]?.GetValue<bool>() ?? true,
            ColumnNames = !hasHeader && p["columnNames"] is JsonArray cn ? [.. cn.Select(v => v!.GetValue<string>())] : null,
        };
    }
}
