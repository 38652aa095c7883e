using System.Text.Json.Nodes;
using Forge.Core;

namespace Forge.DeepLearning;

/// <summary>The architecture of an image or tabular network, kept apart from its learned weights so a bundle can rebuild it.</summary>
public sealed record ModelSpec
{
    /// <summary>"mlp", "cnn" or "reference-cnn".</summary>
    public string Kind { get; init; } = "cnn";

    /// <summary>Widths of the hidden fully connected layers.</summary>
    public IReadOnlyList<int> Hidden { get; init; } = [];

    /// <summary>Output channels of each convolution block (CNN only); every block halves the spatial size.</summary>
    public IReadOnlyList<int> Channels { get; init; } = [];

    /// <summary>Convolutions per block (CNN only).</summary>
    public int ConvsPerBlock { get; init; } = 1;

    /// <summary>"relu", "gelu", "tanh" or "sigmoid".</summary>
    public string Activation { get; init; } = "relu";

    /// <summary>Whether each conv / hidden layer is followed by batch normalisation.</summary>
    public bool BatchNorm { get; init; } = true;

    /// <summary>Dropout probability before each fully connected layer (0 = none).</summary>
    public double Dropout { get; init; }

    /// <summary>The activations the spec accepts.</summary>
    public static IReadOnlyList<string> Activations { get; } = ["relu", "gelu", "tanh", "sigmoid"];

    /// <summary>The model names <see cref="FromName"/> accepts.</summary>
    public static IReadOnlyList<string> Names { get; } = ["cnn", "mlp", "reference-cnn"];

    /// <summary>Forge's default image recipe: three narrow conv–BN–ReLU–pool blocks (16, 32, 64 channels) and a linear head; 29k parameters, several times cheaper per image than the reference CNN and more accurate.</summary>
    public static ModelSpec Cnn() => new() { Kind = "cnn", Channels = [16, 32, 64], ConvsPerBlock = 1, BatchNorm = true, Dropout = 0.1 };

    /// <summary>A multi-layer perceptron with two hidden layers.</summary>
    public static ModelSpec Mlp() => new() { Kind = "mlp", Hidden = [512, 256], BatchNorm = true, Dropout = 0.2 };

    /// <summary>Exactly the pytorch/examples MNIST network (conv32–conv64–maxpool–dropout0.25–fc128–dropout0.5–fc10–log-softmax), for side-by-side benchmarks.</summary>
    public static ModelSpec ReferenceCnn() => new() { Kind = "reference-cnn", BatchNorm = false };

    /// <summary>The preset for a model name; unknown names get a "did you mean".</summary>
    public static ModelSpec FromName(string name) => name.ToLowerInvariant() switch
    {
        "cnn" => Cnn(),
        "mlp" => Mlp(),
        "reference-cnn" => ReferenceCnn(),
        _ => throw new NotFoundException("model", name, Names),
    };

    /// <summary>Checks the whole spec and reports every problem at once.</summary>
    public void Validate()
    {
        var problems = new List<string>();
        if (!Names.Contains(Kind)) problems.Add($"kind '{Kind}' is not one of {string.Join(", ", Names)}");
        if (!Activations.Contains(Activation)) problems.Add($"activation '{Activation}' is not one of {string.Join(", ", Activations)}");
        if (Dropout is < 0 or >= 1) problems.Add($"dropout {Dropout} must be in [0, 1)");
        if (Hidden.Any(h => h <= 0)) problems.Add("hidden layer widths must be positive");
        if (Channels.Any(c => c <= 0)) problems.Add("channel counts must be positive");
        if (Kind == "cnn" && Channels.Count == 0) problems.Add("a cnn needs at least one conv block (--channels)");
        if (ConvsPerBlock < 1) problems.Add("convs per block must be at least 1");
        if (problems.Count > 0) throw new UsageException("invalid model: " + string.Join("; ", problems));
    }

    /// <summary>The spec as JSON for a bundle manifest.</summary>
    public JsonObject ToJson() => new()
    {
        ["kind"] = Kind,
        ["hidden"] = new JsonArray(Hidden.Select(h => (JsonNode)h).ToArray()),
        ["channels"] = new JsonArray(Channels.Select(c => (JsonNode)c).ToArray()),
        ["convsPerBlock"] = ConvsPerBlock,
        ["activation"] = Activation,
        ["batchNorm"] = BatchNorm,
        ["dropout"] = Dropout,
    };

    /// <summary>Reads a spec written by <see cref="ToJson"/>.</summary>
    public static ModelSpec FromJson(JsonObject json)
    {
        ArgumentNullException.ThrowIfNull(json);
        return new ModelSpec
        {
            Kind = (string?)json["kind"] ?? "cnn",
            Hidden = json["hidden"]?.AsArray().Select(n => (int)n!).ToArray() ?? [],
            Channels = json["channels"]?.AsArray().Select(n => (int)n!).ToArray() ?? [],
            ConvsPerBlock = (int?)json["convsPerBlock"] ?? 1,
            Activation = (string?)json["activation"] ?? "relu",
            BatchNorm = (bool?)json["batchNorm"] ?? false,
            Dropout = (double?)json["dropout"] ?? 0,
        };
    }
}
