using Forge.Core;
using Forge.Explainability.Lime;

namespace Forge.Explainability.Tests;

public sealed class LimeTests
{
    private static readonly double[] Beta = [3, -2, 0.5, -1];

    private static IModelFunction Linear() => ModelFunction.FromRow(4, x => 1 + Beta[0] * x[0] + Beta[1] * x[1] + Beta[2] * x[2] + Beta[3] * x[3]);

    private static double[,] Training(int seed, int n = 500)
    {
        var rng = new Random(seed);
        var m = new double[n, 4];
        for (var i = 0; i < n; i++)
        {
            for (var j = 0; j < 4; j++) m[i, j] = rng.NextDouble() * 10;
        }
        return m;
    }

    [Fact]
    public void Without_bins_lime_recovers_the_coefficient_signs_and_their_ratios()
    {
        var training = Training(1);
        var lime = new LimeTabularExplainer(Linear(), training, new LimeTabularOptions { Discretizer = LimeDiscretizer.None, Samples = 2000, Ridge = 0 });
        var rows = new double[,] { { 2, 7, 5, 1 }, { 9, 1, 3, 8 } };

        var e = lime.Explain(rows);

        for (var r = 0; r < 2; r++)
        {
            for (var j = 0; j < 4; j++)
            {
                Assert.Equal(Math.Sign(Beta[j]), Math.Sign(e.Value(r, j)));
                // Standardised features: each coefficient is β times the column's (population) standard deviation.
                var column = Enumerable.Range(0, 500).Select(i => training[i, j]).ToArray();
                var sd = Math.Sqrt(column.Select(v => (v - column.Average()) * (v - column.Average())).Average());
                Assert.Equal(Beta[j], e.Value(r, j) / sd, 9);
            }
            Assert.True(e.FitScores![r] > 0.999, $"a linear model is fitted exactly by a linear surrogate (R² {e.FitScores[r]})");
        }
        Assert.Equal("lime", e.Method);
    }

    [Fact]
    public void With_quartile_bins_a_row_in_the_top_quartile_gets_the_coefficient_sign_and_the_bottom_the_opposite()
    {
        var lime = new LimeTabularExplainer(Linear(), Training(2), new LimeTabularOptions { Samples = 3000, Seed = 1 });
        var top = new double[,] { { 9.5, 9.5, 9.5, 9.5 } };
        var bottom = new double[,] { { 0.5, 0.5, 0.5, 0.5 } };

        var high = lime.Explain(top);
        var low = lime.Explain(bottom);

        for (var j = 0; j < 4; j++)
        {
            // "In the row's bin" means "high" for the top row and "low" for the bottom row.
            Assert.Equal(Math.Sign(Beta[j]), Math.Sign(high.Value(0, j)));
            Assert.Equal(-Math.Sign(Beta[j]), Math.Sign(low.Value(0, j)));
        }
        Assert.StartsWith("f0 > 7.", high.DisplayLabel(0, 0), StringComparison.Ordinal);
        Assert.StartsWith("f0 <= 2.", low.DisplayLabel(0, 0), StringComparison.Ordinal);
        Assert.Equal(Math.Round(0.75 * Math.Sqrt(4), 12), Math.Round(lime.KernelWidth, 12));
    }

    [Fact]
    public void Lime_ranks_the_two_features_that_matter_first()
    {
        var model = ModelFunction.FromRow(5, x => 4 * x[0] + 3 * x[1] * x[1] + 0.01 * x[4]);
        var rng = new Random(3);
        var training = new double[300, 5];
        for (var i = 0; i < 300; i++)
        {
            for (var j = 0; j < 5; j++) training[i, j] = rng.NextDouble() * 2 - 1;
        }
        var rows = new double[20, 5];
        for (var i = 0; i < 20; i++)
        {
            for (var j = 0; j < 5; j++) rows[i, j] = training[i, j];
        }

        var e = new LimeTabularExplainer(model, training, new LimeTabularOptions { Samples = 500 }).Explain(rows);

        Assert.Equal([0, 1], e.RankFeatures().Take(2).Order());
    }

    [Fact]
    public void Categorical_columns_and_missing_values_get_their_own_rules()
    {
        var training = new double[,] { { 0, 1 }, { 1, 2 }, { 2, double.NaN }, { 1, 4 }, { 0, 5 }, { 2, 6 } };
        var model = ModelFunction.FromRow(2, x => x[0] == 1 ? 5 : 0);
        var lime = new LimeTabularExplainer(model, training, new LimeTabularOptions { CategoricalFeatures = [0], Samples = 500, FeatureNames = ["colour", "size"] });

        var e = lime.Explain(new double[,] { { 1, double.NaN } });

        Assert.Equal("colour = 1", e.DisplayLabel(0, 0));
        Assert.Equal("size is missing", e.DisplayLabel(0, 1));
        Assert.True(e.Value(0, 0) > 2, $"being colour 1 is worth about 5, LIME says {e.Value(0, 0)}");
    }

    [Fact]
    public void Max_features_keeps_only_the_largest_weights()
    {
        var lime = new LimeTabularExplainer(Linear(), Training(4), new LimeTabularOptions { Discretizer = LimeDiscretizer.None, MaxFeatures = 2, Samples = 1000 });

        var e = lime.Explain(new double[,] { { 5, 5, 5, 5 } });

        Assert.Equal([0, 1], Enumerable.Range(0, 4).Where(j => e.Value(0, j) != 0));
    }

    [Fact]
    public void Bad_lime_options_are_reported_together()
    {
        var error = Assert.Throws<UsageException>(() => new LimeTabularExplainer(Linear(), Training(5),
            new LimeTabularOptions { Samples = 1, KernelWidth = 0, Ridge = -1, MaxFeatures = 0, CategoricalFeatures = [7], FeatureNames = ["a"] }));
        foreach (var part in new[] { "Samples", "KernelWidth", "Ridge", "MaxFeatures", "CategoricalFeatures", "FeatureNames" })
            Assert.Contains(part, error.Message, StringComparison.Ordinal);
        Assert.Throws<ForgeException>(() => new LimeTabularExplainer(Linear(), new double[10, 3]));
        Assert.Throws<UsageException>(() => new LimeTabularExplainer(Linear(), new double[1, 4]));
        Assert.Throws<UsageException>(() => new LimeTextExplainer(_ => [], new LimeTextOptions { Samples = 0, KernelWidth = -1, BatchSize = 0, SplitPattern = "" }));
        Assert.Throws<UsageException>(() => new LimeImageExplainer(_ => [], new LimeImageOptions { Segments = 0 }));
    }

    /// <summary>A toy sentiment model: +1 per "good"/"great", −1.5 per "bad", squashed to P(positive).</summary>
    private static double[][] Sentiment(IReadOnlyList<string> texts) =>
        texts.Select(t =>
        {
            var words = t.ToUpperInvariant().Split([' ', ',', '.'], StringSplitOptions.RemoveEmptyEntries);
            var score = words.Count(w => w is "GOOD" or "GREAT") - 1.5 * words.Count(w => w == "BAD");
            var p = 1 / (1 + Math.Exp(-score));
            return new[] { 1 - p, p };
        }).ToArray();

    [Fact]
    public void Text_lime_credits_the_positive_and_negative_words()
    {
        var lime = new LimeTextExplainer(Sentiment, new LimeTextOptions { Samples = 1500, OutputNames = ["negative", "positive"] });

        var e = lime.Explain("The food was good, the service bad, and the view great.");

        Assert.Equal(ExplanationKind.Text, e.Kind);
        var words = e.FeatureNames.ToList();
        Assert.Equal(["The", "food", "was", "good", "the", "service", "bad", "and", "view", "great"], words);
        var positive = e.Values(0, 1).ToArray();
        var all = string.Join(", ", words.Select((w, i) => $"{w}={positive[i]:F3}"));
        Assert.True(positive[words.IndexOf("good")] > 0.05, all);
        Assert.True(positive[words.IndexOf("great")] > 0.05, all);
        Assert.True(positive[words.IndexOf("bad")] < -0.05, all);
        Assert.True(Math.Abs(positive[words.IndexOf("food")]) < 0.02, $"a neutral word got {positive[words.IndexOf("food")]}");
        // The two outputs sum to one, so their surrogate weights are mirror images.
        Assert.InRange(e.Value(0, words.IndexOf("bad"), 0) + e.Value(0, words.IndexOf("bad"), 1), -1e-9, 1e-9);
        var token = e.Text!.Tokens[3];
        Assert.Equal("good", e.Text.Text.Substring(token.Start, token.Length));
        Assert.Equal(words.IndexOf("good"), token.Feature);
    }

    [Fact]
    public void Text_lime_removes_every_occurrence_of_a_word_together_unless_asked_per_position()
    {
        var seen = new List<string>();
        double[][] Spy(IReadOnlyList<string> texts)
        {
            seen.AddRange(texts);
            return texts.Select(_ => new[] { 0.0 }).ToArray();
        }

        var bag = new LimeTextExplainer(Spy, new LimeTextOptions { Samples = 50 }).Explain("ok ok fine");
        Assert.Equal(2, bag.FeatureCount);
        Assert.Equal("ok ok fine", seen[0]);
        Assert.DoesNotContain(seen, t => t.Contains("ok", StringComparison.Ordinal) && t.Split(' ', StringSplitOptions.RemoveEmptyEntries).Count(w => w == "ok") == 1);

        var positions = new LimeTextExplainer(Spy, new LimeTextOptions { Samples = 50, BagOfWords = false }).Explain("ok ok fine");
        Assert.Equal(3, positions.FeatureCount);
        Assert.Throws<UsageException>(() => new LimeTextExplainer(Spy).Explain(" ,.; "));
    }

    [Fact]
    public void A_text_classifier_that_returns_the_wrong_shape_is_reported()
    {
        Assert.Throws<ForgeException>(() => new LimeTextExplainer(_ => [[1.0]], new LimeTextOptions { Samples = 10 }).Explain("a b"));
        var calls = 0;
        Assert.Throws<ForgeException>(() => new LimeTextExplainer(t => t.Select(_ => ++calls == 3 ? new[] { 1.0 } : new[] { 1.0, 2.0 }).ToArray(), new LimeTextOptions { Samples = 10 }).Explain("a b"));
    }

    /// <summary>A 24 x 24 RGB image: a bright square top-left on a dark background.</summary>
    private static ImageInput Square()
    {
        var pixels = new float[24 * 24 * 3];
        for (var y = 0; y < 24; y++)
        {
            for (var x = 0; x < 24; x++)
            {
                var bright = y < 12 && x < 12;
                pixels[(y * 24 + x) * 3] = bright ? 0.9f : 0.1f;
                pixels[(y * 24 + x) * 3 + 1] = bright ? 0.8f : 0.2f;
                pixels[(y * 24 + x) * 3 + 2] = bright ? 0.1f : 0.3f;
            }
        }
        return new ImageInput(pixels, 24, 24, 3);
    }

    [Fact]
    public void Image_lime_credits_the_region_the_classifier_looks_at()
    {
        // The classifier scores the mean red of the top-left quadrant; hidden regions are painted grey.
        double[][] Classifier(IReadOnlyList<float[]> images) => images.Select(img =>
        {
            var sum = 0.0;
            for (var y = 0; y < 12; y++)
            {
                for (var x = 0; x < 12; x++) sum += img[(y * 24 + x) * 3];
            }
            return new[] { sum / 144 };
        }).ToArray();
        var lime = new LimeImageExplainer(Classifier, new LimeImageOptions { Samples = 400, Segments = 16, HideColor = [0.5f, 0.5f, 0.5f] });

        var e = lime.Explain(Square());

        Assert.Equal(ExplanationKind.Image, e.Kind);
        var segments = e.Image!.Segments;
        for (var s = 0; s < e.FeatureCount; s++)
        {
            var pixels = Enumerable.Range(0, 24 * 24).Where(p => segments[p] == s).ToArray();
            var inside = pixels.All(p => p / 24 < 12 && p % 24 < 12);
            var outside = pixels.All(p => !(p / 24 < 12 && p % 24 < 12));
            if (inside) Assert.True(e.Value(0, s) > 0.01, $"segment {s} lies in the bright square, weight {e.Value(0, s)}");
            if (outside) Assert.InRange(e.Value(0, s), -0.01, 0.01);
        }
    }

    [Fact]
    public void Slic_segments_are_connected_cover_the_image_and_respect_colour_edges()
    {
        var image = Square();

        var (labels, count) = Superpixels.Slic(image, segments: 16, compactness: 5);

        Assert.InRange(count, 4, 40);
        Assert.Equal(24 * 24, labels.Length);
        Assert.All(labels, l => Assert.InRange(l, 0, count - 1));
        for (var s = 0; s < count; s++)
        {
            var pixels = Enumerable.Range(0, labels.Length).Where(p => labels[p] == s).ToArray();
            Assert.NotEmpty(pixels);
            Assert.Equal(pixels.Length, Reachable(labels, 24, 24, pixels[0]));
            // No segment mixes the bright square with the background.
            Assert.True(pixels.All(p => p / 24 < 12 && p % 24 < 12) || pixels.All(p => !(p / 24 < 12 && p % 24 < 12)), $"segment {s} straddles the square's edge");
        }
    }

    [Fact]
    public void Slic_works_on_grey_images_in_0_to_255_and_merges_specks()
    {
        var pixels = new float[20 * 30];
        for (var i = 0; i < pixels.Length; i++) pixels[i] = i % 30 < 15 ? 30 : 220;
        pixels[5 * 30 + 5] = 220; // a one-pixel speck

        var (labels, count) = Superpixels.Slic(new ImageInput(pixels, 20, 30, 1), segments: 6);

        Assert.InRange(count, 2, 12);
        for (var s = 0; s < count; s++)
            Assert.True(labels.Count(l => l == s) > 1, $"segment {s} is a single pixel");
    }

    private static int Reachable(int[] labels, int h, int w, int start)
    {
        var seen = new HashSet<int> { start };
        var queue = new Queue<int>([start]);
        while (queue.Count > 0)
        {
            var p = queue.Dequeue();
            foreach (var q in new[] { p - w, p + w, p % w > 0 ? p - 1 : -1, p % w < w - 1 ? p + 1 : -1 })
            {
                if (q >= 0 && q < h * w && labels[q] == labels[start] && seen.Add(q)) queue.Enqueue(q);
            }
        }
        return seen.Count;
    }
}
