using Forge.Core;

namespace Forge.Explainability.Lime;

/// <summary>Options of <see cref="LimeImageExplainer"/>.</summary>
public sealed record LimeImageOptions
{
    /// <summary>Perturbed images (the first is the image itself). Default 1000.</summary>
    public int Samples { get; init; } = 1000;

    /// <summary>About how many SLIC superpixels to cut the image into. Default 50.</summary>
    public int Segments { get; init; } = 50;

    /// <summary>SLIC compactness: larger gives squarer regions. Default 10.</summary>
    public double Compactness { get; init; } = 10;

    /// <summary>The colour (one value per channel) a hidden region is painted with; null paints each region its own mean colour. Default null.</summary>
    public IReadOnlyList<float>? HideColor { get; init; }

    /// <summary>Width of the kernel on cosine distance. Default 0.25 (LIME's).</summary>
    public double KernelWidth { get; init; } = 0.25;

    /// <summary>Ridge penalty of the surrogate. Default 1.</summary>
    public double Ridge { get; init; } = 1;

    /// <summary>Images per call of the classifier. Default 64.</summary>
    public int BatchSize { get; init; } = 64;

    /// <summary>Seed of the sampling. Default 0.</summary>
    public int Seed { get; init; }

    /// <summary>Names of the classifier's outputs, or null.</summary>
    public IReadOnlyList<string>? OutputNames { get; init; }

    /// <summary>Reports every problem at once.</summary>
    public void Validate()
    {
        var problems = new List<string>();
        if (Samples < 2) problems.Add($"Samples must be at least 2 (is {Samples})");
        if (Segments < 1) problems.Add($"Segments must be at least 1 (is {Segments})");
        if (!(Compactness > 0)) problems.Add($"Compactness must be positive (is {Compactness})");
        if (!(KernelWidth > 0)) problems.Add($"KernelWidth must be positive (is {KernelWidth})");
        if (!(Ridge >= 0)) problems.Add($"Ridge must be zero or positive (is {Ridge})");
        if (BatchSize < 1) problems.Add($"BatchSize must be at least 1 (is {BatchSize})");
        if (problems.Count > 0) throw new UsageException("invalid LIME image options: " + string.Join("; ", problems));
    }
}

/// <summary>
/// LIME for images: the image is cut into SLIC superpixels; samples hide random halves of them (painted with the
/// region's mean colour or a fixed colour), the classifier scores every sample, and a ridge surrogate weighted by
/// cosine distance to the full image gives each region's effect per class.
/// </summary>
public sealed class LimeImageExplainer : IExplainer<ImageInput>
{
    private readonly Func<IReadOnlyList<float[]>, double[][]> _classifier;

    /// <summary>Wraps a batched image classifier (H x W x C float images in, one score vector per image out).</summary>
    public LimeImageExplainer(Func<IReadOnlyList<float[]>, double[][]> classifier, LimeImageOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(classifier);
        Options = options ?? new LimeImageOptions();
        Options.Validate();
        _classifier = classifier;
    }

    /// <inheritdoc/>
    public string Method => "lime";

    /// <summary>The options in force.</summary>
    public LimeImageOptions Options { get; }

    /// <inheritdoc/>
    public Explanation Explain(ImageInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var (segments, d) = Superpixels.Slic(input, Options.Segments, Options.Compactness);
        return Explain(input, segments, d);
    }

    /// <summary>Explains the image with a segmentation of the caller's (labels 0..count-1 per pixel).</summary>
    public Explanation Explain(ImageInput input, int[] segments, int count)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(segments);
        int h = input.Height, w = input.Width, c = input.Channels, n = h * w;
        if (segments.Length != n) throw new UsageException($"{segments.Length} segment labels for a {h}x{w} image");
        if (segments.Any(s => s < 0 || s >= count)) throw new UsageException($"segment labels must lie in 0..{count - 1}");
        if (Options.HideColor is not null && Options.HideColor.Count != c)
            throw new UsageException($"HideColor has {Options.HideColor.Count} values for an image with {c} channels");

        // Per region, the colour it is painted with when hidden.
        var fill = new float[count * c];
        if (Options.HideColor is { } hide)
        {
            for (var s = 0; s < count; s++)
            {
                for (var ch = 0; ch < c; ch++) fill[s * c + ch] = hide[ch];
            }
        }
        else
        {
            var sums = new double[count * c];
            var sizes = new int[count];
            for (var p = 0; p < n; p++)
            {
                sizes[segments[p]]++;
                for (var ch = 0; ch < c; ch++) sums[segments[p] * c + ch] += input.Pixels[p * c + ch];
            }
            for (var s = 0; s < count; s++)
            {
                for (var ch = 0; ch < c; ch++) fill[s * c + ch] = sizes[s] > 0 ? (float)(sums[s * c + ch] / sizes[s]) : 0;
            }
        }

        var samples = Options.Samples;
        var rng = new Random(Options.Seed);
        var design = new double[samples * count];
        for (var i = 0; i < samples; i++)
        {
            for (var s = 0; s < count; s++) design[i * count + s] = i == 0 ? 1 : rng.Next(2);
        }
        double[]? outputs = null;
        var k = 0;
        for (var start = 0; start < samples; start += Options.BatchSize)
        {
            var size = Math.Min(Options.BatchSize, samples - start);
            var batch = new float[size][];
            for (var b = 0; b < size; b++)
            {
                var image = (float[])input.Pixels.Clone();
                var row = design.AsSpan((start + b) * count, count);
                for (var p = 0; p < n; p++)
                {
                    var s = segments[p];
                    if (row[s] != 0) continue;
                    for (var ch = 0; ch < c; ch++) image[p * c + ch] = fill[s * c + ch];
                }
                batch[b] = image;
            }
            var scores = _classifier(batch) ?? throw new ForgeException("the image classifier returned null");
            if (scores.Length != size) throw new ForgeException($"the image classifier returned {scores.Length} results for {size} images");
            for (var b = 0; b < size; b++)
            {
                if (outputs is null)
                {
                    k = scores[b]?.Length ?? 0;
                    if (k == 0) throw new ForgeException("the image classifier returned an empty score vector");
                    outputs = new double[samples * k];
                }
                if (scores[b] is null || scores[b].Length != k)
                    throw new ForgeException($"the image classifier returned {scores[b]?.Length ?? 0} scores for one image and {k} for another");
                scores[b].CopyTo(outputs, (start + b) * k);
            }
        }

        var weights = new double[samples];
        for (var i = 0; i < samples; i++)
        {
            var active = 0.0;
            for (var s = 0; s < count; s++) active += design[i * count + s];
            var distance = active == 0 ? 1 : 1 - Math.Sqrt(active / count);
            weights[i] = Math.Sqrt(Math.Exp(-distance * distance / (Options.KernelWidth * Options.KernelWidth)));
        }
        var values = new double[k * count];
        var intercepts = new double[k];
        var fit = new double[k];
        LimeFit.Fit(design, outputs!, weights, samples, count, k, Options.Ridge, null, values, intercepts, fit);
        if (Options.OutputNames is not null && Options.OutputNames.Count != k)
            throw new UsageException($"{Options.OutputNames.Count} output names for a classifier that gives {k} scores");
        return new Explanation(Method, Enumerable.Range(0, count).Select(s => $"segment {s}").ToArray(), 1, k, values, intercepts)
        {
            OutputNames = Options.OutputNames ?? Explanation.DefaultOutputNames(k),
            OutputSpace = "classifier output",
            Predictions = outputs.AsSpan(0, k).ToArray(),
            FitScores = fit,
            Image = new ImageLayout(input.Pixels, h, w, c, segments),
        };
    }
}
