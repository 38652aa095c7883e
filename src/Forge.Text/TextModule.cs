namespace Forge.Text;

/// <summary>Names shared by Forge's text models.</summary>
public static class TextModule
{
    /// <summary>The bundle flavor of text classifiers built on a sentence encoder.</summary>
    public const string Flavor = "text-embedding";
}
