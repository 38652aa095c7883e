namespace Forge.Core.Tests;

/// <summary>Asserts that an argument error names its parameter and carries exactly the message users see.</summary>
internal static class ArgumentAsserts
{
    /// <summary>The action throws <see cref="ArgumentException"/> for <paramref name="parameter"/> with <paramref name="message"/>.</summary>
    public static void AssertRefused(string parameter, string message, Action act)
    {
        var ex = Assert.Throws<ArgumentException>(act);
        Assert.Equal(parameter, ex.ParamName);
        Assert.Equal($"{message} (Parameter '{parameter}')", ex.Message);
    }
}
