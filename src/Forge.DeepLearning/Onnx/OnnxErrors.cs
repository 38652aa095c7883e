using Forge.Core;

namespace Forge.DeepLearning.Onnx;

/// <summary>An ONNX graph uses an operator (or an operator setting) that <see cref="OnnxImporter"/> cannot translate.</summary>
public sealed class UnsupportedOnnxOperatorException : ForgeException
{
    /// <summary>Creates an error naming the operator, the node and what is unsupported about it.</summary>
    public UnsupportedOnnxOperatorException(string sourceName, string opType, string nodeName, string problem)
        : base($"{sourceName}: {Describe(opType, nodeName)}: {problem}")
    {
        OpType = opType;
        NodeName = nodeName;
    }

    /// <summary>The operator type, e.g. "LSTM".</summary>
    public string OpType { get; }

    /// <summary>The node's name (may be empty when the file leaves it out).</summary>
    public string NodeName { get; }

    private static string Describe(string opType, string nodeName) =>
        nodeName.Length > 0 ? $"{opType} node '{nodeName}'" : $"unnamed {opType} node";
}

/// <summary>An ONNX model file that should be there is not; the message says where it was looked for and how to point at it.</summary>
public sealed class OnnxFileNotFoundException : NotFoundException
{
    private readonly string _message;

    /// <summary>Creates an error for the missing <paramref name="path"/>; <paramref name="hint"/> says how to provide the file.</summary>
    public OnnxFileNotFoundException(string what, string path, string hint)
        : base(what, path, [])
    {
        Path = path;
        _message = hint.Length > 0 ? $"{what} not found at {path}; {hint}" : $"{what} not found at {path}";
    }

    /// <summary>Where the file was looked for.</summary>
    public string Path { get; }

    /// <inheritdoc />
    public override string Message => _message;
}
