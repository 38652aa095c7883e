using Forge.Tuning.Numerics;

namespace Forge.Tuning;

/// <summary>
/// Independent uniform sampling (log-uniform for log distributions, uniform over the grid for steps and ints). With a
/// seed, a trial's values depend only on (seed, trial number, parameter name), so the same trials get the same values
/// whatever the number of workers or the order they finish in.
/// </summary>
public sealed class RandomSampler : ISampler
{
    private readonly ulong _seed;

    /// <summary>Creates the sampler; null for a seed drawn at random.</summary>
    public RandomSampler(int? seed = null) => _seed = SeedOf(seed);

    internal static ulong SeedOf(int? seed) => seed is { } s ? unchecked((ulong)s) : (ulong)Random.Shared.NextInt64();

    /// <inheritdoc />
    public IReadOnlyDictionary<string, Distribution> InferRelativeSearchSpace(StudySnapshot study, FrozenTrial trial) => new Dictionary<string, Distribution>();

    /// <inheritdoc />
    public IReadOnlyDictionary<string, double> SampleRelative(StudySnapshot study, FrozenTrial trial, IReadOnlyDictionary<string, Distribution> searchSpace) =>
        new Dictionary<string, double>();

    /// <inheritdoc />
    public double SampleIndependent(StudySnapshot study, FrozenTrial trial, string name, Distribution distribution)
    {
        ArgumentNullException.ThrowIfNull(trial);
        ArgumentNullException.ThrowIfNull(name);
        return Sample(Rng.For(_seed, trial.Number, name), distribution);
    }

    /// <summary>One uniform draw from a distribution, as an internal number.</summary>
    internal static double Sample(Rng rng, Distribution distribution)
    {
        switch (distribution)
        {
            case FloatDistribution f when f.Log:
                return Math.Clamp(Math.Exp(rng.Uniform(Math.Log(f.Low), Math.Log(f.High))), f.Low, f.High);
            case FloatDistribution { Step: { } q } f:
                var points = (long)Math.Round((f.High - f.Low) / q) + 1;
                return f.Snap(f.Low + (rng.NextLong(points) * q));
            case FloatDistribution f:
                return f.IsSingle ? f.Low : rng.Uniform(f.Low, f.High);
            case IntDistribution i when i.Log:
                // Uniform on [low - ½, high + ½] in log space, so every integer gets its share of the log range.
                return i.Snap(Math.Exp(rng.Uniform(Math.Log(i.Low - 0.5), Math.Log(i.High + 0.5))));
            case IntDistribution i:
                return i.Low + (rng.NextLong((((long)i.High - i.Low) / i.Step) + 1) * i.Step);
            case CategoricalDistribution c:
                return rng.NextInt(c.Choices.Count);
            default:
                throw new ArgumentOutOfRangeException(nameof(distribution), distribution, "unknown distribution");
        }
    }
}
