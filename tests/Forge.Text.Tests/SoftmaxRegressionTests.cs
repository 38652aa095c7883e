using System.Text.Json;
using Forge.Core;
using Forge.Text;

namespace Forge.Text.Tests;

public sealed class SoftmaxRegressionTests
{
    [Fact]
    public void Separable_classes_are_all_predicted_right()
    {
        var rows = new List<float[]>();
        var labels = new List<int>();
        for (var i = 0; i < 30; i++)
        {
            var c = i % 3;
            rows.Add([c == 0 ? 3f : 0f, c == 1 ? 3f : 0f, (i % 5) * 0.1f]);
            labels.Add(c);
        }

        var model = SoftmaxRegression.Fit(FeatureMatrix.Dense(rows, 3), labels, 3, new SoftmaxRegressionOptions { C = 10 });
        var p = model.PredictProbabilities(FeatureMatrix.Dense(rows, 3));

        for (var i = 0; i < rows.Count; i++)
        {
            Assert.Equal(labels[i], ClassificationMetrics.ArgMax(p[i]));
            Assert.InRange(p[i].Sum(), 0.99999f, 1.00001f);
        }
    }

    [Fact]
    public void Probabilities_match_scikit_learn_on_a_three_class_problem()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "golden", "softmax.json")));
        var root = doc.RootElement;
        var x = root.GetProperty("x").EnumerateArray().Select(r => r.EnumerateArray().Select(v => v.GetSingle()).ToArray()).ToArray();
        var y = root.GetProperty("y").EnumerateArray().Select(v => v.GetInt32()).ToArray();
        var expected = root.GetProperty("probabilities").EnumerateArray().Select(r => r.EnumerateArray().Select(v => v.GetDouble()).ToArray()).ToArray();

        var model = SoftmaxRegression.Fit(FeatureMatrix.Dense(x, 3), y, 3,
            new SoftmaxRegressionOptions { C = root.GetProperty("C").GetDouble(), Tolerance = 1e-10 });
        var p = model.PredictProbabilities(FeatureMatrix.Dense(x, 3));

        for (var i = 0; i < x.Length; i++)
        {
            for (var c = 0; c < 3; c++)
                Assert.InRange(p[i][c] - expected[i][c], -1e-5, 1e-5);
        }
    }

    [Fact]
    public void The_gradient_is_zero_at_the_fitted_optimum_and_not_before()
    {
        var random = new Random(5);
        var rows = Enumerable.Range(0, 60).Select(_ => Enumerable.Range(0, 4).Select(_ => (float)random.NextDouble()).ToArray()).ToArray();
        var labels = rows.Select(r => r[0] + r[1] > 1 ? 1 : 0).ToArray();
        var x = FeatureMatrix.Dense(rows, 4);

        var model = SoftmaxRegression.Fit(x, labels, 2, new SoftmaxRegressionOptions { C = 2, Tolerance = 1e-9 });
        var objective = new SoftmaxRegression.Objective(x, labels, 2, 2);
        var theta = model.Weights.Concat(model.Bias).ToArray();
        var gradient = new double[theta.Length];
        var value = objective.Evaluate(theta, gradient);
        var atZero = new double[theta.Length];
        objective.Evaluate(new double[theta.Length], atZero);

        Assert.All(gradient, g => Assert.InRange(g, -1e-8, 1e-8));
        Assert.Contains(atZero, g => Math.Abs(g) > 1e-3);
        Assert.Equal(model.Fit.Objective, value, 12);
        // Moving any parameter a little either way can only raise a convex objective at its minimum.
        for (var j = 0; j < theta.Length; j++)
        {
            foreach (var delta in new[] { -1e-3, 1e-3 })
            {
                var moved = (double[])theta.Clone();
                moved[j] += delta;
                Assert.True(objective.Evaluate(moved, new double[theta.Length]) > value);
            }
        }
    }

    [Fact]
    public void Sparse_and_dense_rows_give_the_same_model()
    {
        var dense = new[] { new float[] { 1, 0, 2 }, [0, 3, 0], [1, 1, 0], [0, 0, 1] };
        var sparse = dense.Select(r => new SparseVector(
            r.Select((v, i) => (v, i)).Where(p => p.v != 0).Select(p => p.i).ToArray(),
            r.Where(v => v != 0).ToArray())).ToArray();
        int[] y = [0, 1, 1, 0];

        var a = SoftmaxRegression.Fit(FeatureMatrix.Dense(dense, 3), y, 2);
        var b = SoftmaxRegression.Fit(FeatureMatrix.Sparse(sparse, 3), y, 2);

        Assert.Equal(a.Weights, b.Weights);
        Assert.Equal(a.Bias, b.Bias);
    }

    [Fact]
    public void Bad_options_are_reported_together()
    {
        var e = Assert.Throws<UsageException>(() => new SoftmaxRegressionOptions { C = 0, MaxIterations = 0 }.Validate());

        Assert.Contains("C must be a positive number", e.Message, StringComparison.Ordinal);
        Assert.Contains("max iterations", e.Message, StringComparison.Ordinal);
    }
}
