using System.Globalization;
using Forge.Core;

namespace Forge.Tabular;

/// <summary>How a tabular model did on labelled rows: classification metrics (with AUC, F1 and the ROC curve for binary) or regression metrics with the residuals.</summary>
public sealed record TabularEvaluation
{
    /// <summary>Binary, multiclass or regression.</summary>
    public required TabularTask Task { get; init; }

    /// <summary>Rows scored.</summary>
    public required int Count { get; init; }

    /// <summary>Accuracy, macro-F1, log-loss, per class and confusion matrix; null for a regression.</summary>
    public ClassificationReport? Classification { get; init; }

    /// <summary>ROC AUC of the positive class (binary only).</summary>
    public double? Auc { get; init; }

    /// <summary>F1 of the positive class at probability 0.5 (binary); macro-F1 (multiclass).</summary>
    public double? F1 { get; init; }

    /// <summary>The ROC curve (binary only).</summary>
    public RocCurve? Roc { get; init; }

    /// <summary>RMSE, MAE and R² (regression only).</summary>
    public RegressionReport? Regression { get; init; }

    /// <summary>The true values (regression only).</summary>
    public IReadOnlyList<double>? Actual { get; init; }

    /// <summary>The predicted values (regression only).</summary>
    public IReadOnlyList<double>? Predicted { get; init; }

    /// <summary>
    /// The headline numbers under <paramref name="prefix"/>: accuracy, macroF1, logLoss, auc, f1 for classifiers
    /// ("testAuc"), rmse, mae, r2 for regressions ("testRmse").
    /// </summary>
    public Dictionary<string, double> ToMetrics(string prefix)
    {
        if (Regression is { } r) return r.ToMetrics(prefix);
        var metrics = Classification!.ToMetrics(prefix);
        if (Auc is { } auc) metrics[ClassificationReport.MetricName(prefix, "auc")] = auc;
        if (F1 is { } f1) metrics[ClassificationReport.MetricName(prefix, "f1")] = f1;
        return metrics;
    }

    /// <summary>One line for people: "AUC 0.9281, log-loss 0.2771, accuracy 87.21%, F1 0.7128 on 6,512 rows".</summary>
    public string Summary()
    {
        var inv = CultureInfo.InvariantCulture;
        if (Regression is { } r) return string.Create(inv, $"RMSE {r.Rmse:0.###}, MAE {r.Mae:0.###}, R² {r.R2:0.####} on {Count:N0} rows");
        var c = Classification!;
        var auc = Auc is { } a ? string.Create(inv, $"AUC {a:0.0000}, ") : "";
        return string.Create(inv, $"{auc}log-loss {c.LogLoss:0.0000}, accuracy {c.Accuracy * 100:0.00}%, F1 {F1:0.0000} on {Count:N0} rows");
    }

    /// <summary>Scores <paramref name="model"/> on labelled <paramref name="data"/>; a label the model does not know is an error naming its line.</summary>
    public static TabularEvaluation Evaluate(TabularModel model, TabularData data)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        var labels = data.Labels ?? throw new UsageException($"{data.Source}: no label column '{model.LabelName}' was read; evaluation needs the true labels");
        var prediction = model.Predict(data.Features);
        if (model.Task == TabularTask.Regression)
        {
            var actual = new double[labels.Count];
            for (var i = 0; i < actual.Length; i++)
            {
                if (!TabularCsv.TryNumber(labels[i], out actual[i]))
                    throw new DataFormatException(data.Source, $"line {data.Lines[i]}, column '{data.LabelName}': '{labels[i]}' is not a number");
            }
            var predicted = prediction.Values!;
            return new TabularEvaluation
            {
                Task = model.Task, Count = actual.Length, Regression = RegressionMetrics.Evaluate(actual, predicted), Actual = actual, Predicted = predicted,
            };
        }
        var index = model.Labels.Select((l, i) => (l, i)).ToDictionary(p => p.l, p => p.i, StringComparer.Ordinal);
        var truth = new int[labels.Count];
        for (var i = 0; i < truth.Length; i++)
        {
            if (!index.TryGetValue(labels[i], out truth[i]))
                throw new DataFormatException(data.Source, $"line {data.Lines[i]}, column '{data.LabelName}': label '{labels[i]}' is not one the model predicts ({string.Join(", ", model.Labels)})");
        }
        var probabilities = prediction.Probabilities!;
        var report = ClassificationMetrics.Evaluate(truth, [.. probabilities.Select(p => ClassificationMetrics.ArgMax(p))], model.Labels, probabilities);
        if (model.Task == TabularTask.Multiclass)
            return new TabularEvaluation { Task = model.Task, Count = truth.Length, Classification = report, F1 = report.MacroF1 };
        var positive = truth.Select(t => t == 1).ToArray();
        var scores = probabilities.Select(p => (double)p[1]).ToArray();
        var both = positive.Distinct().Count() == 2;
        var roc = both ? RocCurve.Compute(positive, scores) : null;
        return new TabularEvaluation
        {
            Task = model.Task, Count = truth.Length, Classification = report, Roc = roc, Auc = roc?.Auc, F1 = BinaryMetrics.F1(positive, scores),
        };
    }
}
