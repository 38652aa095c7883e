using System.Net;
using System.Net.Sockets;
using Forge.Core;
using Forge.Data;

namespace Forge.Data.Tests;

[Collection(EnvironmentCollection.Name)]
public sealed class DatasetResolverTests : IDisposable
{
    private readonly TempDir temp = new();
    private readonly EnvironmentScope environment = new();

    public DatasetResolverTests()
    {
        // Each test gets its own Forge home and no data root from the machine it runs on.
        environment.Set(ForgePaths.HomeVariable, temp.Combine("home")).Set(DatasetResolver.DataDirVariable, null);
        Directory.CreateDirectory(temp.Combine("work"));
    }

    public void Dispose()
    {
        environment.Dispose();
        temp.Dispose();
    }

    private string Cache(string name = "toy") => Path.Combine(temp.Combine("home"), "datasets", name);

    private DatasetResolver Resolver(DatasetInfo info, string? dataDir = null, bool allowDownload = false, HttpClient? http = null, IProgress<DownloadProgress>? progress = null) =>
        new(new DatasetResolverOptions
        {
            DataDir = dataDir,
            WorkingDirectory = temp.Combine("work"),
            AllowDownload = allowDownload,
            Http = http,
            Progress = progress,
            Catalog = [info],
        });

    [Fact]
    public void Data_dir_wins_over_every_other_source()
    {
        FakeCatalog.WriteToy(temp.Combine("mine"));
        FakeCatalog.WriteToy(temp.Combine("root", "toy-folder"));
        environment.Set(DatasetResolver.DataDirVariable, temp.Combine("root"));

        var resolved = Resolver(FakeCatalog.Toy(), dataDir: temp.Combine("mine")).Resolve("toy");

        Assert.Equal(("data-dir", temp.Combine("mine")), (resolved.Source, resolved.Directory));
        Assert.True(resolved.Has("b.txt"));
        Assert.EndsWith("b.txt.gz", resolved.FindFile("b.txt"), StringComparison.Ordinal);
    }

    [Fact]
    public void Data_dir_is_the_only_source_when_given()
    {
        FakeCatalog.WriteToy(temp.Combine("mine"), onlyA: true);
        FakeCatalog.WriteToy(temp.Combine("root", "toy-folder"));
        environment.Set(DatasetResolver.DataDirVariable, temp.Combine("root"));

        var ex = Assert.Throws<ForgeException>(() => Resolver(FakeCatalog.Toy(), dataDir: temp.Combine("mine")).Resolve("toy"));

        Assert.Equal($"--data-dir {temp.Combine("mine")} lacks toy files: b.txt (raw or .gz)", ex.Message);
    }

    [Fact]
    public void Data_dir_may_be_the_root_holding_the_dataset_folder()
    {
        FakeCatalog.WriteToy(temp.Combine("root", "toy-folder"));
        var resolved = Resolver(FakeCatalog.Toy(), dataDir: temp.Combine("root")).Resolve("toy");
        Assert.Equal(temp.Combine("root", "toy-folder"), resolved.Directory);
    }

    [Fact]
    public void Environment_root_comes_before_forge_json()
    {
        FakeCatalog.WriteToy(temp.Combine("env", "toy-folder"));
        WriteForgeJson(temp.Path, "data");
        FakeCatalog.WriteToy(temp.Combine("data", "toy-folder"));
        environment.Set(DatasetResolver.DataDirVariable, temp.Combine("env"));

        var resolved = Resolver(FakeCatalog.Toy()).Resolve("toy");

        Assert.Equal(("FORGE_DATA_DIR", temp.Combine("env", "toy-folder")), (resolved.Source, resolved.Directory));
    }

    [Fact]
    public void Forge_json_is_found_by_walking_up_and_read_relative_to_itself()
    {
        WriteForgeJson(temp.Path, "../" + Path.GetFileName(temp.Path) + "/shared/data");
        FakeCatalog.WriteToy(temp.Combine("shared", "data", "toy-folder"));
        var deep = temp.Combine("work", "a", "b");
        Directory.CreateDirectory(deep);
        // An incomplete folder earlier in the order is passed over.
        FakeCatalog.WriteToy(temp.Combine("env", "toy-folder"), onlyA: true);
        environment.Set(DatasetResolver.DataDirVariable, temp.Combine("env"));

        var resolved = new DatasetResolver(new DatasetResolverOptions { WorkingDirectory = deep, AllowDownload = false, Catalog = [FakeCatalog.Toy()] }).Resolve("toy");

        Assert.Equal(("forge.json", temp.Combine("shared", "data", "toy-folder")), (resolved.Source, resolved.Directory));
    }

    [Fact]
    public void Broken_forge_json_is_reported_with_its_path()
    {
        File.WriteAllText(temp.Combine("forge.json"), "{ \"dataDirs\": 3 }");
        var ex = Assert.Throws<DataFormatException>(() => Resolver(FakeCatalog.Toy()).Resolve("toy"));
        Assert.Equal(temp.Combine("forge.json"), ex.Path);
    }

    [Fact]
    public void System_locations_come_before_the_cache()
    {
        FakeCatalog.WriteToy(temp.Combine("sys"));
        FakeCatalog.WriteToy(Cache());
        var resolved = Resolver(FakeCatalog.Toy(systemLocations: [temp.Combine("sys")])).Resolve("toy");
        Assert.Equal(("system", temp.Combine("sys")), (resolved.Source, resolved.Directory));
    }

    [Fact]
    public void Extra_system_roots_are_joined_with_the_folder()
    {
        FakeCatalog.WriteToy(temp.Combine("extra", "toy-folder"));
        var resolved = new DatasetResolver(new DatasetResolverOptions
        {
            WorkingDirectory = temp.Combine("work"),
            AllowDownload = false,
            ExtraSystemLocations = [temp.Combine("extra")],
            Catalog = [FakeCatalog.Toy()],
        }).Resolve("toy");
        Assert.Equal(("system", temp.Combine("extra", "toy-folder")), (resolved.Source, resolved.Directory));
    }

    [Fact]
    public void The_cache_is_used_last_before_a_download()
    {
        FakeCatalog.WriteToy(Cache());
        var resolved = Resolver(FakeCatalog.Toy()).Resolve("toy");
        Assert.Equal(("cache", Cache()), (resolved.Source, resolved.Directory));
        DatasetResolver.Verify(resolved);
    }

    [Fact]
    public void Nothing_found_without_downloads_lists_where_it_looked()
    {
        FakeCatalog.WriteToy(temp.Combine("sys"), onlyA: true);
        var ex = Assert.Throws<ForgeException>(() => Resolver(FakeCatalog.Toy(systemLocations: [temp.Combine("sys")])).Resolve("toy"));
        Assert.Contains("dataset 'toy' not found and downloads are off", ex.Message, StringComparison.Ordinal);
        Assert.Contains($"{temp.Combine("sys")} (1 of 2 files)", ex.Message, StringComparison.Ordinal);
        Assert.Contains($"{Cache()} (absent)", ex.Message, StringComparison.Ordinal);
        Assert.Contains("--data-dir", ex.Message, StringComparison.Ordinal);
        Assert.Contains("FORGE_DATA_DIR", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_dataset_suggests_a_name()
    {
        var ex = Assert.Throws<NotFoundException>(() => new DatasetResolver().Resolve("fashion-mnsit"));
        Assert.Equal("unknown dataset 'fashion-mnsit'; did you mean 'fashion-mnist'?", ex.Message);
    }

    [Fact]
    public void Verify_names_a_tampered_file()
    {
        FakeCatalog.WriteToy(temp.Combine("sys"));
        File.WriteAllText(temp.Combine("sys", "a.txt"), "alpha file?");
        var resolved = Resolver(FakeCatalog.Toy(systemLocations: [temp.Combine("sys")])).Resolve("toy");
        var ex = Assert.Throws<DataFormatException>(() => DatasetResolver.Verify(resolved));
        Assert.Equal(temp.Combine("sys", "a.txt"), ex.Path);
        Assert.Contains("sha256", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_single_split_is_enough_but_a_complete_folder_is_preferred()
    {
        var info = SplitDataset();
        Idx.WriteSplit(temp.Combine("env", "split-folder"), "t10k", 3, gzip: true);
        environment.Set(DatasetResolver.DataDirVariable, temp.Combine("env"));

        var partial = Resolver(info).Resolve("split");
        Assert.Equal("FORGE_DATA_DIR", partial.Source);
        Assert.Equal(["train-images-idx3-ubyte", "train-labels-idx1-ubyte"], partial.MissingFiles);
        Assert.Equal(3, MnistFormat.Load(partial, "test").Count);
        var ex = Assert.Throws<ForgeException>(() => MnistFormat.Load(partial, "train"));
        Assert.StartsWith($"split train split not found in {partial.Directory}; install it, or put train-images-idx3-ubyte.gz", ex.Message, StringComparison.Ordinal);

        Idx.WriteSplit(temp.Combine("sys"), "t10k", 3, gzip: true);
        Idx.WriteSplit(temp.Combine("sys"), "train", 3, gzip: false);
        var complete = Resolver(info with { SystemLocations = [temp.Combine("sys")] }).Resolve("split");
        Assert.Equal("system", complete.Source);
        Assert.Equal(3, MnistFormat.Load(complete, "train").Count);
    }

    [Fact]
    public async Task Downloads_into_the_cache_trying_mirrors_in_order()
    {
        using var server = new FileServer();
        server.Files["/good/a.txt.gz"] = Idx.Gzip(FakeCatalog.A);
        server.Files["/good/b.txt"] = FakeCatalog.B;
        var info = FakeCatalog.Toy(urls: name => [server.Url("missing/" + name + ".gz"), server.Url("good/" + name + (name == "a.txt" ? ".gz" : ""))]);
        var reports = new List<DownloadProgress>();
        using var http = new HttpClient();

        var resolved = await Resolver(info, allowDownload: true, http: http, progress: new Collector(reports)).ResolveAsync("toy");

        Assert.Equal(("download", Cache()), (resolved.Source, resolved.Directory));
        Assert.Equal(["a.txt.gz", "b.txt"], Directory.GetFiles(Cache()).Select(Path.GetFileName).Order());
        Assert.Equal(FakeCatalog.A, IdxTestHelpers.Gunzip(File.ReadAllBytes(Path.Combine(Cache(), "a.txt.gz"))));
        Assert.Contains(reports, r => r.File == "b.txt" && r.Bytes == FakeCatalog.B.Length && r.TotalBytes == FakeCatalog.B.Length);
        DatasetResolver.Verify(resolved);

        var again = await Resolver(info, allowDownload: true, http: http).ResolveAsync("toy");
        Assert.Equal("cache", again.Source);
    }

    [Fact]
    public async Task Checksum_mismatch_leaves_nothing_in_the_cache()
    {
        using var server = new FileServer();
        server.Files["/a.txt.gz"] = Idx.Gzip(FakeCatalog.A);
        server.Files["/b.txt.gz"] = Idx.Gzip("bravo file, a little longer!"u8.ToArray());
        var info = FakeCatalog.Toy(urls: name => [server.Url(name + ".gz")]);
        using var http = new HttpClient();

        var ex = await Assert.ThrowsAsync<ForgeException>(() => Resolver(info, allowDownload: true, http: http).ResolveAsync("toy"));

        Assert.Contains($"could not download b.txt of dataset 'toy': tried {server.Url("b.txt.gz")} (", ex.Message, StringComparison.Ordinal);
        Assert.Contains("catalog expects", ex.Message, StringComparison.Ordinal);
        Assert.Contains("--data-dir", ex.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Cache()) && Directory.EnumerateFileSystemEntries(Cache()).Any());
    }

    [Fact]
    public async Task Failed_mirrors_are_all_listed()
    {
        using var server = new FileServer();
        var info = FakeCatalog.Toy(urls: name => [server.Url("x/" + name), server.Url("y/" + name)]);
        using var http = new HttpClient();

        var ex = await Assert.ThrowsAsync<ForgeException>(() => Resolver(info, allowDownload: true, http: http).ResolveAsync("toy"));

        Assert.Contains($"tried {server.Url("x/a.txt")} (HTTP 404 NotFound), {server.Url("y/a.txt")} (HTTP 404 NotFound)", ex.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Cache()));
    }

    [Fact]
    public async Task A_dataset_without_urls_says_so()
    {
        var ex = await Assert.ThrowsAsync<ForgeException>(() => Resolver(FakeCatalog.Toy(), allowDownload: true).ResolveAsync("toy"));
        Assert.Contains("Forge knows no download URL for a.txt, b.txt", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Forge_paths_follow_FORGE_HOME_on_every_call()
    {
        Assert.Equal(temp.Combine("home"), ForgePaths.Home);
        Assert.Equal(temp.Combine("home", "datasets"), ForgePaths.DatasetCache);
        Assert.Equal(temp.Combine("home", "artifacts"), ForgePaths.Artifacts);
        Assert.Equal(temp.Combine("home", "forge.db"), ForgePaths.Database);
        environment.Set(ForgePaths.HomeVariable, null);
        Assert.Equal(Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".forge"), ForgePaths.Home);
    }

    [SharedDataFact]
    public void Repository_forge_json_finds_the_shared_mnist()
    {
        var resolved = new DatasetResolver(new DatasetResolverOptions { WorkingDirectory = Path.Combine(SharedData.RepoRoot!, "src"), AllowDownload = false }).Resolve("mnist");
        Assert.Equal(("forge.json", Path.Combine(SharedData.DataRoot, "mnist")), (resolved.Source, resolved.Directory));
        Assert.Equal(10_000, MnistFormat.Load(resolved, "test").Count);
    }

    [SharedDataFact]
    public void Fashion_mnist_resolves_offline_with_at_least_its_test_split()
    {
        var resolved = new DatasetResolver(new DatasetResolverOptions { WorkingDirectory = SharedData.RepoRoot, AllowDownload = false }).Resolve("fashion-mnist");
        // With Debian's dataset-fashion-mnist installed the complete system copy wins over the shared test-only folder.
        var expected = Directory.Exists("/usr/share/datasets/fashion-mnist") && resolved.MissingFiles.Count == 0 ? "system" : "forge.json";
        Assert.Equal(expected, resolved.Source);
        Assert.True(resolved.Has("t10k-images-idx3-ubyte"));
    }

    private static void WriteForgeJson(string folder, string dataDir) =>
        File.WriteAllText(Path.Combine(folder, "forge.json"), $$"""{ "dataDirs": ["{{dataDir}}"] }""");

    private static DatasetInfo SplitDataset()
    {
        // The same bytes Idx.WriteSplit writes for three 4x3 images.
        var images = Idx.Build([3, 4, 3], Enumerable.Range(0, 36).Select(i => (byte)(i * 7)).ToArray());
        var labels = Idx.Build([3], [0, 1, 2]);
        DatasetFile File(string name, byte[] content, string split) => new(name, Idx.Sha256(content), content.Length, []) { Split = split };
        return new DatasetInfo("split", "split-folder", "two splits", "CC0", "nobody",
            [
                File("train-images-idx3-ubyte", images, "train"),
                File("train-labels-idx1-ubyte", labels, "train"),
                File("t10k-images-idx3-ubyte", images, "test"),
                File("t10k-labels-idx1-ubyte", labels, "test"),
            ],
            [],
            ["zero", "one", "two"])
        {
            AcceptsSingleSplit = true,
            InstallHint = "install it",
        };
    }

    private sealed class Collector(List<DownloadProgress> reports) : IProgress<DownloadProgress>
    {
        public void Report(DownloadProgress value)
        {
            lock (reports)
                reports.Add(value);
        }
    }

    /// <summary>Serves a dictionary of files on 127.0.0.1; anything else is a 404.</summary>
    private sealed class FileServer : IDisposable
    {
        private readonly HttpListener listener = new();
        private readonly int port;

        public FileServer()
        {
            // HttpListener cannot pick a free port itself; borrow one from the OS.
            var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
            listener.Prefixes.Add($"http://127.0.0.1:{port}/");
            listener.Start();
            _ = Task.Run(ServeAsync);
        }

        public Dictionary<string, byte[]> Files { get; } = [];

        public string Url(string path) => $"http://127.0.0.1:{port}/{path}";

        public void Dispose() => listener.Close();

        private async Task ServeAsync()
        {
            while (listener.IsListening)
            {
                HttpListenerContext context;
                try
                {
                    context = await listener.GetContextAsync();
                }
                catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
                {
                    return;
                }
                using var response = context.Response;
                if (Files.TryGetValue(context.Request.Url!.AbsolutePath, out var body))
                {
                    response.ContentLength64 = body.Length;
                    await response.OutputStream.WriteAsync(body);
                }
                else
                {
                    response.StatusCode = 404;
                }
            }
        }
    }
}

internal static class IdxTestHelpers
{
    public static byte[] Gunzip(byte[] gz)
    {
        using var input = new System.IO.Compression.GZipStream(new MemoryStream(gz), System.IO.Compression.CompressionMode.Decompress);
        using var output = new MemoryStream();
        input.CopyTo(output);
        return output.ToArray();
    }
}
