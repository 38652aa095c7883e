using System.Text.Json;

namespace Forge.Core.Tests;

public sealed class SignatureTests
{
    [Fact]
    public void Tensor_specs_compare_by_value()
    {
        var a = new TensorSpec("x", "float32", [-1, 4]) { Categories = ["red", "blue"] };
        var b = new TensorSpec("x", "float32", [-1, 4]) { Categories = ["red", "blue"] };

        Assert.Equal(a, b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.NotEqual(a, b with { Shape = [-1, 5] });
        Assert.NotEqual(a, b with { Categories = ["red"] });
        Assert.NotEqual(a, b with { Max = 1 });
    }

    [Fact]
    public void Tensor_specs_differing_in_any_one_field_are_unequal_and_hash_apart()
    {
        var a = new TensorSpec("x", "float32", [-1, 4]) { Min = 0, Max = 1, Categories = ["red"] };
        TensorSpec[] hashed = [a with { Name = "y" }, a with { DType = "float64" }, a with { Shape = [-1, 4, 1] }, a with { Min = -1 }, a with { Max = 2 }];
        var uncategorised = a with { Categories = null };

        foreach (var b in hashed.Append(uncategorised))
        {
            Assert.NotEqual(a, b);
            Assert.NotEqual(b, a);
        }
        // Specs key per-input lookups; a field left out of the hash would pile specs differing only there into one bucket.
        Assert.All(hashed, b => Assert.NotEqual(a.GetHashCode(), b.GetHashCode()));
        Assert.Equal(uncategorised, uncategorised with { });
        Assert.False(a.Equals(null));
    }

    [Fact]
    public void Signatures_compare_by_value()
    {
        ModelSignature Make(string label) =>
            new([new TensorSpec("x", "float32", [-1, 4])], [new TensorSpec("p", "float32", [-1, 2])], ["a", label]);

        Assert.Equal(Make("b"), Make("b"));
        Assert.Equal(Make("b").GetHashCode(), Make("b").GetHashCode());
        Assert.NotEqual(Make("b"), Make("c"));
        Assert.NotEqual(Make("b"), Make("b") with { Inputs = [new TensorSpec("y", "float32", [-1, 4])] });
        Assert.NotEqual(Make("b"), Make("b") with { Outputs = [new TensorSpec("p", "float32", [-1, 3])] });
        Assert.False(Make("b").Equals(null));
    }

    [Fact]
    public void Signature_json_round_trips_with_dtype_and_without_nulls()
    {
        var signature = new ModelSignature([new TensorSpec("x", "float32", [-1, 4]) { Min = 0 }], [], ["a"]);

        var json = JsonSerializer.Serialize(signature, ForgeJson.Options);
        var back = JsonSerializer.Deserialize<ModelSignature>(json, ForgeJson.Options);

        Assert.Contains("\"dtype\": \"float32\"", json, StringComparison.Ordinal);
        Assert.DoesNotContain("max", json, StringComparison.Ordinal);
        Assert.Equal(signature, back);
    }

    [Fact]
    public void Forge_json_options_are_shared_read_only()
    {
        Assert.True(ForgeJson.Options.IsReadOnly);
        Assert.Throws<InvalidOperationException>(() => ForgeJson.Options.WriteIndented = false);
    }

    private enum Shade { DarkRed }

    [Fact]
    public void Forge_json_writes_enums_as_strings_and_nan_as_a_literal()
    {
        var json = JsonSerializer.Serialize(new { Shade = Shade.DarkRed, Loss = double.NaN }, ForgeJson.Options);

        Assert.Contains("\"shade\": \"darkRed\"", json, StringComparison.Ordinal);
        Assert.Contains("\"loss\": \"NaN\"", json, StringComparison.Ordinal);
    }
}
