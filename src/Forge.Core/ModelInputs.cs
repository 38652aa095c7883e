namespace Forge.Core;

/// <summary>Checks that a batch holds a model's input column with the right type and shape, naming what is wrong.</summary>
public static class ModelInputs
{
    /// <summary>The tensor column <paramref name="input"/> names, checked for its cell shape; missing cells are refused.</summary>
    /// <param name="batch">The batch given to the model.</param>
    /// <param name="input">The model's input.</param>
    /// <param name="describe">How the values look, for the error, e.g. "28×28 pixels in 0–1".</param>
    public static TensorColumn Tensor(Table batch, TensorSpec input, string describe)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(input);
        var expected = input.ToColumnSpec();
        if (!batch.Schema.Contains(input.Name))
            throw new UsageException($"the batch has no column '{input.Name}' (it has {batch.Schema}); the model takes {expected}");
        if (batch[input.Name] is not TensorColumn column || !column.Spec.Equals(expected))
            throw new UsageException($"column '{input.Name}' is {batch[input.Name].Spec}; the model expects {expected}: {expected.CellLength} values ({describe})");
        for (var i = 0; i < column.Length; i++)
        {
            if (column.IsMissing(i)) throw new UsageException($"row {i} of column '{input.Name}' is missing; the model needs {describe}");
        }
        return column;
    }

    /// <summary>The string column <paramref name="input"/> names; a missing text is refused.</summary>
    public static StringColumn Text(Table batch, TensorSpec input)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(input);
        if (!batch.Schema.Contains(input.Name))
            throw new UsageException($"the batch has no column '{input.Name}' (it has {batch.Schema}); the model takes texts");
        if (batch[input.Name] is not StringColumn column)
            throw new UsageException($"column '{input.Name}' is {batch[input.Name].Spec}; the model takes texts (a string column)");
        for (var i = 0; i < column.Length; i++)
        {
            if (column.IsMissing(i)) throw new UsageException($"row {i} of column '{input.Name}' has no text");
        }
        return column;
    }
}
