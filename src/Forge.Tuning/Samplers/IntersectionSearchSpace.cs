namespace Forge.Tuning;

/// <summary>
/// The parameters every finished trial has, with the same distribution: the space a joint (relative) sampler may model.
/// Kept incrementally: a finished trial never changes, so each is folded in once, and the running set is re-checked.
/// </summary>
internal sealed class IntersectionSearchSpace(bool includePruned)
{
    private Dictionary<string, Distribution>? _space;
    private readonly HashSet<long> _seen = [];
    private int _prefix;

    public IReadOnlyDictionary<string, Distribution> Calculate(IReadOnlyList<FrozenTrial> trials)
    {
        // Trials before _prefix are all finished and folded in; after it, finished ones are folded once (by id).
        var allFinishedSoFar = true;
        for (var i = _prefix; i < trials.Count; i++)
        {
            var t = trials[i];
            var counts = t.State == TrialState.Complete || (includePruned && t.State == TrialState.Pruned);
            var final = t.State is TrialState.Complete or TrialState.Pruned or TrialState.Fail;
            if (final && _seen.Add(t.TrialId) && counts) Fold(t);
            if (allFinishedSoFar && final) _prefix = i + 1;
            else allFinishedSoFar = false;
        }
        if (_space is null) return new Dictionary<string, Distribution>();
        return _space.Where(p => !p.Value.IsSingle).OrderBy(p => p.Key, StringComparer.Ordinal).ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
    }

    private void Fold(FrozenTrial t)
    {
        if (_space is null)
        {
            _space = new Dictionary<string, Distribution>(t.Distributions, StringComparer.Ordinal);
            return;
        }
        foreach (var name in _space.Keys.ToList())
        {
            if (!t.Distributions.TryGetValue(name, out var d) || !d.Equals(_space[name])) _space.Remove(name);
        }
    }
}
