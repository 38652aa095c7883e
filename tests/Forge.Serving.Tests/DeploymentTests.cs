using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Forge.Core;
using Forge.Tests.Shared;
using Forge.Tracking;

namespace Forge.Serving.Tests;

/// <summary>
/// deploy/ (Dockerfile, docker-compose.yml, prometheus.yml, k8s/forge.yaml) against the server: one container port
/// everywhere, probe and scrape paths the server really maps with the meaning each probe needs, and only
/// <c>forge serve</c> options and environment variables that Forge knows.
/// </summary>
public sealed partial class DeploymentTests : IDisposable
{
    private readonly TempDir _temp = new("forge-deploy-");
    private readonly GatedLoader _loader = new();
    private readonly IReadOnlyList<DockerInstruction> _docker = DeploymentFiles.Dockerfile();
    private readonly JsonNode _compose = Assert.Single(DeploymentFiles.Yaml("docker-compose.yml"));
    private readonly JsonNode _prometheus = Assert.Single(DeploymentFiles.Yaml("prometheus.yml"));
    private readonly IReadOnlyList<JsonNode> _k8s = DeploymentFiles.Yaml("k8s/forge.yaml");

    public void Dispose()
    {
        _loader.Gate.Set();
        _temp.Dispose();
    }

    private int FinalStage => _docker.Max(i => i.Stage);

    private DockerInstruction Final(string keyword) => Assert.Single(_docker, i => i.Stage == FinalStage && i.Keyword == keyword);

    private string[] Entrypoint => DeploymentFiles.ExecForm(Final("ENTRYPOINT").Arguments);

    private JsonNode ForgeService => _compose["services"]!["forge"]!;

    private JsonNode Deployment => DeploymentFiles.Kind(_k8s, "Deployment");

    private JsonNode Container => Assert.Single(Deployment["spec"]!["template"]!["spec"]!["containers"]!.AsArray(), c => (string?)c!["name"] == "forge")!;

    /// <summary>The HEALTHCHECK's command: it speaks HTTP over bash's /dev/tcp, so the port and path are in its text.</summary>
    private (int Port, string Path) HealthCheck()
    {
        var arguments = Final("HEALTHCHECK").Arguments;
        var command = string.Join(' ', DeploymentFiles.ExecForm(arguments[arguments.IndexOf("CMD [", StringComparison.Ordinal)..][4..]));
        var port = TcpTarget().Match(command);
        var path = HttpGet().Match(command);
        Assert.True(port.Success && path.Success, $"HEALTHCHECK command without /dev/tcp/HOST/PORT or GET PATH: {command}");
        return (int.Parse(port.Groups[1].Value, CultureInfo.InvariantCulture), path.Groups[1].Value);
    }

    /// <summary>A probe or Service port: a number, or the name of one of the container's ports.</summary>
    private int ContainerPort(JsonNode? port)
    {
        var text = (string?)port ?? throw new InvalidOperationException("no port");
        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var number)) return number;
        var named = Assert.Single(Container["ports"]!.AsArray(), p => (string?)p!["name"] == text)!;
        return int.Parse((string)named["containerPort"]!, CultureInfo.InvariantCulture);
    }

    [Fact]
    public void The_image_is_built_on_the_sdk_and_runs_forge_serve_on_the_aspnet_runtime_as_a_non_root_user()
    {
        var stages = _docker.Where(i => i.Keyword == "FROM").ToArray();
        Assert.True(stages.Length >= 2, "the Dockerfile is not multi-stage");
        var build = Assert.Single(stages, s => s.Arguments.Contains("mcr.microsoft.com/dotnet/sdk:10.0", StringComparison.Ordinal));
        Assert.Contains("mcr.microsoft.com/dotnet/aspnet:10.0", stages[^1].Arguments, StringComparison.Ordinal);
        var buildName = build.Arguments.Split(' ')[^1];
        Assert.Contains(_docker, i => i.Stage == FinalStage && i.Keyword == "COPY" && i.Arguments.StartsWith($"--from={buildName} ", StringComparison.Ordinal));

        var publish = Assert.Single(_docker, i => i.Stage == build.Stage && i.Keyword == "RUN" && i.Arguments.Contains("dotnet publish", StringComparison.Ordinal));
        Assert.Contains("src/Forge.Cli/Forge.Cli.csproj", publish.Arguments, StringComparison.Ordinal);
        Assert.Contains("-r linux-x64", publish.Arguments, StringComparison.Ordinal);
        // The TorchSharp compat step is judged by the runtime image's libstdc++: the property must be the one the targets read.
        var property = CompatProperty().Match(publish.Arguments);
        Assert.True(property.Success, "dotnet publish does not pass the runtime image's libstdc++ to the TorchSharp compat step");
        var targets = File.ReadAllText(Path.Combine(SharedData.RepoRoot!, "build", "TorchSharpCompat.targets"));
        Assert.Contains($"$({property.Groups[1].Value})", targets, StringComparison.Ordinal);
        Assert.Contains(_docker, i => i.Stage == FinalStage && i.Keyword == "RUN" && i.Arguments.Contains("ldd /app/libLibTorchSharp.so", StringComparison.Ordinal));

        var user = Final("USER").Arguments;
        Assert.DoesNotMatch("^(root|0)(:.*)?$", user);
        Assert.Equal(["/app/forge", "serve"], Entrypoint[..2]);
        // In a container the server must listen on every interface, not the CLI's default 127.0.0.1.
        Assert.Equal("0.0.0.0", DeploymentFiles.OptionValue(Entrypoint, "--host"));
        var home = Final("ENV").Arguments;
        Assert.Contains($"{ForgeHome.Variable}=/var/lib/forge", home, StringComparison.Ordinal);
    }

    [Fact]
    public void The_port_the_server_listens_on_is_the_one_exposed_health_checked_published_probed_and_scraped()
    {
        var port = int.Parse(DeploymentFiles.OptionValue(Entrypoint, "--port")!, CultureInfo.InvariantCulture);

        Assert.Equal(port.ToString(CultureInfo.InvariantCulture), Final("EXPOSE").Arguments.Split('/')[0]);
        Assert.Equal(port, HealthCheck().Port);
        var published = Assert.Single(ForgeService["ports"]!.AsArray());
        Assert.Equal(port.ToString(CultureInfo.InvariantCulture), ((string)published!).Split('/')[0].Split(':')[^1]);
        var target = Assert.Single(Assert.Single(Assert.Single(_prometheus["scrape_configs"]!.AsArray())!["static_configs"]!.AsArray())!["targets"]!.AsArray());
        Assert.Equal($"forge:{port}", (string?)target);
        Assert.NotNull(_compose["services"]!["forge"]);

        Assert.Equal(port, ContainerPort(Container["readinessProbe"]!["httpGet"]!["port"]));
        Assert.Equal(port, ContainerPort(Container["livenessProbe"]!["httpGet"]!["port"]));
        var annotations = Deployment["spec"]!["template"]!["metadata"]!["annotations"]!;
        Assert.Equal(port, ContainerPort(annotations["prometheus.io/port"]));
        var service = DeploymentFiles.Kind(_k8s, "Service");
        Assert.Equal(port, ContainerPort(Assert.Single(service["spec"]!["ports"]!.AsArray())!["targetPort"]));
    }

    [Fact]
    public async Task Every_probed_and_scraped_path_is_served_with_the_meaning_its_probe_needs()
    {
        var liveness = new[] { HealthCheck().Path, (string)Container["livenessProbe"]!["httpGet"]!["path"]! };
        var readiness = (string)Container["readinessProbe"]!["httpGet"]!["path"]!;
        var scraped = new[]
        {
            (string)Assert.Single(_prometheus["scrape_configs"]!.AsArray())!["metrics_path"]!,
            (string)Deployment["spec"]!["template"]!["metadata"]!["annotations"]!["prometheus.io/path"]!,
        };
        await using var server = await RunningServer.StartAsync(new ServerOptions
        {
            Models = [ModelSource.FromBundle(GatedLoader.WriteBundle(_temp.Combine("gated")))],
            Loaders = ModelLoaderRegistry.CreateDefault().Add(_loader),
        }, waitReady: false);
        try
        {
            // The model's warm-up waits at the gate: the server is up but not ready.
            Assert.True(await _loader.Entered.WaitAsync(TimeSpan.FromSeconds(30)));

            // Liveness must hold while models load, or the orchestrator would restart a server that is only warming up.
            foreach (var path in liveness) Assert.Equal(HttpStatusCode.OK, (await server.GetAsync(path)).Response.StatusCode);
            // Readiness must not, or traffic would reach a cold model.
            Assert.Equal(HttpStatusCode.ServiceUnavailable, (await server.GetAsync(readiness)).Response.StatusCode);
        }
        finally
        {
            // Open before the server is disposed, which waits for the warm-up pass to finish.
            _loader.Gate.Set();
        }
        await ForgeServer.WaitUntilReadyAsync(server.App).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(HttpStatusCode.OK, (await server.GetAsync(readiness)).Response.StatusCode);
        foreach (var path in liveness) Assert.Equal(HttpStatusCode.OK, (await server.GetAsync(path)).Response.StatusCode);
        foreach (var path in scraped)
        {
            var response = await server.Client.GetAsync(path);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
            var text = await response.Content.ReadAsStringAsync();
            Assert.Contains("# TYPE forge_requests_total counter", text, StringComparison.Ordinal);
            Assert.Contains("forge_model_ready{model=\"gated\",version=\"1\"} 1", text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Every_forge_serve_option_the_deployment_passes_exists_in_the_cli_parser()
    {
        var known = DeploymentFiles.ServeOptions();
        Assert.Contains("--max-batch-size", known);
        var entrypoint = Entrypoint[2..];
        var uses = new Dictionary<string, string[]>
        {
            ["Dockerfile ENTRYPOINT + CMD"] = [.. entrypoint, .. DeploymentFiles.ExecForm(Final("CMD").Arguments)],
            ["docker-compose.yml"] = [.. entrypoint, .. ForgeService["command"]!.AsArray().Select(n => (string)n!)],
            ["k8s/forge.yaml"] = [.. entrypoint, .. Container["args"]!.AsArray().Select(n => (string)n!)],
        };
        foreach (var (file, args) in uses)
        {
            var options = args.Where(a => a.StartsWith("--", StringComparison.Ordinal)).Select(a => a.Split('=')[0]).ToArray();
            Assert.All(options, o => Assert.True(known.Contains(o), $"{file} passes {o}, which forge serve does not know (it knows {string.Join(", ", known.Order(StringComparer.Ordinal))})"));
            // Single-value options given twice would be refused by the parser: the image fixes --host and --port.
            Assert.All(options.GroupBy(o => o).Where(g => g.Key is not "--model"), g => Assert.True(g.Count() == 1, $"{file} passes {g.Key} {g.Count()} times"));
            Assert.True(DeploymentFiles.OptionValue(args, "--model") is not null || DeploymentFiles.OptionValue(args, "--models") is not null, $"{file} serves no model");
            foreach (var numeric in new[] { "--port", "--max-batch-size", "--queue-capacity" })
            {
                if (DeploymentFiles.OptionValue(args, numeric) is { } value)
                    Assert.True(int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out _), $"{file}: {numeric} {value} is not a whole number");
            }
        }
    }

    [Fact]
    public void Compose_and_kubernetes_set_only_variables_forge_reads_and_agree_on_where_its_home_is()
    {
        string[] known = [ForgeHome.Variable, TrackingStore.UriVariable, ServerOptions.ApiKeyVariable, Forge.Data.DatasetResolver.DataDirVariable];
        var composeEnv = ForgeService["environment"]!.AsObject();
        var k8sEnv = Container["env"]!.AsArray().ToDictionary(e => (string)e!["name"]!, e => e!);
        Assert.All(composeEnv.Select(kv => kv.Key).Concat(k8sEnv.Keys), name => Assert.Contains(name, known));

        var home = _docker.Single(i => i.Stage == FinalStage && i.Keyword == "ENV").Arguments;
        var imageHome = Regex.Match(home, ForgeHome.Variable + @"=(\S+)").Groups[1].Value;
        Assert.Equal(imageHome, (string?)composeEnv[ForgeHome.Variable]);
        Assert.Contains(ForgeService["volumes"]!.AsArray(), v => ((string)v!).EndsWith(":" + imageHome, StringComparison.Ordinal));
        Assert.Equal(imageHome, (string?)k8sEnv[ForgeHome.Variable]["value"]);
        Assert.Contains(Container["volumeMounts"]!.AsArray(), m => (string?)m!["mountPath"] == imageHome);
        // The registry's bundles are copied under FORGE_HOME: replicas share them only if the claim is shared.
        var claim = DeploymentFiles.Kind(_k8s, "PersistentVolumeClaim");
        Assert.Contains("ReadWriteMany", claim["spec"]!["accessModes"]!.AsArray().Select(m => (string?)m));
        // Secrets come from a Secret, never inline.
        Assert.NotNull(k8sEnv[ServerOptions.ApiKeyVariable]["valueFrom"]!["secretKeyRef"]);
        Assert.NotNull(k8sEnv[TrackingStore.UriVariable]["valueFrom"]!["secretKeyRef"]);
    }

    [Fact]
    public void Compose_points_the_tracking_store_at_its_postgres_and_prometheus_at_the_shipped_config()
    {
        var services = _compose["services"]!.AsObject();
        Assert.Equal(["forge", "postgres", "prometheus"], services.Select(kv => kv.Key).Order(StringComparer.Ordinal));
        var uri = PostgresUri().Match((string)ForgeService["environment"]![TrackingStore.UriVariable]!);
        Assert.True(uri.Success, $"{TrackingStore.UriVariable} is not postgresql://USER:PASSWORD@HOST:PORT/DB");
        var postgres = services["postgres"]!;
        Assert.NotNull(services[uri.Groups["host"].Value]);
        Assert.Equal("postgres", uri.Groups["host"].Value);
        Assert.Equal("5432", uri.Groups["port"].Value);
        Assert.Equal((string?)postgres["environment"]!["POSTGRES_USER"], uri.Groups["user"].Value);
        Assert.Equal((string?)postgres["environment"]!["POSTGRES_DB"], uri.Groups["db"].Value);
        Assert.Equal("service_healthy", (string?)ForgeService["depends_on"]!["postgres"]!["condition"]);

        var prometheus = services["prometheus"]!;
        var mount = Assert.Single(prometheus["volumes"]!.AsArray(), v => ((string)v!).StartsWith("./", StringComparison.Ordinal))!;
        var parts = ((string)mount!).Split(':');
        Assert.True(File.Exists(DeploymentFiles.PathOf(parts[0])), $"compose mounts {parts[0]}, which is not in deploy/");
        Assert.Contains(prometheus["command"]!.AsArray(), c => (string?)c == "--config.file=" + parts[1]);
        Assert.Equal("forge", (string?)Assert.Single(_prometheus["scrape_configs"]!.AsArray())!["job_name"]);
        var build = ForgeService["build"]!;
        Assert.Equal("deploy/Dockerfile", (string?)build["dockerfile"]);
        Assert.True(File.Exists(Path.Combine(DeploymentFiles.Root, (string)build["context"]!, "Forge.slnx")), "the build context is not the repository root");
    }

    [Fact]
    public void Kubernetes_service_and_autoscaler_select_the_deployment_and_the_pods_have_resources()
    {
        var labels = Deployment["spec"]!["template"]!["metadata"]!["labels"]!.AsObject();
        bool Selects(JsonObject selector) => selector.All(kv => (string?)labels[kv.Key] == (string?)kv.Value);
        Assert.True(Selects(Deployment["spec"]!["selector"]!["matchLabels"]!.AsObject()), "the Deployment's selector does not match its pods");
        Assert.True(Selects(DeploymentFiles.Kind(_k8s, "Service")["spec"]!["selector"]!.AsObject()), "the Service selects no Forge pod");

        var hpa = DeploymentFiles.Kind(_k8s, "HorizontalPodAutoscaler");
        Assert.Equal("autoscaling/v2", (string?)hpa["apiVersion"]);
        var target = hpa["spec"]!["scaleTargetRef"]!;
        Assert.Equal("Deployment", (string?)target["kind"]);
        Assert.Equal((string?)Deployment["metadata"]!["name"], (string?)target["name"]);
        Assert.True(int.Parse((string)hpa["spec"]!["minReplicas"]!, CultureInfo.InvariantCulture) >= 1);
        // CPU utilisation is measured against requests: without them the autoscaler cannot work.
        Assert.NotNull(Container["resources"]!["requests"]!["cpu"]);
        Assert.NotNull(Container["resources"]!["limits"]!["memory"]);
        Assert.Equal("true", (string?)Deployment["spec"]!["template"]!["spec"]!["securityContext"]!["runAsNonRoot"]);
        // Shutdown drains for up to ServerOptions.ShutdownTimeout; the pod must be given at least that before SIGKILL.
        var grace = int.Parse((string)Deployment["spec"]!["template"]!["spec"]!["terminationGracePeriodSeconds"]!, CultureInfo.InvariantCulture);
        Assert.True(grace > new ServerOptions().ShutdownTimeout.TotalSeconds, $"terminationGracePeriodSeconds {grace} is shorter than the drain");
    }

    [GeneratedRegex(@"/dev/tcp/[^/\s]+/(\d+)")]
    private static partial Regex TcpTarget();

    [GeneratedRegex(@"GET (/\S*) HTTP/")]
    private static partial Regex HttpGet();

    [GeneratedRegex(@"-p:(ForgeTorchSharpCompat\w+)=")]
    private static partial Regex CompatProperty();

    [GeneratedRegex(@"^postgresql://(?<user>[^:@/]+):[^@]+@(?<host>[^:/]+):(?<port>\d+)/(?<db>[\w-]+)$")]
    private static partial Regex PostgresUri();
}
