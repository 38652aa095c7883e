using Forge.Core;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Forge.DeepLearning.Onnx;

/// <summary>
/// Turns an ONNX graph into a trainable <see cref="OnnxNetwork"/>. Every node is translated at import time, so an
/// operator Forge cannot translate fails here, naming the op and the node, rather than at the first forward pass. One
/// forward pass at the declared input size (batch 1) then runs at import to learn each layer's feature-map size, which
/// groups the layers into stages.
/// </summary>
public static class OnnxImporter
{
    /// <summary>The ONNX operators (default domain) the importer translates.</summary>
    public static IReadOnlyCollection<string> SupportedOperators => GraphCompiler.Supported;

    /// <summary>Reads and translates the ONNX file at <paramref name="path"/>. The network comes back in evaluation mode.</summary>
    public static OnnxNetwork Import(string path)
    {
        var model = OnnxModel.Load(path);
        return Import(model, path);
    }

    /// <summary>Translates an already-read model; <paramref name="sourceName"/> names it in errors. The network comes back in evaluation mode.</summary>
    internal static OnnxNetwork Import(OnnxModel model, string sourceName)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(sourceName);
        return new GraphCompiler(model, sourceName).Compile();
    }
}

/// <summary>Compiles one graph: node by node, each translated and then run once on import-time values.</summary>
internal sealed class GraphCompiler
{
    public static readonly IReadOnlyCollection<string> Supported = new SortedSet<string>(StringComparer.Ordinal)
    {
        "Add", "AveragePool", "BatchNormalization", "Clip", "Concat", "Constant", "Conv", "Div", "Dropout", "Flatten",
        "Gemm", "GlobalAveragePool", "GlobalMaxPool", "Identity", "LeakyRelu", "MatMul", "MaxPool", "Mul", "Pad", "Relu",
        "Reshape", "Sigmoid", "Softmax", "Split", "Sub", "Sum", "Tanh", "Transpose",
    };

    private readonly string _source;
    private readonly OnnxGraph _graph;
    private readonly long _opset;
    private readonly Dictionary<string, Tensor> _constants = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Tensor> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _read = new(StringComparer.Ordinal);

    public GraphCompiler(OnnxModel model, string source)
    {
        _source = source;
        _graph = model.Graph;
        _opset = model.OpsetVersion();
        foreach (var n in _graph.Nodes)
        {
            foreach (var i in n.Inputs) _read.Add(i);
        }
        foreach (var o in _graph.Outputs) _read.Add(o.Name);
    }

    private sealed record Compiled(Func<Tensor?[], Tensor[]> Kernel, Module? Module = null, string? Kind = null, int[]? Consumed = null)
    {
        /// <summary>For a convolution: the same operation with other weights, used to fold a following batch norm at inference.</summary>
        public Func<Tensor, Tensor, Func<Tensor?[], Tensor[]>>? WithWeights { get; init; }
    }

    public OnnxNetwork Compile()
    {
        var inputs = _graph.RuntimeInputs;
        if (inputs.Count != 1 || _graph.Outputs.Count != 1)
        {
            throw new UsageException(
                $"{_source}: an ONNX network needs exactly one input and one output; this graph has {inputs.Count} input(s) " +
                $"({string.Join(", ", inputs.Select(i => i.Name))}) and {_graph.Outputs.Count} output(s) ({string.Join(", ", _graph.Outputs.Select(o => o.Name))})");
        }
        // Fail on the first operator Forge cannot translate before any weights are copied.
        for (var i = 0; i < _graph.Nodes.Count; i++)
        {
            var node = _graph.Nodes[i];
            if (node.Domain is not ("" or "ai.onnx"))
                throw Unsupported(node, $"operators of domain '{node.Domain}' are not supported");
            if (!Supported.Contains(node.OpType))
                throw Unsupported(node, $"operator {node.OpType} is not supported (supported: {string.Join(", ", Supported)})");
        }

        var input = inputs[0];
        var declared = DeclaredShape(input);
        var steps = new List<OnnxStep>();
        try
        {
            using (torch.no_grad())
            {
                var dummyShape = declared.Select((d, i) => d < 0 ? 1 : d).ToArray();
                _values[input.Name] = torch.zeros(dummyShape);
                for (var i = 0; i < _graph.Nodes.Count; i++)
                {
                    var step = CompileNode(_graph.Nodes[i], i);
                    if (step is not null) steps.Add(step);
                }
            }
            var outputName = _graph.Outputs[0].Name;
            if (!_values.ContainsKey(outputName))
            {
                throw new UsageException(_constants.ContainsKey(outputName)
                    ? $"{_source}: the output '{outputName}' does not depend on the input '{input.Name}'"
                    : $"{_source}: no node computes the output '{outputName}'");
            }
            var stages = StageAssigner.Assign(steps);
            var usedConstants = new Dictionary<string, Tensor>(StringComparer.Ordinal);
            foreach (var name in steps.SelectMany(s => s.Inputs).Where(_constants.ContainsKey))
                usedConstants[name] = _constants[name];
            foreach (var (name, t) in _constants)
            {
                if (!usedConstants.ContainsKey(name)) t.Dispose();
            }
            _constants.Clear();
            var network = new OnnxNetwork(_graph.Name.Length > 0 ? _graph.Name : "onnx", input.Name, outputName, declared, steps, usedConstants, stages);
            network.eval();
            return network;
        }
        catch
        {
            foreach (var s in steps) s.Module?.Dispose();
            foreach (var t in _constants.Values) t.Dispose();
            throw;
        }
        finally
        {
            foreach (var t in _values.Values) t.Dispose();
            _values.Clear();
        }
    }

    private long[] DeclaredShape(OnnxValueInfo input)
    {
        if (input.ElementType != OnnxDataType.Float)
            throw new UsageException($"{_source}: input '{input.Name}' has element type {input.ElementType}; only FLOAT inputs are supported");
        if (input.Shape is null || input.Shape.Count == 0)
            throw new UsageException($"{_source}: input '{input.Name}' declares no shape; the importer needs one to size its layers");
        var shape = input.Shape.Select(d => d.Value ?? -1).ToArray();
        for (var i = 1; i < shape.Length; i++)
        {
            if (shape[i] <= 0)
            {
                throw new UsageException(
                    $"{_source}: input '{input.Name}' dimension {i} is '{input.Shape[i]}'; every dimension but the batch must be a fixed size");
            }
        }
        return shape;
    }

    private OnnxStep? CompileNode(OnnxNode node, int index)
    {
        var compiled = Translate(node);
        var consumed = compiled.Consumed ?? [];
        var inputs = node.Inputs.Select((name, i) => consumed.Contains(i) ? "" : name).ToArray();
        var args = inputs.Select(name => name.Length == 0 ? null : Lookup(node, name)).ToArray();
        var foldable = compiled.Module is null && inputs.All(n => n.Length == 0 || _constants.ContainsKey(n));
        var outputs = compiled.Kernel(args);
        if (outputs.Length < node.Outputs.Count(o => o.Length > 0 && _read.Contains(o)))
            throw Unsupported(node, $"it produces {outputs.Length} output(s) where the graph reads more");
        for (var o = 0; o < outputs.Length; o++)
        {
            var t = outputs[o];
            if (Array.Exists(args, a => ReferenceEquals(a, t))) t = t.alias();
            if (o >= node.Outputs.Count || node.Outputs[o].Length == 0)
            {
                t.Dispose();
                continue;
            }
            var name = node.Outputs[o];
            if (foldable) _constants[name] = t;
            else _values[name] = t;
        }
        if (foldable) return null;
        var first = node.Outputs.Count > 0 ? _values.GetValueOrDefault(node.Outputs[0]) : null;
        return new OnnxStep
        {
            Index = index,
            Node = node,
            Inputs = inputs,
            Outputs = [.. node.Outputs],
            Kernel = compiled.Kernel,
            WithWeights = compiled.WithWeights,
            Module = compiled.Module,
            ModuleName = compiled.Module is null ? null : $"n{index:D3}_{compiled.Kind}",
            Resolution = first is not null && first.dim() == 4 ? ((int)first.shape[2], (int)first.shape[3]) : null,
        };
    }

    private Tensor Lookup(OnnxNode node, string name)
    {
        if (_values.TryGetValue(name, out var v)) return v;
        if (TryConstant(name, out var c)) return c;
        throw new DataFormatException(_source, $"{node} reads '{name}', which no earlier node, input or initializer provides");
    }

    private bool TryConstant(string name, out Tensor tensor)
    {
        if (_constants.TryGetValue(name, out tensor!)) return true;
        var init = _graph.Initializer(name);
        if (init is null) return false;
        var dims = init.Dims.ToArray();
        tensor = init.DataType == OnnxDataType.Float
            ? torch.tensor(init.ToFloatArray(), dims)
            : torch.tensor(init.ToInt64Array(), dims);
        _constants[name] = tensor;
        return true;
    }

    private UnsupportedOnnxOperatorException Unsupported(OnnxNode node, string problem) =>
        new(_source, node.OpType, node.Name, problem);

    private static Tensor[] One(Tensor t) => [t];

    private Compiled Translate(OnnxNode node) => node.OpType switch
    {
        "Conv" => Conv(node),
        "BatchNormalization" => BatchNorm(node),
        "Gemm" => Gemm(node),
        "MatMul" => MatMul(node),
        "MaxPool" => MaxPool(node),
        "AveragePool" => AveragePool(node),
        "GlobalAveragePool" => new(a => One(a[0]!.mean(SpatialDims(a[0]!), keepdim: true))),
        "GlobalMaxPool" => new(a => One(a[0]!.amax(SpatialDims(a[0]!), keepdim: true))),
        "Relu" => new(a => One(a[0]!.relu())),
        "Sigmoid" => new(a => One(a[0]!.sigmoid())),
        "Tanh" => new(a => One(a[0]!.tanh())),
        "LeakyRelu" => LeakyRelu(node),
        "Identity" => new(a => One(a[0]!.alias())),
        "Dropout" => Dropout(node),
        "Add" or "Sub" or "Mul" or "Div" => Binary(node),
        "Sum" => new(a => One(a.Where(t => t is not null).Skip(1).Aggregate(a[0]!.alias(), (acc, t) => Replace(acc, acc.add(t!))))),
        "Pad" => Pad(node),
        "Flatten" => Flatten(node),
        "Reshape" => Reshape(node),
        "Split" => Split(node),
        "Concat" => Concat(node),
        "Clip" => Clip(node),
        "Constant" => Constant(node),
        "Softmax" => Softmax(node),
        "Transpose" => Transpose(node),
        _ => throw Unsupported(node, $"operator {node.OpType} is not supported"),
    };

    private static long[] SpatialDims(Tensor x) => Enumerable.Range(2, (int)x.dim() - 2).Select(d => (long)d).ToArray();

    /// <summary>Disposes the accumulator a fold step replaces.</summary>
    private static Tensor Replace(Tensor old, Tensor next)
    {
        old.Dispose();
        return next;
    }

    private Tensor RequireConstant(OnnxNode node, int input, string what)
    {
        if (input >= node.Inputs.Count || node.Inputs[input].Length == 0) throw Unsupported(node, $"the {what} input is missing");
        if (!TryConstant(node.Inputs[input], out var t))
            throw Unsupported(node, $"the {what} ('{node.Inputs[input]}') must be a constant (an initializer), not computed by the graph");
        return t;
    }

    private bool HasInput(OnnxNode node, int input) => input < node.Inputs.Count && node.Inputs[input].Length > 0;

    private long[] ConstantInts(OnnxNode node, int input, string what)
    {
        var t = RequireConstant(node, input, what);
        using var asLong = t.to_type(ScalarType.Int64).contiguous();
        return asLong.data<long>().ToArray();
    }

    private double ConstantScalar(OnnxNode node, int input, string what)
    {
        var t = RequireConstant(node, input, what);
        if (t.numel() != 1) throw Unsupported(node, $"the {what} must be a single value, not a tensor of shape [{string.Join(", ", t.shape)}]");
        using var asDouble = t.to_type(ScalarType.Float64);
        return asDouble.item<double>();
    }

    private long[] ShapeOf(OnnxNode node, int input) => Lookup(node, node.Inputs[input]).shape;

    private static long[] Pair(IReadOnlyList<long>? values, long fallback, int rank) =>
        values is { Count: > 0 } ? [.. values] : Enumerable.Repeat(fallback, rank).ToArray();

    private void CopyInto(OnnxNode node, Tensor? target, Tensor source, string what)
    {
        if (target is null) throw Unsupported(node, $"no {what} to copy into");
        if (!target.shape.SequenceEqual(source.shape))
            throw Unsupported(node, $"the {what} has shape [{string.Join(", ", source.shape)}] where [{string.Join(", ", target.shape)}] was expected");
        target.copy_(source);
    }

    private Compiled Conv(OnnxNode node)
    {
        var w = RequireConstant(node, 1, "weight");
        if (w.dim() != 4) throw Unsupported(node, $"only 2-D convolutions are supported (the weight has rank {w.dim()})");
        var group = node.Int("group", 1);
        long outC = w.shape[0], kh = w.shape[2], kw = w.shape[3];
        var inC = w.shape[1] * group;
        var strides = Pair(node.Ints("strides"), 1, 2);
        var dilations = Pair(node.Ints("dilations"), 1, 2);
        var extent = new[] { (kh - 1) * dilations[0] + 1, (kw - 1) * dilations[1] + 1 };
        var padding = SpatialPadding.Create(node.String("auto_pad", "NOTSET"), node.Ints("pads"), extent, strides, false, null, 0,
            p => Unsupported(node, p));
        var hasBias = HasInput(node, 2);
        var conv = nn.Conv2d(inC, outC, (kh, kw), stride: (strides[0], strides[1]), padding: (padding.OpPadding[0], padding.OpPadding[1]),
            dilation: (dilations[0], dilations[1]), groups: group, bias: hasBias);
        CopyInto(node, conv.weight, w, "weight");
        if (hasBias) CopyInto(node, conv.bias, RequireConstant(node, 2, "bias"), "bias");
        conv.eval();
        return new(a =>
        {
            var x = a[0]!;
            var p = padding.Before(x);
            var y = conv.call(p);
            if (!ReferenceEquals(p, x)) p.Dispose();
            return One(padding.After(y, x.shape));
        }, conv, "conv", [1, 2])
        {
            WithWeights = (weight, bias) => a =>
            {
                var x = a[0]!;
                var p = padding.Before(x);
                var y = nn.functional.conv2d(p, weight, bias, strides, padding.OpPadding, dilations, group);
                if (!ReferenceEquals(p, x)) p.Dispose();
                return One(padding.After(y, x.shape));
            },
        };
    }

    private Compiled BatchNorm(OnnxNode node)
    {
        if (node.Attribute("spatial") is { } spatial && spatial.Int == 0)
            throw Unsupported(node, "spatial=0 (statistics per activation rather than per channel) is not supported");
        if (node.Int("training_mode", 0) != 0) throw Unsupported(node, "training_mode=1 is not supported");
        if (node.Outputs.Skip(1).Any(o => o.Length > 0 && _read.Contains(o)))
            throw Unsupported(node, "its running-statistics outputs are read by the graph, which is not supported");
        var scale = RequireConstant(node, 1, "scale");
        var bias = RequireConstant(node, 2, "bias");
        var mean = RequireConstant(node, 3, "mean");
        var variance = RequireConstant(node, 4, "variance");
        var channels = scale.shape[0];
        var eps = (double)node.Float("epsilon", 1e-5f);
        // ONNX momentum weighs the old running value; torch's weighs the new batch statistic.
        var momentum = 1.0 - node.Float("momentum", 0.9f);
        var rank = ShapeOf(node, 0).Length;
        Module<Tensor, Tensor> bn;
        Tensor? weight, biasParam, runningMean, runningVar;
        switch (rank)
        {
            case 2 or 3:
                var b1 = nn.BatchNorm1d(channels, eps, momentum);
                (bn, weight, biasParam, runningMean, runningVar) = (b1, b1.weight, b1.bias, b1.running_mean, b1.running_var);
                break;
            case 4:
                var b2 = nn.BatchNorm2d(channels, eps, momentum);
                (bn, weight, biasParam, runningMean, runningVar) = (b2, b2.weight, b2.bias, b2.running_mean, b2.running_var);
                break;
            case 5:
                var b3 = nn.BatchNorm3d(channels, eps, momentum);
                (bn, weight, biasParam, runningMean, runningVar) = (b3, b3.weight, b3.bias, b3.running_mean, b3.running_var);
                break;
            default:
                throw Unsupported(node, $"inputs of rank {rank} are not supported (2 to 5 are)");
        }
        CopyInto(node, weight, scale, "scale");
        CopyInto(node, biasParam, bias, "bias");
        CopyInto(node, runningMean, mean, "mean");
        CopyInto(node, runningVar, variance, "variance");
        bn.eval();
        return new(a => One(bn.call(a[0]!)), bn, "bn", [1, 2, 3, 4]);
    }

    private Compiled Gemm(OnnxNode node)
    {
        var alpha = node.Float("alpha", 1f);
        var beta = node.Float("beta", 1f);
        var transA = node.Int("transA", 0) != 0;
        var transB = node.Int("transB", 0) != 0;
        var hasC = HasInput(node, 2);
        if (!TryConstant(node.Inputs[1], out var b) || b.dim() != 2)
        {
            // Both operands computed: plain arithmetic, nothing to train.
            return new(a =>
            {
                using var scope = torch.NewDisposeScope();
                var left = transA ? a[0]!.t() : a[0]!;
                var right = transB ? a[1]!.t() : a[1]!;
                using var alphaScalar = TorchScalars.Of(alpha);
                using var betaScalar = TorchScalars.Of(beta);
                var y = left.matmul(right).mul(alphaScalar);
                if (a.Length > 2 && a[2] is { } c) y = y.add(c.mul(betaScalar));
                return One(y.MoveToOuterDisposeScope());
            });
        }
        var weight = transB ? b : b.t();
        long outF = weight.shape[0], inF = weight.shape[1];
        Tensor? constantC = null;
        if (hasC) TryConstant(node.Inputs[2], out constantC);
        var biasIsVector = constantC is not null && (constantC.numel() == outF || constantC.numel() == 1);
        var linear = nn.Linear(inF, outF, hasBias: biasIsVector);
        using (var alphaScalar = TorchScalars.Of(alpha))
        using (var scaled = weight.mul(alphaScalar)) CopyInto(node, linear.weight, scaled, "weight (B)");
        if (biasIsVector)
        {
            using var betaScalar = TorchScalars.Of(beta);
            using var c = constantC!.mul(betaScalar).reshape(-1).expand(outF).contiguous();
            CopyInto(node, linear.bias, c, "bias (C)");
        }
        linear.eval();
        var addC = hasC && !biasIsVector;
        return new(a =>
        {
            var x = a[0]!;
            var left = transA ? x.t() : x;
            var y = linear.call(left);
            if (!ReferenceEquals(left, x)) left.Dispose();
            if (!addC) return One(y);
            using var betaScalar = TorchScalars.Of(beta);
            using var c = a[2]!.mul(betaScalar);
            return One(Replace(y, y.add(c)));
        }, linear, "linear", biasIsVector ? [1, 2] : [1]);
    }

    private Compiled MatMul(OnnxNode node)
    {
        if (_values.ContainsKey(node.Inputs[0]) && TryConstant(node.Inputs[1], out var b) && b.dim() == 2)
        {
            // x @ W with a constant 2-D W is a bias-free linear layer over the last dimension, for any leading dims.
            var linear = nn.Linear(b.shape[0], b.shape[1], hasBias: false);
            using (var wt = b.t()) CopyInto(node, linear.weight, wt, "weight");
            linear.eval();
            return new(a => One(linear.call(a[0]!)), linear, "linear", [1]);
        }
        return new(a => One(a[0]!.matmul(a[1]!)));
    }

    private (long[] Kernel, long[] Strides, long[] Dilations, long[] Extent) PoolGeometry(OnnxNode node)
    {
        var kernel = node.Ints("kernel_shape")?.ToArray() ?? throw Unsupported(node, "kernel_shape is missing");
        if (kernel.Length != 2) throw Unsupported(node, $"only 2-D pooling is supported (kernel_shape has {kernel.Length} values)");
        var strides = Pair(node.Ints("strides"), 1, 2);
        var dilations = Pair(node.Ints("dilations"), 1, 2);
        var extent = kernel.Select((k, i) => (k - 1) * dilations[i] + 1).ToArray();
        return (kernel, strides, dilations, extent);
    }

    private Compiled MaxPool(OnnxNode node)
    {
        if (node.Outputs.Skip(1).Any(o => o.Length > 0 && _read.Contains(o)))
            throw Unsupported(node, "its Indices output is read by the graph, which is not supported");
        var (kernel, strides, dilations, extent) = PoolGeometry(node);
        var ceil = node.Int("ceil_mode", 0) != 0;
        var padding = SpatialPadding.Create(node.String("auto_pad", "NOTSET"), node.Ints("pads"), extent, strides, ceil,
            kernel.Select(k => k / 2).ToArray(), double.NegativeInfinity, p => Unsupported(node, p));
        return new(a =>
        {
            var x = a[0]!;
            var p = padding.Before(x);
            var y = nn.functional.max_pool2d(p, kernel, strides, padding.OpPadding, dilations, ceil);
            if (!ReferenceEquals(p, x)) p.Dispose();
            return One(padding.After(y, x.shape));
        });
    }

    private Compiled AveragePool(OnnxNode node)
    {
        var (kernel, strides, dilations, extent) = PoolGeometry(node);
        if (dilations.Any(d => d != 1)) throw Unsupported(node, "dilated average pooling is not supported");
        var ceil = node.Int("ceil_mode", 0) != 0;
        var countPads = node.Int("count_include_pad", 0) != 0;
        var padding = SpatialPadding.Create(node.String("auto_pad", "NOTSET"), node.Ints("pads"), extent, strides, ceil,
            kernel.Select(k => k / 2).ToArray(), 0, p => Unsupported(node, p));
        // Exporters (CNTK among them) write a network's final global average pool as a fixed window sized for the declared
        // input. Averaging the whole map is what such a window means, so the backbone runs on smaller and larger images alike:
        // a smaller map would be rejected by the window, and a larger one would give several cells, and a wider feature vector
        // than the head was sized for. The compiler's dummy pass runs at the declared input, so the window is tested on it here.
        var declaredMap = ShapeOf(node, 0);
        var global = !padding.PadsInput && declaredMap.Length == 4 && kernel.Length == 2 && kernel[0] == declaredMap[2] && kernel[1] == declaredMap[3];
        return new(a =>
        {
            var x = a[0]!;
            // The whole map is averaged where the window is global and the map is not its declared size (at that size the
            // window itself runs, so results there stay exactly as they were), and wherever an unpadded window is wider than
            // the map, which ONNX would reject.
            var offSize = x.dim() == 4 && (x.shape[2] != kernel[0] || x.shape[3] != kernel[1]);
            var wider = !padding.PadsInput && x.dim() == 4 && kernel[0] >= x.shape[2] && kernel[1] >= x.shape[3];
            if (offSize && (global || wider)) return One(x.mean([2, 3], keepdim: true));
            if (!padding.PadsInput)
            {
                var pooled = nn.functional.avg_pool2d(x, kernel, strides, padding.OpPadding, ceil, countPads);
                return One(padding.After(pooled, x.shape));
            }
            using var scope = torch.NewDisposeScope();
            var padded = padding.Before(x);
            var sum = nn.functional.avg_pool2d(padded, kernel, strides, [0, 0], ceil, count_include_pad: true);
            if (countPads) return One(sum.MoveToOuterDisposeScope());
            // Divide by the number of real (unpadded) cells in each window: pool a padded mask of ones the same way.
            var (begins, ends) = padding.PadsFor(x.shape);
            var ones = torch.ones(1, 1, x.shape[2], x.shape[3], dtype: x.dtype, device: x.device);
            var mask = nn.functional.pad(ones, SpatialPadding.TorchPadList(begins, ends), PaddingModes.Constant, 0);
            var cells = nn.functional.avg_pool2d(mask, kernel, strides, [0, 0], ceil, count_include_pad: true);
            return One(sum.div(cells).MoveToOuterDisposeScope());
        });
    }

    private Compiled LeakyRelu(OnnxNode node)
    {
        var alpha = node.Float("alpha", 0.01f);
        return new(a =>
        {
            using var slope = TorchScalars.Of(alpha);
            return One(a[0]!.leaky_relu(slope));
        });
    }

    private Compiled Dropout(OnnxNode node)
    {
        if (node.Outputs.Skip(1).Any(o => o.Length > 0 && _read.Contains(o)))
            throw Unsupported(node, "its mask output is read by the graph, which is not supported");
        var ratio = HasInput(node, 1) ? ConstantScalar(node, 1, "ratio") : node.Float("ratio", 0.5f);
        // Active only in training mode, as in the graph's own training semantics; evaluation passes values through.
        var dropout = nn.Dropout(ratio);
        dropout.eval();
        return new(a => One(dropout.call(a[0]!)), dropout, "dropout", [1, 2]);
    }

    private Compiled Binary(OnnxNode node)
    {
        // Numpy-style broadcasting (opset 7 and later); the axis-aligned broadcast of opsets 1-6 is not supported.
        if (node.Int("broadcast", 0) != 0 && node.Attribute("axis") is not null)
            throw Unsupported(node, "opset 1-6 broadcasting with an axis is not supported");
        var op = node.OpType;
        return new(a =>
        {
            var left = a[0]!;
            var right = a[1]!;
            return One(op switch
            {
                "Add" => left.add(right),
                "Sub" => left.sub(right),
                "Mul" => left.mul(right),
                // ONNX integer division truncates toward zero; torch's default would return floats.
                _ => left.is_floating_point() ? left.div(right) : left.div(right, RoundingMode.trunc),
            });
        });
    }

    private Compiled Pad(OnnxNode node)
    {
        var mode = node.String("mode", "constant");
        var torchMode = mode switch
        {
            "constant" => PaddingModes.Constant,
            "reflect" => PaddingModes.Reflect,
            "edge" => PaddingModes.Replicate,
            "wrap" => PaddingModes.Circular,
            _ => throw Unsupported(node, $"mode '{mode}' is not supported"),
        };
        var pads = node.Ints("pads")?.ToArray() ?? node.Ints("paddings")?.ToArray()
            ?? (HasInput(node, 1) ? ConstantInts(node, 1, "pads") : throw Unsupported(node, "no pads given"));
        double value = HasInput(node, 2) ? ConstantScalar(node, 2, "constant value") : node.Float("value", 0f);
        var rank = ShapeOf(node, 0).Length;
        var axes = HasInput(node, 3)
            ? ConstantInts(node, 3, "axes").Select(x => x < 0 ? x + rank : x).ToArray()
            : Enumerable.Range(0, rank).Select(x => (long)x).ToArray();
        if (pads.Length != 2 * axes.Length) throw Unsupported(node, $"pads has {pads.Length} values for {axes.Length} axes");
        var begins = new long[rank];
        var ends = new long[rank];
        for (var i = 0; i < axes.Length; i++)
        {
            begins[axes[i]] = pads[i];
            ends[axes[i]] = pads[axes.Length + i];
        }
        // torch pads only trailing dimensions: cover from the last one back to the first one that is padded at all.
        var firstPadded = Enumerable.Range(0, rank).FirstOrDefault(d => begins[d] != 0 || ends[d] != 0, rank);
        if (torchMode != PaddingModes.Constant && (firstPadded < 2 || rank is < 3 or > 5))
            throw Unsupported(node, $"mode '{mode}' can pad only the spatial dimensions of a 3-D to 5-D input");
        var list = SpatialPadding.TorchPadList(begins[firstPadded..], ends[firstPadded..]);
        return new(a => One(list.Length == 0 ? a[0]!.alias() : nn.functional.pad(a[0]!, list, torchMode, value)), Consumed: [1, 2, 3]);
    }

    private Compiled Flatten(OnnxNode node)
    {
        var axis = node.Int("axis", 1);
        return new(a =>
        {
            var x = a[0]!;
            var shape = x.shape;
            var at = axis < 0 ? axis + shape.Length : axis;
            var outer = shape.Take((int)at).Aggregate(1L, (p, d) => p * d);
            return One(x.reshape(outer, -1));
        });
    }

    private Compiled Reshape(OnnxNode node)
    {
        var allowZero = node.Int("allowzero", 0) != 0;
        var declaredBatch = ShapeOf(node, 0) is { Length: > 0 } s ? s[0] : 0;
        if (HasInput(node, 1) && TryConstant(node.Inputs[1], out _))
        {
            var target = ConstantInts(node, 1, "shape");
            if (allowZero && target.Contains(0)) throw Unsupported(node, "allowzero=1 with a zero in the shape is not supported");
            // The file fixes the batch at 1; a leading 1 in the target is that batch, so it follows the input's batch.
            var batchFollows = target.Length > 0 && target[0] == 1 && declaredBatch == 1;
            return new(a =>
            {
                var x = a[0]!;
                var shape = Resolve(target, x.shape, allowZero);
                if (batchFollows && x.shape.Length > 0) shape[0] = x.shape[0];
                return One(x.reshape(shape));
            }, Consumed: [1]);
        }
        return new(a =>
        {
            using var asLong = a[1]!.to_type(ScalarType.Int64).contiguous();
            return One(a[0]!.reshape(Resolve(asLong.data<long>().ToArray(), a[0]!.shape, allowZero)));
        });
    }

    private static long[] Resolve(long[] target, long[] inputShape, bool allowZero)
    {
        var shape = (long[])target.Clone();
        for (var i = 0; i < shape.Length; i++)
        {
            if (shape[i] == 0 && !allowZero && i < inputShape.Length) shape[i] = inputShape[i];
        }
        return shape;
    }

    private Compiled Split(OnnxNode node)
    {
        var axis = node.Int("axis", 0);
        var sizes = node.Ints("split")?.ToArray() ?? (HasInput(node, 1) ? ConstantInts(node, 1, "split") : null);
        var parts = node.Outputs.Count;
        return new(a =>
        {
            var x = a[0]!;
            var dim = axis < 0 ? axis + x.dim() : axis;
            if (sizes is not null) return x.split(sizes, dim);
            var chunk = (x.shape[dim] + parts - 1) / parts;
            return x.split(chunk, (int)dim);
        }, Consumed: [1]);
    }

    private Compiled Concat(OnnxNode node)
    {
        var axis = node.Attribute("axis")?.Int ?? throw Unsupported(node, "the axis attribute is missing");
        return new(a =>
        {
            var parts = a.Where(t => t is not null).Select(t => t!).ToArray();
            var dim = axis < 0 ? axis + parts[0].dim() : axis;
            return One(torch.cat(parts, dim));
        });
    }

    private Compiled Clip(OnnxNode node)
    {
        double min = node.Attribute("min")?.Float ?? double.NegativeInfinity;
        double max = node.Attribute("max")?.Float ?? double.PositiveInfinity;
        if (HasInput(node, 1)) min = ConstantScalar(node, 1, "min");
        if (HasInput(node, 2)) max = ConstantScalar(node, 2, "max");
        return new(a =>
        {
            using var low = TorchScalars.Of(min);
            using var high = TorchScalars.Of(max);
            return One(a[0]!.clamp(low, high));
        }, Consumed: [1, 2]);
    }

    private Compiled Constant(OnnxNode node)
    {
        Tensor Make()
        {
            if (node.Attribute("value") is { Tensor: { } t })
            {
                var dims = t.Dims.ToArray();
                return t.DataType == OnnxDataType.Float ? torch.tensor(t.ToFloatArray(), dims) : torch.tensor(t.ToInt64Array(), dims);
            }
            if (node.Attribute("value_float") is { } f) return torch.tensor(f.Float);
            if (node.Attribute("value_floats") is { } fs) return torch.tensor(fs.Floats.ToArray());
            if (node.Attribute("value_int") is { } i) return torch.tensor(i.Int);
            if (node.Attribute("value_ints") is { } ints) return torch.tensor(ints.Ints.ToArray());
            throw Unsupported(node, "only value, value_float(s) and value_int(s) constants are supported");
        }
        // No inputs, so it is folded: the kernel runs once, at import, and its tensor becomes a constant.
        return new(_ => One(Make()));
    }

    private Compiled Softmax(OnnxNode node)
    {
        var legacy = _opset is > 0 and < 13;
        var axis = node.Int("axis", legacy ? 1 : -1);
        return new(a =>
        {
            var x = a[0]!;
            var dim = axis < 0 ? axis + x.dim() : axis;
            if (!legacy || dim == x.dim() - 1) return One(x.softmax(dim));
            // Before opset 13 the input is viewed as 2-D [prod(dims before axis), prod(rest)] and normalised per row.
            var outer = x.shape.Take((int)dim).Aggregate(1L, (p, d) => p * d);
            using var flat = x.reshape(outer, -1);
            using var soft = flat.softmax(1);
            return One(soft.reshape(x.shape));
        });
    }

    private Compiled Transpose(OnnxNode node)
    {
        var perm = node.Ints("perm")?.ToArray();
        return new(a =>
        {
            var x = a[0]!;
            var p = perm ?? Enumerable.Range(0, (int)x.dim()).Reverse().Select(d => (long)d).ToArray();
            return One(x.permute(p));
        });
    }
}
