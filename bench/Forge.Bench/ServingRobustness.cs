using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Forge.Bench;

/// <summary>
/// The robustness run: many requests at high concurrency mixing valid predictions with every kind of bad request
/// (malformed JSON, wrong shapes, NaN and overflowing numbers, values out of the trained range, unknown models, bodies
/// over the size limit, bad Open Inference Protocol requests). The server passes when nothing is answered 5xx, every
/// valid request gets 2xx, every invalid one gets a 4xx with a reason (problem details, or the protocol's error object),
/// and it is still ready afterwards. The mix is drawn from a fixed seed, so two runs send the same requests.
/// </summary>
internal static class ServingRobustness
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>The kinds of request sent, each with its share (per mille) and whether it is valid.</summary>
    internal static IReadOnlyList<Kind> Kinds(string model)
    {
        var row = Enumerable.Range(0, 784).Select(i => ((i * 37 % 256) / 255.0).ToString("0.####", Inv)).ToArray();
        var rowJson = "[" + string.Join(',', row) + "]";
        string Instances(string inner) => "{\"instances\":[" + inner + "]}";
        var predict = $"/v1/models/{model}/predict";
        var infer = $"/v2/models/{model}/infer";
        var pixels255 = "[" + string.Join(',', Enumerable.Range(0, 784).Select(i => (i * 37 % 256).ToString(Inv))) + "]";
        var withNanString = "[\"NaN\"," + string.Join(',', row.Skip(1)) + "]";
        var withOverflow = "[1e999," + string.Join(',', row.Skip(1)) + "]";
        var v2Valid = "{\"inputs\":[{\"name\":\"image\",\"shape\":[1,784],\"datatype\":\"FP32\",\"data\":" + rowJson + "}]}";
        var v2WrongShape = "{\"inputs\":[{\"name\":\"image\",\"shape\":[1,3],\"datatype\":\"FP32\",\"data\":[1,2,3]}]}";
        // Just over the default 10 MB limit. Few of these: each one is 11 MB through the loopback.
        var oversize = Encoding.UTF8.GetBytes(Instances(string.Join(',', Enumerable.Repeat(rowJson, 11 * 1024 * 1024 / rowJson.Length + 1))));
        return
        [
            new("valid, 1 instance", 520, true, predict, Instances(rowJson)),
            new("valid, 4 instances", 50, true, predict, Instances(string.Join(',', Enumerable.Repeat(rowJson, 4)))),
            new("valid, protocol v2", 40, true, infer, v2Valid, InferenceProtocol: true),
            new("malformed JSON", 60, false, predict, Instances(rowJson)[..500]),
            new("not an object", 20, false, predict, "\"hello\""),
            new("empty body", 20, false, predict, ""),
            new("wrong shape (3 values)", 60, false, predict, Instances("[1,2,3]")),
            new("ragged nesting", 20, false, predict, Instances("[[0.1,0.2],[0.3]]")),
            new("NaN (as a string)", 40, false, predict, Instances(withNanString)),
            new("overflow (1e999)", 40, false, predict, Instances(withOverflow)),
            new("0-255 pixels to a 0-1 model", 20, false, predict, Instances(pixels255)),
            new("unknown model", 60, false, "/v1/models/no-such-model/predict", Instances(rowJson)),
            new("invalid model name", 10, false, "/v1/models/..%2F..%2Fetc/predict", Instances(rowJson)),
            new("protocol v2, wrong shape", 30, false, infer, v2WrongShape, InferenceProtocol: true),
            new("protocol v2, unknown model", 10, false, "/v2/models/no-such-model/infer", v2Valid, InferenceProtocol: true),
            new("oversize (> 10 MB)", 1, false, predict, Bytes: oversize),
        ];
    }

    public static Outcome Run(string baseUrl, string model, int requests, int concurrency, BenchLog log)
    {
        var kinds = Kinds(model);
        var total = kinds.Sum(k => k.PerMille);
        var random = new Random(20261125);
        var plan = new Kind[requests];
        for (var i = 0; i < requests; i++)
        {
            var pick = random.Next(total);
            plan[i] = kinds.First(k => (pick -= k.PerMille) < 0);
        }
        log.Say($"robustness: sending {requests:N0} requests at concurrency {concurrency}…");
        // The oversize requests wait for the server's verdict (Expect: 100-continue): the default 1 s wait runs out on a busy
        // machine, the 11 MB body goes out anyway and the 413 then races the upload ("no response" instead of a 413).
        using var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = concurrency, PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5), Expect100ContinueTimeout = TimeSpan.FromSeconds(30),
        };
        using var client = new HttpClient(handler) { BaseAddress = new Uri(baseUrl), Timeout = TimeSpan.FromSeconds(60) };
        var tallies = kinds.ToDictionary(k => k.Name, _ => new Tally());
        var failures = new ConcurrentQueue<string>();
        var next = -1;
        var clock = Stopwatch.StartNew();
        var workers = Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < plan.Length)
            {
                var kind = plan[i];
                var (status, problem) = await Send(client, kind);
                var tally = tallies[kind.Name];
                tally.Add(status);
                if (problem is not null && failures.Count < 20) failures.Enqueue($"{kind.Name}: {problem}");
                if (problem is not null) tally.Unexpected();
            }
        })).ToArray();
        Task.WaitAll(workers);
        clock.Stop();
        var ready = HttpStatusCode.ServiceUnavailable;
        try
        {
            using var response = client.GetAsync("/health/ready").GetAwaiter().GetResult();
            ready = response.StatusCode;
        }
        catch (HttpRequestException e)
        {
            failures.Enqueue($"/health/ready after the run: {e.Message}");
        }
        return new Outcome(kinds, tallies, [.. failures], ready, clock.Elapsed, requests, concurrency);
    }

    /// <summary>Sends one request; the status (0 when no response came) and, when the answer is not what it should be, why.</summary>
    private static async Task<(int Status, string? Problem)> Send(HttpClient client, Kind kind)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, kind.Path);
        if (kind.Bytes is not null)
        {
            request.Content = new ByteArrayContent(kind.Bytes);
            // Like curl for a large body: wait for the server's verdict before sending 11 MB it will refuse.
            request.Headers.ExpectContinue = true;
        }
        else
        {
            request.Content = new StringContent(kind.Body!, Encoding.UTF8);
        }
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        HttpResponseMessage response;
        try
        {
            response = await client.SendAsync(request);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
        {
            return (0, $"no response: {e.GetBaseException().Message}");
        }
        using (response)
        {
            var status = (int)response.StatusCode;
            var text = await response.Content.ReadAsStringAsync();
            if (status >= 500) return (status, $"{status}: {Shorten(text)}");
            if (kind.Valid) return status is >= 200 and < 300 ? (status, null) : (status, $"a valid request got {status}: {Shorten(text)}");
            if (status is < 400 or >= 500) return (status, $"an invalid request got {status}");
            return (status, Reason(response, text, kind.InferenceProtocol) is null ? $"{status} without a reason: {Shorten(text)}" : null);
        }
    }

    /// <summary>The reason a 4xx gives: problem details' detail (native API) or the protocol's error; null when there is none.</summary>
    private static string? Reason(HttpResponseMessage response, string text, bool inferenceProtocol)
    {
        var media = response.Content.Headers.ContentType?.MediaType;
        try
        {
            var json = JsonNode.Parse(text);
            if (inferenceProtocol) return media == "application/json" ? NonEmpty(json?["error"]) : null;
            return media == "application/problem+json" && NonEmpty(json?["title"]) is not null ? NonEmpty(json?["detail"]) : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string? NonEmpty(JsonNode? node) =>
        node is JsonValue v && v.TryGetValue<string>(out var s) && !string.IsNullOrWhiteSpace(s) ? s : null;

    private static string Shorten(string text) => text.Length <= 200 ? text : text[..200] + "…";

    internal sealed record Kind(string Name, int PerMille, bool Valid, string Path, string? Body = null, bool InferenceProtocol = false, byte[]? Bytes = null);

    internal sealed class Tally
    {
        private readonly ConcurrentDictionary<int, long> _codes = new();
        private long _sent, _2xx, _4xx, _5xx, _none, _unexpected;

        /// <summary>Each status code seen with its count, e.g. "400×130, 413×2".</summary>
        public string Codes => string.Join(", ", _codes.OrderBy(kv => kv.Key).Select(kv => string.Create(Inv, $"{kv.Key}×{kv.Value}")));

        public long Sent => Interlocked.Read(ref _sent);
        public long Ok => Interlocked.Read(ref _2xx);
        public long ClientErrors => Interlocked.Read(ref _4xx);
        public long ServerErrors => Interlocked.Read(ref _5xx);
        public long NoResponse => Interlocked.Read(ref _none);
        public long Wrong => Interlocked.Read(ref _unexpected);

        public void Add(int status)
        {
            Interlocked.Increment(ref _sent);
            if (status != 0) _codes.AddOrUpdate(status, 1, (_, n) => n + 1);
            if (status == 0) Interlocked.Increment(ref _none);
            else if (status < 300) Interlocked.Increment(ref _2xx);
            else if (status is >= 400 and < 500) Interlocked.Increment(ref _4xx);
            else if (status >= 500) Interlocked.Increment(ref _5xx);
        }

        public void Unexpected() => Interlocked.Increment(ref _unexpected);
    }

    internal sealed record Outcome(IReadOnlyList<Kind> KindList, Dictionary<string, Tally> Tallies, IReadOnlyList<string> Failures,
        HttpStatusCode ReadyAfter, TimeSpan Elapsed, int Requests, int Concurrency)
    {
        public long ServerErrors => Tallies.Values.Sum(t => t.ServerErrors);

        public long Wrong => Tallies.Values.Sum(t => t.Wrong);

        public bool Passed => ServerErrors == 0 && Wrong == 0 && ReadyAfter == HttpStatusCode.OK && Tallies.Values.Sum(t => t.Sent) == Requests;

        public void Report(Action<string> Out)
        {
            Out($"## Robustness: {Requests:N0} requests at concurrency {Concurrency}, valid and invalid mixed ({Elapsed.TotalSeconds:0.0} s)");
            Out("");
            Out("| request | valid | sent | 2xx | 4xx | 5xx | no response | not as expected | status codes |");
            Out("|---|---|---:|---:|---:|---:|---:|---:|---|");
            foreach (var kind in KindList)
            {
                var t = Tallies[kind.Name];
                Out(string.Create(Inv, $"| {kind.Name} | {(kind.Valid ? "yes" : "no")} | {t.Sent} | {t.Ok} | {t.ClientErrors} | {t.ServerErrors} | {t.NoResponse} | {t.Wrong} | {t.Codes} |"));
            }
            var all = Tallies.Values;
            Out(string.Create(Inv, $"| **all** | | {all.Sum(t => t.Sent)} | {all.Sum(t => t.Ok)} | {all.Sum(t => t.ClientErrors)} | {all.Sum(t => t.ServerErrors)} | {all.Sum(t => t.NoResponse)} | {Wrong} | |"));
            Out("");
            Out($"5xx responses: {ServerErrors}. Requests not answered as expected (valid → 2xx; invalid → 4xx with a reason): {Wrong}. "
                + $"/health/ready afterwards: {(int)ReadyAfter}. Verdict: **{(Passed ? "pass" : "FAIL")}**.");
            foreach (var f in Failures) Out($"- {f}");
            Out("");
        }
    }
}
