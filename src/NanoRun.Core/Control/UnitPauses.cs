using NanoRun.Queue;
using NanoRun.Storage;

namespace NanoRun.Control;

/// <summary>
/// This node's view of the stored pauses: read from the <see cref="IPauseStore"/> at most once per poll interval, and again
/// whenever a paused unit's worker wakes, so a resume stored by another node starts the unit as soon as its signal arrives.
/// </summary>
internal sealed class UnitPauses
{
    private readonly IPauseStore _store;
    private readonly EngineOptions _options;
    private readonly TimeProvider _time;

    // The last read, replaced as a whole; a unit's own pause is keyed with an empty entry label.
    private Dictionary<(string Unit, string Schedule), DateTimeOffset> _paused = [];
    private long _readAt;

    public UnitPauses(IRequestStore store, EngineOptions options, TimeProvider time)
    {
        _store = store as IPauseStore ?? new MemoryPauseStore();
        _options = options;
        _time = time;
    }

    /// <summary>Whether the unit starts no attempts; a paused answer is always read fresh from the store.</summary>
    public async ValueTask<bool> IsUnitPausedAsync(string unit, CancellationToken cancellationToken)
    {
        var paused = await SnapshotAsync(cancellationToken).ConfigureAwait(false);
        if (!paused.ContainsKey((unit, string.Empty)))
        {
            return false;
        }

        paused = await RefreshAsync(cancellationToken).ConfigureAwait(false);
        return paused.ContainsKey((unit, string.Empty));
    }

    /// <summary>The pause of a unit (<paramref name="schedule"/> <c>null</c>) or schedule entry, as of the last read.</summary>
    public async ValueTask<PauseStatus> StatusAsync(string unit, string? schedule, CancellationToken cancellationToken)
    {
        var paused = await SnapshotAsync(cancellationToken).ConfigureAwait(false);
        return paused.TryGetValue((unit, schedule ?? string.Empty), out var since) ? new PauseStatus(true, since) : new PauseStatus(false, null);
    }

    /// <summary>Stores a pause or resume and returns the state read back.</summary>
    public async Task<PauseStatus> SetAsync(string unit, string? schedule, bool paused, CancellationToken cancellationToken)
    {
        await _store.SetPausedAsync(new PauseChange(unit, schedule, paused, _time.GetUtcNow()), cancellationToken).ConfigureAwait(false);
        var all = await RefreshAsync(cancellationToken).ConfigureAwait(false);
        return all.TryGetValue((unit, schedule ?? string.Empty), out var since) ? new PauseStatus(true, since) : new PauseStatus(false, null);
    }

    private async ValueTask<Dictionary<(string Unit, string Schedule), DateTimeOffset>> SnapshotAsync(CancellationToken cancellationToken)
    {
        var readAt = Volatile.Read(ref _readAt);
        if (readAt != 0 && _time.GetElapsedTime(readAt) < _options.PollInterval)
        {
            return Volatile.Read(ref _paused);
        }

        return await RefreshAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task<Dictionary<(string Unit, string Schedule), DateTimeOffset>> RefreshAsync(CancellationToken cancellationToken)
    {
        var startedAt = _time.GetTimestamp();
        var list = await _store.ListPausedAsync(cancellationToken).ConfigureAwait(false);
        var paused = new Dictionary<(string Unit, string Schedule), DateTimeOffset>(list.Count);
        foreach (var target in list)
        {
            paused[(target.Unit, target.Schedule ?? string.Empty)] = target.Since;
        }

        Volatile.Write(ref _paused, paused);
        Volatile.Write(ref _readAt, startedAt);
        return paused;
    }

    /// <summary>The pauses of a store that keeps none: held by this node until it stops.</summary>
    private sealed class MemoryPauseStore : IPauseStore
    {
        private readonly Lock _lock = new();
        private readonly Dictionary<(string Unit, string Schedule), DateTimeOffset> _paused = [];

        public Task SetPausedAsync(PauseChange change, CancellationToken cancellationToken = default)
        {
            lock (_lock)
            {
                var key = (change.Unit, change.Schedule ?? string.Empty);
                if (!change.Paused)
                {
                    _paused.Remove(key);
                }
                else
                {
                    _paused.TryAdd(key, change.At);
                }
            }

            return Task.CompletedTask;
        }

        public Task<IReadOnlyList<PausedTarget>> ListPausedAsync(CancellationToken cancellationToken = default)
        {
            lock (_lock)
            {
                var list = new List<PausedTarget>(_paused.Count);
                foreach (var ((unit, schedule), since) in _paused)
                {
                    list.Add(new PausedTarget(unit, schedule.Length == 0 ? null : schedule, since));
                }

                return Task.FromResult<IReadOnlyList<PausedTarget>>(list);
            }
        }
    }
}
