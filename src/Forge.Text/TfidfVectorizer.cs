using System.Text.RegularExpressions;

namespace Forge.Text;

/// <summary>
/// TF-IDF of word 1- and 2-grams as scikit-learn's TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True) computes
/// it: lower case, tokens of two or more word characters, tf = 1 + ln(count), idf = ln((1 + n) / (1 + df)) + 1, rows
/// scaled to unit L2 norm. Terms not seen in fitting are ignored.
/// </summary>
public sealed partial class TfidfVectorizer
{
    /// <summary>scikit-learn's default token pattern, <c>(?u)\b\w\w+\b</c>.</summary>
    public const string TokenPattern = @"\b\w\w+\b";

    private readonly Dictionary<string, int> _vocabulary;

    /// <summary>Rebuilds a fitted vectorizer from its terms (index = column) and their idf.</summary>
    public TfidfVectorizer(IReadOnlyList<string> terms, IReadOnlyList<double> idf)
    {
        ArgumentNullException.ThrowIfNull(terms);
        ArgumentNullException.ThrowIfNull(idf);
        if (terms.Count != idf.Count) throw new ArgumentException($"{terms.Count} terms but {idf.Count} idf values", nameof(idf));
        Terms = terms;
        Idf = idf;
        _vocabulary = new Dictionary<string, int>(terms.Count, StringComparer.Ordinal);
        for (var i = 0; i < terms.Count; i++) _vocabulary.Add(terms[i], i);
    }

    /// <summary>The terms, in column order (sorted ordinally, as scikit-learn sorts its vocabulary).</summary>
    public IReadOnlyList<string> Terms { get; }

    /// <summary>The smoothed inverse document frequency of each term.</summary>
    public IReadOnlyList<double> Idf { get; }

    /// <summary>Learns the vocabulary and idf of <paramref name="documents"/>.</summary>
    public static TfidfVectorizer Fit(IReadOnlyList<string> documents)
    {
        ArgumentNullException.ThrowIfNull(documents);
        var df = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var doc in documents)
        {
            foreach (var term in DocumentTerms(doc).Distinct(StringComparer.Ordinal))
                df[term] = df.GetValueOrDefault(term) + 1;
        }
        var terms = df.Keys.Order(StringComparer.Ordinal).ToArray();
        var n = documents.Count;
        var idf = terms.Select(t => Math.Log((1.0 + n) / (1.0 + df[t])) + 1.0).ToArray();
        return new TfidfVectorizer(terms, idf);
    }

    /// <summary>The TF-IDF rows of <paramref name="documents"/>.</summary>
    public FeatureMatrix Transform(IReadOnlyList<string> documents)
    {
        ArgumentNullException.ThrowIfNull(documents);
        return FeatureMatrix.Sparse(documents.Select(TransformOne).ToArray(), Math.Max(1, Terms.Count));
    }

    /// <summary>The TF-IDF row of one document.</summary>
    public SparseVector TransformOne(string document)
    {
        ArgumentNullException.ThrowIfNull(document);
        var counts = new SortedDictionary<int, int>();
        foreach (var term in DocumentTerms(document))
        {
            if (_vocabulary.TryGetValue(term, out var index)) counts[index] = counts.GetValueOrDefault(index) + 1;
        }
        var indices = counts.Keys.ToArray();
        var values = new double[indices.Length];
        double norm = 0;
        var k = 0;
        foreach (var (index, count) in counts)
        {
            values[k] = (1.0 + Math.Log(count)) * Idf[index];
            norm += values[k] * values[k];
            k++;
        }
        norm = Math.Sqrt(norm);
        return new SparseVector(indices, values.Select(v => (float)(norm > 0 ? v / norm : 0)).ToArray());
    }

    /// <summary>The 1- and 2-gram terms of a document, in order of appearance (repeats kept).</summary>
    internal static IEnumerable<string> DocumentTerms(string document)
    {
        var tokens = Tokens(document);
        foreach (var t in tokens) yield return t;
        for (var i = 0; i + 1 < tokens.Count; i++) yield return tokens[i] + " " + tokens[i + 1];
    }

    /// <summary>The lower-cased tokens of a document.</summary>
    internal static List<string> Tokens(string document) =>
        TokenRegex().Matches(document.ToLowerInvariant()).Select(m => m.Value).ToList();

    [GeneratedRegex(TokenPattern, RegexOptions.CultureInvariant)]
    private static partial Regex TokenRegex();
}
