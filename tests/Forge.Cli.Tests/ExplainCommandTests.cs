using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Forge.Core;
using Forge.Tabular;
using Forge.Tests.Shared;

namespace Forge.Cli.Tests;

/// <summary>A small LightGBM and a linear tabular bundle, trained once.</summary>
public sealed class ExplainBundlesFixture : IDisposable
{
    private readonly TempDir _temp = new("forge-cli-explain-");

    public ExplainBundlesFixture()
    {
        Data = SyntheticTable.Write(_temp.Combine("data.csv"), rows: 300);
        Trees = Train("target", TabularLearner.LightGbm, "trees");
        Linear = Train("binary", TabularLearner.Linear, "linear");
        Multi = Train("multi", TabularLearner.FastTree, "multi");
    }

    public string Data { get; }

    public string Trees { get; }

    public string Linear { get; }

    public string Multi { get; }

    public string Temp(string name) => _temp.Combine(name);

    private string Train(string label, TabularLearner learner, string name) => TabularTraining.Run(new TabularTrainingRequest
    {
        Dataset = "synthetic",
        DataPath = Data,
        Csv = SyntheticTable.Csv(label),
        OutputDirectory = _temp.Combine(name),
        Name = "synthetic-" + name,
        Options = new TabularOptions { Learner = learner, Trees = 20, Leaves = 8, LearningRate = 0.2, MinDataPerLeaf = 5, Threads = 2 },
    }).Bundle.Directory;

    public void Dispose() => _temp.Dispose();
}

/// <summary><c>forge explain</c> on tabular bundles and XGBoost files: reports, values CSV, JSON and the errors.</summary>
public sealed class ExplainCommandTests(ExplainBundlesFixture bundles) : IClassFixture<ExplainBundlesFixture>, IClassFixture<ForgeHomeFixture>
{
    [Fact]
    public void Tree_explains_every_row_writes_report_and_values_and_adds_up()
    {
        var report = bundles.Temp("report.html");
        var values = bundles.Temp("shap.csv");
        var result = Cli.Run("explain", bundles.Trees, "--rows", bundles.Data, "--out", report, "--values-out", values, "--json");

        Assert.True(result.ExitCode == 0, result.ToString());
        var json = result.Json();
        Assert.Equal("tree", json.Text("method"));
        Assert.Equal(300, json.GetProperty("rows").GetArrayLength());
        Assert.InRange(json.Number("maxAdditivityGap"), 0, 1e-6 * 40);
        Assert.Contains("<html", File.ReadAllText(report), StringComparison.OrdinalIgnoreCase);
        var lines = File.ReadAllLines(values);
        Assert.Equal("x1,x2,colour,size,base_value", lines[0]);
        Assert.Equal(301, lines.Length);

        // Each values row adds up to the model's raw score of that input row.
        var bundle = ModelBundle.Load(bundles.Trees);
        using var model = TabularBundle.Load(bundle);
        var rows = TabularCsv.ReadFor(bundles.Data, model.Features, TabularBundle.CsvOptions(bundle.Manifest, withLabel: false)).Features;
        var raw = TabularTrees.RawScores(model, rows);
        for (var i = 0; i < 300; i++)
        {
            var sum = lines[i + 1].Split(',').Sum(f => double.Parse(f, CultureInfo.InvariantCulture));
            Assert.InRange(sum - raw[i, 0], -1e-6 * Math.Max(1, Math.Abs(raw[i, 0])), 1e-6 * Math.Max(1, Math.Abs(raw[i, 0])));
        }
    }

    [Fact]
    public void Multiclass_values_have_a_class_column_and_one_row_per_class()
    {
        var values = bundles.Temp("multi.csv");
        var result = Cli.Run("explain", bundles.Multi, "--rows", bundles.Data, "--limit", "5", "--values-out", values);

        Assert.True(result.ExitCode == 0, result.ToString());
        var lines = File.ReadAllLines(values);
        Assert.Equal("class,x1,x2,colour,size,base_value", lines[0]);
        Assert.Equal(1 + (5 * 3), lines.Length);
        Assert.Equal(["high", "low", "mid"], lines.Skip(1).Take(3).Select(l => l.Split(',')[0]));
        Assert.Contains("explained with tree", result.Out, StringComparison.Ordinal);
    }

    [Fact]
    public void A_linear_bundle_is_explained_with_kernel_by_default_and_tree_is_refused_naming_the_alternatives()
    {
        var result = Cli.Run("explain", bundles.Linear, "--rows", bundles.Data, "--limit", "3", "--json");
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("kernel", result.Json().Text("method"));

        var tree = Cli.Run("explain", bundles.Linear, "--rows", bundles.Data, "--method", "tree");
        Cli.AssertFailed(tree, "tree method needs a tree model", "kernel");
    }

    [Fact]
    public void Wrong_inputs_get_one_line_errors_that_say_what_to_use()
    {
        Cli.AssertFailed(Cli.Run("explain", bundles.Trees, "--image", bundles.Data), "tabular model", "--rows");
        Cli.AssertFailed(Cli.Run("explain", bundles.Trees, "--rows", bundles.Data, "--method", "ig"), "gradient method", "tree, kernel");
        Cli.AssertFailed(Cli.Run("explain", bundles.Trees, "--rows", bundles.Data, "--method", "kernal"), "did you mean 'kernel'");
        Cli.AssertFailed(Cli.Run("explain"), "name a bundle");
        var bad = bundles.Temp("bad.csv");
        File.WriteAllText(bad, "x1,x2,colour\n1,2,red\n");
        Cli.AssertFailed(Cli.Run("explain", bundles.Trees, "--rows", bad), "size");
    }

    [Fact]
    public void An_xgboost_json_model_is_explained_as_xgboost_itself_explains_it()
    {
        var golden = Path.Combine(SharedData.RepoRoot!, "tests", "Forge.Explainability.Tests", "golden");
        var expected = JsonNode.Parse(File.ReadAllText(Path.Combine(golden, "xgb_regression.golden.json")))!;
        var rows = expected["rows"]!.AsArray();
        var csv = new StringBuilder("f0,f1,f2,f3,f4,f5\n");
        foreach (var row in rows) csv.AppendLine(string.Join(',', row!.AsArray().Select(v => ((double)v!).ToString("R", CultureInfo.InvariantCulture))));
        var data = bundles.Temp("xgb-rows.csv");
        File.WriteAllText(data, csv.ToString());
        var values = bundles.Temp("xgb-shap.csv");

        var result = Cli.Run("explain", "--xgboost", Path.Combine(golden, "xgb_regression.model.json"), "--rows", data, "--values-out", values);

        Assert.True(result.ExitCode == 0, result.ToString());
        var lines = File.ReadAllLines(values);
        Assert.Equal(rows.Count + 1, lines.Length);
        for (var i = 0; i < rows.Count; i++)
        {
            var mine = lines[i + 1].Split(',').Select(f => double.Parse(f, CultureInfo.InvariantCulture)).ToArray();
            var theirs = expected["contribs"]![i]!.AsArray().Select(v => (double)v!).ToArray();
            // XGBoost's pred_contribs: one column per feature, then the bias, as --values-out writes them.
            Assert.Equal(theirs.Length, mine.Length);
            for (var j = 0; j < mine.Length; j++) Assert.InRange(mine[j] - theirs[j], -1e-5, 1e-5);
        }
        Cli.AssertFailed(Cli.Run("explain", bundles.Trees, "--xgboost", "m.json", "--rows", data), "replaces the bundle");
    }

    [Fact]
    public void The_json_output_is_one_object_with_attributions_per_row()
    {
        var result = Cli.Run("explain", bundles.Trees, "--rows", bundles.Data, "--limit", "2", "--json");
        Assert.True(result.ExitCode == 0, result.ToString());
        var row = result.Json().GetProperty("rows")[0].GetProperty("outputs")[0];
        Assert.Equal(4, row.GetProperty("attributions").GetArrayLength());
        Assert.Equal(JsonValueKind.Number, row.GetProperty("baseValue").ValueKind);
        Assert.StartsWith("x1 = ", row.GetProperty("attributions").EnumerateArray().Single(a => a.Text("feature") == "x1").Text("label"), StringComparison.Ordinal);
    }
}
