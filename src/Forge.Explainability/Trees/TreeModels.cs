using System.Globalization;
using System.Text.Json;
using Forge.Core;

namespace Forge.Explainability.Trees;

/// <summary>Reads tree models trained elsewhere into a <see cref="TreeEnsemble"/>: XGBoost JSON and LightGBM text models.</summary>
public static partial class TreeModels
{
    private static readonly string[] XGBoostObjectives =
    [
        "binary:logistic", "reg:logistic", "binary:logitraw", "binary:hinge", "reg:squarederror", "reg:linear",
        "reg:squaredlogerror", "reg:pseudohubererror", "reg:absoluteerror", "reg:quantileerror", "count:poisson",
        "reg:gamma", "reg:tweedie", "survival:cox", "multi:softmax", "multi:softprob", "rank:pairwise", "rank:ndcg", "rank:map",
    ];

    /// <summary>Reads a model saved by XGBoost's <c>save_model("m.json")</c> (format of XGBoost 1.x/2.x, gbtree or dart).</summary>
    /// <exception cref="DataFormatException">The file is not an XGBoost JSON tree model, naming what is wrong.</exception>
    public static TreeEnsemble FromXGBoostJson(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!File.Exists(path)) throw new DataFormatException(path, "file not found");
        return ParseXGBoostJson(File.ReadAllText(path), path);
    }

    /// <summary>Parses the text of an XGBoost JSON model; <paramref name="source"/> names it in errors.</summary>
    public static TreeEnsemble ParseXGBoostJson(string json, string source = "XGBoost model")
    {
        ArgumentNullException.ThrowIfNull(json);
        ArgumentNullException.ThrowIfNull(source);
        JsonDocument document;
        try
        {
            // XGBoost writes non-finite floats as bare NaN / Infinity (categorical splits have a NaN condition), which
            // is not JSON; as values they become null.
            document = JsonDocument.Parse(NonFiniteLiteral().Replace(json, "null"));
        }
        catch (JsonException e)
        {
            throw new DataFormatException(source, $"not valid JSON ({e.Message}); save the model with booster.save_model(\"model.json\")", e);
        }
        using (document)
        {
            try
            {
                return ReadXGBoost(document.RootElement, source);
            }
            catch (Exception e) when (e is KeyNotFoundException or InvalidOperationException or FormatException or IndexOutOfRangeException or ArgumentOutOfRangeException)
            {
                throw new DataFormatException(source, $"not an XGBoost JSON tree model ({e.Message})", e);
            }
        }
    }

    private static TreeEnsemble ReadXGBoost(JsonElement root, string source)
    {
        if (!root.TryGetProperty("learner", out var learner))
            throw new DataFormatException(source, "no \"learner\" object; is this a model saved with booster.save_model(\"model.json\")? (dump_model output and UBJSON are not read)");
        var version = root.TryGetProperty("version", out var v) ? string.Join('.', v.EnumerateArray().Select(x => x.GetInt32())) : "?";
        var param = learner.GetProperty("learner_model_param");
        var featureCount = int.Parse(param.GetProperty("num_feature").GetString()!, CultureInfo.InvariantCulture);
        var numClass = int.Parse(param.GetProperty("num_class").GetString()!, CultureInfo.InvariantCulture);
        var baseScore = double.Parse(param.GetProperty("base_score").GetString()!, NumberStyles.Float, CultureInfo.InvariantCulture);
        var objective = learner.GetProperty("objective").GetProperty("name").GetString()!;
        if (!XGBoostObjectives.Contains(objective))
            throw new DataFormatException(source, $"objective '{objective}' is not supported (supported: {string.Join(", ", XGBoostObjectives)}); use --method kernel or permutation instead");

        var booster = learner.GetProperty("gradient_booster");
        var boosterName = booster.GetProperty("name").GetString();
        double[]? treeWeights = null;
        JsonElement model;
        switch (boosterName)
        {
            case "gbtree":
                model = booster.GetProperty("model");
                break;
            case "dart":
                model = booster.GetProperty("gbtree").GetProperty("model");
                treeWeights = booster.GetProperty("weight_drop").EnumerateArray().Select(w => w.GetDouble()).ToArray();
                break;
            case "gblinear":
                throw new DataFormatException(source, "a gblinear booster has no trees for TreeSHAP; use --method exact, kernel or permutation instead");
            default:
                throw new DataFormatException(source, $"booster '{boosterName}' is not a tree booster (gbtree or dart)");
        }

        var outputs = objective.StartsWith("multi:", StringComparison.Ordinal) ? Math.Max(numClass, 1) : 1;
        var link = objective switch
        {
            "binary:logistic" or "reg:logistic" => TreeLink.Logistic,
            "multi:softmax" or "multi:softprob" => TreeLink.Softmax,
            "count:poisson" or "reg:gamma" or "reg:tweedie" or "survival:cox" => TreeLink.Exp,
            _ => TreeLink.Identity,
        };
        // base_score is stored on the prediction scale; the trees add to it on the margin scale (XGBoost's ProbToMargin).
        var baseMargin = link switch
        {
            TreeLink.Logistic => -Math.Log(1 / baseScore - 1),
            TreeLink.Exp => Math.Log(baseScore),
            _ => baseScore,
        };
        if (!double.IsFinite(baseMargin))
            throw new DataFormatException(source, $"base_score {baseScore} has no margin under objective {objective}");

        var treeInfo = model.GetProperty("tree_info").EnumerateArray().Select(x => x.GetInt32()).ToArray();
        var trees = new List<DecisionTree>();
        var index = 0;
        foreach (var tree in model.GetProperty("trees").EnumerateArray())
        {
            var weight = treeWeights is null ? 1.0 : treeWeights[index];
            var output = outputs == 1 ? 0 : treeInfo[index];
            trees.Add(ReadXGBoostTree(tree, index, weight, output, source));
            index++;
        }
        if (treeInfo.Length != trees.Count)
            throw new DataFormatException(source, $"tree_info lists {treeInfo.Length} trees but there are {trees.Count}");

        var names = learner.TryGetProperty("feature_names", out var fn) && fn.GetArrayLength() == featureCount
            ? fn.EnumerateArray().Select(x => x.GetString() ?? "").ToArray()
            : null;
        return new TreeEnsemble(trees, new TreeEnsembleOptions
        {
            FeatureCount = featureCount,
            OutputCount = outputs,
            BaseScore = Enumerable.Repeat(baseMargin, outputs).ToArray(),
            Link = link,
            FeatureNames = names,
            SinglePrecisionInputs = true,
            Source = $"xgboost {version} JSON ({objective})",
        });
    }

    private static DecisionTree ReadXGBoostTree(JsonElement tree, int index, double weight, int output, string source)
    {
        int[] Ints(string name) => tree.GetProperty(name).EnumerateArray().Select(x => x.GetInt32()).ToArray();
        double[] Floats(string name) => tree.GetProperty(name).EnumerateArray().Select(ReadFloat).ToArray();
        var left = Ints("left_children");
        var right = Ints("right_children");
        var feature = Ints("split_indices");
        var condition = Floats("split_conditions");
        var defaultLeft = Ints("default_left");
        var hessian = Floats("sum_hessian");
        var splitType = tree.TryGetProperty("split_type", out var st) ? st.EnumerateArray().Select(x => x.GetInt32()).ToArray() : new int[left.Length];
        var n = left.Length;
        if (new[] { right.Length, feature.Length, condition.Length, defaultLeft.Length, hessian.Length, splitType.Length }.Any(l => l != n))
            throw new DataFormatException(source, $"tree {index}: node arrays have different lengths");

        var categories = new Dictionary<int, int[]>();
        if (tree.TryGetProperty("categories_nodes", out var catNodes) && catNodes.GetArrayLength() > 0)
        {
            var nodes = catNodes.EnumerateArray().Select(x => x.GetInt32()).ToArray();
            var segments = Ints("categories_segments");
            var sizes = Ints("categories_sizes");
            var values = Ints("categories");
            for (var i = 0; i < nodes.Length; i++)
                categories[nodes[i]] = values.AsSpan(segments[i], sizes[i]).ToArray();
        }

        var result = new TreeNode[n];
        for (var i = 0; i < n; i++)
        {
            if (left[i] == -1)
            {
                result[i] = TreeNode.Leaf(condition[i] * weight, hessian[i]);
            }
            else if (splitType[i] == 1)
            {
                // XGBoost sends the listed categories right and everything else (unknown or negative codes) left;
                // Forge's category split sends its set left, so the children swap.
                if (!categories.TryGetValue(i, out var cats))
                    throw new DataFormatException(source, $"tree {index}: categorical node {i} has no categories");
                result[i] = TreeNode.CategorySplit(feature[i], cats, right[i], left[i], hessian[i], defaultLeft: defaultLeft[i] == 0);
            }
            else
            {
                result[i] = TreeNode.Split(feature[i], condition[i], left[i], right[i], hessian[i], defaultLeft[i] != 0, SplitRule.LessThan);
            }
        }
        return new DecisionTree(result, output);
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"(?<=[\[,:]\s*)-?(?:NaN|Infinity)(?=\s*[,\]}])")]
    private static partial System.Text.RegularExpressions.Regex NonFiniteLiteral();

    // Split conditions are 32-bit floats in XGBoost; a categorical split has none (null here).
    private static double ReadFloat(JsonElement x) => x.ValueKind == JsonValueKind.Number
        ? (float)x.GetDouble()
        : double.NaN;

    /// <summary>Reads a LightGBM text model (<c>booster.save_model("model.txt")</c> or the CLI's output).</summary>
    /// <param name="path">The model file.</param>
    /// <param name="coverFromHessians">Weigh children by leaf_weight/internal_weight (hessian sums) instead of data counts; LightGBM's own SHAP uses counts. Default false.</param>
    /// <exception cref="DataFormatException">The file is not a LightGBM text model, naming the line at fault.</exception>
    public static TreeEnsemble FromLightGbmText(string path, bool coverFromHessians = false)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!File.Exists(path)) throw new DataFormatException(path, "file not found");
        return ParseLightGbmText(File.ReadAllText(path), path, coverFromHessians);
    }

    /// <summary>Parses the text of a LightGBM model; <paramref name="source"/> names it in errors.</summary>
    public static TreeEnsemble ParseLightGbmText(string text, string source = "LightGBM model", bool coverFromHessians = false)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(source);
        var lines = text.Split('\n');
        var header = new Dictionary<string, string>(StringComparer.Ordinal);
        var averageOutput = false;
        var i = 0;
        if (lines.Length == 0 || lines[0].Trim() != "tree")
            throw new DataFormatException(source, "line 1: expected 'tree' (the first line of a LightGBM text model); save it with booster.save_model(\"model.txt\")");
        for (i = 1; i < lines.Length && !lines[i].StartsWith("Tree=", StringComparison.Ordinal); i++)
        {
            var line = lines[i].Trim();
            if (line == "average_output") averageOutput = true;
            var eq = line.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0) header[line[..eq]] = line[(eq + 1)..];
        }
        string Header(string key) => header.TryGetValue(key, out var value)
            ? value
            : throw new DataFormatException(source, $"the header has no '{key}=' line");
        int HeaderInt(string key) => int.TryParse(Header(key), NumberStyles.Integer, CultureInfo.InvariantCulture, out var x)
            ? x
            : throw new DataFormatException(source, $"header line '{key}={Header(key)}' is not an integer");

        var featureCount = HeaderInt("max_feature_idx") + 1;
        var numClass = HeaderInt("num_class");
        var perIteration = header.ContainsKey("num_tree_per_iteration") ? HeaderInt("num_tree_per_iteration") : numClass;
        var objective = header.TryGetValue("objective", out var o) ? o : "regression";
        var objectiveName = objective.Split(' ')[0];
        var link = objectiveName switch
        {
            "binary" when objective.Contains("sigmoid:1", StringComparison.Ordinal) && !objective.Contains("sigmoid:1.", StringComparison.Ordinal) => TreeLink.Logistic,
            "cross_entropy" or "xentropy" or "multiclassova" or "multiclass_ova" or "ova" or "ovr" => TreeLink.Logistic,
            "multiclass" or "softmax" => TreeLink.Softmax,
            "poisson" or "gamma" or "tweedie" => TreeLink.Exp,
            _ => TreeLink.Identity,
        };
        if (link == TreeLink.Softmax && perIteration < 2) link = TreeLink.Identity;
        var names = header.TryGetValue("feature_names", out var fn) ? fn.Split(' ') : null;
        if (names is not null && names.Length != featureCount) names = null;

        var blocks = new List<(int Line, Dictionary<string, string> Fields)>();
        while (i < lines.Length)
        {
            var line = lines[i].Trim();
            if (line.StartsWith("end of trees", StringComparison.Ordinal)) break;
            if (!line.StartsWith("Tree=", StringComparison.Ordinal))
            {
                i++;
                continue;
            }
            var start = i + 1;
            var fields = new Dictionary<string, string>(StringComparer.Ordinal);
            for (i++; i < lines.Length && lines[i].Trim().Length > 0 && !lines[i].StartsWith("Tree=", StringComparison.Ordinal); i++)
            {
                var l = lines[i].Trim();
                var eq = l.IndexOf('=', StringComparison.Ordinal);
                if (eq > 0) fields[l[..eq]] = l[(eq + 1)..];
            }
            blocks.Add((start, fields));
        }
        if (blocks.Count == 0)
            throw new DataFormatException(source, "the model has no 'Tree=' blocks");

        var iterations = (blocks.Count + perIteration - 1) / perIteration;
        var scale = averageOutput ? 1.0 / iterations : 1.0;
        var trees = new List<DecisionTree>();
        for (var t = 0; t < blocks.Count; t++)
            trees.Add(ReadLightGbmTree(blocks[t].Fields, blocks[t].Line, t, t % perIteration, scale, coverFromHessians, source));

        return new TreeEnsemble(trees, new TreeEnsembleOptions
        {
            FeatureCount = featureCount,
            OutputCount = perIteration,
            Link = link,
            FeatureNames = names,
            Source = $"lightgbm text ({objective})",
        });
    }

    private static DecisionTree ReadLightGbmTree(Dictionary<string, string> f, int line, int index, int output, double scale, bool hessians, string source)
    {
        string Field(string key) => f.TryGetValue(key, out var value)
            ? value
            : throw new DataFormatException(source, $"tree {index} (line {line}): no '{key}=' line");
        T[] Array<T>(string key, int count) where T : IParsable<T>
        {
            var parts = Field(key).Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length != count)
                throw new DataFormatException(source, $"tree {index} (line {line}): '{key}' has {parts.Length} values, expected {count}");
            var result = new T[count];
            for (var p = 0; p < count; p++)
            {
                if (!T.TryParse(parts[p], CultureInfo.InvariantCulture, out result[p]!))
                    throw new DataFormatException(source, $"tree {index} (line {line}): '{key}' value '{parts[p]}' is not a number");
            }
            return result;
        }

        if (f.TryGetValue("is_linear", out var linear) && linear.Trim() == "1")
            throw new DataFormatException(source, $"tree {index} is a linear tree (linear_tree=true); TreeSHAP explains constant leaves only, use --method kernel or permutation");
        var leaves = int.Parse(Field("num_leaves"), CultureInfo.InvariantCulture);
        var leafValue = Array<double>("leaf_value", leaves);
        if (leaves == 1)
            return new DecisionTree([TreeNode.Leaf(leafValue[0] * scale, 1)], output);

        var splits = leaves - 1;
        var feature = Array<int>("split_feature", splits);
        var threshold = Array<double>("threshold", splits);
        var decision = Array<int>("decision_type", splits);
        var left = Array<int>("left_child", splits);
        var right = Array<int>("right_child", splits);
        var internalCover = hessians ? Array<double>("internal_weight", splits) : Array<double>("internal_count", splits);
        var leafCover = hessians ? Array<double>("leaf_weight", leaves) : Array<double>("leaf_count", leaves);
        var numCat = f.TryGetValue("num_cat", out var nc) ? int.Parse(nc, CultureInfo.InvariantCulture) : 0;
        var catBoundaries = numCat > 0 ? Array<int>("cat_boundaries", numCat + 1) : [];
        var catThreshold = numCat > 0 ? Array<uint>("cat_threshold", catBoundaries[^1]) : [];

        // Splits keep their indices; leaf j becomes node (splits + j). LightGBM writes a leaf child as ~j.
        int Node(int child) => child >= 0 ? child : splits + ~child;
        var nodes = new TreeNode[splits + leaves];
        for (var s = 0; s < splits; s++)
        {
            var dt = decision[s];
            var categorical = (dt & 1) != 0;
            var defaultLeft = (dt & 2) != 0;
            if (categorical)
            {
                var cat = (int)threshold[s];
                if (cat < 0 || cat >= numCat)
                    throw new DataFormatException(source, $"tree {index} (line {line}): category split {s} points at category set {cat} of {numCat}");
                var set = new List<int>();
                for (var w = catBoundaries[cat]; w < catBoundaries[cat + 1]; w++)
                {
                    for (var b = 0; b < 32; b++)
                    {
                        if ((catThreshold[w] >> b & 1) != 0) set.Add((w - catBoundaries[cat]) * 32 + b);
                    }
                }
                // LightGBM sends NaN and negative codes right whatever the missing type.
                nodes[s] = TreeNode.CategorySplit(feature[s], set, Node(left[s]), Node(right[s]), internalCover[s], defaultLeft: false);
            }
            else
            {
                var missing = ((dt >> 2) & 3) switch
                {
                    0 => MissingRule.NaNAsZero,
                    1 => MissingRule.ZeroIsMissing,
                    _ => MissingRule.DefaultChild,
                };
                nodes[s] = TreeNode.Split(feature[s], threshold[s], Node(left[s]), Node(right[s]), internalCover[s], defaultLeft, SplitRule.LessOrEqual, missing);
            }
        }
        for (var j = 0; j < leaves; j++)
            nodes[splits + j] = TreeNode.Leaf(leafValue[j] * scale, leafCover[j]);
        return new DecisionTree(nodes, output);
    }
}
