using System.Text.Json.Nodes;
using Forge.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace Forge.DeepLearning;

/// <summary>
/// A trained recurrent classifier over token ids: the network, its class labels and what training recorded. Text
/// front ends (tokeniser and vocabulary) wrap it; it knows only ids, 1..<see cref="VocabularySize"/>-1 (0 is padding).
/// </summary>
public sealed class SequenceClassifier : IDisposable
{
    /// <summary>The bundle flavor recurrent models are stored as.</summary>
    public const string Flavor = ModelFlavors.TorchSequence;

    internal const string WeightsFile = "weights/model.dat";
    internal const int InferenceBatch = 256;
    private readonly SequenceNetwork _network;

    internal SequenceClassifier(SequenceNetwork network, IReadOnlyList<string> labels, IReadOnlyList<EpochMetrics> history,
        IReadOnlyList<Dictionary<string, double>> gradientNorms, double trainSeconds)
    {
        _network = network;
        _network.eval();
        Labels = labels;
        History = history;
        GradientNorms = gradientNorms;
        TrainSeconds = trainSeconds;
    }

    /// <summary>The trained network (tests compare its weights).</summary>
    internal SequenceNetwork Network => _network;

    /// <summary>The architecture.</summary>
    public SequenceModelOptions Options => _network.Options;

    /// <summary>Token ids the embedding knows (0 is padding).</summary>
    public int VocabularySize => _network.VocabularySize;

    /// <summary>Class labels, in output order.</summary>
    public IReadOnlyList<string> Labels { get; }

    /// <summary>Per-epoch metrics of the training run (empty for a loaded model).</summary>
    public IReadOnlyList<EpochMetrics> History { get; }

    /// <summary>Per-epoch mean gradient norm of each layer, when training diagnosed gradients.</summary>
    public IReadOnlyList<Dictionary<string, double>> GradientNorms { get; }

    /// <summary>Seconds spent in training steps.</summary>
    public double TrainSeconds { get; }

    /// <summary>Number of trainable parameters.</summary>
    public long ParameterCount => _network.parameters().Sum(p => p.numel());

    /// <summary>Class probabilities of each sequence (each at least one id long), computed in padded, packed batches.</summary>
    public float[][] PredictProbabilities(IReadOnlyList<int[]> sequences)
    {
        ArgumentNullException.ThrowIfNull(sequences);
        for (var i = 0; i < sequences.Count; i++)
        {
            if (sequences[i] is null || sequences[i].Length == 0) throw new UsageException($"sequence {i} is empty; every sequence needs at least one token");
            foreach (var id in sequences[i])
            {
                if (id < 1 || id >= VocabularySize) throw new UsageException($"sequence {i}: token id {id} is outside 1..{VocabularySize - 1}");
            }
        }
        var result = new float[sequences.Count][];
        var rows = Enumerable.Range(0, sequences.Count).Select(i => (long)i).ToArray();
        var classes = Labels.Count;
        using var noGrad = torch.no_grad();
        // The network is a module with state (eval mode), read by one call at a time.
        lock (_network)
        {
            for (var s = 0; s < sequences.Count; s += InferenceBatch)
            {
                using var scope = NewDisposeScope();
                var len = Math.Min(InferenceBatch, sequences.Count - s);
                var (ids, lengths) = SequenceBatches.Pad(sequences, rows.AsSpan(s, len));
                var probs = nn.functional.softmax(_network.Forward(ids, lengths), 1).data<float>().ToArray();
                for (var i = 0; i < len; i++) result[s + i] = probs.AsSpan(i * classes, classes).ToArray();
            }
        }
        return result;
    }

    /// <summary>Writes the weights into a bundle being built and returns its manifest (flavor <c>torch-sequence</c>); the caller adds the tokeniser, metrics and training facts.</summary>
    public ModelManifest WriteTo(BundleWriter writer, string name)
    {
        ArgumentNullException.ThrowIfNull(writer);
        _network.save(writer.PathFor(WeightsFile));
        var model = Options.ToJson();
        model["vocabularySize"] = VocabularySize;
        return new ModelManifest
        {
            Name = name,
            Flavor = Flavor,
            Task = "classification",
            Signature = new ModelSignature([new TensorSpec("text", "string", [-1])], [new TensorSpec("probabilities", "float32", [-1, Labels.Count])], Labels),
            Model = model,
            Versions = new RuntimeVersions("", TorchRuntime.TorchSharpVersion, TorchRuntime.LibTorchVersion),
        };
    }

    /// <summary>Rebuilds a classifier from a verified bundle of flavor <c>torch-sequence</c>.</summary>
    public static SequenceClassifier Load(ModelBundle bundle)
    {
        ArgumentNullException.ThrowIfNull(bundle);
        var model = TorchBundles.ModelSection(bundle, Flavor);
        var options = SequenceModelOptions.FromJson(model);
        int vocabulary = (int?)model["vocabularySize"] ?? throw new BundleException(TorchBundles.ManifestPath(bundle), "model.vocabularySize is missing");
        var labels = bundle.Manifest.Signature.Labels;
        var network = TorchBundles.LoadWeights(new SequenceNetwork(options, vocabulary, 0, labels.Count), bundle, WeightsFile, "the architecture in forge-model.json");
        return new SequenceClassifier(network, labels, [], [], 0);
    }

    /// <inheritdoc />
    public void Dispose() => _network.Dispose();
}
