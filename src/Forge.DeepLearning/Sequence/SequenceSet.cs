using Forge.Core;

namespace Forge.DeepLearning;

/// <summary>Labelled token sequences: each row a list of token ids (1..vocabulary-1; 0 is padding) and a class.</summary>
public sealed class SequenceSet
{
    /// <summary>Checks the rows and wraps them.</summary>
    /// <param name="tokens">One token-id array per row, each at least one token long.</param>
    /// <param name="labels">One class index per row.</param>
    /// <param name="classNames">Class names, in index order.</param>
    public SequenceSet(IReadOnlyList<int[]> tokens, IReadOnlyList<int> labels, IReadOnlyList<string> classNames)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(classNames);
        if (tokens.Count != labels.Count) throw new UsageException($"{tokens.Count} sequences but {labels.Count} labels");
        for (var i = 0; i < tokens.Count; i++)
        {
            if (tokens[i] is null || tokens[i].Length == 0) throw new UsageException($"sequence {i} is empty; every sequence needs at least one token");
            if (labels[i] < 0 || labels[i] >= classNames.Count) throw new UsageException($"label {labels[i]} of row {i} is not a class index (0..{classNames.Count - 1})");
        }
        Tokens = tokens;
        Labels = labels;
        ClassNames = classNames;
    }

    /// <summary>Token ids per row.</summary>
    public IReadOnlyList<int[]> Tokens { get; }

    /// <summary>Class index per row.</summary>
    public IReadOnlyList<int> Labels { get; }

    /// <summary>Class names.</summary>
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>Rows.</summary>
    public int Count => Tokens.Count;

    /// <summary>The rows at the given indices.</summary>
    public SequenceSet Select(IReadOnlyList<int> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        return new SequenceSet([.. rows.Select(r => Tokens[r])], [.. rows.Select(r => Labels[r])], ClassNames);
    }
}
