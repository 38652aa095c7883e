using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Forge.DeepLearning;

/// <summary>Builds TorchSharp modules from a <see cref="ModelSpec"/>.</summary>
public static class Networks
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
