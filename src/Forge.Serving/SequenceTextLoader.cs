using Forge.Core;
using Forge.DeepLearning;

namespace Forge.Serving;

/// <summary>
/// Serves recurrent text models trained from scratch (flavor torch-sequence, preprocessing word-sequence) through the
/// same text endpoints and decoder as other text bundles: <c>{"text": "…"}</c> or a string, BYTES in v2. The shared
/// decoder refuses a blank text (400); a text of unknown words only is answered (each word is the unknown token).
/// </summary>
public sealed class SequenceTextLoader : IModelLoader
{
    /// <inheritdoc />
    public string Flavor => SequenceClassifier.Flavor;

    /// <inheritdoc />
    public bool CanLoad(ModelManifest manifest) => SequenceTextClassifier.IsSequenceText(manifest);

    /// <inheritdoc />
    public ServableModel Load(ModelBundle bundle)
    {
        ArgumentNullException.ThrowIfNull(bundle);
        var model = SequenceTextClassifier.Load(bundle);
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
