using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using Forge.Core;
using Forge.Tests.Shared;
using Xunit.Sdk;

namespace Forge.Tracking.Tests;

/// <summary>Theory data naming the SQLite backend: one row, <c>"sqlite"</c>.</summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class SqliteBackendAttribute : DataAttribute
{
    public override IEnumerable<object[]> GetData(MethodInfo testMethod) => [["sqlite"]];
}

/// <summary>
/// A fresh, empty store for one test: a SQLite file in a temp folder, or a PostgreSQL schema of its own (dropped
/// afterwards), so tests running in parallel never see each other's runs.
/// </summary>
internal sealed class StoreHarness : IDisposable
{
    private readonly TempDir _temp = new("forge-tracking-");
    private readonly string? _schema;

    public StoreHarness(string backend, TimeSpan? staleAfter = null)
    {
        Backend = backend;
        ArtifactRoot = _temp.Combine("artifacts");
        if (backend == "sqlite")
        {
            Uri = "sqlite://" + _temp.Combine("forge.db");
        }
        else
        {
            _schema = "forge_t_" + Guid.NewGuid().ToString("N")[..16];
            var baseUri = TestPostgres.Uri;
            Uri = baseUri + (baseUri.Contains('?', StringComparison.Ordinal) ? "&" : "?") + "schema=" + _schema;
        }
        Store = Open(staleAfter);
    }

    public string Backend { get; }

    public string Uri { get; }

    public string ArtifactRoot { get; }

    public ITrackingStore Store { get; private set; }

    public string Temp(string name) => _temp.Combine(name);

    /// <summary>Another store over the same database, e.g. with a different stale threshold; disposed with the harness.</summary>
    public ITrackingStore Open(TimeSpan? staleAfter = null)
    {
        var store = TrackingStore.Open(Uri, new TrackingStoreOptions { ArtifactRoot = ArtifactRoot, StaleAfter = staleAfter ?? TimeSpan.FromSeconds(60) });
        _opened.Add(store);
        return store;
    }

    private readonly List<ITrackingStore> _opened = [];

    /// <summary>Runs one SQL statement against the test database (to tamper with it on purpose).</summary>
    public void ExecuteSql(string sql)
    {
        var store = (SqlTrackingStore)Store;
        using var connection = store.Dialect.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    public void Dispose()
    {
        if (_schema is not null)
        {
            try
            {
                ExecuteSql($"DROP SCHEMA IF EXISTS {_schema} CASCADE");
            }
            catch (ForgeException)
            {
                // The server went away; the test's own result matters more than the cleanup.
            }
        }
        foreach (var store in _opened) store.Dispose();
        _temp.Dispose();
    }
}

/// <summary>Model bundles for registry tests.</summary>
internal static class TestBundles
{
    public static string Write(string directory, string? runId = null, string? datasetChecksum = "sha256:data", string? gitCommit = "0123abcd")
    {
        using var writer = ModelBundle.Create(directory);
        File.WriteAllBytes(writer.PathFor("weights/model.bin"), Enumerable.Range(0, 4096).Select(i => (byte)(i * 31)).ToArray());
        var manifest = new ModelManifest
        {
            Name = "digits",
            Flavor = ModelFlavors.Onnx,
            Signature = new ModelSignature([new TensorSpec("x", "float32", [-1, 4])], [new TensorSpec("y", "float32", [-1, 2])], ["a", "b"]),
            Metrics = new() { ["accuracy"] = 0.9 },
            Training = new TrainingInfo
            {
                RunId = runId,
                Dataset = "toy",
                DatasetChecksum = datasetChecksum,
                GitCommit = gitCommit,
                Hyperparameters = new Dictionary<string, string> { ["lr"] = "0.1" },
            },
        };
        writer.Commit(manifest);
        return directory;
    }
}

/// <summary>Starts Forge.Tracking.Worker processes (see its Program.cs for the commands).</summary>
internal static class Worker
{
    private static readonly Lazy<string> Dll = new(FindDll);

    public static Process Start(StoreHarness harness, string goFile, params string[] args)
    {
        var info = new ProcessStartInfo(DotnetHost.Path)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(Dll.Value);
        info.ArgumentList.Add(args[0]);
        info.ArgumentList.Add(harness.Uri);
        info.ArgumentList.Add(harness.ArtifactRoot);
        info.ArgumentList.Add(goFile);
        foreach (var arg in args.Skip(1)) info.ArgumentList.Add(arg);
        return Process.Start(info) ?? throw new InvalidOperationException("could not start the worker");
    }

    /// <summary>Runs workers to completion and returns each one's standard output; fails with its stderr when one fails.</summary>
    public static async Task<string[]> RunAllAsync(StoreHarness harness, int count, Func<int, string[]> args)
    {
        // Every process opens the store and says READY; only then is the go file created, so they all write at once
        // without a fixed sleep that a loaded machine might overrun.
        var go = harness.Temp("go-" + Guid.NewGuid().ToString("N"));
        var processes = Enumerable.Range(0, count).Select(i => Start(harness, go, args(i))).ToList();
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
            foreach (var p in processes)
            {
                var ready = await p.StandardOutput.ReadLineAsync(timeout.Token);
                if (ready != "READY")
                {
                    if (!p.HasExited) p.Kill();
                    Assert.Fail($"worker said '{ready}' instead of READY: {await p.StandardError.ReadToEndAsync(timeout.Token)}");
                }
            }
            await File.WriteAllTextAsync(go, "go", timeout.Token);
            var results = await Task.WhenAll(processes.Select(async p =>
            {
                var stdout = p.StandardOutput.ReadToEndAsync(timeout.Token);
                var stderr = p.StandardError.ReadToEndAsync(timeout.Token);
                await p.WaitForExitAsync(timeout.Token);
                return (p.ExitCode, Out: await stdout, Err: await stderr);
            }));
            foreach (var (code, _, err) in results) Assert.True(code == 0, $"worker exited with {code}: {err}");
            return results.Select(r => r.Out).ToArray();
        }
        finally
        {
            foreach (var p in processes)
            {
                if (!p.HasExited) p.Kill(entireProcessTree: true);
                p.Dispose();
            }
        }
    }

    private static string FindDll()
    {
        const string Name = "Forge.Tracking.Worker";
        var beside = Path.Combine(AppContext.BaseDirectory, Name + ".dll");
        if (File.Exists(beside) && File.Exists(Path.Combine(AppContext.BaseDirectory, Name + ".runtimeconfig.json"))) return beside;
        // Its own output folder: same configuration and framework, the project name swapped.
        var own = AppContext.BaseDirectory.Replace("Forge.Tracking.Tests", Name, StringComparison.Ordinal);
        var candidate = Path.Combine(own, Name + ".dll");
        return File.Exists(candidate) ? candidate : throw new FileNotFoundException($"{Name}.dll not found beside the tests or in {own}");
    }
}
