namespace Forge.Core;

/// <summary>The base of every error Forge raises on purpose: the message is one line a user can act on.</summary>
public class ForgeException : Exception
{
    /// <summary>Creates an error with a one-line message.</summary>
    public ForgeException(string message) : base(message) { }

    /// <summary>Creates an error with a one-line message and the failure that caused it.</summary>
    public ForgeException(string message, Exception innerException) : base(message, innerException) { }
}

/// <summary>A file's content is not what its format requires (bad magic number, truncated, wrong sizes).</summary>
public class DataFormatException : ForgeException
{
    /// <summary>Creates an error naming the file and what is wrong with it.</summary>
    public DataFormatException(string path, string problem) : base($"{path}: {problem}") => Path = path;

    /// <summary>Creates an error naming the file, what is wrong with it and the failure that revealed it.</summary>
    public DataFormatException(string path, string problem, Exception innerException)
        : base($"{path}: {problem}", innerException) => Path = path;

    /// <summary>The file at fault.</summary>
    public string Path { get; }
}

/// <summary>A model bundle is missing, tampered with, truncated or written by a newer Forge.</summary>
public class BundleException : ForgeException
{
    /// <summary>Creates an error naming the bundle file at fault and what is wrong with it.</summary>
    public BundleException(string path, string problem) : base($"{path}: {problem}") => Path = path;

    /// <summary>Creates an error naming the bundle file, the problem and the failure that revealed it.</summary>
    public BundleException(string path, string problem, Exception innerException)
        : base($"{path}: {problem}", innerException) => Path = path;

    /// <summary>The bundle file (or directory) at fault.</summary>
    public string Path { get; }
}

/// <summary>A name (dataset, model, run, option value) that does not exist, with the closest known name when there is one.</summary>
public class NotFoundException : ForgeException
{
    /// <summary>Creates an error for an unknown <paramref name="name"/> of the given <paramref name="kind"/>, suggesting the closest candidate.</summary>
    public NotFoundException(string kind, string name, IEnumerable<string> candidates)
        : this(kind, name, candidates?.ToArray() ?? throw new ArgumentNullException(nameof(candidates))) { }

    private NotFoundException(string kind, string name, string[] candidates)
        : this(kind, name, NameSuggester.Closest(name, candidates), candidates) { }

    private NotFoundException(string kind, string name, string? suggestion, string[] candidates)
        : base(Describe(kind, name, suggestion, candidates))
    {
        Kind = kind;
        Name = name;
        Suggestion = suggestion;
    }

    private static string Describe(string kind, string name, string? suggestion, string[] candidates)
    {
        if (suggestion is not null) return $"unknown {kind} '{name}'; did you mean '{suggestion}'?";
        // Nothing close: a short list of what exists is the next best help; a long one is noise.
        return candidates.Length is > 0 and <= 12 ? $"unknown {kind} '{name}' (known: {string.Join(", ", candidates)})" : $"unknown {kind} '{name}'";
    }

    /// <summary>What kind of thing was looked up, e.g. "dataset".</summary>
    public string Kind { get; }

    /// <summary>The name that was not found.</summary>
    public string Name { get; }

    /// <summary>The closest known name, or null when nothing is close.</summary>
    public string? Suggestion { get; }
}

/// <summary>The caller asked for something that cannot be done as asked (bad option value, conflicting options).</summary>
public class UsageException : ForgeException
{
    /// <summary>Creates an error describing the bad request.</summary>
    public UsageException(string message) : base(message) { }
}

/// <summary>Finds the known name closest to a mistyped one ("did you mean …?").</summary>
public static class NameSuggester
{
    /// <summary>Returns the candidate with the smallest edit distance to <paramref name="input"/>, or null when none is plausibly meant.</summary>
    public static string? Closest(string input, IEnumerable<string> candidates)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(candidates);
        var known = candidates as IReadOnlyCollection<string> ?? candidates.ToList();
        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var candidate in known)
        {
            var d = Distance(input.ToUpperInvariant(), candidate.ToUpperInvariant());
            if (d < bestDistance)
            {
                bestDistance = d;
                best = candidate;
            }
        }
        // A suggestion further away than about a third of the word is noise, not help.
        var limit = Math.Max(2, input.Length / 3);
        if (best is not null && bestDistance <= limit) return best;
        // A truncated name ("fashion" for "fashion-mnist") is far by edits yet plainly meant, even when a short name is closer.
        return input.Length == 0
            ? null
            : known.Where(c => c.StartsWith(input, StringComparison.OrdinalIgnoreCase)).MinBy(c => c.Length);
    }

    /// <summary>Optimal-string-alignment distance: insertions, deletions, substitutions and adjacent swaps each cost 1.</summary>
    internal static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (var j = 0; j <= b.Length; j++) d[0, j] = j;
        for (var i = 1; i <= a.Length; i++)
        {
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                    d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
            }
        }
        return d[a.Length, b.Length];
    }
}

/// <summary>One problem with one option, named as the library names it (e.g. <c>learningRate</c>).</summary>
/// <param name="Option">The option's name in the options record, camelCase.</param>
/// <param name="Problem">
/// What is wrong, without the name: "must be positive (got -1)". Another option it mentions is written in braces,
/// "{validationFraction}", so each front end can name it its own way.
/// </param>
public sealed partial record OptionProblem(string Option, string Problem)
{
    /// <summary>"learningRate: must be positive (got -1)", options named as the library names them.</summary>
    public override string ToString() => Render(n => n);

    /// <summary>The problem with every option named by <paramref name="rename"/>: "--lr: must be positive (got -1)".</summary>
    public string Render(Func<string, string> rename)
    {
        ArgumentNullException.ThrowIfNull(rename);
        return $"{rename(Option)}: {Mention().Replace(Problem, m => rename(m.Groups[1].Value))}";
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"\{([A-Za-z][A-Za-z0-9.]*)\}")]
    private static partial System.Text.RegularExpressions.Regex Mention();
}

/// <summary>
/// An options record failed its checks: every problem at once, each naming its option in library terms, so a front end
/// (the CLI) can name its own flags instead (<c>--lr</c> for <c>learningRate</c>).
/// </summary>
public sealed class OptionsException : UsageException
{
    /// <summary>Creates the error from its problems (at least one).</summary>
    public OptionsException(IReadOnlyList<OptionProblem> problems)
        : base(string.Join("; ", problems ?? throw new ArgumentNullException(nameof(problems))))
    {
        if (problems.Count == 0) throw new ArgumentException("an options error needs a problem", nameof(problems));
        Problems = problems;
    }

    /// <summary>The problems, in the order found.</summary>
    public IReadOnlyList<OptionProblem> Problems { get; }

    /// <summary>Throws when <paramref name="problems"/> holds any.</summary>
    public static void ThrowIfAny(IReadOnlyList<OptionProblem> problems)
    {
        ArgumentNullException.ThrowIfNull(problems);
        if (problems.Count > 0) throw new OptionsException(problems);
    }

    /// <summary>The same problems with each option renamed by <paramref name="rename"/> (e.g. to a command-line flag).</summary>
    public UsageException Renamed(Func<string, string> rename)
    {
        ArgumentNullException.ThrowIfNull(rename);
        return new UsageException(string.Join("; ", Problems.Select(p => p.Render(rename))));
    }
}
