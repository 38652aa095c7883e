using System.Buffers.Binary;
using System.Text;

namespace Forge.DeepLearning.Tests;

/// <summary>Writes the protobuf wire format: just enough to build small ONNX models inside tests.</summary>
internal sealed class ProtoWriter
{
    private readonly MemoryStream _stream = new();

    public byte[] ToArray() => _stream.ToArray();

    public ProtoWriter Varint(int field, long value)
    {
        Key(field, 0);
        WriteVarint((ulong)value);
        return this;
    }

    public ProtoWriter Float(int field, float value)
    {
        Key(field, 5);
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteSingleLittleEndian(b, value);
        _stream.Write(b);
        return this;
    }

    public ProtoWriter Bytes(int field, byte[] value)
    {
        Key(field, 2);
        WriteVarint((ulong)value.Length);
        _stream.Write(value);
        return this;
    }

    public ProtoWriter String(int field, string value) => Bytes(field, Encoding.UTF8.GetBytes(value));

    public ProtoWriter Message(int field, Action<ProtoWriter> body)
    {
        var inner = new ProtoWriter();
        body(inner);
        return Bytes(field, inner.ToArray());
    }

    public ProtoWriter PackedInt64(int field, IEnumerable<long> values)
    {
        var inner = new ProtoWriter();
        foreach (var v in values) inner.WriteVarint((ulong)v);
        return Bytes(field, inner.ToArray());
    }

    public ProtoWriter PackedFloat(int field, IEnumerable<float> values)
    {
        var bytes = values.SelectMany(v =>
        {
            var b = new byte[4];
            BinaryPrimitives.WriteSingleLittleEndian(b, v);
            return b;
        }).ToArray();
        return Bytes(field, bytes);
    }

    private void Key(int field, int wire) => WriteVarint((ulong)((field << 3) | wire));

    private void WriteVarint(ulong value)
    {
        while (value >= 0x80)
        {
            _stream.WriteByte((byte)(value | 0x80));
            value >>= 7;
        }
        _stream.WriteByte((byte)value);
    }
}

/// <summary>A tensor for an initializer or a Constant node: float or int64 values with a shape.</summary>
internal sealed record TestTensor(long[] Dims, float[]? Floats = null, long[]? Longs = null)
{
    public static TestTensor Of(float[] values, params long[] dims) => new(dims, Floats: values);

    public static TestTensor Ints(params long[] values) => new([values.Length], Longs: values);

    /// <summary>Deterministic pseudo-random values in [-scale, scale].</summary>
    public static TestTensor Random(int seed, float scale, params long[] dims)
    {
        var rng = new Random(seed);
        var count = dims.Aggregate(1L, (p, d) => p * d);
        return Of(Enumerable.Range(0, (int)count).Select(_ => (float)(rng.NextDouble() * 2 - 1) * scale).ToArray(), dims);
    }

    public void Write(ProtoWriter w, string name, bool raw)
    {
        w.PackedInt64(1, Dims);
        w.Varint(2, Floats is not null ? 1 : 7);
        w.String(8, name);
        if (Floats is not null)
        {
            if (raw) w.Bytes(9, Floats.SelectMany(BitConverter.GetBytes).ToArray());
            else w.PackedFloat(4, Floats);
        }
        else if (raw) w.Bytes(9, Longs!.SelectMany(BitConverter.GetBytes).ToArray());
        else w.PackedInt64(7, Longs!);
    }
}

/// <summary>Builds a one-input, one-output ONNX model in memory.</summary>
internal sealed class OnnxGraphBuilder(long opset, string inputName, params long[] inputShape)
{
    private readonly List<Action<ProtoWriter>> _nodes = [];
    private readonly List<(string Name, TestTensor Tensor)> _initializers = [];
    private string _output = "";

    public string InputName { get; } = inputName;

    public long[] InputShape { get; } = inputShape;

    /// <summary>Adds a node; attribute values may be long, float, string, long[], float[] or TestTensor.</summary>
    public OnnxGraphBuilder Node(string op, string name, string[] inputs, string[] outputs, params (string Name, object Value)[] attributes) =>
        NodeIn("", op, name, inputs, outputs, attributes);

    public OnnxGraphBuilder NodeIn(string domain, string op, string name, string[] inputs, string[] outputs, params (string Name, object Value)[] attributes)
    {
        _nodes.Add(w =>
        {
            foreach (var i in inputs) w.String(1, i);
            foreach (var o in outputs) w.String(2, o);
            w.String(3, name);
            w.String(4, op);
            foreach (var (attrName, value) in attributes) w.Message(5, a => WriteAttribute(a, attrName, value));
            if (domain.Length > 0) w.String(7, domain);
        });
        return this;
    }

    public OnnxGraphBuilder Initializer(string name, TestTensor tensor)
    {
        _initializers.Add((name, tensor));
        return this;
    }

    public OnnxGraphBuilder Output(string name)
    {
        _output = name;
        return this;
    }

    public byte[] Build()
    {
        var model = new ProtoWriter();
        model.Varint(1, 7);
        model.String(2, "forge-tests");
        model.Message(7, g =>
        {
            foreach (var n in _nodes) g.Message(1, n);
            g.String(2, "test_graph");
            // Alternate raw_data and typed fields so the reader's both paths are exercised.
            for (var i = 0; i < _initializers.Count; i++)
            {
                var (name, tensor) = _initializers[i];
                g.Message(5, t => tensor.Write(t, name, raw: i % 2 == 0));
            }
            g.Message(11, v => ValueInfo(v, InputName, InputShape));
            g.Message(12, v => ValueInfo(v, _output, null));
        });
        model.Message(8, o => o.Varint(2, opset));
        return model.ToArray();
    }

    public string Save(string directory, string fileName)
    {
        var path = Path.Combine(directory, fileName);
        File.WriteAllBytes(path, Build());
        return path;
    }

    private static void ValueInfo(ProtoWriter w, string name, long[]? shape)
    {
        w.String(1, name);
        w.Message(2, type => type.Message(1, tensor =>
        {
            tensor.Varint(1, 1);
            if (shape is null) return;
            // A negative size stands for a symbolic dimension.
            tensor.Message(2, s =>
            {
                foreach (var d in shape) s.Message(1, dim => { if (d >= 0) dim.Varint(1, d); else dim.String(2, "batch"); });
            });
        }));
    }

    private static void WriteAttribute(ProtoWriter a, string name, object value)
    {
        a.String(1, name);
        switch (value)
        {
            case long i: a.Varint(3, i).Varint(20, 2); break;
            case int i: a.Varint(3, i).Varint(20, 2); break;
            case float f: a.Float(2, f).Varint(20, 1); break;
            case string s: a.String(4, s).Varint(20, 3); break;
            case long[] ints: a.PackedInt64(8, ints).Varint(20, 7); break;
            case float[] floats: a.PackedFloat(7, floats).Varint(20, 6); break;
            case TestTensor t: a.Message(5, w => t.Write(w, name, raw: true)).Varint(20, 4); break;
            default: throw new ArgumentException($"unsupported attribute value {value.GetType()}");
        }
    }
}
