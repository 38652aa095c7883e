namespace Forge.Explainability.Numerics;

/// <summary>Deterministic per-item seeds, so a row's random draws do not depend on threads, batches or the process.</summary>
internal static class Seeds
{
    /// <summary>A seed for item <paramref name="index"/> of a run seeded with <paramref name="seed"/> (SplitMix64 finaliser).</summary>
    internal static int For(int seed, long index)
    {
        var z = unchecked((ulong)seed * 0x9E3779B97F4A7C15UL + (ulong)index + 0x632BE59BD9B4E019UL);
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
        z ^= z >> 31;
        return (int)(z & 0x7FFFFFFF);
    }
}
