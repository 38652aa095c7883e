using System.Xml.Linq;

namespace Forge.Core.Tests;

/// <summary>
/// ../shared/DESIGN.md's layout table, "may reference" column, checked against every src/*.csproj: the projects each one
/// references and the packages it pulls in. A new project fails until it is added here, so the dependency direction is
/// decided on purpose, not by accident.
/// </summary>
public sealed class LayoutTests
{
    private static readonly string[] Pure = ["Forge.Core", "Forge.Tuning", "Forge.Explainability", "Forge.Monitoring"];

    // The heavy runtimes and where each may appear (by package-name prefix); the pure projects take no package at all.
    private static readonly (string Prefix, string[] Owners)[] Runtimes =
    [
        ("TorchSharp", ["Forge.DeepLearning"]),
        ("libtorch", ["Forge.DeepLearning"]),
        ("TorchVision", ["Forge.DeepLearning"]),
        ("Microsoft.ML.OnnxRuntime", ["Forge.Text"]),
        ("Microsoft.ML.DnnImageFeaturizer", ["Forge.DeepLearning"]),
        ("Microsoft.ML", ["Forge.Tabular", "Forge.Text", "Forge.DeepLearning"]),
        ("Microsoft.AspNetCore", ["Forge.Serving"]),
        ("prometheus-net", ["Forge.Serving"]),
        ("Npgsql", ["Forge.Tracking"]),
        ("Microsoft.Data.Sqlite", ["Forge.Tracking"]),
        ("ScottPlot", ["Forge.Reporting"]),
        ("SkiaSharp", ["Forge.Data", "Forge.Reporting"]),
        ("Spectre.Console", ["Forge.Cli"]),
        ("System.CommandLine", ["Forge.Cli"]),
    ];

    public static TheoryData<string, string[]> MayReference => new()
    {
        { "Forge.Core", [] },
        { "Forge.Data", ["Forge.Core"] },
        { "Forge.Tuning", ["Forge.Core"] },
        { "Forge.Explainability", ["Forge.Core"] },
        { "Forge.Monitoring", ["Forge.Core"] },
        { "Forge.DeepLearning", ["Forge.Core", "Forge.Data", "Forge.Explainability"] },
        // DESIGN.md allows DeepLearning for an MLP head; no text model uses one, and the reference pulled libtorch into Text.
        { "Forge.Text", ["Forge.Core", "Forge.Data"] },
        { "Forge.Tabular", ["Forge.Core", "Forge.Data", "Forge.Explainability"] },
        { "Forge.Tracking", ["Forge.Core", "Forge.Tuning"] },
        { "Forge.Reporting", ["Forge.Core", "Forge.Explainability", "Forge.Monitoring", "Forge.Tuning"] },
        { "Forge.Serving", ["Forge.Core", "Forge.Data", "Forge.DeepLearning", "Forge.Text", "Forge.Tabular", "Forge.Tuning", "Forge.Explainability", "Forge.Monitoring", "Forge.Tracking", "Forge.Reporting"] },
        { "Forge.Cli", ["Forge.Core", "Forge.Data", "Forge.DeepLearning", "Forge.Text", "Forge.Tabular", "Forge.Tuning", "Forge.Explainability", "Forge.Monitoring", "Forge.Tracking", "Forge.Reporting", "Forge.Serving"] },
    };

    [Theory]
    [MemberData(nameof(MayReference))]
    public void Each_project_references_only_what_the_design_allows(string project, string[] allowed)
    {
        var file = Path.Combine(Src, project, project + ".csproj");
        if (!File.Exists(file)) return; // a planned project not written yet; the next test catches an unplanned one
        var (projects, packages) = References(file);

        Assert.All(projects, p => Assert.True(allowed.Contains(p), $"{project} references {p}; DESIGN.md allows only: {string.Join(", ", allowed)}"));
        if (Pure.Contains(project)) Assert.True(packages.Count == 0, $"{project} is pure but pulls in {string.Join(", ", packages)}");
        foreach (var package in packages)
        {
            var owner = Runtimes.FirstOrDefault(r => package.StartsWith(r.Prefix, StringComparison.Ordinal));
            Assert.True(owner.Prefix is null || owner.Owners.Contains(project), $"{project} pulls in {package}, which belongs in {string.Join(" or ", owner.Owners ?? [])}");
        }
    }

    [Fact]
    public void Every_source_project_is_in_the_layout_table()
    {
        var known = MayReference.Select(row => (string)row[0]).ToHashSet(StringComparer.Ordinal);
        var projects = Directory.GetDirectories(Src).Select(Path.GetFileName).Where(d => File.Exists(Path.Combine(Src, d!, d + ".csproj"))).ToArray();

        Assert.NotEmpty(projects);
        Assert.All(projects, p => Assert.True(known.Contains(p!), $"src/{p} is not in the layout table: add its row from DESIGN.md's 'may reference' column"));
    }

    [Fact]
    public void The_checks_catch_a_project_that_breaks_the_rules()
    {
        var temp = Path.Combine(Path.GetTempPath(), "forge-layout-" + Guid.NewGuid().ToString("N") + ".csproj");
        File.WriteAllText(temp, """
            <Project Sdk="Microsoft.NET.Sdk">
              <ItemGroup>
                <ProjectReference Include="../Forge.Serving/Forge.Serving.csproj" />
                <PackageReference Include="TorchSharp" />
              </ItemGroup>
            </Project>
            """);
        try
        {
            var (projects, packages) = References(temp);
            Assert.Equal(["Forge.Serving"], projects);
            Assert.Equal(["TorchSharp"], packages);
        }
        finally
        {
            File.Delete(temp);
        }
    }

    private static (List<string> Projects, List<string> Packages) References(string csproj)
    {
        var xml = XDocument.Load(csproj);
        var projects = xml.Descendants("ProjectReference").Select(e => Path.GetFileNameWithoutExtension((string)e.Attribute("Include")!)).ToList();
        var packages = xml.Descendants("PackageReference").Select(e => (string)e.Attribute("Include")!)
            .Concat(xml.Descendants("FrameworkReference").Select(e => (string)e.Attribute("Include")!)).ToList();
        return (projects, packages);
    }

    private static string Src
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Forge.slnx"))) return Path.Combine(dir.FullName, "src");
            }
            throw new InvalidOperationException("Forge.slnx not found above " + AppContext.BaseDirectory);
        }
    }
}
