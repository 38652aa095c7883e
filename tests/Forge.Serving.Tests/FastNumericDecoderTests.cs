using System.Text;
using System.Text.Json.Nodes;
using Forge.Core;

namespace Forge.Serving.Tests;

/// <summary>The fast path reads only bodies that are entirely valid, and reads them exactly as the general path does.</summary>
public sealed class FastNumericDecoderTests
{
    private static readonly InstanceDecoder Decoder = new(new TensorSpec("image", "float32", [-1, 1, 1, 3]) { Min = 0, Max = 1 });
    private static readonly IReadOnlySet<string> Numeric = new HashSet<string>(["FP32", "FP64"], StringComparer.Ordinal);

    [Theory]
    [InlineData("{\"instances\": [[0, 0.5, 1]]}")]
    [InlineData("{\"instances\":[[0.1,0.2,0.3],[1e-45,0.333333343,1E0]]}")]
    [InlineData("[0.25, 0.5, 0.75]")]
    [InlineData(" \n{ \"instances\" : [ [ 0.1 , 0.2 , 0.3 ] ] } \n")]
    public void Valid_bodies_give_the_general_paths_values_bit_for_bit(string body)
    {
        var fast = FastNumericDecoder.TryInstances(Encoding.UTF8.GetBytes(body), Decoder);

        Assert.NotNull(fast);
        var slow = NativeApi.Decode(JsonNode.Parse(body)!, Decoder);
        Assert.Equal(slow.Schema, fast.Schema);
        Assert.Equal(slow.Get<TensorColumn>("image").Values.ToArray().Select(BitConverter.SingleToInt32Bits),
            fast.Get<TensorColumn>("image").Values.ToArray().Select(BitConverter.SingleToInt32Bits));
    }

    [Theory]
    [InlineData("")]
    [InlineData("{\"instances\": []}")]
    [InlineData("{\"instances\": [[0, 0.5]]}")]
    [InlineData("{\"instances\": [[0, 0.5, 2]]}")]
    [InlineData("{\"instances\": [[0, 0.5, -0.1]]}")]
    [InlineData("{\"instances\": [[0, 0.5, 1e999]]}")]
    [InlineData("{\"instances\": [[0, 0.5, \"1\"]]}")]
    [InlineData("{\"instances\": [[[0, 0.5, 1]]]}")]
    [InlineData("{\"instances\": [{\"image\": [0, 0.5, 1]}]}")]
    [InlineData("{\"instances\": [[0, 0.5, 1]], \"extra\": 1}")]
    [InlineData("{\"instances\": [[0, 0.5, 1]]} trailing")]
    [InlineData("{\"instances\": [[0, 0.5, 1],]}")]
    [InlineData("{\"other\": [[0, 0.5, 1]]}")]
    [InlineData("[[0, 0.5, 1]]")]
    [InlineData("[0, 0.5, 1")]
    public void Anything_else_is_left_to_the_general_path(string body)
    {
        Assert.Null(FastNumericDecoder.TryInstances(Encoding.UTF8.GetBytes(body), Decoder));
    }

    [Theory]
    [InlineData("{\"inputs\":[{\"name\":\"image\",\"shape\":[2,3],\"datatype\":\"FP32\",\"data\":[0,0.1,0.2,0.3,0.4,0.5]}]}", null)]
    [InlineData("{\"id\":\"r1\",\"inputs\":[{\"data\":[0,0.1,0.2],\"datatype\":\"FP64\",\"shape\":[1,1,1,3],\"name\":\"image\"}]}", "r1")]
    public void Valid_inference_requests_give_the_general_paths_values(string body, string? id)
    {
        var fast = FastNumericDecoder.TryInferRequest(Encoding.UTF8.GetBytes(body), Decoder, Numeric);

        Assert.NotNull(fast);
        Assert.Equal(id, fast.Value.Id);
        var slow = InferenceProtocolApi.DecodeInputs((JsonObject)JsonNode.Parse(body)!, Decoder);
        Assert.Equal(slow.Get<TensorColumn>("image").Values.ToArray(), fast.Value.Rows.Get<TensorColumn>("image").Values.ToArray());
    }

    [Theory]
    [InlineData("{\"inputs\":[{\"name\":\"other\",\"shape\":[1,3],\"datatype\":\"FP32\",\"data\":[0,0.1,0.2]}]}")]
    [InlineData("{\"inputs\":[{\"name\":\"image\",\"shape\":[1,3],\"datatype\":\"BYTES\",\"data\":[0,0.1,0.2]}]}")]
    [InlineData("{\"inputs\":[{\"name\":\"image\",\"shape\":[1,4],\"datatype\":\"FP32\",\"data\":[0,0.1,0.2,0.3]}]}")]
    [InlineData("{\"inputs\":[{\"name\":\"image\",\"shape\":[2,3],\"datatype\":\"FP32\",\"data\":[0,0.1,0.2]}]}")]
    [InlineData("{\"inputs\":[{\"name\":\"image\",\"shape\":[0,3],\"datatype\":\"FP32\",\"data\":[]}]}")]
    [InlineData("{\"inputs\":[{\"name\":\"image\",\"shape\":[1,3],\"datatype\":\"FP32\",\"data\":[[0,0.1,0.2]]}]}")]
    [InlineData("{\"inputs\":[{\"name\":\"image\",\"shape\":[1,3],\"datatype\":\"FP32\",\"data\":[0,0.1,7]}]}")]
    [InlineData("{\"inputs\":[{\"name\":\"image\",\"shape\":[1,3],\"datatype\":\"FP32\",\"data\":[0,0.1,0.2],\"parameters\":{}}]}")]
    [InlineData("{\"inputs\":[{\"name\":\"image\",\"shape\":[1,3],\"datatype\":\"FP32\",\"data\":[0,0.1,0.2]}],\"outputs\":[{\"name\":\"label\"}]}")]
    [InlineData("{\"inputs\":[{\"name\":\"image\",\"shape\":[1,3],\"datatype\":\"FP32\",\"data\":[0,0.1,0.2]},{\"name\":\"image\"}]}")]
    [InlineData("{\"id\":1,\"inputs\":[{\"name\":\"image\",\"shape\":[1,3],\"datatype\":\"FP32\",\"data\":[0,0.1,0.2]}]}")]
    [InlineData("{\"inputs\":[]}")]
    [InlineData("[]")]
    public void Other_inference_requests_are_left_to_the_general_path(string body)
    {
        Assert.Null(FastNumericDecoder.TryInferRequest(Encoding.UTF8.GetBytes(body), Decoder, Numeric));
    }

    [Fact]
    public void Text_decoders_take_no_fast_path()
    {
        var text = new TextInstanceDecoder(new TensorSpec("text", "string", [-1]));
        Assert.Null(FastNumericDecoder.TryInstances("[0.1]"u8, text));
    }
}
