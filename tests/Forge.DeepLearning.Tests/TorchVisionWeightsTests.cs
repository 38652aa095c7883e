using System.IO.Compression;
using Forge.Core;
using Forge.Tests.Shared;
using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.PyBridge;
using Xunit.Abstractions;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Forge.DeepLearning.Tests;

[Collection(TorchCollection.Name)]
public sealed class TorchVisionWeightsTests(TorchVisionStateFixture pytorch, ITestOutputHelper output)
    : IClassFixture<TorchVisionStateFixture>, IDisposable
{
    private readonly TempDir _temp = new();

    public void Dispose() => _temp.Dispose();

    [PyTorchTheory]
    [InlineData("resnet18", "fc")]
    [InlineData("resnet34", "fc")]
    [InlineData("resnet50", "fc")]
    [InlineData("mobilenet_v2", "classifier")]
    public void Every_architecture_has_torchvisions_keys_and_shapes(string architecture, string head)
    {
        var expected = File.ReadLines(pytorch.File("keys.txt"))
            .Select(line => line.Split(' '))
            .Where(parts => parts[0] == architecture)
            .ToDictionary(parts => parts[1], parts => parts[2], StringComparer.Ordinal);
        Assert.NotEmpty(expected);

        using var model = TorchVisionModels.Create(architecture);
        var actual = model.state_dict().ToDictionary(kv => kv.Key, kv => string.Join('x', kv.Value.shape), StringComparer.Ordinal);

        Assert.Equal(expected.Keys.Except(actual.Keys).Order(), Array.Empty<string>());
        Assert.Equal(actual.Keys.Except(expected.Keys).Order(), Array.Empty<string>());
        foreach (var (key, shape) in expected)
            Assert.True(shape == actual[key], $"{key}: torchvision {shape}, TorchSharp {actual[key]}");
        Assert.Equal(head, TorchVisionWeights.HeadOf(model));
    }

    [PyTorchTheory]
    [InlineData("resnet18")]
    [InlineData("mobilenet_v2")]
    public void With_pytorch_weights_the_network_gives_pytorchs_logits_within_1e_4(string architecture)
    {
        using var model = TorchVisionModels.Create(architecture);
        var report = TorchVisionWeights.Load(model, pytorch.File(architecture + ".pth"));
        model.eval();

        using var scope = NewDisposeScope();
        var io = PyTorchUnpickler.UnpickleStateDict(pytorch.File(architecture + "_io.pth"));
        var input = (Tensor)io["input"]!;
        var expected = ((Tensor)io["logits"]!).data<float>().ToArray();
        using var noGrad = no_grad();
        var actual = model.call(input).data<float>().ToArray();

        Assert.Equal([2L, 3, 64, 64], input.shape);
        Assert.Equal(2 * 1000, actual.Length);
        var maxDiff = 0.0;
        for (var i = 0; i < expected.Length; i++)
        {
            var diff = Math.Abs(actual[i] - expected[i]);
            maxDiff = Math.Max(maxDiff, diff);
            Assert.True(diff <= 1e-4, $"logit {i}: TorchSharp {actual[i]}, PyTorch {expected[i]}");
        }
        output.WriteLine($"{architecture}: max |TorchSharp - PyTorch| over {expected.Length} logits: {maxDiff:E2}; {report}");
        // Every entry of the file, batch counters included, went into the model.
        Assert.Equal(model.state_dict().Count, report.Loaded.Count);
        var counter = model.state_dict().First(kv => kv.Key.EndsWith("num_batches_tracked", StringComparison.Ordinal));
        Assert.Equal(7L, counter.Value.item<long>());
        Assert.Empty(report.Skipped);
        Assert.Empty(report.KeptInitial);
        Assert.Null(report.StrippedPrefix);
    }

    [PyTorchFact]
    public void Non_strict_load_into_an_8_class_head_keeps_the_backbone_and_reports_the_head()
    {
        using var model = TorchVisionModels.Create("resnet18", numClasses: 8);
        using var headBefore = model.state_dict()["fc.weight"].clone();

        var report = TorchVisionWeights.Load(model, pytorch.File("resnet18.pth"), strict: false);

        using var scope = NewDisposeScope();
        var file = PyTorchUnpickler.UnpickleStateDict(pytorch.File("resnet18.pth"));
        var state = model.state_dict();
        var backbone = state.Keys.Where(k => !k.StartsWith("fc.", StringComparison.Ordinal)).ToList();
        Assert.Equal(120, backbone.Count);
        foreach (var key in backbone)
        {
            var expected = (Tensor)file[key]!;
            Assert.True(Same(state[key].reshape(expected.shape), expected), $"{key} differs from the file");
        }
        Assert.True(Same(state["fc.weight"], headBefore), "the new head must keep its own initialisation");
        Assert.Equal([8L, 512], state["fc.weight"].shape);

        Assert.Equal("fc", report.Head);
        Assert.Equal(backbone.Order(StringComparer.Ordinal), report.Loaded.Order(StringComparer.Ordinal));
        Assert.Equal(["fc.bias", "fc.weight"], report.KeptInitial.Order(StringComparer.Ordinal));
        Assert.Equal(["fc.bias", "fc.weight"], report.Skipped.Select(s => s.Key).Order(StringComparer.Ordinal));
        Assert.Contains(report.Skipped, s => s.Key == "fc.weight" && s.Reason == "shape file [1000, 512], model [8, 512]");
        Assert.Contains("skipped 2", report.ToString(), StringComparison.Ordinal);
        output.WriteLine(report.ToString());
    }

    [PyTorchFact]
    public void LoadPretrained_puts_a_new_8_class_head_on_the_loaded_backbone()
    {
        using var pretrained = TorchVisionWeights.LoadPretrained("ResNet18", pytorch.File("resnet18.pth"), 8);
        pretrained.Network.eval();

        Assert.Equal("resnet18", pretrained.Architecture);
        Assert.Equal(120, pretrained.Report.Loaded.Count);
        Assert.Equal(["fc.bias", "fc.weight"], pretrained.Report.KeptInitial.Order(StringComparer.Ordinal));
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        Assert.Equal([2L, 8], pretrained.Network.call(zeros(2, 3, 64, 64)).shape);
        var file = PyTorchUnpickler.UnpickleStateDict(pytorch.File("resnet18.pth"));
        Assert.True(Same(pretrained.Network.state_dict()["layer4.1.bn2.running_var"], (Tensor)file["layer4.1.bn2.running_var"]!));
    }

    [PyTorchFact]
    public void Strict_load_into_an_8_class_head_names_fc_and_both_shapes_and_suggests_non_strict()
    {
        using var model = TorchVisionModels.Create("resnet18", numClasses: 8);
        var path = pytorch.File("resnet18.pth");

        var e = Assert.Throws<WeightsMismatchException>(() => TorchVisionWeights.Load(model, path));

        output.WriteLine(e.Message);
        Assert.StartsWith(path + ": ", e.Message, StringComparison.Ordinal);
        Assert.Contains("2 shape mismatches: fc.weight (file [1000, 512], model [8, 512]), fc.bias (file [1000], model [8])", e.Message, StringComparison.Ordinal);
        Assert.Contains("strict: false", e.Message, StringComparison.Ordinal);
        Assert.Equal(2, e.ShapeMismatches.Count);
        Assert.Empty(e.MissingKeys);
        Assert.Empty(e.UnexpectedKeys);
        Assert.DoesNotContain('\n', e.Message);
    }

    [PyTorchFact]
    public void A_DataParallel_checkpoint_loads_once_its_module_prefix_is_removed()
    {
        using var model = TorchVisionModels.Create("resnet18");
        var report = TorchVisionWeights.Load(model, pytorch.File("resnet18_dp.pth"));

        Assert.Equal("module.", report.StrippedPrefix);
        Assert.Equal(model.state_dict().Count, report.Loaded.Count);
        using var scope = NewDisposeScope();
        var file = PyTorchUnpickler.UnpickleStateDict(pytorch.File("resnet18_dp.pth"));
        Assert.True(Same(model.state_dict()["conv1.weight"], (Tensor)file["module.conv1.weight"]!));
        Assert.Contains("removed the 'module.' prefix", report.ToString(), StringComparison.Ordinal);
    }

    [PyTorchFact]
    public void A_wrong_shaped_tensor_is_named_with_both_shapes_even_when_not_strict()
    {
        using var model = TorchVisionModels.Create("resnet18", numClasses: 8);
        var path = pytorch.File("resnet18_badshape.pth");

        var e = Assert.Throws<WeightsMismatchException>(() => TorchVisionWeights.Load(model, path, strict: false));

        output.WriteLine(e.Message);
        var mismatch = Assert.Single(e.ShapeMismatches);
        Assert.Equal("layer1.0.conv1.weight", mismatch.Key);
        Assert.Equal([32L, 64, 3, 3], mismatch.FileShape);
        Assert.Equal([64L, 64, 3, 3], mismatch.ModelShape);
        Assert.Contains("1 shape mismatch: layer1.0.conv1.weight (file [32, 64, 3, 3], model [64, 64, 3, 3])", e.Message, StringComparison.Ordinal);
        Assert.Contains("strict: false excuses only the classifier head 'fc'", e.Message, StringComparison.Ordinal);
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
    }

    [PyTorchFact]
    public void A_checkpoint_dict_with_the_state_dict_inside_loads()
    {
        using var model = SmallNet();
        // The script's network has no head: non-strict loading leaves "fc" as initialised.
        var report = TorchVisionWeights.Load(model, pytorch.File("small_checkpoint.pth"), strict: false);

        Assert.Equal(["bn.bias", "bn.num_batches_tracked", "bn.running_mean", "bn.running_var", "bn.weight", "conv.bias", "conv.weight"],
            report.Loaded.Order(StringComparer.Ordinal));
        Assert.Equal(["fc.bias", "fc.weight"], report.KeptInitial.Order(StringComparer.Ordinal));
    }

    [PyTorchFact]
    public void A_legacy_format_file_is_refused_with_how_to_resave_it()
    {
        using var model = SmallNet();
        var path = pytorch.File("legacy.pth");

        var e = Assert.Throws<DataFormatException>(() => TorchVisionWeights.Load(model, path));

        Assert.Equal(path, e.Path);
        Assert.Contains("legacy format", e.Message, StringComparison.Ordinal);
        Assert.Contains("torch.save", e.Message, StringComparison.Ordinal);
    }

    [PyTorchFact]
    public void A_file_holding_one_tensor_is_refused()
    {
        using var model = SmallNet();
        var path = pytorch.File("tensor.pth");

        var e = Assert.Throws<DataFormatException>(() => TorchVisionWeights.Load(model, path));

        Assert.Equal(path, e.Path);
        Assert.Contains("something other than a dict of tensors", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_file_is_named()
    {
        using var model = SmallNet();
        var path = _temp.Combine("nowhere", "resnet18.pth");

        var e = Assert.Throws<ForgeException>(() => TorchVisionWeights.Load(model, path));
        Assert.Equal($"{path}: file not found", e.Message);

        var e2 = Assert.Throws<ForgeException>(() => TorchVisionWeights.LoadPretrained("resnet18", path, 8));
        Assert.Equal($"{path}: file not found", e2.Message);
    }

    [Fact]
    public void A_text_file_renamed_pth_is_refused_naming_the_file()
    {
        using var model = SmallNet();
        var path = _temp.Combine("weights.pth");
        File.WriteAllText(path, "<html>404 Not Found</html>\n");

        var e = Assert.Throws<DataFormatException>(() => TorchVisionWeights.Load(model, path));

        Assert.Equal(path, e.Path);
        Assert.Equal($"{path}: not a PyTorch state dict: torch.save writes a zip archive (starting \"PK\"), this file starts with the text \"<html>404 No\"", e.Message);
    }

    [Fact]
    public void A_zip_that_torch_save_did_not_write_is_refused()
    {
        using var model = SmallNet();
        var path = _temp.Combine("weights.pth");
        using (var zip = ZipFile.Open(path, ZipArchiveMode.Create))
            using (var writer = new StreamWriter(zip.CreateEntry("readme.txt").Open()))
                writer.Write("not weights");

        var e = Assert.Throws<DataFormatException>(() => TorchVisionWeights.Load(model, path));

        Assert.Equal($"{path}: a zip archive without data.pkl, so not written by torch.save", e.Message);
    }

    [Fact]
    public void Missing_and_unexpected_keys_are_listed_by_name()
    {
        using var model = SmallNet();
        var state = model.state_dict();
        var saved = state.Where(kv => kv.Key != "bn.running_var").ToDictionary(kv => kv.Key, kv => kv.Value);
        using var extra = ones(3);
        saved["extra.weight"] = extra;
        var path = _temp.Combine("partial.pth");
        PyTorchPickler.PickleStateDict(path, saved);

        var e = Assert.Throws<WeightsMismatchException>(() => TorchVisionWeights.Load(model, path));
        Assert.Equal(["bn.running_var"], e.MissingKeys);
        Assert.Equal(["extra.weight"], e.UnexpectedKeys);
        Assert.Equal($"{path}: does not fit the model: 1 key missing from the file: bn.running_var; 1 unexpected key: extra.weight", e.Message);

        // Non-strict loading excuses only the classifier head (here "fc"), never a backbone key.
        var lenient = Assert.Throws<WeightsMismatchException>(() => TorchVisionWeights.Load(model, path, strict: false));
        Assert.EndsWith("strict: false excuses only the classifier head 'fc'", lenient.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void More_than_five_missing_keys_are_summarised()
    {
        using var model = TorchVisionModels.Create("resnet18");
        var path = _temp.Combine("stem.pth");
        var state = model.state_dict();
        PyTorchPickler.PickleStateDict(path, state.Where(kv => kv.Key.StartsWith("conv1.", StringComparison.Ordinal)).ToDictionary(kv => kv.Key, kv => kv.Value));

        var e = Assert.Throws<WeightsMismatchException>(() => TorchVisionWeights.Load(model, path));

        output.WriteLine(e.Message);
        Assert.Equal(state.Count - 1 - state.Keys.Count(k => k.EndsWith("num_batches_tracked", StringComparison.Ordinal)), e.MissingKeys.Count);
        Assert.Equal($"{path}: does not fit the model: {e.MissingKeys.Count} keys missing from the file: {string.Join(", ", e.MissingKeys.Take(5))}, … and {e.MissingKeys.Count - 5} more",
            e.Message);
        Assert.Contains("bn1.weight", e.MissingKeys.Take(5));
    }

    [Fact]
    public void A_checkpoint_without_batch_counters_loads_and_keeps_the_models_counters()
    {
        using var source = SmallNet();
        using (no_grad())
        {
            source.state_dict()["bn.running_mean"].copy_(arange(4, dtype: float32));
        }
        var path = _temp.Combine("old.pth");
        PyTorchPickler.PickleStateDict(path, source.state_dict().Where(kv => !kv.Key.EndsWith("num_batches_tracked", StringComparison.Ordinal)).ToDictionary(kv => kv.Key, kv => kv.Value));
        using var model = SmallNet();

        var report = TorchVisionWeights.Load(model, path);

        Assert.Equal(["bn.num_batches_tracked"], report.KeptInitial);
        Assert.Equal(8, report.Loaded.Count);
        Assert.Equal([0f, 1, 2, 3], model.state_dict()["bn.running_mean"].data<float>().ToArray());
    }

    [Fact]
    public void A_TorchSharp_saved_state_dict_round_trips_bit_for_bit()
    {
        torch.manual_seed(11);
        using var source = SmallNet();
        var path = _temp.Combine("roundtrip.pth");
        PyTorchPickler.PickleStateDict(path, source.state_dict());
        using var model = SmallNet();

        TorchVisionWeights.Load(model, path);

        foreach (var (key, tensor) in source.state_dict())
            Assert.True(Same(model.state_dict()[key], tensor), key);
    }

    [Fact]
    public void An_unknown_architecture_names_the_known_ones()
    {
        var e = Assert.Throws<NotFoundException>(() => TorchVisionModels.Create("vgg16"));
        Assert.Equal("unknown torchvision architecture 'vgg16' (known: resnet18, resnet34, resnet50, mobilenet_v2)", e.Message);

        var typo = Assert.Throws<NotFoundException>(() => TorchVisionModels.Create("resnet19"));
        Assert.Equal("resnet18", typo.Suggestion);
    }

    [Fact]
    public void Architecture_names_ignore_case_and_dashes()
    {
        using var model = TorchVisionModels.Create("MobileNet-V2", numClasses: 3);
        Assert.Equal([3L, 1280], model.state_dict()["classifier.1.weight"].shape);
    }

    private static bool Same(Tensor actual, Tensor expected) =>
        actual.shape.SequenceEqual(expected.shape) && actual.eq(expected).all().item<bool>();

    // The same layer names as the script's torch.nn.Sequential(OrderedDict(conv=..., bn=...)), plus a head for non-strict tests.
    private static Sequential SmallNet() => Sequential(
        ("conv", Conv2d(3, 4, 3)),
        ("bn", BatchNorm2d(4)),
        ("pool", AdaptiveAvgPool2d(1)),
        ("flatten", Flatten()),
        ("fc", Linear(4, 2)));
}
