using System.CommandLine;
using System.CommandLine.Parsing;
using System.Text.Json.Nodes;
using Forge.Core;

namespace Forge.Cli;

/// <summary>The forge command: a table of contents of verbs, each a thin layer over a library call.</summary>
public static class CliApp
{
    internal static readonly Option<bool> JsonOption = new("--json")
    {
        Description = "Print exactly one JSON object on stdout (progress and messages go to stderr)",
        Recursive = true,
    };

    /// <summary>Runs the command line and returns the process exit code (0 ok, 1 failure, 2 bad usage).</summary>
    public static int Run(string[] args, TextWriter output, TextWriter error, bool? errorIsTerminal = null)
    {
        ArgumentNullException.ThrowIfNull(args);
        var terminal = errorIsTerminal ?? !Console.IsErrorRedirected;
        var root = new RootCommand("Forge: train, evaluate and use machine-learning models from .NET.\n\nStart with 'forge quickstart', then 'forge train mnist --out model', 'forge runs list' and 'forge models register RUN_ID --name mnist'.");
        root.Options.Add(JsonOption);
        root.Subcommands.Add(TrainCommand.Create(output, error, terminal));
        root.Subcommands.Add(FinetuneCommand.Create(output, error, terminal));
        root.Subcommands.Add(EvaluateCommand.Create(output, error, terminal));
        root.Subcommands.Add(PredictCommand.Create(output, error, terminal));
        root.Subcommands.Add(DatasetsCommand.Create(output, error, terminal));
        root.Subcommands.Add(QuickstartCommand.Create(output, error, terminal));
        root.Subcommands.Add(RunsCommand.Create(output, error, terminal));
        root.Subcommands.Add(ModelsCommand.Create(output, error, terminal));
        root.Subcommands.Add(ServeCommand.Create(output, error, terminal));
        root.Subcommands.Add(TuneCommand.Create(output, error, terminal));
        root.Subcommands.Add(MonitorCommand.Create(output, error, terminal));
        root.Subcommands.Add(ExplainCommand.Create(output, error, terminal));
        root.Subcommands.Add(UiCommand.Create(output, error, terminal));

        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            // Name the whole verb path ("forge runs list"), since the help that explains the mistake is that verb's.
            var verb = "forge";
            for (var r = parsed.CommandResult; r.Command != root && r.Parent is CommandResult parent; r = parent)
                verb = verb.Insert("forge".Length, " " + r.Command.Name);
            // A mistyped verb also leaves "Required command was not provided" first; the typo is the useful one.
            var parseError = parsed.Errors.FirstOrDefault(e => e.Message.StartsWith("Unrecognized command or argument", StringComparison.Ordinal)) ?? parsed.Errors[0];
            var message = Suggest(Plain(parseError.Message), parsed.CommandResult.Command);
            Fail(output, error, parsed.GetValue(JsonOption), $"{message} (see '{verb} --help')");
            return 2;
        }
        return parsed.Invoke(new InvocationConfiguration { Output = output, Error = error });
    }

    /// <summary>
    /// A mistyped verb or option gets the closest one the command has: "Unrecognized command or argument 'trian'" becomes
    /// "…; did you mean 'train'?".
    /// </summary>
    internal static string Suggest(string message, Command command)
    {
        var match = System.Text.RegularExpressions.Regex.Match(message, "^Unrecognized command or argument '(?<typed>[^']+)'");
        if (!match.Success) return message;
        var typed = match.Groups["typed"].Value;
        IEnumerable<string> candidates = typed.StartsWith('-')
            ? command.Options.Concat(command.Parents.OfType<Command>().SelectMany(p => p.Options.Where(o => o.Recursive))).SelectMany(o => o.Aliases.Prepend(o.Name))
            : command.Subcommands.SelectMany(c => c.Aliases.Prepend(c.Name));
        return CliFlags.Suggest(message.TrimEnd('.'), typed, candidates);
    }

    /// <summary>System.CommandLine names CLR types in parse errors; a user should read what to type instead.</summary>
    internal static string Plain(string message) => System.Text.RegularExpressions.Regex.Replace(
        message.Replace(" as expected type ", ": expected ", StringComparison.Ordinal),
        @"'System\.(?:Nullable`1\[System\.)?(\w+)\]?'",
        m => m.Groups[1].Value switch
        {
            "Int32" or "Int64" => "a whole number",
            "Double" or "Single" => "a number",
            "Boolean" => "true or false",
            "String" => "text",
            var other => other,
        });

    /// <summary>Runs a verb body, turning Forge's errors into one line on stderr and a non-zero exit code.</summary>
    internal static int Guard(CliContext ctx, Func<int> body)
    {
        try
        {
            return body();
        }
        catch (OperationCanceledException)
        {
            Fail(ctx.Out, ctx.Err, ctx.Json, "cancelled");
            return 130;
        }
        catch (Exception e) when (e is ForgeException or IOException or UnauthorizedAccessException)
        {
            Fail(ctx.Out, ctx.Err, ctx.Json, CliFlags.Message(e));
            // 2 = the request itself was wrong (bad option, unknown name); 1 = it was fine but could not be carried out.
            return e is UsageException or NotFoundException ? 2 : 1;
        }
        catch (System.Data.Common.DbException e)
        {
            // The tracking store wraps what it expects; anything else from the database is still one line, not a stack trace.
            Fail(ctx.Out, ctx.Err, ctx.Json, $"tracking store: {e.Message.ReplaceLineEndings(" ")}");
            return 1;
        }
    }

    private static void Fail(TextWriter output, TextWriter error, bool json, string message)
    {
        error.WriteLine($"error: {message}");
        if (json) output.WriteLine(new JsonObject { ["error"] = message }.ToJsonString(ForgeJson.Options));
    }
}
