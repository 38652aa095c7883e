using System.Text;
using Forge.Core;
using Forge.Explainability.Agnostic;
using Forge.Explainability.Lime;

namespace Forge.Explainability;

/// <summary>
/// Explainers for Forge models (<see cref="IPredictor"/>) whose one input is a text or an image: the same methods as
/// for plain functions, wired to the model's signature so a caller needs nothing but the loaded model.
/// </summary>
public static class PredictorExplainers
{
    /// <summary>The methods a text model can be explained with.</summary>
    public static readonly IReadOnlyList<string> TextMethods = ["lime", "kernel"];

    /// <summary>The model-agnostic methods an image model can be explained with (gradient ones come with the TorchSharp models).</summary>
    public static readonly IReadOnlyList<string> ImageMethods = ["lime"];

    /// <summary>Whether the model's one input is free text (a string without declared categories).</summary>
    public static bool TakesText(IPredictor predictor)
    {
        ArgumentNullException.ThrowIfNull(predictor);
        return predictor.Signature.Inputs is [{ DType: "string", Categories: null or { Count: 0 } }];
    }

    /// <summary>Whether the model's one input is an image tensor ([-1, C, H, W]).</summary>
    public static bool TakesImage(IPredictor predictor)
    {
        ArgumentNullException.ThrowIfNull(predictor);
        return predictor.Signature.Inputs is [{ DType: "float32", Shape.Length: 4 }];
    }

    /// <summary>
    /// A text explainer: "lime" (a local linear surrogate over word masks) or "kernel" (KernelSHAP over the distinct
    /// words: a word is present or removed, the empty text is the base).
    /// </summary>
    public static IExplainer<string> ForText(IPredictor predictor, string method, int samples = 2000, int seed = 0)
    {
        ArgumentNullException.ThrowIfNull(predictor);
        ArgumentNullException.ThrowIfNull(method);
        if (!TakesText(predictor))
            throw new UsageException($"the model takes {string.Join(", ", predictor.Signature.Inputs.Select(i => $"{i.Name} ({i.DType})"))}, not one text: {(TakesImage(predictor) ? "pass --image FILE" : "pass --rows FILE.csv")} instead of --text");
        var classifier = Classifier(predictor);
        var labels = predictor.Signature.Labels;
        return method.Trim().ToLowerInvariant() switch
        {
            "lime" => new LimeTextExplainer(classifier, new LimeTextOptions { Samples = samples, Seed = seed, OutputNames = labels.Count > 0 ? [.. labels] : null }),
            "kernel" => new WordShapExplainer(classifier, labels, samples, seed),
            var other => throw new UsageException($"method '{other}' does not explain texts; use lime or kernel{Hint(other, TextMethods)}"),
        };
    }

    /// <summary>LIME over superpixels for a model whose one input is an image ([-1, C, H, W], values 0–1).</summary>
    public static IExplainer<ImageInput> LimeForImages(IPredictor predictor, LimeImageOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(predictor);
        if (!TakesImage(predictor))
            throw new UsageException($"the model does not take one image ({string.Join(", ", predictor.Signature.Inputs.Select(i => i.Name))}); pass {(TakesText(predictor) ? "--text \"...\"" : "--rows FILE.csv")} instead of --image");
        var input = predictor.Signature.Inputs[0];
        var shape = input.CellShape();
        int c = shape[0], h = shape[1], w = shape[2];
        options ??= new LimeImageOptions();
        if (options.OutputNames is null && predictor.Signature.Labels.Count > 0) options = options with { OutputNames = [.. predictor.Signature.Labels] };
        return new LimeImageExplainer(images =>
        {
            // LIME paints H x W x C images; the model reads C x H x W.
            var rows = images.Select(img =>
            {
                var row = new float[c * h * w];
                for (var p = 0; p < h * w; p++)
                {
                    for (var ch = 0; ch < c; ch++) row[(ch * h * w) + p] = img[(p * c) + ch];
                }
                return row;
            }).ToArray();
            return [.. predictor.PredictRows(rows).Select(p => p.Select(v => (double)v).ToArray())];
        }, options);
    }

    /// <summary>A model input row (C x H x W, as the signature has it) as an <see cref="ImageInput"/> (H x W x C).</summary>
    public static ImageInput ToImageInput(float[] row, IReadOnlyList<int> cellShape)
    {
        ArgumentNullException.ThrowIfNull(row);
        ArgumentNullException.ThrowIfNull(cellShape);
        if (cellShape.Count != 3) throw new UsageException($"an image input has shape [C, H, W]; this one has [{string.Join(", ", cellShape)}]");
        int c = cellShape[0], h = cellShape[1], w = cellShape[2];
        var pixels = new float[row.Length];
        for (var p = 0; p < h * w; p++)
        {
            for (var ch = 0; ch < c; ch++) pixels[(p * c) + ch] = row[(ch * h * w) + p];
        }
        return new ImageInput(pixels, h, w, c);
    }

    private static Func<IReadOnlyList<string>, double[][]> Classifier(IPredictor predictor) => texts =>
    {
        var prediction = predictor.Predict(new Table(Column.String(predictor.Signature.Inputs[0].Name, [.. texts])));
        return prediction.Probabilities is { } p
            ? [.. p.Select(r => r.Select(v => (double)v).ToArray())]
            : [.. prediction.Values!.Select(v => new[] { v })];
    };

    private static string Hint(string typed, IEnumerable<string> candidates) =>
        NameSuggester.Closest(typed, candidates) is { } close ? $" (did you mean '{close}'?)" : "";

    /// <summary>KernelSHAP over the distinct words of one text: coalitions keep some words and drop the rest.</summary>
    private sealed class WordShapExplainer(Func<IReadOnlyList<string>, double[][]> classifier, IReadOnlyList<string> labels, int samples, int seed) : IExplainer<string>
    {
        public string Method => "kernel";

        public Explanation Explain(string input)
        {
            ArgumentNullException.ThrowIfNull(input);
            var tokens = new List<TextToken>();
            var words = new List<string>();
            var index = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (System.Text.RegularExpressions.Match m in System.Text.RegularExpressions.Regex.Matches(input, @"\w+", System.Text.RegularExpressions.RegexOptions.CultureInvariant))
            {
                if (!index.TryGetValue(m.Value, out var feature))
                {
                    feature = words.Count;
                    index[m.Value] = feature;
                    words.Add(m.Value);
                }
                tokens.Add(new TextToken(m.Index, m.Length, feature));
            }
            if (words.Count == 0) throw new UsageException("the text has no words to explain");
            var d = words.Count;
            var k = classifier([input])[0].Length;
            var model = ModelFunction.FromBatch(d, k, (rows, outputs) =>
            {
                var n = rows.Length / d;
                var texts = new string[n];
                for (var i = 0; i < n; i++) texts[i] = Keep(input, tokens, rows.Slice(i * d, d));
                var scores = classifier(texts);
                for (var i = 0; i < n; i++) scores[i].CopyTo(outputs.Slice(i * k, k));
            }, labels.Count == k ? labels : null);
            var e = new KernelShapExplainer(model, Background.From(new double[1, d]), new KernelShapOptions
            {
                FeatureNames = words, Samples = samples, Seed = seed, MaxDegreeOfParallelism = 1,
            }).Explain(Ones(d));
            return new Explanation(Method, words, 1, k, e.RawValues.ToArray(), e.RawBaseValues.ToArray())
            {
                OutputNames = e.OutputNames,
                OutputSpace = "classifier output",
                Predictions = e.Predictions,
                Text = new TextLayout(input, tokens),
            };
        }

        private static double[,] Ones(int d)
        {
            var x = new double[1, d];
            for (var j = 0; j < d; j++) x[0, j] = 1;
            return x;
        }

        private static string Keep(string text, List<TextToken> tokens, ReadOnlySpan<double> on)
        {
            var sb = new StringBuilder(text.Length);
            var position = 0;
            foreach (var t in tokens)
            {
                sb.Append(text, position, t.Start - position);
                if (on[t.Feature] >= 0.5) sb.Append(text, t.Start, t.Length);
                position = t.Start + t.Length;
            }
            sb.Append(text, position, text.Length - position);
            return sb.ToString();
        }
    }
}
