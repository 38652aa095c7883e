namespace Forge.DeepLearning.Onnx;

/// <summary>
/// Groups compiled steps into stages for fine-tuning. The stem runs up to and including the node that feeds the skip
/// connection of the first residual block (for ResNet: conv, batch norm, ReLU, max pool). After it, a convolution that
/// produces a smaller feature map than the current stage's opens the next stage, so each stage is the run of blocks at
/// one resolution. A graph without residual connections ends its stem where the second convolution resolution begins;
/// a graph without feature maps at all gets one stage per weighted layer.
/// </summary>
internal static class StageAssigner
{
    public static List<(string Name, int Height, int Width)> Assign(List<OnnxStep> steps)
    {
        if (steps.Count == 0) return [("stem", 0, 0)];
        if (steps.All(s => s.Resolution is null)) return PerLayer(steps);

        var stemEnd = StemEnd(steps);
        var stages = new List<(string Name, int Height, int Width)>();
        var handOver = stemEnd >= 0 ? LastResolution(steps, stemEnd) : null;
        stages.Add(("stem", handOver?.Height ?? 0, handOver?.Width ?? 0));
        for (var i = 0; i <= stemEnd; i++) steps[i].Stage = 0;
        if (stemEnd == steps.Count - 1) return stages;

        var current = handOver ?? steps.Skip(stemEnd + 1).Select(s => s.Resolution).FirstOrDefault(r => r is not null) ?? (0, 0);
        stages.Add(("stage1", current.Height, current.Width));
        for (var i = stemEnd + 1; i < steps.Count; i++)
        {
            var step = steps[i];
            if (step.Node.OpType == "Conv" && step.Resolution is { } r && (long)r.Height * r.Width < (long)current.Height * current.Width)
            {
                current = r;
                stages.Add(($"stage{stages.Count}", r.Height, r.Width));
            }
            step.Stage = stages.Count - 1;
        }
        return stages;
    }

    private static int StemEnd(List<OnnxStep> steps)
    {
        var producer = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < steps.Count; i++)
        {
            foreach (var o in steps[i].Outputs.Where(o => o.Length > 0)) producer[o] = i;
        }
        // A residual add sums two computed feature maps; the earlier-produced one is the skip connection.
        var residual = steps.FirstOrDefault(s => s.Node.OpType is "Add" or "Sum" && s.Resolution is not null
            && s.Inputs.Count(n => n.Length > 0 && producer.ContainsKey(n)) >= 2);
        if (residual is not null)
            return residual.Inputs.Where(producer.ContainsKey).Min(n => producer[n]);

        var convResolutions = steps.Where(s => s.Node.OpType == "Conv" && s.Resolution is not null)
            .Select(s => s.Resolution!.Value).Distinct().ToList();
        if (convResolutions.Count >= 2) return steps.FindIndex(s => s.Resolution == convResolutions[1]);
        return steps.Count - 1;
    }

    private static (int Height, int Width)? LastResolution(List<OnnxStep> steps, int upTo)
    {
        for (var i = upTo; i >= 0; i--)
        {
            if (steps[i].Resolution is { } r) return r;
        }
        return null;
    }

    private static List<(string Name, int Height, int Width)> PerLayer(List<OnnxStep> steps)
    {
        var stages = new List<(string Name, int Height, int Width)>();
        foreach (var step in steps)
        {
            if ((step.Module?.parameters().Any() ?? false) || stages.Count == 0) stages.Add(($"layer{stages.Count}", 0, 0));
            step.Stage = stages.Count - 1;
        }
        return stages;
    }
}
