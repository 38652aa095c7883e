using System.Text.Json;
using System.Text.Json.Nodes;
using Forge.Core;

namespace Forge.Cli;

/// <summary>Where a command writes: results on <see cref="Out"/> (one JSON object with --json), everything else on <see cref="Err"/>.</summary>
internal sealed class CliContext(TextWriter output, TextWriter error, bool json, bool errorIsTerminal)
{
    public TextWriter Out { get; } = output;

    public TextWriter Err { get; } = error;

    public bool Json { get; } = json;

    public bool ErrorIsTerminal { get; } = errorIsTerminal;

    /// <summary>A line for people: on stdout normally, on stderr when stdout carries JSON.</summary>
    public void Say(string line) => (Json ? Err : Out).WriteLine(line);

    public void WriteJson(JsonNode node) => Out.WriteLine(node.ToJsonString(Indented));

    public ProgressLine Progress(string label) => new(Err, ErrorIsTerminal, label);

    private static readonly JsonSerializerOptions Indented = new(ForgeJson.Options) { WriteIndented = true };
}
