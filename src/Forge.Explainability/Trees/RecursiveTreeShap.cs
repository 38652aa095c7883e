namespace Forge.Explainability.Trees;

/// <summary>
/// Path-dependent TreeSHAP by recursion over a tree (Lundberg, Erion &amp; Lee 2018, Algorithm 2), with conditioning on
/// one feature for SHAP interaction values. Works for trees of any depth; one instance per thread (it owns its path buffers).
/// </summary>
/// <remarks>
/// The path holds, for each distinct feature split on between the root and the current node, the fraction of training
/// data that flows down this path when the feature is unknown (z) and whether the explained row follows it (o), plus
/// the permutation weights w of subsets of those features. Extending adds a feature; unwinding removes one so a feature
/// split on twice is counted once with its fractions multiplied.
/// </remarks>
internal sealed class RecursiveTreeShap
{
    private readonly CompiledEnsemble _e;
    private readonly PathElement[] _path;

    internal RecursiveTreeShap(CompiledEnsemble ensemble)
    {
        _e = ensemble;
        // Each recursion level keeps its own copy of the path (at most depth + 1 elements, the first a placeholder).
        var size = (ensemble.MaxDepth + 2) * (ensemble.MaxDepth + 3) / 2;
        _path = new PathElement[size];
    }

    /// <summary>One distinct feature on the path: its zero and one fractions, and a subset weight (kept together so a level's copy is one block move).</summary>
    private struct PathElement
    {
        internal int Feature;
        internal double Zero;
        internal double One;
        internal double Weight;
    }

    /// <summary>
    /// Adds tree <paramref name="t"/>'s attributions for row <paramref name="x"/> to <paramref name="phi"/> ([output][feature]).
    /// With <paramref name="condition"/> = +1 / -1 the feature <paramref name="conditionFeature"/> is held known / unknown
    /// and left out of the game, which is what SHAP interaction values difference.
    /// </summary>
    internal void AddTree(int t, ReadOnlySpan<double> x, Span<double> phi, int condition = 0, int conditionFeature = -1)
    {
        var root = _e.TreeStart[t];
        if (_e.IsLeaf(root)) return;
        Recurse(root, 0, 0, 1, 1, -1, x, phi, t, condition, conditionFeature, 1);
    }

    private void Recurse(int g, int parentOffset, int parentLength, double zeroFraction, double oneFraction, int feature,
        ReadOnlySpan<double> x, Span<double> phi, int t, int condition, int conditionFeature, double conditionFraction)
    {
        if (conditionFraction == 0) return;
        var offset = parentOffset + parentLength;
        _path.AsSpan(parentOffset, parentLength).CopyTo(_path.AsSpan(offset, parentLength));
        var length = parentLength;
        if (condition == 0 || feature != conditionFeature)
        {
            Extend(offset, length, zeroFraction, oneFraction, feature);
            length++;
        }

        var e = _e;
        if (e.IsLeaf(g))
        {
            var d = e.FeatureCount;
            var valueStart = e.LeafValueStart[g];
            var output = e.TreeOutput[t];
            var width = e.TreeWidth[t];
            // Element 0 is the placeholder the root started with; every other element is one feature of the path.
            for (var i = 1; i < length; i++)
            {
                ref var element = ref _path[offset + i];
                var scale = UnwoundSum(offset, length - 1, i) * (element.One - element.Zero) * conditionFraction;
                var f = element.Feature;
                for (var w = 0; w < width; w++)
                    phi[(output + w) * d + f] += scale * e.LeafValues[valueStart + w];
            }
            return;
        }

        var split = e.Feature[g];
        var goesLeft = e.GoesLeft(g, x[split]);
        var hot = goesLeft ? e.Left[g] : e.Right[g];
        var cold = goesLeft ? e.Right[g] : e.Left[g];
        var hotRatio = e.CoverRatio(g, hot);
        var coldRatio = e.CoverRatio(g, cold);

        // A feature split on again is taken off the path and put back with both fractions multiplied.
        double incomingZero = 1, incomingOne = 1;
        for (var k = 1; k < length; k++)
        {
            if (_path[offset + k].Feature != split) continue;
            incomingZero = _path[offset + k].Zero;
            incomingOne = _path[offset + k].One;
            Unwind(offset, length - 1, k);
            length--;
            break;
        }

        var hotCondition = conditionFraction;
        var coldCondition = conditionFraction;
        if (condition > 0 && split == conditionFeature)
        {
            coldCondition = 0;
        }
        else if (condition < 0 && split == conditionFeature)
        {
            hotCondition *= hotRatio;
            coldCondition *= coldRatio;
        }

        // A branch whose fractions are both zero contributes nothing to any feature (and would divide by zero when
        // unwound); a branch on the conditioned feature is not put on the path, so its weight lives in the condition fraction.
        var conditioned = condition != 0 && split == conditionFeature;
        var hotZero = hotRatio * incomingZero;
        if (hotZero != 0 || incomingOne != 0 || conditioned)
            Recurse(hot, offset, length, hotZero, incomingOne, split, x, phi, t, condition, conditionFeature, hotCondition);
        var coldZero = coldRatio * incomingZero;
        if (coldZero != 0 || conditioned)
            Recurse(cold, offset, length, coldZero, 0, split, x, phi, t, condition, conditionFeature, coldCondition);
    }

    /// <summary>Appends a feature with fractions (z, o) at index <paramref name="last"/> and updates the subset weights.</summary>
    private void Extend(int offset, int last, double zeroFraction, double oneFraction, int feature)
    {
        var path = _path.AsSpan(offset, last + 1);
        path[last] = new PathElement { Feature = feature, Zero = zeroFraction, One = oneFraction, Weight = last == 0 ? 1 : 0 };
        var n1 = last + 1.0;
        for (var i = last - 1; i >= 0; i--)
        {
            path[i + 1].Weight += oneFraction * path[i].Weight * (i + 1) / n1;
            path[i].Weight = zeroFraction * path[i].Weight * (last - i) / n1;
        }
    }

    /// <summary>Removes element <paramref name="index"/> from a path whose last element is at <paramref name="last"/>.</summary>
    private void Unwind(int offset, int last, int index)
    {
        var path = _path.AsSpan(offset, last + 1);
        var one = path[index].One;
        var zero = path[index].Zero;
        var next = path[last].Weight;
        var n1 = last + 1.0;
        for (var i = last - 1; i >= 0; i--)
        {
            if (one != 0)
            {
                var previous = path[i].Weight;
                path[i].Weight = next * n1 / ((i + 1) * one);
                next = previous - path[i].Weight * zero * (last - i) / n1;
            }
            else
            {
                path[i].Weight = path[i].Weight * n1 / (zero * (last - i));
            }
        }
        // Later elements move down one place, keeping their own (already unwound) weights.
        for (var i = index; i < last; i++)
        {
            var weight = path[i].Weight;
            path[i] = path[i + 1];
            path[i].Weight = weight;
        }
    }

    /// <summary>The total subset weight the path would have without element <paramref name="index"/>, leaving the path as it is.</summary>
    private double UnwoundSum(int offset, int last, int index)
    {
        var path = _path.AsSpan(offset, last + 1);
        var one = path[index].One;
        var zero = path[index].Zero;
        var next = path[last].Weight;
        var n1 = last + 1.0;
        var total = 0.0;
        for (var i = last - 1; i >= 0; i--)
        {
            if (one != 0)
            {
                var w = next * n1 / ((i + 1) * one);
                total += w;
                next = path[i].Weight - w * zero * (last - i) / n1;
            }
            else
            {
                total += path[i].Weight * n1 / (zero * (last - i));
            }
        }
        return total;
    }
}
