namespace Forge.Core.Tests;

/// <summary>DESIGN.md: the pure projects never reference heavy runtimes; algorithms see models only through Core's types.</summary>
public sealed class ArchitectureTests
{
    private static readonly string[] Heavy = ["TorchSharp", "Microsoft.ML", "Microsoft.AspNetCore", "SkiaSharp", "ScottPlot", "Npgsql", "Microsoft.Data.Sqlite"];

    [Fact]
    public void Forge_Core_references_only_the_base_library()
    {
        var references = typeof(ModelBundle).Assembly.GetReferencedAssemblies().Select(a => a.Name!).ToArray();

        foreach (var name in references)
            Assert.DoesNotContain(Heavy, heavy => name.StartsWith(heavy, StringComparison.Ordinal));
        Assert.DoesNotContain(references, n => n.StartsWith("Forge.", StringComparison.Ordinal));
    }
}
