using Microsoft.Extensions.Logging;
using NanoRun.Maintenance;
using NanoRun.Metrics;
using NanoRun.Requests;
using NanoRun.Storage;
using NanoRun.Units;

namespace NanoRun.Retention;

/// <summary>Settings of the background cleaner of finished requests.</summary>
public sealed class RetentionOptions
{
    /// <summary>
    /// Finished requests of units without their own <c>retention</c> older than this (by completion time) are removed;
    /// default 7 days, <c>null</c> keeps them regardless of age.
    /// </summary>
    public TimeSpan? MaxAge { get; set; } = RetentionPolicy.Default.MaxAge;

    /// <summary>
    /// At most this many finished requests are kept per unit without its own <c>retention</c> and per outcome, newest
    /// first; default 10 000, <c>null</c> keeps any number.
    /// </summary>
    public int? MaxCount { get; set; } = RetentionPolicy.Default.MaxCount;

    /// <summary>The policy of units without their own <c>retention</c>: <see cref="MaxAge"/> and <see cref="MaxCount"/>.</summary>
    internal RetentionPolicy Default => new() { MaxAge = MaxAge, MaxCount = MaxCount };

    /// <summary>Pause between cleaning passes; default 1 minute.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Most requests removed in one store call; default 200, small so the queue's writes never wait long.</summary>
    public int BatchSize { get; set; } = 200;
}

/// <summary>
/// Removes finished requests past their unit's retention, records first and then their body and result blobs,
/// a small batch at a time. Unfinished requests are never touched.
/// </summary>
internal sealed partial class RetentionCleaner : BackgroundRole
{
    private static readonly RequestState[] FinalStates = [RequestState.Succeeded, RequestState.Failed, RequestState.Cancelled];

    private readonly UnitCatalog _units;
    private readonly IRequestStore _store;
    private readonly IBlobStore _blobs;
    private readonly RetentionOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<RetentionCleaner> _logger;
    private readonly NanoRunMetrics _metrics;

    public RetentionCleaner(UnitCatalog units, IRequestStore store, IBlobStore blobs, RetentionOptions options, TimeProvider time, ILogger<RetentionCleaner> logger, NanoRunMetrics? metrics = null)
        : base(time)
    {
        _units = units;
        _store = store;
        _blobs = blobs;
        _options = options;
        _time = time;
        _logger = logger;
        _metrics = metrics ?? new NanoRunMetrics();
    }

    protected override Task OnStartAsync(CancellationToken cancellationToken)
    {
        Run(LoopAsync);
        return Task.CompletedTask;
    }

    /// <summary>One pass over every unit; returns how many requests were removed.</summary>
    public async Task<int> CleanOnceAsync(CancellationToken cancellationToken)
    {
        var removed = 0;

        // Units removed by a reload keep their history readable, and under their last policy.
        foreach (var unit in _units.All.Concat(_units.Removed))
        {
            var policy = unit.Retention ?? _options.Default;
            if (policy.MaxAge is { } maxAge)
            {
                removed += await PurgeAllAsync(new PurgeParams(unit.Name, _time.GetUtcNow() - maxAge, _options.BatchSize), cancellationToken).ConfigureAwait(false);
            }

            if (policy.MaxCount is { } maxCount)
            {
                foreach (var state in FinalStates)
                {
                    removed += await PurgeAllAsync(
                        new PurgeParams(unit.Name, DateTimeOffset.MaxValue, _options.BatchSize, state, maxCount),
                        cancellationToken).ConfigureAwait(false);
                }
            }
        }

        return removed;
    }

    private async Task<int> PurgeAllAsync(PurgeParams purge, CancellationToken cancellationToken)
    {
        var removed = 0;
        while (true)
        {
            // Records go first: a crash between the two steps leaves unreferenced blobs, never a record without its body.
            var started = _time.GetTimestamp();
            var ids = await _store.PurgeAsync(purge, cancellationToken).ConfigureAwait(false);
            _metrics.StoreCall(StoreOperations.Purge, _time.GetElapsedTime(started));
            _metrics.RetentionDeleted(purge.Unit, ids.Count);
            foreach (var id in ids)
            {
                await _blobs.DeletePrefixAsync(id, cancellationToken).ConfigureAwait(false);
            }

            removed += ids.Count;
            if (ids.Count < purge.Limit)
            {
                return removed;
            }

            // Between batches the store's writer is free for enqueues and claims.
            await Task.Yield();
        }
    }

    // A failed pass waits the interval too, like a successful one.
    private Task LoopAsync(CancellationToken stop) =>
        RepeatAsync(CleanAndWaitAsync, e => LogFailed(_logger, e), new Backoff(_options.Interval, _options.Interval), stop);

    private async Task CleanAndWaitAsync(CancellationToken stop)
    {
        var removed = await CleanOnceAsync(stop).ConfigureAwait(false);
        if (removed > 0)
        {
            LogRemoved(_logger, removed);
        }

        await Task.Delay(_options.Interval, _time, stop).ConfigureAwait(false);
    }

    [LoggerMessage(EventId = 40, Level = LogLevel.Information, Message = "Retention removed {Count} finished requests")]
    private static partial void LogRemoved(ILogger logger, int count);

    [LoggerMessage(EventId = 41, Level = LogLevel.Error, Message = "Retention pass failed; trying again after the interval")]
    private static partial void LogFailed(ILogger logger, Exception exception);
}
