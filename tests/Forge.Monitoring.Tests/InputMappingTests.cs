using Forge.Core;

namespace Forge.Monitoring.Tests;

/// <summary>Text and image inputs as monitored columns: what a text or image bundle's profile and its live windows hold.</summary>
public sealed class InputMappingTests
{
    private static readonly string[] Labels = ["neg", "pos"];

    private static Prediction Classes(int rows, int seed = 1)
    {
        var rng = new Random(seed);
        return Prediction.Classes(Labels, [.. Enumerable.Range(0, rows).Select(_ =>
        {
            var p = (float)rng.NextDouble();
            return new[] { p, 1 - p };
        })]);
    }

    [Fact]
    public void A_text_input_becomes_a_text_column_and_without_embeddings_no_length_column()
    {
        var inputs = new Table(Column.String("text", ["good", "very bad indeed", null]));

        var set = ModelColumns.From(inputs, Classes(3), mapping: InputMapping.Text);

        Assert.Equal(["text", "prediction", "prediction_confidence"], set.Names.ToArray());
        Assert.Equal(ColumnKind.Text, set["text"].Kind);
        Assert.Equal(ColumnRole.Feature, set["text"].Role);
        Assert.Equal(["good", "very bad indeed", null], set["text"].StringValues);
        // The tabular mapping keeps strings categorical.
        Assert.Equal(ColumnKind.Categorical, ModelColumns.From(inputs)["text"].Kind);
    }

    [Fact]
    public void Embeddings_carried_by_the_prediction_go_to_the_text_column_and_the_length_gets_its_own()
    {
        var inputs = new Table(Column.String("text", ["ab", "abcd", "abcdef"]));
        var prediction = Classes(3).WithEmbeddings([[1f, 0f], [0f, 1f], [1f, 1f]]);

        var profile = ModelColumns.Profile(inputs, prediction, mapping: InputMapping.Text);

        Assert.Equal(["text", "text.length", "prediction", "prediction_confidence"], profile.Columns.Select(c => c.Name).ToArray());
        var text = profile.Column("text").Text!;
        Assert.Equal(3, text.Embedding!.Count);
        Assert.Equal(2.0 / 3, text.Embedding.Mean[0], 12);
        Assert.Equal(2.0 / 3, text.Embedding.Mean[1], 12);
        Assert.Equal(4.0, text.Length.Mean, 12);
        var length = profile.Column("text.length");
        Assert.Equal(ColumnKind.Numeric, length.Kind);
        Assert.Equal([2.0, 4.0, 6.0], length.Numeric!.Values!);
    }

    [Fact]
    public void A_mismatched_embedding_count_is_refused()
    {
        var inputs = new Table(Column.String("text", ["a", "b", "c"]));
        var prediction = Classes(2).WithEmbeddings([[1f], [2f]]);

        var e = Assert.Throws<DriftException>(() => ModelColumns.From(inputs, prediction, mapping: InputMapping.Text));
        Assert.Contains("2 embeddings for 3 texts in column 'text'", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => Classes(3).WithEmbeddings([[1f]]));
    }

    [Fact]
    public void Slicing_a_prediction_keeps_its_embeddings_row_for_row()
    {
        var prediction = Classes(4).WithEmbeddings([[0f], [1f], [2f], [3f]]);

        var slice = prediction.Slice(1, 2);

        Assert.Equal(2, slice.Embeddings!.Length);
        Assert.Equal(1f, slice.Embeddings[0][0]);
        Assert.Equal(2f, slice.Embeddings[1][0]);
        Assert.Null(Classes(2).Slice(0, 1).Embeddings);
    }

    [Fact]
    public void An_image_is_summarised_by_its_mean_intensity_and_contrast()
    {
        // Two 2x2 images: flat grey (contrast 0) and half black, half white (mean 0.5, contrast 0.5).
        var inputs = new Table(Column.Tensor("image", [4], [0.25f, 0.25f, 0.25f, 0.25f, 0f, 1f, 0f, 1f]));

        var set = ModelColumns.From(inputs, Classes(2), mapping: InputMapping.Images);

        Assert.Equal(["image.mean", "image.std", "prediction", "prediction_confidence"], set.Names.ToArray());
        var mean = set["image.mean"].NumericValues.ToArray();
        var std = set["image.std"].NumericValues.ToArray();
        Assert.InRange(mean[0] - 0.25, -1e-12, 1e-12);
        Assert.InRange(mean[1] - 0.5, -1e-12, 1e-12);
        Assert.InRange(std[0], -1e-12, 1e-12);
        Assert.InRange(std[1] - 0.5, -1e-12, 1e-12);
        // Without the image mapping tensors are skipped, as before.
        Assert.Equal(["prediction", "prediction_confidence"], ModelColumns.From(inputs, Classes(2)).Names.ToArray());
    }

    [Fact]
    public void The_mapping_is_read_back_from_the_profile_so_live_windows_get_the_same_columns()
    {
        var text = ModelColumns.Profile(new Table(Column.String("review", ["a", "bb"])), Classes(2), mapping: InputMapping.Text);
        var image = ModelColumns.Profile(new Table(Column.Tensor("pixels", [2], [0f, 1f, 1f, 1f])), Classes(2), mapping: InputMapping.Images);
        var tabular = ModelColumns.Profile(new Table(Column.String("colour", ["red", "blue"])), Classes(2));

        var fromText = InputMapping.Of(text);
        Assert.Equal(["review"], fromText.TextColumns);
        Assert.False(fromText.SummariseTensors);
        Assert.True(InputMapping.Of(image).SummariseTensors);
        Assert.Empty(InputMapping.Of(image).TextColumns);
        Assert.Empty(InputMapping.Of(tabular).TextColumns);
        Assert.False(InputMapping.Of(tabular).SummariseTensors);

        // A served batch mapped with the profile's mapping compares without a kind mismatch.
        var served = ModelColumns.From(new Table(Column.String("review", ["ccc", "d"])), Classes(2, seed: 2), mapping: fromText);
        var result = DataDrift.Compare(text, served);
        Assert.Equal(ColumnKind.Text, result.Columns.Single().Kind);
    }

    [Fact]
    public void Longer_texts_drift_on_length_and_moved_embeddings_on_embedding_distance()
    {
        var rng = new Random(7);
        string Sentence(int words) => string.Join(' ', Enumerable.Range(0, words).Select(_ => new string('w', 3 + rng.Next(5))));
        float[] Vector(double centre) => [(float)(centre + (rng.NextDouble() * 0.1)), (float)(rng.NextDouble() * 0.1)];
        Table Texts(int n, int words) => new(Column.String("text", [.. Enumerable.Range(0, n).Select(_ => Sentence(words + rng.Next(4)))]));

        var referenceTexts = Texts(400, 8);
        var reference = ModelColumns.Profile(referenceTexts, Classes(400).WithEmbeddings([.. Enumerable.Range(0, 400).Select(_ => Vector(0))]),
            mapping: InputMapping.Text);
        var mapping = InputMapping.Of(reference);

        var like = ModelColumns.From(Texts(200, 8), Classes(200, 3).WithEmbeddings([.. Enumerable.Range(0, 200).Select(_ => Vector(0))]), mapping: mapping);
        var likeResult = DataDrift.Compare(reference, like);
        Assert.False(likeResult.DatasetDrift);
        Assert.Equal("embedding_distance", likeResult.Columns.Single(c => c.Name == "text").Test);
        Assert.Equal("ks", likeResult.Columns.Single(c => c.Name == "text.length").Test);
        Assert.All(likeResult.Columns, c => Assert.False(c.Drifted, c.Name));

        var longer = ModelColumns.From(Texts(200, 30), Classes(200, 4).WithEmbeddings([.. Enumerable.Range(0, 200).Select(_ => Vector(0))]), mapping: mapping);
        var longerResult = DataDrift.Compare(reference, longer);
        Assert.True(longerResult.Columns.Single(c => c.Name == "text.length").Drifted);
        Assert.False(longerResult.Columns.Single(c => c.Name == "text").Drifted);
        Assert.True(longerResult.DatasetDrift);

        var moved = ModelColumns.From(Texts(200, 8), Classes(200, 5).WithEmbeddings([.. Enumerable.Range(0, 200).Select(_ => Vector(0.5))]), mapping: mapping);
        var movedResult = DataDrift.Compare(reference, moved);
        var text = movedResult.Columns.Single(c => c.Name == "text");
        Assert.True(text.Drifted);
        Assert.InRange(text.Statistic, 0.45, 0.55);
        Assert.False(movedResult.Columns.Single(c => c.Name == "text.length").Drifted);
    }
}
