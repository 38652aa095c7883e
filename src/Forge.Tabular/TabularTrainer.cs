using System.Collections;
using System.Globalization;
using System.Reflection;
using Forge.Core;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers;
using Microsoft.ML.Trainers.FastTree;
using Microsoft.ML.Trainers.LightGbm;
using Microsoft.ML.Transforms;

namespace Forge.Tabular;

/// <summary>Fits tabular models with ML.NET: options and labelled data in, an immutable <see cref="TabularModel"/> out.</summary>
public static class TabularTrainer
{
    internal const string FeaturesColumn = "__features";

    /// <summary>More distinct numeric labels than this make an inferred task a regression.</summary>
    public const int MaxClassesForInference = 20;

    /// <summary>
    /// The task the label calls for: <paramref name="requested"/> when given (checked against the label), else inferred.
    /// A label with one value only is refused, naming the file and column.
    /// </summary>
    public static (TabularTask Task, IReadOnlyList<string> Labels) ResolveTask(TabularData data, TabularTask? requested)
    {
        ArgumentNullException.ThrowIfNull(data);
        var labels = data.Labels ?? throw new UsageException($"{data.Source}: no label column was read");
        var distinct = labels.Distinct(StringComparer.Ordinal).ToArray();
        var numeric = distinct.All(l => TabularCsv.TryNumber(l, out _));
        if (requested == TabularTask.Regression || (requested is null && numeric && distinct.Length > MaxClassesForInference))
        {
            for (var i = 0; i < labels.Count; i++)
            {
                if (!TabularCsv.TryNumber(labels[i], out _))
                    throw new DataFormatException(data.Source, $"line {data.Lines[i]}, column '{data.LabelName}': '{labels[i]}' is not a number, and a regression label must be");
            }
            return (TabularTask.Regression, []);
        }
        if (distinct.Length < 2)
            throw new DataFormatException(data.Source, $"column '{data.LabelName}': the label has one class only ('{distinct.FirstOrDefault()}'); a classifier needs at least two");
        // Numbers sort as numbers ("2" before "10"); otherwise ordinal, which puts ">50K" after "<=50K" and "yes" after "no".
        var sorted = numeric
            ? distinct.OrderBy(l => double.Parse(l, CultureInfo.InvariantCulture)).ThenBy(l => l, StringComparer.Ordinal).ToArray()
            : distinct.Order(StringComparer.Ordinal).ToArray();
        if (requested == TabularTask.Binary && sorted.Length != 2)
            throw new DataFormatException(data.Source, $"column '{data.LabelName}': a binary task needs two classes; the label has {sorted.Length} ({string.Join(", ", sorted.Take(5))}{(sorted.Length > 5 ? ", …" : "")})");
        return (requested ?? (sorted.Length == 2 ? TabularTask.Binary : TabularTask.Multiclass), sorted);
    }

    /// <summary>Fits a model to <paramref name="train"/>; the task is resolved from its label (see <see cref="ResolveTask"/>).</summary>
    public static TabularModel Fit(TabularData train, TabularOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var (task, labels) = ResolveTask(train, options.Task);
        var ml = new MLContext(options.Seed);
        var label = task switch
        {
            TabularTask.Binary => TableDataView.Label.Binary([.. train.Labels!.Select(l => l == labels[1])]),
            TabularTask.Multiclass => TableDataView.Label.Classes(ClassKeys(train.Labels!, labels), labels.Count),
            _ => TableDataView.Label.Numbers([.. train.Labels!.Select(l => (float)double.Parse(l, CultureInfo.InvariantCulture))]),
        };
        var view = TableDataView.Create(train.Features, train.Schema, label);
        var (pipeline, slots) = Pipeline(ml, train.Schema, task, options);
        cancellationToken.ThrowIfCancellationRequested();
        var transformer = pipeline.Fit(view);
        cancellationToken.ThrowIfCancellationRequested();
        var importance = Importance(transformer, view, train.Schema, slots);
        return new TabularModel(ml, transformer, train.Schema, task, labels, train.LabelName!, options.Learner, importance);
    }

    /// <summary>Each row's class as a key 1…K (0 is ML.NET's missing key), in the order of <paramref name="labels"/>.</summary>
    internal static uint[] ClassKeys(IReadOnlyList<string> rows, IReadOnlyList<string> labels)
    {
        var index = labels.Select((l, i) => (l, i)).ToDictionary(p => p.l, p => (uint)p.i + 1, StringComparer.Ordinal);
        return [.. rows.Select(l => index[l])];
    }

    private static (IEstimator<ITransformer> Pipeline, List<(string Feature, string Column)> Slots) Pipeline(
        MLContext ml, IReadOnlyList<FeatureInfo> features, TabularTask task, TabularOptions o)
    {
        IEstimator<ITransformer> chain = new EstimatorChain<ITransformer>();
        var numeric = features.Select((f, i) => (f, i)).Where(p => p.f.Kind == FeatureKind.Numeric).Select(p => (p.f.Name, Column: TableDataView.ViewName(p.i))).ToList();
        var categorical = features.Select((f, i) => (f, i)).Where(p => p.f.Kind == FeatureKind.Categorical)
            .Select(p => (p.f.Name, Input: TableDataView.ViewName(p.i), Column: "c" + p.i.ToString(CultureInfo.InvariantCulture))).ToList();
        if (categorical.Count > 0)
        {
            chain = chain.Append(ml.Transforms.Categorical.OneHotEncoding(
                [.. categorical.Select(c => new InputOutputColumnPair(c.Column, c.Input))], OneHotEncodingEstimator.OutputKind.Indicator));
        }
        // LightGBM learns where missing values go; FastTree and the linear model get the training mean instead.
        if (o.Learner != TabularLearner.LightGbm && numeric.Count > 0)
        {
            chain = chain.Append(ml.Transforms.ReplaceMissingValues(
                [.. numeric.Select(n => new InputOutputColumnPair(n.Column, n.Column))], MissingValueReplacingEstimator.ReplacementMode.Mean));
        }
        var slots = numeric.Select(n => (n.Name, n.Column)).Concat(categorical.Select(c => (c.Name, c.Column))).ToList();
        chain = chain.Append(ml.Transforms.Concatenate(FeaturesColumn, [.. slots.Select(s => s.Column)]));
        if (o.Learner == TabularLearner.Linear) chain = chain.Append(ml.Transforms.NormalizeMinMax(FeaturesColumn));
        return (chain.Append(Learner(ml, task, o)), slots);
    }

    private static IEstimator<ITransformer> Learner(MLContext ml, TabularTask task, TabularOptions o)
    {
        const string label = TableDataView.LabelColumn;
        var threads = o.EffectiveThreads;
        switch (o.Learner)
        {
            case TabularLearner.LightGbm:
                // Deterministic with a fixed thread count: the same seed gives the same trees, run after run.
                var booster = new GradientBooster.Options { FeatureFraction = o.FeatureFraction };
                return task switch
                {
                    TabularTask.Binary => ml.BinaryClassification.Trainers.LightGbm(new LightGbmBinaryTrainer.Options
                    {
                        LabelColumnName = label, FeatureColumnName = FeaturesColumn, NumberOfIterations = o.Trees, NumberOfLeaves = o.Leaves,
                        LearningRate = o.LearningRate, MinimumExampleCountPerLeaf = o.MinDataPerLeaf, Booster = booster, Seed = o.Seed,
                        Deterministic = true, ForceColumnWise = true, NumberOfThreads = threads, Silent = true,
                    }),
                    TabularTask.Multiclass => ml.MulticlassClassification.Trainers.LightGbm(new LightGbmMulticlassTrainer.Options
                    {
                        LabelColumnName = label, FeatureColumnName = FeaturesColumn, NumberOfIterations = o.Trees, NumberOfLeaves = o.Leaves,
                        LearningRate = o.LearningRate, MinimumExampleCountPerLeaf = o.MinDataPerLeaf, Booster = booster, Seed = o.Seed,
                        Deterministic = true, ForceColumnWise = true, NumberOfThreads = threads, Silent = true, UseSoftmax = true,
                    }),
                    _ => ml.Regression.Trainers.LightGbm(new LightGbmRegressionTrainer.Options
                    {
                        LabelColumnName = label, FeatureColumnName = FeaturesColumn, NumberOfIterations = o.Trees, NumberOfLeaves = o.Leaves,
                        LearningRate = o.LearningRate, MinimumExampleCountPerLeaf = o.MinDataPerLeaf, Booster = booster, Seed = o.Seed,
                        Deterministic = true, ForceColumnWise = true, NumberOfThreads = threads, Silent = true,
                    }),
                };
            case TabularLearner.FastTree:
                var binary = new FastTreeBinaryTrainer.Options
                {
                    LabelColumnName = label, FeatureColumnName = FeaturesColumn, NumberOfTrees = o.Trees, NumberOfLeaves = o.Leaves,
                    LearningRate = o.LearningRate, MinimumExampleCountPerLeaf = o.MinDataPerLeaf, FeatureFraction = o.FeatureFraction,
                    Seed = o.Seed, FeatureSelectionSeed = o.Seed, NumberOfThreads = threads,
                };
                return task switch
                {
                    TabularTask.Binary => ml.BinaryClassification.Trainers.FastTree(binary),
                    TabularTask.Multiclass => ml.MulticlassClassification.Trainers.OneVersusAll(ml.BinaryClassification.Trainers.FastTree(binary), label),
                    _ => ml.Regression.Trainers.FastTree(new FastTreeRegressionTrainer.Options
                    {
                        LabelColumnName = label, FeatureColumnName = FeaturesColumn, NumberOfTrees = o.Trees, NumberOfLeaves = o.Leaves,
                        LearningRate = o.LearningRate, MinimumExampleCountPerLeaf = o.MinDataPerLeaf, FeatureFraction = o.FeatureFraction,
                        Seed = o.Seed, FeatureSelectionSeed = o.Seed, NumberOfThreads = threads,
                    }),
                };
            default:
                // One thread: the linear learners' parallel sums would otherwise change the last bits from run to run.
                return task switch
                {
                    TabularTask.Binary => ml.BinaryClassification.Trainers.LbfgsLogisticRegression(new LbfgsLogisticRegressionBinaryTrainer.Options
                    {
                        LabelColumnName = label, FeatureColumnName = FeaturesColumn, L2Regularization = (float)o.L2, NumberOfThreads = 1,
                    }),
                    TabularTask.Multiclass => ml.MulticlassClassification.Trainers.LbfgsMaximumEntropy(new LbfgsMaximumEntropyMulticlassTrainer.Options
                    {
                        LabelColumnName = label, FeatureColumnName = FeaturesColumn, L2Regularization = (float)o.L2, NumberOfThreads = 1,
                    }),
                    _ => ml.Regression.Trainers.Sdca(new SdcaRegressionTrainer.Options
                    {
                        LabelColumnName = label, FeatureColumnName = FeaturesColumn, NumberOfThreads = 1, Shuffle = true,
                    }),
                };
        }
    }

    /// <summary>Gain (trees) or |weight| (linear) per feature, from the slots each feature's columns fill in the feature vector.</summary>
    private static Dictionary<string, double> Importance(ITransformer transformer, IDataView view, IReadOnlyList<FeatureInfo> features,
        List<(string Feature, string Column)> slots)
    {
        var result = features.ToDictionary(f => f.Name, _ => 0.0, StringComparer.Ordinal);
        var schema = transformer.GetOutputSchema(view.Schema);
        var owner = new List<string>();
        foreach (var (feature, column) in slots)
        {
            var size = schema[column].Type is VectorDataViewType v ? v.Size : 1;
            for (var k = 0; k < size; k++) owner.Add(feature);
        }
        var last = transformer is TransformerChain<ITransformer> chain ? chain.LastTransformer : transformer;
        var model = last.GetType().GetProperty("Model")?.GetValue(last);
        var any = false;
        foreach (var part in Parts(model))
        {
            if (part is TreeEnsembleModelParametersBasedOnRegressionTree trees)
            {
                foreach (var tree in trees.TrainedTreeEnsemble.Trees)
                {
                    for (var node = 0; node < tree.NumberOfNodes; node++)
                    {
                        var slot = tree.NumericalSplitFeatureIndexes[node];
                        if (slot >= 0 && slot < owner.Count) result[owner[slot]] += tree.SplitGains[node];
                    }
                }
                any = true;
            }
            else if (part is LinearModelParameters linear)
            {
                var w = linear.Weights;
                for (var slot = 0; slot < w.Count && slot < owner.Count; slot++) result[owner[slot]] += Math.Abs(w[slot]);
                any = true;
            }
        }
        return any ? result : [];
    }

    // Calibrated and one-versus-all models wrap the ones that hold trees or weights.
    private static IEnumerable<object> Parts(object? model)
    {
        if (model is null) yield break;
        yield return model;
        foreach (var name in new[] { "SubModel", "SubModelParameters" })
        {
            // A generic base and its subclass may both declare the property; they return the same object.
            // OneVersusAllModelParameters keeps its per-class models in an internal property: read by reflection, and
            // an ML.NET that renames it costs only the importance of multiclass models, not training.
            var value = model.GetType().GetProperties(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance)
                .FirstOrDefault(p => p.Name == name && p.GetIndexParameters().Length == 0)?.GetValue(model);
            if (value is IEnumerable many)
            {
                foreach (var item in many) foreach (var p in Parts(item)) yield return p;
            }
            else
            {
                foreach (var p in Parts(value)) yield return p;
            }
        }
    }
}
