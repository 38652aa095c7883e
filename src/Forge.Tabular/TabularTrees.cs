using System.Collections;
using System.Globalization;
using System.Reflection;
using Forge.Core;
using Forge.Explainability;
using Forge.Explainability.Trees;
using Microsoft.ML;
using Microsoft.ML.Calibrators;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers.FastTree;

namespace Forge.Tabular;

/// <summary>
/// Converts the trees of a fitted ML.NET FastTree or LightGBM <see cref="TabularModel"/> into a <see cref="TreeEnsemble"/>
/// over the model's ORIGINAL columns, so exact TreeSHAP explains every tree-based <c>mlnet-tabular</c> bundle.
/// </summary>
/// <remarks>
/// <para>ML.NET sees one-hot slots, not columns. A split on the slot of category c of column X is rewritten as a
/// category split on X ("X is c"); an ML.NET categorical split over several slots of X as "X is one of …". The trees
/// then split on the original columns, and TreeSHAP gives each categorical column one Shapley value (that of the column
/// as a player) rather than a sum over its slots; the values still add up to the raw score exactly.</para>
/// <para>Missing values follow the model: a numeric NaN takes the branch of the training mean the pipeline substitutes
/// (FastTree), or of the node's own default value (LightGBM), else the right branch as ML.NET's comparison sends it; a
/// missing or unseen category encodes as no slot set, which every one-hot split sends where 0 goes.</para>
/// <para>ML.NET keeps no per-node training counts, so the covers that path-dependent TreeSHAP weighs branches by are
/// counted from <c>coverRows</c> (the bundle's background sample), plus a tiny prior per leaf so no branch has zero
/// weight. Additivity holds for any covers; the covers only decide what "unknown" averages over.</para>
/// <para>Rows are encoded as <see cref="PredictorFunction.Encode"/> does: numbers as they are, a category as its
/// index in the signature's list, missing as NaN.</para>
/// </remarks>
public static class TabularTrees
{
    /// <summary>Cover given to every leaf besides the rows counted in it.</summary>
    public const double LeafPrior = 1e-3;

    /// <summary>Whether the model is made of trees (FastTree or LightGBM) that <see cref="ToTreeEnsemble"/> converts.</summary>
    public static bool IsTreeModel(TabularModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return model.Learner != TabularLearner.Linear;
    }

    /// <summary>
    /// The model's trees as a <see cref="TreeEnsemble"/> whose raw margin equals ML.NET's score (binary and regression:
    /// the <c>Score</c> column; multiclass: each class's one-versus-all score). Covers are counted from
    /// <paramref name="coverRows"/> (a table with the model's feature columns).
    /// </summary>
    public static TreeEnsemble ToTreeEnsemble(TabularModel model, Table coverRows)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(coverRows);
        if (!IsTreeModel(model))
            throw new UsageException($"a {model.Learner.ToString().ToLowerInvariant()} model has no trees for TreeSHAP; use a model-agnostic method instead (kernel, exact, permutation or lime)");
        var slots = SlotMap.Build(model);
        var perClass = TreeParameters(model);
        var expected = model.Task == TabularTask.Multiclass ? model.Labels.Count : 1;
        if (perClass.Count != expected)
            throw new ForgeException($"the {model.Learner} model holds {perClass.Count} tree ensemble(s); a {model.Task.ToString().ToLowerInvariant()} model should have {expected}");
        var trees = new List<DecisionTree>();
        var baseScore = new double[expected];
        for (var k = 0; k < perClass.Count; k++)
        {
            var ensemble = perClass[k].Trees.TrainedTreeEnsemble;
            baseScore[k] = ensemble.Bias;
            for (var t = 0; t < ensemble.Trees.Count; t++)
                trees.Add(Convert(ensemble.Trees[t], ensemble.TreeWeights[t], k, slots));
        }
        var encoded = PredictorFunction.Create(model).Encode(coverRows);
        trees = [.. trees.Select(t => WithCovers(t, encoded))];
        var task = model.Task;
        return new TreeEnsemble(trees, new TreeEnsembleOptions
        {
            FeatureCount = model.Features.Count,
            OutputCount = expected,
            BaseScore = baseScore,
            // Binary scores are log-odds up to ML.NET's calibration; LightGBM's multiclass scores go through a softmax.
            Link = task switch
            {
                TabularTask.Binary => TreeLink.Logistic,
                TabularTask.Multiclass when model.Learner == TabularLearner.LightGbm => TreeLink.Softmax,
                _ => TreeLink.Identity,
            },
            FeatureNames = [.. model.Features.Select(f => f.Name)],
            OutputNames = task switch
            {
                TabularTask.Binary => [model.Labels[1]],
                TabularTask.Multiclass => [.. model.Labels],
                _ => ["value"],
            },
            SinglePrecisionInputs = true,
            Source = $"ML.NET {model.Learner} ({task.ToString().ToLowerInvariant()}), covers from {coverRows.RowCount:N0} rows",
        });
    }

    /// <summary>
    /// ML.NET's raw score per row and output, as the margin <see cref="ToTreeEnsemble"/> explains: the <c>Score</c>
    /// column of binary and regression models; for multiclass, each one-versus-all model's own score.
    /// </summary>
    public static double[,] RawScores(TabularModel model, Table rows)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(rows);
        var view = TableDataView.Create(rows, model.Features);
        var n = rows.RowCount;
        if (model.Task != TabularTask.Multiclass)
        {
            var score = model.Transformer.Transform(view).GetColumn<float>("Score").ToArray();
            var result = new double[n, 1];
            for (var i = 0; i < n; i++) result[i, 0] = score[i];
            return result;
        }
        // One-versus-all reports calibrated or softmaxed scores; the raw per-class scores are the sums of each class's
        // trees, which ML.NET's own tree featurizer gives tree by tree.
        var chain = (TransformerChain<ITransformer>)model.Transformer;
        var featurized = new TransformerChain<ITransformer>(chain.ToArray()[..^1]).Transform(view);
        var perClass = TreeParameters(model);
        var margins = new double[n, perClass.Count];
        for (var k = 0; k < perClass.Count; k++)
        {
            var trees = model.Context.Transforms.FeaturizeByPretrainTreeEnsemble(new PretrainedTreeFeaturizationEstimator.Options
            {
                InputColumnName = TabularTrainer.FeaturesColumn,
                ModelParameters = perClass[k].Trees,
                TreesColumnName = "__trees",
                LeavesColumnName = null,
                PathsColumnName = null,
            }).Fit(featurized).Transform(featurized);
            var bias = perClass[k].Trees.TrainedTreeEnsemble.Bias;
            var i = 0;
            foreach (var values in trees.GetColumn<VBuffer<float>>("__trees"))
            {
                var sum = bias;
                foreach (var v in values.DenseValues()) sum += v;
                margins[i++, k] = sum;
            }
        }
        return margins;
    }

    private sealed record ClassTrees(TreeEnsembleModelParametersBasedOnRegressionTree Trees, PlattCalibrator? Calibrator);

    /// <summary>The tree ensembles of the model in class order (one for binary and regression), with their calibrators.</summary>
    private static List<ClassTrees> TreeParameters(TabularModel model)
    {
        var last = model.Transformer is TransformerChain<ITransformer> chain ? chain.LastTransformer : model.Transformer;
        var parameters = last.GetType().GetProperty("Model")?.GetValue(last)
            ?? throw new ForgeException($"the {model.Learner} model's last step ({last.GetType().Name}) exposes no model parameters");
        var result = new List<ClassTrees>();
        Collect(parameters, null, result);
        return result;
    }

    private static void Collect(object? parameters, PlattCalibrator? calibrator, List<ClassTrees> result)
    {
        switch (parameters)
        {
            case null:
                return;
            case TreeEnsembleModelParametersBasedOnRegressionTree trees:
                result.Add(new ClassTrees(trees, calibrator));
                return;
        }
        var type = parameters.GetType();
        // A calibrated model wraps its trees (SubModel) and its calibrator; one-versus-all keeps one model per class in
        // an internal array (SubModelParameters), read by reflection as TabularTrainer's importance does.
        var calibration = Property(type, "Calibrator")?.GetValue(parameters) as PlattCalibrator;
        if (Property(type, "SubModel")?.GetValue(parameters) is { } sub)
        {
            Collect(sub, calibration ?? calibrator, result);
            return;
        }
        if (Property(type, "SubModelParameters")?.GetValue(parameters) is IEnumerable many)
        {
            foreach (var item in many) Collect(item, null, result);
            return;
        }
        throw new ForgeException($"ML.NET model parameters of type {type.Name} hold no trees this converter knows");
    }

    private static PropertyInfo? Property(Type type, string name) =>
        type.GetProperties(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance)
            .FirstOrDefault(p => p.Name == name && p.GetIndexParameters().Length == 0);

    /// <summary>One ML.NET tree as a <see cref="DecisionTree"/> on original columns: internal nodes first, leaf i at index nodes + i.</summary>
    private static DecisionTree Convert(RegressionTree tree, double weight, int output, SlotMap slots)
    {
        var internals = tree.NumberOfNodes;
        if (internals == 0 || tree.NumberOfLeaves <= 1)
        {
            var value = tree.LeafValues.Count > 0 ? tree.LeafValues[0] * weight : 0;
            return new DecisionTree([TreeNode.Leaf(value, 1)], output);
        }
        var defaults = DefaultValues(tree);
        var nodes = new TreeNode[internals + tree.NumberOfLeaves];
        int Index(int child) => child >= 0 ? child : internals + ~child;
        for (var i = 0; i < tree.NumberOfLeaves; i++) nodes[internals + i] = TreeNode.Leaf(tree.LeafValues[i] * weight, 0);
        for (var node = 0; node < internals; node++)
        {
            var lte = Index(tree.LeftChild[node]);
            var gt = Index(tree.RightChild[node]);
            double? missingValue = defaults is null ? null : defaults[node];
            if (tree.CategoricalSplitFlags[node])
            {
                // Greater side when any listed slot is set, i.e. when the column's category is one of theirs.
                var listed = tree.GetCategoricalSplitFeaturesAt(node);
                var (column, codes) = slots.Categories(listed, node);
                nodes[node] = TreeNode.CategorySplit(column, codes, gt, lte, 0, defaultLeft: false);
                continue;
            }
            var slot = tree.NumericalSplitFeatureIndexes[node];
            var threshold = tree.NumericalSplitThresholds[node];
            var owner = slots.Owner(slot);
            if (owner.Category is not { } category)
            {
                // NaN reaches the tree as the substituted mean (FastTree) or meets the node's default value (LightGBM);
                // otherwise it fails "<=" and goes right.
                var stand = slots.MissingValue(slot) is { } mean && !float.IsNaN(mean) ? mean : missingValue is { } d ? (float)d : float.NaN;
                var defaultLeft = stand <= threshold;
                nodes[node] = TreeNode.Split(owner.Column, threshold, lte, gt, 0, defaultLeft, SplitRule.LessOrEqual, MissingRule.DefaultChild);
                continue;
            }
            // A one-hot slot holds 1 for its category and 0 otherwise (also when the category is missing or unseen).
            // Written as "column is c": left goes where 1 goes, right where 0 goes, and a missing category goes right.
            var oneLeft = 1f <= threshold;
            var zeroLeft = 0f <= threshold;
            if (oneLeft == zeroLeft)
            {
                // Both values take the same branch: the split decides nothing; keep it as an empty category set.
                nodes[node] = TreeNode.CategorySplit(owner.Column, [], zeroLeft ? gt : lte, zeroLeft ? lte : gt, 0);
                continue;
            }
            nodes[node] = TreeNode.CategorySplit(owner.Column, [category], oneLeft ? lte : gt, oneLeft ? gt : lte, 0);
        }
        return new DecisionTree(nodes, output);
    }

    /// <summary>LightGBM trees in ML.NET carry a value that NaN stands for at each node; ML.NET does not expose it publicly.</summary>
    private static double[]? DefaultValues(RegressionTree tree)
    {
        var inner = typeof(RegressionTreeBase).GetField("_tree", BindingFlags.NonPublic | BindingFlags.Instance)?.GetValue(tree);
        if (inner is null) return null;
        const BindingFlags any = BindingFlags.NonPublic | BindingFlags.Public | BindingFlags.Instance;
        var type = inner.GetType();
        var value = type.GetProperty("DefaultValueForMissing", any)?.GetValue(inner) ?? type.GetField("_defaultValueForMissing", any)?.GetValue(inner)
            ?? type.GetField("DefaultValueForMissing", any)?.GetValue(inner);
        return value is Array array ? [.. array.Cast<object>().Select(v => System.Convert.ToDouble(v, CultureInfo.InvariantCulture))] : null;
    }

    /// <summary>Counts the rows reaching each node (plus <see cref="LeafPrior"/> per leaf) and sets them as covers.</summary>
    private static DecisionTree WithCovers(DecisionTree tree, double[,] rows)
    {
        var nodes = tree.Nodes;
        var counts = new double[nodes.Count];
        var n = rows.GetLength(0);
        for (var r = 0; r < n; r++)
        {
            var i = 0;
            while (!nodes[i].IsLeaf) i = GoesLeft(nodes[i], rows[r, nodes[i].Feature]) ? nodes[i].Left : nodes[i].Right;
            counts[i]++;
        }
        var covers = new double[nodes.Count];
        Fill(0);
        var result = new TreeNode[nodes.Count];
        for (var i = 0; i < nodes.Count; i++)
        {
            var node = nodes[i];
            if (node is null) continue;
            result[i] = node.IsLeaf ? TreeNode.Leaf([.. node.LeafValues], covers[i])
                : node.Rule == SplitRule.InCategorySet
                    ? TreeNode.CategorySplit(node.Feature, node.Categories!, node.Left, node.Right, covers[i], node.DefaultLeft, node.Missing)
                    : TreeNode.Split(node.Feature, node.Threshold, node.Left, node.Right, covers[i], node.DefaultLeft, node.Rule, node.Missing);
        }
        return new DecisionTree(result, tree.Output);

        double Fill(int i)
        {
            var node = nodes[i];
            return covers[i] = node.IsLeaf ? counts[i] + LeafPrior : Fill(node.Left) + Fill(node.Right);
        }
    }

    /// <summary>The same decision <see cref="TreeNode"/> describes, on a 32-bit value as ML.NET compares.</summary>
    internal static bool GoesLeft(TreeNode node, double value)
    {
        if (double.IsNaN(value)) return node.DefaultLeft;
        if (node.Rule == SplitRule.InCategorySet)
        {
            if (value < 0) return false;
            var code = (int)value;
            return node.Categories!.Contains(code);
        }
        return (float)value <= node.Threshold;
    }

    /// <summary>Which original column (and, for one-hot slots, which category code) each slot of ML.NET's feature vector is.</summary>
    private sealed class SlotMap
    {
        private readonly (int Column, int? Category)[] _owners;
        private readonly float[] _missing;
        private readonly IReadOnlyList<FeatureInfo> _features;

        private SlotMap((int, int?)[] owners, float[] missing, IReadOnlyList<FeatureInfo> features)
        {
            _owners = owners;
            _missing = missing;
            _features = features;
        }

        public (int Column, int? Category) Owner(int slot) =>
            slot >= 0 && slot < _owners.Length ? _owners[slot] : throw new ForgeException($"a tree splits on slot {slot}; the feature vector has {_owners.Length}");

        public float? MissingValue(int slot) => _owners[slot].Category is null ? _missing[slot] : null;

        public (int Column, int[] Codes) Categories(IReadOnlyList<int> listed, int node)
        {
            var owners = listed.Select(Owner).ToArray();
            var column = owners.Length > 0 ? owners[0].Column : throw new ForgeException($"categorical split node {node} lists no slots");
            if (owners.Any(o => o.Column != column || o.Category is null))
                throw new ForgeException($"categorical split node {node} spans slots of several columns ({string.Join(", ", owners.Select(o => _features[o.Column].Name).Distinct())})");
            return (column, [.. owners.Select(o => o.Category!.Value)]);
        }

        /// <summary>
        /// Reads the pipeline's slot layout (numeric columns in order, then each categorical column's one-hot slots, as
        /// <see cref="TabularTrainer"/> concatenates them) and checks it against the feature vector's size; the
        /// categories of one-hot slots come from their slot names. A row with every value missing, run through the
        /// featurisation, gives the value each numeric slot takes for NaN.
        /// </summary>
        public static SlotMap Build(TabularModel model)
        {
            var features = model.Features;
            var chain = model.Transformer as TransformerChain<ITransformer>
                ?? throw new ForgeException("the tabular model is not an ML.NET transformer chain");
            var steps = chain.ToArray();
            var featurizer = new TransformerChain<ITransformer>(steps[..^1]);
            var empty = new Table([.. features.Select(f => f.Kind == FeatureKind.Numeric
                ? (Column)Column.Float32(f.Name, [float.NaN], [true])
                : Column.String(f.Name, [null]))]);
            var output = featurizer.Transform(TableDataView.Create(empty, features));
            var vector = output.GetColumn<VBuffer<float>>(TabularTrainer.FeaturesColumn).First().DenseValues().ToArray();
            var owners = new List<(int, int?)>();
            for (var i = 0; i < features.Count; i++)
            {
                if (features[i].Kind == FeatureKind.Numeric) owners.Add((i, null));
            }
            for (var i = 0; i < features.Count; i++)
            {
                if (features[i].Kind != FeatureKind.Categorical) continue;
                var column = output.Schema["c" + i.ToString(CultureInfo.InvariantCulture)];
                var size = column.Type is VectorDataViewType v ? v.Size : 1;
                var names = default(VBuffer<ReadOnlyMemory<char>>);
                column.GetSlotNames(ref names);
                var slotNames = names.DenseValues().Select(m => m.ToString()).ToArray();
                var index = features[i].Categories.Select((c, j) => (c, j)).ToDictionary(p => p.c, p => p.j, StringComparer.Ordinal);
                for (var s = 0; s < size; s++)
                {
                    // A slot whose category the signature does not list (not expected) can never be set by an encoded row.
                    var code = s < slotNames.Length && index.TryGetValue(slotNames[s], out var c) ? c : int.MaxValue;
                    owners.Add((i, code));
                }
            }
            if (owners.Count != vector.Length)
                throw new ForgeException($"the feature vector has {vector.Length} slots; the columns account for {owners.Count}");
            return new SlotMap([.. owners], vector, features);
        }
    }
}
