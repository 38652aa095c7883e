using System.Globalization;
using System.IO.Compression;

namespace Forge.Core.Tests;

public sealed class ModelBundleTests : IDisposable
{
    private const string Weights = "weights/model.dat";
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private static ModelBundle WriteBundle(string target, DateTimeOffset createdAt = default)
    {
        using var writer = ModelBundle.Create(target);
        File.WriteAllBytes(writer.PathFor(Weights), [1, 2, 3, 4]);
        return writer.Commit(new ModelManifest
        {
            Name = "tiny",
            Flavor = ModelFlavors.Onnx,
            Signature = new ModelSignature([new TensorSpec("x", "float32", [-1, 2])], [new TensorSpec("y", "float32", [-1, 2])], ["a", "b"]),
            CreatedAt = createdAt,
        });
    }

    [Fact]
    public void Blank_paths_are_refused_as_argument_errors_naming_the_parameter()
    {
        var bundle = WriteBundle(_temp.Combine("tiny"));

        Assert.Throws<ArgumentException>(() => bundle.GetPath(" "));
        Assert.Throws<ArgumentNullException>(() => bundle.TryGetPath(null!, out _));
        // Whitespace is a legal file name on Linux, so only the argument check stops it being looked up as one.
        Assert.Equal("path", Assert.Throws<ArgumentException>(() => ModelBundle.Load("   ")).ParamName);
        Assert.Equal("bundleDirectory", Assert.Throws<ArgumentException>(() => ModelBundle.Pack("", _temp.Combine("tiny.forge"))).ParamName);
        Assert.Equal("forgeFile", Assert.Throws<ArgumentException>(() => ModelBundle.Pack(bundle.Directory, "")).ParamName);
        Assert.Equal(["tiny"], _temp.Entries());
    }

    [Fact]
    public void GetPath_of_an_unlisted_file_with_nothing_close_names_it_without_a_suggestion()
    {
        var bundle = WriteBundle(_temp.Combine("tiny"));

        var ex = Assert.Throws<BundleException>(() => bundle.GetPath("notes.txt"));

        var path = Path.Combine(bundle.Directory, "notes.txt");
        Assert.Equal(path, ex.Path);
        Assert.Equal($"{path}: not listed in forge-model.json", ex.Message);
    }

    [Fact]
    public void TryGetPath_accepts_backslashes_and_reports_unlisted_files()
    {
        var bundle = WriteBundle(_temp.Combine("tiny"));

        Assert.True(bundle.TryGetPath("weights\\model.dat", out var path));
        Assert.Equal(Path.Combine(bundle.Directory, "weights", "model.dat"), path);
        Assert.False(bundle.TryGetPath("weights/other.dat", out var missing));
        Assert.Null(missing);
    }

    [Fact]
    public void Loading_a_path_that_does_not_exist_names_it()
    {
        var nowhere = _temp.Combine("nowhere");

        var ex = Assert.Throws<BundleException>(() => ModelBundle.Load(nowhere));

        Assert.Equal(nowhere, ex.Path);
        Assert.Equal($"{nowhere}: no such bundle directory or .forge file", ex.Message);
        Assert.Empty(_temp.Entries());
    }

    [Fact]
    public void Pack_replaces_an_existing_forge_file()
    {
        var bundle = WriteBundle(_temp.Combine("tiny"));
        var forgeFile = _temp.Combine("tiny.forge");
        File.WriteAllText(forgeFile, "an older archive");

        ModelBundle.Pack(bundle.Directory, forgeFile);

        using (var zip = ZipFile.OpenRead(forgeFile))
        {
            Assert.Equal(
                [ModelBundle.ManifestFileName, ModelBundle.ModelCardFileName, Weights],
                zip.Entries.Select(e => e.FullName));
        }
        Assert.Equal(["tiny", "tiny.forge"], _temp.Entries());
    }

    [Fact]
    public void Pack_that_cannot_put_the_archive_in_place_leaves_no_temporary_file()
    {
        var bundle = WriteBundle(_temp.Combine("tiny"));
        // A directory where the archive should go makes the final move fail after the archive was written.
        var forgeFile = Directory.CreateDirectory(_temp.Combine("tiny.forge")).FullName;

        Assert.ThrowsAny<IOException>(() => ModelBundle.Pack(bundle.Directory, forgeFile));

        Assert.Equal(["tiny", "tiny.forge"], _temp.Entries());
        Assert.Empty(Directory.EnumerateFileSystemEntries(forgeFile));
    }

    [Theory]
    [InlineData("2026-03-04T05:06:08+00:00", "2026-03-04T05:06:08")]
    [InlineData("2026-03-04T01:30:00+02:00", "2026-03-03T23:30:00")]
    [InlineData("1981-06-01T00:00:00+00:00", "1981-06-01T00:00:00")]
    [InlineData("2106-06-01T00:00:00+00:00", "2106-06-01T00:00:00")]
    [InlineData("1980-12-31T23:59:58+00:00", "1981-01-01T00:00:00")]
    [InlineData("1970-01-01T00:00:02+00:00", "1981-01-01T00:00:00")]
    [InlineData("2107-06-01T00:00:00+00:00", "1981-01-01T00:00:00")]
    public void Packed_entries_carry_the_creation_time_in_utc_clamped_to_what_zip_can_store(string createdAt, string expected)
    {
        var bundle = WriteBundle(_temp.Combine("tiny"), DateTimeOffset.Parse(createdAt, CultureInfo.InvariantCulture));
        var forgeFile = _temp.Combine("tiny.forge");

        ModelBundle.Pack(bundle.Directory, forgeFile);

        using var zip = ZipFile.OpenRead(forgeFile);
        var stamp = DateTime.Parse(expected, CultureInfo.InvariantCulture);
        Assert.All(zip.Entries, e => Assert.Equal(stamp, e.LastWriteTime.DateTime));
    }
}
