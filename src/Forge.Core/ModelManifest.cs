using System.Text.Json.Nodes;

namespace Forge.Core;

/// <summary>The size and SHA-256 of one file in a model bundle.</summary>
/// <param name="Sha256">Lowercase hexadecimal SHA-256 of the file's bytes.</param>
/// <param name="Size">The file's length in bytes.</param>
public sealed record BundleFile(string Sha256, long Size);

/// <summary>The versions of Forge and of the native runtimes a bundle was written with.</summary>
/// <param name="Forge">Forge's version; the bundle writer fills it when empty.</param>
/// <param name="TorchSharp">TorchSharp's version, for flavors that use it.</param>
/// <param name="LibTorch">libtorch's version, for flavors that use it.</param>
public sealed record RuntimeVersions(string Forge, string? TorchSharp, string? LibTorch);

/// <summary>How a model was trained: enough to find the run and reproduce it.</summary>
public sealed record TrainingInfo
{
    /// <summary>The tracking run that produced the model, when it was tracked.</summary>
    public string? RunId { get; init; }

    /// <summary>The name of the training dataset.</summary>
    public string Dataset { get; init; } = "";

    /// <summary>A checksum identifying the exact training data, when known.</summary>
    public string? DatasetChecksum { get; init; }

    /// <summary>Every hyperparameter, as text.</summary>
    public IReadOnlyDictionary<string, string> Hyperparameters { get; init; } = new Dictionary<string, string>();

    /// <summary>The random seed, when one was fixed.</summary>
    public int? Seed { get; init; }

    /// <summary>The source commit the trainer ran from, when known.</summary>
    public string? GitCommit { get; init; }

    /// <summary>Wall time of training.</summary>
    public double DurationSeconds { get; init; }

    /// <summary>Number of epochs trained.</summary>
    public int Epochs { get; init; }

    /// <summary>How the data was split into training, validation and test rows, in words, when the trainer made the split.</summary>
    public string? Split { get; init; }
}

/// <summary>The names of the bundle flavors Forge knows.</summary>
public static class ModelFlavors
{
    /// <summary>A TorchSharp image classifier.</summary>
    public const string TorchImage = "torch-image";

    /// <summary>A classifier over text embeddings.</summary>
    public const string TextEmbedding = "text-embedding";

    /// <summary>An ML.NET tabular model.</summary>
    public const string MlNetTabular = "mlnet-tabular";

    /// <summary>An ONNX model.</summary>
    public const string Onnx = "onnx";

    /// <summary>A TorchSharp recurrent (RNN/LSTM/GRU) sequence model.</summary>
    public const string TorchSequence = "torch-sequence";

    /// <summary>Every known flavor.</summary>
    public static IReadOnlyList<string> All { get; } = [TorchImage, TextEmbedding, MlNetTabular, Onnx, TorchSequence];
}

/// <summary>The contents of forge-model.json: what a bundle's model is, how it was made and which files it consists of.</summary>
public sealed class ModelManifest
{
    /// <summary>The bundle format this manifest follows.</summary>
    public int FormatVersion { get; set; } = ModelBundle.CurrentFormatVersion;

    /// <summary>The model's name.</summary>
    public string Name { get; set; } = "";

    /// <summary>Which kind of model the bundle holds; one of <see cref="ModelFlavors"/>.</summary>
    public string Flavor { get; set; } = "";

    /// <summary>What the model does; "classification" for now.</summary>
    public string Task { get; set; } = "classification";

    /// <summary>A free-text description of the model.</summary>
    public string? Description { get; set; }

    /// <summary>The license the model is released under.</summary>
    public string? License { get; set; }

    /// <summary>The model's inputs, outputs and labels.</summary>
    public ModelSignature Signature { get; set; } = new([], [], []);

    /// <summary>How raw inputs become model inputs (normalisation, image size, tokenizer, feature columns); flavor-specific.</summary>
    public JsonObject Preprocessing { get; set; } = [];

    /// <summary>The flavor-specific architecture configuration, when the flavor needs one.</summary>
    public JsonObject? Model { get; set; }

    /// <summary>Evaluation metrics by name, e.g. "accuracy".</summary>
    public Dictionary<string, double> Metrics { get; set; } = [];

    /// <summary>How the model was trained, when known.</summary>
    public TrainingInfo? Training { get; set; }

    /// <summary>The versions of Forge and its runtimes the bundle was written with.</summary>
    public RuntimeVersions Versions { get; set; } = new("", null, null);

    /// <summary>When the bundle was written; the writer sets it when left at its default.</summary>
    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>Every file of the bundle except forge-model.json, by relative path with '/'; filled by the writer.</summary>
    public SortedDictionary<string, BundleFile> Files { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Lists every field that is missing or impossible, so one pass reports them all.</summary>
    internal List<string> FindProblems()
    {
        var problems = new List<string>();
        if (string.IsNullOrWhiteSpace(Name)) problems.Add("name is missing");
        if (string.IsNullOrWhiteSpace(Flavor)) problems.Add("flavor is missing");
        if (string.IsNullOrWhiteSpace(Task)) problems.Add("task is missing");
        if (Signature is null) problems.Add("signature is missing");
        else
        {
            if (Signature.Inputs is null) problems.Add("signature.inputs is missing");
            if (Signature.Outputs is null) problems.Add("signature.outputs is missing");
            if (Signature.Labels is null) problems.Add("signature.labels is missing");
            CheckSpecs(Signature.Inputs, "inputs", problems);
            CheckSpecs(Signature.Outputs, "outputs", problems);
        }
        if (Preprocessing is null) problems.Add("preprocessing is missing");
        if (Metrics is null) problems.Add("metrics is missing");
        if (Versions is null) problems.Add("versions is missing");
        if (Files is null) problems.Add("files is missing");
        if (Training is not null && Training.Hyperparameters is null) problems.Add("training.hyperparameters is missing");
        return problems;
    }

    private static void CheckSpecs(IReadOnlyList<TensorSpec>? specs, string field, List<string> problems)
    {
        if (specs is null) return;
        for (var i = 0; i < specs.Count; i++)
        {
            var spec = specs[i];
            if (spec is null) problems.Add($"signature.{field}[{i}] is null");
            else if (string.IsNullOrWhiteSpace(spec.Name) || spec.DType is null || spec.Shape is null)
                problems.Add($"signature.{field}[{i}] needs a name, dtype and shape");
        }
    }
}
