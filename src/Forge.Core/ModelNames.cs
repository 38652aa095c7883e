namespace Forge.Core;

/// <summary>
/// The one rule for model names and version labels, shared by trainers (checked before a bundle is written), the registry
/// and the server, so that every name a trainer writes can be registered and served: safe in URLs, metric labels and
/// file paths.
/// </summary>
public static class ModelNames
{
    /// <summary>The longest model name accepted.</summary>
    public const int MaxLength = 128;

    /// <summary>Null when <paramref name="name"/> is a valid model name, else why it is not.</summary>
    public static string? Problem(string? name)
    {
        if (string.IsNullOrEmpty(name)) return "the model name is empty";
        if (name.Length > MaxLength) return $"the model name is longer than {MaxLength} characters";
        if (!char.IsAsciiLetterOrDigit(name[0])) return $"model name '{Shorten(name)}' must start with a letter or digit";
        foreach (var c in name)
        {
            // No separators and no "..": a name may become a folder (uploads, exports), and must never climb out of it.
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('-' or '_' or '.'))
                return $"model name '{Shorten(name)}' may hold only letters, digits, '-', '_' and '.'";
        }
        return name.Contains("..", StringComparison.Ordinal) ? $"model name '{Shorten(name)}' must not contain '..'" : null;
    }

    /// <summary>Null when <paramref name="version"/> is a valid version label, else why it is not.</summary>
    public static string? VersionProblem(string? version)
    {
        var problem = Problem(version);
        return problem?.Replace("model name", "version", StringComparison.Ordinal);
    }

    /// <summary>A generated name: the parts joined with '-', e.g. <c>sentiment-airline-tweets-minilm-logreg</c>.</summary>
    public static string Join(params IEnumerable<string> parts) => string.Join('-', parts);

    /// <summary>Throws <see cref="UsageException"/> when <paramref name="name"/> is not a valid model name.</summary>
    public static void Validate(string name)
    {
        if (Problem(name) is { } p) throw new UsageException(p);
    }

    private static string Shorten(string text) => text.Length <= 40 ? text : text[..40] + "…";
}
