namespace Forge.Explainability;

/// <summary>
/// Anything that attributes a model's output to the features of an input. Tabular explainers take <c>double[,]</c> rows,
/// text explainers a string and image explainers an <see cref="ImageInput"/>; gradient methods implement the same interface.
/// </summary>
/// <typeparam name="TInput">What is explained.</typeparam>
public interface IExplainer<in TInput>
{
    /// <summary>The method's short name, e.g. "tree", "kernel", "lime"; it is written into every <see cref="Explanation"/>.</summary>
    string Method { get; }

    /// <summary>Explains the input.</summary>
    Explanation Explain(TInput input);
}

/// <summary>One image as H x W x C float values, row-major, on the scale the model expects.</summary>
public sealed record ImageInput
{
    /// <summary>Creates an image input, checking the pixel count.</summary>
    public ImageInput(float[] pixels, int height, int width, int channels)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(channels, 1);
        if (pixels.Length != (long)height * width * channels)
            throw new ArgumentException($"{pixels.Length} values for a {height}x{width}x{channels} image", nameof(pixels));
        Pixels = pixels;
        Height = height;
        Width = width;
        Channels = channels;
    }

    /// <summary>H x W x C values, row-major.</summary>
    public float[] Pixels { get; }

    /// <summary>Height in pixels.</summary>
    public int Height { get; }

    /// <summary>Width in pixels.</summary>
    public int Width { get; }

    /// <summary>Channels per pixel.</summary>
    public int Channels { get; }
}

/// <summary>Streaming: explains a sequence of row batches one at a time, so memory stays bounded by one batch.</summary>
public static class ExplainerStreaming
{
    /// <summary>Explains each batch as it is enumerated; nothing is read ahead and nothing is kept.</summary>
    /// <param name="explainer">Any tabular explainer.</param>
    /// <param name="batches">Row batches (each n x d); enumerated lazily.</param>
    public static IEnumerable<Explanation> ExplainBatches(this IExplainer<double[,]> explainer, IEnumerable<double[,]> batches)
    {
        ArgumentNullException.ThrowIfNull(explainer);
        ArgumentNullException.ThrowIfNull(batches);
        return Iterate(explainer, batches);
    }

    /// <summary>Cuts a sequence of rows into batches of <paramref name="batchSize"/> rows (the last may be shorter).</summary>
    public static IEnumerable<double[,]> Batch(IEnumerable<double[]> rows, int featureCount, int batchSize)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentOutOfRangeException.ThrowIfLessThan(featureCount, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        return BatchIterator(rows, featureCount, batchSize);
    }

    private static IEnumerable<Explanation> Iterate(IExplainer<double[,]> explainer, IEnumerable<double[,]> batches)
    {
        foreach (var batch in batches)
            yield return explainer.Explain(batch);
    }

    private static IEnumerable<double[,]> BatchIterator(IEnumerable<double[]> rows, int d, int batchSize)
    {
        var buffer = new List<double[]>(batchSize);
        var index = 0;
        foreach (var row in rows)
        {
            if (row is null || row.Length != d)
                throw new Forge.Core.ForgeException($"row {index} has {row?.Length ?? 0} values; the model takes {d} features");
            buffer.Add(row);
            index++;
            if (buffer.Count == batchSize)
            {
                yield return Rows.FromJagged(buffer, "rows");
                buffer.Clear();
            }
        }
        if (buffer.Count > 0)
            yield return Rows.FromJagged(buffer, "rows");
    }
}
