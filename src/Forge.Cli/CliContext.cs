using System.Text.Json;
using System.Text.Json.Nodes;
using Forge.Core;

namespace Forge.Cli;

/// <summary>Where a command writes: results on <see cref="Out"/> (one JSON object with --json), everything else on <see cref="Err"/>.</summary>
internal sealed class CliContext(TextWriter output, TextWriter error, bool json, bool errorIsTerminal, Spectre.Console.IAnsiConsole? console = null)
{
    public TextWriter Out { get; } = output;

    public TextWriter Err { get; } = error;

    public bool Json { get; } = json;

    public bool ErrorIsTerminal { get; } = errorIsTerminal;

    /// <summary>A line for people: on stdout normally, on stderr when stdout carries JSON.</summary>
    public void Say(string line) => (Json ? Err : Out).WriteLine(line);

    public void WriteJson(JsonNode node) => Out.WriteLine(node.ToJsonString(Indented));

    /// <summary>Progress and other console output for people, on stderr (a test hands in Spectre's TestConsole).</summary>
    public Spectre.Console.IAnsiConsole Console { get; } = console ?? ProgressDisplay.ConsoleFor(error, errorIsTerminal);

    public ProgressDisplay Progress(string label) => new(Console, label);

    private static readonly JsonSerializerOptions Indented = new(ForgeJson.Options) { WriteIndented = true };
}
