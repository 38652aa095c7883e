using System.Text.Json;
using Forge.Core;

namespace Forge.Tuning;

/// <summary>Rules every storage shares, so in-memory and SQL storages agree word for word.</summary>
public static class StudyStorageRules
{
    /// <summary>Refuses an empty name, one longer than 256 characters, or one with control characters.</summary>
    public static void Check(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (name.Length == 0 || name.Length > 256 || name.Any(char.IsControl))
            throw new UsageException($"study name '{name}' must be 1 to 256 characters without control characters");
    }

    /// <summary>What creating an existing study does: return it (same direction) when loading is allowed, else refuse.</summary>
    public static StudyInfo Existing(StudyInfo existing, StudyDirection direction, bool loadIfExists, string location)
    {
        ArgumentNullException.ThrowIfNull(existing);
        if (!loadIfExists)
            throw new UsageException($"study '{existing.Name}' already exists in {location}; load it (loadIfExists) or choose another name");
        if (existing.Direction != direction)
        {
            throw new UsageException(
                $"study '{existing.Name}' in {location} is set to {TuningText.Of(existing.Direction).ToLowerInvariant()}, not {TuningText.Of(direction).ToLowerInvariant()}");
        }
        return existing;
    }

    /// <summary>Refuses changes to a finished trial (and parameters or values on a waiting one when <paramref name="running"/>).</summary>
    public static void CheckWritable(FrozenTrial trial, bool running)
    {
        ArgumentNullException.ThrowIfNull(trial);
        if (trial.State.IsFinished() || (running && trial.State != TrialState.Running))
            throw new UsageException($"trial {trial.Number} is {TuningText.Of(trial.State)} and can no longer be changed");
    }

    /// <summary>Refuses a finishing state that is not final, or a Complete trial without a finite-or-infinite value.</summary>
    public static void CheckFinish(TrialState state, double? value)
    {
        if (!state.IsFinished()) throw new UsageException($"a trial finishes as COMPLETE, PRUNED or FAIL, not {TuningText.Of(state)}");
        if (state == TrialState.Complete && (value is null || double.IsNaN(value.Value)))
            throw new UsageException("a COMPLETE trial needs a value that is a number (NaN is recorded as FAIL)");
    }

    /// <summary>The fail reason of a trial whose worker went silent.</summary>
    public static string StaleReason(TimeSpan silence) =>
        $"no heartbeat for {silence.TotalSeconds.ToString("0.#", System.Globalization.CultureInfo.InvariantCulture)} s: its worker stopped";

    /// <summary>The number of the trial a chain of retries started from.</summary>
    public static long OriginalNumber(FrozenTrial trial)
    {
        ArgumentNullException.ThrowIfNull(trial);
        return trial.SystemAttributes.TryGetValue(FrozenTrial.RetryOfKey, out var json) && ScalarValues.FromJson(json) is long n ? n : trial.Number;
    }

    /// <summary>The system attributes of a retry of <paramref name="failed"/>: its parameters fixed, and where it came from.</summary>
    public static IReadOnlyDictionary<string, string> RetryAttributes(FrozenTrial failed)
    {
        ArgumentNullException.ThrowIfNull(failed);
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            var fixedParams = new Dictionary<string, object?>(failed.FixedParams, StringComparer.Ordinal);
            foreach (var (k, v) in failed.Params) fixedParams[k] = v;
            foreach (var (k, v) in fixedParams)
            {
                writer.WritePropertyName(k);
                ScalarValues.Write(writer, v);
            }
            writer.WriteEndObject();
        }
        var attributes = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [FrozenTrial.FixedParamsKey] = System.Text.Encoding.UTF8.GetString(buffer.ToArray()),
            [FrozenTrial.RetryOfKey] = ScalarValues.ToJson(OriginalNumber(failed)),
        };
        // A grid point travels with its retry, so the retry does not claim another one.
        foreach (var (k, v) in failed.SystemAttributes)
        {
            if (k.StartsWith("grid_", StringComparison.Ordinal)) attributes[k] = v;
        }
        return attributes;
    }
}
