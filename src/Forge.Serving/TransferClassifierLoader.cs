using Forge.Core;
using Forge.DeepLearning;
using Forge.DeepLearning.Transfer;

namespace Forge.Serving;

/// <summary>Serves transfer-learning image bundles (flavor torch-image, model.kind "transfer"): photos in, class probabilities out.</summary>
public sealed class TransferClassifierLoader : IModelLoader
{
    /// <inheritdoc />
    public string Flavor => ImageClassifier.Flavor;

    /// <inheritdoc />
    public bool CanLoad(ModelManifest manifest)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        return manifest.Model?["kind"]?.GetValue<string>() == TransferClassifier.Kind;
    }

    /// <inheritdoc />
    public ServableModel Load(ModelBundle bundle)
    {
        var model = TransferClassifier.Load(bundle);
        try
        {
            return new ServableModel(model, new ImageInstanceDecoder(model.Signature.Inputs[0], model.EncodeImage));
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }
}
