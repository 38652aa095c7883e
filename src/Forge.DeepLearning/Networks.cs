using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Forge.DeepLearning;

/// <summary>Builds TorchSharp modules from a <see cref="ModelSpec"/>.</summary>
internal static class Networks
{
    /// <summary>Builds the network for inputs of shape [channels, height, width] and <paramref name="classes"/> outputs (logits, or log-probabilities for reference-cnn).</summary>
    public static Module<Tensor, Tensor> Build(ModelSpec spec, int channels, int height, int width, int classes)
    {
        ArgumentNullException.ThrowIfNull(spec);
        spec.Validate();
        return spec.Kind switch
        {
            "reference-cnn" => ReferenceCnn(channels, height, width, classes),
            "cnn" => Cnn(spec, channels, height, width, classes),
            _ => Mlp(spec, channels * height * width, classes),
        };
    }

    /// <summary>True when the network ends in log-softmax, so the loss is NLL rather than cross-entropy on logits.</summary>
    public static bool OutputsLogProbabilities(ModelSpec spec) => spec?.Kind == "reference-cnn";

    private static Module<Tensor, Tensor> ReferenceCnn(int channels, int height, int width, int classes)
    {
        var flat = 64 * ((height - 4) / 2) * ((width - 4) / 2);
        return Sequential(
            ("conv1", Conv2d(channels, 32, 3)),
            ("relu1", ReLU()),
            ("conv2", Conv2d(32, 64, 3)),
            ("relu2", ReLU()),
            ("pool", MaxPool2d(2)),
            ("dropout1", Dropout(0.25)),
            ("flatten", Flatten()),
            ("fc1", Linear(flat, 128)),
            ("relu3", ReLU()),
            ("dropout2", Dropout(0.5)),
            ("fc2", Linear(128, classes)),
            ("logsoftmax", LogSoftmax(1)));
    }

    private static Module<Tensor, Tensor> Cnn(ModelSpec spec, int channels, int height, int width, int classes)
    {
        var layers = new List<(string, Module<Tensor, Tensor>)>();
        var inC = channels;
        int h = height, w = width;
        for (var b = 0; b < spec.Channels.Count; b++)
        {
            var outC = spec.Channels[b];
            for (var c = 0; c < spec.ConvsPerBlock; c++)
            {
                var name = spec.ConvsPerBlock == 1 ? $"block{b + 1}" : $"block{b + 1}_{c + 1}";
                // Batch norm makes the conv bias redundant.
                layers.Add(($"{name}_conv", Conv2d(inC, outC, 3, padding: 1, bias: !spec.BatchNorm)));
                if (spec.BatchNorm) layers.Add(($"{name}_bn", BatchNorm2d(outC)));
                layers.Add(($"{name}_act", Activation(spec.Activation)));
                inC = outC;
            }
            layers.Add(($"block{b + 1}_pool", MaxPool2d(2)));
            h /= 2;
            w /= 2;
        }
        layers.Add(("flatten", Flatten()));
        var features = inC * h * w;
        foreach (var (width1, i) in spec.Hidden.Select((x, i) => (x, i)))
        {
            if (spec.Dropout > 0) layers.Add(($"dropout{i + 1}", Dropout(spec.Dropout)));
            layers.Add(($"fc{i + 1}", Linear(features, width1)));
            layers.Add(($"fc{i + 1}_act", Activation(spec.Activation)));
            features = width1;
        }
        if (spec.Dropout > 0) layers.Add(("dropout_head", Dropout(spec.Dropout)));
        layers.Add(("head", Linear(features, classes)));
        return Sequential(layers);
    }

    private static Module<Tensor, Tensor> Mlp(ModelSpec spec, int inputs, int classes)
    {
        var layers = new List<(string, Module<Tensor, Tensor>)> { ("flatten", Flatten()) };
        var features = inputs;
        for (var i = 0; i < spec.Hidden.Count; i++)
        {
            layers.Add(($"fc{i + 1}", Linear(features, spec.Hidden[i], hasBias: !spec.BatchNorm)));
            if (spec.BatchNorm) layers.Add(($"fc{i + 1}_bn", BatchNorm1d(spec.Hidden[i])));
            layers.Add(($"fc{i + 1}_act", Activation(spec.Activation)));
            if (spec.Dropout > 0) layers.Add(($"dropout{i + 1}", Dropout(spec.Dropout)));
            features = spec.Hidden[i];
        }
        layers.Add(("head", Linear(features, classes)));
        return Sequential(layers);
    }

    private static Module<Tensor, Tensor> Activation(string name) => name switch
    {
        "gelu" => GELU(),
        "tanh" => Tanh(),
        "sigmoid" => Sigmoid(),
        _ => ReLU(),
    };
}

/// <summary>
/// An inference-only view of a trained network: the same function in eval mode with batch norm folded into the preceding
/// 3×3 convolution and dropout skipped. On a 2-core CPU the forward pass is bound by memory traffic over the large early
/// activations, and each batch-norm layer is one more full read and write of them. It owns only the folded convolutions;
/// every other layer is the trained network's own, so disposing the view never touches the network it was made from.
/// </summary>
internal sealed class InferenceNetwork : IDisposable
{
    private readonly List<Func<Tensor, Tensor>> _steps = [];
    private readonly List<IDisposable> _owned = [];

    public InferenceNetwork(ModelSpec spec, Module<Tensor, Tensor> trained)
    {
        if (spec.Kind != "cnn" || !spec.BatchNorm)
        {
            _steps.Add(trained.call);
            return;
        }
        var children = trained.named_children().Select(c => c.module).ToList();
        using var noGrad = torch.no_grad();
        for (var i = 0; i < children.Count; i++)
        {
            var module = children[i];
            if (module is TorchSharp.Modules.Conv2d conv && i + 1 < children.Count && children[i + 1] is TorchSharp.Modules.BatchNorm2d bn)
            {
                using var scope = NewDisposeScope();
                var w = conv.weight!;
                using var eps = TorchScalars.Of(1e-5);
                var scale = bn.weight!.div(bn.running_var!.add(eps).sqrt());
                var folded = Conv2d(w.shape[1], w.shape[0], 3, padding: 1, bias: true);
                folded.weight!.copy_(w.mul(scale.reshape(-1, 1, 1, 1)));
                var bias = bn.bias!.sub(bn.running_mean!.mul(scale));
                if (conv.bias is { } b) bias = bias.add(b.mul(scale));
                folded.bias!.copy_(bias);
                folded.eval();
                _steps.Add(folded.call);
                _owned.Add(folded);
                i++; // the batch norm is now part of the convolution
                continue;
            }
            if (module is TorchSharp.Modules.Dropout) continue;
            // In place: the input is always a fresh intermediate of this pass, never the caller's tensor.
            if (module is TorchSharp.Modules.ReLU && _steps.Count > 0) _steps.Add(x => x.relu_());
            else _steps.Add(((Module<Tensor, Tensor>)module).call);
        }
    }

    public Tensor Forward(Tensor x)
    {
        foreach (var step in _steps) x = step(x);
        return x;
    }

    public void Dispose()
    {
        foreach (var o in _owned) o.Dispose();
        _owned.Clear();
        _steps.Clear();
    }
}
