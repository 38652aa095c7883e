using System.Runtime.ExceptionServices;
using TorchSharp;

namespace Forge.DeepLearning;

/// <summary>
/// Inference over many batches on one or more threads, each running libtorch single-threaded when there are several.
/// Which is faster depends on the machine's load: on an idle 2-core machine one stream with two libtorch threads ran
/// ResNet18 at 25.9 images/s against 23.0 for two single-threaded streams, while with other processes competing for the
/// cores two streams were 1.7× faster (independent streams never wait for each other at every layer). Callers choose.
/// </summary>
internal static class ParallelInference
{
    /// <summary>
    /// Runs <paramref name="work"/> for every batch index in [0, <paramref name="batches"/>) on <paramref name="workers"/> threads
    /// (0: one per core; 1: the calling thread with libtorch's own threads), with autograd off, and returns the results in batch order. The caller's libtorch thread count is
    /// restored afterwards. <paramref name="work"/> must only read shared modules (evaluation mode).
    /// </summary>
    public static T[] Run<T>(int batches, Func<int, T> work, int workers = 1, Action<int>? completed = null)
    {
        ArgumentNullException.ThrowIfNull(work);
        var results = new T[batches];
        if (batches == 0) return results;
        workers = Math.Clamp(workers > 0 ? workers : Environment.ProcessorCount, 1, batches);
        var previous = torch.get_num_threads();
        if (workers == 1)
        {
            using var noGrad = torch.no_grad();
            for (var b = 0; b < batches; b++)
            {
                results[b] = work(b);
                completed?.Invoke(b);
            }
            return results;
        }
        ExceptionDispatchInfo? failure = null;
        var next = -1;
        var gate = new object();
        var threads = new Thread[workers];
        for (var w = 0; w < workers; w++)
        {
            threads[w] = new Thread(() =>
            {
                try
                {
                    torch.set_num_threads(1);
                    using var noGrad = torch.no_grad();
                    int b;
                    while (Volatile.Read(ref failure) is null && (b = Interlocked.Increment(ref next)) < batches)
                    {
                        results[b] = work(b);
                        if (completed is not null) lock (gate) completed(b);
                    }
                }
                catch (Exception e)
                {
                    Interlocked.CompareExchange(ref failure, ExceptionDispatchInfo.Capture(e), null);
                }
            }) { IsBackground = true, Name = $"forge-inference-{w}" };
            threads[w].Start();
        }
        foreach (var t in threads) t.Join();
        torch.set_num_threads(previous);
        failure?.Throw();
        return results;
    }
}
