using System.Globalization;
using System.IO.Compression;
using System.Text.Json;
using Forge.Data;
using Forge.DeepLearning;
using Forge.Tests.Shared;
using Forge.Tracking;

// Every test here changes process-wide state (FORGE_HOME, libtorch's thread count) or runs TorchSharp: one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace Forge.Cli.Tests;

/// <summary>What one in-process run of the forge command printed and returned.</summary>
public sealed record CliResult(int ExitCode, string Out, string Err)
{
    public string[] ErrLines => Err.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    public JsonElement Json()
    {
        // Parsing the whole of stdout as one document proves it holds exactly one JSON value and nothing else.
        using var doc = JsonDocument.Parse(Out);
        Assert.Equal(JsonValueKind.Object, doc.RootElement.ValueKind);
        return doc.RootElement.Clone();
    }

    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Out}\n--- stderr\n{Err}";
}

internal static class Cli
{
    public static CliResult Run(params string[] args)
    {
        using var output = new StringWriter(CultureInfo.InvariantCulture);
        using var error = new StringWriter(CultureInfo.InvariantCulture);
        var code = CliApp.Run(args, output, error, errorIsTerminal: false);
        return new CliResult(code, output.ToString(), error.ToString());
    }

    /// <summary>Asserts a failed run: non-zero exit, nothing on stdout, and one stderr line "error: …" naming <paramref name="culprits"/>.</summary>
    public static void AssertFailed(CliResult result, params string[] culprits)
    {
        Assert.True(result.ExitCode != 0, result.ToString());
        Assert.True(result.Out.Length == 0, "stdout should be empty:\n" + result);
        var line = Assert.Single(result.ErrLines);
        Assert.StartsWith("error: ", line, StringComparison.Ordinal);
        foreach (var culprit in culprits) Assert.Contains(culprit, line, StringComparison.Ordinal);
    }

    public static double Number(this JsonElement e, string name) => e.GetProperty(name).GetDouble();

    public static string Text(this JsonElement e, string name) => e.GetProperty(name).GetString()!;

    /// <summary>Copies a folder tree (a bundle, say) so a test can damage the copy.</summary>
    public static void CopyTree(string from, string to)
    {
        foreach (var dir in Directory.EnumerateDirectories(from, "*", SearchOption.AllDirectories))
            Directory.CreateDirectory(Path.Combine(to, Path.GetRelativePath(from, dir)));
        Directory.CreateDirectory(to);
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
            File.Copy(file, Path.Combine(to, Path.GetRelativePath(from, file)));
    }
}

/// <summary>Gives a test class its own FORGE_HOME and no FORGE_DATA_DIR or FORGE_TRACKING_URI, puts them back afterwards, and pins libtorch to one thread.</summary>
public sealed class ForgeHomeFixture : IDisposable
{
    private readonly TempDir _temp = new("forge-cli-home-");
    private readonly string? _home = Environment.GetEnvironmentVariable(ForgePaths.HomeVariable);
    private readonly string? _dataDir = Environment.GetEnvironmentVariable(DatasetResolver.DataDirVariable);
    private readonly string? _trackingUri = Environment.GetEnvironmentVariable(TrackingStore.UriVariable);

    public ForgeHomeFixture()
    {
        Environment.SetEnvironmentVariable(ForgePaths.HomeVariable, Home);
        Environment.SetEnvironmentVariable(DatasetResolver.DataDirVariable, null);
        // Runs tracked by the tests go to FORGE_HOME/forge.db, never to a store the developer's environment names.
        Environment.SetEnvironmentVariable(TrackingStore.UriVariable, null);
        TorchRuntime.SetThreads(1);
    }

    public string Home => _temp.Path;

    public void Dispose()
    {
        Environment.SetEnvironmentVariable(ForgePaths.HomeVariable, _home);
        Environment.SetEnvironmentVariable(DatasetResolver.DataDirVariable, _dataDir);
        Environment.SetEnvironmentVariable(TrackingStore.UriVariable, _trackingUri);
        _temp.Dispose();
    }
}

/// <summary>One small MLP bundle trained through the CLI, on first use, shared by the tests of a class.</summary>
public sealed class TrainedBundleFixture : IDisposable
{
    private readonly TempDir _temp = new("forge-cli-bundle-");
    private readonly Lazy<CliResult> _train;

    public TrainedBundleFixture()
    {
        BundleDirectory = _temp.Combine("mnist-mlp");
        _train = new(() => Cli.Run("train", "mnist", "--model", "mlp", "--limit", "1500", "--epochs", "1", "--threads", "1",
            "--data-dir", SharedData.Mnist, "--out", BundleDirectory, "--json"));
    }

    public string BundleDirectory { get; }

    /// <summary>The train command's result; training happens on the first call.</summary>
    public CliResult Train => _train.Value;

    public void Dispose() => _temp.Dispose();
}

/// <summary>Decompressed MNIST files, read once, for building damaged copies.</summary>
internal static class MnistBytes
{
    private static readonly Lazy<byte[]> TrainImagesBytes = new(() => Read("train-images-idx3-ubyte"));
    private static readonly Lazy<byte[]> TrainLabelsBytes = new(() => Read("train-labels-idx1-ubyte"));

    public static byte[] TrainImages => TrainImagesBytes.Value;

    public static byte[] TrainLabels => TrainLabelsBytes.Value;

    /// <summary>A copy of the four MNIST files in <paramref name="directory"/> with <paramref name="replace"/> written raw in place of its .gz.</summary>
    public static void CopyWith(string directory, string replace, byte[] content)
    {
        Directory.CreateDirectory(directory);
        foreach (var file in Directory.EnumerateFiles(SharedData.Mnist, "*-ubyte*"))
        {
            var name = Path.GetFileName(file);
            if (name != replace && name != replace + ".gz") File.Copy(file, Path.Combine(directory, name));
        }
        File.WriteAllBytes(Path.Combine(directory, replace), content);
    }

    private static byte[] Read(string name)
    {
        var raw = Path.Combine(SharedData.Mnist, name);
        if (File.Exists(raw)) return File.ReadAllBytes(raw);
        using var input = new GZipStream(File.OpenRead(raw + ".gz"), CompressionMode.Decompress);
        using var output = new MemoryStream();
        input.CopyTo(output);
        return output.ToArray();
    }
}
