using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Forge.Data;

namespace Forge.Cli;

/// <summary><c>forge datasets list|fetch</c>: what the catalog knows and where each dataset is found.</summary>
internal static class DatasetsCommand
{
    public static Command Create(TextWriter output, TextWriter error, bool terminal)
    {
        var list = new Command("list", "List the catalog's datasets and where each one would be read from.");
        list.SetAction(p =>
        {
            var ctx = new CliContext(output, error, p.GetValue(CliApp.JsonOption), terminal);
            return CliApp.Guard(ctx, () =>
            {
                var resolver = new DatasetResolver(new DatasetResolverOptions { AllowDownload = false });
                var rows = DatasetCatalog.All.Select(d =>
                {
                    string? where = null, source = null;
                    try
                    {
                        var r = resolver.Resolve(d.Name);
                        where = r.Directory;
                        source = r.Source;
                    }
                    catch (Forge.Core.ForgeException)
                    {
                        // Not available locally: list it as downloadable (or not) rather than failing the listing.
                    }
                    return (Info: d, Where: where, Source: source);
                }).ToArray();
                if (ctx.Json)
                {
                    ctx.WriteJson(new JsonObject
                    {
                        ["datasets"] = new JsonArray(rows.Select(r => (JsonNode)new JsonObject
                        {
                            ["name"] = r.Info.Name,
                            ["folder"] = r.Info.Folder,
                            ["description"] = r.Info.Description,
                            ["license"] = r.Info.License,
                            ["available"] = r.Where is not null,
                            ["path"] = r.Where,
                            ["source"] = r.Source,
                        }).ToArray()),
                    });
                    return 0;
                }
                foreach (var r in rows)
                    ctx.Say(string.Create(CultureInfo.InvariantCulture,
                        $"{r.Info.Name,-16} {(r.Where is null ? "not local (forge datasets fetch " + r.Info.Name + ")" : $"{r.Where} [{r.Source}]")}\n{"",-16} {r.Info.Description} ({r.Info.License})"));
                return 0;
            });
        });

        var name = new Argument<string>("name") { Description = "Catalog name, e.g. mnist" };
        var dataDir = new Option<string?>("--data-dir") { Description = "The dataset's own folder; when given, the only place looked in" };
        var fetch = new Command("fetch", "Find a dataset locally or download it into the cache ($FORGE_HOME/datasets), then verify every file's SHA-256.\n\nExample:\n  forge datasets fetch mnist") { name, dataDir };
        fetch.SetAction(p =>
        {
            var ctx = new CliContext(output, error, p.GetValue(CliApp.JsonOption), terminal);
            return CliApp.Guard(ctx, () =>
            {
                using var bar = ctx.Progress("download");
                var progress = new Progress<DownloadProgress>(d =>
                {
                    var fraction = d.TotalBytes is > 0 ? (double)d.Bytes / d.TotalBytes.Value : 0;
                    bar.Update(fraction, string.Create(CultureInfo.InvariantCulture, $"{d.File} {d.Bytes / 1e6:F1} MB"));
                });
                var resolved = new DatasetResolver(new DatasetResolverOptions { DataDir = p.GetValue(dataDir), Progress = progress }).Resolve(p.GetValue(name)!);
                DatasetResolver.Verify(resolved);
                if (ctx.Json)
                {
                    ctx.WriteJson(new JsonObject { ["name"] = resolved.Info.Name, ["path"] = resolved.Directory, ["source"] = resolved.Source, ["verified"] = true });
                    return 0;
                }
                bar.Line($"{resolved.Info.Name}: {resolved.Directory} [{resolved.Source}], checksums verified");
                return 0;
            });
        });
        return new Command("datasets", "List and fetch catalog datasets.") { list, fetch };
    }
}
