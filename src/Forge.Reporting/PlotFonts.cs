using Forge.Core;
using SkiaSharp;

namespace Forge.Reporting;

/// <summary>Chooses the one font family every Forge plot is drawn with.</summary>
internal static class PlotFonts
{
    // Skia's own default on Debian is whatever sorts first in the font folder (DejaVu Serif here), and it differs
    // between machines with the same packages in another order. Naming the family keeps plots identical across
    // developers and CI; the list goes from what Debian's fontconfig pulls in to what Windows and macOS ship.
    private static readonly string[] Preferred =
    [
        "DejaVu Sans", "Liberation Sans", "Noto Sans", "Arial", "Helvetica", "Segoe UI",
    ];

    private static readonly Lazy<string> Chosen = new(Choose);

    /// <summary>The family name to hand to ScottPlot; throws when the machine has no font at all.</summary>
    internal static string Family => Chosen.Value;

    private static string Choose()
    {
        var installed = new HashSet<string>(SKFontManager.Default.GetFontFamilies(), StringComparer.OrdinalIgnoreCase);
        // Without any font Skia draws every string as nothing and reports no error: a plot with no words is worse than none.
        if (installed.Count == 0)
        {
            throw new ForgeException(
                "no font is installed, so plots would have no text; install one (on Debian: apt-get install fonts-dejavu-core)");
        }
        return Preferred.FirstOrDefault(installed.Contains) ?? ScottPlot.Fonts.Default;
    }
}
