namespace Forge.Explainability.Lime;

/// <summary>Image segmentation into superpixels for image explanations.</summary>
public static class Superpixels
{
    /// <summary>
    /// SLIC (Achanta et al. 2012): k-means on (colour, position) with each centre searching only a 2S x 2S window,
    /// S = √(pixels / segments), in CIELAB for RGB images. Small disconnected pieces are merged into a neighbour, so every
    /// label is one connected region. Returns per pixel (H x W) a label 0..count-1.
    /// </summary>
    /// <param name="image">The image; values in [0, 1] or [0, 255] (the scale is detected).</param>
    /// <param name="segments">Roughly how many superpixels to make.</param>
    /// <param name="compactness">Weight of position against colour: larger gives squarer regions. Default 10.</param>
    /// <param name="iterations">k-means iterations. Default 10.</param>
    public static (int[] Labels, int Count) Slic(ImageInput image, int segments = 50, double compactness = 10, int iterations = 10)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentOutOfRangeException.ThrowIfLessThan(segments, 1);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(compactness);
        ArgumentOutOfRangeException.ThrowIfLessThan(iterations, 1);
        int h = image.Height, w = image.Width, n = h * w;
        var (features, channels) = ColourFeatures(image);
        var step = Math.Max(1, Math.Sqrt((double)n / segments));

        // Centres on a regular grid, each nudged to the lowest-gradient pixel of its 3x3 neighbourhood.
        var centres = new List<double[]>();
        for (var y = step / 2; y < h; y += step)
        {
            for (var x = step / 2; x < w; x += step)
            {
                int cy = (int)y, cx = (int)x, best = cy * w + cx;
                var bestGradient = double.PositiveInfinity;
                for (var dy = -1; dy <= 1; dy++)
                {
                    for (var dx = -1; dx <= 1; dx++)
                    {
                        int yy = cy + dy, xx = cx + dx;
                        if (yy < 1 || xx < 1 || yy >= h - 1 || xx >= w - 1) continue;
                        var g = Gradient(features, channels, w, yy, xx);
                        if (g < bestGradient)
                        {
                            bestGradient = g;
                            best = yy * w + xx;
                        }
                    }
                }
                var centre = new double[channels + 2];
                for (var c = 0; c < channels; c++) centre[c] = features[best * channels + c];
                centre[channels] = best / w;
                centre[channels + 1] = best % w;
                centres.Add(centre);
            }
        }

        var labels = new int[n];
        var distance = new double[n];
        var spatialWeight = compactness * compactness / (step * step);
        var radius = (int)Math.Ceiling(step);
        for (var iteration = 0; iteration < iterations; iteration++)
        {
            Array.Fill(distance, double.PositiveInfinity);
            Array.Fill(labels, -1);
            for (var k = 0; k < centres.Count; k++)
            {
                var centre = centres[k];
                int cy = (int)Math.Round(centre[channels]), cx = (int)Math.Round(centre[channels + 1]);
                for (var y = Math.Max(0, cy - radius); y < Math.Min(h, cy + radius + 1); y++)
                {
                    for (var x = Math.Max(0, cx - radius); x < Math.Min(w, cx + radius + 1); x++)
                    {
                        var p = y * w + x;
                        var colour = 0.0;
                        for (var c = 0; c < channels; c++)
                        {
                            var diff = features[p * channels + c] - centre[c];
                            colour += diff * diff;
                        }
                        double dy = y - centre[channels], dx = x - centre[channels + 1];
                        var dist = colour + (dy * dy + dx * dx) * spatialWeight;
                        if (dist < distance[p])
                        {
                            distance[p] = dist;
                            labels[p] = k;
                        }
                    }
                }
            }
            var sums = new double[centres.Count, channels + 2];
            var counts = new int[centres.Count];
            for (var p = 0; p < n; p++)
            {
                var k = labels[p];
                if (k < 0) continue;
                counts[k]++;
                for (var c = 0; c < channels; c++) sums[k, c] += features[p * channels + c];
                sums[k, channels] += p / w;
                sums[k, channels + 1] += p % w;
            }
            for (var k = 0; k < centres.Count; k++)
            {
                if (counts[k] == 0) continue;
                for (var c = 0; c < channels + 2; c++) centres[k][c] = sums[k, c] / counts[k];
            }
        }
        // A pixel no window reached (possible only at odd sizes) joins its left or upper neighbour's label.
        for (var p = 0; p < n; p++)
        {
            if (labels[p] < 0) labels[p] = p > 0 ? labels[p - 1] : 0;
        }
        return EnforceConnectivity(labels, h, w, Math.Max(1, n / Math.Max(1, centres.Count) / 4));
    }

    /// <summary>Relabels connected regions 0..count-1, merging regions smaller than <paramref name="minSize"/> into a neighbour.</summary>
    internal static (int[] Labels, int Count) EnforceConnectivity(int[] labels, int h, int w, int minSize)
    {
        var n = h * w;
        var result = new int[n];
        Array.Fill(result, -1);
        var queue = new int[n];
        var next = 0;
        Span<int> dy = [-1, 1, 0, 0];
        Span<int> dx = [0, 0, -1, 1];
        for (var start = 0; start < n; start++)
        {
            if (result[start] >= 0) continue;
            // A region of the old label, grown from start; remember an already relabelled neighbour to merge into.
            var adjacent = -1;
            int head = 0, tail = 0;
            queue[tail++] = start;
            result[start] = next;
            while (head < tail)
            {
                var p = queue[head++];
                int y = p / w, x = p % w;
                for (var k = 0; k < 4; k++)
                {
                    int yy = y + dy[k], xx = x + dx[k];
                    if (yy < 0 || xx < 0 || yy >= h || xx >= w) continue;
                    var q = yy * w + xx;
                    if (result[q] >= 0 && result[q] != next) adjacent = result[q];
                    if (result[q] >= 0 || labels[q] != labels[start]) continue;
                    result[q] = next;
                    queue[tail++] = q;
                }
            }
            if (tail < minSize && adjacent >= 0)
            {
                for (var i = 0; i < tail; i++) result[queue[i]] = adjacent;
            }
            else
            {
                next++;
            }
        }
        return (result, next);
    }

    private static double Gradient(double[] f, int channels, int w, int y, int x)
    {
        var g = 0.0;
        for (var c = 0; c < channels; c++)
        {
            var gx = f[(y * w + x + 1) * channels + c] - f[(y * w + x - 1) * channels + c];
            var gy = f[((y + 1) * w + x) * channels + c] - f[((y - 1) * w + x) * channels + c];
            g += gx * gx + gy * gy;
        }
        return g;
    }

    /// <summary>CIELAB (D65) for RGB, lightness 0..100 for grey, the channels scaled to 0..100 otherwise.</summary>
    private static (double[] Features, int Channels) ColourFeatures(ImageInput image)
    {
        int n = image.Height * image.Width, c = image.Channels;
        var max = 0f;
        foreach (var v in image.Pixels) max = Math.Max(max, v);
        var scale = max > 1.5f ? 1 / 255.0 : 1.0;
        if (c != 3)
        {
            var f = new double[n * c];
            for (var i = 0; i < f.Length; i++) f[i] = image.Pixels[i] * scale * 100;
            return (f, c);
        }
        var lab = new double[n * 3];
        for (var p = 0; p < n; p++)
        {
            var r = Linear(image.Pixels[p * 3] * scale);
            var g = Linear(image.Pixels[p * 3 + 1] * scale);
            var b = Linear(image.Pixels[p * 3 + 2] * scale);
            var x = (0.4124564 * r + 0.3575761 * g + 0.1804375 * b) / 0.95047;
            var y = 0.2126729 * r + 0.7151522 * g + 0.0721750 * b;
            var z = (0.0193339 * r + 0.1191920 * g + 0.9503041 * b) / 1.08883;
            double fx = LabF(x), fy = LabF(y), fz = LabF(z);
            lab[p * 3] = 116 * fy - 16;
            lab[p * 3 + 1] = 500 * (fx - fy);
            lab[p * 3 + 2] = 200 * (fy - fz);
        }
        return (lab, 3);

        static double Linear(double v) => v <= 0.04045 ? v / 12.92 : Math.Pow((v + 0.055) / 1.055, 2.4);
        static double LabF(double t) => t > 216.0 / 24389 ? Math.Cbrt(t) : (24389.0 / 27 * t + 16) / 116;
    }
}
