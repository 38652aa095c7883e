using System.Globalization;
using Forge.Core;
using Forge.Explainability;
using TorchSharp;
using static TorchSharp.torch;

namespace Forge.DeepLearning;

/// <summary>Which gradient attribution a <see cref="GradientExplainer"/> computes.</summary>
public enum GradientMethod
{
    /// <summary>
    /// Integrated Gradients (Sundararajan et al. 2017): (x − baseline) times the mean gradient along the straight path
    /// from the baseline to x. Attributions add up to f(x) − f(baseline) (completeness).
    /// </summary>
    IntegratedGradients,

    /// <summary>Saliency (Simonyan et al. 2014): |∂f/∂x| at the input. Not additive; shows where the output is sensitive.</summary>
    Saliency,

    /// <summary>
    /// GradientSHAP (expected gradients): the mean of ∇f(b + α(x − b) + noise)·(x − b) over background images b and
    /// random α in [0, 1]. Adds up to f(x) − E[f(b)] in expectation.
    /// </summary>
    GradientShap,
}

/// <summary>Options of a <see cref="GradientExplainer"/>.</summary>
public sealed record GradientExplainerOptions
{
    /// <summary>The method. Default <see cref="GradientMethod.IntegratedGradients"/>.</summary>
    public GradientMethod Method { get; init; } = GradientMethod.IntegratedGradients;

    /// <summary>Integrated Gradients: intervals of the trapezoid rule along the path to start with. Default 64.</summary>
    public int Steps { get; init; } = 64;

    /// <summary>
    /// Integrated Gradients: the steps double (up to <see cref="MaxSteps"/>) until |Σ attributions − (f(x) − f(baseline))|
    /// is at most this share of |f(x) − f(baseline)|. Default 0.01 (1 %).
    /// </summary>
    public double CompletenessTolerance { get; init; } = 0.01;

    /// <summary>Integrated Gradients: the most intervals used. Default 1024.</summary>
    public int MaxSteps { get; init; } = 1024;

    /// <summary>GradientSHAP: samples (background image, α) per explanation. Default 64.</summary>
    public int Samples { get; init; } = 64;

    /// <summary>GradientSHAP: standard deviation of Gaussian noise added to each sample (pixel scale 0–1). Default 0.</summary>
    public double NoiseStd { get; init; }

    /// <summary>Integrated Gradients: the baseline pixel value (0 = black). Default 0.</summary>
    public float Baseline { get; init; }

    /// <summary>The class whose probability is explained; null for the predicted class. Default null.</summary>
    public int? Target { get; init; }

    /// <summary>Images per forward/backward pass. Default 64.</summary>
    public int BatchSize { get; init; } = 64;

    /// <summary>Seed of GradientSHAP's sampling. Default 0.</summary>
    public int Seed { get; init; }

    /// <summary>Reports every problem at once.</summary>
    public void Validate()
    {
        var problems = new List<string>();
        if (Steps < 1) problems.Add($"Steps must be at least 1 (is {Steps})");
        if (MaxSteps < Steps) problems.Add($"MaxSteps must be at least Steps (is {MaxSteps} < {Steps})");
        if (!(CompletenessTolerance >= 0)) problems.Add($"CompletenessTolerance must be zero or more (is {CompletenessTolerance})");
        if (Samples < 1) problems.Add($"Samples must be at least 1 (is {Samples})");
        if (!(NoiseStd >= 0)) problems.Add($"NoiseStd must be zero or more (is {NoiseStd})");
        if (BatchSize < 1) problems.Add($"BatchSize must be at least 1 (is {BatchSize})");
        if (Target is < 0) problems.Add($"Target must be a class index (is {Target})");
        if (problems.Count > 0) throw new UsageException("invalid gradient explainer options: " + string.Join("; ", problems));
    }
}

/// <summary>
/// Gradient attributions for a TorchSharp <see cref="ImageClassifier"/>: one value per pixel for the probability of
/// one class. The explanation's base value is f(baseline) (Integrated Gradients), the mean f over the background
/// (GradientSHAP) or 0 (saliency); its prediction is f(x), so <see cref="Explanation.AdditivityGap"/> is the
/// completeness error.
/// </summary>
public sealed class GradientExplainer : IExplainer<ImageInput>
{
    private readonly ImageClassifier _model;
    private readonly float[][] _background;
    private readonly object _gate = new();

    /// <summary>Prepares an explainer; <paramref name="background"/> (images of h × w values in 0–1) is GradientSHAP's, all black when null.</summary>
    public GradientExplainer(ImageClassifier model, GradientExplainerOptions? options = null, IReadOnlyList<float[]>? background = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        Options = options ?? new GradientExplainerOptions();
        Options.Validate();
        if (Options.Target is { } t && t >= model.Labels.Count)
            throw new UsageException($"target class {t} does not exist; the model has {model.Labels.Count} classes ({string.Join(", ", model.Labels)})");
        var per = model.Height * model.Width;
        _background = background is { Count: > 0 } ? [.. background] : [new float[per]];
        for (var i = 0; i < _background.Length; i++)
        {
            if (_background[i].Length != per)
                throw new UsageException($"background image {i} has {_background[i].Length} values; the model takes {model.Height}×{model.Width} = {per}");
        }
        _model = model;
    }

    /// <summary>The options in force.</summary>
    public GradientExplainerOptions Options { get; }

    /// <inheritdoc/>
    public string Method => Options.Method switch
    {
        GradientMethod.Saliency => "saliency",
        GradientMethod.GradientShap => "gradientshap",
        _ => "ig",
    };

    /// <summary>How many path intervals the last Integrated Gradients explanation needed to meet the tolerance.</summary>
    public int LastSteps { get; private set; }

    /// <inheritdoc/>
    public Explanation Explain(ImageInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Channels != 1 || input.Height != _model.Height || input.Width != _model.Width)
            throw new UsageException($"the image is {input.Height}×{input.Width}×{input.Channels}; {string.Join(", ", _model.Labels.Take(3))}… model takes {_model.Height}×{_model.Width} grey images (1 channel) in 0–1");
        var x = input.Pixels;
        var per = x.Length;
        lock (_gate)
        {
            using var scope = NewDisposeScope();
            var fx = Probabilities([x]);
            var target = Options.Target ?? ClassificationMetrics.ArgMax(fx[0]);
            var prediction = (double)fx[0][target];
            double[] values;
            double baseValue;
            switch (Options.Method)
            {
                case GradientMethod.Saliency:
                {
                    var g = Gradients([x], target)[0];
                    values = [.. g.Select(v => (double)Math.Abs(v))];
                    baseValue = 0;
                    break;
                }
                case GradientMethod.GradientShap:
                    (values, baseValue) = GradientShap(x, target);
                    break;
                default:
                    (values, baseValue) = IntegratedGradients(x, target, prediction);
                    break;
            }
            var names = new string[per];
            for (var i = 0; i < per; i++) names[i] = string.Create(CultureInfo.InvariantCulture, $"pixel ({i / input.Width}, {i % input.Width})");
            return new Explanation(Method, names, 1, 1, values, [baseValue])
            {
                OutputNames = [_model.Labels[target]],
                OutputSpace = "class probability",
                Predictions = [prediction],
                Image = new ImageLayout([.. x], input.Height, input.Width, 1, [.. Enumerable.Range(0, per)]),
            };
        }
    }

    private (double[] Values, double Base) IntegratedGradients(float[] x, int target, double fx)
    {
        var per = x.Length;
        var baseline = new float[per];
        Array.Fill(baseline, Options.Baseline);
        var fb = (double)Probabilities([baseline])[0][target];
        var steps = Options.Steps;
        double[] values;
        while (true)
        {
            // Trapezoid rule over α = 0, 1/m, …, 1: endpoints weigh half.
            var mean = new double[per];
            var alphas = Enumerable.Range(0, steps + 1).Select(i => (double)i / steps).ToArray();
            for (var s = 0; s < alphas.Length; s += Options.BatchSize)
            {
                var chunk = alphas.Skip(s).Take(Options.BatchSize).ToArray();
                var images = chunk.Select(a => Interpolate(baseline, x, a)).ToArray();
                var grads = Gradients(images, target);
                for (var i = 0; i < chunk.Length; i++)
                {
                    var w = (s + i == 0 || s + i == steps ? 0.5 : 1.0) / steps;
                    for (var p = 0; p < per; p++) mean[p] += w * grads[i][p];
                }
            }
            values = new double[per];
            var sum = 0.0;
            for (var p = 0; p < per; p++) sum += values[p] = (x[p] - baseline[p]) * mean[p];
            var delta = fx - fb;
            var error = Math.Abs(sum - delta);
            LastSteps = steps;
            if (error <= Options.CompletenessTolerance * Math.Abs(delta) || steps * 2 > Options.MaxSteps) break;
            steps *= 2;
        }
        return (values, fb);
    }

    private (double[] Values, double Base) GradientShap(float[] x, int target)
    {
        var per = x.Length;
        var rng = new Random(Options.Seed);
        var values = new double[per];
        var baseValue = _background.Select(b => (double)Probabilities([b])[0][target]).Average();
        var n = Options.Samples;
        for (var s = 0; s < n; s += Options.BatchSize)
        {
            var count = Math.Min(Options.BatchSize, n - s);
            var chosen = new float[count][];
            var images = new float[count][];
            for (var i = 0; i < count; i++)
            {
                chosen[i] = _background[rng.Next(_background.Length)];
                var image = Interpolate(chosen[i], x, rng.NextDouble());
                if (Options.NoiseStd > 0)
                {
                    for (var p = 0; p < per; p++) image[p] += (float)(Options.NoiseStd * Gaussian(rng));
                }
                images[i] = image;
            }
            var grads = Gradients(images, target);
            for (var i = 0; i < count; i++)
            {
                for (var p = 0; p < per; p++) values[p] += grads[i][p] * (x[p] - chosen[i][p]) / n;
            }
        }
        return (values, baseValue);
    }

    private static float[] Interpolate(float[] from, float[] to, double alpha)
    {
        var result = new float[to.Length];
        for (var p = 0; p < to.Length; p++) result[p] = (float)(from[p] + (alpha * (to[p] - from[p])));
        return result;
    }

    private static double Gaussian(Random rng) => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());

    private float[][] Probabilities(IReadOnlyList<float[]> images)
    {
        using var scope = NewDisposeScope();
        using var noGrad = torch.no_grad();
        var p = _model.DifferentiableProbabilities(Batch(images)).data<float>().ToArray();
        var k = _model.Labels.Count;
        return [.. Enumerable.Range(0, images.Count).Select(i => p.AsSpan(i * k, k).ToArray())];
    }

    /// <summary>∂ p_target / ∂ pixels for each image (images are independent in eval mode, so one backward pass serves the batch).</summary>
    private float[][] Gradients(IReadOnlyList<float[]> images, int target)
    {
        using var scope = NewDisposeScope();
        using var enableGrad = torch.enable_grad();
        var input = Batch(images).requires_grad_(true);
        var output = _model.DifferentiableProbabilities(input).select(1, target).sum();
        var grad = torch.autograd.grad([output], [input])[0];
        var flat = grad.data<float>().ToArray();
        var per = images[0].Length;
        return [.. Enumerable.Range(0, images.Count).Select(i => flat.AsSpan(i * per, per).ToArray())];
    }

    private Tensor Batch(IReadOnlyList<float[]> images)
    {
        var per = _model.Height * _model.Width;
        var flat = new float[images.Count * per];
        for (var i = 0; i < images.Count; i++) images[i].CopyTo(flat, i * per);
        return torch.tensor(flat, [images.Count, 1, _model.Height, _model.Width]);
    }
}
