namespace Forge.Core.Tests;

public sealed class BundlePathsTests
{
    [Theory]
    [InlineData("weights/model.dat", "weights/model.dat")]
    [InlineData("weights\\model.dat", "weights/model.dat")]
    [InlineData("a/.hidden/..b", "a/.hidden/..b")]
    public void Relative_paths_are_accepted_with_forward_slashes(string relativePath, string expected)
    {
        Assert.Equal(expected, BundlePaths.TryNormalise(relativePath, out var problem));
        Assert.Equal("", problem);
    }

    [Theory]
    [InlineData(null, "the path is empty")]
    [InlineData(" \t", "the path is empty")]
    [InlineData("/etc/passwd", "'/etc/passwd' is not a relative path")]
    [InlineData("\\\\server\\share\\x", "'\\\\server\\share\\x' is not a relative path")]
    [InlineData("C:model.dat", "'C:model.dat' is not a relative path")]
    [InlineData("a/./b", "'a/./b' may not contain '.' or '..' segments")]
    [InlineData("a/..", "'a/..' may not contain '.' or '..' segments")]
    [InlineData("a//b", "'a//b' has an empty segment")]
    [InlineData("weights/", "'weights/' has an empty segment")]
    [InlineData("weights/mo\u0001del.dat", "'weights/mo\u0001del.dat' contains a control character")]
    [InlineData("weights/model.dat\n", "'weights/model.dat\n' contains a control character")]
    public void Paths_that_could_escape_or_not_travel_are_refused_with_the_reason(string? relativePath, string expected)
    {
        Assert.Null(BundlePaths.TryNormalise(relativePath, out var problem));
        Assert.Equal(expected, problem);
    }
}
