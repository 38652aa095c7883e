using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Forge.Tests.Shared;
using YamlDotNet.RepresentationModel;

namespace Forge.Serving.Tests;

/// <summary>
/// The files in deploy/, read as the tools that consume them would: YAML documents as JSON-like trees, the Dockerfile as
/// instructions grouped by stage. No Docker engine or cluster runs here, so the tests check what can be checked without
/// one: that the files agree with each other and with the server.
/// </summary>
internal static partial class DeploymentFiles
{
    public static string Root => Path.Combine(SharedData.RepoRoot ?? throw new InvalidOperationException($"no Forge.slnx above {AppContext.BaseDirectory}"), "deploy");

    public static string PathOf(string relative) => Path.Combine(Root, relative);

    /// <summary>Every document of a YAML file, scalars as strings (YAML's types do not matter for these checks).</summary>
    public static IReadOnlyList<JsonNode> Yaml(string relative)
    {
        var stream = new YamlStream();
        using (var reader = new StreamReader(PathOf(relative))) stream.Load(reader);
        return stream.Documents.Select(d => ToJson(d.RootNode)!).ToArray();
    }

    /// <summary>The one document of kind <paramref name="kind"/> in a Kubernetes manifest.</summary>
    public static JsonNode Kind(IReadOnlyList<JsonNode> manifest, string kind) =>
        Assert.Single(manifest, d => (string?)d["kind"] == kind);

    private static JsonNode? ToJson(YamlNode node) => node switch
    {
        YamlMappingNode map => new JsonObject(map.Children.Select(kv =>
            new KeyValuePair<string, JsonNode?>(((YamlScalarNode)kv.Key).Value!, ToJson(kv.Value)))),
        YamlSequenceNode seq => new JsonArray(seq.Children.Select(ToJson).ToArray()),
        YamlScalarNode scalar => scalar.Value is null ? null : JsonValue.Create(scalar.Value),
        _ => throw new InvalidOperationException($"unexpected YAML node {node.NodeType} at {node.Start}"),
    };

    /// <summary>The Dockerfile's instructions, continuation lines joined and comments dropped, each with its stage number.</summary>
    public static IReadOnlyList<DockerInstruction> Dockerfile()
    {
        var instructions = new List<DockerInstruction>();
        var stage = -1;
        var pending = "";
        foreach (var raw in File.ReadAllLines(PathOf("Dockerfile")))
        {
            var line = raw.Trim();
            // Comment lines (parser directives included) are dropped, even between continuation lines, as Docker does.
            if (line.StartsWith('#')) continue;
            if (line.EndsWith('\\'))
            {
                pending += line[..^1] + " ";
                continue;
            }
            var whole = (pending + line).Trim();
            pending = "";
            if (whole.Length == 0) continue;
            var space = whole.IndexOf(' ', StringComparison.Ordinal);
            var keyword = (space < 0 ? whole : whole[..space]).ToUpperInvariant();
            var arguments = space < 0 ? "" : whole[(space + 1)..].Trim();
            if (keyword == "FROM") stage++;
            instructions.Add(new DockerInstruction(stage, keyword, arguments));
        }
        return instructions;
    }

    /// <summary>The arguments of an exec-form (JSON array) instruction such as ENTRYPOINT or CMD.</summary>
    public static string[] ExecForm(string arguments)
    {
        Assert.StartsWith("[", arguments, StringComparison.Ordinal);
        return JsonNode.Parse(arguments)!.AsArray().Select(n => (string)n!).ToArray();
    }

    /// <summary>The value following <paramref name="option"/> in an argument list, or null when the option is absent.</summary>
    public static string? OptionValue(IReadOnlyList<string> args, string option)
    {
        for (var i = 0; i < args.Count - 1; i++)
        {
            if (args[i] == option) return args[i + 1];
            if (args[i].StartsWith(option + "=", StringComparison.Ordinal)) return args[i][(option.Length + 1)..];
        }
        return null;
    }

    /// <summary>Every option the <c>forge serve</c> parser knows, read from its help.</summary>
    public static IReadOnlySet<string> ServeOptions()
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exit = Forge.Cli.CliApp.Run(["serve", "--help"], output, error, errorIsTerminal: false);
        Assert.True(exit == 0, $"forge serve --help exited {exit}: {error}");
        var help = output.ToString();
        var optionsSection = help[help.IndexOf("Options:", StringComparison.Ordinal)..];
        return OptionName().Matches(optionsSection).Select(m => m.Groups[1].Value).ToHashSet(StringComparer.Ordinal);
    }

    [GeneratedRegex(@"(?:^|[\s,])(--[a-z][a-z0-9-]*)", RegexOptions.Multiline | RegexOptions.CultureInvariant)]
    private static partial Regex OptionName();
}

/// <summary>One Dockerfile instruction: its stage (0 for the first FROM), keyword and arguments.</summary>
internal sealed record DockerInstruction(int Stage, string Keyword, string Arguments);
