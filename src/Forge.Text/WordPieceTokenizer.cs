using Microsoft.ML.Tokenizers;

namespace Forge.Text;

/// <summary>
/// The BERT-uncased WordPiece tokenizer of all-MiniLM-L6-v2: Microsoft.ML.Tokenizers' <see cref="BertTokenizer"/> with
/// Hugging Face's normalisation and pre-tokenisation rules (lower case, accents stripped, punctuation split, [UNK] for
/// unknown words), [CLS] first and [SEP] last, truncated to <see cref="MaxLength"/> word pieces.
/// </summary>
public sealed class WordPieceTokenizer
{
    /// <summary>The maximum sequence length sentence-transformers uses for all-MiniLM-L6-v2 (its max_seq_length).</summary>
    public const int DefaultMaxLength = 256;

    private readonly BertTokenizer _bert;
    private readonly string[] _vocabulary;

    private WordPieceTokenizer(BertTokenizer bert, string[] vocabulary, int maxLength)
    {
        _bert = bert;
        _vocabulary = vocabulary;
        MaxLength = maxLength;
    }

    /// <summary>Loads a BERT vocabulary (one token per line, line number = id).</summary>
    /// <param name="vocabPath">The vocab.txt file.</param>
    /// <param name="maxLength">Sequences longer than this, [CLS] and [SEP] included, are cut (their [SEP] kept).</param>
    public static WordPieceTokenizer Load(string vocabPath, int maxLength = DefaultMaxLength)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(vocabPath);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLength, 3);
        var options = new BertOptions
        {
            Normalizer = BertUncasedNormalizer.Instance,
            PreTokenizer = BertPreTokenizer.Instance,
            // Text is text: "[SEP]" typed by a user is five characters, not the separator.
            SplitOnSpecialTokens = false,
            UnknownToken = "[UNK]",
            ContinuingSubwordPrefix = "##",
            MaxInputCharsPerWord = 100,
        };
        return new WordPieceTokenizer(BertTokenizer.Create(vocabPath, options), File.ReadAllLines(vocabPath), maxLength);
    }

    /// <summary>Sequences are cut to this many word pieces, [CLS] and [SEP] included.</summary>
    public int MaxLength { get; }

    /// <summary>The id of [CLS].</summary>
    public int ClsId => _bert.ClassificationTokenId;

    /// <summary>The id of [SEP].</summary>
    public int SepId => _bert.SeparatorTokenId;

    /// <summary>The id of [UNK].</summary>
    public int UnknownId => _bert.UnknownTokenId;

    /// <summary>The word-piece ids of <paramref name="text"/>: [CLS], the pieces (at most MaxLength - 2), [SEP].</summary>
    public int[] Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var pieces = _bert.EncodeToIds(text, addSpecialTokens: false);
        var n = Math.Min(pieces.Count, MaxLength - 2);
        var ids = new int[n + 2];
        ids[0] = ClsId;
        for (var i = 0; i < n; i++) ids[i + 1] = pieces[i];
        ids[^1] = SepId;
        return ids;
    }

    /// <summary>The word pieces of <paramref name="text"/> as strings, with [CLS] and [SEP], for inspection.</summary>
    public IReadOnlyList<string> Tokenize(string text) => Encode(text).Select(id => _vocabulary[id]).ToArray();

    /// <summary>The number of tokens in the vocabulary.</summary>
    public int VocabularySize => _vocabulary.Length;

    /// <summary>The text after BERT-uncased normalisation (cleaned, accents stripped, lower case).</summary>
    public static string Normalize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return BertUncasedNormalizer.Instance.Normalize(text);
    }
}
