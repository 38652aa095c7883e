using System.Diagnostics;
using Forge.Tests.Shared;

namespace Forge.DeepLearning.Tests;

/// <summary>Debian's /usr/bin/python3 with python3-torch and python3-torchvision, used only to generate reference files.</summary>
internal static class PyTorchReference
{
    public const string Python = "/usr/bin/python3";

    private static readonly Lazy<string?> Missing = new(Probe);

    /// <summary>Why PyTorch cannot be used here, or null when it can.</summary>
    public static string? WhyMissing => Missing.Value;

    /// <summary>Runs a fixture script (a path under the repository) with the given arguments; fails with its stderr.</summary>
    public static void RunScript(string repoRelativeScript, params string[] args)
    {
        var root = SharedData.RepoRoot ?? throw new InvalidOperationException("Forge.slnx not found above " + AppContext.BaseDirectory);
        var (code, output) = Run([Path.Combine(root, repoRelativeScript), .. args], TimeSpan.FromMinutes(3));
        if (code != 0) throw new InvalidOperationException($"{repoRelativeScript} failed (exit {code}):\n{output}");
    }

    private static string? Probe()
    {
        if (!File.Exists(Python)) return $"{Python} is not installed";
        try
        {
            var (code, output) = Run(["-c", "import torch, torchvision"], TimeSpan.FromMinutes(1));
            return code == 0 ? null : $"{Python} cannot import torch and torchvision (apt-get install python3-torch python3-torchvision): {output.Trim()}";
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return $"{Python} cannot be started: {e.Message}";
        }
    }

    private static (int Code, string Output) Run(string[] args, TimeSpan timeout)
    {
        var info = new ProcessStartInfo(Python)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in args) info.ArgumentList.Add(a);
        // Two cores are shared with other work; one thread keeps PyTorch from fighting over them.
        info.Environment["OMP_NUM_THREADS"] = "1";
        using var process = Process.Start(info) ?? throw new InvalidOperationException("could not start " + Python);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{Python} {string.Join(' ', args)} did not finish within {timeout}");
        }
        return (process.ExitCode, stdout.Result + stderr.Result);
    }
}

/// <summary>
/// A fact that needs PyTorch (Debian's python3-torch + python3-torchvision) to generate its reference files. Without it the
/// test is skipped, with the reason, on a developer machine; with CI=true it runs and so fails: CI must never pass by skipping.
/// </summary>
public sealed class PyTorchFactAttribute : FactAttribute
{
    public PyTorchFactAttribute()
    {
        if (!SharedData.IsCi && PyTorchReference.WhyMissing is { } why) Skip = why + "; set CI=true to make this a failure";
    }
}

/// <summary>The theory counterpart of <see cref="PyTorchFactAttribute"/>.</summary>
public sealed class PyTorchTheoryAttribute : TheoryAttribute
{
    public PyTorchTheoryAttribute()
    {
        if (!SharedData.IsCi && PyTorchReference.WhyMissing is { } why) Skip = why + "; set CI=true to make this a failure";
    }
}

/// <summary>The files Fixtures/make_torchvision_state.py writes, generated once per test class into a temp folder.</summary>
public sealed class TorchVisionStateFixture : IDisposable
{
    private readonly TempDir _dir = new("forge-torchvision-");
    private readonly Lazy<string> _generated;

    public TorchVisionStateFixture() => _generated = new(() =>
    {
        if (PyTorchReference.WhyMissing is { } why) throw new InvalidOperationException(why + "; run .ci/setup");
        PyTorchReference.RunScript("tests/Forge.DeepLearning.Tests/Fixtures/make_torchvision_state.py", _dir.Path);
        return _dir.Path;
    });

    /// <summary>A generated file (the script runs on first use).</summary>
    public string File(string name) => Path.Combine(_generated.Value, name);

    /// <summary>A scratch folder for files a test writes itself.</summary>
    public string Scratch => _dir.Path;

    public void Dispose() => _dir.Dispose();
}
