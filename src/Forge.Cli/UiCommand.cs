using System.CommandLine;
using System.Text.Json.Nodes;
using Forge.Serving;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Hosting;

namespace Forge.Cli;

/// <summary><c>forge ui</c>: the web UI over a tracking store, without serving models (<c>forge serve</c> includes the same UI).</summary>
internal static class UiCommand
{
    /// <summary>Called once the UI is listening, so tests can talk to it and stop it; null outside tests.</summary>
    internal static Action<WebApplication>? Started { get; set; }

    private static readonly UiOptions Defaults = new();

    public static Command Create(TextWriter output, TextWriter error, bool terminal)
    {
        var store = new Option<string?>("--store", "--tracking")
        {
            Description = "Tracking store to show: a SQLite file, sqlite:///path or postgresql://user:password@host:port/database (default: $FORGE_TRACKING_URI, else $FORGE_HOME/forge.db)",
        };
        var artifacts = new Option<string?>("--artifacts") { Description = "Where the store keeps artifacts (default $FORGE_HOME/artifacts), for artifact downloads and model cards" };
        var host = new Option<string>("--host") { Description = "Address to listen on: 127.0.0.1 (this machine only), 0.0.0.0 (every interface) or an IP", DefaultValueFactory = _ => Defaults.Host };
        var port = new Option<int>("--port") { Description = "TCP port (0 picks a free one and prints it)", DefaultValueFactory = _ => Defaults.Port };
        var cmd = new Command("ui", $$"""
            Open Forge's web UI over a tracking store: runs (filter, sort, compare, metric charts, artifacts, lineage), the model
            registry (versions, aliases, model cards; moving an alias needs ${{ServerOptions.ApiKeyVariable}}) and tuning studies
            (history, importance, parallel coordinates, live while a study runs). 'forge serve' shows the same UI at / with its
            served models' live status, explanations, drift and the chat page.

            Examples:
              forge ui --store ~/.forge/forge.db
              forge ui --store postgresql://forge:secret@db:5432/forge --port 8090
            """)
        {
            store, artifacts, host, port,
        };
        cmd.SetAction(p =>
        {
            var ctx = new CliContext(output, error, p.GetValue(CliApp.JsonOption), terminal);
            return CliApp.Guard(ctx, () =>
            {
                var app = UiServer.Build(new UiOptions
                {
                    TrackingUri = p.GetValue(store),
                    ArtifactRoot = p.GetValue(artifacts),
                    Host = p.GetValue(host)!,
                    Port = p.GetValue(port),
                });
                try
                {
                    app.StartAsync().GetAwaiter().GetResult();
                    var addresses = ForgeServer.Addresses(app);
                    if (ctx.Json) ctx.WriteJson(new JsonObject { ["addresses"] = new JsonArray([.. addresses.Select(a => (JsonNode?)a)]) });
                    else foreach (var address in addresses) ctx.Say($"forge ui: open {address}/ in a browser (Ctrl+C stops)");
                    Started?.Invoke(app);
                    app.WaitForShutdownAsync().GetAwaiter().GetResult();
                    return 0;
                }
                finally
                {
                    ((IAsyncDisposable)app).DisposeAsync().AsTask().GetAwaiter().GetResult();
                }
            });
        });
        return cmd;
    }
}
