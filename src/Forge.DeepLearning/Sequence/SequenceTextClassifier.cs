using System.Globalization;
using System.Text.Json.Nodes;
using Forge.Core;

namespace Forge.DeepLearning;

/// <summary>
/// A recurrent text classifier trained from scratch: <see cref="WordTokenizer"/>, a <see cref="WordVocabulary"/> and a
/// <see cref="SequenceClassifier"/>. Bundles are of flavor <c>torch-sequence</c> with preprocessing kind
/// <c>word-sequence</c>; they take the same text input (<c>text</c>, one string a row) as other text bundles.
/// </summary>
public sealed class SequenceTextClassifier : IPredictor
{
    /// <summary>The preprocessing kind of text bundles of flavor <c>torch-sequence</c>.</summary>
    public const string PreprocessingKind = "word-sequence";

    private const string VocabularyFile = "weights/vocabulary.txt";

    internal SequenceTextClassifier(SequenceClassifier model, WordVocabulary vocabulary)
    {
        Model = model;
        Vocabulary = vocabulary;
        Signature = new ModelSignature([new TensorSpec("text", "string", [-1])], [new TensorSpec("probabilities", "float32", [-1, model.Labels.Count])], model.Labels);
    }

    /// <summary>The recurrent classifier over token ids.</summary>
    public SequenceClassifier Model { get; }

    /// <summary>The word vocabulary (training split only).</summary>
    public WordVocabulary Vocabulary { get; }

    /// <summary>Class labels, in output order.</summary>
    public IReadOnlyList<string> Labels => Model.Labels;

    /// <inheritdoc />
    public ModelSignature Signature { get; }

    /// <summary>Whether a bundle holds a recurrent text model.</summary>
    public static bool IsSequenceText(ModelManifest manifest)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        return manifest.Flavor == SequenceClassifier.Flavor && (string?)manifest.Preprocessing["kind"] == PreprocessingKind;
    }

    /// <summary>Class probabilities of each text (an empty text, or one with no known word, is answered by the out-of-vocabulary rule of <see cref="WordVocabulary"/>).</summary>
    public float[][] PredictProbabilities(IReadOnlyList<string> texts, IProgress<int>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(texts);
        var result = new float[texts.Count][];
        // Chunks keep progress moving on a large batch; each chunk is padded and packed as one or more batches.
        const int chunk = 1024;
        for (var s = 0; s < texts.Count; s += chunk)
        {
            var len = Math.Min(chunk, texts.Count - s);
            var ids = new int[len][];
            for (var i = 0; i < len; i++) ids[i] = Vocabulary.Encode(texts[s + i] ?? throw new UsageException($"text {s + i} is missing"));
            Model.PredictProbabilities(ids).CopyTo(result, s);
            progress?.Report(s + len);
        }
        return result;
    }

    /// <inheritdoc />
    public Prediction Predict(Table batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var column = ModelInputs.Text(batch, Signature.Inputs[0]);
        var texts = new string[column.Length];
        for (var i = 0; i < texts.Length; i++) texts[i] = column[i]!;
        return Prediction.Classes(Labels, PredictProbabilities(texts));
    }

    /// <summary>Writes weights and vocabulary into a bundle being built and returns its manifest, preprocessing filled in.</summary>
    public ModelManifest WriteTo(BundleWriter writer, string name)
    {
        ArgumentNullException.ThrowIfNull(writer);
        var manifest = Model.WriteTo(writer, name);
        Vocabulary.Save(writer.PathFor(VocabularyFile));
        manifest.Signature = Signature;
        manifest.Preprocessing = new JsonObject
        {
            ["kind"] = PreprocessingKind,
            ["tokenizer"] = "words: lower case; URLs -> " + WordTokenizer.UrlToken + ", @mentions -> " + WordTokenizer.UserToken
                + "; words are letter/digit runs (inner apostrophes kept); every other visible character is a token",
            ["vocabulary"] = VocabularyFile,
            ["vocabularySize"] = Vocabulary.Size,
            ["padId"] = 0,
            ["unknownToken"] = WordVocabulary.Unknown,
            ["unknownId"] = WordVocabulary.UnknownId,
            ["minCount"] = Vocabulary.MinCount,
            ["maxLength"] = Vocabulary.MaxLength,
            ["truncation"] = "the first maxLength tokens are kept",
            ["emptyText"] = "encoded as one unknown token and answered",
        };
        return manifest;
    }

    /// <summary>Rebuilds a recurrent text classifier from a verified bundle.</summary>
    public static SequenceTextClassifier Load(ModelBundle bundle)
    {
        ArgumentNullException.ThrowIfNull(bundle);
        var manifestPath = Path.Combine(bundle.Directory, ModelBundle.ManifestFileName);
        if (!IsSequenceText(bundle.Manifest)) throw new BundleException(manifestPath, $"not a recurrent text model (flavor '{bundle.Manifest.Flavor}', preprocessing.kind '{bundle.Manifest.Preprocessing["kind"]}')");
        var p = bundle.Manifest.Preprocessing;
        int Get(string key) => (int?)p[key] ?? throw new BundleException(manifestPath, $"preprocessing.{key} is missing");
        var vocabulary = WordVocabulary.Load(bundle.GetPath(VocabularyFile), Get("minCount"), Get("maxLength"));
        if (vocabulary.Size != Get("vocabularySize"))
            throw new BundleException(bundle.GetPath(VocabularyFile), string.Create(CultureInfo.InvariantCulture, $"{vocabulary.Size} ids, the manifest says {Get("vocabularySize")}"));
        var model = SequenceClassifier.Load(bundle);
        if (model.VocabularySize != vocabulary.Size)
        {
            model.Dispose();
            throw new BundleException(manifestPath, $"model.vocabularySize {model.VocabularySize} does not match the vocabulary's {vocabulary.Size}");
        }
        return new SequenceTextClassifier(model, vocabulary);
    }

    /// <inheritdoc />
    public void Dispose() => Model.Dispose();
}
