using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Forge.Core;
using Forge.Data;
using Forge.Tests.Shared;
using Forge.Tracking;
using Xunit.Abstractions;

namespace Forge.Cli.Tests;

/// <summary>The acceptance test of checkpoint/resume: a real forge process is SIGKILLed mid-run and resumed.</summary>
public sealed class ResumeAfterKillTests(ForgeHomeFixture home, ITestOutputHelper log) : IClassFixture<ForgeHomeFixture>, IDisposable
{
    private static readonly TimeSpan RunTimeout = TimeSpan.FromMinutes(3);
    private readonly TempDir _temp = new("forge-cli-resume-");

    public void Dispose() => _temp.Dispose();

    private string[] TrainArgs(string checkpoint, string output) =>
    [
        "train", "mnist", "--model", "mlp", "--limit", "3000", "--epochs", "3", "--threads", "1", "--seed", "7",
        "--checkpoint-dir", checkpoint, "--out", output, "--data-dir", SharedData.Mnist, "--json",
    ];

    [SharedDataFact]
    public void A_run_killed_after_an_epoch_resumes_to_bit_identical_weights()
    {
        var (ck1, out1) = (_temp.Combine("ck1"), _temp.Combine("out1"));
        var (ck2, out2) = (_temp.Combine("ck2"), _temp.Combine("out2"));
        var state = Path.Combine(ck1, "current", "state.json");

        // The failpoint holds the victim after epoch 1 (checkpointed, tracked, printed) until the kill, so the kill lands
        // between epochs 1 and 2 however slowly this test's poll loop runs on a busy machine.
        using (var victim = ForgeProcess.Start(TrainArgs(ck1, out1), _temp.Path, home.Home, (Failpoint.Variable, "pause-after-epoch:1")))
        {
            var completed = 0;
            var clock = Stopwatch.StartNew();
            // Wait for both the checkpoint and the failpoint's line, which the CLI prints only after flushing that epoch's
            // metrics to the tracking store and printing the epoch: the kill then lands after epoch 1 is durable in both places.
            while (completed < 1 || !victim.Output.Contains("paused after epoch 1", StringComparison.Ordinal))
            {
                Assert.False(victim.Process.HasExited,
                    $"the run ended (exit {(victim.Process.HasExited ? victim.Process.ExitCode : 0)}) before the failpoint paused it after a checkpoint\n{victim.Output}");
                Assert.True(clock.Elapsed < RunTimeout, "no checkpoint within " + RunTimeout);
                Thread.Sleep(10);
                completed = CompletedEpochs(state) ?? 0;
            }
            Assert.Equal(1, completed);
            Assert.Contains("epoch 1/3:", victim.Output, StringComparison.Ordinal);
            victim.Process.Kill(entireProcessTree: true);
            victim.Process.WaitForExit();
            log.WriteLine($"killed after {clock.Elapsed.TotalSeconds:F1} s with {completed} epoch(s) checkpointed");
        }
        var atKill = CompletedEpochs(state) ?? CompletedEpochs(Path.Combine(ck1, "previous", "state.json"));
        Assert.InRange(atKill ?? -1, 1, 2);
        Assert.False(Directory.Exists(out1), "the killed run must not have written a bundle");
        // The tracking store the killed process was writing to is still readable, and shows the run as still RUNNING
        // (its heartbeat goes stale after a minute; this test does not wait for that).
        var afterKill = ForgeProcess.RunToEnd(["runs", "list", "--json"], _temp.Path, home.Home, RunTimeout);
        Assert.True(afterKill.ExitCode == 0, afterKill.ToString());
        var killedRun = Assert.Single(afterKill.Json().GetProperty("runs").EnumerateArray());
        Assert.Equal("RUNNING", killedRun.GetProperty("status").GetString());
        // The completed epoch's metrics are still there after the SIGKILL.
        using (var store = TrackingStore.Open(Path.Combine(home.Home, "forge.db")))
        {
            var history = store.GetMetricHistory(killedRun.GetProperty("runId").GetString()!, "trainLoss");
            Assert.Contains(history, p => p.Step == 1);
        }

        var resumed = ForgeProcess.RunToEnd([.. TrainArgs(ck1, out1), "--resume"], _temp.Path, home.Home, RunTimeout);
        var straight = ForgeProcess.RunToEnd(TrainArgs(ck2, out2), _temp.Path, home.Home, RunTimeout);

        Assert.True(resumed.ExitCode == 0, resumed.ToString());
        Assert.True(straight.ExitCode == 0, straight.ToString());
        var (r, s) = (resumed.Json(), straight.Json());
        Assert.Equal(3, r.GetProperty("epochs").GetInt32());
        Assert.Equal(3, s.GetProperty("epochs").GetInt32());
        var (m1, m2) = (ModelBundle.Load(out1).Manifest, ModelBundle.Load(out2).Manifest);
        Assert.Equal(m2.Files["weights/model.dat"].Sha256, m1.Files["weights/model.dat"].Sha256);
        Assert.Equal(s.Number("testAccuracy"), r.Number("testAccuracy"));
        Assert.Equal(m2.Metrics["testAccuracy"], m1.Metrics["testAccuracy"]);
        log.WriteLine($"test accuracy {r.Number("testAccuracy"):P2}, weights sha256 {m1.Files["weights/model.dat"].Sha256}");
        log.WriteLine("uninterrupted run's progress:\n" + straight.Err);
    }

    /// <summary>The checkpoint's completed epochs, or null while there is none (or it is being replaced).</summary>
    private static int? CompletedEpochs(string stateFile)
    {
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(stateFile));
            foreach (var p in doc.RootElement.EnumerateObject())
            {
                if (string.Equals(p.Name, "CompletedEpochs", StringComparison.OrdinalIgnoreCase)) return p.Value.GetInt32();
            }
            return null;
        }
        catch (Exception e) when (e is IOException or JsonException)
        {
            return null;
        }
    }
}

/// <summary>A forge child process (dotnet forge.dll from this test's output folder) with its output collected.</summary>
internal sealed class ForgeProcess : IDisposable
{
    private readonly StringBuilder _out = new();
    private readonly StringBuilder _err = new();

    private ForgeProcess(Process process) => Process = process;

    public Process Process { get; }

    public string Output
    {
        get
        {
            lock (_out) lock (_err) return $"--- stdout\n{_out}\n--- stderr\n{_err}";
        }
    }

    public static ForgeProcess Start(string[] args, string workingDirectory, string forgeHome, params (string Name, string Value)[] environment)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "forge.dll");
        Assert.True(File.Exists(dll), $"{dll} is missing: the test project must reference Forge.Cli");
        var info = new ProcessStartInfo(DotnetHost.Path)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(dll);
        foreach (var a in args) info.ArgumentList.Add(a);
        info.Environment[ForgePaths.HomeVariable] = forgeHome;
        info.Environment.Remove(DatasetResolver.DataDirVariable);
        info.Environment.Remove(TrackingStore.UriVariable);
        info.Environment["OMP_NUM_THREADS"] = "1";
        info.Environment.Remove(Failpoint.Variable);
        foreach (var (name, value) in environment) info.Environment[name] = value;
        var process = new Process { StartInfo = info };
        var forge = new ForgeProcess(process);
        process.OutputDataReceived += (_, e) => { lock (forge._out) forge._out.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { lock (forge._err) forge._err.AppendLine(e.Data); };
        process.Start();
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return forge;
    }

    /// <summary>Runs forge to its end (killing it after <paramref name="timeout"/>) and returns what it printed.</summary>
    public static CliResult RunToEnd(string[] args, string workingDirectory, string forgeHome, TimeSpan timeout)
    {
        using var forge = Start(args, workingDirectory, forgeHome);
        if (!forge.Process.WaitForExit(timeout))
        {
            forge.Process.Kill(entireProcessTree: true);
            Assert.Fail($"forge {string.Join(' ', args)} did not finish within {timeout}\n{forge.Output}");
        }
        forge.Process.WaitForExit(); // drains the asynchronous readers
        lock (forge._out) lock (forge._err) return new CliResult(forge.Process.ExitCode, forge._out.ToString(), forge._err.ToString());
    }

    public void Dispose()
    {
        if (!Process.HasExited) Process.Kill(entireProcessTree: true);
        Process.Dispose();
    }
}

/// <summary>The failpoint arms only on its exact form, so a stray value can never hang a user's run.</summary>
public sealed class FailpointTests
{
    [Theory]
    [InlineData("pause-after-epoch:1", 1)]
    [InlineData("pause-after-epoch:12", 12)]
    [InlineData(null, null)]
    [InlineData("", null)]
    [InlineData("pause-after-epoch:", null)]
    [InlineData("pause-after-epoch:0", null)]
    [InlineData("pause-after-epoch:-1", null)]
    [InlineData("pause-after-epoch:1x", null)]
    [InlineData("PAUSE-AFTER-EPOCH:1", null)]
    [InlineData("crash-after-epoch:1", null)]
    public void Parses_only_a_positive_epoch_after_the_exact_prefix(string? value, int? expected) =>
        Assert.Equal(expected, Failpoint.Parse(value));

    [Fact]
    public void An_unarmed_failpoint_returns_at_once()
    {
        using var log = new StringWriter();
        Failpoint.AfterEpoch(1, log); // this test process has no FORGE_FAILPOINT
        Assert.Equal("", log.ToString());
    }
}
