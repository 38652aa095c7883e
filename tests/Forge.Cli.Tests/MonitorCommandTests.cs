using System.Globalization;
using System.Text;
using Forge.Core;
using Forge.Monitoring;
using Forge.Tabular;
using Forge.Tests.Shared;

namespace Forge.Cli.Tests;

/// <summary>
/// forge monitor on a small tabular bundle: the retrofit of a profile, the HTML and JSON report against the profile or
/// a reference CSV, and every bad input answered with one line naming it (never a NaN verdict).
/// </summary>
public sealed class MonitorCommandTests : IDisposable
{
    private readonly TempDir _temp = new("forge-monitor-cli-");
    private readonly string _data;
    private readonly string _bundle;

    public MonitorCommandTests()
    {
        _data = SyntheticTable.Write(_temp.Combine("train.csv"));
        // Trained without a profile, as bundles were before monitoring: the retrofit adds it.
        _bundle = TabularTraining.Run(new TabularTrainingRequest
        {
            Dataset = "synthetic",
            DataPath = _data,
            Csv = SyntheticTable.Csv("binary"),
            OutputDirectory = _temp.Combine("bundle"),
            Name = "monitored",
            Options = new TabularOptions { Trees = 10, Leaves = 8, MinDataPerLeaf = 5, Threads = 1 },
        }).Bundle.Directory;
    }

    public void Dispose() => _temp.Dispose();

    private string Csv(string name, int rows, int seed, bool shifted, Func<int, string>? x2 = null)
    {
        var rng = new Random(seed);
        var text = new StringBuilder("x1,x2,colour,size\n");
        string[] colours = ["red", "green", "blue"];
        for (var i = 0; i < rows; i++)
        {
            var x1 = (rng.NextDouble() * 10) + (shifted ? 6 : 0);
            var x2Value = x2?.Invoke(i) ?? ((rng.NextDouble() * 2) - 1 + (shifted ? 3 : 0)).ToString("0.###", CultureInfo.InvariantCulture);
            var colour = shifted ? "blue" : colours[rng.Next(3)];
            var size = shifted || rng.Next(2) == 0 ? "L" : "S";
            text.Append(CultureInfo.InvariantCulture, $"{x1:0.###},{x2Value},{colour},{size}\n");
        }
        var path = _temp.Combine(name);
        File.WriteAllText(path, text.ToString());
        return path;
    }

    [Fact]
    public void Profile_retrofit_adds_a_verified_profile_and_the_report_finds_the_shift()
    {
        var none = Cli.Run("monitor", _bundle, "--current", Csv("now.csv", 300, 1, shifted: true), "--out", _temp.Combine("none.html"));
        Cli.AssertFailed(none, "reference/profile.json", "forge monitor profile");

        var added = Cli.Run("monitor", "profile", _bundle, "--data", _data, "--json");
        Assert.True(added.ExitCode == 0, added.ToString());
        var bundle = ModelBundle.Load(_bundle);
        var profile = BundleProfile.TryLoad(bundle)!;
        Assert.Equal(added.Json().GetProperty("rows").GetInt64(), profile.Rows);
        Assert.Equal(["x1", "x2", "colour", "size", "prediction", "prediction_confidence"], profile.Columns.Select(c => c.Name).ToArray());
        Assert.Equal(ColumnRole.Prediction, profile.Column("prediction").Role);
        Assert.Equal(400, profile.Rows);
        // No staging or set-aside copy is left beside the bundle.
        Assert.Equal(["bundle"], Directory.GetDirectories(Path.GetDirectoryName(_bundle)!).Select(d => Path.GetFileName(d)!).ToArray());

        var html = _temp.Combine("report.html");
        var shifted = Cli.Run("monitor", _bundle, "--current", Csv("shifted.csv", 300, 2, shifted: true), "--out", html, "--json");
        Assert.True(shifted.ExitCode == 0, shifted.ToString());
        var json = shifted.Json();
        Assert.True(json.GetProperty("datasetDrift").GetBoolean());
        Assert.Equal(1.0, json.GetProperty("driftShare").GetDouble());
        var columns = json.GetProperty("columns").EnumerateArray().ToArray();
        Assert.Equal(["x1", "x2", "colour", "size"], columns.Select(c => c.GetProperty("name").GetString()!).ToArray());
        foreach (var c in columns)
        {
            Assert.True(c.GetProperty("drifted").GetBoolean());
            Assert.True(double.IsFinite(c.GetProperty("statistic").GetDouble()));
            Assert.InRange(c.GetProperty("pValue").GetDouble(), 0, 0.05);
        }
        Assert.Equal(["ks", "ks", "chisquare", "z"], columns.Select(c => c.GetProperty("test").GetString()!).ToArray());
        Assert.True(json.GetProperty("predictionDrift").GetBoolean());
        var page = File.ReadAllText(html);
        Assert.StartsWith("<!DOCTYPE html>", page, StringComparison.Ordinal);
        Assert.Contains("data:image/png;base64,", page, StringComparison.Ordinal);

        var same = Cli.Run("monitor", _bundle, "--current", _data, "--json");
        Assert.True(same.ExitCode == 0, same.ToString());
        Assert.False(same.Json().GetProperty("datasetDrift").GetBoolean());
        Assert.Equal(0, same.Json().GetProperty("driftShare").GetDouble());
    }

    [Fact]
    public void A_reference_csv_replaces_the_profile_and_the_text_output_lists_every_column()
    {
        var result = Cli.Run("monitor", _bundle, "--current", Csv("shifted.csv", 200, 3, shifted: true), "--reference", _data, "--out", _temp.Combine("r.html"));
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("dataset drift: YES (4 of 4 features drifted", result.Out, StringComparison.Ordinal);
        foreach (var name in new[] { "x1", "x2", "colour", "size", "prediction" }) Assert.Contains(" " + name + " ", result.Out, StringComparison.Ordinal);
    }

    [Fact]
    public void Bad_input_gets_one_line_naming_it()
    {
        Assert.Equal(0, Cli.Run("monitor", "profile", _bundle, "--data", _data).ExitCode);
        var missingColumn = _temp.Combine("no-size.csv");
        File.WriteAllText(missingColumn, "x1,x2,colour,sise\n1,2,red,L\n");
        Cli.AssertFailed(Cli.Run("monitor", _bundle, "--current", missingColumn, "--out", _temp.Combine("bad.html")), "'size'", "did you mean 'sise'");

        var notNumber = _temp.Combine("text-x1.csv");
        File.WriteAllText(notNumber, "x1,x2,colour,size\nlots,2,red,L\n");
        Cli.AssertFailed(Cli.Run("monitor", _bundle, "--current", notNumber, "--out", _temp.Combine("bad.html")), "x1", "lots");

        var empty = _temp.Combine("empty.csv");
        File.WriteAllText(empty, "x1,x2,colour,size\n");
        Cli.AssertFailed(Cli.Run("monitor", _bundle, "--current", empty, "--out", _temp.Combine("bad.html")), "no rows");

        var allMissing = Csv("all-missing.csv", 50, 4, shifted: false, x2: _ => "");
        Cli.AssertFailed(Cli.Run("monitor", _bundle, "--current", allMissing, "--out", _temp.Combine("bad.html")), "x2");

        Cli.AssertFailed(Cli.Run("monitor", _bundle), "--current");
        Cli.AssertFailed(Cli.Run("monitor", _bundle, "--current", _data), "--out");
        Cli.AssertFailed(Cli.Run("monitor", "profile", _bundle), "--data");
        Cli.AssertFailed(Cli.Run("monitor", "profile", _bundle, "--data", missingColumn), "'size'");
        // The failed retrofit left the bundle as it was.
        Assert.NotNull(BundleProfile.TryLoad(ModelBundle.Load(_bundle)));
    }
}
