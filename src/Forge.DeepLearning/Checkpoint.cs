using System.Text.Json;
using System.Text.Json.Serialization;
using Forge.Core;

namespace Forge.DeepLearning;

/// <summary>The resumable state written after every epoch, beside the model and optimiser weights.</summary>
internal sealed record CheckpointState
{
    public int CompletedEpochs { get; init; }
    public long GlobalStep { get; init; }
    public string OptionsFingerprint { get; init; } = "";
    public List<EpochMetrics> History { get; init; } = [];
    public List<Dictionary<string, double>> GradientNorms { get; init; } = [];
    public double PlateauRate { get; init; }
    public double PlateauBest { get; init; }
    public int PlateauWait { get; init; }
    public double BestValidationAccuracy { get; init; }
    public int EpochsWithoutImprovement { get; init; }
    public bool HasBest { get; init; }
    public string RngState { get; init; } = "";
    public double TrainSeconds { get; init; }
}

/// <summary>Reads and writes the checkpoint folder so that a crash at any instant leaves the previous checkpoint usable.</summary>
internal static class Checkpoint
{
    private const string Current = "current";
    private const string Previous = "previous";
    private const string Staging = "staging";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>Writes a checkpoint: the caller fills the staging folder, then it replaces the current one.</summary>
    public static void Write(string root, CheckpointState state, Action<string> writeFiles)
    {
        Directory.CreateDirectory(root);
        var staging = Path.Combine(root, Staging);
        if (Directory.Exists(staging)) Directory.Delete(staging, true);
        Directory.CreateDirectory(staging);
        writeFiles(staging);
        File.WriteAllText(Path.Combine(staging, "state.json"), JsonSerializer.Serialize(state, Json));
        var current = Path.Combine(root, Current);
        var previous = Path.Combine(root, Previous);
        // Keep one complete checkpoint on disk at every instant: an older "previous" is only dropped once a
        // "current" exists to take its place, so a kill between any two steps still leaves something to resume.
        if (Directory.Exists(current))
        {
            if (Directory.Exists(previous)) Directory.Delete(previous, true);
            Directory.Move(current, previous);
        }
        Directory.Move(staging, current);
        if (Directory.Exists(previous)) Directory.Delete(previous, true);
    }

    /// <summary>Loads one checkpoint file, turning libtorch's failures on a damaged file into an error that names it.</summary>
    public static void LoadFile(string path, Action<string> load)
    {
        if (!File.Exists(path)) throw new DataFormatException(path, "checkpoint file is missing");
        try
        {
            load(path);
        }
        catch (Exception e) when (e is not ForgeException and not OutOfMemoryException)
        {
            throw new DataFormatException(path, "damaged checkpoint file (" + e.Message.Split('\n')[0].Trim() + "); delete the checkpoint folder to start afresh", e);
        }
    }

    /// <summary>The newest complete checkpoint folder, or null when there is none.</summary>
    public static string? Find(string root)
    {
        foreach (var name in new[] { Current, Previous })
        {
            var dir = Path.Combine(root, name);
            if (File.Exists(Path.Combine(dir, "state.json"))) return dir;
        }
        return null;
    }

    public static CheckpointState Read(string dir)
    {
        var path = Path.Combine(dir, "state.json");
        try
        {
            return JsonSerializer.Deserialize<CheckpointState>(File.ReadAllText(path), Json)
                ?? throw new DataFormatException(path, "empty checkpoint state");
        }
        catch (JsonException e)
        {
            throw new DataFormatException(path, "corrupt checkpoint state: " + e.Message, e);
        }
    }

    /// <summary>The options that must match for a resume to continue the same run.</summary>
    /// <remarks>Every option but where checkpoints go, whether to resume and the thread count: those change no result's meaning.</remarks>
    public static string Fingerprint(ModelSpec spec, TrainerOptions o) =>
        JsonSerializer.Serialize(new
        {
            spec = spec.ToJson().ToJsonString(),
            o = o.ToDictionary().Where(kv => kv.Key is not ("checkpointDirectory" or "resume" or "threads")).ToDictionary(kv => kv.Key, kv => kv.Value),
        });
}
