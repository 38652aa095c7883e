using System.Buffers.Binary;
using Forge.Tests.Shared;

namespace Forge.Cli.Tests;

/// <summary>Bad datasets and options stop train before anything is written: one error line, no --out, no staging folder.</summary>
public sealed class TrainInputErrorTests : IClassFixture<ForgeHomeFixture>, IDisposable
{
    private readonly TempDir _temp = new("forge-cli-train-errors-");

    public void Dispose() => _temp.Dispose();

    private CliResult Train(string dataset, string? dataDir, string outName, params string[] extra)
    {
        string[] args = ["train", dataset, "--model", "mlp", "--limit", "300", "--epochs", "1", "--threads", "1", "--out", _temp.Combine(outName), .. extra];
        return Cli.Run(dataDir is null ? args : [.. args, "--data-dir", dataDir]);
    }

    /// <summary>Nothing named after the bundle is left: no bundle, no *.tmp-* staging folder, no default checkpoint folder.</summary>
    private void AssertNothingWritten(string outName) =>
        Assert.Empty(Directory.EnumerateFileSystemEntries(_temp.Path, outName + "*"));

    [Fact]
    public void An_unknown_dataset_suggests_the_closest_name()
    {
        var result = Train("minst", null, "out");

        Assert.Equal(2, result.ExitCode);
        Cli.AssertFailed(result, "unknown dataset 'minst'; did you mean 'mnist'?");
        AssertNothingWritten("out");
    }

    [Fact]
    public void A_dataset_of_another_kind_is_refused_before_a_run_starts()
    {
        var before = Cli.Run("runs", "list", "--json").Out;
        var photos = Train("plantvillage", null, "photos");
        var digits = Cli.Run("finetune", "mnist", "--out", _temp.Combine("digits"));

        Assert.Equal(2, photos.ExitCode);
        Cli.AssertFailed(photos, "dataset 'plantvillage' holds photos in class folders", "use 'forge finetune plantvillage'");
        AssertNothingWritten("photos");
        Assert.Equal(2, digits.ExitCode);
        Cli.AssertFailed(digits, "dataset 'mnist' is not a folder of photos");
        AssertNothingWritten("digits");
        // No tracked run was opened for either.
        Assert.Equal(before, Cli.Run("runs", "list", "--json").Out);
    }

    [Fact]
    public void Every_bad_option_is_named_in_one_line()
    {
        var result = Train("mnist", null, "out", "--optimizer", "adamm", "--lr", "-1", "--schedule", "cosin");

        Assert.Equal(2, result.ExitCode);
        // The library names its options (optimizer, learningRate, schedule); the CLI names its flags for them.
        Cli.AssertFailed(result, "--optimizer: unknown value 'adamm'; did you mean 'adam'?", "--lr: must be positive (got -1)",
            "--schedule: unknown value 'cosin'; did you mean 'cosine'?");
        Assert.DoesNotContain("learningRate", result.Err, StringComparison.Ordinal);
        AssertNothingWritten("out");
    }

    [Fact]
    public void An_unknown_model_suggests_the_closest_name()
    {
        var result = Cli.Run("train", "mnist", "--model", "referense-cnn", "--out", _temp.Combine("out"));

        Cli.AssertFailed(result, "unknown model 'referense-cnn'; did you mean 'reference-cnn'?");
        AssertNothingWritten("out");
    }

    [SharedDataFact]
    public void A_truncated_images_file_is_named()
    {
        var data = _temp.Combine("truncated");
        MnistBytes.CopyWith(data, "train-images-idx3-ubyte", MnistBytes.TrainImages[..(MnistBytes.TrainImages.Length / 2)]);

        var result = Train("mnist", data, "out");

        Cli.AssertFailed(result, Path.Combine(data, "train-images-idx3-ubyte") + ":", "truncated");
        AssertNothingWritten("out");
    }

    [SharedDataFact]
    public void A_wrong_magic_number_is_named()
    {
        var data = _temp.Combine("magic");
        var bytes = MnistBytes.TrainImages.ToArray();
        BinaryPrimitives.WriteUInt32BigEndian(bytes, 0x12340803);
        MnistBytes.CopyWith(data, "train-images-idx3-ubyte", bytes);

        var result = Train("mnist", data, "out");

        Cli.AssertFailed(result, Path.Combine(data, "train-images-idx3-ubyte") + ":", "magic number 0x12340803");
        AssertNothingWritten("out");
    }

    [SharedDataFact]
    public void A_label_count_that_does_not_match_the_images_names_both_files()
    {
        var data = _temp.Combine("count");
        var labels = MnistBytes.TrainLabels[..^1];
        BinaryPrimitives.WriteInt32BigEndian(labels.AsSpan(4), labels.Length - 8);
        MnistBytes.CopyWith(data, "train-labels-idx1-ubyte", labels);

        var result = Train("mnist", data, "out");

        Cli.AssertFailed(result, Path.Combine(data, "train-labels-idx1-ubyte"), "60000 images", "59999 labels");
        AssertNothingWritten("out");
    }

    [Fact]
    public void A_data_dir_without_the_dataset_lists_what_is_missing()
    {
        var empty = _temp.Combine("empty");
        Directory.CreateDirectory(empty);

        var result = Train("mnist", empty, "out");

        Cli.AssertFailed(result, $"--data-dir {empty} lacks mnist files", "train-images-idx3-ubyte");
        AssertNothingWritten("out");
    }
}
