using System.Globalization;
using System.IO.Compression;
using System.Text.Json.Nodes;
using Forge.Core;
using Forge.Tracking;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;

namespace Forge.Serving;

/// <summary>
/// The registry endpoints of the server, all behind the API key: upload a bundle as a new registered version, and move
/// an alias (the served versions that follow it swap at once).
/// </summary>
internal static class ManagementApi
{
    /// <summary>The content types an upload may be labelled with.</summary>
    internal static readonly string[] UploadTypes = ["application/octet-stream", "application/zip", "application/x-zip-compressed", "application/x-forge"];

    private const string LogCategory = "Forge.Serving.ManagementApi";

    public static void MapManagementApi(this IEndpointRouteBuilder app, ServerOptions options)
    {
        var models = app.MapGroup("/v1/models").WithTags("Models (native API)");
        models.MapPost("/", Upload).WithName("UploadModel")
            .WithSummary("Upload a .forge bundle (the zipped bundle as the body) and register it as the model's next version. Needs the API key.")
            // Not declared with Accepts: routing would then answer a wrong content type 415 before the API key is checked.
            .WithDescription("The body is the .forge file itself, labelled application/octet-stream or application/zip. The name is the manifest's "
                + "unless ?name= gives another. The bundle is verified (format, manifest, every file's size and SHA-256) before anything is "
                + "registered; a bad one is answered 422 naming the file at fault.")
            .Produces<UploadResponse>(201).ProducesProblem(400).ProducesProblem(401).ProducesProblem(403).ProducesProblem(413)
            .ProducesProblem(415).ProducesProblem(422)
            .AddEndpointFilter(new ApiKeyFilter(options.ApiKey, inferenceProtocol: false));
        models.MapPut("/{name}/aliases/{alias}", SetAlias).WithName("SetAlias")
            .WithSummary("Point a registry alias at a version ({\"version\": N}); served versions that follow the alias swap to it at once. Needs the API key.")
            .AcceptsJson("{\"version\": N}: the registered version the alias is to point at.")
            .Produces<AliasResponse>().ProducesProblem(400).ProducesProblem(401).ProducesProblem(403).ProducesProblem(404)
            .AddEndpointFilter(new ApiKeyFilter(options.ApiKey, inferenceProtocol: false));
    }

    private static ITrackingStore OpenRegistry(ServerOptions options) =>
        TrackingStore.Open(options.TrackingUri, new TrackingStoreOptions { ArtifactRoot = options.ArtifactRoot });

    private static async Task<IResult> Upload(HttpContext context, ServerOptions options, ModelLoaderRegistry loaders, ILoggerFactory logs, string? name)
    {
        if (name is not null && ModelNames.Problem(name) is { } nameProblem) return ApiError.BadRequest("name", nameProblem).ToProblem(context);
        var mediaType = context.Request.ContentType?.Split(';')[0].Trim();
        if (mediaType is null || !UploadTypes.Contains(mediaType, StringComparer.OrdinalIgnoreCase))
        {
            return new ApiError(415, "Unsupported media type",
                $"send the .forge file as the raw body labelled 'Content-Type: application/octet-stream' (or application/zip); got {mediaType ?? "no content type"}").ToProblem(context);
        }
        if (context.Request.ContentLength > options.MaxUploadBytes) return TooLarge(context, options);
        // Bundles are far larger than predict requests: this endpoint alone gets the upload limit.
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit) limit.MaxRequestBodySize = options.MaxUploadBytes;

        var work = Path.Combine(Path.GetTempPath(), "forge-uploads", Guid.NewGuid().ToString("N"));
        try
        {
            Directory.CreateDirectory(work);
            var archive = Path.Combine(work, "upload.forge");
            long size;
            try
            {
                size = await ReceiveAsync(context.Request.Body, archive, options.MaxUploadBytes, context.RequestAborted);
            }
            catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
            {
                size = -1;
            }
            if (size < 0) return TooLarge(context, options);
            if (size == 0) return ApiError.BadRequest("body", "empty; send the .forge file as the body").ToProblem(context);

            var (directory, unpackError) = Unpack(archive, Path.Combine(work, "bundle"), options.MaxUploadBytes * 4);
            if (directory is null) return unpackError!.ToProblem(context);
            ModelBundle bundle;
            try
            {
                bundle = ModelBundle.Load(directory);
            }
            catch (BundleException e)
            {
                var file = Path.GetRelativePath(directory, e.Path).Replace('\\', '/');
                var problem = e.Message.StartsWith(e.Path + ": ", StringComparison.Ordinal) ? e.Message[(e.Path.Length + 2)..] : e.Message;
                return new ApiError(422, "Invalid bundle", $"{file}: {problem}") { Field = file }.ToProblem(context);
            }
            if (loaders.Find(bundle.Manifest, out var why) is null)
                return new ApiError(422, "Unservable bundle", $"{ModelBundle.ManifestFileName}: {why}") { Field = ModelBundle.ManifestFileName }.ToProblem(context);
            var registeredName = name ?? bundle.Manifest.Name;
            if (ModelNames.Problem(registeredName) is { } manifestNameProblem)
                return ApiError.BadRequest("name", $"{manifestNameProblem}; give another with ?name=").ToProblem(context);

            ModelVersion registered;
            try
            {
                registered = await Task.Run(() =>
                {
                    using var store = OpenRegistry(options);
                    // The store copies the verified bundle, checks the copy and commits the version in one transaction: all or nothing.
                    return store.RegisterModelVersion(registeredName, directory);
                }, CancellationToken.None);
            }
            catch (UsageException e)
            {
                return ApiError.BadRequest("name", e.Message).ToProblem(context);
            }
            catch (BundleException e)
            {
                return new ApiError(422, "Invalid bundle", e.Message).ToProblem(context);
            }
            logs.CreateLogger(LogCategory).LogInformation("uploaded bundle registered as {Model} version {Version} ({Flavor}, {Bytes} bytes)",
                registeredName, registered.Version, bundle.Manifest.Flavor, size);
            return Results.Json(new UploadResponse(registeredName, registered.Version, bundle.Manifest.Flavor, size, bundle.Manifest.Files.Count),
                statusCode: StatusCodes.Status201Created);
        }
        finally
        {
            try
            {
                if (Directory.Exists(work)) Directory.Delete(work, recursive: true);
            }
            catch (IOException)
            {
                // A leftover temporary folder is not worth failing a request over.
            }
        }
    }

    private static IResult TooLarge(HttpContext context, ServerOptions options) =>
        new ApiError(413, "Upload too large", string.Create(CultureInfo.InvariantCulture,
            $"the bundle is larger than the server's upload limit of {options.MaxUploadBytes / 1048576.0:0.##} MB (forge serve --upload-limit)")).ToProblem(context);

    /// <summary>Copies the body to a file; -1 when it is over <paramref name="limit"/> bytes, which holds even without a Content-Length.</summary>
    private static async Task<long> ReceiveAsync(Stream body, string path, long limit, CancellationToken cancellationToken)
    {
        await using var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 81920, useAsync: true);
        var buffer = new byte[81920];
        long total = 0;
        int read;
        while ((read = await body.ReadAsync(buffer, cancellationToken)) > 0)
        {
            total += read;
            if (total > limit) return -1;
            await file.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
        }
        return total;
    }

    /// <summary>
    /// Extracts the archive entry by entry: no entry may leave the folder, and all of them together may not expand beyond
    /// <paramref name="maxBytes"/> (a zip bomb stops at the limit, whatever its headers claim). A bundle zipped inside one
    /// top folder is found there.
    /// </summary>
    internal static (string? Directory, ApiError? Error) Unpack(string archive, string target, long maxBytes)
    {
        var root = Path.GetFullPath(target) + Path.DirectorySeparatorChar;
        try
        {
            using var zip = ZipFile.OpenRead(archive);
            long total = 0;
            foreach (var entry in zip.Entries)
            {
                var name = entry.FullName.Replace('\\', '/');
                var destination = Path.GetFullPath(Path.Combine(root, name));
                if (Path.IsPathRooted(name) || name.Split('/').Contains("..") || !destination.StartsWith(root, StringComparison.Ordinal))
                    return (null, new ApiError(400, "Unsafe archive", $"{name}: the entry would be written outside the bundle") { Field = name });
                if (name.EndsWith('/'))
                {
                    Directory.CreateDirectory(destination);
                    continue;
                }
                Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
                using var input = entry.Open();
                using var output = new FileStream(destination, FileMode.CreateNew, FileAccess.Write);
                var buffer = new byte[81920];
                int read;
                while ((read = input.Read(buffer)) > 0)
                {
                    total += read;
                    if (total > maxBytes)
                    {
                        return (null, new ApiError(413, "Upload too large", string.Create(CultureInfo.InvariantCulture,
                            $"{name}: the archive expands beyond {maxBytes / 1048576.0:0.##} MB")) { Field = name });
                    }
                    output.Write(buffer, 0, read);
                }
            }
        }
        catch (InvalidDataException e)
        {
            return (null, new ApiError(400, "Not a bundle archive", $"the body is not a readable .forge (zip) archive: {e.Message}") { Field = "body" });
        }
        catch (IOException e)
        {
            return (null, new ApiError(400, "Not a bundle archive", $"the archive cannot be extracted: {e.Message}") { Field = "body" });
        }
        var directory = Path.GetFullPath(target);
        if (!Directory.Exists(directory)) Directory.CreateDirectory(directory);
        if (!File.Exists(Path.Combine(directory, ModelBundle.ManifestFileName))
            && Directory.GetFiles(directory).Length == 0 && Directory.GetDirectories(directory) is [var only]
            && File.Exists(Path.Combine(only, ModelBundle.ManifestFileName)))
        {
            return (only, null);
        }
        return (directory, null);
    }

    private static async Task<IResult> SetAlias(HttpContext context, ModelCatalog catalog, PredictionService service, ServerOptions options,
        ILoggerFactory logs, string name, string alias)
    {
        if (ModelNames.Problem(name) is { } nameProblem) return ApiError.BadRequest("name", nameProblem).ToProblem(context);
        if (Challenger.AliasProblem(alias) is { } aliasProblem) return ApiError.BadRequest("alias", aliasProblem).ToProblem(context);
        if (string.Equals(alias, "latest", StringComparison.OrdinalIgnoreCase))
            return ApiError.BadRequest("alias", "'latest' is reserved: NAME@latest always means the highest version").ToProblem(context);
        using var deadline = service.Deadline(context);
        var (body, readError) = await service.ReadJsonAsync(context, deadline.Token);
        if (body is null) return readError!.ToProblem(context);
        if (body is not JsonObject obj || !obj.TryGetPropertyValue("version", out var versionNode))
            return ApiError.BadRequest("version", "missing; send {\"version\": N}").ToProblem(context);
        if (versionNode is not JsonValue value || !value.TryGetValue<int>(out var version) || version < 1)
            return ApiError.BadRequest("version", $"expected a whole number from 1; got {versionNode?.ToJsonString() ?? "null"}").ToProblem(context);

        try
        {
            await Task.Run(() =>
            {
                using var store = OpenRegistry(options);
                store.SetAlias(name, alias, version);
            }, CancellationToken.None);
        }
        catch (NotFoundException e)
        {
            return new ApiError(404, "Unknown model or version", e.Message).ToProblem(context);
        }
        catch (UsageException e)
        {
            return ApiError.BadRequest("alias", e.Message).ToProblem(context);
        }
        logs.CreateLogger(LogCategory).LogInformation("alias {Model}@{Alias} set to version {Version}", name, alias, version);

        // The served versions following this alias swap now rather than at the watcher's next look.
        var reloads = new List<AliasReload>();
        foreach (var entry in catalog.Entries.Where(e => Follows(e, name, alias)))
        {
            var role = entry.Role.ToString().ToLowerInvariant();
            try
            {
                // Not the request's token: a client that hangs up must not leave a half-finished swap behind.
                var reloaded = await catalog.ReloadEntryAsync(entry, onlyIfMoved: true, CancellationToken.None);
                reloads.Add(new AliasReload(entry.Name, role, reloaded?.Version ?? entry.Version, reloaded?.PreviousVersion ?? entry.Version, null));
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                reloads.Add(new AliasReload(entry.Name, role, entry.Version, entry.Version, $"{e.Message}; version {entry.Version} keeps serving"));
            }
        }
        return Results.Ok(new AliasResponse(name, alias, version, reloads));
    }

    private static bool Follows(ModelEntry entry, string name, string alias) =>
        entry.Source.RegistryReference is { } reference
        && Challenger.RegisteredName(reference) == name
        && Challenger.FollowedAlias(reference) == alias;
}

/// <summary>The registered version an upload became.</summary>
/// <param name="Name">The registered model's name.</param>
/// <param name="Version">The new version number.</param>
/// <param name="Flavor">The bundle's flavor.</param>
/// <param name="Bytes">The size of the uploaded archive.</param>
/// <param name="Files">The files the manifest lists (all verified).</param>
internal sealed record UploadResponse(string Name, int Version, string Flavor, long Bytes, int Files);

/// <summary>The alias as set, and what the served versions following it did.</summary>
internal sealed record AliasResponse(string Name, string Alias, int Version, IReadOnlyList<AliasReload> Reloads);

/// <summary>One served version that follows the alias: what it serves now, what it served before, and why it did not swap when it failed.</summary>
internal sealed record AliasReload(string Model, string Role, string Version, string PreviousVersion, string? Error);
