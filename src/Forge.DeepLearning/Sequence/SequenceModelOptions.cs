using System.Text.Json.Nodes;
using Forge.Core;

namespace Forge.DeepLearning;

/// <summary>The recurrent cell of a sequence model.</summary>
public enum RecurrentCell
{
    /// <summary>The plain (Elman) RNN with tanh: h' = tanh(W x + U h + b).</summary>
    Rnn,

    /// <summary>Long short-term memory (Hochreiter and Schmidhuber 1997): gated cell state.</summary>
    Lstm,

    /// <summary>Gated recurrent unit (Cho et al. 2014).</summary>
    Gru,
}

/// <summary>
/// The architecture of a recurrent sequence model: an optional token embedding, a stack of RNN/LSTM/GRU layers and a
/// linear head on the last layer's final hidden state (both directions' when bidirectional). Hyperparameters only.
/// </summary>
public sealed record SequenceModelOptions
{
    /// <summary>The recurrent cell.</summary>
    public RecurrentCell Cell { get; init; } = RecurrentCell.Lstm;

    /// <summary>Width of the hidden state of each direction (default 128).</summary>
    public int HiddenSize { get; init; } = 128;

    /// <summary>Stacked recurrent layers (default 1).</summary>
    public int Layers { get; init; } = 1;

    /// <summary>Read each sequence forwards and backwards and join both final states (default off).</summary>
    public bool Bidirectional { get; init; }

    /// <summary>Dropout between stacked layers and before the head (default 0).</summary>
    public double Dropout { get; init; }

    /// <summary>Width of the token embedding for token inputs (default 128); unused for numeric inputs.</summary>
    public int EmbeddingSize { get; init; } = 128;

    /// <summary>The cell from its command-line name: rnn, lstm or gru.</summary>
    public static RecurrentCell ParseCell(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var key = name.Trim().ToLowerInvariant();
        foreach (var c in Enum.GetValues<RecurrentCell>())
        {
            if (c.ToString().Equals(key, StringComparison.OrdinalIgnoreCase)) return c;
        }
        var names = Enum.GetValues<RecurrentCell>().Select(c => c.ToString().ToLowerInvariant()).ToArray();
        var hint = NameSuggester.Closest(key, names) is { } s ? $"; did you mean '{s}'?" : "";
        throw new UsageException($"--model: '{name}' is not a recurrent cell (expected {string.Join(", ", names)}){hint}");
    }

    /// <summary>Checks every option and reports all problems in one <see cref="OptionsException"/>.</summary>
    public void Validate() => OptionsException.ThrowIfAny(FindProblems());

    /// <summary>Every problem with these options, each naming its option.</summary>
    public IReadOnlyList<OptionProblem> FindProblems()
    {
        var problems = new List<OptionProblem>();
        void Add(string option, string problem) => problems.Add(new OptionProblem(OptionsMap.Key(option), problem));
        if (!Enum.IsDefined(Cell)) Add(nameof(Cell), $"{(int)Cell} is not a recurrent cell");
        if (HiddenSize < 1) Add(nameof(HiddenSize), $"must be at least 1 (got {HiddenSize})");
        if (Layers < 1) Add(nameof(Layers), $"must be at least 1 (got {Layers})");
        if (Dropout is < 0 or >= 1 || double.IsNaN(Dropout)) Add(nameof(Dropout), $"must be in [0, 1) (got {Dropout})");
        if (EmbeddingSize < 1) Add(nameof(EmbeddingSize), $"must be at least 1 (got {EmbeddingSize})");
        return problems;
    }

    /// <summary>Every option as name/value text for a manifest or a tracked run.</summary>
    public IReadOnlyDictionary<string, string> ToDictionary() => OptionsMap.From(this);

    /// <summary>The options as the manifest's <c>model</c> section records them.</summary>
    public JsonObject ToJson()
    {
        var o = new JsonObject { ["kind"] = "sequence" };
        foreach (var (k, v) in ToDictionary()) o[k] = v;
        return o;
    }

    /// <summary>Reads options written by <see cref="ToJson"/>.</summary>
    public static SequenceModelOptions FromJson(JsonObject json)
    {
        ArgumentNullException.ThrowIfNull(json);
        string Get(string key) => (string?)json[key] ?? throw new DataFormatException("forge-model.json", $"model.{key} is missing");
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        var options = new SequenceModelOptions
        {
            Cell = ParseCell(Get("cell")),
            HiddenSize = int.Parse(Get("hiddenSize"), inv),
            Layers = int.Parse(Get("layers"), inv),
            Bidirectional = bool.Parse(Get("bidirectional")),
            Dropout = double.Parse(Get("dropout"), inv),
            EmbeddingSize = int.Parse(Get("embeddingSize"), inv),
        };
        options.Validate();
        return options;
    }
}
