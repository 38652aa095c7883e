using Forge.Core;

namespace Forge.Monitoring;

/// <summary>How a rolling window is bounded: by a number of rows or by time, kept as a few panes that slide.</summary>
public sealed record WindowOptions
{
    /// <summary>Rows the window holds at most, for a count-based window (default 5000; ignored when <see cref="Duration"/> is set).</summary>
    public int Rows { get; init; } = 5000;

    /// <summary>Span of a time-based window (e.g. one hour); null for a count-based window.</summary>
    public TimeSpan? Duration { get; init; }

    /// <summary>
    /// Panes the window is divided into (default 4): the window slides a pane at a time, so it holds between
    /// (Panes - 1)/Panes and all of its span. Memory is Panes profiles, whatever the traffic.
    /// </summary>
    public int Panes { get; init; } = 4;

    /// <summary>How each pane profiles its rows (histograms on the reference's edges; kept values up to the limit).</summary>
    public ProfileOptions Profile { get; init; } = new();

    /// <summary>Checks every option and reports all problems at once.</summary>
    public void Validate()
    {
        var problems = new List<string>();
        if (Duration is null && Rows < Panes) problems.Add($"Rows ({Rows}) must be at least Panes ({Panes})");
        if (Duration is { } d && d <= TimeSpan.Zero) problems.Add($"Duration must be positive, got {d}");
        if (Panes is < 1 or > 1000) problems.Add($"Panes must be in [1, 1000], got {Panes}");
        if (problems.Count > 0) throw new UsageException("invalid window options: " + string.Join("; ", problems));
        Profile.Validate();
    }
}

/// <summary>
/// The latest rows of live traffic as a profile comparable with the reference, in bounded memory: rows go into the
/// newest pane (a <see cref="ProfileBuilder"/> on the reference's edges); the oldest pane is dropped when the window
/// is full (count-based) or when it ages out (time-based); the window's profile is the merge of its panes.
/// </summary>
public sealed class RollingWindow
{
    private readonly ReferenceProfile _reference;
    private readonly WindowOptions _options;
    private readonly TimeProvider _clock;
    private readonly LinkedList<(ProfileBuilder Builder, DateTimeOffset Start)> _panes = new();

    /// <summary>Creates an empty window on <paramref name="reference"/>'s columns and edges.</summary>
    public RollingWindow(ReferenceProfile reference, WindowOptions? options = null, TimeProvider? clock = null)
    {
        ArgumentNullException.ThrowIfNull(reference);
        _reference = reference;
        _options = options ?? new WindowOptions();
        _options.Validate();
        _clock = clock ?? TimeProvider.System;
    }

    private int PaneRows => Math.Max(1, _options.Rows / _options.Panes);

    private TimeSpan PaneSpan => _options.Duration!.Value / _options.Panes;

    /// <summary>Rows currently in the window.</summary>
    public long Rows
    {
        get
        {
            Expire();
            return _panes.Sum(p => p.Builder.Rows);
        }
    }

    /// <summary>Adds a batch of rows (every column of the reference; extra columns are ignored).</summary>
    public void Add(ColumnSet batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        Expire();
        if (_options.Duration is not null)
        {
            var now = _clock.GetUtcNow();
            if (_panes.Last is null || now - _panes.Last.Value.Start >= PaneSpan) StartPane(now);
            _panes.Last!.Value.Builder.Add(batch);
            return;
        }
        var offset = 0;
        while (offset < batch.RowCount)
        {
            if (_panes.Last is null || _panes.Last.Value.Builder.Rows >= PaneRows) StartPane(_clock.GetUtcNow());
            var pane = _panes.Last!.Value.Builder;
            var take = (int)Math.Min(batch.RowCount - offset, PaneRows - pane.Rows);
            pane.Add(batch.Slice(offset, take));
            offset += take;
        }
    }

    private void StartPane(DateTimeOffset now)
    {
        _panes.AddLast((ProfileBuilder.ForWindow(_reference, _options.Profile), now));
        while (_panes.Count > _options.Panes) _panes.RemoveFirst();
    }

    private void Expire()
    {
        if (_options.Duration is not { } span) return;
        var cutoff = _clock.GetUtcNow() - span;
        // A pane leaves once all of it is older than the span.
        while (_panes.First is { } first && first.Value.Start + PaneSpan <= cutoff) _panes.RemoveFirst();
    }

    /// <summary>The window's profile: every pane merged (exact for counts, moments and histograms).</summary>
    public ReferenceProfile Profile()
    {
        Expire();
        var merged = ProfileBuilder.ForWindow(_reference, _options.Profile);
        foreach (var pane in _panes) merged.Merge(pane.Builder);
        return merged.ToProfile();
    }

    /// <summary>Empties the window.</summary>
    public void Clear() => _panes.Clear();
}
