using Forge.Core;
using Forge.Explainability;
using Forge.Tests.Shared;

namespace Forge.DeepLearning.Tests;

/// <summary>Integrated Gradients, saliency and GradientSHAP on a small MNIST CNN.</summary>
[Collection(TorchCollection.Name)]
public sealed class GradientAttributionTests(TorchFixture mnist, Xunit.Abstractions.ITestOutputHelper log)
{
    private static ImageClassifier? _model;
    private static readonly object Gate = new();

    private ImageClassifier Model()
    {
        lock (Gate)
        {
            return _model ??= new ImageClassifierTrainer(ModelSpec.Cnn() with { Channels = [8, 16] },
                new TrainerOptions { Epochs = 1, Augment = false, Threads = 1, Seed = 0 }).Fit(mnist.Train(2000));
        }
    }

    private ImageInput Image(int i)
    {
        var test = mnist.Test(i + 1);
        return new ImageInput([.. test.GetImage(i).ToArray().Select(b => b / 255f)], test.Height, test.Width, 1);
    }

    [SharedDataFact]
    public void Integrated_gradients_are_complete_within_one_percent_on_every_image()
    {
        var explainer = new GradientExplainer(Model());
        for (var i = 0; i < 8; i++)
        {
            var e = explainer.Explain(Image(i));
            var delta = e.Prediction(0) - e.BaseValue(0);
            // Completeness: Σ attributions = f(x) − f(baseline), within 1 % of the change explained.
            Assert.InRange(Math.Abs(e.AdditivityGap(0)), 0, 0.01 * Math.Abs(delta));
            Assert.Equal(28 * 28, e.FeatureCount);
            Assert.Equal(ExplanationKind.Image, e.Kind);
            Assert.Equal("ig", e.Method);
        }
    }

    [SharedDataFact]
    public void Pixels_that_are_black_in_the_image_and_the_baseline_get_no_integrated_gradient()
    {
        var image = Image(0);
        var e = new GradientExplainer(Model()).Explain(image);
        var values = e.Values(0).ToArray();
        for (var p = 0; p < values.Length; p++)
        {
            if (image.Pixels[p] == 0) Assert.Equal(0, values[p]);
        }
        Assert.Contains(values, v => v != 0);
    }

    [SharedDataFact]
    public void Saliency_is_non_negative_and_gradientshap_roughly_adds_up()
    {
        var image = Image(1);
        var saliency = new GradientExplainer(Model(), new GradientExplainerOptions { Method = GradientMethod.Saliency }).Explain(image);
        Assert.Equal("saliency", saliency.Method);
        Assert.All(saliency.Values(0).ToArray(), v => Assert.True(v >= 0));

        var shap = new GradientExplainer(Model(), new GradientExplainerOptions { Method = GradientMethod.GradientShap, Samples = 256, Seed = 1 }).Explain(image);
        var delta = shap.Prediction(0) - shap.BaseValue(0);
        // A Monte Carlo estimate of the same integral: additive in expectation, so within a loose share here.
        Assert.InRange(Math.Abs(shap.AdditivityGap(0)), 0, 0.15 * Math.Abs(delta) + 0.01);
    }

    [SharedDataFact]
    public void Completeness_error_over_fifty_test_images_is_reported()
    {
        // The numbers docs/interpretability.md quotes: fixed 64 intervals, then the default adaptive rule.
        var fixedSteps = new GradientExplainer(Model(), new GradientExplainerOptions { Steps = 64, MaxSteps = 64 });
        var adaptive = new GradientExplainer(Model());
        var fixedErrors = new List<double>();
        var adaptiveErrors = new List<double>();
        var steps = new List<int>();
        for (var i = 0; i < 50; i++)
        {
            var image = Image(i);
            var a = fixedSteps.Explain(image);
            fixedErrors.Add(Math.Abs(a.AdditivityGap(0)) / Math.Max(1e-12, Math.Abs(a.Prediction(0) - a.BaseValue(0))));
            var b = adaptive.Explain(image);
            adaptiveErrors.Add(Math.Abs(b.AdditivityGap(0)) / Math.Max(1e-12, Math.Abs(b.Prediction(0) - b.BaseValue(0))));
            steps.Add(adaptive.LastSteps);
            Assert.InRange(adaptiveErrors[^1], 0, 0.01);
        }
        fixedErrors.Sort();
        adaptiveErrors.Sort();
        log.WriteLine($"IG completeness, 50 MNIST test images, CNN [8,16] 1 epoch on 2000 images: 64 steps: median {fixedErrors[25]:P3}, max {fixedErrors[^1]:P3}; adaptive: median {adaptiveErrors[25]:P3}, max {adaptiveErrors[^1]:P3}, steps {steps.Min()}-{steps.Max()} (mean {steps.Average():F0})");
    }

    [Fact]
    public void Bad_options_are_reported_together()
    {
        var error = Assert.Throws<UsageException>(() => new GradientExplainerOptions { Steps = 0, Samples = 0, BatchSize = 0 }.Validate());
        Assert.Contains("Steps", error.Message, StringComparison.Ordinal);
        Assert.Contains("Samples", error.Message, StringComparison.Ordinal);
        Assert.Contains("BatchSize", error.Message, StringComparison.Ordinal);
    }
}
