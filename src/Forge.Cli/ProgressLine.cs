using System.Diagnostics;
using System.Globalization;

namespace Forge.Cli;

/// <summary>A live progress bar on a terminal, or a plain line every few seconds when stderr is redirected.</summary>
internal sealed class ProgressLine(TextWriter writer, bool terminal, string label) : IDisposable
{
    private readonly Stopwatch _sinceLast = Stopwatch.StartNew();
    private bool _drawn;

    /// <summary>Seconds between plain lines when not on a terminal.</summary>
    public double PlainIntervalSeconds { get; init; } = 10;

    public void Update(double fraction, string detail, bool force = false)
    {
        fraction = Math.Clamp(fraction, 0, 1);
        if (terminal)
        {
            if (!force && _sinceLast.ElapsedMilliseconds < 100) return;
            const int width = 30;
            var filled = (int)Math.Round(fraction * width);
            writer.Write(string.Create(CultureInfo.InvariantCulture,
                $"\r{label} [{new string('#', filled)}{new string('-', width - filled)}] {fraction * 100,5:F1}% {detail}\u001b[K"));
            _drawn = true;
        }
        else
        {
            if (!force && _sinceLast.Elapsed.TotalSeconds < PlainIntervalSeconds) return;
            writer.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{label}: {fraction * 100:F1}% {detail}"));
        }
        _sinceLast.Restart();
    }

    /// <summary>Ends the bar's line and prints a permanent line.</summary>
    public void Line(string text)
    {
        if (_drawn) writer.Write("\r\u001b[K");
        _drawn = false;
        writer.WriteLine(text);
    }

    public void Dispose()
    {
        if (_drawn) writer.WriteLine();
        _drawn = false;
    }
}
