namespace Forge.Tests.Shared;

/// <summary>The dotnet host running these tests, for starting child processes (forge, workers) the same way.</summary>
internal static class DotnetHost
{
    /// <summary>The SDK's DOTNET_HOST_PATH, else this process when it is dotnet, else "dotnet" from PATH.</summary>
    public static string Path { get; } = Find();

    private static string Find()
    {
        var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (!string.IsNullOrEmpty(host) && File.Exists(host)) return host;
        var self = Environment.ProcessPath;
        return self is not null && System.IO.Path.GetFileNameWithoutExtension(self) == "dotnet" ? self : "dotnet";
    }
}
