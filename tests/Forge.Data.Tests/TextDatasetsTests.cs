using System.Text;
using Forge.Core;
using Forge.Data;

namespace Forge.Data.Tests;

public sealed class TextDatasetsTests : IDisposable
{
    private const string Uci = "sentiment-labelled-sentences";
    private const string Tweets = "twitter-airline-sentiment";
    private readonly TempDir _temp = new("forge-text-data-");

    public void Dispose() => _temp.Dispose();

    private string Write(string name, string content)
    {
        var path = _temp.Combine(name);
        File.WriteAllText(path, content, new UTF8Encoding(false));
        return path;
    }

    [Fact]
    public void A_record_is_split_on_its_last_tab_and_quotes_are_ordinary_characters()
    {
        var path = Write("x.txt", "a\tb \"quoted\t0\r\n\"unbalanced  \t1\nlast\t0");

        var rows = TextDatasets.ReadLabelledSentences(path);

        Assert.Equal([("a\tb \"quoted", 0), ("\"unbalanced  ", 1), ("last", 0)], rows);
    }

    [Fact]
    public void U0085_stays_inside_a_sentence_and_only_LF_ends_a_record()
    {
        var path = Write("x.txt", "one\u0085two\t1\nthree\rfour\t0\n");

        var rows = TextDatasets.ReadLabelledSentences(path);

        // A lone '\r' is not a record end in this format either: it stays in the text, where a tokenizer treats it as space.
        Assert.Equal([("one\u0085two", 1), ("three\rfour", 0)], rows);
        // .NET's own ReadLine would have split "three\rfour": the reason the reader splits on '\n' by hand.
        using var reader = new StringReader("one\u0085two\nthree\rfour\n");
        Assert.Equal("one\u0085two", reader.ReadLine());
        Assert.Equal("three", reader.ReadLine());
    }

    [Fact]
    public void A_bad_record_names_the_file_and_line()
    {
        var noTab = Write("no-tab.txt", "fine\t1\nno tab here\n");
        var badLabel = Write("bad-label.txt", "fine\t1\nok\t0\nwhat\tyes\n");

        var e1 = Assert.Throws<DataFormatException>(() => TextDatasets.ReadLabelledSentences(noTab));
        var e2 = Assert.Throws<DataFormatException>(() => TextDatasets.ReadLabelledSentences(badLabel));

        Assert.Equal($"{noTab}: line 2: no tab before the label", e1.Message);
        Assert.Equal($"{badLabel}: line 3: label 'yes' is not 0 or 1", e2.Message);
    }

    [SharedDataFact(Uci)]
    public void The_UCI_files_give_3000_sentences_half_positive_with_U0085_kept()
    {
        var set = TextDatasets.LoadSentiment(SharedData.Dir(Uci));

        Assert.Equal(3000, set.Count);
        Assert.Equal(1500, set.Labels.Count(l => l == 1));
        Assert.Equal(["negative", "positive"], set.ClassNames);
        Assert.Equal(2, set.Texts.Count(t => t.Contains('\u0085', StringComparison.Ordinal)));
        Assert.DoesNotContain(set.Texts, t => t.Contains('\t', StringComparison.Ordinal) || t.Contains('\n', StringComparison.Ordinal));
        Assert.StartsWith("So there is no way for me to plug it in here in the US", set.Texts[0], StringComparison.Ordinal);
    }

    [Fact]
    public void Csv_reads_quoted_commas_doubled_quotes_and_line_breaks()
    {
        var text = "id,text\r\n1,\"hello, \"\"world\"\"\nsecond line\"\r\n2,plain\n3,\"\"\n";

        var records = Csv.Read(new StringReader(text), "t.csv");

        Assert.Equal(4, records.Count);
        Assert.Equal(["1", "hello, \"world\"\nsecond line"], records[1]);
        Assert.Equal(["2", "plain"], records[2]);
        Assert.Equal(["3", ""], records[3]);
    }

    [Fact]
    public void Csv_errors_name_the_source_and_line()
    {
        var open = Assert.Throws<DataFormatException>(() => Csv.Read(new StringReader("a,b\n1,\"never closed\n"), "t.csv"));
        var stray = Assert.Throws<DataFormatException>(() => Csv.Read(new StringReader("a,b\n1,\"x\"y\n"), "t.csv"));
        var missing = Assert.Throws<DataFormatException>(() => Csv.Columns(["tweet_id", "txt"], "t.csv", "text"));

        Assert.Equal("t.csv: line 2: a quoted field is not closed before the end of the file", open.Message);
        Assert.Equal("t.csv: line 2: unexpected 'y' after a closing quote", stray.Message);
        Assert.Equal("t.csv: no column 'text' in the header; did you mean 'txt'?", missing.Message);
    }

    [Fact]
    public void Csv_writing_quotes_only_what_needs_it_and_reads_back()
    {
        using var writer = new StringWriter();
        string[] fields = ["plain", "a,b", "say \"hi\"", "two\nlines", ""];

        Csv.WriteRecord(writer, fields);

        Assert.Equal("plain,\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\",\r\n", writer.ToString());
        Assert.Equal(fields, Assert.Single(Csv.Read(new StringReader(writer.ToString()), "w.csv")));
    }

    [Fact]
    public void Tweets_keep_the_first_row_of_a_repeated_id_and_binary_drops_neutral_after_that()
    {
        Write("Tweets.csv", "tweet_id,airline_sentiment,text\n1,positive,\"great, thanks\"\n2,neutral,hm\n1,negative,dup\n3,negative,\"bad\nflight\"\n");

        var three = TextDatasets.LoadAirlineTweets(_temp.Path);
        var two = TextDatasets.LoadAirlineTweets(_temp.Path, binary: true);

        Assert.Equal(["great, thanks", "hm", "bad\nflight"], three.Texts);
        Assert.Equal([2, 1, 0], three.Labels);
        Assert.Equal(["great, thanks", "bad\nflight"], two.Texts);
        Assert.Equal([1, 0], two.Labels);
    }

    [SharedDataFact(Tweets)]
    public void Tweets_csv_has_14640_rows_and_14485_distinct_ids()
    {
        var file = TextDatasets.ReadTweets(Path.Combine(SharedData.Dir(Tweets), TextDatasets.TweetsFile));

        Assert.Equal(14_640, file.Rows.Count);
        Assert.Equal(14_485, file.Unique.Count);
        // SOURCE.md's class counts are of the raw rows.
        Assert.Equal(9_178, file.Rows.Count(t => t.Sentiment == "negative"));
        Assert.Equal(3_099, file.Rows.Count(t => t.Sentiment == "neutral"));
        Assert.Equal(2_363, file.Rows.Count(t => t.Sentiment == "positive"));
        Assert.Contains(file.Rows, t => t.Text.Contains('\n', StringComparison.Ordinal));
        var binary = TextDatasets.LoadAirlineTweets(SharedData.Dir(Tweets), binary: true);
        Assert.Equal(file.Unique.Count(t => t.Sentiment != "neutral"), binary.Count);
    }

    [Fact]
    public void Stratified_split_keeps_class_shares_and_is_seeded()
    {
        var labels = Enumerable.Range(0, 1000).Select(i => i % 10 < 3 ? 1 : 0).ToArray();

        var (train, test) = DataSplits.Stratified(labels, 2, 0.2, seed: 7);
        var (_, again) = DataSplits.Stratified(labels, 2, 0.2, seed: 7);
        var (_, other) = DataSplits.Stratified(labels, 2, 0.2, seed: 8);

        Assert.Equal(200, test.Length);
        Assert.Equal(60, test.Count(i => labels[i] == 1));
        Assert.Equal(Enumerable.Range(0, 1000), train.Concat(test).Order());
        Assert.Equal(test, again);
        Assert.NotEqual(test, other);
    }

    [Fact]
    public void Stratified_folds_partition_the_samples_with_each_class_spread_evenly()
    {
        var labels = Enumerable.Range(0, 103).Select(i => i % 3 == 0 ? 1 : 0).ToArray();

        var folds = DataSplits.StratifiedFolds(labels, 2, 5, seed: 1);

        Assert.Equal(Enumerable.Range(0, 103), folds.SelectMany(f => f).Order());
        Assert.All(folds, f => Assert.InRange(f.Length, 20, 21));
        Assert.All(folds, f => Assert.InRange(f.Count(i => labels[i] == 1), 6, 7));
    }
}
