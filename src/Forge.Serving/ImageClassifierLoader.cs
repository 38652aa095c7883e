using Forge.Core;
using Forge.Data;
using Forge.DeepLearning;

namespace Forge.Serving;

/// <summary>Serves <see cref="ImageClassifier"/> bundles (flavor torch-image, architectures cnn, mlp and reference-cnn).</summary>
public sealed class ImageClassifierLoader : IModelLoader
{
    /// <inheritdoc />
    public string Flavor => ImageClassifier.Flavor;

    /// <inheritdoc />
    public bool CanLoad(ModelManifest manifest)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        // Other torch-image kinds (transfer learning) have loaders of their own.
        return manifest.Model?["kind"]?.GetValue<string>() is { } kind && ModelSpec.Names.Contains(kind, StringComparer.OrdinalIgnoreCase);
    }

    /// <inheritdoc />
    public ServableModel Load(ModelBundle bundle)
    {
        ArgumentNullException.ThrowIfNull(bundle);
        var model = ImageClassifier.Load(bundle);
        try
        {
            var input = model.Signature.Inputs[0];
            // Bundles trained on MNIST-style digits say so; a user's photo of a digit then goes through forge predict's own
            // pipeline, so the server and the CLI give the same probabilities for the same file.
            var digits = bundle.Manifest.Preprocessing["userImages"]?.GetValue<string>() == "mnist-digit"
                && model.Height == DigitImage.Side && model.Width == DigitImage.Side;
            InstanceDecoder decoder = digits ? new ImageInstanceDecoder(input, DigitImage.FromEncoded) : new InstanceDecoder(input);
            return new ServableModel(model, decoder);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }
}
