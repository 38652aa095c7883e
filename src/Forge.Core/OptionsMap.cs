using System.Collections;
using System.Globalization;
using System.Reflection;

namespace Forge.Core;

/// <summary>
/// An options record as name → text, read from its public properties, so that the map a manifest and a tracked run
/// record can never leave an option out: a new property appears in it by being declared. Names are camelCase; a nested
/// options record (e.g. augmentation settings) is flattened as <c>augmentation.minCropArea</c>; numbers are written
/// round-trip and culture-free, enums in lower case, sequences comma-separated and null as "none".
/// </summary>
public static class OptionsMap
{
    /// <summary>Every public readable property of <paramref name="options"/>, sorted by name.</summary>
    public static SortedDictionary<string, string> From(object options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var map = new SortedDictionary<string, string>(StringComparer.Ordinal);
        Add(map, "", options, depth: 0);
        return map;
    }

    /// <summary>The map's key for a property name: camelCase.</summary>
    public static string Key(string propertyName)
    {
        ArgumentException.ThrowIfNullOrEmpty(propertyName);
        return char.ToLowerInvariant(propertyName[0]) + propertyName[1..];
    }

    private static void Add(SortedDictionary<string, string> map, string prefix, object options, int depth)
    {
        if (depth > 4) throw new InvalidOperationException($"options nest deeper than 4 levels at '{prefix}'");
        foreach (var p in options.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.GetIndexParameters().Length == 0))
        {
            // Records carry a compiler-made EqualityContract; it is not an option.
            if (p.Name == "EqualityContract") continue;
            var key = prefix + Key(p.Name);
            var value = p.GetValue(options);
            if (value is not null && IsNested(p.PropertyType))
            {
                Add(map, key + ".", value, depth + 1);
                continue;
            }
            map[key] = Text(value);
        }
    }

    // Options records nest other records (e.g. RgbAugmentation); strings and collections are values, not records.
    private static bool IsNested(Type type) =>
        type.IsClass && type != typeof(string) && !typeof(IEnumerable).IsAssignableFrom(type) && !typeof(Delegate).IsAssignableFrom(type);

    /// <summary>One value as text: round-trip numbers, lower-case enums and booleans, comma-separated sequences, "none" for null.</summary>
    public static string Text(object? value) => value switch
    {
        null => "none",
        string s => s,
        bool b => b ? "true" : "false",
        Enum e => e.ToString().ToLowerInvariant(),
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        float f => f.ToString("R", CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        IEnumerable items => string.Join(",", items.Cast<object?>().Select(Text)),
        _ => value.ToString() ?? "",
    };
}
