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
            return new ServableModel(model, new TextInstanceDecoder(model.Signature.Inputs[0]));
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }
}

/// <summary>
/// Decodes text instances: <c>{"text": "…"}</c> or a bare JSON string, and Open Inference Protocol BYTES elements. A text
/// must be non-blank and at most <see cref="MaxCharacters"/> characters long.
/// </summary>
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
    public override Table Decode(JsonNode? instance, string field)
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
    public override Table DecodeBytes(string element, string field)
    {
        ArgumentNullException.ThrowIfNull(element);
        ArgumentNullException.ThrowIfNull(field);
        if (string.IsNullOrWhiteSpace(element)) throw new InputException(field, "the text is empty; send the message to classify");
        if (element.Length > MaxCharacters)
        {
            throw new InputException(field, string.Create(CultureInfo.InvariantCulture,
                $"{element.Length:N0} characters, over the limit of {MaxCharacters:N0}; split the text or send its first part"));
        }
        return Text(element);
    }

    /// <inheritdoc />
    public override Table WarmupRow() => Text("warming up: is this message positive or negative?");

    /// <inheritdoc />
    protected override string Describe() =>
        string.Create(CultureInfo.InvariantCulture, $"{{\"{TextField}\": \"…\"}} or a JSON string (at most {MaxCharacters:N0} characters)");

    /// <summary>A text as a one-row table of the model's string input: the very string sent, no re-encoding.</summary>
    private Table Text(string text) => new(Column.String(Input.Name, [text]));
}
