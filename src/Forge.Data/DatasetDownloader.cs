using Forge.Core;

namespace Forge.Data;

/// <summary>Downloads a dataset's missing files into its cache folder, verifying each before anything is moved into place.</summary>
internal sealed class DatasetDownloader(HttpClient http, IProgress<DownloadProgress>? progress)
{
    private const int ReportEveryBytes = 1 << 20;

    /// <summary>Fetches every catalog file missing from <paramref name="target"/>; on failure nothing new is left there.</summary>
    /// <param name="info">The dataset.</param>
    /// <param name="target">The cache folder to fill.</param>
    /// <param name="advice">Appended to failure messages: where else Forge looked and what the user can do.</param>
    /// <param name="ct">Cancels the download; temp files are removed.</param>
    internal async Task DownloadAsync(DatasetInfo info, string target, string advice, CancellationToken ct)
    {
        var missing = info.Files.Where(f => DatasetFiles.Locate(target, f.FileName) is null).ToList();
        var withoutUrl = missing.Where(f => f.Urls.Count == 0).Select(f => f.FileName).ToList();
        if (withoutUrl.Count > 0)
            throw new ForgeException($"dataset '{info.Name}' not found and Forge knows no download URL for {string.Join(", ", withoutUrl)}; {advice}");

        var existed = Directory.Exists(target);
        Directory.CreateDirectory(target);
        // Every file is verified before any is moved into place, so the cache never holds half a dataset from this run.
        var staged = new List<(string Temp, string Final)>();
        try
        {
            foreach (var file in missing)
                staged.Add(await FetchAsync(info, file, target, advice, ct).ConfigureAwait(false));
            foreach (var (temp, final) in staged)
                File.Move(temp, final, overwrite: true);
            staged.Clear();
        }
        finally
        {
            foreach (var (temp, _) in staged)
                DatasetFiles.TryDelete(temp);
            if (!existed)
                TryRemoveEmptyDirectory(target);
        }
    }

    private async Task<(string Temp, string Final)> FetchAsync(DatasetInfo info, DatasetFile file, string target, string advice, CancellationToken ct)
    {
        var attempts = new List<string>();
        foreach (var url in file.Urls)
        {
            var temp = Path.Combine(target, $".{file.FileName}.{Guid.NewGuid():N}.part");
            try
            {
                await DownloadToAsync(url, temp, file.FileName, ct).ConfigureAwait(false);
                bool isGzip;
                using (var stream = File.OpenRead(temp))
                    isGzip = DatasetFiles.StartsWithGzipMagic(stream);
                string? problem;
                try
                {
                    problem = DatasetFiles.Mismatch(temp, file, ct);
                }
                catch (DataFormatException)
                {
                    problem = "corrupt gzip data";
                }
                if (problem is not null)
                    throw new RejectedDownloadException(problem);
                return (temp, Path.Combine(target, isGzip ? file.FileName + DatasetFiles.GzipSuffix : file.FileName));
            }
            catch (Exception ex) when (IsDownloadFailure(ex, ct))
            {
                DatasetFiles.TryDelete(temp);
                attempts.Add($"{url} ({Reason(ex)})");
            }
            catch
            {
                DatasetFiles.TryDelete(temp);
                throw;
            }
        }
        throw new ForgeException($"could not download {file.FileName} of dataset '{info.Name}': tried {string.Join(", ", attempts)}; {advice}");
    }

    private async Task DownloadToAsync(string url, string temp, string fileName, CancellationToken ct)
    {
        using var response = await http.GetAsync(new Uri(url), HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
        response.EnsureSuccessStatusCode();
        var total = response.Content.Headers.ContentLength;
        var source = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
        await using (source.ConfigureAwait(false))
        {
            var sink = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true);
            await using (sink.ConfigureAwait(false))
            {
                var buffer = new byte[1 << 16];
                long bytes = 0;
                long reported = 0;
                progress?.Report(new DownloadProgress(fileName, 0, total));
                int read;
                while ((read = await source.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0)
                {
                    await sink.WriteAsync(buffer.AsMemory(0, read), ct).ConfigureAwait(false);
                    bytes += read;
                    if (bytes - reported >= ReportEveryBytes)
                    {
                        progress?.Report(new DownloadProgress(fileName, bytes, total));
                        reported = bytes;
                    }
                }
                if (total is { } expected && bytes != expected)
                    throw new IOException($"connection closed after {bytes} of {expected} bytes");
                progress?.Report(new DownloadProgress(fileName, bytes, total));
            }
        }
    }

    // A timeout surfaces as a cancellation that the caller did not ask for; only the caller's own cancellation stops the loop.
    private static bool IsDownloadFailure(Exception ex, CancellationToken ct) =>
        ex is HttpRequestException or IOException or RejectedDownloadException or UriFormatException or NotSupportedException
        || (ex is OperationCanceledException && !ct.IsCancellationRequested);

    private static string Reason(Exception ex) => ex switch
    {
        HttpRequestException { StatusCode: { } status } => $"HTTP {(int)status} {status}",
        OperationCanceledException => "timed out",
        _ => ex.Message,
    };

    private static void TryRemoveEmptyDirectory(string directory)
    {
        try
        {
            if (Directory.Exists(directory) && !Directory.EnumerateFileSystemEntries(directory).Any())
                Directory.Delete(directory);
        }
        catch (IOException)
        {
            // Another process may be filling the same cache folder; leaving an empty folder is harmless.
        }
    }

    private sealed class RejectedDownloadException(string message) : Exception(message);
}
