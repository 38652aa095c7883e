using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Forge.Core;
using Forge.Tabular;
using Forge.Tuning;

namespace Forge.Cli;

/// <summary>
/// <c>forge tune adult|bike-sharing|table</c>: tunes the tree learner's leaves, learning rate, min data per leaf, feature
/// fraction and trees on the VALIDATION rows (a share of the training rows); the test rows are never looked at while
/// choosing. The default recipe is trial 0, so the gain is measured in the same study. The best trial is then refitted
/// through <see cref="TabularTraining.Run"/>, which writes its bundle and scores it once on the held-out test rows.
/// </summary>
internal static class TuneTabular
{
    /// <summary>The space searched; the default recipe (300 trees, 15 leaves, 0.05, 20, 1.0) lies inside it.</summary>
    public static IReadOnlyDictionary<string, Distribution> Space { get; } = new Dictionary<string, Distribution>(StringComparer.Ordinal)
    {
        ["trees"] = new IntDistribution(50, 1000, log: true),
        ["leaves"] = new IntDistribution(4, 256, log: true),
        ["learningRate"] = new FloatDistribution(0.005, 0.3, log: true),
        ["minDataPerLeaf"] = new IntDistribution(2, 200, log: true),
        ["featureFraction"] = new FloatDistribution(0.3, 1.0),
    };

    /// <summary>The grid the grid sampler walks (the continuous space has no grid).</summary>
    public static IReadOnlyDictionary<string, Distribution> GridSpace { get; } = new Dictionary<string, Distribution>(StringComparer.Ordinal)
    {
        ["trees"] = new CategoricalDistribution([100, 300, 1000]),
        ["leaves"] = new CategoricalDistribution([15, 31, 63]),
        ["learningRate"] = new CategoricalDistribution([0.02, 0.05, 0.1]),
        ["minDataPerLeaf"] = new CategoricalDistribution([5, 20, 50]),
        ["featureFraction"] = new CategoricalDistribution([0.6, 1.0]),
    };

    private static readonly Option<string?> Data = new("--data") { Description = "table: the CSV file (with a header line)" };
    private static readonly Option<string?> Label = new("--label") { Description = "table: the label column" };
    private static readonly Option<string?> Exclude = new("--exclude") { Description = "table: columns that are not features, comma-separated" };
    private static readonly Option<string?> Categorical = new("--categorical") { Description = "table: columns to treat as categories even if they hold numbers, comma-separated" };
    private static readonly Option<double?> TestFraction = new("--test-fraction") { Description = "table: share of rows held out for testing (default 0.2)" };
    private static readonly Option<bool> Chronological = new("--chronological") { Description = "table: hold out the last rows in file order (rows in time order)" };
    private static readonly Option<double?> ValidationFraction = new("--validation-fraction") { Description = "Share of the training rows trials are scored on (default 0.1)" };
    private static readonly Option<string?> DataDir = new("--data-dir") { Description = "adult, bike-sharing: the dataset's own folder" };
    private static readonly Option<int?> Threads = new("--threads") { Description = "Learner threads per trial (default: the cores shared among --parallel trials)" };
    private static readonly Option<string> Out = new("--out") { Description = "Folder to write the refitted best model's bundle to", Required = true };
    private static readonly Option<bool> Overwrite = new("--overwrite") { Description = "Replace an existing bundle folder" };

    public static Command Create(string dataset, TuneFlags flags, TextWriter output, TextWriter error, bool terminal)
    {
        var about = dataset switch
        {
            "adult" => "Tune LightGBM on UCI Adult (income > 50K): validation AUC, maximised.",
            "bike-sharing" => "Tune LightGBM on UCI Bike Sharing (hourly count): validation RMSE, minimised.",
            _ => "Tune LightGBM on any CSV: --data FILE --label COLUMN. Binary labels maximise validation AUC, multiclass minimise validation log-loss, regressions minimise validation RMSE.",
        };
        var cmd = new Command(dataset, about + $"""


            Searches trees (50-1000, log), leaves (4-256, log), learningRate (0.005-0.3, log), minDataPerLeaf (2-200,
            log) and featureFraction (0.3-1). Trial 0 is the default recipe, so the gain is measured in the study.
            Trials are scored on validation rows carved from the training rows; the test rows are only used once, to
            score the refitted best model written to --out.

            Example:
              forge tune {(dataset == TabularCli.TableDataset ? "table --data x.csv --label y" : dataset)} --trials 50 --out models/{(dataset == TabularCli.TableDataset ? "x" : dataset)}-tuned
            """);
        if (dataset == TabularCli.TableDataset)
        {
            foreach (var o in new Option[] { Data, Label, Exclude, Categorical, TestFraction, Chronological }) cmd.Options.Add(o);
        }
        else
        {
            cmd.Options.Add(DataDir);
        }
        foreach (var o in new Option[] { ValidationFraction, Threads, Out, Overwrite }) cmd.Options.Add(o);
        flags.AddTo(cmd);
        cmd.SetAction(p =>
        {
            var ctx = new CliContext(output, error, p.GetValue(CliApp.JsonOption), terminal);
            return CliApp.Guard(ctx, () => Run(ctx, p, dataset, flags));
        });
        return cmd;
    }

    private static TabularTrainingRequest BaseRequest(ParseResult p, string dataset)
    {
        var output = Path.GetFullPath(p.GetValue(Out)!);
        TabularTrainingRequest request;
        if (dataset == TabularCli.TableDataset)
        {
            var data = p.GetValue(Data) ?? throw new UsageException("forge tune table needs --data FILE.csv (with a header line) and --label COLUMN");
            var label = p.GetValue(Label) ?? throw new UsageException("forge tune table needs --label COLUMN, the column to predict");
            request = TabularCli.TableRequest(data, label, output, p.GetValue(Exclude), p.GetValue(Categorical), p.GetValue(TestFraction), p.GetValue(Chronological));
        }
        else
        {
            request = TabularRecipes.For(dataset, output) with { DataDir = p.GetValue(DataDir) };
        }
        var parallel = Math.Max(1, p.GetValue<int>("--parallel"));
        var o = request.Options with
        {
            Seed = p.GetValue<int?>("--seed") ?? request.Options.Seed,
            ValidationFraction = p.GetValue(ValidationFraction) ?? request.Options.ValidationFraction,
            // Trials run side by side share the cores instead of each taking them all.
            Threads = p.GetValue(Threads) ?? Math.Max(1, Environment.ProcessorCount / parallel),
        };
        if (!(o.ValidationFraction > 0 && o.ValidationFraction < 1))
            throw new UsageException(string.Create(CultureInfo.InvariantCulture, $"--validation-fraction must be in (0, 1): trials are scored on the validation rows (got {o.ValidationFraction})"));
        request = request with { Options = o, Overwrite = p.GetValue(Overwrite) };
        try
        {
            TabularTraining.Validate(request);
        }
        catch (UsageException e)
        {
            throw new UsageException(TabularCli.FlagNames(e.Message));
        }
        var problems = BundleOutput.FindProblems(output, request.Overwrite).ToList();
        if (problems.Count > 0) throw new UsageException(string.Join("; ", problems.Select(x => $"--out {output}: {x.Problem}")));
        return request;
    }

    /// <summary>What a trial's validation score is: AUC for binary (maximise), log-loss for multiclass and RMSE for regression (minimise).</summary>
    public static (string Name, StudyDirection Direction, Func<TabularEvaluation, double> Read) Metric(TabularTask task) => task switch
    {
        TabularTask.Binary => ("validation AUC", StudyDirection.Maximize, e => e.Auc ?? double.NaN),
        TabularTask.Multiclass => ("validation log-loss", StudyDirection.Minimize, e => e.Classification!.LogLoss ?? double.NaN),
        _ => ("validation RMSE", StudyDirection.Minimize, e => e.Regression!.Rmse),
    };

    public static TabularOptions Apply(TabularOptions o, IReadOnlyDictionary<string, object?> v) => o with
    {
        Trees = Convert.ToInt32(v["trees"], CultureInfo.InvariantCulture),
        Leaves = Convert.ToInt32(v["leaves"], CultureInfo.InvariantCulture),
        LearningRate = Convert.ToDouble(v["learningRate"], CultureInfo.InvariantCulture),
        MinDataPerLeaf = Convert.ToInt32(v["minDataPerLeaf"], CultureInfo.InvariantCulture),
        FeatureFraction = Convert.ToDouble(v["featureFraction"], CultureInfo.InvariantCulture),
    };

    private static int Run(CliContext ctx, ParseResult p, string dataset, TuneFlags flags)
    {
        var request = BaseRequest(p, dataset);
        var (path, datasetName, _) = TabularTraining.Locate(request);
        TabularData data;
        using (var bar = ctx.Progress("read"))
        {
            bar.Update(0, path);
            data = TabularCsv.Read(path, request.Csv);
        }
        var (fitRows, validationRows, _, task, _, _) = TabularTraining.SplitRows(data, request);
        if (validationRows.Length == 0) throw new UsageException($"{path}: no validation rows to score trials on; use more rows or a larger --validation-fraction");
        var fit = data.Take(fitRows);
        var validation = data.Take(validationRows);
        var baseOptions = request.Options with { Task = task };
        var (metricName, direction, read) = Metric(task);
        var sampler = p.GetValue(flags.Sampler)?.Trim().ToLowerInvariant();
        var space = sampler == "grid" ? GridSpace : Space;
        var settings = flags.Read(p, space, direction, maxStep: null);
        var parameters = new Dictionary<string, string>
        {
            ["dataset"] = datasetName, ["metric"] = metricName, ["fitRows"] = fit.RowCount.ToString(CultureInfo.InvariantCulture),
            ["validationRows"] = validation.RowCount.ToString(CultureInfo.InvariantCulture),
        };
        using var session = TuneSession.Open(ctx, p, flags, settings, $"tabular {datasetName}", parameters);
        if (session.Study.Trials.Count == 0 && sampler != "grid")
        {
            var d = new TabularOptions();
            session.Study.EnqueueTrial(new Dictionary<string, object?>
            {
                ["trees"] = d.Trees, ["leaves"] = d.Leaves, ["learningRate"] = d.LearningRate, ["minDataPerLeaf"] = d.MinDataPerLeaf, ["featureFraction"] = d.FeatureFraction,
            }, new Dictionary<string, object?> { ["recipe"] = "default" });
        }
        using var cancel = new SignalCancellation();
        session.Optimize((trial, ct) =>
        {
            var values = space.ToDictionary(s => s.Key, s => trial.Suggest(s.Key, s.Value), StringComparer.Ordinal);
            var options = Apply(baseOptions, values);
            var model = TabularTrainer.Fit(fit, options, ct);
            var score = TabularEvaluation.Evaluate(model, validation);
            foreach (var (k, v) in score.ToMetrics("validation")) trial.SetUserAttribute(k, v);
            return read(score);
        }, cancel.Token);

        var trials = session.Study.Trials;
        var best = session.Study.FindBestOrNull(trials) ?? throw new ForgeException($"study '{session.Study.Name}': no trial completed, so there is nothing to refit (see the failures above)");
        var defaultTrial = trials.FirstOrDefault(t => t.State == TrialState.Complete && t.UserAttributes.TryGetValue("recipe", out var r) && r as string == "default");

        // The refit is an ordinary tracked training run, tagged with the study; same rows, seed and threads as the trial.
        using var observer = flags.Tracking.Observer(p, ctx);
        TabularTrainingResult result;
        using (var bar = ctx.Progress("refit best"))
        {
            result = TabularTraining.Run(request with { Options = Apply(baseOptions, best.Params), Observer = observer }, new InlineProgress<TabularProgress>(s => bar.Update(s.Fraction, s.Stage)), null, cancel.Token);
        }
        var test = result.Test;
        var testMetric = task == TabularTask.Binary ? ("test AUC", test.Auc ?? double.NaN)
            : task == TabularTask.Multiclass ? ("test log-loss", test.Classification!.LogLoss ?? double.NaN) : ("test RMSE", test.Regression!.Rmse);
        var extra = new Dictionary<string, double> { ["bestTest" + (task == TabularTask.Binary ? "Auc" : task == TabularTask.Multiclass ? "LogLoss" : "Rmse")] = testMetric.Item2 };
        if (defaultTrial?.Value is { } dv) extra["defaultValue"] = dv;
        session.FinishTracking(extra);

        if (ctx.Json)
        {
            var json = session.ToJson(trials);
            json["metric"] = metricName;
            json["defaultValue"] = defaultTrial?.Value is { } v ? TrackingCli.Json(v) : null;
            json["bundle"] = result.Bundle.Directory;
            json["refitRunId"] = observer.RunId;
            json["test"] = new JsonObject(result.Test.ToMetrics("test").OrderBy(k => k.Key, StringComparer.Ordinal).Select(k => KeyValuePair.Create(k.Key, TrackingCli.Json(k.Value))));
            ctx.WriteJson(json);
            return 0;
        }
        session.SayResult(trials, metricName);
        if (defaultTrial?.Value is { } defaultValue)
        {
            ctx.Say($"default recipe (trial {defaultTrial.Number}): {metricName} {TrackingCli.Number(defaultValue)}; best: {TrackingCli.Number(best.Value!.Value)} ({Gain(defaultValue, best.Value!.Value)})");
        }
        ctx.Say($"refitted best trial {best.Number}: {testMetric.Item1} {TrackingCli.Number(testMetric.Item2)} ({test.Summary()}, held out, not used for choosing)");
        ctx.Say($"bundle written to {result.Bundle.Directory}");
        if (observer.RunId is { } id) ctx.Say($"refit tracked as run {id}");
        return 0;
    }

    private static string Gain(double from, double to)
    {
        var d = to - from;
        return (d >= 0 ? "+" : "") + d.ToString("0.####", CultureInfo.InvariantCulture);
    }
}

/// <summary>Reports on the calling thread at once (System.Progress posts to the thread pool, out of order).</summary>
internal sealed class InlineProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
