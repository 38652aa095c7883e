namespace Forge.Explainability.Tests;

public sealed class ExplanationTests
{
    /// <summary>Two rows, two outputs, two features: values 1..8, base values 0.5, 1.5, 2.5, 3.5.</summary>
    private static Explanation TwoByTwo(double[]? interactions = null) =>
        new("tree", ["a", "b"], 2, 2, [1, 2, 3, 4, 5, 6, 7, 8], [0.5, 1.5, 2.5, 3.5]) { Interactions = interactions };

    [Fact]
    public void Shape_mismatches_name_the_array_its_length_and_the_length_needed()
    {
        var values = Assert.Throws<ArgumentException>(() => new Explanation("m", ["a", "b"], 1, 2, [1, 2, 3], [0, 0]));
        Assert.StartsWith("values has 3 elements; 1 rows x 2 outputs x 2 features need 4", values.Message, StringComparison.Ordinal);
        Assert.Equal("values", values.ParamName);
        var baseValues = Assert.Throws<ArgumentException>(() => new Explanation("m", ["a", "b"], 1, 2, [1, 2, 3, 4], [0]));
        Assert.StartsWith("baseValues has 1 elements; 1 rows x 2 outputs need 2", baseValues.Message, StringComparison.Ordinal);
        Assert.Equal("baseValues", baseValues.ParamName);
        Assert.StartsWith("a feature name is null", Assert.Throws<ArgumentException>(() => new Explanation("m", ["a", null!], 1, 1, [1, 2], [0])).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => new Explanation(" ", ["a"], 1, 1, [1], [0]));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Explanation("m", ["a"], -1, 1, [], []));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Explanation("m", ["a"], 0, 0, [], []));

        void Refused(string expected, string param, Func<Explanation> create)
        {
            var e = Assert.Throws<ArgumentException>(() => create());
            Assert.StartsWith(expected, e.Message, StringComparison.Ordinal);
            Assert.Equal(param, e.ParamName);
        }

        Refused("Data has 3 elements; rows x features need 4", "Data", () => new Explanation("m", ["a", "b"], 2, 2, new double[8], new double[4]) { Data = [1, 2, 3] });
        Refused("Predictions has 2 elements; rows x outputs need 4", "Predictions", () => new Explanation("m", ["a", "b"], 2, 2, new double[8], new double[4]) { Predictions = [1, 2] });
        Refused("Interactions has 8 elements; rows x outputs x features x features need 16", "Interactions", () => TwoByTwo(new double[8]));
        Refused("ValueLabels has 1 elements; rows x features need 4", "ValueLabels", () => new Explanation("m", ["a", "b"], 2, 2, new double[8], new double[4]) { ValueLabels = ["x"] });
        Refused("FitScores has 5 elements; rows x outputs need 4", "FitScores", () => new Explanation("m", ["a", "b"], 2, 2, new double[8], new double[4]) { FitScores = [1, 2, 3, 4, 5] });
        Refused("3 output names for 2 outputs", "value", () => new Explanation("m", ["a", "b"], 2, 2, new double[8], new double[4]) { OutputNames = ["x", "y", "z"] });
        Refused("an output name is null", "value", () => new Explanation("m", ["a", "b"], 2, 2, new double[8], new double[4]) { OutputNames = ["x", null!] });
    }

    [Fact]
    public void Values_base_values_and_interactions_are_read_from_row_output_feature_order()
    {
        var interactions = Enumerable.Range(0, 16).Select(i => (double)i).ToArray();
        var e = TwoByTwo(interactions);

        Assert.Equal(7.0, e.Value(1, 0, 1));
        Assert.Equal(6.0, e.Value(1, 1));
        Assert.Equal([3.0, 4.0], e.Values(0, 1).ToArray());
        Assert.Equal(3.5, e.BaseValue(1, 1));
        Assert.Equal(1.5, e.BaseValue(0, 1));
        // [row][output][i][j]: row 1, output 0, i = 1, j = 0 is element ((1*2+0)*2+1)*2+0 = 10.
        Assert.Equal(10.0, e.Interaction(1, 1, 0));
        Assert.Equal(15.0, e.Interaction(1, 1, 1, 1));
        Assert.Equal(5.0, e.Interaction(0, 0, 1, 1));
        Assert.Equal(["output 0", "output 1"], e.OutputNames);
        Assert.Equal("model output", e.OutputSpace);
        Assert.Equal(2, e.RowCount);
        Assert.Equal(2, e.OutputCount);
        Assert.Equal(2, e.FeatureCount);
        Assert.Equal(["output"], new Explanation("m", ["a"], 1, 1, [1], [0]).OutputNames);
    }

    [Fact]
    public void Every_accessor_refuses_indices_outside_the_explanation()
    {
        var e = new Explanation("tree", ["a", "b"], 2, 2, new double[8], new double[4]) { Interactions = new double[16], Data = new double[4], Predictions = new double[4] };

        Assert.Throws<ArgumentOutOfRangeException>(() => e.Value(-1, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => e.Value(0, -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => e.Value(0, 0, -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => e.Values(2));
        Assert.Throws<ArgumentOutOfRangeException>(() => e.Values(0, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => e.BaseValue(2));
        Assert.Throws<ArgumentOutOfRangeException>(() => e.BaseValue(0, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => e.Prediction(2));
        Assert.Throws<ArgumentOutOfRangeException>(() => e.Prediction(0, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => e.DataValue(-1, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => e.DataValue(2, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => e.DataValue(0, -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => e.DataValue(0, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => e.Interaction(0, -1, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => e.Interaction(0, 2, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => e.Interaction(0, 0, -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => e.Interaction(0, 0, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => e.Interaction(2, 0, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => e.MeanAbsoluteValues(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => e.MeanAbsoluteValues(2));
        Assert.Equal(0.0, e.Value(1, 1, 1));
        Assert.Equal(0.0, e.Interaction(1, 1, 1, 1));
        Assert.Equal(0.0, e.DataValue(1, 1));
    }

    [Fact]
    public void Without_data_predictions_or_interactions_the_explanation_says_so()
    {
        var e = TwoByTwo();

        Assert.True(double.IsNaN(e.DataValue(1, 1)));
        Assert.True(double.IsNaN(e.Prediction(1, 1)));
        Assert.True(double.IsNaN(e.AdditivityGap(0)));
        Assert.Equal("b", e.DisplayLabel(1, 1));
        var missing = Assert.Throws<InvalidOperationException>(() => e.Interaction(0, 0, 0));
        Assert.Equal("this tree explanation has no interaction values; ask the explainer for them (TreeShapOptions.Interactions)", missing.Message);
    }

    [Fact]
    public void Additivity_gap_is_base_plus_values_minus_prediction_per_output()
    {
        var e = new Explanation("m", ["a", "b"], 1, 2, [1, 2, -3, 0.5], [10, 20]) { Predictions = [13, 17] };

        Assert.Equal(0.0, e.AdditivityGap(0, 0));
        Assert.Equal(0.5, e.AdditivityGap(0, 1));
    }

    [Fact]
    public void Labels_come_from_the_explainer_or_pair_the_name_with_the_formatted_value()
    {
        var labelled = new Explanation("lime", ["age", "income"], 2, 1, new double[4], new double[2])
        {
            Data = [30, 1000.5, 62, double.NaN],
            ValueLabels = ["age <= 40", "income > 900", "age > 40", "income <= 900"],
        };
        Assert.Equal("age > 40", labelled.DisplayLabel(1, 0));
        Assert.Equal("income > 900", labelled.DisplayLabel(0, 1));

        var plain = new Explanation("m", ["age", "income"], 2, 1, new double[4], new double[2]) { Data = [30, 1234.5678, 62, double.NaN] };
        Assert.Equal("age = 62", plain.DisplayLabel(1, 0));
        Assert.Equal("income = 1235", plain.DisplayLabel(0, 1));
        Assert.Equal("income = missing", plain.DisplayLabel(1, 1));

        // Words and regions are named by what they are; their "value" is only whether they are present.
        var text = new Explanation("lime", ["good", "movie"], 1, 1, new double[2], new double[1])
        {
            Data = [1, 1],
            Text = new TextLayout("good movie", [new TextToken(0, 4, 0), new TextToken(5, 5, 1)]),
        };
        Assert.Equal(ExplanationKind.Text, text.Kind);
        Assert.Equal("movie", text.DisplayLabel(0, 1));
        var image = new Explanation("lime", ["r0", "r1"], 1, 1, new double[2], new double[1])
        {
            Data = [1, 1],
            Image = new ImageLayout(new float[2], 1, 2, 1, [0, 1]),
        };
        Assert.Equal(ExplanationKind.Image, image.Kind);
        Assert.Equal("r0", image.DisplayLabel(0, 0));
    }

    [Fact]
    public void Global_importance_averages_absolute_values_per_output_and_ranks_ties_by_index()
    {
        var e = new Explanation("m", ["a", "b", "c"], 2, 2, [1, -2, 3, 0, 0, 0, -3, 2, 1, 5, 5, 5], new double[4]);

        Assert.Equal([2.0, 2.0, 2.0], e.MeanAbsoluteValues(0));
        Assert.Equal([0, 1, 2], e.RankFeatures(0));
        Assert.Equal([2.5, 2.5, 2.5], e.MeanAbsoluteValues(1));
        var skewed = new Explanation("m", ["a", "b", "c"], 2, 1, [0, -1, 4, 0, -3, 0], new double[2]);
        Assert.Equal([0.0, 2.0, 2.0], skewed.MeanAbsoluteValues());
        Assert.Equal([1, 2, 0], skewed.RankFeatures());

        var empty = new Explanation("m", ["a", "b"], 0, 1, [], []);
        Assert.Equal([0.0, 0.0], empty.MeanAbsoluteValues());
        Assert.Equal([0, 1], empty.RankFeatures());
    }

    [Theory]
    [InlineData(0.0, "0")]
    [InlineData(-0.5, "-0.5")]
    [InlineData(1.23456, "1.235")]
    [InlineData(9999999.0, "9999999")]
    [InlineData(10000000.0, "1E+07")]
    [InlineData(-10000000.0, "-1E+07")]
    [InlineData(2.5e-7, "2.5E-07")]
    public void Values_are_formatted_as_integers_below_ten_million_and_with_four_significant_digits_otherwise(double value, string expected) =>
        Assert.Equal(expected, Explanation.FormatValue(value));
}
