using TorchSharp;

namespace Forge.DeepLearning;

/// <summary>
/// The one reviewed place that turns a C# number into a TorchSharp <see cref="Scalar"/>. The caller owns the result and
/// disposes it after the native call (<c>using var two = TorchScalars.Of(2);</c>), which also keeps it reachable for as
/// long as native code may read it. Implicit conversions are banned (build/BannedSymbols.TorchSharp.txt): their Scalars
/// have finalizers that dispose scopes do not track, so a collection on another thread can free one mid-call.
/// </summary>
internal static class TorchScalars
{
#pragma warning disable RS0030 // The reviewed exception to the ban: every caller disposes what this returns.
    /// <summary>A float32-typed Scalar the caller must dispose.</summary>
    public static Scalar Of(float value) => value.ToScalar();

    /// <summary>A float64-typed Scalar the caller must dispose.</summary>
    public static Scalar Of(double value) => value.ToScalar();

    /// <summary>An int64-typed Scalar the caller must dispose.</summary>
    public static Scalar Of(long value) => value.ToScalar();
#pragma warning restore RS0030
}
