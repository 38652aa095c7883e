using System.IO.Compression;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Forge.Core.Tests;

public sealed class BundleTests : IDisposable
{
    private const string Weights = "weights/model.dat";
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private static ModelManifest SampleManifest() => new()
    {
        Name = "pets",
        Flavor = ModelFlavors.TorchImage,
        Description = "Tells pets apart.",
        License = "MIT",
        Signature = new ModelSignature(
            [new TensorSpec("image", "float32", [-1, 3, 32, 32]) { Min = 0, Max = 1 }],
            [new TensorSpec("probabilities", "float32", [-1, 3])],
            ["cat", "dog", "bird"]),
        Preprocessing = new JsonObject { ["imageSize"] = 32, ["mean"] = new JsonArray(0.5, 0.5, 0.5) },
        Model = new JsonObject { ["architecture"] = "resnet-tiny", ["depth"] = 8 },
        Metrics = new() { ["accuracy"] = 0.91, ["macroF1"] = 0.9 },
        Training = new TrainingInfo
        {
            RunId = "run-7",
            Dataset = "pets-v2",
            DatasetChecksum = "sha256:abc",
            Hyperparameters = new Dictionary<string, string> { ["lr"] = "0.001", ["batchSize"] = "64" },
            Seed = 42,
            GitCommit = "deadbeef",
            DurationSeconds = 12.5,
            Epochs = 3,
        },
        Versions = new RuntimeVersions("", "0.107.0", "2.10.0"),
    };

    private ModelBundle WriteSample(string target, Action<BundleWriter>? extra = null)
    {
        using var writer = ModelBundle.Create(target);
        File.WriteAllBytes(writer.PathFor(Weights), Enumerable.Range(0, 1000).Select(i => (byte)(i * 7)).ToArray());
        File.WriteAllText(writer.PathFor("reference/profile.json"), "{}");
        extra?.Invoke(writer);
        return writer.Commit(SampleManifest());
    }

    [Fact]
    public void Round_trip_keeps_every_manifest_field()
    {
        var target = _temp.Combine("pets");
        var written = WriteSample(target);

        var loaded = ModelBundle.Load(target);
        var expected = SampleManifest();
        var m = loaded.Manifest;

        Assert.Equal(target, loaded.Directory);
        Assert.Equal(ModelBundle.CurrentFormatVersion, m.FormatVersion);
        Assert.Equal(expected.Name, m.Name);
        Assert.Equal(expected.Flavor, m.Flavor);
        Assert.Equal("classification", m.Task);
        Assert.Equal(expected.Description, m.Description);
        Assert.Equal(expected.License, m.License);
        Assert.Equal(expected.Signature, m.Signature);
        Assert.True(JsonNode.DeepEquals(expected.Preprocessing, m.Preprocessing));
        Assert.True(JsonNode.DeepEquals(expected.Model, m.Model));
        Assert.Equal(expected.Metrics, m.Metrics);
        Assert.Equal(expected.Training!.Hyperparameters, m.Training!.Hyperparameters);
        Assert.Equal(expected.Training with { Hyperparameters = m.Training.Hyperparameters }, m.Training);
        Assert.Equal(written.Manifest.CreatedAt, m.CreatedAt);
        Assert.NotEqual(default, m.CreatedAt);
        Assert.Equal("0.107.0", m.Versions.TorchSharp);
        Assert.Equal("2.10.0", m.Versions.LibTorch);
        Assert.StartsWith("0.1.0", m.Versions.Forge, StringComparison.Ordinal);
        Assert.Equal([ModelBundle.ModelCardFileName, "reference/profile.json", Weights], m.Files.Keys);
        Assert.Equal(new BundleFile(written.Manifest.Files[Weights].Sha256, 1000), m.Files[Weights]);
        Assert.Matches("^[0-9a-f]{64}$", m.Files[Weights].Sha256);
        Assert.Equal(File.ReadAllBytes(loaded.GetPath(Weights)), Enumerable.Range(0, 1000).Select(i => (byte)(i * 7)).ToArray());
    }

    [Fact]
    public void Manifest_json_is_camel_case_and_tolerates_unknown_fields()
    {
        var target = _temp.Combine("pets");
        WriteSample(target);
        var manifestPath = Path.Combine(target, ModelBundle.ManifestFileName);
        var json = JsonNode.Parse(File.ReadAllText(manifestPath))!.AsObject();

        Assert.Equal(1, (int)json["formatVersion"]!);
        Assert.Equal("float32", (string)json["signature"]!["inputs"]![0]!["dtype"]!);
        Assert.Equal("0.001", (string)json["training"]!["hyperparameters"]!["lr"]!);
        Assert.False(json.ContainsKey("Name"));
        // Version strings like "0.1.0+abc" stay readable instead of turning into \u002B escapes.
        Assert.DoesNotContain("\\u", File.ReadAllText(manifestPath), StringComparison.Ordinal);

        json["addedByALaterForge"] = new JsonObject { ["x"] = 1 };
        File.WriteAllText(manifestPath, json.ToJsonString(ForgeJson.Options));
        Assert.Equal("pets", ModelBundle.Load(target).Manifest.Name);
    }

    [Fact]
    public void Model_card_is_written_listed_and_describes_the_model()
    {
        var bundle = WriteSample(_temp.Combine("pets"));

        var card = File.ReadAllText(bundle.GetPath(ModelBundle.ModelCardFileName));

        Assert.True(bundle.Manifest.Files.ContainsKey(ModelBundle.ModelCardFileName));
        Assert.Contains("# pets", card, StringComparison.Ordinal);
        Assert.Contains("torch-image", card, StringComparison.Ordinal);
        Assert.Contains("classification", card, StringComparison.Ordinal);
        Assert.Contains("cat, dog, bird", card, StringComparison.Ordinal);
        Assert.Contains("pets-v2", card, StringComparison.Ordinal);
        Assert.Contains("sha256:abc", card, StringComparison.Ordinal);
        Assert.Contains("| lr | 0.001 |", card, StringComparison.Ordinal);
        Assert.Contains("| accuracy | 0.91 |", card, StringComparison.Ordinal);
        Assert.Contains("| TorchSharp | 0.107.0 |", card, StringComparison.Ordinal);
        Assert.Contains("Intended use and limits", card, StringComparison.Ordinal);
        Assert.Contains("MIT", card, StringComparison.Ordinal);
    }

    [Fact]
    public void Modified_byte_in_weights_is_refused_naming_the_file()
    {
        var bundle = WriteSample(_temp.Combine("pets"));
        var weights = bundle.GetPath(Weights);
        var bytes = File.ReadAllBytes(weights);
        bytes[500] ^= 0x01;
        File.WriteAllBytes(weights, bytes);

        var ex = Assert.Throws<BundleException>(() => ModelBundle.Load(bundle.Directory));

        Assert.Equal(weights, ex.Path);
        Assert.Contains(weights, ex.Message, StringComparison.Ordinal);
        Assert.Contains("checksum mismatch", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Truncated_file_is_refused_with_both_sizes()
    {
        var bundle = WriteSample(_temp.Combine("pets"));
        var weights = bundle.GetPath(Weights);
        using (var stream = File.OpenWrite(weights)) stream.SetLength(600);

        var ex = Assert.Throws<BundleException>(() => ModelBundle.Load(bundle.Directory));

        Assert.Equal(weights, ex.Path);
        Assert.Contains("truncated: 600 bytes, expected 1000", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_file_is_refused_naming_the_file()
    {
        var bundle = WriteSample(_temp.Combine("pets"));
        var profile = bundle.GetPath("reference/profile.json");
        File.Delete(profile);

        var ex = Assert.Throws<BundleException>(() => ModelBundle.Load(bundle.Directory));

        Assert.Equal(profile, ex.Path);
        Assert.Contains("missing", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unlisted_extra_files_are_ignored()
    {
        var bundle = WriteSample(_temp.Combine("pets"));
        File.WriteAllText(Path.Combine(bundle.Directory, "notes.txt"), "added later");

        var loaded = ModelBundle.Load(bundle.Directory);

        Assert.False(loaded.Manifest.Files.ContainsKey("notes.txt"));
        Assert.False(loaded.TryGetPath("notes.txt", out _));
    }

    [Fact]
    public void Newer_format_version_is_refused()
    {
        var bundle = WriteSample(_temp.Combine("pets"));
        var manifestPath = Path.Combine(bundle.Directory, ModelBundle.ManifestFileName);
        var json = JsonNode.Parse(File.ReadAllText(manifestPath))!;
        json["formatVersion"] = 2;
        // A newer format may change any field; the version alone must decide.
        json["signature"] = "something new";
        File.WriteAllText(manifestPath, json.ToJsonString());

        var ex = Assert.Throws<BundleException>(() => ModelBundle.Load(bundle.Directory));

        Assert.Equal(manifestPath, ex.Path);
        Assert.Contains("written by a newer Forge (format 2; this Forge reads up to 1)", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Corrupt_manifest_json_is_refused_naming_the_manifest()
    {
        var bundle = WriteSample(_temp.Combine("pets"));
        var manifestPath = Path.Combine(bundle.Directory, ModelBundle.ManifestFileName);
        File.WriteAllText(manifestPath, File.ReadAllText(manifestPath)[..40]);

        var ex = Assert.Throws<BundleException>(() => ModelBundle.Load(bundle.Directory));

        Assert.Equal(manifestPath, ex.Path);
        Assert.Contains(ModelBundle.ManifestFileName, ex.Message, StringComparison.Ordinal);
        Assert.Contains("not valid JSON", ex.Message, StringComparison.Ordinal);
        Assert.IsAssignableFrom<JsonException>(ex.InnerException);
    }

    [Fact]
    public void Manifest_missing_required_fields_reports_them_all()
    {
        var bundle = WriteSample(_temp.Combine("pets"));
        var manifestPath = Path.Combine(bundle.Directory, ModelBundle.ManifestFileName);
        var json = JsonNode.Parse(File.ReadAllText(manifestPath))!.AsObject();
        json.Remove("name");
        json["flavor"] = null;
        File.WriteAllText(manifestPath, json.ToJsonString());

        var ex = Assert.Throws<BundleException>(() => ModelBundle.Load(bundle.Directory));

        Assert.Contains("name is missing", ex.Message, StringComparison.Ordinal);
        Assert.Contains("flavor is missing", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("../../outside.txt")]
    [InlineData("/etc/passwd")]
    public void Manifest_listing_a_path_outside_the_bundle_is_refused(string listed)
    {
        var bundle = WriteSample(_temp.Combine("pets"));
        var manifestPath = Path.Combine(bundle.Directory, ModelBundle.ManifestFileName);
        var json = JsonNode.Parse(File.ReadAllText(manifestPath))!;
        json["files"]![listed] = new JsonObject { ["sha256"] = new string('0', 64), ["size"] = 0 };
        File.WriteAllText(manifestPath, json.ToJsonString());

        var ex = Assert.Throws<BundleException>(() => ModelBundle.Load(bundle.Directory));

        Assert.Equal(manifestPath, ex.Path);
        Assert.Contains(listed, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Directory_without_manifest_is_not_a_bundle()
    {
        var dir = Directory.CreateDirectory(_temp.Combine("empty")).FullName;

        var ex = Assert.Throws<BundleException>(() => ModelBundle.Load(dir));

        Assert.Equal(Path.Combine(dir, ModelBundle.ManifestFileName), ex.Path);
        Assert.Equal($"{ex.Path}: missing: this is not a Forge model bundle", ex.Message);
        Assert.Throws<BundleException>(() => ModelBundle.Load(_temp.Combine("nowhere")));
    }

    [Fact]
    public void Dispose_without_commit_leaves_nothing_behind()
    {
        var target = _temp.Combine("pets");
        string staging;
        using (var writer = ModelBundle.Create(target))
        {
            staging = writer.StagingDirectory;
            Assert.Equal(_temp.Path, Path.GetDirectoryName(staging));
            Assert.StartsWith("pets.tmp-", Path.GetFileName(staging), StringComparison.Ordinal);
            File.WriteAllText(writer.PathFor(Weights), "half-written");
        }

        Assert.False(Directory.Exists(target));
        Assert.False(Directory.Exists(staging));
        Assert.Empty(_temp.Entries());
    }

    [Fact]
    public void Commit_leaves_only_the_bundle()
    {
        WriteSample(_temp.Combine("pets"));

        Assert.Equal(["pets"], _temp.Entries());
    }

    [Fact]
    public void Existing_target_is_refused_without_overwrite_and_left_unchanged()
    {
        var target = _temp.Combine("pets");
        var first = WriteSample(target);
        var before = File.ReadAllBytes(Path.Combine(target, ModelBundle.ManifestFileName));

        var ex = Assert.Throws<UsageException>(() => ModelBundle.Create(target));

        Assert.Equal($"{target}: already exists; choose another directory or allow overwriting", ex.Message);
        Assert.Equal(before, File.ReadAllBytes(Path.Combine(target, ModelBundle.ManifestFileName)));
        Assert.Equal(first.Manifest.Files.Keys, ModelBundle.Load(target).Manifest.Files.Keys);
        Assert.Equal(["pets"], _temp.Entries());
    }

    [Fact]
    public void Overwrite_replaces_an_existing_bundle()
    {
        var target = _temp.Combine("pets");
        WriteSample(target);

        ModelBundle replaced;
        using (var writer = ModelBundle.Create(target, overwrite: true))
        {
            File.WriteAllText(writer.PathFor("weights/other.onnx"), "onnx");
            var manifest = SampleManifest();
            manifest.Flavor = ModelFlavors.Onnx;
            replaced = writer.Commit(manifest);
        }

        Assert.Equal(ModelFlavors.Onnx, ModelBundle.Load(target).Manifest.Flavor);
        Assert.Equal([ModelBundle.ModelCardFileName, "weights/other.onnx"], replaced.Manifest.Files.Keys);
        Assert.False(File.Exists(Path.Combine(target, "weights", "model.dat")));
        Assert.Equal(["pets"], _temp.Entries());
    }

    [Fact]
    public void Overwrite_refuses_a_directory_that_is_not_a_bundle()
    {
        var target = Directory.CreateDirectory(_temp.Combine("documents")).FullName;
        File.WriteAllText(Path.Combine(target, "thesis.txt"), "precious");

        var ex = Assert.Throws<UsageException>(() => ModelBundle.Create(target, overwrite: true));

        Assert.Equal($"{target}: exists and is not a Forge model bundle; refusing to replace it", ex.Message);
        Assert.Equal("precious", File.ReadAllText(Path.Combine(target, "thesis.txt")));
    }

    [Theory]
    [InlineData("../escape.bin")]
    [InlineData("weights/../../escape.bin")]
    [InlineData("/tmp/escape.bin")]
    [InlineData("..\\escape.bin")]
    [InlineData("C:/escape.bin")]
    [InlineData("")]
    [InlineData("forge-model.json")]
    public void PathFor_rejects_paths_that_leave_the_bundle_or_clash(string relativePath)
    {
        using var writer = ModelBundle.Create(_temp.Combine("pets"));

        Assert.ThrowsAny<ArgumentException>(() => writer.PathFor(relativePath));
        Assert.Equal(["pets.tmp-"], _temp.Entries().Select(e => e[..9]));
    }

    [Fact]
    public void PathFor_creates_parent_directories_inside_staging()
    {
        using var writer = ModelBundle.Create(_temp.Combine("pets"));

        var path = writer.PathFor("a/b/c.bin");

        Assert.Equal(Path.Combine(writer.StagingDirectory, "a", "b", "c.bin"), path);
        Assert.True(Directory.Exists(Path.GetDirectoryName(path)));
    }

    [Fact]
    public void Commit_refuses_an_incomplete_manifest_and_reports_every_problem()
    {
        using var writer = ModelBundle.Create(_temp.Combine("pets"));

        var ex = Assert.Throws<ArgumentException>(() => writer.Commit(new ModelManifest()));

        Assert.Equal("The manifest is incomplete: name is missing; flavor is missing. (Parameter 'manifest')", ex.Message);
    }

    [Fact]
    public void Writer_cannot_be_used_after_commit()
    {
        using var writer = ModelBundle.Create(_temp.Combine("pets"));
        writer.Commit(SampleManifest());

        Assert.Throws<InvalidOperationException>(() => writer.PathFor("late.bin"));
    }

    [Fact]
    public void GetPath_of_an_unlisted_file_suggests_the_closest_listed_one()
    {
        var bundle = WriteSample(_temp.Combine("pets"));

        var ex = Assert.Throws<BundleException>(() => bundle.GetPath("weights/modle.dat"));

        Assert.Contains("did you mean 'weights/model.dat'?", ex.Message, StringComparison.Ordinal);
        Assert.Equal(Path.Combine(bundle.Directory, "weights", "model.dat"), bundle.GetPath(Weights));
    }

    [Fact]
    public void Packed_bundle_loads_with_the_same_manifest_and_files()
    {
        var bundle = WriteSample(_temp.Combine("pets"));
        var forgeFile = _temp.Combine("out", "pets.forge");

        ModelBundle.Pack(bundle.Directory, forgeFile);
        var loaded = ModelBundle.Load(forgeFile);
        try
        {
            Assert.Equal(Path.Combine(Path.GetTempPath(), "forge-bundles"), Path.GetDirectoryName(loaded.Directory));
            Assert.Equal(bundle.Manifest.Files, loaded.Manifest.Files);
            Assert.Equal(bundle.Manifest.Signature, loaded.Manifest.Signature);
            Assert.Equal(bundle.Manifest.CreatedAt, loaded.Manifest.CreatedAt);
            Assert.Equal(File.ReadAllBytes(bundle.GetPath(Weights)), File.ReadAllBytes(loaded.GetPath(Weights)));
            Assert.Equal(["pets.forge"], Directory.EnumerateFileSystemEntries(_temp.Combine("out")).Select(Path.GetFileName));

            // The extracted copy is reused, and packing again gives the same bytes (so the same cache entry).
            Assert.Equal(loaded.Directory, ModelBundle.Load(forgeFile).Directory);
            var again = _temp.Combine("out", "again.forge");
            ModelBundle.Pack(bundle.Directory, again);
            Assert.Equal(File.ReadAllBytes(forgeFile), File.ReadAllBytes(again));
        }
        finally
        {
            Directory.Delete(loaded.Directory, recursive: true);
        }
    }

    [Fact]
    public void Archive_that_is_not_a_zip_is_refused_naming_it()
    {
        var forgeFile = _temp.Combine("broken.forge");
        File.WriteAllText(forgeFile, "this is not a zip file");

        var ex = Assert.Throws<BundleException>(() => ModelBundle.Load(forgeFile));

        Assert.Equal(forgeFile, ex.Path);
        Assert.StartsWith($"{forgeFile}: is not a readable Forge bundle archive: ", ex.Message, StringComparison.Ordinal);
        Assert.IsType<InvalidDataException>(ex.InnerException);
    }

    [Fact]
    public void Tampered_file_inside_an_archive_is_refused_naming_archive_and_entry()
    {
        var bundle = WriteSample(_temp.Combine("pets"));
        File.WriteAllText(bundle.GetPath("reference/profile.json"), "[]");
        var forgeFile = _temp.Combine("pets.forge");
        // Pack verifies first, so the archive is built by hand, as an attacker would.
        System.IO.Compression.ZipFile.CreateFromDirectory(bundle.Directory, forgeFile);

        var ex = Assert.Throws<BundleException>(() => ModelBundle.Load(forgeFile));

        Assert.Equal(forgeFile, ex.Path);
        Assert.Equal($"{forgeFile}: reference/profile.json: checksum mismatch: the file was modified", ex.Message);
        // A bad archive stays bad, so its extraction is not kept in the cache.
        Assert.Empty(CacheEntriesOf(forgeFile));
    }

    [Fact]
    public void Pack_refuses_a_damaged_bundle()
    {
        var bundle = WriteSample(_temp.Combine("pets"));
        File.AppendAllText(bundle.GetPath("reference/profile.json"), " ");
        var forgeFile = _temp.Combine("pets.forge");

        Assert.Throws<BundleException>(() => ModelBundle.Pack(bundle.Directory, forgeFile));

        Assert.False(File.Exists(forgeFile));
        Assert.Equal(["pets"], _temp.Entries());
    }

    [Fact]
    public void Loading_the_manifest_file_path_loads_its_bundle()
    {
        var bundle = WriteSample(_temp.Combine("pets"));

        var loaded = ModelBundle.Load(Path.Combine(bundle.Directory, ModelBundle.ManifestFileName));

        Assert.Equal(bundle.Directory, loaded.Directory);
    }

    [Fact]
    public void Model_card_escapes_table_breaking_characters()
    {
        var manifest = SampleManifest();
        manifest.Training = manifest.Training! with
        {
            Hyperparameters = new Dictionary<string, string> { ["layers"] = "64|32\n16" },
        };

        var card = ModelCard.Render(manifest);

        Assert.Contains("| layers | 64\\|32 16 |", card, StringComparison.Ordinal);
    }

    [Fact]
    public void Hand_edited_manifest_with_comments_and_a_trailing_comma_loads()
    {
        var bundle = WriteSample(_temp.Combine("pets"));
        var manifestPath = ManifestPathOf(bundle);
        var text = File.ReadAllText(manifestPath).TrimEnd();
        File.WriteAllText(manifestPath, "// tuned by hand\n" + text[..^1] + ",\n}\n");

        Assert.Equal("pets", ModelBundle.Load(bundle.Directory).Manifest.Name);
    }

    [Theory]
    [InlineData("[1, 2]", "is not a manifest: expected a JSON object")]
    [InlineData("{}", "formatVersion is missing or not an integer")]
    [InlineData("{\"formatVersion\": \"1\"}", "formatVersion is missing or not an integer")]
    [InlineData("{\"formatVersion\": 1.5}", "formatVersion is missing or not an integer")]
    [InlineData("{\"formatVersion\": 0}", "unsupported format 0")]
    [InlineData("{\"formatVersion\": -1}", "unsupported format -1")]
    public void Manifest_without_a_usable_format_version_is_refused_with_the_reason(string json, string problem)
    {
        var dir = Directory.CreateDirectory(_temp.Combine("odd")).FullName;
        var manifestPath = Path.Combine(dir, ModelBundle.ManifestFileName);
        File.WriteAllText(manifestPath, json);

        var ex = Assert.Throws<BundleException>(() => ModelBundle.Load(dir));

        Assert.Equal(manifestPath, ex.Path);
        Assert.Equal($"{manifestPath}: {problem}", ex.Message);
    }

    [Fact]
    public void Manifest_field_of_the_wrong_type_is_refused_naming_the_field()
    {
        var bundle = WriteSample(_temp.Combine("pets"));
        var manifestPath = EditManifest(bundle, json => json["metrics"] = "high");

        var ex = Assert.Throws<BundleException>(() => ModelBundle.Load(bundle.Directory));

        Assert.Equal(manifestPath, ex.Path);
        Assert.StartsWith($"{manifestPath}: does not match the manifest format: ", ex.Message, StringComparison.Ordinal);
        Assert.Contains("$.metrics", ex.Message, StringComparison.Ordinal);
        Assert.IsAssignableFrom<JsonException>(ex.InnerException);
    }

    [Fact]
    public void Manifest_with_null_sections_reports_every_one_in_a_single_error()
    {
        var bundle = WriteSample(_temp.Combine("pets"));
        var manifestPath = EditManifest(bundle, json =>
        {
            json["task"] = " ";
            foreach (var field in new[] { "signature", "preprocessing", "metrics", "versions", "files" }) json[field] = null;
            json["training"]!["hyperparameters"] = null;
        });

        var ex = Assert.Throws<BundleException>(() => ModelBundle.Load(bundle.Directory));

        Assert.Equal(
            $"{manifestPath}: task is missing; signature is missing; preprocessing is missing; metrics is missing; "
            + "versions is missing; files is missing; training.hyperparameters is missing",
            ex.Message);
    }

    [Fact]
    public void Manifest_signature_problems_name_the_list_and_the_index()
    {
        var bundle = WriteSample(_temp.Combine("pets"));
        var shape = new JsonArray(-1, 3);
        var manifestPath = EditManifest(bundle, json =>
        {
            json["signature"] = new JsonObject
            {
                ["inputs"] = new JsonArray(
                    null,
                    new JsonObject { ["name"] = " ", ["dtype"] = "float32", ["shape"] = shape.DeepClone() },
                    new JsonObject { ["name"] = "image", ["shape"] = shape.DeepClone() },
                    new JsonObject { ["name"] = "mask", ["dtype"] = "float32", ["shape"] = shape.DeepClone() }),
                ["outputs"] = new JsonArray(new JsonObject { ["name"] = "probabilities", ["dtype"] = "float32" }),
                ["labels"] = new JsonArray("cat"),
            };
        });

        var ex = Assert.Throws<BundleException>(() => ModelBundle.Load(bundle.Directory));

        Assert.Equal(
            $"{manifestPath}: signature.inputs[0] is null; signature.inputs[1] needs a name, dtype and shape; "
            + "signature.inputs[2] needs a name, dtype and shape; signature.outputs[0] needs a name, dtype and shape",
            ex.Message);
    }

    [Fact]
    public void Manifest_signature_without_its_lists_reports_each_missing_list()
    {
        var bundle = WriteSample(_temp.Combine("pets"));
        var manifestPath = EditManifest(bundle, json => json["signature"] = new JsonObject());

        var ex = Assert.Throws<BundleException>(() => ModelBundle.Load(bundle.Directory));

        Assert.Equal(
            $"{manifestPath}: signature.inputs is missing; signature.outputs is missing; signature.labels is missing", ex.Message);
    }

    [Fact]
    public void Manifest_file_entries_that_cannot_be_verified_are_all_reported()
    {
        var bundle = WriteSample(_temp.Combine("pets"));
        var sha = new string('a', 64);
        var manifestPath = EditManifest(bundle, json =>
        {
            var files = json["files"]!.AsObject();
            files["a.bin"] = new JsonObject { ["size"] = 3 };
            files["b.bin"] = new JsonObject { ["sha256"] = sha, ["size"] = -1 };
            files["c.bin"] = null;
            files[ModelBundle.ManifestFileName] = new JsonObject { ["sha256"] = sha, ["size"] = 3 };
            // The same file once more, spelled with a Windows separator.
            files["weights\\model.dat"] = files[Weights]!.DeepClone();
        });

        var ex = Assert.Throws<BundleException>(() => ModelBundle.Load(bundle.Directory));

        Assert.Equal(
            $"{manifestPath}: files: 'a.bin' needs a sha256 and a size; files: 'b.bin' needs a sha256 and a size; "
            + "files: 'c.bin' needs a sha256 and a size; files: lists forge-model.json itself; files: 'weights\\model.dat' is listed twice",
            ex.Message);
    }

    [Fact]
    public void Optional_fields_left_out_of_a_manifest_take_their_defaults()
    {
        var bundle = WriteSample(_temp.Combine("pets"));
        EditManifest(bundle, json =>
        {
            json.Remove("task");
            json.Remove("model");
            json["training"]!.AsObject().Remove("dataset");
        });

        var manifest = ModelBundle.Load(bundle.Directory).Manifest;

        Assert.Equal("classification", manifest.Task);
        Assert.Null(manifest.Model);
        Assert.Equal("", manifest.Training!.Dataset);
        Assert.Equal("run-7", manifest.Training.RunId);
    }

    [Fact]
    public void Empty_file_is_listed_with_size_zero_and_loads()
    {
        var bundle = WriteSample(_temp.Combine("pets"), writer => File.WriteAllBytes(writer.PathFor("labels/none.txt"), []));

        var loaded = ModelBundle.Load(bundle.Directory);

        Assert.Equal(
            new BundleFile("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", 0),
            loaded.Manifest.Files["labels/none.txt"]);
    }

    [Fact]
    public void File_grown_after_writing_is_refused_with_both_sizes()
    {
        var bundle = WriteSample(_temp.Combine("pets"));
        var weights = bundle.GetPath(Weights);
        File.AppendAllText(weights, "!");

        var ex = Assert.Throws<BundleException>(() => ModelBundle.Load(bundle.Directory));

        Assert.Equal(weights, ex.Path);
        Assert.Equal($"{weights}: wrong size: 1001 bytes, expected 1000; the file was modified", ex.Message);
    }

    [Fact]
    public void Files_that_cannot_be_opened_are_reported_as_unreadable()
    {
        var bundle = WriteSample(_temp.Combine("pets"));
        var manifestPath = ManifestPathOf(bundle);
        var weights = bundle.GetPath(Weights);

        // An exclusive lock, as another process writing the file would hold it.
        using (new FileStream(manifestPath, FileMode.Open, FileAccess.ReadWrite, FileShare.None))
        {
            var ex = Assert.Throws<BundleException>(() => ModelBundle.Load(bundle.Directory));
            Assert.Equal(manifestPath, ex.Path);
            Assert.StartsWith($"{manifestPath}: cannot be read: ", ex.Message, StringComparison.Ordinal);
            Assert.IsAssignableFrom<IOException>(ex.InnerException);
        }
        using (new FileStream(weights, FileMode.Open, FileAccess.ReadWrite, FileShare.None))
        {
            var ex = Assert.Throws<BundleException>(() => ModelBundle.Load(bundle.Directory));
            Assert.Equal(weights, ex.Path);
            Assert.StartsWith($"{weights}: cannot be read: ", ex.Message, StringComparison.Ordinal);
            Assert.IsAssignableFrom<IOException>(ex.InnerException);
        }

        var forgeFile = _temp.Combine("pets.forge");
        ModelBundle.Pack(bundle.Directory, forgeFile);
        using (new FileStream(forgeFile, FileMode.Open, FileAccess.ReadWrite, FileShare.None))
        {
            var ex = Assert.Throws<BundleException>(() => ModelBundle.Load(forgeFile));
            Assert.Equal(forgeFile, ex.Path);
            Assert.StartsWith($"{forgeFile}: cannot be read: ", ex.Message, StringComparison.Ordinal);
            Assert.IsAssignableFrom<IOException>(ex.InnerException);
        }
    }

    [Fact]
    public void Damaged_extraction_of_an_archive_is_extracted_afresh()
    {
        var bundle = WriteSample(_temp.Combine("pets"));
        var forgeFile = _temp.Combine("pets.forge");
        ModelBundle.Pack(bundle.Directory, forgeFile);
        var first = ModelBundle.Load(forgeFile);
        try
        {
            File.WriteAllText(first.GetPath(Weights), "damaged after extraction");

            var second = ModelBundle.Load(forgeFile);

            Assert.Equal(first.Directory, second.Directory);
            Assert.Equal(File.ReadAllBytes(bundle.GetPath(Weights)), File.ReadAllBytes(second.GetPath(Weights)));
            Assert.Equal([first.Directory], CacheEntriesOf(forgeFile));
        }
        finally
        {
            BundlePaths.TryDeleteDirectory(first.Directory);
        }
    }

    [Fact]
    public void Archive_that_fails_partway_through_extraction_leaves_nothing_in_the_cache()
    {
        var forgeFile = _temp.Combine("escaping.forge");
        using (var zip = ZipFile.Open(forgeFile, ZipArchiveMode.Create))
        {
            using (var writer = new StreamWriter(zip.CreateEntry(ModelBundle.ManifestFileName).Open())) writer.Write("{}");
            zip.CreateEntry("../outside.txt");
        }

        var ex = Assert.Throws<BundleException>(() => ModelBundle.Load(forgeFile));

        Assert.Equal(forgeFile, ex.Path);
        Assert.StartsWith($"{forgeFile}: is not a readable Forge bundle archive: ", ex.Message, StringComparison.Ordinal);
        Assert.Empty(CacheEntriesOf(forgeFile));
        Assert.False(File.Exists(Path.Combine(BundleLoader.ArchiveCacheRoot, "outside.txt")));
    }

    [Fact]
    public void Pack_that_cannot_replace_its_target_leaves_no_temporary_file()
    {
        var bundle = WriteSample(_temp.Combine("pets"));
        var forgeFile = Directory.CreateDirectory(_temp.Combine("out", "pets.forge")).FullName;

        Assert.ThrowsAny<IOException>(() => ModelBundle.Pack(bundle.Directory, forgeFile));

        Assert.Equal(["pets.forge"], Directory.EnumerateFileSystemEntries(_temp.Combine("out")).Select(Path.GetFileName));
        Assert.Empty(Directory.EnumerateFileSystemEntries(forgeFile));
    }

    [Fact]
    public void Create_refuses_a_blank_target_or_a_file_in_the_way()
    {
        Assert.Throws<ArgumentException>(() => ModelBundle.Create("   "));

        var file = _temp.Combine("pets");
        File.WriteAllText(file, "not a directory");
        var ex = Assert.Throws<UsageException>(() => ModelBundle.Create(file, overwrite: true));

        Assert.Equal($"{file}: a file is in the way of the bundle directory", ex.Message);
        Assert.Equal("not a directory", File.ReadAllText(file));
        Assert.Equal(["pets"], _temp.Entries());
    }

    [Theory]
    [InlineData("weights/../x.bin", "'weights/../x.bin' may not contain '.' or '..' segments")]
    [InlineData("C:/x.bin", "'C:/x.bin' is not a relative path")]
    [InlineData(" ", "the path is empty")]
    [InlineData("forge-model.json", "'forge-model.json' is written by Commit")]
    [InlineData("MODEL_CARD.md", "'MODEL_CARD.md' is written by Commit")]
    [InlineData(".\\MODEL_CARD.md", "'.\\MODEL_CARD.md' may not contain '.' or '..' segments")]
    public void PathFor_says_why_a_path_is_rejected(string relativePath, string reason)
    {
        using var writer = ModelBundle.Create(_temp.Combine("pets"));

        var ex = Assert.Throws<ArgumentException>(() => writer.PathFor(relativePath));

        Assert.Equal("relativePath", ex.ParamName);
        Assert.Equal($"Bundle file path rejected: {reason}. (Parameter 'relativePath')", ex.Message);
    }

    [Fact]
    public void Commit_refuses_another_format_version_and_a_null_manifest()
    {
        using var writer = ModelBundle.Create(_temp.Combine("pets"));
        var manifest = SampleManifest();
        manifest.FormatVersion = 2;

        var ex = Assert.Throws<ArgumentException>(() => writer.Commit(manifest));

        Assert.Equal("manifest", ex.ParamName);
        Assert.Equal("The manifest is incomplete: formatVersion is 2; this Forge writes 1. (Parameter 'manifest')", ex.Message);
        Assert.Throws<ArgumentNullException>(() => writer.Commit(null!));
        Assert.Equal(["pets.tmp-"], _temp.Entries().Select(e => e[..9]));
    }

    [Fact]
    public void Writer_refuses_work_after_commit_or_dispose()
    {
        var writer = ModelBundle.Create(_temp.Combine("pets"));
        writer.Commit(SampleManifest());

        var again = Assert.Throws<InvalidOperationException>(() => writer.Commit(SampleManifest()));
        Assert.Equal("This bundle was already committed.", again.Message);
        writer.Dispose();
        Assert.Equal(["pets"], _temp.Entries());

        var abandoned = ModelBundle.Create(_temp.Combine("cats"));
        abandoned.Dispose();
        abandoned.Dispose();
        Assert.Throws<ObjectDisposedException>(() => abandoned.PathFor(Weights));
        Assert.Throws<ObjectDisposedException>(() => abandoned.Commit(SampleManifest()));
        Assert.Equal(["pets"], _temp.Entries());
    }

    [Fact]
    public void Commit_refuses_a_directory_that_appeared_at_the_target_and_leaves_it_alone()
    {
        var target = _temp.Combine("pets");
        using (var writer = ModelBundle.Create(target, overwrite: true))
        {
            File.WriteAllText(writer.PathFor(Weights), "weights");
            Directory.CreateDirectory(target);
            File.WriteAllText(Path.Combine(target, "thesis.txt"), "precious");

            var ex = Assert.Throws<UsageException>(() => writer.Commit(SampleManifest()));

            Assert.Equal($"{target}: exists and is not a Forge model bundle; refusing to replace it", ex.Message);
        }

        Assert.Equal("precious", File.ReadAllText(Path.Combine(target, "thesis.txt")));
        Assert.Equal(["pets"], _temp.Entries());
    }

    [Fact]
    public void Commit_records_the_forge_version_unless_the_manifest_names_one()
    {
        var informational = typeof(ModelBundle).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion;
        var defaults = SampleManifest();
        defaults.Versions = new ModelManifest().Versions;
        var named = SampleManifest();
        named.Versions = new RuntimeVersions("9.9.9", null, null);

        using (var writer = ModelBundle.Create(_temp.Combine("defaults"))) writer.Commit(defaults);
        using (var writer = ModelBundle.Create(_temp.Combine("named"))) writer.Commit(named);

        Assert.Equal(new RuntimeVersions(informational, null, null), ModelBundle.Load(_temp.Combine("defaults")).Manifest.Versions);
        Assert.Equal(new RuntimeVersions("9.9.9", null, null), ModelBundle.Load(_temp.Combine("named")).Manifest.Versions);
    }

    [Fact]
    public void Manifest_file_ends_with_a_newline()
    {
        var bundle = WriteSample(_temp.Combine("pets"));

        Assert.EndsWith("}\n", File.ReadAllText(ManifestPathOf(bundle)), StringComparison.Ordinal);
    }

    [Fact]
    public void Commit_over_a_bundle_copied_into_staging_writes_a_fresh_manifest_and_card()
    {
        var original = WriteSample(_temp.Combine("pets"));
        var manifest = SampleManifest();
        manifest.Name = "pets-copy";

        ModelBundle copy;
        using (var writer = ModelBundle.Create(_temp.Combine("copy")))
        {
            foreach (var file in Directory.EnumerateFiles(original.Directory, "*", SearchOption.AllDirectories))
            {
                var destination = Path.Combine(writer.StagingDirectory, Path.GetRelativePath(original.Directory, file));
                Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
                File.Copy(file, destination);
            }
            copy = writer.Commit(manifest);
        }

        Assert.Equal(original.Manifest.Files.Keys, copy.Manifest.Files.Keys);
        Assert.Equal(original.Manifest.Files[Weights], copy.Manifest.Files[Weights]);
        Assert.Contains("# pets-copy", File.ReadAllText(copy.GetPath(ModelBundle.ModelCardFileName)), StringComparison.Ordinal);
        Assert.Equal("pets-copy", ModelBundle.Load(copy.Directory).Manifest.Name);
    }

    private static string ManifestPathOf(ModelBundle bundle) => Path.Combine(bundle.Directory, ModelBundle.ManifestFileName);

    private static string EditManifest(ModelBundle bundle, Action<JsonObject> edit)
    {
        var manifestPath = ManifestPathOf(bundle);
        var json = JsonNode.Parse(File.ReadAllText(manifestPath))!.AsObject();
        edit(json);
        File.WriteAllText(manifestPath, json.ToJsonString());
        return manifestPath;
    }

    /// <summary>The cache's extraction of <paramref name="forgeFile"/> and any staging directories left beside it.</summary>
    private static string[] CacheEntriesOf(string forgeFile)
    {
        var sha = BundlePaths.Sha256Of(forgeFile);
        return Directory.Exists(BundleLoader.ArchiveCacheRoot)
            ? Directory.EnumerateFileSystemEntries(BundleLoader.ArchiveCacheRoot, sha + "*").ToArray()
            : [];
    }
}
