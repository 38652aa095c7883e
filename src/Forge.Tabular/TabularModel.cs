using System.Collections.Concurrent;
using Forge.Core;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Forge.Tabular;

/// <summary>
/// A fitted tabular model: an ML.NET pipeline (one-hot encoding, missing-value handling, the learner) over named feature
/// columns. It takes a <see cref="Table"/> with one column per feature; a category not seen in training is answered (it
/// encodes as no category) and counted in <see cref="UnseenCategories"/>. Immutable apart from those counts.
/// </summary>
public sealed class TabularModel : Forge.Core.IPredictor
{
    private readonly MLContext _ml;
    private readonly ITransformer _transformer;
    private readonly HashSet<string>[] _known;
    private readonly ConcurrentDictionary<string, long> _unseen = new(StringComparer.Ordinal);

    internal TabularModel(MLContext ml, ITransformer transformer, IReadOnlyList<FeatureInfo> features, TabularTask task,
        IReadOnlyList<string> labels, string labelName, TabularLearner learner, IReadOnlyDictionary<string, double> importance)
    {
        _ml = ml;
        _transformer = transformer;
        Features = features;
        Task = task;
        Labels = labels;
        LabelName = labelName;
        Learner = learner;
        Importance = importance;
        _known = [.. features.Select(f => new HashSet<string>(f.Categories, StringComparer.Ordinal))];
        Signature = new ModelSignature(
            [.. features.Select(f => f.ToTensorSpec())],
            task == TabularTask.Regression
                ? [new TensorSpec(ValueOutput, "float64", [-1])]
                : [new TensorSpec(ProbabilitiesOutput, "float32", [-1, labels.Count])],
            task == TabularTask.Regression ? [] : labels);
    }

    /// <summary>The output of a classifier: each row's probability of every label.</summary>
    public const string ProbabilitiesOutput = "probabilities";

    /// <summary>The output of a regression: each row's value.</summary>
    public const string ValueOutput = "value";

    /// <inheritdoc />
    public ModelSignature Signature { get; }

    /// <summary>The features, in the order of the signature's inputs.</summary>
    public IReadOnlyList<FeatureInfo> Features { get; }

    /// <summary>Binary, multiclass or regression.</summary>
    public TabularTask Task { get; }

    /// <summary>The class labels in order (the positive one second for binary); empty for a regression.</summary>
    public IReadOnlyList<string> Labels { get; }

    /// <summary>The name of the label column the model was trained on.</summary>
    public string LabelName { get; }

    /// <summary>The learner.</summary>
    public TabularLearner Learner { get; }

    /// <summary>
    /// Per feature: the total split gain of its splits over every tree (trees), or the sum of |weight| over its min-max
    /// scaled inputs (linear binary and regression); empty when unknown.
    /// </summary>
    public IReadOnlyDictionary<string, double> Importance { get; }

    /// <summary>How many category values unseen in training each categorical feature has been given so far.</summary>
    public IReadOnlyDictionary<string, long> UnseenCategories => new Dictionary<string, long>(_unseen, StringComparer.Ordinal);

    /// <summary>Raised after a prediction that met unseen categories: the feature and how many of its values were unseen.</summary>
    public event Action<string, int>? UnseenCategory;

    /// <inheritdoc />
    public Prediction Predict(Table batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        CountUnseen(batch);
        var view = TableDataView.Create(batch, Features);
        var output = _transformer.Transform(view);
        switch (Task)
        {
            case TabularTask.Binary:
            {
                var p = output.GetColumn<float>("Probability").ToArray();
                return Prediction.Classes(Labels, [.. p.Select(v => new[] { 1 - v, v })]);
            }
            case TabularTask.Multiclass:
            {
                var rows = output.GetColumn<VBuffer<float>>("Score").Select(s =>
                {
                    var dense = s.DenseValues().ToArray();
                    // One-versus-all gives each class its own calibrated probability; they need not add up to 1.
                    var sum = dense.Sum();
                    if (sum > 0) for (var k = 0; k < dense.Length; k++) dense[k] /= sum;
                    return dense;
                }).ToArray();
                return Prediction.Classes(Labels, rows);
            }
            default:
                return Prediction.Regression([.. output.GetColumn<float>("Score").Select(v => (double)v)]);
        }
    }

    /// <summary>The fitted ML.NET pipeline, for converters that read its trees.</summary>
    internal ITransformer Transformer => _transformer;

    /// <summary>The ML.NET context the pipeline runs in.</summary>
    internal MLContext Context => _ml;

    /// <summary>Writes the ML.NET model (a zip) to <paramref name="path"/>.</summary>
    public void SaveWeights(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        _ml.Model.Save(_transformer, TableDataView.FeatureSchema(Features), path);
    }

    internal static TabularModel LoadWeights(string path, IReadOnlyList<FeatureInfo> features, TabularTask task, IReadOnlyList<string> labels,
        string labelName, TabularLearner learner, IReadOnlyDictionary<string, double> importance)
    {
        var ml = new MLContext(0);
        ITransformer transformer;
        try
        {
            transformer = ml.Model.Load(path, out _);
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or InvalidDataException or IOException)
        {
            throw new BundleException(path, $"not a readable ML.NET model: {e.Message}", e);
        }
        return new TabularModel(ml, transformer, features, task, labels, labelName, learner, importance);
    }

    /// <summary>Nothing native is held; disposing is a no-op kept for <see cref="Forge.Core.IPredictor"/>.</summary>
    public void Dispose() { }

    private void CountUnseen(Table batch)
    {
        for (var i = 0; i < Features.Count; i++)
        {
            if (Features[i].Kind != FeatureKind.Categorical || !batch.Schema.Contains(Features[i].Name)) continue;
            var column = batch[Features[i].Name];
            var unseen = 0;
            for (var r = 0; r < column.Length; r++)
            {
                var v = column.GetValue(r);
                if (v is null) continue;
                var text = v as string ?? Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture)!;
                if (!_known[i].Contains(text)) unseen++;
            }
            if (unseen == 0) continue;
            _unseen.AddOrUpdate(Features[i].Name, unseen, (_, n) => n + unseen);
            UnseenCategory?.Invoke(Features[i].Name, unseen);
        }
    }
}
