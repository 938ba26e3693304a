using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using NanoRun.Control;
using NanoRun.Maintenance;
using NanoRun.Metrics;
using NanoRun.Queue;
using NanoRun.Storage;
using NanoRun.Units;

namespace NanoRun.Execution;

/// <summary>
/// One unit's loop: claims only for free worker slots and hands each claimed request to the attempt executor, so exactly
/// <c>workers</c> attempts run at once. Its stop ends the claiming at once and returns when its running attempts have ended.
/// </summary>
internal sealed class UnitWorker : BackgroundRole
{
    /// <summary>How stale the back-pressure count may be; a burst can overshoot <c>max_queue</c> by what arrives within it.</summary>
    private static readonly TimeSpan WaitingRefresh = TimeSpan.FromMilliseconds(250);

    private readonly UnitDefinition _unit;
    private readonly UnitWorkers _workers;
    private readonly AttemptExecutor _executor;
    private readonly IRequestStore _store;
    private readonly EngineOptions _options;
    private readonly ILogger _logger;
    private readonly NanoRunMetrics _metrics;
    private readonly UnitPauses _pauses;
    private readonly SemaphoreSlim _wake = new(0, int.MaxValue);

    // Attempts running for this unit, shared with the worker this one replaces so its attempts still fill slots.
    private readonly StrongBox<int> _busy;

    // The attempts this worker started and has not seen end; owned by the loop.
    private readonly List<Task> _inFlight = [];

    // Back-pressure count of waiting requests: read from the store at most every WaitingRefresh, counted up locally between reads.
    private long _waiting;
    private long _waitingReadAt;

    public UnitWorker(UnitDefinition unit, UnitWorkers workers, AttemptExecutor executor, IRequestStore store, EngineOptions options, TimeProvider time, ILogger logger, NanoRunMetrics metrics, UnitPauses pauses, StrongBox<int>? busy)
        : base(time)
    {
        _unit = unit;
        _workers = workers;
        _executor = executor;
        _store = store;
        _options = options;
        _logger = logger;
        _metrics = metrics;
        _pauses = pauses;
        _busy = busy ?? new StrongBox<int>();
    }

    public UnitDefinition Unit => _unit;

    public StrongBox<int> Busy => _busy;

    /// <summary>Attempts of this unit running on this node now.</summary>
    public int Running => Volatile.Read(ref _busy.Value);

    private int Capacity => _unit.Workers > 0 ? _unit.Workers : Environment.ProcessorCount;

    /// <summary>Records a new request: wakes the loop and counts it as waiting.</summary>
    public void Enqueued()
    {
        Interlocked.Increment(ref _waiting);
        Wake();
    }

    /// <summary>How many requests wait, from the store at most every quarter second and counted locally in between.</summary>
    public async ValueTask<long> WaitingAsync(CancellationToken cancellationToken)
    {
        var now = Time.GetTimestamp();
        var readAt = Volatile.Read(ref _waitingReadAt);
        if (readAt == 0 || Time.GetElapsedTime(readAt, now) > WaitingRefresh)
        {
            var count = (await _store.CountByStateAsync(_unit.Name, cancellationToken).ConfigureAwait(false)).Waiting;
            Volatile.Write(ref _waiting, count);
            Volatile.Write(ref _waitingReadAt, now);
        }

        return Volatile.Read(ref _waiting);
    }

    /// <summary>Has the loop look at the store now rather than at the end of its poll interval.</summary>
    public void Wake()
    {
        try
        {
            if (_wake.CurrentCount == 0)
            {
                _wake.Release();
            }
        }
        catch (ObjectDisposedException)
        {
            // A worker retired by a reload and finished since the caller found it.
        }
    }

    protected override Task OnStartAsync(CancellationToken cancellationToken)
    {
        Run(LoopAsync);
        return Task.CompletedTask;
    }

    protected override ValueTask OnDisposeAsync()
    {
        _wake.Dispose();
        return ValueTask.CompletedTask;
    }

    private async Task LoopAsync(CancellationToken stop)
    {
        await RepeatAsync(ClaimOnceAsync, e => LogLoopError(_logger, _unit.Name, e), Backoff.Default, stop).ConfigureAwait(false);

        // Running attempts finish (or are aborted by the executor at the end of the graceful period) before the loop ends.
        await Task.WhenAll(_inFlight).ConfigureAwait(false);
    }

    /// <summary>
    /// Claims for the free slots unless the unit is paused, then sleeps until woken, the next request is due or the poll
    /// interval passed. A paused unit claims nothing; its running attempts go on to their end.
    /// </summary>
    private async Task ClaimOnceAsync(CancellationToken stop)
    {
        _inFlight.RemoveAll(static t => t.IsCompleted);
        var free = Capacity - Volatile.Read(ref _busy.Value);
        var wait = _options.PollInterval;
        if (free > 0 && !await _pauses.IsUnitPausedAsync(_unit.Name, stop).ConfigureAwait(false))
        {
            var now = Time.GetUtcNow();
            var claiming = Time.GetTimestamp();
            var claimed = await _store.ClaimAsync(
                new ClaimParams(_unit.Name, free, _options.NodeId, now, now + _options.LeaseDuration),
                stop).ConfigureAwait(false);
            _metrics.StoreCall(StoreOperations.Claim, Time.GetElapsedTime(claiming));
            foreach (var request in claimed)
            {
                Interlocked.Increment(ref _busy.Value);
                _inFlight.Add(RunAsync(request));
            }

            if (claimed.Count == free)
            {
                return;
            }

            var due = await _store.NextDueAsync(_unit.Name, stop).ConfigureAwait(false);
            if (due is { } d)
            {
                var until = d - Time.GetUtcNow();
                wait = until < TimeSpan.Zero ? TimeSpan.Zero : until < wait ? until : wait;
            }
        }

        await _wake.WaitAsync(wait, stop).ConfigureAwait(false);
    }

    private async Task RunAsync(ClaimedRequest request)
    {
        try
        {
            await Task.Yield();
            await _executor.RunAsync(_unit, request).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _busy.Value);

            // The unit's current worker, which is this one unless a reload replaced it, claims for the freed slot.
            _workers.Wake(_unit.Name);
        }
    }
}
