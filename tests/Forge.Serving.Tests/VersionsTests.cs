using System.IO.Compression;
using System.Net;
using System.Text.Json.Nodes;
using Forge.Core;
using Forge.Tests.Shared;
using static Forge.Serving.Tests.Versions;

namespace Forge.Serving.Tests;

/// <summary>Bundle upload, alias moves, hot reload by the watcher, canary and shadow, on small test models in a real SQLite registry.</summary>
public sealed class VersionsTests : IDisposable
{
    private readonly TempDir _temp = new("forge-serving-versions-");
    private readonly GatedLoader _gated = new();
    private readonly TwoFacedLoader _twoFaced = new();

    public VersionsTests() => _gated.Gate.Set();

    public void Dispose()
    {
        _twoFaced.Gate.Set();
        _temp.Dispose();
    }

    private string Bundle(string folder = "bundle") => GatedLoader.WriteBundle(_temp.Combine(folder), "sentinel");

    /// <summary>A gated bundle with an incompressible weights file of the given size.</summary>
    private string BigBundle(string folder, int bytes)
    {
        var weights = new byte[bytes];
        new Random(7).NextBytes(weights);
        using var writer = ModelBundle.Create(_temp.Combine(folder));
        File.WriteAllBytes(writer.PathFor("weights/none.bin"), weights);
        writer.Commit(new ModelManifest { Name = "sentinel", Flavor = GatedLoader.FlavorName, Signature = GatedLoader.Signature });
        return _temp.Combine(folder);
    }

    private byte[] Packed(string bundle)
    {
        var file = _temp.Combine(Path.GetFileName(bundle) + ".forge");
        ModelBundle.Pack(bundle, file);
        return File.ReadAllBytes(file);
    }

    [Fact]
    public async Task An_uploaded_bundle_becomes_a_version_and_moving_the_alias_serves_it_at_once()
    {
        var registry = new TestRegistry(_temp).With([Bundle()], ("champion", 1));
        // Watching is off: the swap below comes from the alias endpoint itself. Predict bodies may be 1 KB, bundles far more.
        await using var server = await RunningServer.StartAsync(registry.Options(_gated) with { MaxRequestBytes = 1024 });
        Assert.Equal("1", await PredictAsync(server));
        var second = Packed(BigBundle("second", 64 * 1024));
        Assert.True(second.Length > 64 * 1024);

        var (uploaded, upload) = await SendAsync(server, HttpMethod.Post, "/v1/models", Bytes(second), "k");
        Assert.Equal(HttpStatusCode.Created, uploaded.StatusCode);
        Assert.Equal("sentinel", (string?)upload!["name"]);
        Assert.Equal(2, (int)upload["version"]!);
        Assert.Equal(GatedLoader.FlavorName, (string?)upload["flavor"]);
        Assert.Equal(second.Length, (long)upload["bytes"]!);
        Assert.Equal("1", await PredictAsync(server));

        var (moved, alias) = await SendAsync(server, HttpMethod.Put, "/v1/models/sentinel/aliases/champion", Json("{\"version\": 2}"), "k");

        Assert.Equal(HttpStatusCode.OK, moved.StatusCode);
        Assert.Equal(2, (int)alias!["version"]!);
        var reload = alias["reloads"]!.AsArray().Single()!;
        Assert.Equal("2", (string?)reload["version"]);
        Assert.Equal("1", (string?)reload["previousVersion"]);
        Assert.Null(reload["error"]);
        Assert.Equal("2", await PredictAsync(server));
        Assert.Equal(1, Metric(await MetricsAsync(server), "forge_model_reloads_total{model=\"sentinel\",result=\"ok\"}"));
        using (var store = registry.Open()) Assert.Equal(2, store.ResolveModel("sentinel@champion").Version);

        // ?name= registers under another name; the uploaded bundle's checksums were verified again by the store's copy.
        var (renamed, other) = await SendAsync(server, HttpMethod.Post, "/v1/models?name=sentinel-b", Bytes(Packed(Bundle()), "application/zip"), "k");
        Assert.Equal(HttpStatusCode.Created, renamed.StatusCode);
        Assert.Equal("sentinel-b", (string?)other!["name"]);
        Assert.Equal(1, (int)other["version"]!);
    }

    [Fact]
    public async Task Bad_uploads_and_alias_requests_are_refused_naming_the_problem_and_nothing_is_half_registered()
    {
        var bundle = Bundle();
        var registry = new TestRegistry(_temp).With([bundle], ("champion", 1));
        await using var server = await RunningServer.StartAsync(registry.Options(_gated) with { MaxUploadBytes = 64 * 1024 });

        // A file changed after the manifest was written: the archive opens, the checksum does not match.
        var tampered = _temp.Combine("tampered.forge");
        File.WriteAllBytes(tampered, Packed(bundle));
        using (var zip = ZipFile.Open(tampered, ZipArchiveMode.Update))
        {
            zip.GetEntry("weights/none.txt")!.Delete();
            using var writer = new StreamWriter(zip.CreateEntry("weights/none.txt").Open());
            writer.Write("other weights");
        }
        var (bad, problem) = await SendAsync(server, HttpMethod.Post, "/v1/models", Bytes(File.ReadAllBytes(tampered)), "k");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, bad.StatusCode);
        Assert.StartsWith("weights/none.txt: ", (string?)problem!["detail"], StringComparison.Ordinal);
        Assert.Equal("weights/none.txt", (string?)problem["field"]);

        var (notZip, notZipProblem) = await SendAsync(server, HttpMethod.Post, "/v1/models", Bytes("not a zip"u8.ToArray()), "k");
        Assert.Equal(HttpStatusCode.BadRequest, notZip.StatusCode);
        Assert.Contains("not a readable .forge (zip) archive", (string?)notZipProblem!["detail"], StringComparison.Ordinal);

        var escaping = new MemoryStream();
        using (var zip = new ZipArchive(escaping, ZipArchiveMode.Create, leaveOpen: true))
        {
            using var writer = new StreamWriter(zip.CreateEntry("../outside.txt").Open());
            writer.Write("x");
        }
        var (unsafeZip, unsafeProblem) = await SendAsync(server, HttpMethod.Post, "/v1/models", Bytes(escaping.ToArray()), "k");
        Assert.Equal(HttpStatusCode.BadRequest, unsafeZip.StatusCode);
        Assert.Contains("../outside.txt", (string?)unsafeProblem!["detail"], StringComparison.Ordinal);

        var (noManifest, noManifestProblem) = await SendAsync(server, HttpMethod.Post, "/v1/models", Bytes(ZipOf(("weights/w.bin", "x"))), "k");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, noManifest.StatusCode);
        Assert.StartsWith("forge-model.json: missing", (string?)noManifestProblem!["detail"], StringComparison.Ordinal);

        var (wrongType, _) = await SendAsync(server, HttpMethod.Post, "/v1/models", Bytes(Packed(bundle), "text/plain"), "k");
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, wrongType.StatusCode);
        var (tooLarge, _) = await SendAsync(server, HttpMethod.Post, "/v1/models", Bytes(new byte[100 * 1024]), "k");
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooLarge.StatusCode);
        var (badName, badNameProblem) = await SendAsync(server, HttpMethod.Post, "/v1/models?name=..%2Fetc", Bytes(Packed(bundle)), "k");
        Assert.Equal(HttpStatusCode.BadRequest, badName.StatusCode);
        Assert.Equal("name", (string?)badNameProblem!["field"]);

        foreach (var body in new[] { "{}", "{\"version\": \"2\"}", "{\"version\": 0}", "{\"version\": 1.5}", "[2]", "nonsense" })
        {
            var (response, _) = await SendAsync(server, HttpMethod.Put, "/v1/models/sentinel/aliases/champion", Json(body), "k");
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{body}: {response.StatusCode}");
        }
        var (badAlias, _) = await SendAsync(server, HttpMethod.Put, "/v1/models/sentinel/aliases/latest", Json("{\"version\": 1}"), "k");
        Assert.Equal(HttpStatusCode.BadRequest, badAlias.StatusCode);
        var (unknownVersion, unknownVersionProblem) = await SendAsync(server, HttpMethod.Put, "/v1/models/sentinel/aliases/champion", Json("{\"version\": 9}"), "k");
        Assert.Equal(HttpStatusCode.NotFound, unknownVersion.StatusCode);
        Assert.Contains("'9'", (string?)unknownVersionProblem!["detail"], StringComparison.Ordinal);
        var (unknownModel, unknownModelProblem) = await SendAsync(server, HttpMethod.Put, "/v1/models/sentinal/aliases/champion", Json("{\"version\": 1}"), "k");
        Assert.Equal(HttpStatusCode.NotFound, unknownModel.StatusCode);
        Assert.Contains("did you mean 'sentinel'", (string?)unknownModelProblem!["detail"], StringComparison.Ordinal);

        using var store = registry.Open();
        Assert.Equal("sentinel", store.ListRegisteredModels().Single().Name);
        Assert.Single(store.ListModelVersions("sentinel"));
        Assert.Single(Directory.GetDirectories(Path.Combine(registry.ArtifactRoot, "models", "sentinel")));
        Assert.Equal("1", await PredictAsync(server));
    }

    [Fact]
    public async Task Every_management_endpoint_needs_the_api_key_and_is_refused_when_the_server_has_none()
    {
        var bundle = Bundle();
        var registry = new TestRegistry(_temp).With([bundle], ("champion", 1));
        var packed = Packed(bundle);
        var calls = new (HttpMethod Method, string Path, Func<HttpContent> Body)[]
        {
            (HttpMethod.Post, "/v1/models", () => Bytes(packed)),
            (HttpMethod.Put, "/v1/models/sentinel/aliases/champion", () => Json("{\"version\": 1}")),
            (HttpMethod.Post, "/v1/models/sentinel/reload", () => Json("{}")),
        };

        await using (var keyless = await RunningServer.StartAsync(registry.Options(_gated) with { ApiKey = "" }))
        {
            foreach (var (method, path, body) in calls)
            {
                var (refused, problem) = await SendAsync(keyless, method, path, body(), "k");
                Assert.True(refused.StatusCode == HttpStatusCode.Forbidden, $"{method} {path}: {refused.StatusCode}");
                Assert.Contains("FORGE_API_KEY", (string?)problem!["detail"], StringComparison.Ordinal);
            }
        }

        await using var server = await RunningServer.StartAsync(registry.Options(_gated));
        foreach (var (method, path, body) in calls)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(server, method, path, body(), null)).Response.StatusCode);
            Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(server, method, path, body(), "wrong")).Response.StatusCode);
            var (allowed, _) = await SendAsync(server, method, path, body(), "k");
            Assert.True(allowed.IsSuccessStatusCode, $"{method} {path}: {allowed.StatusCode}");
        }
        using var store = registry.Open();
        // Only the one upload made with the key was registered.
        Assert.Equal(2, store.ListModelVersions("sentinel").Count);
    }

    [Fact]
    public async Task A_canary_answers_its_share_of_requests_by_name_chosen_by_the_request_id_hash()
    {
        const int Requests = 400;
        const double Percent = 25;
        var registry = new TestRegistry(_temp).With([Bundle(), Bundle()], ("champion", 1), ("challenger", 2));
        await using var server = await RunningServer.StartAsync(registry.Options(_gated) with { Challengers = [Challenger.ParseCanary("sentinel:challenger=25")] });

        var ids = Enumerable.Range(0, Requests).Select(i => $"canary-test-{i}").ToArray();
        var versions = new string[Requests];
        await Parallel.ForAsync(0, Requests, new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (i, _) => versions[i] = await PredictAsync(server, ids[i]));

        // The split is a function of the ids: these 400 fixed ids always give the same count, so the test cannot flake.
        // A uniform hash gives Binomial(400, 0.25): mean 100, sd 8.66; the bound is mean ± 4 sd (65..135), which a fair
        // hash misses with probability 6e-5; the exact count must also be the one the bucket function predicts.
        var canary = versions.Count(v => v == "2");
        Assert.InRange(canary, 65, 135);
        Assert.Equal(ids.Count(id => TrafficRouter.Bucket(id) < Percent), canary);
        Assert.All(versions, v => Assert.Contains(v, new[] { "1", "2" }));
        // The same id meets the same version again; a version in the path is never rerouted.
        for (var i = 0; i < 40; i++) Assert.Equal(versions[i], await PredictAsync(server, ids[i]));
        var toCanary = ids.First(id => TrafficRouter.Bucket(id) < Percent);
        Assert.Equal("1", await PredictAsync(server, toCanary, "/v1/models/sentinel/versions/1/predict"));

        var (_, details) = await SendAsync(server, HttpMethod.Get, "/v1/models/sentinel", null, null);
        var served = details!["versions"]!.AsArray();
        Assert.Equal(["primary", "canary"], served.Select(v => (string?)v!["role"]));
        Assert.Equal([75.0, 25.0], served.Select(v => (double)v!["trafficPercent"]!));
        Assert.Equal(["1", "2"], served.Select(v => (string?)v!["version"]));
        var toVersion2 = canary + versions.Take(40).Count(v => v == "2");
        Assert.Equal(toVersion2, Metric(await MetricsAsync(server), "forge_routed_requests_total{model=\"sentinel\",version=\"2\",role=\"canary\",result=\"ok\"}"));
        // Request metrics are written once the response is out, so the last ones may trail the client by a moment.
        await WaitForAsync(async () => Metric(await MetricsAsync(server), "forge_requests_total{model=\"sentinel\",version=\"2\",status=\"200\"}") == toVersion2,
            "every canary answer was counted under version 2");
    }

    [Fact]
    public async Task A_shadow_sees_a_copy_of_each_request_after_the_answer_and_the_client_sees_only_the_primary()
    {
        var registry = new TestRegistry(_temp).With(
            [TwoFacedLoader.WriteBundle(_temp.Combine("ok"), "ok"), TwoFacedLoader.WriteBundle(_temp.Combine("blocks"), "blocks"), TwoFacedLoader.WriteBundle(_temp.Combine("fails"), "fails")],
            ("champion", 1), ("challenger", 2));
        await using var server = await RunningServer.StartAsync(registry.Options(_twoFaced) with
        {
            Challengers = [Challenger.ParseShadow("sentinel:challenger")],
            WatchInterval = TimeSpan.FromMilliseconds(100),
        });
        const string Agree = "forge_routed_requests_total{model=\"sentinel\",version=\"2\",role=\"shadow\",result=\"agree\"}";

        // The shadow is stuck: every client is still answered, by the primary, while the copies wait.
        _twoFaced.Gate.Reset();
        for (var i = 0; i < 10; i++) Assert.Equal("1", await PredictAsync(server, $"shadowed-{i}"));
        Assert.Equal(0, Metric(await MetricsAsync(server), Agree));
        _twoFaced.Gate.Set();
        await WaitForAsync(async () => Metric(await MetricsAsync(server), Agree) == 10, "the shadow answered its 10 copies");
        var (_, details) = await SendAsync(server, HttpMethod.Get, "/v1/models/sentinel", null, null);
        var shadow = details!["versions"]!.AsArray().Single(v => (string?)v!["role"] == "shadow")!;
        Assert.Equal("2", (string?)shadow["version"]);
        Assert.Null(shadow["trafficPercent"]);
        Assert.Equal(11, (long)shadow["stats"]!["rowsPredicted"]!);

        // The shadow follows its alias; a shadow that fails only counts errors.
        registry.SetAlias("challenger", 3);
        await WaitForAsync(async () => (await ServedVersionsAsync(server))[1] == "3", "the shadow followed its alias to version 3");
        for (var i = 0; i < 10; i++) Assert.Equal("1", await PredictAsync(server, $"shadowed-again-{i}"));
        await WaitForAsync(async () => Metric(await MetricsAsync(server), "forge_routed_requests_total{model=\"sentinel\",version=\"3\",role=\"shadow\",result=\"error\"}") == 10,
            "the failing shadow's 10 errors were counted");
        await WaitForAsync(async () => Metric(await MetricsAsync(server), "forge_requests_total{model=\"sentinel\",version=\"1\",status=\"200\"}") == 20,
            "the 20 answers were counted under version 1");
        var metrics = await MetricsAsync(server);
        Assert.Equal(20, Metric(metrics, "forge_routed_requests_total{model=\"sentinel\",version=\"1\",role=\"primary\",result=\"ok\"}"));
        Assert.DoesNotContain("forge_requests_total{model=\"sentinel\",version=\"3\"", metrics, StringComparison.Ordinal);
        Assert.DoesNotContain("forge_requests_total{model=\"sentinel\",version=\"2\"", metrics, StringComparison.Ordinal);
        Assert.Contains(server.Logs.Lines, l => l.Message.Contains("shadow sentinel version 3 failed", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_watcher_swaps_in_a_moved_alias_and_a_failed_load_keeps_the_old_version_serving()
    {
        var registry = new TestRegistry(_temp).With([Bundle(), Bundle(), Bundle()], ("champion", 1), ("challenger", 1));
        await using var server = await RunningServer.StartAsync(registry.Options(_gated) with
        {
            WatchInterval = TimeSpan.FromMilliseconds(100),
            Challengers = [Challenger.ParseCanary("sentinel:challenger=50")],
        });
        Assert.Equal("1", await PredictAsync(server));

        // The canary's alias is deleted: it keeps its version, says so once, and does not stop the champion being watched.
        using (var store = registry.Open()) store.DeleteAlias("sentinel", "challenger");
        registry.SetAlias("champion", 2);
        await WaitForAsync(async () => (await ServedVersionsAsync(server))[0] == "2", "the champion moved to version 2");
        Assert.Equal(["2", "1"], await ServedVersionsAsync(server));
        // The champion is checked (and swapped) before the canary in a tick, so the canary's warning may trail the swap a little.
        static bool Unresolved((string, Microsoft.Extensions.Logging.LogLevel, string Message, IReadOnlyList<object?>) l) =>
            l.Message.StartsWith("cannot resolve sentinel@challenger; version 1 keeps serving", StringComparison.Ordinal);
        await WaitForAsync(() => Task.FromResult(server.Logs.Lines.Any(Unresolved)), "the deleted alias was reported");
        await Task.Delay(500);
        Assert.Single(server.Logs.Lines, Unresolved);
        Assert.Equal("2", await PredictAsync(server, "to-primary", "/v1/models/sentinel/versions/2/predict"));

        _gated.FailLoad = true;
        registry.SetAlias("champion", 3);
        await WaitForAsync(async () => Metric(await MetricsAsync(server), "forge_model_reloads_total{model=\"sentinel\",result=\"failed\"}") == 1, "the load of version 3 failed");
        var (ready, health) = await SendAsync(server, HttpMethod.Get, "/health/ready", null, null);
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        var primary = health!["models"]![0]!;
        Assert.Equal("ready", (string?)primary["state"]);
        Assert.Equal("2", (string?)primary["version"]);
        Assert.Contains("reload failed, version 2 keeps serving", (string?)primary["error"], StringComparison.Ordinal);
        Assert.Contains("damaged", (string?)primary["error"], StringComparison.Ordinal);
        Assert.Equal("2", await PredictAsync(server, "still-primary", "/v1/models/sentinel/versions/2/predict"));
        Assert.Contains(server.Logs.Lines, l => l.Level == Microsoft.Extensions.Logging.LogLevel.Error && l.Message.Contains("failed to reload", StringComparison.Ordinal));

        // The alias moves on to a version that loads: it is swapped in and the error clears.
        _gated.FailLoad = false;
        registry.SetAlias("champion", 1);
        await WaitForAsync(async () => (string?)(await SendAsync(server, HttpMethod.Get, "/health/ready", null, null)).Body!["models"]![0]!["version"] == "1", "the champion moved back to version 1");
        var (_, after) = await SendAsync(server, HttpMethod.Get, "/health/ready", null, null);
        Assert.Null(after!["models"]![0]!["error"]);
        var metrics = await MetricsAsync(server);
        Assert.Equal(2, Metric(metrics, "forge_model_reloads_total{model=\"sentinel\",result=\"ok\"}"));
        Assert.Equal(1, Metric(metrics, "forge_model_reloads_total{model=\"sentinel\",result=\"failed\"}"));
    }

    [Fact]
    public void Challenger_options_are_read_and_checked_with_every_problem_reported()
    {
        var canary = Challenger.ParseCanary("sentiment:challenger=12.5");
        Assert.Equal(("sentiment", "challenger", ChallengerMode.Canary, 12.5), (canary.Model, canary.Alias, canary.Mode, canary.Percent));
        var shadow = Challenger.ParseShadow("sentiment:next");
        Assert.Equal(("sentiment", "next", ChallengerMode.Shadow), (shadow.Model, shadow.Alias, shadow.Mode));
        Assert.Contains("NAME:ALIAS=PERCENT", Assert.Throws<UsageException>(() => Challenger.ParseCanary("sentiment:challenger")).Message, StringComparison.Ordinal);
        Assert.Contains("not a percentage", Assert.Throws<UsageException>(() => Challenger.ParseCanary("sentiment:challenger=lots")).Message, StringComparison.Ordinal);
        Assert.Contains("NAME:ALIAS", Assert.Throws<UsageException>(() => Challenger.ParseShadow("sentiment")).Message, StringComparison.Ordinal);

        var options = new ServerOptions
        {
            Models = [ModelSource.FromBundle(Bundle()), ModelSource.FromRegistry("sentiment")],
            Challengers = [Challenger.ParseCanary("sentinel:challenger=10"), Challenger.ParseCanary("sentiment:Bad!=150"), Challenger.ParseCanary("sentiment:b=5")],
            WatchInterval = TimeSpan.FromSeconds(-1),
            ApiKey = "",
        };
        var e = Assert.Throws<UsageException>(() => ForgeServer.Build(options));

        Assert.Contains("--canary sentinel:challenger: no model is served from the registry as 'sentinel'", e.Message, StringComparison.Ordinal);
        Assert.Contains("alias 'Bad!' must be", e.Message, StringComparison.Ordinal);
        Assert.Contains("the share 150 must be", e.Message, StringComparison.Ordinal);
        Assert.Contains("only one canary per model", e.Message, StringComparison.Ordinal);
        Assert.Contains("watch interval", e.Message, StringComparison.Ordinal);
    }

    private static async Task<string[]> ServedVersionsAsync(RunningServer server)
    {
        var (_, details) = await SendAsync(server, HttpMethod.Get, "/v1/models/sentinel", null, null);
        return details!["versions"]!.AsArray().Select(v => (string)v!["version"]!).ToArray();
    }

    private static byte[] ZipOf(params (string Name, string Text)[] entries)
    {
        var stream = new MemoryStream();
        using (var zip = new ZipArchive(stream, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var (name, text) in entries)
            {
                using var writer = new StreamWriter(zip.CreateEntry(name).Open());
                writer.Write(text);
            }
        }
        return stream.ToArray();
    }
}
