using System.Reflection;
using TorchSharp;

namespace Forge.DeepLearning;

/// <summary>Process-wide TorchSharp settings and version facts.</summary>
public static class TorchRuntime
{
    /// <summary>TorchSharp's assembly version.</summary>
    public static string TorchSharpVersion =>
        typeof(torch).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
        ?? typeof(torch).Assembly.GetName().Version?.ToString() ?? "unknown";

    /// <summary>The libtorch version TorchSharp runs on.</summary>
    public static string LibTorchVersion => torch.__version__;

    /// <summary>The intra-op threads libtorch uses now.</summary>
    public static int Threads => torch.get_num_threads();

    /// <summary>Sets the number of intra-op threads (0 = leave libtorch's default, one per core).</summary>
    public static void SetThreads(int threads)
    {
        if (threads > 0) torch.set_num_threads(threads);
    }
}
