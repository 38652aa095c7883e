using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Forge.Core;
using Forge.Monitoring;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Forge.Serving;

/// <summary>Drift and feedback under /v1/models/{name}: the live drift status and the true labels of served predictions.</summary>
internal static class MonitoringApi
{
    public static IServiceCollection AddDriftMonitoring(this IServiceCollection services)
    {
        services.AddSingleton<ModelMonitors>();
        services.AddHostedService<DriftTimer>();
        return services;
    }

    public static void MapMonitoringApi(this IEndpointRouteBuilder app)
    {
        var v1 = app.MapGroup("/v1/models").WithTags("Monitoring");
        v1.MapGet("/{name}/drift", Drift).WithName("Drift")
            .WithSummary("Live drift of the served inputs and predictions against the bundle's reference profile, the concept-drift detectors, and accuracy from feedback. ?refresh=true computes drift now.")
            .Produces<DriftStatus>().ProducesProblem(404).ProducesProblem(409).ProducesProblem(503);
        v1.MapPost("/{name}/feedback", Feedback).WithName("Feedback")
            .WithSummary("The true outcome of a served prediction: {\"requestId\": \"<X-Request-Id of the predict answer>\", \"label\": \"…\"} (or \"labels\": […] for a request of several instances; \"value\"/\"values\" for a regression).")
            .Produces<FeedbackResponse>().ProducesProblem(400).ProducesProblem(404).ProducesProblem(409);
    }

    private static IResult Drift(HttpContext context, ModelCatalog catalog, ModelMonitors monitors, string name, string? version, bool? refresh)
    {
        var (monitored, error) = Find(catalog, monitors, name, version);
        if (monitored is null) return error!.ToProblem(context);
        if (refresh == true)
        {
            try
            {
                monitored.Monitor.Evaluate();
            }
            catch (DriftException e)
            {
                return new ApiError(409, "Too few rows", $"{e.Message} (model '{monitored.Name}' version {monitored.Version})").ToProblem(context);
            }
        }
        return Results.Json(Status(monitored, monitors.Options));
    }

    internal static DriftStatus Status(MonitoredModel m, DriftServingOptions options)
    {
        var s = m.Monitor.Snapshot();
        var r = s.Latest;
        return new DriftStatus(m.Name, m.Version, m.Monitor.Reference.Rows, s.WindowRows, s.RowsSeen, options.MinRows,
            r?.ComputedAt, r?.DatasetDrift, r?.DriftShare, r?.DriftShareThreshold, r?.Columns ?? [], r?.Predictions ?? [], r?.PredictionDrift,
            [.. s.Detectors.Select(d => d with { State = m.HeldState(d) })],
            new FeedbackStatus(m.Regression ? m.Errors.TotalSeen : s.FeedbackSeen, m.Regression ? null : s.Accuracy, m.Regression ? null : s.MacroF1,
                m.Errors.Mae, m.Errors.Rmse, m.Regression ? m.Tolerance : null),
            s.EstimatedAccuracy)
        {
            Note = r is null ? $"drift is computed once the window has {options.MinRows} rows (it has {s.WindowRows})" : null,
            Estimator = m.Estimator,
        };
    }

    private static async Task<IResult> Feedback(HttpContext context, ModelCatalog catalog, ModelMonitors monitors, PredictionService service, string name)
    {
        var (monitored, error) = Find(catalog, monitors, name, null);
        if (monitored is null) return error!.ToProblem(context);
        using var deadline = service.Deadline(context);
        var (body, readError) = await service.ReadJsonAsync(context, deadline.Token);
        if (body is not JsonObject obj) return (readError ?? ApiError.BadRequest("body", "expected a JSON object {\"requestId\": …, \"label\": …}")).ToProblem(context);
        if (obj["requestId"] is not JsonValue idValue || idValue.GetValueKind() != JsonValueKind.String || string.IsNullOrWhiteSpace(idValue.GetValue<string>()))
            return ApiError.BadRequest("requestId", "required: the X-Request-Id header of the predict answer this feedback is for").ToProblem(context);
        var requestId = idValue.GetValue<string>();
        var (pending, missing) = monitors.FindPending(name, requestId);
        if (pending is null) return missing!.ToProblem(context);
        var m = pending.Model;
        try
        {
            if (pending.Labels is { } predicted)
            {
                var actual = Actuals(obj, "label", predicted.Length, node => LabelOf(node, m.Labels));
                if (!pending.TryAnswer()) return Duplicate(monitors, m, requestId).ToProblem(context);
                for (var i = 0; i < actual.Length; i++) m.Monitor.Feedback(predicted[i], actual[i]);
                m.CountFeedback(actual.Length);
                monitors.Count(m, "ok");
                var s = m.Monitor.Snapshot();
                var correct = predicted.Zip(actual).Count(p => p.First == p.Second);
                return Results.Ok(new FeedbackResponse(m.Name, m.Version, requestId, actual.Length, correct, s.Accuracy, s.MacroF1, null, null, s.FeedbackSeen,
                    [.. s.Detectors.Select(d => d with { State = m.HeldState(d) })]));
            }
            var values = pending.Values!;
            var truth = Actuals(obj, "value", values.Length, NumberOf);
            if (!pending.TryAnswer()) return Duplicate(monitors, m, requestId).ToProblem(context);
            for (var i = 0; i < truth.Length; i++)
            {
                var err = values[i] - truth[i];
                m.Errors.Add(err);
                m.Monitor.FeedbackError(Math.Abs(err) > m.Tolerance ? 1 : 0);
            }
            m.CountFeedback(truth.Length);
            monitors.Count(m, "ok");
            var snapshot = m.Monitor.Snapshot();
            return Results.Ok(new FeedbackResponse(m.Name, m.Version, requestId, truth.Length, null, null, null, m.Errors.Mae, m.Errors.Rmse, m.Errors.TotalSeen,
                [.. snapshot.Detectors.Select(d => d with { State = m.HeldState(d) })]));
        }
        catch (InputException e)
        {
            monitors.Count(m, "bad_label");
            return ApiError.BadInput(e).ToProblem(context);
        }
    }

    private static ApiError Duplicate(ModelMonitors monitors, MonitoredModel m, string requestId)
    {
        monitors.Count(m, "duplicate");
        return new ApiError(409, "Feedback already given", $"request id '{requestId}' already has its feedback; each prediction counts once") { Field = "requestId" };
    }

    // "label": x for one row, "labels": [..] for several (the same for value/values); every problem names the field.
    private static T[] Actuals<T>(JsonObject obj, string single, int rows, Func<(JsonNode? Node, string Field), T> read)
    {
        var plural = single + "s";
        if (obj.TryGetPropertyValue(plural, out var many))
        {
            if (many is not JsonArray array) throw new InputException(plural, "expected an array, one per instance of the request");
            if (array.Count != rows) throw new InputException(plural, $"{array.Count} given, but the request predicted {rows} instance{(rows == 1 ? "" : "s")}");
            return [.. array.Select((n, i) => read((n, $"{plural}[{i}]")))];
        }
        if (obj.TryGetPropertyValue(single, out var one))
        {
            if (rows != 1) throw new InputException(single, $"the request predicted {rows} instances; send \"{plural}\": [...] with one each");
            return [read((one, single))];
        }
        throw new InputException(single, $"required: \"{single}\" (or \"{plural}\": [...] for a request of several instances)");
    }

    private static string LabelOf((JsonNode? Node, string Field) x, IReadOnlyList<string> labels)
    {
        var text = x.Node is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>()
            : x.Node is JsonValue n && n.GetValueKind() == JsonValueKind.Number ? n.ToJsonString()
            : throw new InputException(x.Field, $"expected a label (one of {string.Join(", ", labels.Take(20))})");
        if (labels.Contains(text)) return text;
        var hint = NameSuggester.Closest(text, labels) is { } close ? $"; did you mean '{close}'?" : "";
        throw new InputException(x.Field, $"'{text}' is not a label of this model (labels: {string.Join(", ", labels.Take(20))}){hint}");
    }

    private static double NumberOf((JsonNode? Node, string Field) x)
    {
        if (x.Node is JsonValue v && v.GetValueKind() == JsonValueKind.Number && v.GetValue<double>() is var d && double.IsFinite(d)) return d;
        if (x.Node is JsonValue s && s.GetValueKind() == JsonValueKind.String
            && double.TryParse(s.GetValue<string>(), NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed) && double.IsFinite(parsed)) return parsed;
        throw new InputException(x.Field, $"expected the true value as a finite number, got {x.Node?.ToJsonString() ?? "null"}");
    }

    private static (MonitoredModel? Model, ApiError? Error) Find(ModelCatalog catalog, ModelMonitors monitors, string name, string? version)
    {
        var found = catalog.Find(name, version);
        if (found.Entry is not { } entry)
        {
            return (null, found.Status == 400 ? new ApiError(400, "Invalid model name", found.Error!)
                : new ApiError(404, version is null ? "Unknown model" : "Unknown version", found.Error!) { KnownModels = version is null ? found.Known : null });
        }
        if (entry.Current is not { } served)
            return (null, new ApiError(503, "Model loading", $"model '{entry.Name}' is not loaded yet; retry shortly") { RetryAfterSeconds = 1 });
        if (!monitors.Options.Enabled)
            return (null, new ApiError(409, "Monitoring off", "drift monitoring is turned off on this server"));
        return monitors.For(served) is { } m
            ? (m, null)
            : (null, new ApiError(409, "No reference profile", $"model '{served.Name}' version {served.Version} has no {BundleProfile.FileName}, so its drift is not monitored; "
                + (served.Manifest.Flavor == ModelFlavors.TorchImage
                    ? "image bundles get one when trained (forge train, forge finetune): retrain it to monitor it"
                    : "add one with 'forge monitor profile BUNDLE --data TRAIN.csv' (tabular columns, or a 'text' column for a text model)")));
    }
}

/// <summary>The live drift of one served version.</summary>
internal sealed record DriftStatus(
    string Model, string Version, long ReferenceRows, long WindowRows, long RowsSeen, int MinRows, DateTimeOffset? ComputedAt,
    bool? DatasetDrift, double? DriftShare, double? DriftShareThreshold, IReadOnlyList<ColumnDrift> Columns, IReadOnlyList<ColumnDrift> Predictions,
    bool? PredictionDrift, IReadOnlyList<DetectorStatus> Detectors, FeedbackStatus Feedback, double? EstimatedAccuracy)
{
    /// <summary>Why there is no verdict yet, when there is none.</summary>
    public string? Note { get; init; }

    /// <summary>What <see cref="EstimatedAccuracy"/> is: "calibrated" (CBPE with the bundle's recalibration) or "uncalibrated" (the model's mean confidence); null for a regression.</summary>
    public string? Estimator { get; init; }
}

/// <summary>What feedback has shown: accuracy and F1 (classifiers) or MAE and RMSE (regressions) over the latest labelled predictions.</summary>
internal sealed record FeedbackStatus(long Seen, double? Accuracy, double? MacroF1, double? Mae, double? Rmse, double? MissTolerance);

/// <summary>The answer to feedback: what it changed.</summary>
internal sealed record FeedbackResponse(string Model, string Version, string RequestId, int Rows, int? Correct, double? Accuracy, double? MacroF1,
    double? Mae, double? Rmse, long FeedbackSeen, IReadOnlyList<DetectorStatus> Detectors);
