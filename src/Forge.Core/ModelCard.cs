using System.Globalization;
using System.Text;

namespace Forge.Core;

/// <summary>Renders MODEL_CARD.md: what a model is, what it was trained on, how well it does and where not to trust it.</summary>
internal static class ModelCard
{
    internal static string Render(ModelManifest manifest)
    {
        var inv = CultureInfo.InvariantCulture;
        var card = new StringBuilder();
        card.Append(inv, $"# {manifest.Name}\n\n");
        if (!string.IsNullOrWhiteSpace(manifest.Description)) card.Append(inv, $"{manifest.Description.Trim()}\n\n");

        card.Append("## Model\n\n| | |\n|---|---|\n");
        Row(card, "Flavor", manifest.Flavor);
        Row(card, "Task", manifest.Task);
        Row(card, "Bundle format", manifest.FormatVersion.ToString(inv));
        Row(card, "Created", manifest.CreatedAt.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", inv));
        var labels = manifest.Signature.Labels;
        Row(card, "Labels", labels.Count == 0 ? "(none)" : string.Join(", ", labels));
        foreach (var input in manifest.Signature.Inputs)
        {
            var shape = string.Join(" x ", input.Shape.Select(d => d < 0 ? "N" : d.ToString(inv)));
            Row(card, $"Input `{input.Name}`", $"{input.DType} [{shape}]");
        }
        card.Append('\n');

        card.Append("## Training data\n\n");
        var training = manifest.Training;
        if (training is null)
        {
            card.Append("Not recorded.\n\n");
        }
        else
        {
            card.Append("| | |\n|---|---|\n");
            Row(card, "Dataset", training.Dataset);
            Row(card, "Dataset checksum", training.DatasetChecksum ?? "not recorded");
            if (training.RunId is not null) Row(card, "Run", training.RunId);
            if (training.Seed is { } seed) Row(card, "Seed", seed.ToString(inv));
            if (training.GitCommit is not null) Row(card, "Source commit", training.GitCommit);
            Row(card, "Epochs", training.Epochs.ToString(inv));
            if (training.Split is not null) Row(card, "Split", training.Split);
            Row(card, "Training time", string.Create(inv, $"{training.DurationSeconds:0.#} s"));
            card.Append('\n');
            if (training.Hyperparameters.Count > 0)
            {
                card.Append("### Hyperparameters\n\n| name | value |\n|---|---|\n");
                foreach (var (name, value) in training.Hyperparameters.OrderBy(p => p.Key, StringComparer.Ordinal)) Row(card, name, value);
                card.Append('\n');
            }
        }

        card.Append("## Metrics\n\n");
        if (manifest.Metrics.Count == 0)
        {
            card.Append("None recorded.\n\n");
        }
        else
        {
            card.Append("| metric | value |\n|---|---|\n");
            foreach (var (name, value) in manifest.Metrics.OrderBy(p => p.Key, StringComparer.Ordinal))
                Row(card, name, value.ToString("0.####", inv));
            card.Append('\n');
        }

        card.Append("## Versions\n\n| | |\n|---|---|\n");
        Row(card, "Forge", manifest.Versions.Forge);
        if (manifest.Versions.TorchSharp is not null) Row(card, "TorchSharp", manifest.Versions.TorchSharp);
        if (manifest.Versions.LibTorch is not null) Row(card, "libtorch", manifest.Versions.LibTorch);
        card.Append('\n');

        var dataset = training is null ? "its training data" : $"the {training.Dataset} dataset";
        card.Append("## Intended use and limits\n\n");
        card.Append(inv, $"Intended for {manifest.Task}{(labels.Count == 0 ? "" : " into the labels above")}, of inputs like {dataset}. ");
        card.Append("The metrics hold only for data drawn the same way; expect worse on anything else, ");
        card.Append("check inputs for drift before trusting predictions, and do not use it for decisions about people without human review.\n\n");

        card.Append("## License\n\n");
        card.Append(inv, $"{(string.IsNullOrWhiteSpace(manifest.License) ? "Not stated." : manifest.License.Trim())}\n");
        return card.ToString();
    }

    private static void Row(StringBuilder card, string name, string value) =>
        card.Append(CultureInfo.InvariantCulture, $"| {Cell(name)} | {Cell(value)} |\n");

    // A '|' or newline inside a value would break the table it sits in.
    private static string Cell(string text) => text.Replace("|", "\\|", StringComparison.Ordinal).ReplaceLineEndings(" ");
}
