namespace Forge.DeepLearning.Onnx;

/// <summary>
/// Where the pretrained ONNX files are. The ResNet18 files come from the Microsoft.ML.DnnImageFeaturizer.ResNet18
/// package, whose build step copies DnnImageModels/ into every output folder of a project that references
/// Forge.DeepLearning; an environment variable points elsewhere.
/// </summary>
public static class PretrainedModels
{
    /// <summary>Environment variable that overrides <see cref="ResNet18OnnxPath"/>.</summary>
    public const string ResNet18Variable = "FORGE_RESNET18_ONNX";

    /// <summary>Environment variable that overrides <see cref="ResNetPreprocessPath"/>.</summary>
    public const string ResNetPreprocessVariable = "FORGE_RESNET_PREPROCESS_ONNX";

    private const string Hint = "build a project that references Forge.DeepLearning (its output folder gets DnnImageModels/) or set ";

    /// <summary>ResNet18.onnx (input [1,3,224,224] BGR mean-subtracted, output [1,512,1,1] pooled features).</summary>
    public static string ResNet18OnnxPath =>
        Locate(ResNet18Variable, Path.Combine("DnnImageModels", "ResNet18Onnx", "ResNet18.onnx"), "ResNet18 ONNX model");

    /// <summary>ResNetPreprocess.onnx (RGB 0..255 → BGR minus the mean image), beside ResNet18.onnx.</summary>
    public static string ResNetPreprocessPath =>
        Locate(ResNetPreprocessVariable, Path.Combine("DnnImageModels", "ResNetPrepOnnx", "ResNetPreprocess.onnx"), "ResNet preprocessing ONNX model");

    private static string Locate(string variable, string relative, string what)
    {
        var overridden = Environment.GetEnvironmentVariable(variable);
        if (!string.IsNullOrWhiteSpace(overridden))
        {
            return File.Exists(overridden)
                ? Path.GetFullPath(overridden)
                : throw new OnnxFileNotFoundException(what, overridden, $"{variable} names a file that does not exist");
        }
        var path = Path.Combine(AppContext.BaseDirectory, relative);
        return File.Exists(path) ? path : throw new OnnxFileNotFoundException(what, path, Hint + variable);
    }
}
