using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Forge.DeepLearning;

/// <summary>
/// The word tokeniser of recurrent text models. Rules, in order: the text is lower-cased (invariant culture); a URL
/// (http://, https:// or www. up to the next space) becomes <see cref="UrlToken"/>; an @mention (@ followed by letters,
/// digits or _) becomes <see cref="UserToken"/>; the rest splits into words (runs of letters, digits and marks, with
/// apostrophes inside a word kept: "don't") and every other visible character on its own ("!!" is two tokens, "#tag"
/// is "#" and "tag", an emoji is one token). Whitespace separates and is dropped.
/// </summary>
public static partial class WordTokenizer
{
    /// <summary>What a URL becomes.</summary>
    public const string UrlToken = "<url>";

    /// <summary>What an @mention becomes.</summary>
    public const string UserToken = "<user>";

    /// <summary>The tokens of <paramref name="text"/>, by the rules above.</summary>
    public static List<string> Tokenize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var tokens = new List<string>();
        var lower = text.ToLowerInvariant();
        var at = 0;
        foreach (Match m in Special().Matches(lower))
        {
            Words(lower.AsSpan(at, m.Index - at), tokens);
            tokens.Add(m.Value[0] == '@' ? UserToken : UrlToken);
            at = m.Index + m.Length;
        }
        Words(lower.AsSpan(at), tokens);
        return tokens;
    }

    private static void Words(ReadOnlySpan<char> text, List<string> tokens)
    {
        var word = new StringBuilder();
        void Flush()
        {
            // A word never starts with an apostrophe (one is taken only after a letter); one at its end is a closing
            // quote mark, punctuation of its own.
            var w = word.ToString();
            word.Clear();
            if (w.Length == 0) return;
            var trailing = 0;
            while (trailing < w.Length && w[w.Length - 1 - trailing] == '\'') trailing++;
            tokens.Add(w[..(w.Length - trailing)]);
            for (var i = 0; i < trailing; i++) tokens.Add("'");
        }
        foreach (var rune in text.EnumerateRunes())
        {
            var category = Rune.GetUnicodeCategory(rune);
            var isWord = Rune.IsLetterOrDigit(rune) || category is UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark;
            if (isWord || (IsApostrophe(rune) && word.Length > 0))
            {
                word.Append(IsApostrophe(rune) ? "'" : rune.ToString());
                continue;
            }
            Flush();
            if (Rune.IsWhiteSpace(rune) || Rune.IsControl(rune) || category == UnicodeCategory.Format) continue;
            tokens.Add(rune.ToString());
        }
        Flush();
    }

    private static bool IsApostrophe(Rune rune) => rune.Value is '\'' or '\u2019';

    [GeneratedRegex(@"(?:https?://|www\.)\S+|@\w+", RegexOptions.CultureInvariant)]
    private static partial Regex Special();
}
