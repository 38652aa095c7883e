using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Forge.Core;
using Forge.Tuning;

namespace Forge.Cli;

/// <summary>
/// <c>forge tune command --space space.json [flags] -- PROGRAM ARGS…</c>: tunes any external program. Each trial runs
/// the program once with <c>{name}</c> placeholders in ARGS replaced by the trial's values (also set as
/// <c>FORGE_PARAM_NAME</c> environment variables); the objective is the last number it prints on stdout; lines
/// <c>forge:report STEP VALUE</c> feed the pruner, and a pruned program is killed.
/// </summary>
internal static partial class TuneProgram
{
    /// <summary>The line prefix a program prints to report an intermediate value.</summary>
    public const string ReportPrefix = "forge:report";

    /// <summary>Lines of the program's stderr kept as the reason of a failed trial.</summary>
    public const int StderrTailLines = 20;

    public static Command Create(TuneFlags flags, TextWriter output, TextWriter error, bool terminal)
    {
        var space = new Option<string>("--space") { Description = "JSON file declaring each parameter, e.g. {\"lr\": {\"type\": \"float\", \"low\": 1e-5, \"high\": 0.1, \"log\": true}, \"depth\": {\"type\": \"int\", \"low\": 2, \"high\": 10}, \"act\": {\"type\": \"categorical\", \"choices\": [\"relu\", \"gelu\"]}}; a float or int may take \"step\"", Required = true };
        var direction = new Option<string?>("--direction") { Description = "minimize (default) or maximize the printed number" };
        var program = new Argument<string[]>("program") { Description = "After --: the program and its arguments, with {name} placeholders", Arity = ArgumentArity.OneOrMore };
        var cmd = new Command("command", """
            Tune any program, in any language. Each trial runs PROGRAM ARGS once:
              - {name} in ARGS is replaced by the trial's value of parameter 'name'; every value is also in the
                environment as FORGE_PARAM_NAME (upper case, other characters as _), with FORGE_TRIAL and FORGE_STUDY;
              - the objective is the last number the program prints on stdout;
              - a line 'forge:report STEP VALUE' reports an intermediate value (an epoch's validation loss) to the
                pruner; a pruned program is killed and its trial recorded PRUNED;
              - a program that exits non-zero, or prints no number, is a FAIL trial (with the end of its stderr) and
                the study goes on.

            Example:
              forge tune command --space space.json --trials 40 --direction minimize -- python train.py --lr {lr} --depth {depth}
            """)
        {
            space, direction, program,
        };
        flags.AddTo(cmd);
        cmd.SetAction(p =>
        {
            var ctx = new CliContext(output, error, p.GetValue(CliApp.JsonOption), terminal);
            return CliApp.Guard(ctx, () =>
            {
                var problems = new List<string>();
                var dir = StudyDirection.Minimize;
                if (p.GetValue(direction) is { } d)
                {
                    try
                    {
                        dir = TuningText.ParseDirection(d.Trim());
                    }
                    catch (UsageException)
                    {
                        problems.Add(CliFlags.Suggest($"--direction: unknown value '{d}'", d.Trim().ToLowerInvariant(), ["minimize", "maximize"]) + " (one of minimize, maximize)");
                    }
                }
                var distributions = ReadSpace(p.GetValue(space)!);
                var argv = p.GetValue(program) ?? [];
                if (argv.Length == 0 || string.IsNullOrWhiteSpace(argv[0])) problems.Add("name the program to tune after --, e.g. -- python train.py --lr {lr}");
                problems.AddRange(CheckPlaceholders(argv, distributions));
                if (problems.Count > 0) throw new UsageException(string.Join("; ", problems));
                var settings = flags.Read(p, distributions, dir, maxStep: null);
                var parameters = new Dictionary<string, string> { ["program"] = string.Join(' ', argv) };
                using var session = TuneSession.Open(ctx, p, flags, settings, "command", parameters);
                using var cancel = new SignalCancellation();
                var trials = session.Optimize((trial, ct) => RunTrial(trial, distributions, argv, session.Study.Name, ct), cancel.Token);
                session.FinishTracking();
                var all = session.Study.Trials;
                if (ctx.Json) ctx.WriteJson(session.ToJson(all));
                else session.SayResult(all, "value");
                return session.Study.FindBestOrNull(all) is null && trials.Count > 0 ? 1 : 0;
            });
        });
        return cmd;
    }

    /// <summary>Reads the search-space file; every problem is reported at once, each naming the file, parameter and field.</summary>
    public static IReadOnlyDictionary<string, Distribution> ReadSpace(string path)
    {
        var full = Path.GetFullPath(path);
        if (!File.Exists(full)) throw new UsageException($"--space {path}: no such file");
        try
        {
            return Distribution.ParseSearchSpace(File.ReadAllText(full));
        }
        catch (UsageException e)
        {
            throw new UsageException($"--space {path}: {e.Message}");
        }
    }

    /// <summary>A placeholder naming no parameter is a typo the user should hear about before any trial runs.</summary>
    public static IEnumerable<string> CheckPlaceholders(IReadOnlyList<string> argv, IReadOnlyDictionary<string, Distribution> space)
    {
        var unknown = argv.SelectMany(a => Placeholder().Matches(a)).Select(m => m.Groups["name"].Value).Where(n => !space.ContainsKey(n)).Distinct(StringComparer.Ordinal);
        return unknown.Select(n => CliFlags.Suggest($"the placeholder {{{n}}} names no parameter of the space", n, space.Keys) + $" (parameters: {string.Join(", ", space.Keys)})");
    }

    /// <summary>ARGS with each <c>{name}</c> replaced by the trial's value.</summary>
    public static string[] Substitute(IReadOnlyList<string> argv, IReadOnlyDictionary<string, object?> values) =>
        [.. argv.Select(a => Placeholder().Replace(a, m => values.TryGetValue(m.Groups["name"].Value, out var v) ? TuneCommand.Format(v) : m.Value))];

    /// <summary>The environment variable a parameter is passed in: FORGE_PARAM_ and the name in upper case, other characters as '_'.</summary>
    public static string VariableName(string parameter)
    {
        var sb = new StringBuilder("FORGE_PARAM_");
        foreach (var c in parameter) sb.Append(char.IsAsciiLetterOrDigit(c) ? char.ToUpperInvariant(c) : '_');
        return sb.ToString();
    }

    private static double RunTrial(Trial trial, IReadOnlyDictionary<string, Distribution> space, string[] argv, string studyName, CancellationToken ct)
    {
        var values = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var (name, distribution) in space) values[name] = trial.Suggest(name, distribution);
        var args = Substitute(argv, values);
        var info = new ProcessStartInfo(args[0])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (var a in args.Skip(1)) info.ArgumentList.Add(a);
        foreach (var (name, value) in values) info.Environment[VariableName(name)] = TuneCommand.Format(value);
        info.Environment["FORGE_TRIAL"] = trial.Number.ToString(CultureInfo.InvariantCulture);
        info.Environment["FORGE_STUDY"] = studyName;

        var stderr = new Queue<string>();
        using var process = new Process { StartInfo = info };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (stderr)
            {
                stderr.Enqueue(e.Data);
                while (stderr.Count > StderrTailLines) stderr.Dequeue();
            }
        };
        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new ForgeException($"could not start '{args[0]}': {e.Message}");
        }
        process.StandardInput.Close();
        process.BeginErrorReadLine();
        using var kill = ct.Register(() => Kill(process));
        double? last = null;
        var pruned = false;
        string? line;
        while ((line = process.StandardOutput.ReadLine()) is not null)
        {
            var trimmed = line.Trim();
            if (trimmed.StartsWith(ReportPrefix, StringComparison.Ordinal))
            {
                if (pruned) continue;
                var (step, value) = ParseReport(trimmed);
                trial.Report(step, value);
                if (trial.ShouldPrune())
                {
                    pruned = true;
                    Kill(process);
                }
                continue;
            }
            if (LastNumber(trimmed) is { } n) last = n;
        }
        process.WaitForExit();
        ct.ThrowIfCancellationRequested();
        if (pruned) throw new TrialPrunedException($"pruned at step {trial.Snapshot.LastStep}");
        string tail;
        lock (stderr) tail = string.Join('\n', stderr);
        if (process.ExitCode != 0)
            throw new ForgeException($"{args[0]} exited with code {process.ExitCode}" + (tail.Length == 0 ? "" : ": " + tail));
        return last ?? throw new ForgeException($"{args[0]} printed no number on stdout (the objective is the last number printed)" + (tail.Length == 0 ? "" : "; stderr: " + tail));
    }

    private static void Kill(Process process)
    {
        try
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // It exited meanwhile.
        }
    }

    /// <summary>Parses "forge:report STEP VALUE"; a malformed line fails the trial, naming it, since silently ignoring it would disable pruning.</summary>
    public static (long Step, double Value) ParseReport(string line)
    {
        var parts = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 3 && long.TryParse(parts[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var step) && step >= 0
            && double.TryParse(parts[2], NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
        {
            return (step, value);
        }
        throw new ForgeException($"malformed report line '{line}': expected '{ReportPrefix} STEP VALUE' with a whole STEP of 0 or more");
    }

    /// <summary>The last number in a line ("loss=0.25" gives 0.25), or null.</summary>
    public static double? LastNumber(string line)
    {
        double? last = null;
        foreach (var token in line.Split(Separators, StringSplitOptions.RemoveEmptyEntries))
        {
            if (double.TryParse(token, NumberStyles.Float, CultureInfo.InvariantCulture, out var v)) last = v;
        }
        return last;
    }

    private static readonly char[] Separators = [' ', '\t', ',', ';', ':', '=', '(', ')', '[', ']', '{', '}', '"', '\''];

    [GeneratedRegex(@"\{(?<name>[A-Za-z_][A-Za-z0-9_.\-]*)\}")]
    private static partial Regex Placeholder();
}
