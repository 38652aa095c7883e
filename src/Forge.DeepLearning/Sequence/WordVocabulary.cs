using System.Text;
using Forge.Core;

namespace Forge.DeepLearning;

/// <summary>
/// Word → id for recurrent text models, built from training texts only. Id 0 is padding, id 1 the out-of-vocabulary
/// token <see cref="Unknown"/>; words seen at least <see cref="MinCount"/> times get ids from 2, most frequent first
/// (ties in ordinal order). A text longer than <see cref="MaxLength"/> tokens keeps its first <see cref="MaxLength"/>.
/// A text with no token at all (empty, or only spaces) is encoded as one <see cref="Unknown"/>, so every text gets an answer.
/// </summary>
public sealed class WordVocabulary
{
    /// <summary>The out-of-vocabulary token.</summary>
    public const string Unknown = "<unk>";

    /// <summary>The id of <see cref="Unknown"/>.</summary>
    public const int UnknownId = 1;

    private readonly Dictionary<string, int> _ids;

    private WordVocabulary(IReadOnlyList<string> words, int minCount, int maxLength)
    {
        Words = words;
        MinCount = minCount;
        MaxLength = maxLength;
        _ids = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < words.Count; i++) _ids[words[i]] = i + 2;
    }

    /// <summary>The known words, in id order (word i has id i + 2).</summary>
    public IReadOnlyList<string> Words { get; }

    /// <summary>Fewest occurrences in the training texts for a word to be kept.</summary>
    public int MinCount { get; }

    /// <summary>Most tokens of a text the model reads; later ones are dropped.</summary>
    public int MaxLength { get; }

    /// <summary>Ids the embedding needs: padding, unknown and the words.</summary>
    public int Size => Words.Count + 2;

    /// <summary>Counts the tokens of <paramref name="texts"/> and keeps those seen at least <paramref name="minCount"/> times.</summary>
    public static WordVocabulary Build(IEnumerable<string> texts, int minCount = 2, int maxLength = 64)
    {
        ArgumentNullException.ThrowIfNull(texts);
        ArgumentOutOfRangeException.ThrowIfLessThan(minCount, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLength, 1);
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var text in texts)
        {
            foreach (var token in WordTokenizer.Tokenize(text)) counts[token] = counts.GetValueOrDefault(token) + 1;
        }
        var words = counts.Where(kv => kv.Value >= minCount)
            .OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal)
            .Select(kv => kv.Key).ToArray();
        return new WordVocabulary(words, minCount, maxLength);
    }

    /// <summary>The ids of a text (1..<see cref="Size"/>-1), at most <see cref="MaxLength"/> and at least one.</summary>
    public int[] Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var tokens = WordTokenizer.Tokenize(text);
        if (tokens.Count == 0) return [UnknownId];
        var n = Math.Min(tokens.Count, MaxLength);
        var ids = new int[n];
        for (var i = 0; i < n; i++) ids[i] = _ids.GetValueOrDefault(tokens[i], UnknownId);
        return ids;
    }

    /// <summary>How many of a text's tokens (before truncation) the vocabulary knows.</summary>
    public int KnownTokens(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return WordTokenizer.Tokenize(text).Count(_ids.ContainsKey);
    }

    /// <summary>Writes the words, one a line, in id order.</summary>
    public void Save(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        File.WriteAllText(path, string.Join("\n", Words) + "\n", new UTF8Encoding(false));
    }

    /// <summary>Reads words written by <see cref="Save"/>.</summary>
    public static WordVocabulary Load(string path, int minCount, int maxLength)
    {
        ArgumentNullException.ThrowIfNull(path);
        var lines = File.ReadAllText(path, Encoding.UTF8).Split('\n');
        var words = lines.Length > 0 && lines[^1].Length == 0 ? lines[..^1] : lines;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < words.Length; i++)
        {
            if (words[i].Length == 0 || !seen.Add(words[i])) throw new DataFormatException(path, $"line {i + 1}: {(words[i].Length == 0 ? "empty word" : $"'{words[i]}' repeated")}");
        }
        return new WordVocabulary(words, minCount, maxLength);
    }
}
