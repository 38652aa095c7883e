using System.Text;
using System.Text.RegularExpressions;
using Forge.Core;

namespace Forge.Explainability.Lime;

/// <summary>Options of <see cref="LimeTextExplainer"/>.</summary>
public sealed record LimeTextOptions
{
    /// <summary>Perturbed texts (the first is the text itself). Default 5000.</summary>
    public int Samples { get; init; } = 5000;

    /// <summary>Width of the kernel on cosine distance x 100. Default 25 (LIME's).</summary>
    public double KernelWidth { get; init; } = 25;

    /// <summary>What separates words (a regular expression). Default <c>\W+</c>.</summary>
    public string SplitPattern { get; init; } = @"\W+";

    /// <summary>One feature per distinct word, all its occurrences removed together (true, default), or one per position.</summary>
    public bool BagOfWords { get; init; } = true;

    /// <summary>Ridge penalty of the surrogate. Default 1.</summary>
    public double Ridge { get; init; } = 1;

    /// <summary>Texts per call of the classifier. Default 512.</summary>
    public int BatchSize { get; init; } = 512;

    /// <summary>Seed of the sampling. Default 0.</summary>
    public int Seed { get; init; }

    /// <summary>Names of the classifier's outputs, or null.</summary>
    public IReadOnlyList<string>? OutputNames { get; init; }

    /// <summary>Reports every problem at once.</summary>
    public void Validate()
    {
        var problems = new List<string>();
        if (Samples < 2) problems.Add($"Samples must be at least 2 (is {Samples})");
        if (!(KernelWidth > 0)) problems.Add($"KernelWidth must be positive (is {KernelWidth})");
        if (!(Ridge >= 0)) problems.Add($"Ridge must be zero or positive (is {Ridge})");
        if (BatchSize < 1) problems.Add($"BatchSize must be at least 1 (is {BatchSize})");
        if (string.IsNullOrEmpty(SplitPattern)) problems.Add("SplitPattern must not be empty");
        if (problems.Count > 0) throw new UsageException("invalid LIME text options: " + string.Join("; ", problems));
    }
}

/// <summary>
/// LIME for text: words are the features. Samples remove a random number of randomly chosen words, the classifier
/// scores every sample, and a ridge surrogate weighted by the cosine distance to the full text gives each word's
/// effect per class. The explanation keeps the text and word positions for highlighting.
/// </summary>
public sealed class LimeTextExplainer : IExplainer<string>
{
    private readonly Func<IReadOnlyList<string>, double[][]> _classifier;
    private readonly Regex _separator;

    /// <summary>Wraps a batched text classifier (texts in, one score vector per text out).</summary>
    public LimeTextExplainer(Func<IReadOnlyList<string>, double[][]> classifier, LimeTextOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(classifier);
        Options = options ?? new LimeTextOptions();
        Options.Validate();
        _classifier = classifier;
        _separator = new Regex(Options.SplitPattern, RegexOptions.CultureInvariant, TimeSpan.FromSeconds(5));
    }

    /// <inheritdoc/>
    public string Method => "lime";

    /// <summary>The options in force.</summary>
    public LimeTextOptions Options { get; }

    /// <summary>The words of a text as (start, length) spans between separators.</summary>
    public IReadOnlyList<(int Start, int Length)> Words(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var words = new List<(int, int)>();
        var position = 0;
        foreach (Match separator in _separator.Matches(text))
        {
            if (separator.Length == 0) continue;
            if (separator.Index > position) words.Add((position, separator.Index - position));
            position = separator.Index + separator.Length;
        }
        if (position < text.Length) words.Add((position, text.Length - position));
        return words;
    }

    /// <inheritdoc/>
    public Explanation Explain(string input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var words = Words(input);
        if (words.Count == 0) throw new UsageException("the text has no words to explain");
        var features = new List<string>();
        var tokens = new List<TextToken>();
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (start, length) in words)
        {
            var word = input.Substring(start, length);
            int feature;
            if (!Options.BagOfWords)
            {
                feature = features.Count;
                features.Add(word);
            }
            else if (!index.TryGetValue(word, out feature))
            {
                feature = features.Count;
                index[word] = feature;
                features.Add(word);
            }
            tokens.Add(new TextToken(start, length, feature));
        }
        var d = features.Count;
        var s = Options.Samples;
        var rng = new Random(Options.Seed);
        var design = new double[s * d];
        Array.Fill(design, 1.0);
        var order = Enumerable.Range(0, d).ToArray();
        for (var i = 1; i < s; i++)
        {
            var remove = rng.Next(1, d + 1);
            rng.Shuffle(order);
            for (var j = 0; j < remove; j++) design[i * d + order[j]] = 0;
        }

        var texts = new string[s];
        for (var i = 0; i < s; i++) texts[i] = Without(input, tokens, design.AsSpan(i * d, d));
        var outputs = Classify(texts, out var k);

        var weights = new double[s];
        for (var i = 0; i < s; i++)
        {
            var active = 0.0;
            for (var j = 0; j < d; j++) active += design[i * d + j];
            // Cosine distance to the all-ones vector (an empty text is at distance 1), scaled by 100 as LIME does.
            var distance = (active == 0 ? 1 : 1 - Math.Sqrt(active / d)) * 100;
            weights[i] = Math.Sqrt(Math.Exp(-distance * distance / (Options.KernelWidth * Options.KernelWidth)));
        }
        var values = new double[k * d];
        var intercepts = new double[k];
        var scores = new double[k];
        LimeFit.Fit(design, outputs, weights, s, d, k, Options.Ridge, null, values, intercepts, scores);
        if (Options.OutputNames is not null && Options.OutputNames.Count != k)
            throw new UsageException($"{Options.OutputNames.Count} output names for a classifier that gives {k} scores");
        return new Explanation(Method, features, 1, k, values, intercepts)
        {
            OutputNames = Options.OutputNames ?? Explanation.DefaultOutputNames(k),
            OutputSpace = "classifier output",
            Predictions = outputs.AsSpan(0, k).ToArray(),
            FitScores = scores,
            Text = new TextLayout(input, tokens),
        };
    }

    /// <summary>The text with the words of switched-off features removed; separators stay.</summary>
    private static string Without(string text, List<TextToken> tokens, ReadOnlySpan<double> on)
    {
        var sb = new StringBuilder(text.Length);
        var position = 0;
        foreach (var t in tokens)
        {
            sb.Append(text, position, t.Start - position);
            if (on[t.Feature] != 0) sb.Append(text, t.Start, t.Length);
            position = t.Start + t.Length;
        }
        sb.Append(text, position, text.Length - position);
        return sb.ToString();
    }

    private double[] Classify(string[] texts, out int k)
    {
        double[]? outputs = null;
        k = 0;
        for (var start = 0; start < texts.Length; start += Options.BatchSize)
        {
            var batch = texts.AsSpan(start, Math.Min(Options.BatchSize, texts.Length - start)).ToArray();
            var scores = _classifier(batch) ?? throw new ForgeException("the text classifier returned null");
            if (scores.Length != batch.Length)
                throw new ForgeException($"the text classifier returned {scores.Length} results for {batch.Length} texts");
            for (var i = 0; i < scores.Length; i++)
            {
                if (outputs is null)
                {
                    k = scores[i]?.Length ?? 0;
                    if (k == 0) throw new ForgeException("the text classifier returned an empty score vector");
                    outputs = new double[texts.Length * k];
                }
                if (scores[i] is null || scores[i].Length != k)
                    throw new ForgeException($"the text classifier returned {scores[i]?.Length ?? 0} scores for one text and {k} for another");
                scores[i].CopyTo(outputs, (start + i) * k);
            }
        }
        return outputs!;
    }
}
