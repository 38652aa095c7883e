using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Forge.Core;
using Forge.Tracking;

namespace Forge.Cli;

/// <summary><c>forge models register|list|show|alias|export</c>: the model registry.</summary>
internal static class ModelsCommand
{
    private static readonly string[] ListHeader = ["NAME", "LATEST", "ALIASES", "UPDATED", "DESCRIPTION"];
    private static readonly string[] VersionsHeader = ["VERSION", "REGISTERED", "ALIASES", "RUN", "DATASET", "COMMIT", "DESCRIPTION"];

    public static Command Create(TextWriter output, TextWriter error, bool terminal)
    {
        var uri = TrackingCli.CreateUriOption(recursive: true);
        var models = new Command("models", "The model registry: named models whose versions are verified copies of bundles, with aliases such as champion.\n\nExamples:\n  forge models register 3fa2c1d0 --name mnist\n  forge models alias mnist 1 champion\n  forge models export mnist@champion --out deploy/mnist")
        {
            uri,
        };
        models.Subcommands.Add(Register(output, error, terminal, uri));
        models.Subcommands.Add(List(output, error, terminal, uri));
        models.Subcommands.Add(Show(output, error, terminal, uri));
        models.Subcommands.Add(Alias(output, error, terminal, uri));
        models.Subcommands.Add(Export(output, error, terminal, uri));
        return models;
    }

    private static Command Register(TextWriter output, TextWriter error, bool terminal, Option<string?> uri)
    {
        var source = new Argument<string>("source") { Description = "A run id (or unique prefix) whose logged bundle (artifact \"model\") is registered, or a bundle directory / .forge file" };
        var name = new Option<string>("--name") { Description = "Registered model name (created on first use)", Required = true };
        var description = new Option<string?>("--description") { Description = "What this version is, in a sentence" };
        var cmd = new Command("register", "Register a bundle as the next version of a model: the bundle is verified, copied into the registry, and linked to its run, dataset checksum and git commit. Every registration makes a new version, even of the same bundle.\n\nExamples:\n  forge models register 3fa2c1d0 --name mnist\n  forge models register models/mnist-cnn --name mnist --description \"8 epochs, onecycle\"")
        {
            source, name, description,
        };
        cmd.SetAction(p =>
        {
            var ctx = new CliContext(output, error, p.GetValue(CliApp.JsonOption), terminal);
            return CliApp.Guard(ctx, () =>
            {
                using var store = TrackingCli.Open(p.GetValue(uri));
                var what = p.GetValue(source)!;
                var modelName = p.GetValue(name)!;
                var text = p.GetValue(description);
                // A path that exists is a bundle; anything else is taken for a run id, whose lookup explains a typo.
                ModelVersion version;
                if (Directory.Exists(what) || File.Exists(what))
                    version = store.RegisterModelVersion(modelName, Path.GetFullPath(what), null, text);
                else if (LooksLikePath(what))
                    throw new UsageException($"{Path.GetFullPath(what)}: no such bundle directory or .forge file");
                else
                    version = store.RegisterModelVersionFromRun(modelName, TrackingCli.ResolveRun(store, what).RunId, "model", text);
                if (ctx.Json)
                {
                    ctx.WriteJson(Json(version));
                    return 0;
                }
                ctx.Say($"registered {version.Name} version {version.Version}" + (version.Lineage.RunId is { } run ? $" from run {TrackingCli.ShortId(run)}" : ""));
                ctx.Say($"  forge models alias {version.Name} {version.Version} champion    # give it an alias");
                ctx.Say($"  forge models export {version.Name}/{version.Version} --out DIR    # copy it out");
                return 0;
            });
        });
        return cmd;
    }

    private static Command List(TextWriter output, TextWriter error, bool terminal, Option<string?> uri)
    {
        var cmd = new Command("list", "List registered models with their latest version and aliases.\n\nExample:\n  forge models list --json");
        cmd.SetAction(p =>
        {
            var ctx = new CliContext(output, error, p.GetValue(CliApp.JsonOption), terminal);
            return CliApp.Guard(ctx, () =>
            {
                using var store = TrackingCli.Open(p.GetValue(uri));
                var all = store.ListRegisteredModels();
                if (ctx.Json)
                {
                    ctx.WriteJson(new JsonObject { ["models"] = new JsonArray(all.Select(m => (JsonNode)Json(m)).ToArray()) });
                    return 0;
                }
                if (all.Count == 0)
                {
                    ctx.Say("no registered models yet (forge models register RUN_ID --name NAME adds one)");
                    return 0;
                }
                var table = new List<string[]> { ListHeader };
                foreach (var m in all)
                {
                    table.Add([m.Name, m.LatestVersion?.ToString(CultureInfo.InvariantCulture) ?? "-", Aliases(m.Aliases), TrackingCli.Time(m.UpdatedAt), m.Description ?? ""]);
                }
                TrackingCli.Table(ctx, table);
                return 0;
            });
        });
        return cmd;
    }

    private static Command Show(TextWriter output, TextWriter error, bool terminal, Option<string?> uri)
    {
        var name = new Argument<string>("name") { Description = "Registered model name" };
        var cmd = new Command("show", "Show a registered model and every version: when it was registered, its aliases, and its lineage (run, dataset, dataset checksum, git commit).\n\nExamples:\n  forge models show mnist\n  forge models show mnist --json")
        {
            name,
        };
        cmd.SetAction(p =>
        {
            var ctx = new CliContext(output, error, p.GetValue(CliApp.JsonOption), terminal);
            return CliApp.Guard(ctx, () =>
            {
                using var store = TrackingCli.Open(p.GetValue(uri));
                var model = store.GetRegisteredModel(p.GetValue(name)!);
                var versions = store.ListModelVersions(model.Name);
                if (ctx.Json)
                {
                    var json = Json(model);
                    json["versions"] = new JsonArray(versions.Select(v => (JsonNode)Json(v)).ToArray());
                    ctx.WriteJson(json);
                    return 0;
                }
                ctx.Say($"{model.Name}: {versions.Count} version(s), latest {model.LatestVersion?.ToString(CultureInfo.InvariantCulture) ?? "-"}, aliases {(model.Aliases.Count == 0 ? "none" : Aliases(model.Aliases))}");
                if (model.Description is not null) ctx.Say(model.Description);
                foreach (var (k, v) in model.Tags.OrderBy(kv => kv.Key, StringComparer.Ordinal)) ctx.Say($"tag {k} = {v}");
                var table = new List<string[]> { VersionsHeader };
                foreach (var v in versions)
                {
                    table.Add([v.Version.ToString(CultureInfo.InvariantCulture), TrackingCli.Time(v.CreatedAt), string.Join(",", v.Aliases),
                        v.Lineage.RunId is { } r ? TrackingCli.ShortId(r) : "-", v.Lineage.Dataset ?? "-",
                        v.Lineage.GitCommit is { } g ? g[..Math.Min(10, g.Length)] : "-", v.Description ?? ""]);
                }
                TrackingCli.Table(ctx, table);
                return 0;
            });
        });
        return cmd;
    }

    private static Command Alias(TextWriter output, TextWriter error, bool terminal, Option<string?> uri)
    {
        var name = new Argument<string>("name") { Description = "Registered model name" };
        var version = new Argument<int>("version") { Description = "An existing version number" };
        var alias = new Argument<string>("alias") { Description = "Alias to point at it, e.g. champion or challenger (moved from any other version)" };
        var cmd = new Command("alias", "Point an alias at a version, moving it from whichever version had it. Aliases are how servers and exports name a model without pinning a number.\n\nExamples:\n  forge models alias mnist 3 champion\n  forge models export mnist@champion --out deploy/mnist")
        {
            name, version, alias,
        };
        cmd.SetAction(p =>
        {
            var ctx = new CliContext(output, error, p.GetValue(CliApp.JsonOption), terminal);
            return CliApp.Guard(ctx, () =>
            {
                using var store = TrackingCli.Open(p.GetValue(uri));
                var (n, v, a) = (p.GetValue(name)!, p.GetValue(version), p.GetValue(alias)!);
                store.SetAlias(n, a, v);
                if (ctx.Json)
                {
                    ctx.WriteJson(new JsonObject { ["name"] = n, ["alias"] = a, ["version"] = v });
                    return 0;
                }
                ctx.Say($"{n}@{a} -> version {v.ToString(CultureInfo.InvariantCulture)}");
                return 0;
            });
        });
        return cmd;
    }

    private static Command Export(TextWriter output, TextWriter error, bool terminal, Option<string?> uri)
    {
        var reference = new Argument<string>("model") { Description = "NAME (latest version), NAME@ALIAS or NAME/VERSION" };
        var outDir = new Option<string>("--out") { Description = "Directory to create with the bundle (must not exist)", Required = true };
        var cmd = new Command("export", "Copy a registered version's bundle out of the registry, verified, into a new directory.\n\nExamples:\n  forge models export mnist --out models/latest\n  forge models export mnist@champion --out deploy/mnist\n  forge models export mnist/2 --out /tmp/mnist-v2")
        {
            reference, outDir,
        };
        cmd.SetAction(p =>
        {
            var ctx = new CliContext(output, error, p.GetValue(CliApp.JsonOption), terminal);
            return CliApp.Guard(ctx, () =>
            {
                using var store = TrackingCli.Open(p.GetValue(uri));
                var text = p.GetValue(reference)!;
                // Pin the version first so the copy and the report agree even if an alias moves meanwhile.
                var version = store.ResolveModel(text);
                var bundle = store.ExportModel($"{version.Name}/{version.Version.ToString(CultureInfo.InvariantCulture)}", Path.GetFullPath(p.GetValue(outDir)!));
                if (ctx.Json)
                {
                    var json = Json(version);
                    json["reference"] = text;
                    json["bundle"] = bundle.Directory;
                    ctx.WriteJson(json);
                    return 0;
                }
                ctx.Say($"exported {version.Name} version {version.Version} ({text}) to {bundle.Directory}");
                return 0;
            });
        });
        return cmd;
    }

    private static bool LooksLikePath(string text) =>
        text.Contains('/', StringComparison.Ordinal) || text.Contains(Path.DirectorySeparatorChar, StringComparison.Ordinal)
        || text.StartsWith('.') || text.EndsWith(".forge", StringComparison.OrdinalIgnoreCase);

    private static string Aliases(IReadOnlyDictionary<string, int> aliases) =>
        string.Join(", ", aliases.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => string.Create(CultureInfo.InvariantCulture, $"{kv.Key}->{kv.Value}")));

    private static JsonObject Json(RegisteredModel m)
    {
        var aliases = new JsonObject();
        foreach (var (k, v) in m.Aliases.OrderBy(kv => kv.Key, StringComparer.Ordinal)) aliases[k] = v;
        return new JsonObject
        {
            ["name"] = m.Name,
            ["description"] = m.Description,
            ["latestVersion"] = m.LatestVersion,
            ["aliases"] = aliases,
            ["tags"] = TrackingCli.Json(m.Tags),
            ["createdAt"] = TrackingCli.Time(m.CreatedAt),
            ["updatedAt"] = TrackingCli.Time(m.UpdatedAt),
        };
    }

    private static JsonObject Json(ModelVersion v) => new()
    {
        ["name"] = v.Name,
        ["version"] = v.Version,
        ["source"] = v.Source,
        ["description"] = v.Description,
        ["createdAt"] = TrackingCli.Time(v.CreatedAt),
        ["aliases"] = new JsonArray(v.Aliases.Select(a => (JsonNode?)a).ToArray()),
        ["runId"] = v.Lineage.RunId,
        ["dataset"] = v.Lineage.Dataset,
        ["datasetChecksum"] = v.Lineage.DatasetChecksum,
        ["gitCommit"] = v.Lineage.GitCommit,
        ["tags"] = TrackingCli.Json(v.Tags),
    };
}
