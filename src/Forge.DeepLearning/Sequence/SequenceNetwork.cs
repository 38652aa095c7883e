using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Forge.DeepLearning;

/// <summary>
/// Embedding (for token inputs) → RNN/LSTM/GRU stack → dropout → linear head on the final hidden state. Padded batches go
/// through <see cref="Forward(Tensor, Tensor)"/>, which packs them, so each row's final state is taken at its own last
/// step (and, bidirectionally, the backward pass starts there): padding never reaches a prediction.
/// </summary>
internal sealed class SequenceNetwork : Module<Tensor, Tensor>
{
    // Field names are the state-dict names of the saved weights; renaming one breaks every saved bundle.
#pragma warning disable IDE0052, CA1859 // registered as submodules, read through the module
    private readonly Embedding? embedding;
    private readonly Module rnn;
    private readonly Dropout? dropout;
    private readonly Linear head;
#pragma warning restore IDE0052, CA1859
    private readonly RecurrentCell _cell;
    private readonly int _directions;

    /// <param name="options">The architecture.</param>
    /// <param name="vocabularySize">Tokens the embedding knows (ids 0..size-1, 0 = padding); 0 for numeric inputs.</param>
    /// <param name="inputFeatures">Features per time step for numeric inputs; ignored for token inputs.</param>
    /// <param name="outputs">Width of the head: classes, or 1 for a regression.</param>
    public SequenceNetwork(SequenceModelOptions options, int vocabularySize, int inputFeatures, int outputs) : base("sequence")
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
        VocabularySize = vocabularySize;
        InputFeatures = vocabularySize > 0 ? options.EmbeddingSize : inputFeatures;
        Outputs = outputs;
        _cell = options.Cell;
        _directions = options.Bidirectional ? 2 : 1;
        // Creation order sets which random numbers initialise which weights (embedding, recurrent stack, head), the
        // order PyTorch's reference networks use.
        if (vocabularySize > 0) embedding = Embedding(vocabularySize, options.EmbeddingSize, padding_idx: 0);
        var between = options.Layers > 1 ? options.Dropout : 0;
        rnn = options.Cell switch
        {
            RecurrentCell.Lstm => LSTM(InputFeatures, options.HiddenSize, options.Layers, batchFirst: true, dropout: between, bidirectional: options.Bidirectional),
            RecurrentCell.Gru => GRU(InputFeatures, options.HiddenSize, options.Layers, batchFirst: true, dropout: between, bidirectional: options.Bidirectional),
            _ => RNN(InputFeatures, options.HiddenSize, options.Layers, NonLinearities.Tanh, batchFirst: true, dropout: between, bidirectional: options.Bidirectional),
        };
        if (options.Dropout > 0) dropout = Dropout(options.Dropout);
        head = Linear(options.HiddenSize * _directions, outputs);
        RegisterComponents();
    }

    public SequenceModelOptions Options { get; }

    public int VocabularySize { get; }

    /// <summary>Width of what the recurrent stack reads per step (the embedding width for token inputs).</summary>
    public int InputFeatures { get; }

    public int Outputs { get; }

    /// <summary>The recurrent stack (layer 0's weights seed the unrolled cells of the gradient profile).</summary>
    public Module Recurrent => rnn;

    /// <summary>The linear head.</summary>
    public Linear Head => head;

    /// <summary>Sequences all of full length: [batch, steps] token ids or [batch, steps, features] values.</summary>
    public override Tensor forward(Tensor input)
    {
        var x = embedding is not null ? embedding.call(input) : input;
        var last = _cell switch
        {
            RecurrentCell.Lstm => ((LSTM)rnn).call(x).Item2,
            RecurrentCell.Gru => ((GRU)rnn).call(x).Item2,
            _ => ((RNN)rnn).call(x).Item2,
        };
        return ApplyHead(last);
    }

    /// <summary>Padded sequences with each row's true length (int64 on the CPU, every length ≥ 1), packed before the recurrent stack.</summary>
    public Tensor Forward(Tensor input, Tensor lengths)
    {
        var x = embedding is not null ? embedding.call(input) : input;
        var packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first: true, enforce_sorted: false);
        var last = _cell switch
        {
            RecurrentCell.Lstm => ((LSTM)rnn).call(packed).Item2,
            RecurrentCell.Gru => ((GRU)rnn).call(packed).Item2,
            _ => ((RNN)rnn).call(packed).Item2,
        };
        return ApplyHead(last);
    }

    // hN is [layers × directions, batch, hidden]; the last layer's directions are its final rows.
    private Tensor ApplyHead(Tensor last)
    {
        var rows = last.shape[0];
        var features = _directions == 2
            ? torch.cat([last.select(0, rows - 2), last.select(0, rows - 1)], 1)
            : last.select(0, rows - 1);
        if (dropout is not null) features = dropout.call(features);
        return head.call(features);
    }
}
