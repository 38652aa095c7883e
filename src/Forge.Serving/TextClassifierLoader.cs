using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Forge.Core;
using Forge.Text;

namespace Forge.Serving;

/// <summary>
/// Serves <see cref="TextClassifier"/> bundles (flavor text-embedding, featurisers sentence-encoder and tfidf): texts in,
/// label probabilities out. A coalesced batch is one featuriser call, so concurrent chat messages share one encoder run.
/// </summary>
public sealed class TextClassifierLoader : IModelLoader
{
    /// <inheritdoc />
    public string Flavor => TextModule.Flavor;

    /// <inheritdoc />
    public bool CanLoad(ModelManifest manifest)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        return manifest.Preprocessing["featurizer"]?.GetValueKind() == JsonValueKind.String
            && manifest.Preprocessing["featurizer"]!.GetValue<string>() is TextClassifier.SentenceEncoderFeaturizer or TextClassifier.TfidfFeaturizer;
    }

    /// <inheritdoc />
    public ServableModel Load(ModelBundle bundle)
    {
        ArgumentNullException.ThrowIfNull(bundle);
        var model = TextClassifier.Load(bundle);
        try
        {
            return new ServableModel(new TextPredictor(model), new TextInstanceDecoder(model.Signature.Inputs[0]));
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The classifier behind the batcher's float rows: each row is a text's UTF-16 code units (see
    /// <see cref="TextInstanceDecoder.Encode"/>), turned back into strings and classified in one call.
    /// </summary>
    private sealed class TextPredictor(TextClassifier model) : IPredictor
    {
        public ModelSignature Signature => model.Signature;

        public float[][] Predict(IReadOnlyList<float[]> rows)
        {
            var texts = new string[rows.Count];
            for (var i = 0; i < texts.Length; i++) texts[i] = TextInstanceDecoder.DecodeRow(rows[i]);
            return model.PredictProbabilities(texts);
        }

        public void Dispose() => model.Dispose();
    }
}

/// <summary>
/// Decodes text instances: <c>{"text": "…"}</c> or a bare JSON string, and Open Inference Protocol BYTES elements. A text
/// must be non-blank and at most <see cref="MaxCharacters"/> characters long.
/// </summary>
/// <remarks>
/// The batcher and <see cref="IPredictor"/> carry rows of floats; a text travels as its UTF-16 code units, each exact in a
/// float (they are below 2^16, and a float holds every integer up to 2^24), so the model sees the very string sent.
/// </remarks>
public sealed class TextInstanceDecoder : InstanceDecoder
{
    /// <summary>The instance field carrying the text.</summary>
    public const string TextField = "text";

    /// <summary>The default length limit: far above a chat message or review, far below what would stall the encoder's tokenizer.</summary>
    public const int DefaultMaxCharacters = 10_000;

    /// <summary>Creates a decoder for the text input of a model.</summary>
    /// <param name="input">The model's text input.</param>
    /// <param name="maxCharacters">The longest text accepted, in UTF-16 characters.</param>
    public TextInstanceDecoder(TensorSpec input, int maxCharacters = DefaultMaxCharacters) : base(input)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxCharacters, 1);
        MaxCharacters = maxCharacters;
    }

    /// <summary>The longest text accepted, in UTF-16 characters.</summary>
    public int MaxCharacters { get; }

    /// <inheritdoc />
    public override bool TakesNumbers => false;

    /// <inheritdoc />
    public override float[] Decode(JsonNode? instance, string field)
    {
        ArgumentNullException.ThrowIfNull(field);
        if (instance is JsonValue value && value.GetValueKind() == JsonValueKind.String) return DecodeBytes(value.GetValue<string>(), field);
        if (instance is JsonObject obj)
        {
            var name = $"{field}.{TextField}";
            if (!obj.TryGetPropertyValue(TextField, out var text))
                throw new InputException(name, $"required: the text to classify (got {KindOf(instance)})");
            if (text is not JsonValue v || v.GetValueKind() != JsonValueKind.String)
                throw new InputException(name, $"expected a string; got {KindOf(text)}");
            return DecodeBytes(v.GetValue<string>(), name);
        }
        throw new InputException(field, $"expected {Describe()}; got {KindOf(instance)}");
    }

    /// <inheritdoc />
    public override float[] DecodeBytes(string element, string field)
    {
        ArgumentNullException.ThrowIfNull(element);
        ArgumentNullException.ThrowIfNull(field);
        if (string.IsNullOrWhiteSpace(element)) throw new InputException(field, "the text is empty; send the message to classify");
        if (element.Length > MaxCharacters)
        {
            throw new InputException(field, string.Create(CultureInfo.InvariantCulture,
                $"{element.Length:N0} characters, over the limit of {MaxCharacters:N0}; split the text or send its first part"));
        }
        return Encode(element);
    }

    /// <inheritdoc />
    public override float[] WarmupRow() => Encode("warming up: is this message positive or negative?");

    /// <inheritdoc />
    protected override string Describe() =>
        string.Create(CultureInfo.InvariantCulture, $"{{\"{TextField}\": \"…\"}} or a JSON string (at most {MaxCharacters:N0} characters)");

    /// <summary>A text as a row: one float per UTF-16 code unit.</summary>
    public static float[] Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var row = new float[text.Length];
        for (var i = 0; i < row.Length; i++) row[i] = text[i];
        return row;
    }

    /// <summary>The text a row made by <see cref="Encode"/> holds.</summary>
    public static string DecodeRow(ReadOnlySpan<float> row)
    {
        var chars = row.Length <= 512 ? stackalloc char[row.Length] : new char[row.Length];
        for (var i = 0; i < chars.Length; i++) chars[i] = (char)row[i];
        return new string(chars);
    }
}
