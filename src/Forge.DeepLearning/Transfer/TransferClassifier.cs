using System.Text.Json.Nodes;
using Forge.Core;
using Forge.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace Forge.DeepLearning.Transfer;

/// <summary>A colour-image classifier built on a pretrained backbone: the network, its input sizes, and what training recorded.</summary>
public sealed class TransferClassifier : IPredictor
{
    /// <summary>The <c>model.kind</c> that marks a transfer model inside a <c>torch-image</c> bundle.</summary>
    public const string Kind = "transfer";

    private const string WeightsFile = "weights/model.dat";
    private const string GraphFile = "weights/backbone.onnx";
    private const string PreprocessFile = "weights/preprocess.onnx";
    private const int Batch = 32;
    private readonly TransferNetwork _net;

    internal TransferClassifier(TransferNetwork net, IReadOnlyList<string> labels, TransferOptions options, IReadOnlyList<EpochMetrics> history,
        double trainSeconds, int trainCount, int validationCount, double? validationAccuracy)
    {
        _net = net;
        _net.eval();
        Labels = labels;
        Options = options;
        History = history;
        TrainSeconds = trainSeconds;
        TrainCount = trainCount;
        ValidationCount = validationCount;
        ValidationAccuracy = validationAccuracy;
        // With several crops the model takes the whole decoded image and crops it itself, so serving averages the same views.
        var s = options.TestCrops > 1 ? options.StoreSize : options.ImageSize;
        Signature = new ModelSignature(
            [new TensorSpec("image", "float32", [-1, 3, s, s]) { Min = 0, Max = 1 }],
            [new TensorSpec("probabilities", "float32", [-1, labels.Count])],
            labels);
    }

    /// <summary>Class labels, in output order.</summary>
    public IReadOnlyList<string> Labels { get; }

    /// <summary>The settings it was trained with (sizes matter for prediction).</summary>
    public TransferOptions Options { get; }

    /// <summary>Per-epoch metrics (head epochs first); empty for a loaded model.</summary>
    public IReadOnlyList<EpochMetrics> History { get; }

    /// <summary>Wall-clock seconds of training, feature caching included.</summary>
    public double TrainSeconds { get; }

    /// <summary>Images trained on.</summary>
    public int TrainCount { get; }

    /// <summary>Images held out for validation.</summary>
    public int ValidationCount { get; }

    /// <summary>Best validation accuracy seen (the weights kept are that epoch's).</summary>
    public double? ValidationAccuracy { get; }

    /// <summary>The network.</summary>
    public TransferNetwork Network => _net;

    /// <summary>Parallel inference streams (1: one stream using libtorch's threads; 0: one single-threaded stream per core).</summary>
    public int InferenceStreams { get; set; } = 1;

    /// <inheritdoc />
    public ModelSignature Signature { get; }

    /// <summary>Trainable parameters in the whole network.</summary>
    public long ParameterCount => _net.parameters().Sum(p => p.numel());

    /// <summary>Class probabilities of every image (decoded at the store size), row-major [count × classes].</summary>
    public float[] PredictProbabilities(RgbImageSet images, IProgress<int>? progress = null) => PredictProbabilities(images, Options, progress);

    /// <summary>
    /// The same with other prediction settings (test crops, flip averaging) on this trained network, so settings that differ
    /// only in how they predict can be scored without training again.
    /// </summary>
    internal float[] PredictProbabilities(RgbImageSet images, TransferOptions prediction, IProgress<int>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(prediction);
        if (images.Size != prediction.StoreSize)
            throw new UsageException($"images are decoded at {images.Size} px; the model expects {prediction.StoreSize}");
        var c = Labels.Count;
        var result = new float[(long)images.Count * c];
        var all = Enumerable.Range(0, images.Count).ToArray();
        var batches = (images.Count + Batch - 1) / Batch;
        var done = 0;
        ParallelInference.Run(batches, b =>
        {
            var s = b * Batch;
            var len = Math.Min(Batch, images.Count - s);
            using var scope = NewDisposeScope();
            TestViews.Probabilities(_net, images, all.AsSpan(s, len), prediction).data<float>().CopyTo(result.AsSpan(s * c, len * c));
            return len;
        }, InferenceStreams, b =>
        {
            done += Math.Min(Batch, images.Count - (b * Batch));
            progress?.Report(done);
        });
        return result;
    }

    /// <summary>Decodes image files the way training did and predicts each.</summary>
    public float[][] PredictFiles(IReadOnlyList<string> paths)
    {
        ArgumentNullException.ThrowIfNull(paths);
        var pixels = new byte[(long)paths.Count * Options.StoreSize * Options.StoreSize * 3];
        var per = Options.StoreSize * Options.StoreSize * 3;
        for (var i = 0; i < paths.Count; i++) RgbImageSet.DecodeOne(paths[i], Options.StoreSize).CopyTo(pixels.AsSpan(i * per, per));
        var set = new RgbImageSet(pixels, new int[paths.Count], Options.StoreSize, Labels, paths);
        var flat = PredictProbabilities(set);
        return [.. Enumerable.Range(0, paths.Count).Select(i => flat.AsSpan(i * Labels.Count, Labels.Count).ToArray())];
    }

    /// <summary>
    /// Turns an encoded JPEG/PNG image into one input row for <see cref="Predict(Table)"/>: decoded as training
    /// decoded it, centre-cropped to the network's size (or whole, when the model averages several crops), RGB channels first, in 0–1.
    /// </summary>
    public float[] EncodeImage(byte[] bytes, string source)
    {
        return InputRow(RgbImageSet.DecodeBytes(bytes, source, Options.StoreSize));
    }

    /// <summary>
    /// One stored image (StoreSize² RGB bytes, as <see cref="RgbImageSet"/> keeps them) as the model's input row, channels first,
    /// in 0–1: the centred square of the signature's side, which is the centre crop, or the whole image with several test crops.
    /// </summary>
    internal float[] InputRow(ReadOnlySpan<byte> rgb)
    {
        var side = Signature.Inputs[0].Shape[^1];
        return Crop(rgb, side, (Options.StoreSize - side) / 2);
    }

    private float[] Crop(ReadOnlySpan<byte> rgb, int s, int offset)
    {
        var store = Options.StoreSize;
        var row = new float[3 * s * s];
        for (var y = 0; y < s; y++)
        {
            for (var x = 0; x < s; x++)
            {
                var src = (((y + offset) * store) + x + offset) * 3;
                for (var c = 0; c < 3; c++) row[(c * s * s) + (y * s) + x] = rgb[src + c] / 255f;
            }
        }
        return row;
    }

    /// <inheritdoc />
    public Prediction Predict(Table batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var s = Signature.Inputs[0].Shape[^1];
        var pixels = ModelInputs.Tensor(batch, Signature.Inputs[0], $"3×{s}×{s} RGB in 0–1, channels first");
        var per = 3 * s * s;
        var output = new float[batch.RowCount][];
        using var noGrad = torch.no_grad();
        for (var start = 0; start < batch.RowCount; start += Batch)
        {
            using var scope = NewDisposeScope();
            var len = Math.Min(Batch, batch.RowCount - start);
            var flat = pixels.Values.Slice(start * per, len * per).ToArray();
            using var scale = TorchScalars.Of(255f);
            var x = torch.tensor(flat, [len, 3, s, s]).mul_(scale);
            var p = Options.TestCrops > 1 ? TestViews.Probabilities(_net, x, Options.ImageSize, Options.TestCrops, Options.FlipAveraging) : _net.Probabilities(x, Options.FlipAveraging);
            var probs = p.data<float>().ToArray();
            for (var i = 0; i < len; i++) output[start + i] = probs.AsSpan(i * Labels.Count, Labels.Count).ToArray();
        }
        return Prediction.Classes(Labels, output);
    }

    /// <summary>Writes the network (a copy of the backbone graph, its preprocessing, and the trained weights) into a bundle being built.</summary>
    public ModelManifest WriteTo(BundleWriter writer, string name)
    {
        ArgumentNullException.ThrowIfNull(writer);
        File.Copy(_net.GraphPath, writer.PathFor(GraphFile), overwrite: true);
        File.Copy(_net.PreprocessPath, writer.PathFor(PreprocessFile), overwrite: true);
        _net.save(writer.PathFor(WeightsFile));
        return new ModelManifest
        {
            Name = name,
            Flavor = ImageClassifier.Flavor,
            Task = "classification",
            Signature = Signature,
            Model = new JsonObject
            {
                ["kind"] = Kind,
                ["backbone"] = _net.BackboneName,
                ["mode"] = TransferOptions.ModeName(Options.Mode),
                ["unfreeze"] = Options.Mode == TransferMode.FineTune ? Options.Unfreeze : null,
                ["features"] = _net.FeatureCount,
                ["headDropout"] = Options.HeadDropout,
                ["flipAveraging"] = Options.FlipAveraging ? true : null,
                ["testCrops"] = Options.TestCrops > 1 ? Options.TestCrops : null,
                ["graph"] = GraphFile,
            },
            Preprocessing = new JsonObject
            {
                ["kind"] = "image",
                ["channels"] = 3,
                ["height"] = Options.ImageSize,
                ["width"] = Options.ImageSize,
                ["decodeSize"] = Options.StoreSize,
                ["resize"] = Options.TestCrops > 1
                    ? $"shorter side to decodeSize; the input is the whole decoded image, and the model averages its centre and corner height×width crops ({Options.TestCrops})"
                    : "shorter side to decodeSize, centre crop to height×width",
                ["pixelScale"] = "0-255",
                ["backbonePreprocessing"] = PreprocessFile,
            },
            Versions = new RuntimeVersions("", TorchRuntime.TorchSharpVersion, TorchRuntime.LibTorchVersion),
        };
    }

    /// <summary>Whether a bundle holds a transfer model.</summary>
    public static bool IsTransfer(ModelBundle bundle)
    {
        ArgumentNullException.ThrowIfNull(bundle);
        return bundle.Manifest.Flavor == ImageClassifier.Flavor && (string?)bundle.Manifest.Model?["kind"] == Kind;
    }

    /// <summary>Rebuilds a transfer model from a verified bundle.</summary>
    public static TransferClassifier Load(ModelBundle bundle)
    {
        ArgumentNullException.ThrowIfNull(bundle);
        var manifestPath = Path.Combine(bundle.Directory, ModelBundle.ManifestFileName);
        if (!IsTransfer(bundle)) throw new BundleException(manifestPath, $"not a transfer-learning image model (model.kind is not '{Kind}')");
        var m = bundle.Manifest;
        var p = m.Preprocessing;
        int size = (int?)p["height"] ?? throw new BundleException(manifestPath, "preprocessing.height is missing");
        int store = (int?)p["decodeSize"] ?? throw new BundleException(manifestPath, "preprocessing.decodeSize is missing");
        var dropout = (double?)m.Model!["headDropout"] ?? 0;
        var backbone = (string?)m.Model["backbone"] ?? "resnet18";
        var net = TransferNetwork.FromFiles(backbone, bundle.GetPath(GraphFile), bundle.GetPath(PreprocessFile), m.Signature.Labels.Count, dropout);
        // The constructor's probe pass folded the file's original weights for inference; fold the trained ones instead.
        TorchBundles.LoadWeights(net, bundle, WeightsFile, "the backbone graph in the bundle", n => n.Backbone.InvalidateInferencePlan());
        var mode = TransferOptions.ParseMode((string?)m.Model["mode"] ?? "fine-tune");
        var flip = (bool?)m.Model["flipAveraging"] ?? false;
        var crops = (int?)m.Model["testCrops"] ?? 1;
        // Progressive resizing shapes training only; a loaded model predicts at its signature's size.
        var options = TransferOptions.For(mode) with { ImageSize = size, StoreSize = store, HeadDropout = dropout, FlipAveraging = flip, TestCrops = crops, ProgressiveSize = 0 };
        var problems = options.FindProblems();
        if (problems.Count > 0) throw new BundleException(manifestPath, $"model settings: {string.Join("; ", problems)}");
        return new TransferClassifier(net, m.Signature.Labels, options, [], 0, 0, 0, null);
    }

    /// <inheritdoc />
    public void Dispose() => _net.Dispose();
}
