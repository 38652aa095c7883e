using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Forge.DeepLearning.Onnx;

/// <summary>
/// A TorchSharp module translated from an ONNX graph by <see cref="OnnxImporter"/>: one input tensor in, one out. The
/// graph's weights are ordinary registered TorchSharp modules (Conv2d, BatchNorm2d, Linear, …) named after the node
/// index and op ("n004_conv"), so parameters(), state_dict(), save/load, requires_grad and train()/eval() work as for any
/// module. Constant tensors the graph computes with (a mean image, a bias to add) are non-persistent buffers.
/// The leading dimension is the batch and may be any size, even when the file declares it fixed at 1.
/// </summary>
public sealed class OnnxNetwork : Module<Tensor, Tensor>
{
    private readonly List<OnnxStep> _steps;
    private readonly Dictionary<string, string> _constantBuffers;
    private readonly List<OnnxStage> _stages;
    private readonly long[] _inputShape;
    private int _frozenStages;

    internal OnnxNetwork(string name, string inputName, string outputName, long[] inputShape, List<OnnxStep> steps,
        Dictionary<string, Tensor> constants, IReadOnlyList<(string Name, int Height, int Width)> stageInfo)
        : base(name)
    {
        InputName = inputName;
        OutputName = outputName;
        _inputShape = inputShape;
        _steps = steps;
        _constantBuffers = new Dictionary<string, string>(StringComparer.Ordinal);
        var usedNames = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (valueName, tensor) in constants)
        {
            var bufferName = UniqueName("const_" + Sanitize(valueName), usedNames);
            // Non-persistent: the file is the source of these values, so state_dict() carries only what training changes.
            register_buffer(bufferName, tensor, persistent: false);
            _constantBuffers[valueName] = bufferName;
        }
        foreach (var step in steps)
        {
            if (step.Module is not null) register_module(step.ModuleName!, step.Module);
        }
        _stages = stageInfo.Select((s, i) => new OnnxStage(
            s.Name, i, s.Height, s.Width,
            steps.Where(x => x.Stage == i && x.Module is not null).Select(x => (x.ModuleName!, x.Module!)).ToList(),
            steps.Where(x => x.Stage == i).Select(x => x.Describe()).ToList())).ToList();
        ComputeReleases();
    }

    /// <summary>The graph input's name.</summary>
    public string InputName { get; }

    /// <summary>The graph output's name.</summary>
    public string OutputName { get; }

    /// <summary>The input shape the file declares (-1 for a symbolic dimension), as a fresh copy; the batch (first) dimension may differ at run time.</summary>
    public long[] InputShape => (long[])_inputShape.Clone();

    /// <summary>The layers grouped by spatial resolution: stage 0 is the stem, the last stage is nearest the output.</summary>
    public IReadOnlyList<OnnxStage> Stages => _stages;

    /// <summary>How many of the first stages <see cref="Freeze"/> has frozen (0 when all train).</summary>
    public int FrozenStageCount => _frozenStages;

    /// <summary>
    /// Leaves the last <paramref name="trainableLastStages"/> stages trainable and freezes every other: their parameters
    /// stop requiring gradients and their batch-norm layers stay in evaluation mode (running statistics fixed) even
    /// after <c>train()</c>. 0 freezes everything; a count at or above the number of stages unfreezes everything.
    /// </summary>
    public void Freeze(int trainableLastStages)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(trainableLastStages);
        _frozenStages = Math.Max(0, _stages.Count - trainableLastStages);
        foreach (var stage in _stages)
        {
            var trainable = stage.Index >= _frozenStages;
            foreach (var p in stage.Parameters) p.requires_grad = trainable;
        }
        train(training);
    }

    /// <summary>Sets training mode, keeping the batch-norm layers of frozen stages in evaluation mode.</summary>
    /// <summary>
    /// When set, every batch norm keeps its pretrained running statistics (evaluation mode) even in trainable stages; their scale
    /// and shift still learn. Small fine-tuning batches then cannot drag the statistics away from what the weights expect.
    /// </summary>
    public bool KeepBatchNormStatistics { get; set; }

    /// <inheritdoc />
    public override void train(bool train = true)
    {
        // Training changes the weights, so a folded copy of them would go stale.
        if (train) InvalidateInferencePlan();
        base.train(train);
        // _stages is null while the base constructor runs, should it ever set the mode.
        if (!train || _stages is null) return;
        foreach (var stage in _stages.Take(KeepBatchNormStatistics ? _stages.Count : _frozenStages))
        {
            foreach (var (_, module) in stage.Modules)
            {
                if (module is TorchSharp.Modules.BatchNorm1d or TorchSharp.Modules.BatchNorm2d or TorchSharp.Modules.BatchNorm3d) module.train(false);
            }
        }
    }

    /// <summary>Runs the graph on a batch shaped like <see cref="InputShape"/> (any batch size).</summary>
    public override Tensor forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        // Pure inference (eval mode, no autograd) runs a leaner plan: batch norms folded into their convolutions (weights
        // channels-last), ReLUs in place, and an image batch laid out channels-last too.
        var inference = !training && !torch.is_grad_enabled();
        var steps = inference ? InferencePlan() : _steps;
        using var channelsLast = inference && input.dim() == 4 ? ChannelsLast(input) : null;
        var values = new Dictionary<string, Tensor>(StringComparer.Ordinal) { [InputName] = channelsLast ?? input };
        foreach (var step in steps)
        {
            var args = new Tensor?[step.Inputs.Length];
            for (var i = 0; i < args.Length; i++)
            {
                var name = step.Inputs[i];
                if (name.Length == 0) continue;
                args[i] = values.TryGetValue(name, out var v) ? v : get_buffer(_constantBuffers[name]);
            }
            var outputs = step.Kernel(args);
            for (var o = 0; o < outputs.Length; o++)
            {
                var t = outputs[o];
                // A kernel may hand back its input (a no-op); the value table must never hold one tensor twice, or
                // releasing one name would dispose the other.
                if (Array.Exists(args, a => ReferenceEquals(a, t))) t = t.alias();
                if (o < step.Outputs.Length && step.Outputs[o].Length > 0) values[step.Outputs[o]] = t;
                else t.Dispose();
            }
            // Intermediates are freed as soon as nothing reads them; autograd keeps its own references.
            foreach (var dead in step.Releases)
            {
                if (values.Remove(dead, out var d)) d.Dispose();
            }
        }
        return values[OutputName];
    }

    /// <summary>One line per step: index, op, node name, module, stage — for logs and debugging.</summary>
    public string Describe() => string.Join(Environment.NewLine, _steps.Select(s => $"[stage {s.Stage}] {s.Describe()}"));

    private void ComputeReleases() => ComputeReleases(_steps);

    private void ComputeReleases(List<OnnxStep> steps)
    {
        var lastUse = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < steps.Count; i++)
        {
            foreach (var o in steps[i].Outputs.Where(o => o.Length > 0)) lastUse[o] = i;
            foreach (var n in steps[i].Inputs.Where(n => n.Length > 0 && !_constantBuffers.ContainsKey(n))) lastUse[n] = i;
        }
        lastUse.Remove(InputName);
        lastUse.Remove(OutputName);
        foreach (var (name, step) in lastUse) steps[step].Releases.Add(name);
    }

    private List<OnnxStep>? _inferencePlan;
    private readonly Lock _planLock = new();

    // Several inference threads may ask at once (ParallelInference); one builds, the others wait for it.
    private List<OnnxStep> InferencePlan()
    {
        if (Volatile.Read(ref _inferencePlan) is { } plan) return plan;
        lock (_planLock) return _inferencePlan ??= BuildInferencePlan();
    }
    private readonly List<Tensor> _foldedWeights = [];

    /// <summary>
    /// Drops the folded inference weights, so the next inference pass folds the current ones. Training mode does this itself;
    /// call it after changing weights in evaluation mode (e.g. <c>load_state_dict</c> on a network that already ran).
    /// </summary>
    public void InvalidateInferencePlan()
    {
        lock (_planLock) _inferencePlan = null;
        foreach (var t in _foldedWeights) t.Dispose();
        _foldedWeights.Clear();
    }

    private List<OnnxStep> BuildInferencePlan()
    {
        var readers = new Dictionary<string, int>(StringComparer.Ordinal) { [OutputName] = 1 };
        foreach (var n in _steps.SelectMany(s => s.Inputs).Where(n => n.Length > 0)) readers[n] = readers.GetValueOrDefault(n) + 1;
        var plan = new List<OnnxStep>(_steps.Count);
        using var noGrad = torch.no_grad();
        for (var i = 0; i < _steps.Count; i++)
        {
            var step = _steps[i];
            var next = i + 1 < _steps.Count ? _steps[i + 1] : null;
            if (step.WithWeights is { } withWeights && step.Module is TorchSharp.Modules.Conv2d conv
                && next is { Module: TorchSharp.Modules.BatchNorm2d bn } && next.Inputs.Length > 0 && next.Inputs[0] == step.Outputs[0]
                && readers.GetValueOrDefault(step.Outputs[0]) == 1)
            {
                // y = gamma (conv(x) + b - mean) / sqrt(var + eps) + beta: one convolution with rescaled weights and a new bias.
                using var eps = TorchScalars.Of(next.Node.Float("epsilon", 1e-5f));
                var scale = bn.weight!.detach() / bn.running_var!.detach().add(eps).sqrt();
                var folded = conv.weight!.detach() * scale.view(-1, 1, 1, 1);
                var weight = ChannelsLast(folded);
                folded.Dispose();
                var shift = conv.bias is null ? -bn.running_mean!.detach() : conv.bias.detach() - bn.running_mean!.detach();
                var bias = (shift * scale) + bn.bias!.detach();
                scale.Dispose();
                shift.Dispose();
                // The plan outlives whatever dispose scope the first inference call runs in.
                weight.DetachFromDisposeScope();
                bias.DetachFromDisposeScope();
                _foldedWeights.Add(weight);
                _foldedWeights.Add(bias);
                plan.Add(new OnnxStep
                {
                    Index = step.Index, Node = step.Node, Inputs = step.Inputs, Outputs = next.Outputs, Kernel = withWeights(weight, bias), Stage = next.Stage,
                });
                i++;
                continue;
            }
            if (step.Node.OpType == "Relu" && step.Inputs[0] != InputName && !_constantBuffers.ContainsKey(step.Inputs[0])
                && readers.GetValueOrDefault(step.Inputs[0]) == 1)
            {
                // Nothing else reads the input, so it may be overwritten.
                plan.Add(new OnnxStep { Index = step.Index, Node = step.Node, Inputs = step.Inputs, Outputs = step.Outputs, Kernel = a => [a[0]!.relu_()], Stage = step.Stage });
                continue;
            }
            plan.Add(new OnnxStep
            {
                Index = step.Index, Node = step.Node, Inputs = step.Inputs, Outputs = step.Outputs, Kernel = step.Kernel, Module = step.Module,
                ModuleName = step.ModuleName, Stage = step.Stage,
            });
        }
        ComputeReleases(plan);
        return plan;
    }

    // NCHW shape with NHWC strides (what PyTorch calls channels-last; TorchSharp has no memory-format API, but libtorch reads
    // the layout from the strides). oneDNN convolutions then keep activations in their native layout instead of reordering
    // them to and from blocked form at every layer: 1.5x the images/s of ResNet18 in batches on 2 cores.
    private static Tensor ChannelsLast(Tensor x)
    {
        using var nhwc = x.permute(0, 2, 3, 1).contiguous();
        return nhwc.permute(0, 3, 1, 2);
    }

    private static string Sanitize(string name)
    {
        var chars = name.Select(c => char.IsAsciiLetterOrDigit(c) ? c : '_').ToArray();
        return new string(chars);
    }

    private static string UniqueName(string name, HashSet<string> used)
    {
        var candidate = name;
        for (var i = 2; !used.Add(candidate); i++) candidate = $"{name}_{i}";
        return candidate;
    }
}

/// <summary>
/// A group of consecutive layers at one spatial resolution (the stem is everything before the first residual block).
/// Fine-tuning unfreezes whole stages from the output end.
/// </summary>
public sealed class OnnxStage
{
    internal OnnxStage(string name, int index, int height, int width, IReadOnlyList<(string Name, Module Module)> modules,
        IReadOnlyList<string> nodes)
    {
        Name = name;
        Index = index;
        Height = height;
        Width = width;
        Modules = modules;
        Nodes = nodes;
        Parameters = modules.SelectMany(m => m.Module.parameters()).ToList();
    }

    /// <summary>"stem", "stage1", …</summary>
    public string Name { get; }

    /// <summary>The position from the input end (0 = stem).</summary>
    public int Index { get; }

    /// <summary>The feature-map height the stage works at (for the stem, where it hands over), or 0 for non-spatial layers.</summary>
    public int Height { get; }

    /// <summary>The feature-map width the stage works at, or 0 for non-spatial layers.</summary>
    public int Width { get; }

    /// <summary>The stage's registered modules with their names in the network.</summary>
    public IReadOnlyList<(string Name, Module Module)> Modules { get; }

    /// <summary>Every trainable tensor of the stage's modules.</summary>
    public IReadOnlyList<Parameter> Parameters { get; }

    /// <summary>The graph nodes in the stage, one description each.</summary>
    public IReadOnlyList<string> Nodes { get; }

    /// <summary>The number of scalar parameters in the stage.</summary>
    public long ParameterCount => Parameters.Sum(p => p.numel());

    /// <summary>"stage2 (28×28, 5 modules, 2,099,712 parameters)".</summary>
    public override string ToString() =>
        $"{Name} ({(Height > 0 ? $"{Height}×{Width}, " : "")}{Modules.Count} modules, {ParameterCount:N0} parameters)";
}

/// <summary>One compiled graph node: which values it reads and writes, and the function that computes it.</summary>
internal sealed class OnnxStep
{
    public required int Index { get; init; }
    public required OnnxNode Node { get; init; }

    /// <summary>The value names the kernel reads at run time, aligned with the node's inputs; "" where an input was
    /// omitted or consumed at import (weights, shapes).</summary>
    public required string[] Inputs { get; init; }

    public required string[] Outputs { get; init; }
    public required Func<Tensor?[], Tensor[]> Kernel { get; init; }
    public Module? Module { get; init; }
    public string? ModuleName { get; init; }

    /// <summary>For a convolution: a kernel running the same convolution with given weight and bias (batch-norm folding).</summary>
    public Func<Tensor, Tensor, Func<Tensor?[], Tensor[]>>? WithWeights { get; init; }
    public int Stage { get; set; }

    /// <summary>The height and width of the first output when it is a 4-D feature map, at the import-time input size.</summary>
    public (int Height, int Width)? Resolution { get; set; }

    /// <summary>Values whose last reader is this step.</summary>
    public List<string> Releases { get; } = [];

    public string Describe() =>
        $"n{Index:D3} {Node}{(ModuleName is null ? "" : $" -> {ModuleName}")}{(Resolution is { } r ? $" @{r.Height}x{r.Width}" : "")}";
}
