using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Forge.Core;
using Forge.Serving;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Hosting;

namespace Forge.Cli;

/// <summary><c>forge serve</c>: the model server over bundle folders and registry models.</summary>
internal static class ServeCommand
{
    /// <summary>Called once the server is ready, so tests can talk to it and stop it; null outside tests.</summary>
    internal static Action<WebApplication>? Started { get; set; }

    // The server's own defaults, so `forge serve --help` and a C# host built from `new ServerOptions()` cannot disagree.
    private static readonly ServerOptions Defaults = new();

    public static Command Create(TextWriter output, TextWriter error, bool terminal)
    {
        var model = new Option<string[]>("--model")
        {
            Description = "A bundle directory or .forge file to serve; repeat for more. NAME=DIR serves it under another name than its manifest's",
            AllowMultipleArgumentsPerToken = false,
        };
        var models = new Option<string?>("--models") { Description = "Registry models, comma-separated: NAME@ALIAS, NAME/VERSION, or NAME (meaning NAME@champion)" };
        var tracking = TrackingCli.CreateUriOption(recursive: false);
        var host = new Option<string>("--host") { Description = "Address to listen on: 127.0.0.1 (this machine only), 0.0.0.0 (every interface) or an IP", DefaultValueFactory = _ => Defaults.Host };
        var port = new Option<int>("--port") { Description = "TCP port (0 picks a free one and prints it)", DefaultValueFactory = _ => Defaults.Port };
        var maxBatch = new Option<int>("--max-batch-size") { Description = "Most rows coalesced into one forward pass; 1 turns batching off", DefaultValueFactory = _ => Defaults.Batching.MaxBatchSize };
        var maxDelay = new Option<double>("--max-delay-ms") { Description = "How long a request waits for others to share its forward pass", DefaultValueFactory = _ => Defaults.Batching.MaxDelayMs };
        var workers = new Option<int>("--workers") { Description = "Forward passes of one model that may run at once (image models; each uses --threads threads)", DefaultValueFactory = _ => Defaults.Batching.Workers };
        var queue = new Option<int>("--queue-capacity") { Description = "Requests that may wait per model before new ones get 503", DefaultValueFactory = _ => Defaults.Batching.QueueCapacity };
        var timeout = new Option<double>("--timeout") { Description = "Seconds a request may wait for its prediction before it gets 504", DefaultValueFactory = _ => Defaults.RequestTimeout.TotalSeconds };
        var maxRequest = new Option<double>("--max-request-mb") { Description = "Largest request body in MB; a larger one gets 413", DefaultValueFactory = _ => Defaults.MaxRequestBytes / (1024.0 * 1024) };
        var requireKey = new Option<bool>("--require-api-key") { Description = $"Also require the API key (${ServerOptions.ApiKeyVariable}) for predict and infer, not only for management" };
        var logFormat = new Option<string>("--log-format") { Description = "text (one line per event) or json (one object per line, for log collectors)", DefaultValueFactory = _ => "text" };
        logFormat.AcceptOnlyFromAmong("text", "json");
        var jobsDir = new Option<string?>("--jobs-dir") { Description = "Where batch jobs keep their state, inputs and results (default $FORGE_HOME/batch-jobs/port-PORT; with --port 0 a temporary folder); unfinished jobs found there resume at start" };
        var chatModel = new Option<string?>("--chat-model") { Description = "The text model the /chat support-chat page calls (default: the first text model served)" };
        var watch = new Option<double>("--watch-interval") { Description = "Seconds between checks of the served registry aliases; a moved alias is loaded, warmed and swapped in without a failed request. 0 turns it off", DefaultValueFactory = _ => Defaults.WatchInterval.TotalSeconds };
        var canary = new Option<string[]>("--canary") { Description = "NAME:ALIAS=PERCENT, e.g. sentiment:challenger=10: that alias of the registry model answers PERCENT % of requests by name (split by request-id hash); repeat for more models" };
        var shadow = new Option<string[]>("--shadow") { Description = "NAME:ALIAS, e.g. sentiment:challenger: that alias of the registry model gets a copy of each request after the client is answered; its errors are only counted" };
        var uploadLimit = new Option<double>("--upload-limit") { Description = "Largest bundle POST /v1/models accepts, in MB", DefaultValueFactory = _ => Defaults.MaxUploadBytes / (1024.0 * 1024) };
        var threads = new Option<int?>("--threads")
        {
            Description = $"Threads each forward pass may use (default: half the cores, here {ServerOptions.DefaultInferenceThreads}); set by the server, so OMP_NUM_THREADS does not apply",
        };

        var cmd = new Command("serve", $$"""
            Serve models over HTTP: Forge's REST API, the Open Inference Protocol v2 (KServe/Triton clients), Prometheus metrics and health probes.
            Models load and warm in the background; /health/ready answers 200 once all are warm. Concurrent requests to one model are
            batched into one forward pass. Ctrl+C drains requests in flight, then stops.

            Endpoints:
              POST /v1/models/NAME/predict         {"instances": [{"image_b64": "<PNG, base64>"}, [0.0, 0.1, …]]} or one instance
              POST /v1/models/NAME/versions/V/predict
              GET  /v1/models, /v1/models/NAME     what is served, with signatures and counters
              POST /v1/models/NAME/reload          reload from the source (a registry alias is resolved again); needs the API key
              POST /v1/models                      upload a .forge bundle (the body) as a new registered version; needs the API key
              PUT  /v1/models/NAME/aliases/ALIAS   {"version": N}: move a registry alias; served versions following it swap now; needs the API key
              POST /v2/models/NAME/infer           Open Inference Protocol; also GET /v2, /v2/models/NAME, /v2/health/ready
              POST /v1/batch-jobs?model=NAME       a JSONL or CSV file of instances, run in the background; GET /v1/batch-jobs/ID[/results]
              GET  /metrics, /health/live, /health/ready, /openapi/v1.json, /scalar (API reference in the browser)
              GET  /chat                           live support-chat demo: each message's sentiment, the mood, an escalation flag

            Management endpoints need ${{ServerOptions.ApiKeyVariable}} set on the server and sent as 'Authorization: Bearer KEY' or 'X-API-Key: KEY'.

            Examples:
              forge serve --model models/mnist-cnn
              forge serve --models mnist@champion,sentiment --port 9000
              forge serve --model digits=models/mnist-cnn --max-batch-size 64 --max-delay-ms 5
              forge serve --models sentiment@champion --canary sentiment:challenger=10
              curl -s localhost:8080/v1/models/mnist-cnn/predict -d "{\"image_b64\": \"$(base64 -w0 digit.png)\"}"
            """)
        {
            model, models, tracking, host, port, maxBatch, maxDelay, workers, queue, timeout, maxRequest, requireKey, logFormat, jobsDir, chatModel,
            watch, canary, shadow, uploadLimit, threads,
        };
        DriftServeFlags.AddTo(cmd);
        cmd.SetAction(p =>
        {
            var ctx = new CliContext(output, error, p.GetValue(CliApp.JsonOption), terminal);
            return CliApp.Guard(ctx, () =>
            {
                var sources = new List<ModelSource>();
                foreach (var text in p.GetValue(model) ?? []) sources.Add(BundleSource(text));
                foreach (var reference in (p.GetValue(models) ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                    sources.Add(ModelSource.FromRegistry(reference));
                if (sources.Count == 0) throw new UsageException("nothing to serve: give --model DIR or --models NAME@ALIAS (see forge serve --help)");
                var options = new ServerOptions
                {
                    Models = sources,
                    Host = p.GetValue(host)!,
                    Port = p.GetValue(port),
                    TrackingUri = p.GetValue(tracking),
                    Batching = new BatchingOptions { MaxBatchSize = p.GetValue(maxBatch), MaxDelayMs = p.GetValue(maxDelay), QueueCapacity = p.GetValue(queue), Workers = p.GetValue(workers) },
                    RequestTimeout = Seconds(p.GetValue(timeout), "--timeout"),
                    MaxRequestBytes = (long)(p.GetValue(maxRequest) * 1024 * 1024),
                    RequireApiKeyForPredict = p.GetValue(requireKey),
                    JsonLogs = p.GetValue(logFormat) == "json",
                    BatchJobs = new BatchJobOptions { Directory = p.GetValue(jobsDir) },
                    ChatModel = p.GetValue(chatModel),
                    WatchInterval = p.GetValue(watch) is var w && double.IsFinite(w) && w >= 0
                        ? TimeSpan.FromSeconds(w) : throw new UsageException($"--watch-interval must be 0 (off) or a positive number of seconds (got {w})"),
                    Challengers = [.. (p.GetValue(canary) ?? []).Select(Challenger.ParseCanary), .. (p.GetValue(shadow) ?? []).Select(Challenger.ParseShadow)],
                    MaxUploadBytes = (long)(p.GetValue(uploadLimit) * 1024 * 1024),
                    InferenceThreads = p.GetValue(threads),
                    Drift = DriftServeFlags.Read(p),
                };
                return Serve(ctx, options);
            });
        });
        return cmd;
    }

    private static int Serve(CliContext ctx, ServerOptions options)
    {
        var app = ForgeServer.Build(options);
        try
        {
            app.StartAsync().GetAwaiter().GetResult();
            var addresses = ForgeServer.Addresses(app);
            foreach (var address in addresses) ctx.Err.WriteLine($"forge serve: listening on {address}; loading {options.Models.Count} model(s)…");
            ctx.Err.WriteLine($"forge serve: forward passes use {Forge.DeepLearning.TorchRuntime.Threads} thread(s) (--threads)");
            try
            {
                ForgeServer.WaitUntilReadyAsync(app, app.Lifetime.ApplicationStopping).GetAwaiter().GetResult();
            }
            catch (OperationCanceledException)
            {
                // Stopped (Ctrl+C) while loading: nothing failed.
                app.WaitForShutdownAsync().GetAwaiter().GetResult();
                return 0;
            }
            var served = ForgeServer.Models(app);
            if (ctx.Json)
            {
                ctx.WriteJson(new JsonObject
                {
                    ["addresses"] = new JsonArray(addresses.Select(a => (JsonNode?)a).ToArray()),
                    ["models"] = new JsonArray(served.Select(m => (JsonNode?)new JsonObject { ["name"] = m.Name, ["version"] = m.Version, ["source"] = m.Origin }).ToArray()),
                });
            }
            else
            {
                foreach (var m in served) ctx.Say($"ready: {m.Name} version {m.Version} ({m.Origin})");
                var first = served[0].Name;
                ctx.Say(string.Create(CultureInfo.InvariantCulture, $"try: curl -s {addresses.FirstOrDefault()}/v1/models/{first}   ·   API reference: {addresses.FirstOrDefault()}/scalar"));
            }
            Started?.Invoke(app);
            app.WaitForShutdownAsync().GetAwaiter().GetResult();
            return 0;
        }
        catch
        {
            // A model that failed to load: stop listening before the error is printed, so nothing keeps answering 503.
            app.StopAsync().GetAwaiter().GetResult();
            throw;
        }
        finally
        {
            ((IAsyncDisposable)app).DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    /// <summary>DIR, or NAME=DIR when DIR exists and NAME is a valid model name.</summary>
    private static ModelSource BundleSource(string text)
    {
        var eq = text.IndexOf('=', StringComparison.Ordinal);
        if (eq > 0 && !Directory.Exists(text) && !File.Exists(text) && ModelNames.Problem(text[..eq]) is null)
            return new ModelSource { BundlePath = text[(eq + 1)..], Name = text[..eq] };
        return ModelSource.FromBundle(text);
    }

    private static TimeSpan Seconds(double value, string option) =>
        double.IsFinite(value) && value > 0 ? TimeSpan.FromSeconds(value) : throw new UsageException($"{option} must be a positive number of seconds (got {value})");
}
