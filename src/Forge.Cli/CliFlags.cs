using System.Text;
using Forge.Core;

namespace Forge.Cli;

/// <summary>How the command line names the library's options and values: flags for option names, words for enum values.</summary>
internal static class CliFlags
{
    // Where a flag is not the option's name in kebab case.
    private static readonly Dictionary<string, string> Renamed = new(StringComparer.Ordinal)
    {
        ["learningRate"] = "--lr",
        ["outputDirectory"] = "--out",
        ["limitPerClass"] = "--limit",
        ["clipGradNorm"] = "--clip-grad",
        ["earlyStoppingPatience"] = "--early-stopping",
        ["backboneLrMultiplier"] = "--backbone-lr-mult",
        ["mixupAlpha"] = "--mixup",
        ["emaDecay"] = "--ema",
        ["progressiveSize"] = "--progressive",
        ["checkpointDirectory"] = "--checkpoint-dir",
        ["include"] = "--include",
    };

    /// <summary>The flag that sets a library option: <c>--lr</c> for learningRate, else the name in kebab case.</summary>
    public static string For(string option)
    {
        ArgumentNullException.ThrowIfNull(option);
        if (Renamed.TryGetValue(option, out var flag)) return flag;
        var sb = new StringBuilder("--");
        foreach (var c in option)
        {
            if (char.IsUpper(c)) sb.Append('-').Append(char.ToLowerInvariant(c));
            else sb.Append(c);
        }
        return sb.ToString();
    }

    /// <summary>The message of an error for a person at the command line: options named by their flags.</summary>
    public static string Message(Exception e)
    {
        ArgumentNullException.ThrowIfNull(e);
        return e is OptionsException options ? options.Renamed(For).Message : e.Message;
    }

    /// <summary>
    /// An enum value as the command line spells it (lower case), or <paramref name="fallback"/> when not given. A typo
    /// adds a problem (with a suggestion) on <paramref name="option"/> to <paramref name="problems"/>, so it is reported
    /// with every other problem of the command at once.
    /// </summary>
    public static T Parse<T>(string? text, string option, T fallback, List<OptionProblem> problems) where T : struct, Enum
    {
        ArgumentNullException.ThrowIfNull(problems);
        if (text is null) return fallback;
        var names = Enum.GetValues<T>().ToDictionary(v => v.ToString().ToLowerInvariant(), v => v, StringComparer.OrdinalIgnoreCase);
        if (names.TryGetValue(text.Trim(), out var value)) return value;
        problems.Add(new OptionProblem(option, Suggest($"unknown value '{text}'", text, names.Keys) + $" (one of {string.Join(", ", names.Keys)})"));
        return fallback;
    }

    /// <summary>The lower-case words of an enum, for help texts.</summary>
    public static string Words<T>() where T : struct, Enum => string.Join(", ", Enum.GetNames<T>().Select(n => n.ToLowerInvariant()));

    /// <summary>The one place a "did you mean" is built: <paramref name="message"/> with the closest candidate, when one is close.</summary>
    public static string Suggest(string message, string typed, IEnumerable<string> candidates) =>
        NameSuggester.Closest(typed, candidates) is { } closest ? $"{message}; did you mean '{closest}'?" : message;
}
