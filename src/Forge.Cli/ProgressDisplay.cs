using System.Diagnostics;
using System.Globalization;
using Spectre.Console;

namespace Forge.Cli;

/// <summary>
/// Progress of one long job, through an injected Spectre.Console console. On a terminal it is Spectre's live progress
/// display, on its own thread so the job keeps its plain loop and only reports. On a redirected stream (a log file, CI)
/// it is a plain line every <see cref="PlainInterval"/> and always one for the final state, which Spectre's own fallback
/// (lines at fixed milestones) does not promise. Permanent lines (an epoch's metrics) go above the bar.
/// </summary>
internal sealed class ProgressDisplay : IDisposable
{
    private readonly IAnsiConsole _console;
    private readonly string _label;
    private readonly ManualResetEventSlim _done = new();
    private readonly Task? _display;
    private readonly ProgressTask? _task;
    private readonly Stopwatch _sinceLine = Stopwatch.StartNew();
    private readonly object _gate = new();
    private (double Fraction, string Detail)? _last;
    private bool _lastWritten = true;
    private bool _disposed;

    public ProgressDisplay(IAnsiConsole console, string label)
    {
        ArgumentNullException.ThrowIfNull(console);
        _console = console;
        _label = label;
        if (!console.Profile.Capabilities.Interactive) return;
        using var started = new ManualResetEventSlim();
        ProgressTask? task = null;
        _display = Task.Factory.StartNew(() => console.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .Start(ctx =>
            {
                task = ctx.AddTask(Markup.Escape(label), maxValue: 1);
                started.Set();
                _done.Wait();
                ctx.Refresh();
            }), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        // Either the display hands over its task, or it failed and its fault ends the wait.
        while (!started.Wait(50))
        {
            if (_display.IsCompleted) _display.GetAwaiter().GetResult();
        }
        _task = task;
    }

    /// <summary>How often a plain line is written on a redirected stream.</summary>
    public TimeSpan PlainInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Moves the bar to <paramref name="fraction"/> (0–1) and shows <paramref name="detail"/> beside the label.</summary>
    public void Update(double fraction, string detail)
    {
        fraction = Math.Clamp(fraction, 0, 1);
        if (_task is not null)
        {
            _task.Value = fraction;
            _task.Description = Markup.Escape(detail.Length == 0 ? _label : $"{_label} {detail}");
            return;
        }
        lock (_gate)
        {
            _last = (fraction, detail);
            _lastWritten = false;
            if (_sinceLine.Elapsed >= PlainInterval) WritePlain();
        }
    }

    /// <summary>Writes a permanent line (above the bar on a terminal).</summary>
    public void Line(string text) => _console.WriteLine(text);

    /// <summary>Ends the display, leaving its final state on screen (a last plain line when redirected).</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (_task is not null)
        {
            _task.StopTask();
            _done.Set();
            _display!.GetAwaiter().GetResult();
        }
        else
        {
            lock (_gate)
            {
                if (!_lastWritten) WritePlain();
            }
        }
        _done.Dispose();
    }

    /// <summary>A Spectre console over a writer: interactive with ANSI on a terminal, plain text otherwise.</summary>
    public static IAnsiConsole ConsoleFor(TextWriter writer, bool terminal) => AnsiConsole.Create(new AnsiConsoleSettings
    {
        Out = new AnsiConsoleOutput(writer),
        Ansi = terminal ? AnsiSupport.Detect : AnsiSupport.No,
        ColorSystem = terminal ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
        Interactive = terminal ? InteractionSupport.Yes : InteractionSupport.No,
    });

    private void WritePlain()
    {
        var (fraction, detail) = _last!.Value;
        _console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{_label}: {fraction * 100:F1}% {detail}").TrimEnd());
        _lastWritten = true;
        _sinceLine.Restart();
    }
}
