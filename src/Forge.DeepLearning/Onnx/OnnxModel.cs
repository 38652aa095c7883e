using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using Forge.Core;

namespace Forge.DeepLearning.Onnx;

/// <summary>
/// An ONNX model file read straight from its protobuf bytes: the graph, its initializers and enough of the type
/// information to know the declared input and output shapes. Field numbers follow onnx.proto; fields Forge does not use
/// (doc strings, metadata, training info, functions) are skipped.
/// </summary>
internal sealed class OnnxModel
{
    private OnnxModel(long irVersion, string producerName, string producerVersion, IReadOnlyList<OnnxOpsetImport> opsets, OnnxGraph graph)
    {
        IrVersion = irVersion;
        ProducerName = producerName;
        ProducerVersion = producerVersion;
        OpsetImports = opsets;
        Graph = graph;
    }

    /// <summary>The ONNX IR version the file declares.</summary>
    public long IrVersion { get; }

    /// <summary>The tool that wrote the file (e.g. "CNTK", "pytorch").</summary>
    public string ProducerName { get; }

    /// <summary>The version of the tool that wrote the file.</summary>
    public string ProducerVersion { get; }

    /// <summary>The operator sets the graph binds against.</summary>
    public IReadOnlyList<OnnxOpsetImport> OpsetImports { get; }

    /// <summary>The computation graph.</summary>
    public OnnxGraph Graph { get; }

    /// <summary>The opset version of <paramref name="domain"/> ("" or "ai.onnx" for the standard operators), or 0 when not imported.</summary>
    public long OpsetVersion(string domain = "")
    {
        ArgumentNullException.ThrowIfNull(domain);
        var wanted = domain == "ai.onnx" ? "" : domain;
        return OpsetImports.Where(o => (o.Domain == "ai.onnx" ? "" : o.Domain) == wanted).Select(o => o.Version).DefaultIfEmpty(0).Max();
    }

    /// <summary>Reads an ONNX file; a file that is not a well-formed ONNX model raises a DataFormatException naming it.</summary>
    public static OnnxModel Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path)) throw new OnnxFileNotFoundException("ONNX file", path, "");
        return Parse(File.ReadAllBytes(path), path);
    }

    /// <summary>Reads an ONNX model from its bytes; <paramref name="sourceName"/> names it in errors.</summary>
    public static OnnxModel Parse(byte[] bytes, string sourceName)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        ArgumentNullException.ThrowIfNull(sourceName);
        if (bytes.Length == 0) throw new DataFormatException(sourceName, "the file is empty, not an ONNX model");
        try
        {
            return ReadModel(new ProtoReader(bytes), sourceName);
        }
        catch (ProtoFormatException e)
        {
            throw new DataFormatException(sourceName, $"not a well-formed ONNX model: {e.Message}", e);
        }
    }

    private static OnnxModel ReadModel(ProtoReader r, string source)
    {
        long ir = 0;
        string producer = "", producerVersion = "";
        var opsets = new List<OnnxOpsetImport>();
        OnnxGraph? graph = null;
        while (r.Next(out var field, out var wire))
        {
            switch (field)
            {
                case 1: ProtoReader.Expect(wire, WireType.Varint); ir = r.ReadInt64(); break;
                case 2: ProtoReader.Expect(wire, WireType.LengthDelimited); producer = r.ReadString(); break;
                case 3: ProtoReader.Expect(wire, WireType.LengthDelimited); producerVersion = r.ReadString(); break;
                case 7: ProtoReader.Expect(wire, WireType.LengthDelimited); graph = ReadGraph(r.ReadMessage(), source); break;
                case 8: ProtoReader.Expect(wire, WireType.LengthDelimited); opsets.Add(ReadOpset(r.ReadMessage())); break;
                default: r.Skip(wire); break;
            }
        }
        // Protobuf accepts almost any byte soup as "a message with unknown fields"; a model without a graph and a
        // nonsensical IR version is what such soup looks like.
        if (graph is null) throw new ProtoFormatException("it has no graph");
        if (ir is <= 0 or > 1000) throw new ProtoFormatException($"implausible IR version {ir}");
        return new OnnxModel(ir, producer, producerVersion, opsets, graph);
    }

    private static OnnxOpsetImport ReadOpset(ProtoReader r)
    {
        string domain = "";
        long version = 0;
        while (r.Next(out var field, out var wire))
        {
            switch (field)
            {
                case 1: ProtoReader.Expect(wire, WireType.LengthDelimited); domain = r.ReadString(); break;
                case 2: ProtoReader.Expect(wire, WireType.Varint); version = r.ReadInt64(); break;
                default: r.Skip(wire); break;
            }
        }
        return new OnnxOpsetImport(domain, version);
    }

    private static OnnxGraph ReadGraph(ProtoReader r, string source)
    {
        var name = "";
        var nodes = new List<OnnxNode>();
        var initializers = new List<OnnxTensor>();
        var inputs = new List<OnnxValueInfo>();
        var outputs = new List<OnnxValueInfo>();
        var valueInfo = new List<OnnxValueInfo>();
        while (r.Next(out var field, out var wire))
        {
            switch (field)
            {
                case 1: ProtoReader.Expect(wire, WireType.LengthDelimited); nodes.Add(ReadNode(r.ReadMessage(), source)); break;
                case 2: ProtoReader.Expect(wire, WireType.LengthDelimited); name = r.ReadString(); break;
                case 5: ProtoReader.Expect(wire, WireType.LengthDelimited); initializers.Add(ReadTensor(r.ReadMessage(), source)); break;
                case 11: ProtoReader.Expect(wire, WireType.LengthDelimited); inputs.Add(ReadValueInfo(r.ReadMessage())); break;
                case 12: ProtoReader.Expect(wire, WireType.LengthDelimited); outputs.Add(ReadValueInfo(r.ReadMessage())); break;
                case 13: ProtoReader.Expect(wire, WireType.LengthDelimited); valueInfo.Add(ReadValueInfo(r.ReadMessage())); break;
                default: r.Skip(wire); break;
            }
        }
        return new OnnxGraph(name, nodes, initializers, inputs, outputs, valueInfo);
    }

    private static OnnxNode ReadNode(ProtoReader r, string source)
    {
        var inputs = new List<string>();
        var outputs = new List<string>();
        string name = "", opType = "", domain = "";
        var attributes = new List<OnnxAttribute>();
        while (r.Next(out var field, out var wire))
        {
            switch (field)
            {
                case 1: ProtoReader.Expect(wire, WireType.LengthDelimited); inputs.Add(r.ReadString()); break;
                case 2: ProtoReader.Expect(wire, WireType.LengthDelimited); outputs.Add(r.ReadString()); break;
                case 3: ProtoReader.Expect(wire, WireType.LengthDelimited); name = r.ReadString(); break;
                case 4: ProtoReader.Expect(wire, WireType.LengthDelimited); opType = r.ReadString(); break;
                case 5: ProtoReader.Expect(wire, WireType.LengthDelimited); attributes.Add(ReadAttribute(r.ReadMessage(), source)); break;
                case 7: ProtoReader.Expect(wire, WireType.LengthDelimited); domain = r.ReadString(); break;
                default: r.Skip(wire); break;
            }
        }
        if (opType.Length == 0) throw new ProtoFormatException($"node '{name}' has no op_type");
        return new OnnxNode(name, opType, domain, inputs, outputs, attributes);
    }

    private static OnnxAttribute ReadAttribute(ProtoReader r, string source)
    {
        var name = "";
        var type = OnnxAttributeType.Undefined;
        float f = 0;
        long i = 0;
        ReadOnlyMemory<byte> s = default;
        OnnxTensor? t = null;
        var floats = new List<float>();
        var ints = new List<long>();
        var strings = new List<ReadOnlyMemory<byte>>();
        while (r.Next(out var field, out var wire))
        {
            switch (field)
            {
                case 1: ProtoReader.Expect(wire, WireType.LengthDelimited); name = r.ReadString(); break;
                case 2: ProtoReader.Expect(wire, WireType.Fixed32); f = r.ReadFixed32Float(); break;
                case 3: ProtoReader.Expect(wire, WireType.Varint); i = r.ReadInt64(); break;
                case 4: ProtoReader.Expect(wire, WireType.LengthDelimited); s = r.ReadBytes(); break;
                case 5: ProtoReader.Expect(wire, WireType.LengthDelimited); t = ReadTensor(r.ReadMessage(), source); break;
                case 7: r.ReadRepeatedFloat(wire, floats); break;
                case 8: r.ReadRepeatedInt64(wire, ints); break;
                case 9: ProtoReader.Expect(wire, WireType.LengthDelimited); strings.Add(r.ReadBytes()); break;
                case 20: ProtoReader.Expect(wire, WireType.Varint); type = (OnnxAttributeType)r.ReadInt64(); break;
                default: r.Skip(wire); break;
            }
        }
        if (type == OnnxAttributeType.Undefined) type = InferAttributeType(f, i, s, t, floats, ints, strings);
        return new OnnxAttribute(name, type, f, i, s.ToArray(), t, floats, ints, strings.Select(x => x.ToArray()).ToList());
    }

    /// <summary>IR version 1 files may leave the type out; the one field that is set tells it.</summary>
    private static OnnxAttributeType InferAttributeType(
        float f, long i, ReadOnlyMemory<byte> s, OnnxTensor? t, List<float> floats, List<long> ints, List<ReadOnlyMemory<byte>> strings)
    {
        if (t is not null) return OnnxAttributeType.Tensor;
        if (floats.Count > 0) return OnnxAttributeType.Floats;
        if (ints.Count > 0) return OnnxAttributeType.Ints;
        if (strings.Count > 0) return OnnxAttributeType.Strings;
        if (!s.IsEmpty) return OnnxAttributeType.String;
        if (f != 0) return OnnxAttributeType.Float;
        return i != 0 ? OnnxAttributeType.Int : OnnxAttributeType.Undefined;
    }

    private static OnnxTensor ReadTensor(ProtoReader r, string source)
    {
        var dims = new List<long>();
        var dataType = OnnxDataType.Undefined;
        var name = "";
        var floats = new List<float>();
        var longs = new List<long>();
        var int32s = new List<long>();
        ReadOnlyMemory<byte>? raw = null;
        var external = false;
        while (r.Next(out var field, out var wire))
        {
            switch (field)
            {
                case 1: r.ReadRepeatedInt64(wire, dims); break;
                case 2: ProtoReader.Expect(wire, WireType.Varint); dataType = (OnnxDataType)r.ReadInt64(); break;
                case 4: r.ReadRepeatedFloat(wire, floats); break;
                case 5: r.ReadRepeatedInt64(wire, int32s); break;
                case 7: r.ReadRepeatedInt64(wire, longs); break;
                case 8: ProtoReader.Expect(wire, WireType.LengthDelimited); name = r.ReadString(); break;
                case 9: ProtoReader.Expect(wire, WireType.LengthDelimited); raw = r.ReadBytes(); break;
                case 14: ProtoReader.Expect(wire, WireType.Varint); external = r.ReadInt64() == 1; break;
                default: r.Skip(wire); break;
            }
        }
        return new OnnxTensor(source, name, [.. dims], dataType, raw, floats, longs, int32s, external);
    }

    private static OnnxValueInfo ReadValueInfo(ProtoReader r)
    {
        var name = "";
        var elementType = OnnxDataType.Undefined;
        List<OnnxDimension>? shape = null;
        while (r.Next(out var field, out var wire))
        {
            if (field == 1 && wire == WireType.LengthDelimited) name = r.ReadString();
            else if (field == 2 && wire == WireType.LengthDelimited) ReadType(r.ReadMessage(), ref elementType, ref shape);
            else r.Skip(wire);
        }
        return new OnnxValueInfo(name, elementType, shape);
    }

    private static void ReadType(ProtoReader r, ref OnnxDataType elementType, ref List<OnnxDimension>? shape)
    {
        while (r.Next(out var field, out var wire))
        {
            // Only TypeProto.tensor_type (1) matters here; sequences and maps are not inputs of a CNN.
            if (field != 1 || wire != WireType.LengthDelimited)
            {
                r.Skip(wire);
                continue;
            }
            var tensorType = r.ReadMessage();
            while (tensorType.Next(out var tf, out var tw))
            {
                if (tf == 1 && tw == WireType.Varint) elementType = (OnnxDataType)tensorType.ReadInt64();
                else if (tf == 2 && tw == WireType.LengthDelimited) shape = ReadShape(tensorType.ReadMessage());
                else tensorType.Skip(tw);
            }
        }
    }

    private static List<OnnxDimension> ReadShape(ProtoReader r)
    {
        var dims = new List<OnnxDimension>();
        while (r.Next(out var field, out var wire))
        {
            if (field != 1 || wire != WireType.LengthDelimited)
            {
                r.Skip(wire);
                continue;
            }
            var dim = r.ReadMessage();
            long? value = null;
            string? param = null;
            while (dim.Next(out var df, out var dw))
            {
                if (df == 1 && dw == WireType.Varint) value = dim.ReadInt64();
                else if (df == 2 && dw == WireType.LengthDelimited) param = dim.ReadString();
                else dim.Skip(dw);
            }
            dims.Add(new OnnxDimension(value, param));
        }
        return dims;
    }
}

/// <summary>One operator set a model imports: a domain ("" is the standard one) and its version.</summary>
/// <param name="Domain">The operator domain; "" or "ai.onnx" for the standard operators.</param>
/// <param name="Version">The opset version.</param>
internal sealed record OnnxOpsetImport(string Domain, long Version);

/// <summary>An ONNX graph: nodes in topological order, named constant tensors and the declared inputs and outputs.</summary>
internal sealed class OnnxGraph
{
    private readonly Dictionary<string, OnnxTensor> _byName;

    internal OnnxGraph(string name, IReadOnlyList<OnnxNode> nodes, IReadOnlyList<OnnxTensor> initializers,
        IReadOnlyList<OnnxValueInfo> inputs, IReadOnlyList<OnnxValueInfo> outputs, IReadOnlyList<OnnxValueInfo> valueInfo)
    {
        Name = name;
        Nodes = nodes;
        Initializers = initializers;
        Inputs = inputs;
        Outputs = outputs;
        ValueInfo = valueInfo;
        _byName = new Dictionary<string, OnnxTensor>(StringComparer.Ordinal);
        foreach (var t in initializers) _byName[t.Name] = t;
    }

    /// <summary>The graph's name.</summary>
    public string Name { get; }

    /// <summary>The nodes, in the order the file lists them (topological, as the format requires).</summary>
    public IReadOnlyList<OnnxNode> Nodes { get; }

    /// <summary>The named constant tensors (weights, means, shapes).</summary>
    public IReadOnlyList<OnnxTensor> Initializers { get; }

    /// <summary>The declared inputs; older IR versions also list the initializers here.</summary>
    public IReadOnlyList<OnnxValueInfo> Inputs { get; }

    /// <summary>The declared outputs.</summary>
    public IReadOnlyList<OnnxValueInfo> Outputs { get; }

    /// <summary>Type information for intermediate values, when the producer wrote it.</summary>
    public IReadOnlyList<OnnxValueInfo> ValueInfo { get; }

    /// <summary>The inputs a caller feeds: the declared inputs that are not initializers.</summary>
    public IReadOnlyList<OnnxValueInfo> RuntimeInputs => Inputs.Where(i => !_byName.ContainsKey(i.Name)).ToList();

    /// <summary>The initializer called <paramref name="name"/>, or null.</summary>
    public OnnxTensor? Initializer(string name) => _byName.GetValueOrDefault(name);
}

/// <summary>One operator application: its type, its attributes and the names of the values it reads and writes.</summary>
internal sealed class OnnxNode
{
    internal OnnxNode(string name, string opType, string domain, IReadOnlyList<string> inputs, IReadOnlyList<string> outputs,
        IReadOnlyList<OnnxAttribute> attributes)
    {
        Name = name;
        OpType = opType;
        Domain = domain;
        Inputs = inputs;
        Outputs = outputs;
        Attributes = attributes;
    }

    /// <summary>The node's name (may be empty).</summary>
    public string Name { get; }

    /// <summary>The operator, e.g. "Conv".</summary>
    public string OpType { get; }

    /// <summary>The operator's domain; empty for the standard ONNX operators.</summary>
    public string Domain { get; }

    /// <summary>Input value names; an empty name marks an omitted optional input.</summary>
    public IReadOnlyList<string> Inputs { get; }

    /// <summary>Output value names.</summary>
    public IReadOnlyList<string> Outputs { get; }

    /// <summary>The node's attributes.</summary>
    public IReadOnlyList<OnnxAttribute> Attributes { get; }

    /// <summary>The attribute called <paramref name="name"/>, or null.</summary>
    public OnnxAttribute? Attribute(string name) => Attributes.FirstOrDefault(a => a.Name == name);

    /// <summary>An integer attribute, or <paramref name="fallback"/> when absent.</summary>
    public long Int(string name, long fallback) => Attribute(name)?.Int ?? fallback;

    /// <summary>A float attribute, or <paramref name="fallback"/> when absent.</summary>
    public float Float(string name, float fallback) => Attribute(name)?.Float ?? fallback;

    /// <summary>A string attribute, or <paramref name="fallback"/> when absent.</summary>
    public string String(string name, string fallback) => Attribute(name)?.String ?? fallback;

    /// <summary>An integer-list attribute, or null when absent.</summary>
    public IReadOnlyList<long>? Ints(string name) => Attribute(name)?.Ints;

    /// <summary>"Conv 'conv1'" — how errors name a node.</summary>
    public override string ToString() => Name.Length > 0 ? $"{OpType} node '{Name}'" : $"unnamed {OpType} node";
}

/// <summary>ONNX AttributeProto.AttributeType.</summary>
internal enum OnnxAttributeType
{
    /// <summary>Not set.</summary>
    Undefined = 0,
    /// <summary>One float.</summary>
    Float = 1,
    /// <summary>One int64.</summary>
    Int = 2,
    /// <summary>One byte string (UTF-8 text).</summary>
    String = 3,
    /// <summary>One tensor.</summary>
    Tensor = 4,
    /// <summary>A sub-graph.</summary>
    Graph = 5,
    /// <summary>A list of floats.</summary>
    Floats = 6,
    /// <summary>A list of int64.</summary>
    Ints = 7,
    /// <summary>A list of byte strings.</summary>
    Strings = 8,
    /// <summary>A list of tensors.</summary>
    Tensors = 9,
    /// <summary>A list of sub-graphs.</summary>
    Graphs = 10,
    /// <summary>A sparse tensor.</summary>
    SparseTensor = 11,
    /// <summary>A list of sparse tensors.</summary>
    SparseTensors = 12,
    /// <summary>A type.</summary>
    TypeProto = 13,
    /// <summary>A list of types.</summary>
    TypeProtos = 14,
}

/// <summary>A node attribute; which value field is meaningful depends on <see cref="Type"/>.</summary>
internal sealed class OnnxAttribute
{
    private readonly byte[] _s;
    private readonly List<byte[]> _strings;

    internal OnnxAttribute(string name, OnnxAttributeType type, float f, long i, byte[] s, OnnxTensor? t,
        IReadOnlyList<float> floats, IReadOnlyList<long> ints, List<byte[]> strings)
    {
        Name = name;
        Type = type;
        Float = f;
        Int = i;
        _s = s;
        Tensor = t;
        Floats = floats;
        Ints = ints;
        _strings = strings;
    }

    /// <summary>The attribute's name.</summary>
    public string Name { get; }

    /// <summary>Which value field is in use.</summary>
    public OnnxAttributeType Type { get; }

    /// <summary>The float value.</summary>
    public float Float { get; }

    /// <summary>The integer value.</summary>
    public long Int { get; }

    /// <summary>The string value decoded as UTF-8.</summary>
    public string String => Encoding.UTF8.GetString(_s);

    /// <summary>The string value's bytes.</summary>
    public ReadOnlyMemory<byte> Bytes => _s;

    /// <summary>The tensor value, or null.</summary>
    public OnnxTensor? Tensor { get; }

    /// <summary>The float-list value.</summary>
    public IReadOnlyList<float> Floats { get; }

    /// <summary>The integer-list value.</summary>
    public IReadOnlyList<long> Ints { get; }

    /// <summary>The string-list value decoded as UTF-8.</summary>
    public IReadOnlyList<string> Strings => _strings.Select(b => Encoding.UTF8.GetString(b)).ToList();
}

/// <summary>ONNX TensorProto.DataType.</summary>
internal enum OnnxDataType
{
    /// <summary>Not set.</summary>
    Undefined = 0,
    /// <summary>32-bit float.</summary>
    Float = 1,
    /// <summary>Unsigned byte.</summary>
    UInt8 = 2,
    /// <summary>Signed byte.</summary>
    Int8 = 3,
    /// <summary>Unsigned 16-bit integer.</summary>
    UInt16 = 4,
    /// <summary>Signed 16-bit integer.</summary>
    Int16 = 5,
    /// <summary>Signed 32-bit integer.</summary>
    Int32 = 6,
    /// <summary>Signed 64-bit integer.</summary>
    Int64 = 7,
    /// <summary>Text.</summary>
    String = 8,
    /// <summary>Boolean.</summary>
    Bool = 9,
    /// <summary>16-bit float.</summary>
    Float16 = 10,
    /// <summary>64-bit float.</summary>
    Double = 11,
    /// <summary>Unsigned 32-bit integer.</summary>
    UInt32 = 12,
    /// <summary>Unsigned 64-bit integer.</summary>
    UInt64 = 13,
    /// <summary>Complex of two 32-bit floats.</summary>
    Complex64 = 14,
    /// <summary>Complex of two 64-bit floats.</summary>
    Complex128 = 15,
    /// <summary>Brain float 16.</summary>
    BFloat16 = 16,
}

/// <summary>
/// A constant tensor from the file. FLOAT, INT64 and INT32 contents can be read (as float and long arrays); any other
/// element type raises an error naming the tensor when its values are asked for, so a model that merely carries such a
/// tensor unused still loads.
/// </summary>
internal sealed class OnnxTensor
{
    private readonly string _source;
    private readonly ReadOnlyMemory<byte>? _raw;
    private readonly List<float> _floats;
    private readonly List<long> _longs;
    private readonly List<long> _int32s;
    private readonly bool _external;

    internal OnnxTensor(string source, string name, long[] dims, OnnxDataType dataType, ReadOnlyMemory<byte>? raw,
        List<float> floats, List<long> longs, List<long> int32s, bool external)
    {
        _source = source;
        Name = name;
        Dims = dims;
        DataType = dataType;
        _raw = raw;
        _floats = floats;
        _longs = longs;
        _int32s = int32s;
        _external = external;
        if (dims.Any(d => d < 0)) throw new ProtoFormatException($"tensor '{name}' has a negative dimension [{string.Join(", ", dims)}]");
        long count = 1;
        foreach (var d in dims) count = checked(count * d);
        ElementCount = count;
        CheckLength();
    }

    /// <summary>The tensor's name (the value name nodes refer to).</summary>
    public string Name { get; }

    /// <summary>The shape; empty for a scalar.</summary>
    public IReadOnlyList<long> Dims { get; }

    /// <summary>The element type.</summary>
    public OnnxDataType DataType { get; }

    /// <summary>The number of elements (1 for a scalar).</summary>
    public long ElementCount { get; }

    /// <summary>The values as floats; FLOAT tensors only.</summary>
    public float[] ToFloatArray()
    {
        RequireReadable();
        if (DataType != OnnxDataType.Float)
            throw new ForgeException($"{_source}: tensor '{Name}' holds {DataType} values where FLOAT values were expected");
        if (_raw is { } raw)
        {
            var result = new float[ElementCount];
            var span = raw.Span;
            for (var i = 0; i < result.Length; i++) result[i] = BinaryPrimitives.ReadSingleLittleEndian(span[(i * 4)..]);
            return result;
        }
        return [.. _floats];
    }

    /// <summary>The values as 64-bit integers; INT64 and INT32 tensors only.</summary>
    public long[] ToInt64Array()
    {
        RequireReadable();
        if (DataType is not (OnnxDataType.Int64 or OnnxDataType.Int32))
            throw new ForgeException($"{_source}: tensor '{Name}' holds {DataType} values where integers were expected");
        if (_raw is { } raw)
        {
            var result = new long[ElementCount];
            var span = raw.Span;
            for (var i = 0; i < result.Length; i++)
            {
                result[i] = DataType == OnnxDataType.Int64
                    ? BinaryPrimitives.ReadInt64LittleEndian(span[(i * 8)..])
                    : BinaryPrimitives.ReadInt32LittleEndian(span[(i * 4)..]);
            }
            return result;
        }
        return DataType == OnnxDataType.Int64 ? [.. _longs] : _int32s.Select(v => (long)(int)v).ToArray();
    }

    /// <summary>"Float[64, 3, 7, 7]".</summary>
    public override string ToString() =>
        $"{DataType}[{string.Join(", ", Dims.Select(d => d.ToString(CultureInfo.InvariantCulture)))}]";

    private void RequireReadable()
    {
        if (_external) throw new ForgeException($"{_source}: tensor '{Name}' keeps its data in an external file, which Forge does not read");
        if (DataType is not (OnnxDataType.Float or OnnxDataType.Int64 or OnnxDataType.Int32))
            throw new ForgeException($"{_source}: tensor '{Name}' has element type {DataType}; only FLOAT, INT64 and INT32 tensors are supported");
    }

    private void CheckLength()
    {
        if (_external) return;
        var (size, stored) = DataType switch
        {
            OnnxDataType.Float => (4, _floats.Count),
            OnnxDataType.Int64 => (8, _longs.Count),
            OnnxDataType.Int32 => (4, _int32s.Count),
            _ => (0, 0),
        };
        if (size == 0) return;
        var actual = _raw is { } raw ? raw.Length : (long)stored * size;
        if (actual != ElementCount * size)
        {
            throw new ProtoFormatException(
                $"tensor '{Name}' {this} needs {ElementCount * size} bytes of data but holds {actual}");
        }
    }
}

/// <summary>A named value's declared element type and shape (null shape when the producer left it out).</summary>
internal sealed class OnnxValueInfo
{
    internal OnnxValueInfo(string name, OnnxDataType elementType, IReadOnlyList<OnnxDimension>? shape)
    {
        Name = name;
        ElementType = elementType;
        Shape = shape;
    }

    /// <summary>The value's name.</summary>
    public string Name { get; }

    /// <summary>The element type.</summary>
    public OnnxDataType ElementType { get; }

    /// <summary>The dimensions, or null when the shape is not declared.</summary>
    public IReadOnlyList<OnnxDimension>? Shape { get; }

    /// <summary>"Input247: Float[1, 3, 224, 224]".</summary>
    public override string ToString() =>
        $"{Name}: {ElementType}[{(Shape is null ? "?" : string.Join(", ", Shape))}]";
}

/// <summary>One dimension of a declared shape: a fixed size, a symbolic name, or neither (unknown).</summary>
/// <param name="Value">The fixed size, when given.</param>
/// <param name="Param">The symbolic name (e.g. "batch"), when given.</param>
internal readonly record struct OnnxDimension(long? Value, string? Param)
{
    /// <summary>"224", "batch" or "?".</summary>
    public override string ToString() => Value?.ToString(CultureInfo.InvariantCulture) ?? Param ?? "?";
}
