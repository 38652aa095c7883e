using System.Net;
using System.Text.Json.Nodes;
using Forge.Core;
using Forge.Tests.Shared;
using Forge.Tracking;

namespace Forge.Serving.Tests;

/// <summary>Serving by registry name and alias, and reloading when the alias moves.</summary>
public sealed class RegistryTests : IDisposable
{
    private readonly TempDir _temp = new("forge-serving-registry-");
    private readonly GatedLoader _loader = new();

    public RegistryTests() => _loader.Gate.Set();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task A_model_served_by_alias_follows_the_alias_on_reload()
    {
        var db = _temp.Combine("forge.db");
        var bundle = GatedLoader.WriteBundle(_temp.Combine("bundle"));
        using (var store = TrackingStore.Open(db, new TrackingStoreOptions { ArtifactRoot = _temp.Combine("artifacts") }))
        {
            store.RegisterModelVersion("sentinel", bundle);
            store.RegisterModelVersion("sentinel", bundle);
            store.SetAlias("sentinel", "champion", 1);
        }
        await using var server = await RunningServer.StartAsync(new ServerOptions
        {
            Models = [ModelSource.FromRegistry("sentinel")],
            TrackingUri = db,
            ApiKey = "k",
            Loaders = ModelLoaderRegistry.CreateDefault().Add(_loader),
        });
        var instance = new JsonArray(0.25f, 0.5f, 0.75f);

        var (first, _) = await server.PostAsync("/v1/models/sentinel/predict", instance.DeepClone());
        Assert.Equal("1", first.Headers.GetValues("X-Forge-Model-Version").Single());

        using (var store = TrackingStore.Open(db)) store.SetAlias("sentinel", "champion", 2);
        var (reload, body) = await server.PostAsync("/v1/models/sentinel/reload", new JsonObject(), apiKey: "k");

        Assert.Equal(HttpStatusCode.OK, reload.StatusCode);
        Assert.Equal("2", (string?)body!["versions"]![0]!["version"]);
        Assert.Equal("1", (string?)body["versions"]![0]!["previousVersion"]);
        var (second, secondBody) = await server.PostAsync("/v1/models/sentinel/predict", instance.DeepClone());
        Assert.Equal("2", second.Headers.GetValues("X-Forge-Model-Version").Single());
        Assert.Equal("2", (string?)secondBody!["version"]);
        Assert.Contains("sentinel@champion", ForgeServer.Models(server.App).Single().Origin, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_registered_model_is_named_before_the_server_starts()
    {
        var db = _temp.Combine("empty.db");
        using (TrackingStore.Open(db)) { }

        var e = Assert.Throws<UsageException>(() => ForgeServer.Build(new ServerOptions { Models = [ModelSource.FromRegistry("ghost")], TrackingUri = db, ApiKey = "" }));

        Assert.Contains("registry:ghost@champion", e.Message, StringComparison.Ordinal);
        Assert.Contains("ghost", e.Message, StringComparison.Ordinal);
    }
}
