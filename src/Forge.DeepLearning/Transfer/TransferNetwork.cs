using Forge.Core;
using Forge.DeepLearning.Onnx;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Forge.DeepLearning.Transfer;

/// <summary>
/// A pretrained backbone (an imported ONNX CNN with its own input preprocessing) plus a new classification head.
/// Input: RGB images in 0–255, [N, 3, size, size]; output: class logits.
/// </summary>
public sealed class TransferNetwork : Module<Tensor, Tensor>
{
    private readonly OnnxNetwork backbone;
    private readonly Dropout dropout;
    private readonly Linear head;
    private readonly ResNetPreprocessing _preprocess;

    internal TransferNetwork(string backboneName, string graphPath, string preprocessPath, int classes, double dropoutRate)
        : base(nameof(TransferNetwork))
    {
        BackboneName = backboneName;
        GraphPath = graphPath;
        PreprocessPath = preprocessPath;
        backbone = OnnxImporter.Import(graphPath);
        _preprocess = ResNetPreprocessing.Load(preprocessPath);
        using (torch.no_grad())
        {
            // The head's width is whatever the graph produces per image: one dummy pass at the declared input shape.
            using var probe = torch.zeros([1, .. backbone.InputShape.Skip(1)]);
            using var features = backbone.forward(probe);
            FeatureCount = (int)features.numel();
        }
        dropout = Dropout(dropoutRate);
        head = Linear(FeatureCount, classes);
        RegisterComponents();
    }

    /// <summary>The backbone's catalog name, e.g. resnet18.</summary>
    public string BackboneName { get; }

    /// <summary>The ONNX graph the backbone was imported from.</summary>
    public string GraphPath { get; }

    /// <summary>The ONNX file holding the backbone's input preprocessing (mean image).</summary>
    public string PreprocessPath { get; }

    /// <summary>Length of the pooled feature vector the head sees.</summary>
    public int FeatureCount { get; }

    /// <summary>The backbone's stages, stem first.</summary>
    public int StageCount => backbone.Stages.Count;

    /// <summary>The imported backbone.</summary>
    public OnnxNetwork Backbone => backbone;

    /// <summary>The classification head.</summary>
    public Linear Head => head;

    /// <summary>Pooled backbone features, [N, FeatureCount].</summary>
    public Tensor Features(Tensor rgb) => backbone.forward(_preprocess.Apply(rgb)).flatten(1);

    /// <summary>Logits of the head on already computed features.</summary>
    public Tensor HeadForward(Tensor features) => head.forward(dropout.forward(features));

    /// <inheritdoc />
    public override Tensor forward(Tensor input) => HeadForward(Features(input));

    /// <summary>
    /// Class probabilities of a batch; with <paramref name="flipAveraging"/>, the mean of each image's and its mirror image's
    /// (the model saw mirrored images in training, so both views are in its domain).
    /// </summary>
    public Tensor Probabilities(Tensor rgb, bool flipAveraging)
    {
        ArgumentNullException.ThrowIfNull(rgb);
        if (!flipAveraging) return nn.functional.softmax(forward(rgb), 1);
        using var scope = NewDisposeScope();
        using var half = TorchScalars.Of(0.5f);
        return nn.functional.softmax(forward(rgb), 1).add_(nn.functional.softmax(forward(rgb.flip(3)), 1)).mul_(half).MoveToOuterDisposeScope();
    }

    /// <summary>Freezes every backbone stage but the last <paramref name="trainableStages"/>; frozen batch norms keep their statistics.</summary>
    public void Freeze(int trainableStages) => backbone.Freeze(trainableStages);

    /// <summary>
    /// Replaces the pretrained weights with a fresh initialisation (He-normal convolutions, unit batch norms), for the from-scratch
    /// baseline: same graph, no pretrained knowledge.
    /// </summary>
    public void Reinitialize(int seed)
    {
        torch.random.manual_seed(seed);
        using var noGrad = torch.no_grad();
        using var one = TorchScalars.Of(1f);
        foreach (var (_, m) in backbone.named_modules())
        {
            switch (m)
            {
                case Conv2d conv:
                    init.kaiming_normal_(conv.weight, mode: init.FanInOut.FanOut, nonlinearity: init.NonlinearityType.ReLU);
                    conv.bias?.zero_();
                    break;
                case BatchNorm2d bn:
                    bn.weight?.fill_(one);
                    bn.bias?.zero_();
                    bn.running_mean?.zero_();
                    bn.running_var?.fill_(one);
                    // The pretrained graph's momentum (CNTK's 0.988, i.e. 0.012 per step here) suits statistics that are
                    // already right; fresh ones would take hundreds of steps to leave their initial values.
                    bn.momentum = 0.1;
                    break;
                case Linear lin:
                    init.kaiming_uniform_(lin.weight, Math.Sqrt(5));
                    lin.bias?.zero_();
                    break;
            }
        }
    }

    /// <summary>The backbone's canonical name; <see cref="NotFoundException"/> (with a suggestion) for one Forge does not ship.</summary>
    public static string CheckBackbone(string backboneName) =>
        string.Equals(backboneName, "resnet18", StringComparison.OrdinalIgnoreCase) ? "resnet18" : throw new NotFoundException("backbone", backboneName, ["resnet18"]);

    /// <summary>Builds the network for a named backbone from the pretrained files shipped with Forge.</summary>
    public static TransferNetwork Create(string backboneName, int classes, double dropoutRate)
    {
        CheckBackbone(backboneName);
        return new TransferNetwork("resnet18", PretrainedModels.ResNet18OnnxPath, PretrainedModels.ResNetPreprocessPath, classes, dropoutRate);
    }

    /// <summary>Rebuilds the network from a bundle's copies of the graph and preprocessing.</summary>
    internal static TransferNetwork FromFiles(string backboneName, string graphPath, string preprocessPath, int classes, double dropoutRate) =>
        new(backboneName, graphPath, preprocessPath, classes, dropoutRate);

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing) _preprocess.Dispose();
        base.Dispose(disposing);
    }
}
