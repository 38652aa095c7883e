using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Forge.Core;

/// <summary>The JSON settings every Forge file uses (manifests, profiles, reports), so they all read and diff alike.</summary>
public static class ForgeJson
{
    /// <summary>camelCase, indented, enums as camelCase strings, nulls left out when writing; read-only, safe to share.</summary>
    public static JsonSerializerOptions Options { get; } = CreateOptions();

    private static JsonSerializerOptions CreateOptions()
    {
        var options = new JsonSerializerOptions
        {
            PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
            WriteIndented = true,
            DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
            // A diverged loss or an undefined metric is NaN; refusing to write the whole file over it helps nobody.
            NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
            ReadCommentHandling = JsonCommentHandling.Skip,
            AllowTrailingCommas = true,
            // These files are read by people and tools, never embedded in HTML: "0.1.0+abc" and "café" should read as written.
            Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        };
        options.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.CamelCase));
        // Shared by every project: a caller changing it would silently change everyone else's files.
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }
}
