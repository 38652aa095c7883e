using System.Text.Json.Nodes;
using Forge.Core;
using static TorchSharp.torch;

namespace Forge.DeepLearning;

/// <summary>The checks every TorchSharp bundle loader makes, so that each names the file and field at fault the same way.</summary>
internal static class TorchBundles
{
    public static string ManifestPath(ModelBundle bundle) => Path.Combine(bundle.Directory, ModelBundle.ManifestFileName);

    /// <summary>The manifest's architecture section, once the flavor is the loader's.</summary>
    public static JsonObject ModelSection(ModelBundle bundle, string flavor)
    {
        var m = bundle.Manifest;
        if (m.Flavor != flavor) throw new BundleException(ManifestPath(bundle), $"flavor '{m.Flavor}' is not '{flavor}'");
        return m.Model ?? throw new BundleException(ManifestPath(bundle), "the 'model' section (architecture) is missing");
    }

    /// <summary>
    /// Loads the bundle's weights file into a freshly built module (then runs <paramref name="afterLoad"/>). A file that
    /// does not fit disposes the module, so a failed load leaks no native memory, and the error names the file.
    /// </summary>
    public static T LoadWeights<T>(T module, ModelBundle bundle, string file, string describedBy, Action<T>? afterLoad = null) where T : nn.Module
    {
        var weights = bundle.GetPath(file);
        try
        {
            module.load(weights);
            afterLoad?.Invoke(module);
            return module;
        }
        catch (Exception e) when (e is not ForgeException)
        {
            module.Dispose();
            throw new BundleException(weights, $"the weights do not match {describedBy}: " + e.Message, e);
        }
    }
}
