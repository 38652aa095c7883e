using Forge.Core;
using Forge.Data;
using Forge.DeepLearning;
using Forge.Monitoring;
using Forge.Tabular;
using Forge.Text;

namespace Forge.Cli;

/// <summary>
/// What <c>forge monitor</c> reads for a bundle: the model's monitored columns of a CSV (inputs and the model's
/// predictions on them), for tabular models (the model's columns), text models (a <c>text</c> column) and hourly
/// forecasters (a CSV of hours: each full window's latest hour and its forecast). Other flavors are refused with what to
/// use instead.
/// </summary>
internal sealed class MonitorSource : IDisposable
{
    private readonly Func<string, ColumnSet> _columns;
    private readonly IDisposable _model;

    private MonitorSource(string kind, Func<string, ColumnSet> columns, IDisposable model)
    {
        Kind = kind;
        _columns = columns;
        _model = model;
    }

    /// <summary>"tabular", "text" or "forecast".</summary>
    public string Kind { get; }

    /// <summary>The model's columns of a CSV file, predicted by the model, as monitoring sees them.</summary>
    public ColumnSet Columns(string path) => _columns(path);

    public static MonitorSource Open(ModelBundle bundle)
    {
        var manifest = bundle.Manifest;
        if (TabularBundle.IsTabular(manifest))
        {
            var tabular = TabularBundle.Load(bundle);
            return new MonitorSource("tabular", path =>
            {
                var data = TabularCsv.ReadFor(path, tabular.Features, TabularBundle.CsvOptions(manifest, withLabel: false));
                return ModelColumns.From(data.Features, tabular.Predict(data.Features));
            }, tabular);
        }
        if (IsText(manifest))
        {
            IPredictor text = SequenceTextClassifier.IsSequenceText(manifest) ? SequenceTextClassifier.Load(bundle) : TextClassifier.Load(bundle);
            return new MonitorSource("text", path =>
            {
                var inputs = new Table(Column.String(text.Signature.Inputs[0].Name, ReadTexts(path)));
                return ModelColumns.From(inputs, text.Predict(inputs), mapping: InputMapping.Text);
            }, text);
        }
        if (HourlyForecaster.IsForecaster(manifest))
        {
            var forecaster = HourlyForecaster.Load(bundle);
            return new MonitorSource("forecast", path =>
            {
                var series = HourlySeries.ReadCsv(path);
                var ends = HourlyForecasting.Ends(forecaster.Spec, series, 0, series.Length, out _);
                if (ends.Length == 0)
                    throw new DataFormatException(path, $"no hour has a full {forecaster.Spec.Window}-hour window {forecaster.Spec.Horizon} h before it (the file spans {series.Length:N0} hours): nothing to check");
                return ModelColumns.From(ForecastSpec.LatestHours(series, ends), Prediction.Regression(forecaster.Predict(series, ends)));
            }, forecaster);
        }
        throw new UsageException(NotSupported(manifest));
    }

    /// <summary>Whether the bundle is a text classifier (MiniLM or TF-IDF, or a recurrent model trained from scratch).</summary>
    public static bool IsText(ModelManifest manifest) =>
        SequenceTextClassifier.IsSequenceText(manifest)
        || (manifest.Flavor == TextModule.Flavor && manifest.Preprocessing["featurizer"]?.GetValue<string>() is TextClassifier.SentenceEncoderFeaturizer or TextClassifier.TfidfFeaturizer);

    /// <summary>Why a bundle cannot be checked from a CSV, and what to use instead.</summary>
    public static string NotSupported(ModelManifest manifest) => manifest.Flavor == ModelFlavors.TorchImage
        ? $"{manifest.Name} is an image model ({manifest.Flavor}): forge monitor reads CSV files, so it checks tabular ({ModelFlavors.MlNetTabular}) and text models only; "
          + "an image model's drift (per-image mean intensity and contrast, and its predictions) is watched live by 'forge serve' at GET /v1/models/NAME/drift when its bundle has reference/profile.json (forge train mnist|fashion-mnist and forge finetune write one)"
        : $"{manifest.Name} is a {manifest.Flavor} bundle, which forge monitor does not check; it checks tabular ({ModelFlavors.MlNetTabular}) and text models (a CSV with a 'text' column) and hourly forecasters (a CSV of hours)";

    /// <summary>The <c>text</c> column of a CSV (other columns ignored); an empty file or a missing column is named.</summary>
    internal static string?[] ReadTexts(string path)
    {
        if (!File.Exists(path)) throw new DataFormatException(path, "no such file");
        var records = Csv.ReadFile(path);
        if (records.Count == 0) throw new DataFormatException(path, "empty file (expected a header line with a 'text' column)");
        var header = records[0];
        var column = Csv.Columns(header, path, TextInstanceColumn)[0];
        var texts = new string?[records.Count - 1];
        for (var r = 1; r < records.Count; r++)
        {
            if (records[r].Length != header.Length)
                throw new DataFormatException(path, $"record {r + 1}: {records[r].Length} fields, the header has {header.Length}");
            texts[r - 1] = records[r][column];
        }
        if (texts.Length == 0) throw new DataFormatException(path, "no rows after the header: nothing to check");
        return texts;
    }

    private const string TextInstanceColumn = "text";

    public void Dispose() => _model.Dispose();
}
