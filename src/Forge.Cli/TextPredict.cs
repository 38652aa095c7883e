using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Forge.Core;
using Forge.Data;
using Forge.DeepLearning;
using Forge.Text;

namespace Forge.Cli;

/// <summary>The text branch of <c>forge predict</c>: single texts, or a CSV batch written atomically.</summary>
internal static class TextPredict
{
    public static int Run(CliContext ctx, ModelBundle bundle, string[] texts, string? batch, string? output)
    {
        if (batch is null && output is not null) throw new UsageException("--out goes with --batch (the CSV to write)");
        if (batch is not null && texts.Length > 0) throw new UsageException("give --text or --batch, not both");
        if (batch is null && texts.Length == 0) throw new UsageException($"{bundle.Manifest.Name} classifies text: pass --text \"...\" (repeatable) or --batch FILE.csv --out OUT.csv");
        if (batch is not null && output is null) throw new UsageException("--batch needs --out, the CSV file to write");
        return batch is null ? Single(ctx, bundle, texts) : Batch(ctx, bundle, batch, output!);
    }

    private static int Single(CliContext ctx, ModelBundle bundle, string[] texts)
    {
        using var model = TextModel.Load(bundle);
        var probabilities = model.PredictProbabilities(texts, null);
        var labels = probabilities.Select(p => model.Labels[ClassificationMetrics.ArgMax(p)]).ToArray();
        if (ctx.Json)
        {
            ctx.WriteJson(new JsonObject
            {
                ["predictions"] = new JsonArray(texts.Select((t, i) => (JsonNode)new JsonObject
                {
                    ["text"] = t,
                    ["label"] = labels[i],
                    ["probabilities"] = PredictCommand.Probabilities(model.Labels, probabilities[i]),
                }).ToArray()),
            });
            return 0;
        }
        for (var i = 0; i < texts.Length; i++)
            ctx.Say(string.Create(CultureInfo.InvariantCulture, $"{labels[i]} ({probabilities[i].Max() * 100:F1}%): {texts[i]}"));
        return 0;
    }

    private static int Batch(CliContext ctx, ModelBundle bundle, string input, string output)
    {
        var inputPath = Path.GetFullPath(input);
        var outputPath = Path.GetFullPath(output);
        if (!File.Exists(inputPath)) throw new UsageException($"--batch {inputPath}: no such file");
        if (string.Equals(inputPath, outputPath, StringComparison.Ordinal)) throw new UsageException("--out must not be the --batch file itself");
        if (Directory.Exists(outputPath)) throw new UsageException($"--out {outputPath} is a directory; name the CSV file to write");
        // Read and check the whole input before loading the model, so a bad file fails fast and writes nothing.
        var records = Csv.ReadFile(inputPath);
        if (records.Count == 0) throw new DataFormatException(inputPath, "empty file (expected a header line with a 'text' column)");
        var header = records[0];
        var column = Csv.Columns(header, inputPath, "text")[0];
        for (var r = 1; r < records.Count; r++)
        {
            if (records[r].Length != header.Length)
                throw new DataFormatException(inputPath, $"record {r + 1}: {records[r].Length} fields, the header has {header.Length}");
        }
        var texts = records.Skip(1).Select(r => r[column]).ToArray();

        using var model = TextModel.Load(bundle);
        var clash = model.Labels.Select(l => "p_" + l).Append("label").FirstOrDefault(header.Contains);
        if (clash is not null) throw new DataFormatException(inputPath, $"already has a '{clash}' column, which the output adds; rename or drop it first");
        float[][] probabilities;
        using (var bar = ctx.Progress("predict"))
        {
            var gate = new Lock();
            probabilities = model.PredictProbabilities(texts, new Progress<int>(done =>
            {
                lock (gate) bar.Update((double)done / Math.Max(1, texts.Length), $"{done:N0}/{texts.Length:N0} texts");
            }));
        }
        var counts = new int[model.Labels.Count];
        var temp = $"{outputPath}.tmp-{Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(6))}";
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(outputPath)!);
            using (var writer = new StreamWriter(temp, false, new UTF8Encoding(false)))
            {
                Csv.WriteRecord(writer, [.. header, "label", .. model.Labels.Select(l => "p_" + l)]);
                for (var i = 0; i < texts.Length; i++)
                {
                    var best = ClassificationMetrics.ArgMax(probabilities[i]);
                    counts[best]++;
                    Csv.WriteRecord(writer, [.. records[i + 1], model.Labels[best], .. probabilities[i].Select(v => v.ToString("0.######", CultureInfo.InvariantCulture))]);
                }
            }
            File.Move(temp, outputPath, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
        if (ctx.Json)
        {
            var byLabel = new JsonObject();
            for (var k = 0; k < counts.Length; k++) byLabel[model.Labels[k]] = counts[k];
            ctx.WriteJson(new JsonObject { ["input"] = inputPath, ["output"] = outputPath, ["rows"] = texts.Length, ["labels"] = byLabel });
            return 0;
        }
        ctx.Say($"{texts.Length:N0} rows classified ({string.Join(", ", model.Labels.Select((l, k) => $"{l} {counts[k]:N0}"))}); written to {outputPath}");
        return 0;
    }

    /// <summary>Either kind of text bundle: a classifier on embeddings or TF-IDF, or a recurrent model trained from scratch.</summary>
    private sealed class TextModel : IDisposable
    {
        private readonly IDisposable _owner;
        private readonly Func<IReadOnlyList<string>, IProgress<int>?, float[][]> _predict;

        private TextModel(IReadOnlyList<string> labels, Func<IReadOnlyList<string>, IProgress<int>?, float[][]> predict, IDisposable owner)
        {
            Labels = labels;
            _predict = predict;
            _owner = owner;
        }

        public IReadOnlyList<string> Labels { get; }

        public static TextModel Load(ModelBundle bundle)
        {
            if (SequenceTextClassifier.IsSequenceText(bundle.Manifest))
            {
                var recurrent = SequenceTextClassifier.Load(bundle);
                return new TextModel(recurrent.Labels, recurrent.PredictProbabilities, recurrent);
            }
            var model = TextClassifier.Load(bundle);
            return new TextModel(model.Labels, (texts, progress) => model.PredictProbabilities(texts, progress), model);
        }

        public float[][] PredictProbabilities(IReadOnlyList<string> texts, IProgress<int>? progress) => _predict(texts, progress);

        public void Dispose() => _owner.Dispose();
    }
}
