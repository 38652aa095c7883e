using Forge.Core;

namespace Forge.Monitoring.Tests;

internal sealed class ManualClock : TimeProvider
{
    public DateTimeOffset Now { get; set; } = new(2026, 12, 6, 12, 0, 0, TimeSpan.Zero);

    public override DateTimeOffset GetUtcNow() => Now;
}

public sealed class PerformanceTests
{
    [Fact]
    public void Rolling_accuracy_and_macro_f1_cover_only_the_window()
    {
        var m = new RollingClassificationMetrics(4);
        Assert.True(double.IsNaN(m.Accuracy));

        m.Add("a", "a");
        m.Add("a", "b");
        m.Add("b", "b");
        m.Add("b", "b");
        // a: tp 1, fp 1, fn 0 → F1 2/3; b: tp 2, fp 0, fn 1 → F1 4/5.
        Assert.Equal(0.75, m.Accuracy, 12);
        Assert.Equal((2.0 / 3 + 0.8) / 2, m.MacroF1, 12);

        m.Add("c", "a"); // evicts (a, a)
        Assert.Equal(4, m.Count);
        Assert.Equal(5, m.TotalSeen);
        Assert.Equal(0.5, m.Accuracy, 12);
        // a: tp 0, fp 1, fn 1 → 0; b: 4/5; c: tp 0, fp 1 → 0.
        Assert.Equal(0.8 / 3, m.MacroF1, 12);
    }

    [Fact]
    public void Cbpe_expected_accuracy_is_the_mean_probability_of_the_predicted_class()
    {
        var cbpe = Cbpe.Uncalibrated(2);
        double[][] rows = [[0.9, 0.1], [0.3, 0.7], [0.6, 0.4]];

        var e = cbpe.Estimate(rows);

        Assert.Equal((0.9 + 0.7 + 0.6) / 3, e.ExpectedAccuracy, 12);
        // Expected TP/FP/FN: class 0: tp 1.5, fp 0.5, fn 0.3; class 1: tp 0.7, fp 0.3, fn 0.5.
        Assert.Equal((3.0 / 3.8 + 1.4 / 2.2) / 2, e.ExpectedMacroF1, 12);
        Assert.Equal(3, e.Rows);
    }

    [Fact]
    public void Cbpe_on_calibrated_scores_matches_the_realised_accuracy()
    {
        var rng = new Random(4);
        var rows = new List<double[]>();
        var correct = 0;
        for (var i = 0; i < 20_000; i++)
        {
            var p = rng.NextDouble();
            rows.Add([1 - p, p]);
            var label = rng.NextDouble() < p ? 1 : 0;
            if (label == (p > 0.5 ? 1 : 0)) correct++;
        }

        var e = Cbpe.Uncalibrated(2).Estimate(rows);

        Assert.InRange(Math.Abs(e.ExpectedAccuracy - correct / 20_000.0), 0, 0.01);
    }

    [Fact]
    public void Cbpe_fitted_on_reference_labels_corrects_an_overconfident_model()
    {
        var rng = new Random(8);
        (List<double[]> Rows, List<int> Labels) Sample(int n)
        {
            var rows = new List<double[]>();
            var labels = new List<int>();
            for (var i = 0; i < n; i++)
            {
                var truth = rng.NextDouble();
                // The model says 0.95 / 0.05 whenever it leans one way: far more confident than it is right.
                var said = truth > 0.5 ? 0.95 : 0.05;
                rows.Add([1 - said, said]);
                labels.Add(rng.NextDouble() < truth ? 1 : 0);
            }
            return (rows, labels);
        }
        var (refRows, refLabels) = Sample(20_000);
        var (curRows, curLabels) = Sample(20_000);
        var actual = curRows.Select((r, i) => (r[1] > 0.5 ? 1 : 0) == curLabels[i] ? 1.0 : 0).Average();

        var naive = Cbpe.Uncalibrated(2).Estimate(curRows).ExpectedAccuracy;
        var fitted = Cbpe.Fit(refRows, refLabels);

        Assert.True(fitted.Calibrated);
        Assert.InRange(naive - actual, 0.15, 0.25);
        Assert.InRange(Math.Abs(fitted.Estimate(curRows).ExpectedAccuracy - actual), 0, 0.015);
    }

    [Fact]
    public void Cbpe_refuses_malformed_rows()
    {
        Assert.Throws<ArgumentException>(() => Cbpe.Uncalibrated(2).Estimate([[0.5, 0.5, 0.0]]));
        Assert.Throws<ArgumentException>(() => Cbpe.Uncalibrated(2).Estimate([[1.5, -0.5]]));
        Assert.Throws<ArgumentException>(() => Cbpe.Fit([[0.5, 0.5]], [2]));
        Assert.Throws<ArgumentException>(() => Cbpe.Fit([[0.5, 0.5]], []));
    }
}

public sealed class MonitorTests
{
    private static readonly ReferenceProfile Reference = ReferenceProfile.Build(Data.Table(5000, 0, 1));

    [Fact]
    public void A_count_window_keeps_between_three_quarters_and_all_of_its_rows()
    {
        var w = new RollingWindow(Reference, new WindowOptions { Rows = 1000, Panes = 4 });

        w.Add(Data.Table(900, 0, 2));
        Assert.Equal(900, w.Rows);
        w.Add(Data.Table(500, 0, 3));
        Assert.InRange(w.Rows, 750, 1000);
        Assert.Equal(w.Rows, w.Profile().Rows);
        Assert.Equal(w.Rows, w.Profile().Column("x").Count);
    }

    [Fact]
    public void A_time_window_drops_panes_as_they_age()
    {
        var clock = new ManualClock();
        var w = new RollingWindow(Reference, new WindowOptions { Duration = TimeSpan.FromMinutes(60), Panes = 4 }, clock);

        w.Add(Data.Table(100, 0, 2));
        clock.Now += TimeSpan.FromMinutes(20);
        w.Add(Data.Table(50, 0, 3));
        Assert.Equal(150, w.Rows);
        clock.Now += TimeSpan.FromMinutes(56);
        Assert.Equal(50, w.Rows);
        clock.Now += TimeSpan.FromMinutes(60);
        Assert.Equal(0, w.Rows);
    }

    [Fact]
    public void Window_options_are_checked()
    {
        var e = Assert.Throws<UsageException>(() => new WindowOptions { Rows = 2, Panes = 4, Duration = TimeSpan.Zero }.Validate());
        Assert.Contains("Duration", e.Message);
        Assert.Throws<UsageException>(() => new RollingWindow(Reference, new WindowOptions { Rows = 2, Panes = 4 }));
    }

    [Fact]
    public void Shifted_traffic_flips_dataset_drift_within_one_window_and_fires_once()
    {
        var monitor = new DriftMonitor(Reference, new MonitorOptions { Window = new WindowOptions { Rows = 2000 }, EvaluateEveryRows = 500, EvaluateEvery = null });
        var events = new List<DriftEvent>();
        monitor.DriftDetected += (_, e) => events.Add(e);

        for (var i = 0; i < 8; i++) monitor.Observe(Data.Table(250, 0, 100 + i));
        Assert.False(monitor.Latest!.DatasetDrift);
        Assert.Empty(events);

        for (var i = 0; i < 8; i++) monitor.Observe(Data.Table(250, 1.0, 200 + i));

        Assert.True(monitor.Latest!.DatasetDrift);
        Assert.True(monitor.Latest.DriftShare >= 0.5);
        Assert.Single(events, e => e.Kind == "dataset");
        Assert.Contains("features drifted", events[0].Message);
        Assert.Equal(2000, monitor.Snapshot().WindowRows);
        Assert.Equal(4000, monitor.Snapshot().RowsSeen);
    }

    [Fact]
    public void Drift_waits_for_enough_rows_and_can_run_on_a_timer()
    {
        var clock = new ManualClock();
        var monitor = new DriftMonitor(Reference, new MonitorOptions { EvaluateEveryRows = 0, EvaluateEvery = TimeSpan.FromSeconds(30), MinRows = 200 }, clock: clock);

        Assert.Null(monitor.Observe(Data.Table(150, 0, 2)));
        Assert.Throws<DriftException>(() => monitor.Evaluate());
        clock.Now += TimeSpan.FromSeconds(31);
        Assert.Null(monitor.EvaluateIfDue());
        monitor.Observe(Data.Table(100, 0, 3));
        Assert.NotNull(monitor.Latest);
        Assert.Null(monitor.EvaluateIfDue());
        monitor.Observe(Data.Table(10, 0, 4));
        clock.Now += TimeSpan.FromSeconds(31);
        Assert.NotNull(monitor.EvaluateIfDue());
    }

    [Fact]
    public void Feedback_drives_accuracy_and_the_detectors_and_a_jump_in_errors_fires_concept_events()
    {
        var monitor = new DriftMonitor(Reference);
        var events = new List<DriftEvent>();
        monitor.DriftDetected += (_, e) => events.Add(e);
        var rng = new Random(6);

        for (var i = 0; i < 3000; i++) monitor.Feedback("yes", rng.NextDouble() < 0.9 ? "yes" : "no");
        var before = monitor.Snapshot();
        for (var i = 0; i < 1500; i++) monitor.Feedback("yes", rng.NextDouble() < 0.5 ? "yes" : "no");

        Assert.InRange(before.Accuracy!.Value, 0.85, 0.95);
        Assert.Equal(4, before.Detectors.Count);
        Assert.InRange(monitor.Snapshot().Accuracy!.Value, 0.4, 0.6);
        Assert.Contains(events, e => e.Kind == "concept" && e.Detector!.Name == "adwin");
        Assert.Equal(4500, monitor.Snapshot().FeedbackSeen);
    }

    [Fact]
    public void Probabilities_give_an_accuracy_estimate_only_with_an_estimator()
    {
        var monitor = new DriftMonitor(Reference, cbpe: Cbpe.Uncalibrated(2));
        Assert.Null(monitor.Snapshot().EstimatedAccuracy);

        monitor.ObserveProbabilities([[0.9, 0.1], [0.2, 0.8]]);

        Assert.Equal(0.85, monitor.Snapshot().EstimatedAccuracy!.Value, 12);
        Assert.Throws<UsageException>(() => new DriftMonitor(Reference).ObserveProbabilities([[0.5, 0.5]]));
    }

    [Fact]
    public void A_feature_that_goes_all_missing_is_reported_drifted_not_thrown()
    {
        var monitor = new DriftMonitor(Reference, new MonitorOptions { EvaluateEveryRows = 300, EvaluateEvery = null });
        var rows = Data.Table(300, 0, 5);
        var broken = new ColumnSet(rows.Select(c => c.Name == "y" ? DataColumn.Numeric("y", Enumerable.Repeat(double.NaN, 300).ToArray()) : c));

        var result = monitor.Observe(broken)!;

        var y = result.Columns.Single(c => c.Name == "y");
        Assert.Equal("missing", y.Test);
        Assert.True(y.Drifted);
    }
}

/// <summary>DESIGN.md: Forge.Monitoring is a pure project — the base library and Forge.Core only.</summary>
public sealed class ArchitectureTests
{
    [Fact]
    public void Forge_Monitoring_references_only_the_base_library_and_core()
    {
        var references = typeof(DataDrift).Assembly.GetReferencedAssemblies().Select(a => a.Name!).ToArray();

        Assert.Contains("Forge.Core", references);
        Assert.All(references, name => Assert.True(
            name == "Forge.Core" || name.StartsWith("System", StringComparison.Ordinal) || name is "netstandard" or "mscorlib",
            $"Forge.Monitoring references {name}"));
    }
}
