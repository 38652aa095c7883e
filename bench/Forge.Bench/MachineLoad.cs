using System.Globalization;

namespace Forge.Bench;

/// <summary>The machine's load average, which every report prints beside its timings: /proc/loadavg, absent off Linux.</summary>
internal static class MachineLoad
{
    private const string LoadFile = "/proc/loadavg";

    /// <summary>The first <paramref name="fields"/> fields of /proc/loadavg (all of them when null), or null where there is no such file.</summary>
    public static string? Text(int? fields = 3)
    {
        if (!File.Exists(LoadFile)) return null;
        var text = File.ReadAllText(LoadFile).Trim();
        return fields is { } n ? string.Join(' ', text.Split(' ').Take(n)) : text;
    }

    /// <summary>The one-minute load average; NaN where there is none.</summary>
    public static double OneMinute() => Text(1) is { } t ? double.Parse(t, CultureInfo.InvariantCulture) : double.NaN;
}
