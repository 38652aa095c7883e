using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Forge.Core;

namespace Forge.Serving.Tests;

/// <summary>Submitting batch jobs and waiting for them, for the batch job tests.</summary>
internal static class BatchJobs
{
    public static async Task<(HttpResponseMessage Response, JsonNode? Body)> SubmitAsync(RunningServer server, string query, string content, string contentType = "application/x-ndjson")
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/batch-jobs?" + query) { Content = new StringContent(content, Encoding.UTF8, contentType) };
        // Uploads may be refused for their size: wait for the server's verdict before sending the body.
        request.Headers.ExpectContinue = true;
        var response = await server.Client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response, text.Length == 0 ? null : JsonNode.Parse(text));
    }

    /// <summary>Submits and expects 202; returns the job id.</summary>
    public static async Task<string> SubmitOkAsync(RunningServer server, string query, string content, string contentType = "application/x-ndjson")
    {
        var (response, body) = await SubmitAsync(server, query, content, contentType);
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, $"{(int)response.StatusCode}: {body?.ToJsonString()}");
        var id = (string)body!["id"]!;
        Assert.Equal($"/v1/batch-jobs/{id}", response.Headers.Location!.OriginalString);
        return id;
    }

    public static async Task<JsonNode> StatusAsync(RunningServer server, string id)
    {
        var (response, body) = await server.GetAsync($"/v1/batch-jobs/{id}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return body!;
    }

    /// <summary>Polls the job until <paramref name="done"/> holds; fails (never passes) when it does not within a minute.</summary>
    public static async Task<JsonNode> WaitForAsync(RunningServer server, string id, Func<JsonNode, bool> done)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            var status = await StatusAsync(server, id);
            if (done(status)) return status;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"job {id} never reached the expected state; last: {status.ToJsonString()}");
            await Task.Delay(20);
        }
    }

    public static Task<JsonNode> WaitFinishedAsync(RunningServer server, string id) =>
        WaitForAsync(server, id, s => (string?)s["status"] is "succeeded" or "failed" or "cancelled");

    public static async Task<string> ResultsAsync(RunningServer server, string id)
    {
        var response = await server.Client.GetAsync($"/v1/batch-jobs/{id}/results");
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode}: {text}");
        return text;
    }

    public static List<JsonNode> JsonLines(string text) =>
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!).ToList();
}

/// <summary>
/// A test flavor whose forward passes each need a permit: the warm-up and the first passes go through, then the model
/// stalls until the test hands out more, so a job can be caught mid-way without any timing. "yes" is as likely as the
/// first value, as with <see cref="GatedLoader"/> (whose bundles it serves).
/// </summary>
internal sealed class StallingLoader(int permits) : IModelLoader
{
    public SemaphoreSlim Permits { get; } = new(permits);

    /// <summary>Released each time a forward pass starts.</summary>
    public SemaphoreSlim Entered { get; } = new(0);

    public int Rows;

    public string Flavor => GatedLoader.FlavorName;

    public bool CanLoad(ModelManifest manifest) => true;

    public ServableModel Load(ModelBundle bundle)
    {
        var signature = bundle.Manifest.Signature;
        return new ServableModel(new Predictor(this, signature), new InstanceDecoder(signature.Inputs[0]));
    }

    /// <summary>Lets every stalled and future pass through.</summary>
    public void Open() => Permits.Release(100_000);

    private sealed class Predictor(StallingLoader owner, ModelSignature signature) : IPredictor
    {
        public ModelSignature Signature { get; } = signature;

        public Prediction Predict(Table batch)
        {
            var rows = TestTables.Rows(batch);
            Interlocked.Add(ref owner.Rows, rows.Length);
            owner.Entered.Release();
            owner.Permits.Wait();
            return Prediction.Classes(Signature.Labels, rows.Select(r => new[] { 1 - r[0], r[0] }).ToArray());
        }

        public void Dispose()
        {
        }
    }
}
