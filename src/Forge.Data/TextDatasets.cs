using System.Globalization;
using System.Text;
using Forge.Core;

namespace Forge.Data;

/// <summary>Labelled texts: one class index per text, with the names of the classes.</summary>
public sealed class TextSet
{
    /// <summary>Wraps texts and labels (one per text, each below the class count).</summary>
    public TextSet(IReadOnlyList<string> texts, IReadOnlyList<int> labels, IReadOnlyList<string> classNames)
    {
        ArgumentNullException.ThrowIfNull(texts);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(classNames);
        if (texts.Count != labels.Count) throw new ArgumentException($"{texts.Count} texts but {labels.Count} labels", nameof(labels));
        for (var i = 0; i < labels.Count; i++)
        {
            if ((uint)labels[i] >= (uint)classNames.Count)
                throw new ArgumentException($"label {labels[i]} at index {i} is not below the class count {classNames.Count}", nameof(labels));
        }
        Texts = texts;
        Labels = labels;
        ClassNames = classNames;
    }

    /// <summary>The texts.</summary>
    public IReadOnlyList<string> Texts { get; }

    /// <summary>One class index per text.</summary>
    public IReadOnlyList<int> Labels { get; }

    /// <summary>The name of each class index.</summary>
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>The number of texts.</summary>
    public int Count => Texts.Count;

    /// <summary>The texts at <paramref name="indexes"/>, in that order.</summary>
    public TextSet Select(IReadOnlyList<int> indexes)
    {
        ArgumentNullException.ThrowIfNull(indexes);
        return new TextSet(indexes.Select(i => Texts[i]).ToArray(), indexes.Select(i => Labels[i]).ToArray(), ClassNames);
    }

    /// <summary>
    /// A stratified sample of this share of the texts (the whole set when <paramref name="share"/> is 1), drawn with
    /// <paramref name="seed"/>: every text trainer samples its training part this way, so at the same seed they learn
    /// from the same texts.
    /// </summary>
    public TextSet StratifiedShare(double share, int seed)
    {
        if (share >= 1) return this;
        var (_, sample) = DataSplits.Stratified(Labels, ClassNames.Count, share, seed);
        return Select(sample);
    }

    /// <summary>This set followed by <paramref name="other"/>, whose class names must be the same.</summary>
    public TextSet Concat(TextSet other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (!ClassNames.SequenceEqual(other.ClassNames))
            throw new ArgumentException($"class names differ: {string.Join(",", ClassNames)} vs {string.Join(",", other.ClassNames)}", nameof(other));
        return new TextSet([.. Texts, .. other.Texts], [.. Labels, .. other.Labels], ClassNames);
    }
}

/// <summary>Readers of the catalog's text datasets: UCI Sentiment Labelled Sentences and Twitter US Airline Sentiment.</summary>
public static class TextDatasets
{
    /// <summary>The three UCI files, in the order their sentences are returned.</summary>
    public static IReadOnlyList<string> SentimentFiles { get; } = ["amazon_cells_labelled.txt", "imdb_labelled.txt", "yelp_labelled.txt"];

    /// <summary>The tweets file of airline-tweets.</summary>
    public const string TweetsFile = "Tweets.csv";

    /// <summary>Finds a catalog text dataset as <c>forge train</c> does (downloads are off: neither is downloadable).</summary>
    public static ResolvedDataset Resolve(string name, string? dataDir = null) =>
        new DatasetResolver(new DatasetResolverOptions { DataDir = dataDir, AllowDownload = false }).Resolve(name);

    /// <summary>UCI Sentiment Labelled Sentences: the 3,000 sentences of the three files (Amazon, IMDb, Yelp), labels negative/positive.</summary>
    public static TextSet LoadSentiment(string directory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        var texts = new List<string>();
        var labels = new List<int>();
        foreach (var file in SentimentFiles)
        {
            var path = DatasetFiles.Locate(directory, file) ?? throw new ForgeException($"{directory}: {file} is missing");
            foreach (var (text, label) in ReadLabelledSentences(path))
            {
                texts.Add(text);
                labels.Add(label);
            }
        }
        return new TextSet(texts, labels, ["negative", "positive"]);
    }

    /// <summary>
    /// Reads one UCI file: records end at '\n' only, a trailing '\r' is dropped, and the label follows the record's last
    /// tab. Quotes are ordinary characters: the IMDb sentences hold unbalanced ones, which a quoting reader would merge.
    /// </summary>
    internal static List<(string Text, int Label)> ReadLabelledSentences(string path)
    {
        // Records are split by hand rather than with ReadLine: the format is defined by '\n', and any reader that also
        // honours other line ends ('\r' alone, or U+0085 as some readers do) would cut the IMDb sentences that hold U+0085.
        var content = DatasetFiles.ReadAllText(path);
        var result = new List<(string, int)>();
        var lineNumber = 0;
        var start = 0;
        while (start < content.Length)
        {
            var end = content.IndexOf('\n', start);
            if (end < 0) end = content.Length;
            lineNumber++;
            var record = content.AsSpan(start, end - start);
            start = end + 1;
            if (record.EndsWith("\r")) record = record[..^1];
            if (record.IsEmpty && start >= content.Length) break;
            var tab = record.LastIndexOf('\t');
            if (tab < 0) throw new DataFormatException(path, $"line {lineNumber}: no tab before the label");
            var label = record[(tab + 1)..].Trim();
            var value = label switch
            {
                "0" => 0,
                "1" => 1,
                _ => throw new DataFormatException(path, $"line {lineNumber}: label '{label}' is not 0 or 1"),
            };
            result.Add((record[..tab].ToString(), value));
        }
        return result;
    }

    /// <summary>
    /// Twitter US Airline Sentiment, each tweet_id once (the first occurrence kept): 3 classes negative/neutral/positive,
    /// or with <paramref name="binary"/> the neutral tweets dropped (after de-duplication) and labels negative/positive.
    /// </summary>
    public static TextSet LoadAirlineTweets(string directory, bool binary = false)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        var path = DatasetFiles.Locate(directory, TweetsFile) ?? throw new ForgeException($"{directory}: {TweetsFile} is missing");
        var tweets = ReadTweets(path);
        string[] classes = binary ? ["negative", "positive"] : ["negative", "neutral", "positive"];
        var texts = new List<string>();
        var labels = new List<int>();
        foreach (var t in tweets.Unique)
        {
            if (binary && t.Sentiment == "neutral") continue;
            texts.Add(t.Text);
            labels.Add(Array.IndexOf(classes, t.Sentiment));
        }
        return new TextSet(texts, labels, classes);
    }

    /// <summary>One row of Tweets.csv.</summary>
    internal sealed record Tweet(string Id, string Sentiment, string Text);

    /// <summary>Every row of Tweets.csv and the rows left after dropping repeated tweet ids.</summary>
    internal sealed record TweetFile(IReadOnlyList<Tweet> Rows, IReadOnlyList<Tweet> Unique);

    internal static TweetFile ReadTweets(string path)
    {
        List<string[]> records;
        using (var reader = new StringReader(DatasetFiles.ReadAllText(path)))
            records = Csv.Read(reader, path);
        if (records.Count == 0) throw new DataFormatException(path, "empty file (expected a header line)");
        var header = records[0];
        var columns = Csv.Columns(header, path, "tweet_id", "airline_sentiment", "text");
        var rows = new List<Tweet>(records.Count - 1);
        for (var r = 1; r < records.Count; r++)
        {
            var record = records[r];
            if (record.Length != header.Length)
                throw new DataFormatException(path, $"record {r + 1}: {record.Length} fields, the header has {header.Length}");
            var sentiment = record[columns[1]];
            if (sentiment is not ("negative" or "neutral" or "positive"))
                throw new DataFormatException(path, $"record {r + 1}: airline_sentiment '{sentiment}' is not negative, neutral or positive");
            var id = record[columns[0]];
            if (id.Length == 0 || !id.All(char.IsAsciiDigit))
                throw new DataFormatException(path, $"record {r + 1}: tweet_id '{id}' is not a number");
            rows.Add(new Tweet(id, sentiment, record[columns[2]]));
        }
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var unique = rows.Where(t => seen.Add(t.Id)).ToList();
        return new TweetFile(rows, unique);
    }

    /// <summary>Counts of each label, for messages and model cards ("negative 1,500, positive 1,500").</summary>
    public static string Describe(TextSet set)
    {
        ArgumentNullException.ThrowIfNull(set);
        var counts = new int[set.ClassNames.Count];
        foreach (var l in set.Labels) counts[l]++;
        return string.Join(", ", set.ClassNames.Select((c, i) => string.Create(CultureInfo.InvariantCulture, $"{c} {counts[i]:N0}")));
    }

    internal static Encoding Utf8Strict { get; } = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
}
