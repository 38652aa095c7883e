using System.Globalization;
using System.Text;
using Microsoft.ML.Tokenizers;

namespace Forge.Text;

/// <summary>
/// BERT-uncased normalisation as Hugging Face's BertNormalizer does it (clean_text, handle_chinese_chars, strip_accents,
/// lowercase): control and format characters are dropped, every whitespace becomes a space, CJK ideographs get spaces
/// around them, and each character is decomposed, stripped of its non-spacing marks and lower-cased.
/// </summary>
/// <remarks>
/// Microsoft.ML.Tokenizers' own BertNormalizer differs in three ways that change token ids: it drops '\t', '\n' and
/// '\r' instead of turning them into spaces (joining the words around them), it strips accents through
/// string.Normalize, which does nothing when InvariantGlobalization is on (as in Forge), and it recomposes to NFC at
/// the end. The decomposition comes from a table generated with Python's unicodedata (Resources/make_fold_table.py).
/// </remarks>
internal sealed class BertUncasedNormalizer : Normalizer
{
    private static readonly Lazy<Dictionary<int, string>> Fold = new(LoadFold);

    public static BertUncasedNormalizer Instance { get; } = new();

    public override string Normalize(string original) => Normalize(original.AsSpan());

    public override string Normalize(ReadOnlySpan<char> original)
    {
        var fold = Fold.Value;
        var sb = new StringBuilder(original.Length + 8);
        var i = 0;
        while (i < original.Length)
        {
            // A lone surrogate decodes as U+FFFD, which BERT drops like the replacement character itself.
            Rune.DecodeFromUtf16(original[i..], out var rune, out var used);
            i += used;
            var cp = rune.Value;
            if (cp is '\t' or '\n' or '\r')
            {
                sb.Append(' ');
                continue;
            }
            if (cp is 0 or 0xFFFD) continue;
            var category = Rune.GetUnicodeCategory(rune);
            if (IsOther(category)) continue;
            if (Rune.IsWhiteSpace(rune))
            {
                sb.Append(' ');
                continue;
            }
            if (IsCjk(cp))
            {
                sb.Append(' ');
                sb.Append(rune.ToString());
                sb.Append(' ');
                continue;
            }
            if (cp is >= 0xAC00 and <= 0xD7A3)
            {
                AppendHangul(sb, cp);
                continue;
            }
            if (fold.TryGetValue(cp, out var replacement)) sb.Append(replacement);
            else if (category == UnicodeCategory.NonSpacingMark) continue;
            else sb.Append(rune.ToString());
        }
        return sb.ToString();
    }

    private static bool IsOther(UnicodeCategory c) => c is UnicodeCategory.Control or UnicodeCategory.Format
        or UnicodeCategory.Surrogate or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned;

    // The CJK blocks BERT's tokenize_chinese_chars treats as single-character words.
    internal static bool IsCjk(int cp) =>
        cp is (>= 0x4E00 and <= 0x9FFF) or (>= 0x3400 and <= 0x4DBF) or (>= 0x20000 and <= 0x2A6DF)
            or (>= 0x2A700 and <= 0x2B73F) or (>= 0x2B740 and <= 0x2B81F) or (>= 0x2B820 and <= 0x2CEAF)
            or (>= 0xF900 and <= 0xFAFF) or (>= 0x2F800 and <= 0x2FA1F);

    // Unicode's arithmetic decomposition of a Hangul syllable into its leading, vowel and optional trailing jamo (NFD).
    private static void AppendHangul(StringBuilder sb, int cp)
    {
        var s = cp - 0xAC00;
        sb.Append((char)(0x1100 + (s / 588)));
        sb.Append((char)(0x1161 + (s % 588 / 28)));
        if (s % 28 != 0) sb.Append((char)(0x11A7 + (s % 28)));
    }

    private static Dictionary<int, string> LoadFold()
    {
        using var stream = typeof(BertUncasedNormalizer).Assembly.GetManifestResourceStream("Forge.Text.Resources.bert-uncased-fold.txt")
            ?? throw new InvalidOperationException("Forge.Text is built without its bert-uncased-fold.txt resource");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var map = new Dictionary<int, string>();
        while (reader.ReadLine() is { } line)
        {
            if (line.Length == 0 || line[0] == '#') continue;
            var tab = line.IndexOf('\t', StringComparison.Ordinal);
            var key = int.Parse(line.AsSpan(0, tab), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            var value = new StringBuilder();
            foreach (var part in line[(tab + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries))
                value.Append(char.ConvertFromUtf32(int.Parse(part, NumberStyles.HexNumber, CultureInfo.InvariantCulture)));
            map[key] = value.ToString();
        }
        return map;
    }
}

/// <summary>
/// BERT's pre-tokenisation (Hugging Face's BertPreTokenizer): words end at whitespace, and every punctuation character
/// is a word of its own. Punctuation is any ASCII character that is not a letter, digit or space, plus Unicode's P*
/// categories.
/// </summary>
/// <remarks>
/// Microsoft.ML.Tokenizers' default for BERT matches <c>\w+|[\p{P}]</c>, which drops ASCII symbols such as $ + &lt; = &gt; ^ ` | ~
/// outright ("A+" would become "a") and keeps "_" inside words; BERT makes each of them a token.
/// </remarks>
internal sealed class BertPreTokenizer : PreTokenizer
{
    public static BertPreTokenizer Instance { get; } = new();

    public override IEnumerable<(int Offset, int Length)> PreTokenize(string text) => Split(text.AsSpan());

    public override IEnumerable<(int Offset, int Length)> PreTokenize(ReadOnlySpan<char> text) => Split(text);

    private static List<(int Offset, int Length)> Split(ReadOnlySpan<char> text)
    {
        var words = new List<(int, int)>();
        var start = -1;
        var i = 0;
        while (i < text.Length)
        {
            Rune.DecodeFromUtf16(text[i..], out var rune, out var used);
            if (Rune.IsWhiteSpace(rune))
            {
                if (start >= 0) words.Add((start, i - start));
                start = -1;
            }
            else if (IsPunctuation(rune))
            {
                if (start >= 0) words.Add((start, i - start));
                words.Add((i, used));
                start = -1;
            }
            else if (start < 0)
            {
                start = i;
            }
            i += used;
        }
        if (start >= 0) words.Add((start, text.Length - start));
        return words;
    }

    internal static bool IsPunctuation(Rune rune)
    {
        var cp = rune.Value;
        if (cp is (>= 33 and <= 47) or (>= 58 and <= 64) or (>= 91 and <= 96) or (>= 123 and <= 126)) return true;
        return Rune.GetUnicodeCategory(rune) is UnicodeCategory.ConnectorPunctuation or UnicodeCategory.DashPunctuation
            or UnicodeCategory.OpenPunctuation or UnicodeCategory.ClosePunctuation or UnicodeCategory.InitialQuotePunctuation
            or UnicodeCategory.FinalQuotePunctuation or UnicodeCategory.OtherPunctuation;
    }
}
