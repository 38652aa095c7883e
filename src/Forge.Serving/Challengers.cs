using System.Globalization;
using Forge.Core;

namespace Forge.Serving;

/// <summary>How a challenger version takes part in its model's traffic.</summary>
public enum ChallengerMode
{
    /// <summary>Answers a share of the requests addressed to the model by name.</summary>
    Canary,

    /// <summary>Gets a copy of each request after the client has been answered; its answers are only compared and counted.</summary>
    Shadow,
}

/// <summary>The part a served version plays for its model name.</summary>
internal enum ModelRole
{
    Primary,
    Canary,
    Shadow,
}

/// <summary>
/// A second version of a registry model served beside its main one: another alias of the same registered model
/// (e.g. <c>challenger</c>), loaded and warmed with the rest, and followed under hot reload like any alias.
/// </summary>
public sealed record Challenger
{
    /// <summary>The served model name (as clients call it) whose traffic the challenger shares.</summary>
    public required string Model { get; init; }

    /// <summary>The registry alias of the same registered model that the challenger serves.</summary>
    public required string Alias { get; init; }

    /// <summary>Canary (answers a share) or shadow (sees copies).</summary>
    public ChallengerMode Mode { get; init; }

    /// <summary>For a canary, the percentage (0–100] of requests addressed by name that it answers.</summary>
    public double Percent { get; init; }

    /// <summary>Reads <c>NAME:ALIAS=PERCENT</c>, e.g. <c>sentiment:challenger=10</c>.</summary>
    public static Challenger ParseCanary(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var eq = text.LastIndexOf('=');
        if (eq < 0) throw new UsageException($"--canary '{text}': write NAME:ALIAS=PERCENT, e.g. sentiment:challenger=10");
        if (!double.TryParse(text[(eq + 1)..].Trim().TrimEnd('%'), NumberStyles.Float, CultureInfo.InvariantCulture, out var percent))
            throw new UsageException($"--canary '{text}': '{text[(eq + 1)..]}' is not a percentage; write NAME:ALIAS=PERCENT, e.g. sentiment:challenger=10");
        var (model, alias) = Split(text[..eq], "--canary", text);
        return new Challenger { Model = model, Alias = alias, Mode = ChallengerMode.Canary, Percent = percent };
    }

    /// <summary>Reads <c>NAME:ALIAS</c>, e.g. <c>sentiment:challenger</c>.</summary>
    public static Challenger ParseShadow(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var (model, alias) = Split(text, "--shadow", text);
        return new Challenger { Model = model, Alias = alias, Mode = ChallengerMode.Shadow };
    }

    /// <summary>What the challenger is, as the command line writes it.</summary>
    public override string ToString() => Mode == ChallengerMode.Canary
        ? string.Create(CultureInfo.InvariantCulture, $"canary {Model}:{Alias}={Percent}")
        : $"shadow {Model}:{Alias}";

    private static (string Model, string Alias) Split(string text, string option, string whole)
    {
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0 || colon == text.Length - 1)
            throw new UsageException($"{option} '{whole}': write NAME:ALIAS{(option == "--canary" ? "=PERCENT" : "")}, e.g. sentiment:challenger");
        return (text[..colon].Trim(), text[(colon + 1)..].Trim());
    }

    /// <summary>Every problem with the options' challengers: unknown or non-registry models, bad aliases and shares, two of a kind for one model.</summary>
    internal static IEnumerable<string> FindProblems(ServerOptions options)
    {
        var seen = new HashSet<(string, ChallengerMode)>();
        foreach (var (c, i) in (options.Challengers ?? []).Select((c, i) => (c, i)))
        {
            if (c is null)
            {
                yield return $"challengers[{i}] is null";
                continue;
            }
            var option = c.Mode == ChallengerMode.Canary ? "--canary" : "--shadow";
            if (ModelNames.Problem(c.Model) is { } nameProblem) yield return $"{option} {c.Model}: {nameProblem}";
            else if (PrimaryFor(options, c.Model) is null)
                yield return $"{option} {c.Model}:{c.Alias}: no model is served from the registry as '{c.Model}'; a challenger is another alias of a registry model (--models {c.Model}@champion)";
            if (AliasProblem(c.Alias) is { } aliasProblem) yield return $"{option} {c.Model}:{c.Alias}: {aliasProblem}";
            if (c.Mode == ChallengerMode.Canary && !(c.Percent > 0 && c.Percent <= 100))
                yield return string.Create(CultureInfo.InvariantCulture, $"--canary {c.Model}:{c.Alias}: the share {c.Percent} must be more than 0 and at most 100 (percent)");
            if (!seen.Add((c.Model, c.Mode))) yield return $"{option} {c.Model}: only one {c.Mode.ToString().ToLowerInvariant()} per model";
        }
    }

    /// <summary>Null when <paramref name="alias"/> is a valid registry alias, else why not (the registry's own rule).</summary>
    internal static string? AliasProblem(string? alias)
    {
        if (string.IsNullOrEmpty(alias)) return "the alias is empty";
        var ok = alias.Length <= 64 && char.IsAsciiLetter(alias[0]) && alias.All(ch => char.IsAsciiLetterOrDigit(ch) || ch is '_' or '-');
        return ok ? null : $"alias '{alias}' must be 1-64 letters, digits, '_' or '-', starting with a letter";
    }

    /// <summary>The model sources of the challengers: the same registered model as their primary, at their alias.</summary>
    internal static IEnumerable<ModelSource> Sources(ServerOptions options)
    {
        foreach (var c in options.Challengers)
        {
            var primary = PrimaryFor(options, c.Model)!;
            yield return new ModelSource
            {
                RegistryReference = $"{RegisteredName(primary.RegistryReference!)}@{c.Alias}",
                Name = c.Model,
                Batching = primary.Batching,
                Role = c.Mode == ChallengerMode.Canary ? ModelRole.Canary : ModelRole.Shadow,
            };
        }
    }

    /// <summary>The registered model a reference names: the part before <c>@alias</c> or <c>/version</c>.</summary>
    internal static string RegisteredName(string reference)
    {
        var at = reference.IndexOf('@', StringComparison.Ordinal);
        if (at >= 0) return reference[..at];
        var slash = reference.LastIndexOf('/');
        return slash >= 0 ? reference[..slash] : reference;
    }

    /// <summary>The alias a reference follows, or null for a pinned version (<c>name/3</c>).</summary>
    internal static string? FollowedAlias(string? reference)
    {
        if (reference is null) return null;
        var at = reference.IndexOf('@', StringComparison.Ordinal);
        return at >= 0 ? reference[(at + 1)..] : reference.Contains('/', StringComparison.Ordinal) ? null : "latest";
    }

    private static ModelSource? PrimaryFor(ServerOptions options, string model) =>
        (options.Models ?? []).FirstOrDefault(s => s is { RegistryReference: { } r, Role: ModelRole.Primary } && (s.Name ?? RegisteredName(r)) == model);
}
