using System.Collections;
using System.Globalization;
using System.IO.Compression;
using System.Text;
using Forge.Core;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Forge.DeepLearning;

/// <summary>Builds TorchSharp's TorchVision networks by the names torchvision uses, so PyTorch state dicts fit them key for key.</summary>
public static class TorchVisionModels
{
    /// <summary>The architectures <see cref="Create"/> builds; each one's state-dict keys and shapes are checked against torchvision's.</summary>
    public static IReadOnlyList<string> Architectures { get; } = ["resnet18", "resnet34", "resnet50", "mobilenet_v2"];

    /// <summary>Builds <paramref name="architecture"/> (randomly initialised, in training mode) with a <paramref name="numClasses"/>-way classifier head.</summary>
    /// <exception cref="NotFoundException">The architecture is not one of <see cref="Architectures"/>.</exception>
    public static Module<Tensor, Tensor> Create(string architecture, int numClasses = 1000)
    {
        ArgumentNullException.ThrowIfNull(architecture);
        ArgumentOutOfRangeException.ThrowIfLessThan(numClasses, 1);
        return Normalize(architecture) switch
        {
            "resnet18" => torchvision.models.resnet18(numClasses),
            "resnet34" => torchvision.models.resnet34(numClasses),
            "resnet50" => torchvision.models.resnet50(numClasses),
            "mobilenet_v2" => torchvision.models.mobilenet_v2(numClasses),
            _ => throw new NotFoundException("torchvision architecture", architecture, Architectures),
        };
    }

    /// <summary>The canonical spelling of an architecture name ("MobileNet-V2" → "mobilenet_v2").</summary>
    internal static string Normalize(string architecture) => architecture.Trim().ToLowerInvariant().Replace('-', '_');
}

/// <summary>Copies PyTorch state dicts (<c>torch.save(model.state_dict(), path)</c>, e.g. torchvision's downloads) into TorchSharp modules.</summary>
public static class TorchVisionWeights
{
    // Prefixes wrappers add to every key: nn.DataParallel / DistributedDataParallel ("module.") and torch.compile ("_orig_mod.").
    private static readonly string[] WrapperPrefixes = ["module.", "_orig_mod."];

    private const string BatchCounter = "num_batches_tracked";
    private const int Listed = 5;

    /// <summary>
    /// Reads the state dict at <paramref name="path"/> and copies every tensor into <paramref name="module"/>'s parameters and buffers.
    /// With <paramref name="strict"/> the file must fit the module exactly; without it the classifier head (<c>fc</c> for ResNet,
    /// <c>classifier</c> for MobileNetV2, otherwise the last Linear layer) may differ and keeps its own initialisation, as transfer
    /// learning needs. Either way a backbone that does not fit is an error, because it means the file belongs to another architecture.
    /// BatchNorm's <c>num_batches_tracked</c> counters may be absent on either side, and a <c>module.</c> prefix is removed.
    /// </summary>
    /// <exception cref="ForgeException">The file is missing.</exception>
    /// <exception cref="DataFormatException">The file is not a PyTorch state dict.</exception>
    /// <exception cref="WeightsMismatchException">Keys are missing, unexpected or of another shape.</exception>
    public static WeightLoadReport Load(Module module, string path, bool strict = true)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(path);
        // The tensors read from the file are temporaries: the scope frees their native memory however we leave.
        using var scope = NewDisposeScope();
        var file = StateDictReader.Read(path);
        var target = module.state_dict();
        var stripped = StripWrapperPrefixes(file, target.Keys);
        if (stripped.Length > 0) file = file.ToDictionary(kv => kv.Key[stripped.Length..], kv => kv.Value, StringComparer.Ordinal);
        var head = HeadOf(module);
        bool InHead(string key) => head.Length > 0 && key.StartsWith(head + ".", StringComparison.Ordinal);

        var loaded = new List<string>();
        var skipped = new List<SkippedWeight>();
        var kept = new List<string>();
        var missing = new List<string>();
        var unexpected = new List<string>();
        var mismatched = new List<ShapeMismatch>();
        foreach (var (key, tensor) in target)
        {
            if (!file.TryGetValue(key, out var source))
            {
                // Checkpoints from PyTorch before 0.4.1 have no batch counters; the counter does not affect inference.
                if (key.EndsWith(BatchCounter, StringComparison.Ordinal) || (!strict && InHead(key))) kept.Add(key);
                else missing.Add(key);
                continue;
            }
            if (Fits(source, tensor))
            {
                loaded.Add(key);
                continue;
            }
            var mismatch = new ShapeMismatch(key, source.shape, tensor.shape);
            if (!strict && InHead(key))
            {
                skipped.Add(new SkippedWeight(key, $"shape file {Shape(source.shape)}, model {Shape(tensor.shape)}"));
                kept.Add(key);
            }
            else mismatched.Add(mismatch);
        }
        foreach (var key in file.Keys.Where(k => !target.ContainsKey(k)).Order(StringComparer.Ordinal))
        {
            if (key.EndsWith(BatchCounter, StringComparison.Ordinal)) skipped.Add(new SkippedWeight(key, "the module keeps no batch counter"));
            else if (!strict && InHead(key)) skipped.Add(new SkippedWeight(key, "not in the module's classifier head"));
            else unexpected.Add(key);
        }
        if (missing.Count + unexpected.Count + mismatched.Count > 0)
            throw new WeightsMismatchException(path, missing, unexpected, mismatched, Advice(strict, head, missing, unexpected, mismatched, loaded.Count, InHead));

        using (no_grad())
        {
            foreach (var key in loaded)
            {
                var source = file[key];
                var destination = target[key];
                // PyBridge rebuilds a 0-dim tensor (num_batches_tracked) as shape [1]; copy_ needs the shapes to agree.
                destination.copy_(source.shape.SequenceEqual(destination.shape) ? source : source.reshape(destination.shape));
            }
        }
        return new WeightLoadReport(path, loaded, skipped, kept, head, stripped.Length > 0 ? stripped : null);
    }

    /// <summary>
    /// Builds <paramref name="architecture"/> with a <paramref name="numClasses"/>-way head and loads the backbone from
    /// <paramref name="path"/> (a non-strict <see cref="Load"/>): the usual start of fine-tuning torchvision weights on new classes.
    /// </summary>
    /// <exception cref="NotFoundException">The architecture is unknown.</exception>
    /// <exception cref="ForgeException">The file is missing, not a state dict, or does not fit the backbone.</exception>
    public static PretrainedNetwork LoadPretrained(string architecture, string path, int numClasses)
    {
        ArgumentNullException.ThrowIfNull(architecture);
        ArgumentNullException.ThrowIfNull(path);
        // Fail on a bad path before spending a second building the network.
        StateDictReader.CheckExists(path);
        var network = TorchVisionModels.Create(architecture, numClasses);
        try
        {
            var report = Load(network, path, strict: false);
            return new PretrainedNetwork(TorchVisionModels.Normalize(architecture), network, report);
        }
        catch
        {
            network.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The classifier head's key prefix: "fc" for ResNet, "classifier" for MobileNetV2, otherwise the last Linear layer in
    /// registration order (a Sequential's output layer), or "" when the module has none.
    /// </summary>
    internal static string HeadOf(Module module) => module switch
    {
        // TorchSharp registers MobileNetV2's classifier before its features, so registration order cannot find these heads.
        TorchSharp.Modules.ResNet => "fc",
        TorchSharp.Modules.MobileNetV2 => "classifier",
        _ => module.named_modules().LastOrDefault(m => m.module is TorchSharp.Modules.Linear).name ?? "",
    };

    private static bool Fits(Tensor source, Tensor destination) =>
        source.shape.SequenceEqual(destination.shape)
        || (destination.shape.Length == 0 && source.shape is [1]);

    private static string StripWrapperPrefixes(Dictionary<string, Tensor> file, IEnumerable<string> moduleKeys)
    {
        var keys = moduleKeys.ToList();
        var prefix = "";
        var changed = true;
        while (changed)
        {
            changed = false;
            foreach (var p in WrapperPrefixes)
            {
                var candidate = prefix + p;
                if (file.Count > 0 && file.Keys.All(k => k.StartsWith(candidate, StringComparison.Ordinal))
                    && !keys.Any(k => k.StartsWith(p, StringComparison.Ordinal)))
                {
                    prefix = candidate;
                    changed = true;
                }
            }
        }
        return prefix;
    }

    private static string Advice(bool strict, string head, List<string> missing, List<string> unexpected, List<ShapeMismatch> mismatched, int fitting, Func<string, bool> inHead)
    {
        if (fitting == 0 && mismatched.Count == 0) return "no key of the file matches the model: the weights are for another architecture";
        var onlyHead = missing.Concat(unexpected).Concat(mismatched.Select(m => m.Key)).All(inHead);
        if (onlyHead && strict) return $"only the classifier head '{head}' differs: load with strict: false to keep the model's own head";
        if (strict) return "";
        return head.Length > 0 ? $"strict: false excuses only the classifier head '{head}'" : "strict: false excuses only a classifier head, and the model has no Linear layer";
    }

    internal static string Shape(IEnumerable<long> shape) => "[" + string.Join(", ", shape.Select(d => d.ToString(CultureInfo.InvariantCulture))) + "]";

    internal static string FirstFew(IReadOnlyList<string> items) =>
        string.Join(", ", items.Take(Listed)) + (items.Count > Listed ? $", … and {items.Count - Listed} more" : "");
}

/// <summary>A TorchVision network built by name with a checkpoint's weights in it.</summary>
/// <param name="Architecture">The torchvision architecture name, e.g. "resnet18".</param>
/// <param name="Network">The network, in training mode; call <c>eval()</c> before inference.</param>
/// <param name="Report">What was loaded from the file and what kept its initialisation (the new head).</param>
public sealed record PretrainedNetwork(string Architecture, Module<Tensor, Tensor> Network, WeightLoadReport Report) : IDisposable
{
    /// <summary>Frees the network's native tensors.</summary>
    public void Dispose() => Network.Dispose();
}

/// <summary>What <see cref="TorchVisionWeights.Load"/> did with each state-dict entry.</summary>
/// <param name="Path">The file read.</param>
/// <param name="Loaded">Module keys whose tensors now hold the file's values.</param>
/// <param name="Skipped">File entries not copied, each with the reason.</param>
/// <param name="KeptInitial">Module keys the file did not overwrite (a new head, batch counters absent from old checkpoints).</param>
/// <param name="Head">The classifier head non-strict loading may leave out, e.g. "fc".</param>
/// <param name="StrippedPrefix">The wrapper prefix removed from every file key ("module." from DataParallel), or null.</param>
public sealed record WeightLoadReport(
    string Path,
    IReadOnlyList<string> Loaded,
    IReadOnlyList<SkippedWeight> Skipped,
    IReadOnlyList<string> KeptInitial,
    string Head,
    string? StrippedPrefix)
{
    /// <summary>One line: how many tensors were loaded, and which were skipped and why.</summary>
    public override string ToString()
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"loaded {Loaded.Count} tensors from {Path}");
        if (StrippedPrefix is not null) text.Append(CultureInfo.InvariantCulture, $" (removed the '{StrippedPrefix}' prefix)");
        if (Skipped.Count > 0)
            text.Append(CultureInfo.InvariantCulture, $"; skipped {Skipped.Count}: {TorchVisionWeights.FirstFew(Skipped.Select(s => $"{s.Key} ({s.Reason})").ToList())}");
        if (KeptInitial.Count > 0)
            text.Append(CultureInfo.InvariantCulture, $"; kept the model's own {TorchVisionWeights.FirstFew(KeptInitial)}");
        return text.ToString();
    }
}

/// <summary>A state-dict entry that was not copied into the module.</summary>
/// <param name="Key">The entry's key, after removing any wrapper prefix.</param>
/// <param name="Reason">Why it was left out, e.g. "shape file [1000, 512], model [8, 512]".</param>
public sealed record SkippedWeight(string Key, string Reason);

/// <summary>A state dict does not fit a module: keys are missing, unexpected, or hold tensors of another shape.</summary>
public sealed class WeightsMismatchException : ForgeException
{
    /// <summary>Creates the error; the message names the file and the first few keys of each kind.</summary>
    public WeightsMismatchException(string path, IReadOnlyList<string> missingKeys, IReadOnlyList<string> unexpectedKeys, IReadOnlyList<ShapeMismatch> shapeMismatches, string advice)
        : base(Describe(path, missingKeys, unexpectedKeys, shapeMismatches, advice))
    {
        Path = path;
        MissingKeys = missingKeys;
        UnexpectedKeys = unexpectedKeys;
        ShapeMismatches = shapeMismatches;
    }

    /// <summary>The state-dict file.</summary>
    public string Path { get; }

    /// <summary>Module keys the file lacks.</summary>
    public IReadOnlyList<string> MissingKeys { get; }

    /// <summary>File keys the module lacks.</summary>
    public IReadOnlyList<string> UnexpectedKeys { get; }

    /// <summary>Every key whose tensor has another shape in the file than in the module.</summary>
    public IReadOnlyList<ShapeMismatch> ShapeMismatches { get; }

    private static string Describe(string path, IReadOnlyList<string> missing, IReadOnlyList<string> unexpected, IReadOnlyList<ShapeMismatch> mismatched, string advice)
    {
        var parts = new List<string>();
        if (mismatched.Count > 0)
            parts.Add($"{Count(mismatched.Count, "shape mismatch", "shape mismatches")}: {TorchVisionWeights.FirstFew(mismatched.Select(m => m.ToString()).ToList())}");
        if (missing.Count > 0) parts.Add($"{Count(missing.Count, "key", "keys")} missing from the file: {TorchVisionWeights.FirstFew(missing)}");
        if (unexpected.Count > 0) parts.Add($"{Count(unexpected.Count, "unexpected key", "unexpected keys")}: {TorchVisionWeights.FirstFew(unexpected)}");
        return $"{path}: does not fit the model: {string.Join("; ", parts)}" + (advice.Length > 0 ? "; " + advice : "");
    }

    private static string Count(int n, string one, string many) => n.ToString(CultureInfo.InvariantCulture) + " " + (n == 1 ? one : many);
}

/// <summary>A state-dict key whose tensor has one shape in the file and another in the module.</summary>
/// <param name="Key">The key, after removing any wrapper prefix.</param>
/// <param name="FileShape">The tensor's shape in the file.</param>
/// <param name="ModelShape">The tensor's shape in the module.</param>
public sealed record ShapeMismatch(string Key, IReadOnlyList<long> FileShape, IReadOnlyList<long> ModelShape)
{
    /// <summary>"fc.weight (file [1000, 512], model [8, 512])".</summary>
    public override string ToString() => $"{Key} (file {TorchVisionWeights.Shape(FileShape)}, model {TorchVisionWeights.Shape(ModelShape)})";
}

/// <summary>Reads the tensors of a <c>torch.save</c> file, telling a user plainly when the file is something else.</summary>
internal static class StateDictReader
{
    // torch.save before PyTorch 1.6 (or with _use_new_zipfile_serialization=False) pickles this number first.
    private static readonly byte[] LegacyMagic = [0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];

    // Keys under which training scripts commonly nest the state dict inside a larger checkpoint dict.
    private static readonly string[] CheckpointKeys = ["state_dict", "model_state_dict", "model"];

    public static void CheckExists(string path)
    {
        if (Directory.Exists(path)) throw new ForgeException($"{path}: is a folder, not a state-dict file");
        if (!File.Exists(path)) throw new ForgeException($"{path}: file not found");
    }

    /// <summary>Every tensor of the state dict by key; the tensors belong to the caller's dispose scope.</summary>
    public static Dictionary<string, Tensor> Read(string path)
    {
        CheckExists(path);
        using var stream = File.OpenRead(path);
        var head = new byte[32];
        var n = stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        stream.Position = 0;
        var start = head.AsSpan(0, n);
        if (start.StartsWith("PK\x03\x04"u8)) return ReadZip(path, stream);
        if (n >= 2 && start[0] == 0x80 && start.IndexOf(LegacyMagic) >= 0)
            throw new DataFormatException(path, "saved in PyTorch's legacy format (before 1.6); re-save it from PyTorch with torch.save(torch.load(path), path)");
        if (n == 0) throw new DataFormatException(path, "empty file, not a PyTorch state dict");
        throw new DataFormatException(path, $"not a PyTorch state dict: torch.save writes a zip archive (starting \"PK\"), this file starts with {Describe(start)}");
    }

    private static Dictionary<string, Tensor> ReadZip(string path, FileStream stream)
    {
        try
        {
            using (var archive = new ZipArchive(stream, ZipArchiveMode.Read, leaveOpen: true))
            {
                var names = archive.Entries.Select(e => e.FullName).ToList();
                if (!names.Any(e => e.EndsWith("data.pkl", StringComparison.Ordinal)))
                    throw new DataFormatException(path, "a zip archive without data.pkl, so not written by torch.save");
                if (names.Any(e => e.Contains("/code/", StringComparison.Ordinal)))
                    throw new DataFormatException(path, "a TorchScript archive (torch.jit.save), not a state dict; save model.state_dict() with torch.save instead");
            }
            stream.Position = 0;
            var root = PyTorchUnpickler.UnpickleStateDict(stream, leaveOpen: true);
            return TensorsOf(path, root);
        }
        catch (InvalidDataException e)
        {
            throw new DataFormatException(path, "damaged zip archive (" + FirstLine(e.Message) + "); download it again", e);
        }
        catch (InvalidCastException e)
        {
            // PyBridge casts the unpickled root to a dict; anything else (one tensor, a list) lands here.
            throw new DataFormatException(path, "holds something other than a dict of tensors; save model.state_dict() with torch.save", e);
        }
        catch (Exception e) when (e is not ForgeException and not OutOfMemoryException)
        {
            throw new DataFormatException(path, "not a readable PyTorch state dict (" + FirstLine(e.Message) + ")", e);
        }
    }

    private static Dictionary<string, Tensor> TensorsOf(string path, Hashtable root)
    {
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (DictionaryEntry entry in root)
        {
            if (entry.Key is string key && entry.Value is Tensor tensor) tensors[key] = tensor;
        }
        if (tensors.Count > 0) return tensors;
        foreach (var key in CheckpointKeys)
        {
            if (root[key] is Hashtable nested)
            {
                var inner = TensorsOf(path, nested);
                if (inner.Count > 0) return inner;
            }
        }
        var keys = root.Keys.OfType<string>().Order(StringComparer.Ordinal).ToList();
        throw new DataFormatException(path, keys.Count == 0
            ? "an empty dict, no tensors to load"
            : $"a dict without tensors (keys: {TorchVisionWeights.FirstFew(keys)}); expected a state dict, or a checkpoint with it under 'state_dict' or 'model'");
    }

    private static string Describe(ReadOnlySpan<byte> start)
    {
        var shown = start[..Math.Min(start.Length, 12)];
        var printable = true;
        foreach (var b in shown) printable &= b is (>= 0x20 and <= 0x7e) or (byte)'\n' or (byte)'\r' or (byte)'\t';
        if (!printable) return "bytes " + Convert.ToHexString(shown);
        return "the text \"" + Encoding.ASCII.GetString(shown).ReplaceLineEndings(" ") + "\"";
    }

    private static string FirstLine(string message) => message.Split('\n')[0].Trim();
}
