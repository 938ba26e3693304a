using System.Collections.Concurrent;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using NanoRun.Requests;
using NanoRun.Runners;
using NanoRun.Storage;
using NanoRun.Units;

namespace NanoRun.Queue;

/// <summary>
/// The engine: accepts requests into the store, runs one worker loop per unit, and tracks running attempts
/// so they can be cancelled and awaited.
/// </summary>
internal sealed partial class NanoRunEngine : IHostedService, IAsyncDisposable
{
    private readonly UnitCatalog _units;
    private readonly IRequestStore _store;
    private readonly IBlobStore _blobs;
    private readonly AttemptRunnerSelector _runners;
    private readonly EngineOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<NanoRunEngine> _logger;
    private readonly CompletionSignals _completions = new();
    private readonly DiskGuard _diskGuard = new();

    // Running attempts of this node by request id; owned by the unit workers, read by Cancel and the lease keeper.
    private readonly ConcurrentDictionary<string, CancellationTokenSource> _running = new(StringComparer.Ordinal);
    private readonly Dictionary<string, UnitWorker> _workers = new(StringComparer.Ordinal);

    // "Stop claiming" fires when shutdown starts; "abort attempts" when the graceful period runs out.
    private readonly CancellationTokenSource _stopClaiming = new();
    private readonly CancellationTokenSource _abortAttempts = new();
    private Task _leaseKeeper = Task.CompletedTask;
    private IDisposable? _queueSignal;
    private int _lifecycle; // 0 new, 1 started, 2 stopped

    public NanoRunEngine(
        UnitCatalog units,
        IRequestStore store,
        IBlobStore blobs,
        AttemptRunnerSelector runners,
        EngineOptions options,
        TimeProvider time,
        ILogger<NanoRunEngine> logger)
    {
        _units = units;
        _store = store;
        _blobs = blobs;
        _runners = runners;
        _options = options;
        _time = time;
        _logger = logger;
    }

    public UnitCatalog Units => _units;

    public IRequestStore Store => _store;

    public IBlobStore Blobs => _blobs;

    /// <summary>Saves a request durably and queues it; returns its id only once body and record are on disk.</summary>
    /// <exception cref="BodyTooLargeException">The body is over the unit's <c>max_request</c>; nothing is stored.</exception>
    public async Task<string> EnqueueAsync(UnitDefinition unit, IncomingRequest request, CancellationToken cancellationToken) =>
        (await EnqueueAsync(unit.Name, request, unit.MaxRequest, null, cancellationToken).ConfigureAwait(false))!;

    /// <summary>Like <see cref="EnqueueAsync(UnitDefinition, IncomingRequest, CancellationToken)"/>, but returns <c>null</c> and keeps nothing when a request with <paramref name="dedupeKey"/> is already stored.</summary>
    internal Task<string?> EnqueueOnceAsync(UnitDefinition unit, IncomingRequest request, string dedupeKey, CancellationToken cancellationToken) =>
        EnqueueAsync(unit.Name, request, unit.MaxRequest, dedupeKey, cancellationToken);

    private async Task<string?> EnqueueAsync(string unitName, IncomingRequest request, long maxLength, string? dedupeKey, CancellationToken cancellationToken)
    {
        var id = RequestId.New(_time);

        // Durability order: (1) the body is written, fsynced and renamed into place by the blob store,
        // (2) the row that points at it is committed, (3) only then does the caller see the id.
        var body = await _blobs.WriteAsync(id + "/body", request.Body, maxLength, cancellationToken).ConfigureAwait(false);
        bool added;
        try
        {
            added = await _store.EnqueueAsync(
                new NewRequest(id, unitName, request.Method, request.Uri, SavedHeaders.WithRemoteAddress(request.Headers, request.RemoteAddress), body, _time.GetUtcNow(), dedupeKey),
                cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await _blobs.DeletePrefixAsync(id, CancellationToken.None).ConfigureAwait(false);
            throw;
        }

        if (!added)
        {
            await _blobs.DeletePrefixAsync(id, CancellationToken.None).ConfigureAwait(false);
            return null;
        }

        if (_workers.TryGetValue(unitName, out var worker))
        {
            worker.Enqueued();
        }

        return id;
    }

    /// <summary>Returns why a new request for <paramref name="unit"/> must be refused before anything is stored, or <c>null</c> when there is room.</summary>
    public async ValueTask<CapacityRefusal?> CheckCapacityAsync(UnitDefinition unit, CancellationToken cancellationToken)
    {
        if (_options.MinFreeDisk > 0 && _options.DiskGuardPath is { } path && _diskGuard.FreeBytes(path, _time) < _options.MinFreeDisk)
        {
            return CapacityRefusal.DiskFull;
        }

        if (unit.MaxQueue > 0 && _workers.TryGetValue(unit.Name, out var worker)
            && await worker.WaitingAsync(cancellationToken).ConfigureAwait(false) >= unit.MaxQueue)
        {
            return CapacityRefusal.QueueFull;
        }

        return null;
    }

    /// <summary>Queues a new request with the saved content of <paramref name="original"/>; returns the new id, or <c>null</c> when the body is gone.</summary>
    public async Task<string?> RetryAsync(RequestRecord original, CancellationToken cancellationToken)
    {
        var body = await _blobs.OpenReadAsync(original.Body, cancellationToken).ConfigureAwait(false);
        if (body is null)
        {
            return null;
        }

        await using (body.ConfigureAwait(false))
        {
            // The copy is not limited by max_request: the content was accepted once already.
            var request = new IncomingRequest(original.Method, original.Uri, original.Headers, body);
            return await EnqueueAsync(original.Unit, request, 0, null, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Cancels a request: no further attempts, and a running attempt on this node is killed. Returns the state afterwards, or <c>null</c> when unknown.</summary>
    public async Task<RequestState?> CancelAsync(string requestId, CancellationToken cancellationToken)
    {
        var state = await _store.CancelAsync(requestId, _time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        if (state == RequestState.Cancelled && _running.TryGetValue(requestId, out var attempt))
        {
            try
            {
                await attempt.CancelAsync().ConfigureAwait(false);
            }
            catch (ObjectDisposedException)
            {
                // The attempt finished between the look-up and the cancel.
            }
        }

        if (state is { } s && s.IsFinal())
        {
            _completions.Signal(requestId);
        }

        return state;
    }

    /// <summary>Waits until the request is final or <paramref name="timeout"/> passes; returns the last record seen, or <c>null</c> when unknown.</summary>
    public async Task<RequestRecord?> WaitForFinalAsync(string requestId, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = _time.GetUtcNow() + timeout;
        while (true)
        {
            var signal = _completions.WhenSignalled(requestId);
            var record = await _store.GetAsync(requestId, cancellationToken).ConfigureAwait(false);
            var left = deadline - _time.GetUtcNow();
            if (record is null || record.State.IsFinal() || left <= TimeSpan.Zero)
            {
                _completions.Forget(requestId, signal);
                return record;
            }

            // The signal covers this node; the poll covers a request finished by another node.
            var slice = left < _options.PollInterval ? left : _options.PollInterval;
            try
            {
                await signal.WaitAsync(slice, _time, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                _completions.Forget(requestId, signal);
            }
        }
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        RunAsUser.Validate(_units.All);
        if (Interlocked.CompareExchange(ref _lifecycle, 1, 0) != 0)
        {
            return;
        }

        await _store.InitializeAsync(cancellationToken).ConfigureAwait(false);
        foreach (var unit in _units.All)
        {
            var worker = new UnitWorker(this, unit);
            _workers.Add(unit.Name, worker);
            worker.Start();
        }

        // Work queued by other nodes wakes the workers at once; without a signal the poll finds it.
        _queueSignal = (_store as IQueueSignal)?.Subscribe(Wake);
        _leaseKeeper = KeepLeasesAsync(_stopClaiming.Token);
        LogStarted(_logger, _units.All.Count, _options.NodeId);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _lifecycle, 2) != 1)
        {
            return;
        }

        _queueSignal?.Dispose();
        await _stopClaiming.CancelAsync().ConfigureAwait(false);
        var loops = new List<Task>(_workers.Count + 1) { _leaseKeeper };
        foreach (var worker in _workers.Values)
        {
            loops.Add(worker.Completion);
        }

        var all = Task.WhenAll(loops);
        try
        {
            await all.WaitAsync(_options.GracefulShutdown, _time, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is TimeoutException or OperationCanceledException)
        {
            LogAborting(_logger, _running.Count);
        }

        await _abortAttempts.CancelAsync().ConfigureAwait(false);
        await all.ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        if (Volatile.Read(ref _lifecycle) == 1)
        {
            await StopAsync(CancellationToken.None).ConfigureAwait(false);
        }

        foreach (var worker in _workers.Values)
        {
            worker.Dispose();
        }

        _stopClaiming.Dispose();
        _abortAttempts.Dispose();
    }

    private void Wake(string unitName)
    {
        if (_workers.TryGetValue(unitName, out var worker))
        {
            worker.Wake();
        }
    }

    private async Task KeepLeasesAsync(CancellationToken stop)
    {
        var every = _options.LeaseDuration / 3;
        var ids = new List<string>();
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(every, _time, stop).ConfigureAwait(false);
                ids.Clear();
                foreach (var pair in _running)
                {
                    ids.Add(pair.Key);
                }

                var now = _time.GetUtcNow();
                if (ids.Count > 0)
                {
                    await _store.RenewLeasesAsync(ids, _options.NodeId, now + _options.LeaseDuration, stop).ConfigureAwait(false);
                }

                await _store.RequeueExpiredAsync(now, stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                LogLoopError(_logger, "lease keeper", e);
            }
        }
    }

    /// <summary>Runs one attempt of a claimed request and records it; never throws.</summary>
    private async Task RunAttemptAsync(UnitDefinition unit, ClaimedRequest claimed)
    {
        using var attempt = CancellationTokenSource.CreateLinkedTokenSource(_abortAttempts.Token);
        _running[claimed.Id] = attempt;
        try
        {
            var number = claimed.AttemptsSoFar + 1;
            var attemptId = RequestId.New(_time);
            var headers = SavedHeaders.Split(claimed.Headers, out var remoteAddress);
            var context = new AttemptContext(unit, claimed.Id, attemptId, number, claimed.Method, claimed.Uri, headers, claimed.Body, _blobs, remoteAddress);
            var startedAt = _time.GetUtcNow();
            LogAttemptStarting(_logger, unit.Name, claimed.Id, number);
            var damage = await CheckBodyAsync(claimed.Body).ConfigureAwait(false);
            var result = damage is null
                ? await _runners.For(unit.Mode).RunAsync(context, attempt.Token).ConfigureAwait(false)
                : new AttemptResult(500, [new(BodyDamageHeader, damage)], BodyRef.Empty);
            var finishedAt = _time.GetUtcNow();

            if (_abortAttempts.IsCancellationRequested)
            {
                // Shutdown cut the attempt short: put the request back so the next start runs it again (at-least-once).
                await _blobs.DeletePrefixAsync(context.ResultKey, CancellationToken.None).ConfigureAwait(false);
                await _store.ReleaseAsync(claimed.Id, _options.NodeId, CancellationToken.None).ConfigureAwait(false);
                return;
            }

            if (damage is not null)
            {
                LogBodyDamaged(_logger, unit.Name, claimed.Id, damage);
            }

            // A damaged body does not heal: the request fails at once rather than retrying on it.
            var next = result.Code < 500 ? RequestState.Succeeded
                : number >= unit.Attempts || damage is not null ? RequestState.Failed
                : RequestState.Retrying;
            var record = new AttemptRecord(attemptId, number, result.Code, result.Headers, result.Result, startedAt, finishedAt);
            var state = await _store.RecordAttemptAsync(
                new AttemptOutcome(claimed.Id, _options.NodeId, record, next, finishedAt + unit.Interval),
                CancellationToken.None).ConfigureAwait(false);
            LogAttemptFinished(_logger, unit.Name, claimed.Id, number, result.Code, state ?? next);
            if (state is { } s && s.IsFinal())
            {
                _completions.Signal(claimed.Id);
            }
        }
        catch (Exception e)
        {
            // Broken infrastructure (store or disk), not a failed attempt: leave the lease to expire so it runs again.
            LogAttemptError(_logger, unit.Name, claimed.Id, e);
        }
        finally
        {
            _running.TryRemove(claimed.Id, out _);
        }
    }

    /// <summary>Header of the failed attempt recorded instead of running one on a missing or truncated body.</summary>
    private const string BodyDamageHeader = "X-Nano-Run-Error";

    /// <summary>Why the saved body cannot be used (its file deleted or shorter or longer than recorded), or <c>null</c> when it is intact.</summary>
    private async Task<string?> CheckBodyAsync(BodyRef body)
    {
        if (body.Key is null)
        {
            return null;
        }

        var stream = await _blobs.OpenReadAsync(body, CancellationToken.None).ConfigureAwait(false);
        if (stream is null)
        {
            return "the saved request body is missing from storage";
        }

        await using (stream.ConfigureAwait(false))
        {
            return stream.CanSeek && stream.Length != body.Length
                ? $"the saved request body is damaged: {stream.Length} bytes stored, {body.Length} recorded"
                : null;
        }
    }

    /// <summary>How stale the back-pressure count may be; a burst can overshoot <c>max_queue</c> by what arrives within it.</summary>
    private static readonly TimeSpan WaitingRefresh = TimeSpan.FromMilliseconds(250);

    /// <summary>One unit's loop: claims only for free worker slots and runs exactly <c>workers</c> attempts at once.</summary>
    private sealed class UnitWorker : IDisposable
    {
        private readonly NanoRunEngine _engine;
        private readonly UnitDefinition _unit;
        private readonly SemaphoreSlim _wake = new(0, int.MaxValue);
        private int _busy;

        // Back-pressure count of waiting requests: read from the store at most every WaitingRefresh, counted up locally between reads.
        private long _waiting;
        private long _waitingReadAt;

        public UnitWorker(NanoRunEngine engine, UnitDefinition unit)
        {
            _engine = engine;
            _unit = unit;
        }

        public Task Completion { get; private set; } = Task.CompletedTask;

        private int Capacity => _unit.Workers > 0 ? _unit.Workers : Environment.ProcessorCount;

        public void Start() => Completion = Task.Run(LoopAsync);

        public void Dispose() => _wake.Dispose();

        /// <summary>Records a new request: wakes the loop and counts it as waiting.</summary>
        public void Enqueued()
        {
            Interlocked.Increment(ref _waiting);
            Wake();
        }

        /// <summary>How many requests wait, from the store at most every quarter second and counted locally in between.</summary>
        public async ValueTask<long> WaitingAsync(CancellationToken cancellationToken)
        {
            var now = _engine._time.GetTimestamp();
            var readAt = Volatile.Read(ref _waitingReadAt);
            if (readAt == 0 || _engine._time.GetElapsedTime(readAt, now) > WaitingRefresh)
            {
                var count = (await _engine._store.CountByStateAsync(_unit.Name, cancellationToken).ConfigureAwait(false)).Waiting;
                Volatile.Write(ref _waiting, count);
                Volatile.Write(ref _waitingReadAt, now);
            }

            return Volatile.Read(ref _waiting);
        }

        public void Wake()
        {
            if (_wake.CurrentCount == 0)
            {
                _wake.Release();
            }
        }

        private async Task LoopAsync()
        {
            var stop = _engine._stopClaiming.Token;
            var inFlight = new List<Task>();
            var backoff = TimeSpan.Zero;
            while (!stop.IsCancellationRequested)
            {
                inFlight.RemoveAll(static t => t.IsCompleted);
                var free = Capacity - Volatile.Read(ref _busy);
                var wait = _engine._options.PollInterval;
                try
                {
                    if (free > 0)
                    {
                        var now = _engine._time.GetUtcNow();
                        var claimed = await _engine._store.ClaimAsync(
                            new ClaimParams(_unit.Name, free, _engine._options.NodeId, now, now + _engine._options.LeaseDuration),
                            stop).ConfigureAwait(false);
                        foreach (var request in claimed)
                        {
                            Interlocked.Increment(ref _busy);
                            inFlight.Add(RunAsync(request));
                        }

                        if (claimed.Count == free)
                        {
                            continue;
                        }

                        var due = await _engine._store.NextDueAsync(_unit.Name, stop).ConfigureAwait(false);
                        if (due is { } d)
                        {
                            var until = d - _engine._time.GetUtcNow();
                            wait = until < TimeSpan.Zero ? TimeSpan.Zero : until < wait ? until : wait;
                        }
                    }

                    backoff = TimeSpan.Zero;
                    await _wake.WaitAsync(wait, stop).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                    break;
                }
                catch (Exception e)
                {
                    backoff = backoff == TimeSpan.Zero ? TimeSpan.FromMilliseconds(100) : TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, TimeSpan.FromSeconds(10).Ticks));
                    LogLoopError(_engine._logger, _unit.Name, e);
                    try
                    {
                        await Task.Delay(backoff, _engine._time, stop).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                        break;
                    }
                }
            }

            // Running attempts finish (or are aborted by the engine's second token) before the loop reports completion.
            await Task.WhenAll(inFlight).ConfigureAwait(false);
        }

        private async Task RunAsync(ClaimedRequest request)
        {
            try
            {
                await Task.Yield();
                await _engine.RunAttemptAsync(_unit, request).ConfigureAwait(false);
            }
            finally
            {
                Interlocked.Decrement(ref _busy);
                Wake();
            }
        }
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Engine started with {UnitCount} units as node {NodeId}")]
    private static partial void LogStarted(ILogger logger, int unitCount, string nodeId);

    [LoggerMessage(EventId = 2, Level = LogLevel.Warning, Message = "Graceful shutdown period over; aborting {Count} running attempts")]
    private static partial void LogAborting(ILogger logger, int count);

    [LoggerMessage(EventId = 3, Level = LogLevel.Error, Message = "Background loop {Loop} failed; backing off")]
    private static partial void LogLoopError(ILogger logger, string loop, Exception exception);

    [LoggerMessage(EventId = 4, Level = LogLevel.Debug, Message = "Unit {Unit} request {RequestId}: attempt {Attempt} starting")]
    private static partial void LogAttemptStarting(ILogger logger, string unit, string requestId, int attempt);

    [LoggerMessage(EventId = 5, Level = LogLevel.Information, Message = "Unit {Unit} request {RequestId}: attempt {Attempt} answered {Code}; request is {State}")]
    private static partial void LogAttemptFinished(ILogger logger, string unit, string requestId, int attempt, int code, RequestState state);

    [LoggerMessage(EventId = 7, Level = LogLevel.Error, Message = "Unit {Unit} request {RequestId}: not run, {Reason}; the request fails")]
    private static partial void LogBodyDamaged(ILogger logger, string unit, string requestId, string reason);

    [LoggerMessage(EventId = 6, Level = LogLevel.Error, Message = "Unit {Unit} request {RequestId}: attempt could not be run or recorded; it runs again when its lease expires")]
    private static partial void LogAttemptError(ILogger logger, string unit, string requestId, Exception exception);
}
