using System.Buffers.Binary;
using System.Text;

namespace Forge.DeepLearning.Onnx;

/// <summary>Protocol-buffer wire types (the low three bits of a field key).</summary>
internal enum WireType
{
    Varint = 0,
    Fixed64 = 1,
    LengthDelimited = 2,
    StartGroup = 3,
    EndGroup = 4,
    Fixed32 = 5,
}

/// <summary>Raised inside the reader; <see cref="OnnxModel"/> turns it into a DataFormatException that names the file.</summary>
internal sealed class ProtoFormatException(string message) : Exception(message);

/// <summary>
/// A forward-only reader of the protobuf wire format over one message's bytes. Sub-messages are read by slicing, so a
/// large raw_data field stays a view into the file's buffer instead of a copy.
/// </summary>
internal struct ProtoReader(ReadOnlyMemory<byte> data)
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
    private readonly ReadOnlyMemory<byte> _data = data;
    private int _position;

    public readonly bool AtEnd => _position >= _data.Length;

    /// <summary>Reads the next field key; false at the end of the message.</summary>
    public bool Next(out int field, out WireType wire)
    {
        if (AtEnd)
        {
            field = 0;
            wire = WireType.Varint;
            return false;
        }
        var key = ReadVarint();
        field = (int)(key >> 3);
        wire = (WireType)(key & 7);
        if (field <= 0 || key >> 3 > int.MaxValue) throw new ProtoFormatException($"invalid field number {key >> 3} at byte {_position}");
        if (wire is WireType.StartGroup or WireType.EndGroup || (int)wire > 5)
            throw new ProtoFormatException($"unsupported wire type {(int)wire} for field {field} at byte {_position}");
        return true;
    }

    public ulong ReadVarint()
    {
        ulong result = 0;
        var span = _data.Span;
        for (var shift = 0; shift < 64; shift += 7)
        {
            if (_position >= span.Length) throw new ProtoFormatException("truncated varint");
            var b = span[_position++];
            result |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0) return result;
        }
        throw new ProtoFormatException($"varint longer than 10 bytes at byte {_position}");
    }

    public long ReadInt64() => (long)ReadVarint();

    public float ReadFixed32Float()
    {
        var bytes = Take(4).Span;
        return BinaryPrimitives.ReadSingleLittleEndian(bytes);
    }

    public ReadOnlyMemory<byte> ReadBytes()
    {
        var length = ReadVarint();
        if (length > (ulong)(_data.Length - _position))
            throw new ProtoFormatException($"a field of {length} bytes runs past the end of its message ({_data.Length - _position} bytes left)");
        return Take((int)length);
    }

    public string ReadString()
    {
        var bytes = ReadBytes();
        try
        {
            return StrictUtf8.GetString(bytes.Span);
        }
        catch (DecoderFallbackException)
        {
            throw new ProtoFormatException("a string field is not valid UTF-8");
        }
    }

    public ProtoReader ReadMessage() => new(ReadBytes());

    /// <summary>Skips a field this reader has no use for.</summary>
    public void Skip(WireType wire)
    {
        switch (wire)
        {
            case WireType.Varint: ReadVarint(); break;
            case WireType.Fixed64: Take(8); break;
            case WireType.Fixed32: Take(4); break;
            case WireType.LengthDelimited: ReadBytes(); break;
            default: throw new ProtoFormatException($"unsupported wire type {(int)wire}");
        }
    }

    /// <summary>Reads one element or, when the field is packed, every element of a repeated int64/int32 field.</summary>
    public void ReadRepeatedInt64(WireType wire, List<long> into)
    {
        if (wire == WireType.Varint)
        {
            into.Add(ReadInt64());
            return;
        }
        Expect(wire, WireType.LengthDelimited);
        var packed = ReadMessage();
        while (!packed.AtEnd) into.Add(packed.ReadInt64());
    }

    /// <summary>Reads one element or, when the field is packed, every element of a repeated float field.</summary>
    public void ReadRepeatedFloat(WireType wire, List<float> into)
    {
        if (wire == WireType.Fixed32)
        {
            into.Add(ReadFixed32Float());
            return;
        }
        Expect(wire, WireType.LengthDelimited);
        var bytes = ReadBytes().Span;
        if (bytes.Length % 4 != 0) throw new ProtoFormatException($"a packed float field of {bytes.Length} bytes is not a multiple of 4");
        for (var i = 0; i < bytes.Length; i += 4) into.Add(BinaryPrimitives.ReadSingleLittleEndian(bytes[i..]));
    }

    public static void Expect(WireType actual, WireType expected)
    {
        if (actual != expected) throw new ProtoFormatException($"wire type {(int)actual} where {(int)expected} was expected");
    }

    private ReadOnlyMemory<byte> Take(int count)
    {
        if (count > _data.Length - _position) throw new ProtoFormatException("message truncated");
        var slice = _data.Slice(_position, count);
        _position += count;
        return slice;
    }
}
