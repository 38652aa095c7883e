using System.Globalization;
using Forge.Core;
using Forge.Tuning.Numerics;

namespace Forge.Tuning;

/// <summary>
/// Exhaustive search over a grid of values. Each trial claims one grid point through the storage before it starts, so
/// no point is evaluated twice, even by workers in other processes sharing the study; when every point is claimed the
/// study starts no more trials. Points are visited in a seeded shuffled order (ascending order without a seed).
/// </summary>
public sealed class GridSampler : ISampler
{
    /// <summary>The system attribute holding a trial's grid point index.</summary>
    public const string GridIdKey = "grid_id";

    private const string ClaimPrefix = "grid:";
    private readonly string[] _names;
    private readonly object?[][] _values;
    private readonly long[] _order;

    /// <summary>Creates the sampler over the cartesian product of each parameter's listed values.</summary>
    public GridSampler(IReadOnlyDictionary<string, IReadOnlyList<object?>> searchSpace, int? seed = null)
    {
        ArgumentNullException.ThrowIfNull(searchSpace);
        var problems = new List<string>();
        if (searchSpace.Count == 0) problems.Add("the grid has no parameter");
        foreach (var (name, values) in searchSpace)
        {
            if (values is null || values.Count == 0) problems.Add($"parameter '{name}' lists no value");
        }
        if (problems.Count > 0) throw new UsageException("grid sampler: " + string.Join("; ", problems));
        _names = searchSpace.Keys.Order(StringComparer.Ordinal).ToArray();
        _values = _names.Select(n => searchSpace[n].Select(ScalarValues.Canonical).ToArray()).ToArray();
        long size = 1;
        foreach (var v in _values)
        {
            size = checked(size * v.Length);
            if (size > 10_000_000) throw new UsageException("grid sampler: the grid has more than 10,000,000 points; use a random or TPE sampler");
        }
        Size = size;
        _order = new long[size];
        for (long i = 0; i < size; i++) _order[i] = i;
        if (seed is { } s) new Rng(unchecked((ulong)s)).Shuffle(_order.AsSpan());
    }

    /// <summary>
    /// A grid over a search space (e.g. read with <see cref="Distribution.ParseSearchSpace"/>): every choice of a
    /// categorical, every value of an int, every step of a float with a step. A continuous float has no grid and is
    /// refused, naming it; grids of more than 10,000,000 points are refused too.
    /// </summary>
    public static GridSampler FromSearchSpace(IReadOnlyDictionary<string, Distribution> space, int? seed = null)
    {
        ArgumentNullException.ThrowIfNull(space);
        var problems = new List<string>();
        var values = new Dictionary<string, IReadOnlyList<object?>>(StringComparer.Ordinal);
        foreach (var (name, distribution) in space)
        {
            switch (distribution)
            {
                case CategoricalDistribution c:
                    values[name] = c.Choices;
                    break;
                case IntDistribution i when ((long)i.High - i.Low) / i.Step < 10_000_000:
                    values[name] = Enumerable.Range(0, ((i.High - i.Low) / i.Step) + 1).Select(k => (object?)(long)(i.Low + (k * i.Step))).ToList();
                    break;
                case FloatDistribution { Step: { } q } f when (f.High - f.Low) / q < 10_000_000:
                    values[name] = Enumerable.Range(0, (int)Math.Round((f.High - f.Low) / q) + 1).Select(k => (object?)f.Snap(f.Low + (k * q))).ToList();
                    break;
                case FloatDistribution:
                    problems.Add($"'{name}' is a continuous float; give it a step (or list its values) to search it on a grid");
                    break;
                default:
                    problems.Add($"'{name}' has too many values for a grid");
                    break;
            }
        }
        if (problems.Count > 0) throw new UsageException("grid sampler: " + string.Join("; ", problems));
        return new GridSampler(values, seed);
    }

    /// <summary>The number of grid points.</summary>
    public long Size { get; }

    /// <summary>The parameter values of grid point <paramref name="index"/>.</summary>
    public IReadOnlyDictionary<string, object?> Point(long index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Size);
        var point = new Dictionary<string, object?>(StringComparer.Ordinal);
        // Mixed radix, the last parameter varying fastest.
        for (var p = _names.Length - 1; p >= 0; p--)
        {
            point[_names[p]] = _values[p][index % _values[p].Length];
            index /= _values[p].Length;
        }
        return point;
    }

    /// <inheritdoc />
    public bool IsExhausted(Func<IReadOnlySet<string>> claims)
    {
        ArgumentNullException.ThrowIfNull(claims);
        return claims().Count(k => k.StartsWith(ClaimPrefix, StringComparison.Ordinal)) >= Size;
    }

    /// <inheritdoc />
    public void BeforeTrial(ITrialStartContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var trial = context.Trial;
        // A retry carries its grid point; an enqueued trial naming every grid parameter needs none.
        if (trial.SystemAttributes.ContainsKey(GridIdKey)) return;
        var fixedParams = trial.FixedParams;
        if (_names.All(fixedParams.ContainsKey)) return;
        var claimed = context.Claims();
        foreach (var index in _order)
        {
            var key = ClaimPrefix + index.ToString(CultureInfo.InvariantCulture);
            if (claimed.Contains(key) || !context.TryClaim(key)) continue;
            context.SetSystemAttribute(GridIdKey, ScalarValues.ToJson(index));
            return;
        }
        throw new SearchSpaceExhaustedException($"every one of the {Size} grid points is already taken");
    }

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
        ArgumentNullException.ThrowIfNull(distribution);
        var p = Array.IndexOf(_names, name);
        if (p < 0)
        {
            throw new UsageException($"parameter '{name}' is not in the grid" +
                (NameSuggester.Closest(name, _names) is { } s ? $"; did you mean '{s}'?" : $" (grid: {string.Join(", ", _names)})"));
        }
        if (!trial.SystemAttributes.TryGetValue(GridIdKey, out var json) || ScalarValues.FromJson(json) is not long index)
            throw new ForgeException($"trial {trial.Number} holds no grid point; was it started by this study?");
        var value = Point(index)[name];
        var internalValue = distribution.ToInternal(value);
        if (!distribution.Contains(internalValue))
            throw new UsageException($"grid value {ScalarValues.Describe(value)} of '{name}' is not in the suggested range {distribution.ToJson()}");
        return internalValue;
    }
}
