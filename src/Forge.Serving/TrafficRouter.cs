using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Forge.Core;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Forge.Serving;

/// <summary>
/// Splits a model's traffic between its primary version and a canary, and sends copies to a shadow. Only requests
/// addressed by model name take part; <c>…/versions/V/predict</c> always reaches version V.
/// </summary>
/// <remarks>
/// The canary share is decided by the request id, not by a random draw: SHA-256 of the id (the client's
/// <c>X-Request-Id</c>, else a fresh GUID) maps it to a bucket in [0, 100), and buckets below the percentage go to the
/// canary. A client that sends its own ids (a session or user id) therefore always meets the same version, a retry with
/// the same id lands where the first try did, and a test with fixed ids sees a fixed split; ids the server makes are
/// random, so anonymous traffic splits as a fair coin would.
/// </remarks>
internal sealed class TrafficRouter
{
    private const string ShadowKey = "forge.shadow";
    private readonly Dictionary<ModelEntry, Routes> _routes = [];
    private readonly ModelCatalog _catalog;
    private readonly ServerMetrics _metrics;
    private readonly ServerOptions _options;
    private readonly ILogger _logger;
    private long _shadowErrors;

    public TrafficRouter(ModelCatalog catalog, ServerOptions options, ServerMetrics metrics, ILogger<TrafficRouter> logger)
    {
        _catalog = catalog;
        _options = options;
        _metrics = metrics;
        _logger = logger;
        foreach (var challenger in catalog.Entries.Where(e => e.Role != ModelRole.Primary))
        {
            // Requests by name reach the model's default entry: that is the one whose traffic is shared.
            var primary = catalog.Find(challenger.Name, null).Entry!;
            if (!_routes.TryGetValue(primary, out var routes)) _routes[primary] = routes = new Routes();
            if (challenger.Role == ModelRole.Canary)
            {
                routes.Canary = challenger;
                routes.Percent = options.Challengers.First(c => c.Mode == ChallengerMode.Canary && c.Model == challenger.Name).Percent;
            }
            else routes.Shadow = challenger;
        }
    }

    /// <summary>The bucket of a request id in [0, 100): the canary answers the requests whose bucket is below its percentage.</summary>
    public static double Bucket(string requestId)
    {
        ArgumentNullException.ThrowIfNull(requestId);
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(requestId), hash);
        return BinaryPrimitives.ReadUInt64BigEndian(hash) % 1_000_000 / 10_000.0;
    }

    /// <summary>The version that answers a request addressed by name; remembers the shadow that gets a copy once it is answered.</summary>
    public ModelEntry Route(HttpContext context, ModelEntry primary)
    {
        if (!_routes.TryGetValue(primary, out var routes)) return primary;
        if (routes.Shadow is not null) context.Items[ShadowKey] = routes.Shadow;
        return routes.Canary is { State: ModelState.Ready } canary && Bucket(context.TraceIdentifier) < routes.Percent ? canary : primary;
    }

    /// <summary>Counts the answer and, for a request with a shadow, sends the shadow a copy after the response is written.</summary>
    public void Answered(HttpContext context, ModelEntry entry, ServedModel served, Table rows, Prediction prediction)
    {
        _metrics.Routed.WithLabels(served.Name, served.Version, RoleLabel(entry.Role), "ok").Inc(1);
        if (context.Items[ShadowKey] is not ModelEntry shadow || shadow.State != ModelState.Ready) return;
        var answered = Answers(prediction);
        context.Response.OnCompleted(() =>
        {
            // Not awaited: the client has its answer; the shadow's work is only compared and counted.
            _ = ShadowAsync(shadow, rows, answered);
            return Task.CompletedTask;
        });
    }

    /// <summary>Counts a request the chosen version did not answer.</summary>
    public void Failed(ModelEntry entry) => _metrics.Routed.WithLabels(entry.Name, entry.Version, RoleLabel(entry.Role), "error").Inc(1);

    /// <summary>What a served version does for its model: its role and, for requests by name, its share of them in percent.</summary>
    public (string Role, double? TrafficPercent) Describe(ModelEntry entry)
    {
        if (entry.Role == ModelRole.Shadow) return ("shadow", null);
        var routes = _routes.Values.FirstOrDefault(r => ReferenceEquals(r.Canary, entry));
        if (routes is not null) return ("canary", routes.Percent);
        if (!ReferenceEquals(_catalog.Find(entry.Name, null).Entry, entry)) return ("primary", 0);
        return ("primary", _routes.TryGetValue(entry, out var own) && own.Canary is not null ? 100 - own.Percent : 100);
    }

    // What a shadow is compared on: the labels of a classifier, the values of a regression.
    private static string[] Answers(Prediction prediction) =>
        prediction.Probabilities is not null
            ? [.. Enumerable.Range(0, prediction.RowCount).Select(prediction.PredictedLabel)]
            : [.. prediction.Values!.Select(v => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture))];

    private async Task ShadowAsync(ModelEntry shadow, Table rows, string[] answered)
    {
        var version = shadow.Version;
        try
        {
            using var timeout = new CancellationTokenSource(_options.RequestTimeout);
            var (served, prediction) = await _catalog.PredictAsync(shadow, rows, timeout.Token);
            version = served.Version;
            var agree = Answers(prediction).SequenceEqual(answered, StringComparer.Ordinal);
            _metrics.Routed.WithLabels(served.Name, served.Version, "shadow", agree ? "agree" : "disagree").Inc(1);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _metrics.Routed.WithLabels(shadow.Name, version, "shadow", "error").Inc(1);
            // Logged at 1, 2, 4, 8, … errors: a broken shadow shows in the log without flooding it.
            var count = Interlocked.Increment(ref _shadowErrors);
            if ((count & (count - 1)) == 0)
                _logger.LogWarning("shadow {Model} version {Version} failed ({Count} shadow errors so far): {Error}", shadow.Name, version, count, e.Message);
        }
    }

    private static string RoleLabel(ModelRole role) => role.ToString().ToLowerInvariant();

    private sealed class Routes
    {
        public ModelEntry? Canary { get; set; }

        public double Percent { get; set; }

        public ModelEntry? Shadow { get; set; }
    }
}
