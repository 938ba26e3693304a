using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using NanoRun.Admission;
using NanoRun.Metrics;
using NanoRun.Output;
using NanoRun.Requests;
using NanoRun.Runners;
using NanoRun.Storage;
using NanoRun.Units;

namespace NanoRun.Queue;

/// <summary>
/// The engine: runs one worker loop per unit, and tracks running attempts
/// so they can be cancelled and awaited.
/// </summary>
internal sealed partial class NanoRunEngine : IHostedService, IAsyncDisposable, IUnitWakeup
{
    private readonly UnitCatalog _units;
    private readonly IRequestStore _store;
    private readonly IBlobStore _blobs;
    private readonly AttemptRunnerSelector _runners;
    private readonly EngineOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<NanoRunEngine> _logger;
    private readonly NanoRunMetrics _metrics;
    private readonly CompletionSignals _completions = new();
    private readonly LiveOutputs _liveOutputs = new();

    // Running attempts of this node by request id; owned by the unit workers, read by Cancel and the lease keeper.
    private readonly ConcurrentDictionary<string, CancellationTokenSource> _running = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, UnitWorker> _workers = new(StringComparer.Ordinal);

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
        ILogger<NanoRunEngine> logger,
        NanoRunMetrics? metrics = null)
    {
        _units = units;
        _store = store;
        _blobs = blobs;
        _runners = runners;
        _options = options;
        _time = time;
        _logger = logger;
        _metrics = metrics ?? new NanoRunMetrics();
    }

    public UnitCatalog Units => _units;

    public IRequestStore Store => _store;

    public IBlobStore Blobs => _blobs;

    /// <summary>The engine's instruments; the web layer records refusals on them.</summary>
    public NanoRunMetrics Metrics => _metrics;

    /// <summary>Attempts of <paramref name="unitName"/> running on this node now.</summary>
    public int RunningCount(string unitName) => _workers.TryGetValue(unitName, out var worker) ? worker.Running : 0;

    /// <summary>Output of the attempts running on this node, for readers that follow it.</summary>
    public LiveOutputs LiveOutputs => _liveOutputs;

    /// <summary>Counts a request just stored for <paramref name="unitName"/> as waiting and wakes the unit's worker.</summary>
    void IUnitWakeup.Enqueued(string unitName)
    {
        if (_workers.TryGetValue(unitName, out var worker))
        {
            worker.Enqueued();
        }
    }

    /// <summary>Requests of <paramref name="unit"/> waiting on this node's count (queued or retrying), for <c>max_queue</c>.</summary>
    async ValueTask<long> IUnitWakeup.WaitingAsync(UnitDefinition unit, CancellationToken cancellationToken) =>
        _workers.TryGetValue(unit.Name, out var worker) ? await worker.WaitingAsync(cancellationToken).ConfigureAwait(false) : 0;

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
        _units.Changed += OnUnitsChanged;
        ApplyUnits(announce: false);

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

        _units.Changed -= OnUnitsChanged;
        _queueSignal?.Dispose();
        await _stopClaiming.CancelAsync().ConfigureAwait(false);
        var loops = WorkerLoops();
        loops.Add(_leaseKeeper);

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
        // Every line logged while the attempt runs, the runner's too, names the unit and the request.
        using var scope = AttemptScope(_logger, unit.Name, claimed.Id);
        using var attempt = CancellationTokenSource.CreateLinkedTokenSource(_abortAttempts.Token);
        _running[claimed.Id] = attempt;
        LiveOutput? output = null;
        try
        {
            var number = claimed.AttemptsSoFar + 1;
            var attemptId = RequestId.New(_time);
            var headers = SavedHeaders.Split(claimed.Headers, out var remoteAddress);
            var startedAt = _time.GetUtcNow();
            output = _liveOutputs.Start(claimed.Id, attemptId, number, startedAt);
            var context = new AttemptContext(unit, claimed.Id, attemptId, number, claimed.Method, claimed.Uri, headers, claimed.Body, _blobs, remoteAddress)
            {
                Output = output,
            };
            LogAttemptStarting(_logger, unit.Name, claimed.Id, number);
            var damage = await CheckBodyAsync(claimed.Body).ConfigureAwait(false);
            var result = damage is null
                ? await _runners.For(unit.Mode).RunAsync(context, attempt.Token).ConfigureAwait(false)
                : new AttemptResult(500, [new(BodyDamageHeader, damage)], BodyRef.Empty);
            var finishedAt = _time.GetUtcNow();

            if (_abortAttempts.IsCancellationRequested)
            {
                // Shutdown cut the attempt short: put the request back so the next start runs it again (at-least-once).
                // The partial result is never recorded; it stays under the request's prefix and goes with the request.
                await _store.ReleaseAsync(claimed.Id, _options.NodeId, CancellationToken.None).ConfigureAwait(false);
                return;
            }

            if (damage is not null)
            {
                LogBodyDamaged(_logger, unit.Name, claimed.Id, damage);
            }

            // A damaged body does not heal: the request fails at once rather than retrying on it.
            var next = damage is not null && result.Code >= 500 ? RequestState.Failed : RetrySchedule.NextState(unit, number, result.Code);
            var delay = next == RequestState.Retrying
                ? RetrySchedule.Delay(unit, number, result.Headers, finishedAt, Random.Shared.NextDouble())
                : unit.Interval;
            var record = new AttemptRecord(attemptId, number, result.Code, result.Headers, result.Result, startedAt, finishedAt);
            var recording = _time.GetTimestamp();
            var state = await _store.RecordAttemptAsync(
                new AttemptOutcome(claimed.Id, _options.NodeId, record, next, finishedAt + delay),
                CancellationToken.None).ConfigureAwait(false);
            _metrics.StoreCall(StoreOperations.RecordAttempt, _time.GetElapsedTime(recording));
            _metrics.AttemptFinished(unit.Name, result.Code, state ?? next, finishedAt - startedAt);
            LogAttemptFinished(_logger, unit.Name, claimed.Id, number, result.Code, state ?? next);
            if (state is { } s && s.IsFinal())
            {
                LogRequestFinal(_logger, unit.Name, claimed.Id, s, number);
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

            // Readers of the live output move on to the stored result: it is recorded by now.
            if (output is not null)
            {
                _liveOutputs.Finish(output);
            }
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

        // Back-pressure count of waiting requests: read from the store at most every WaitingRefresh, counted up locally between reads.
        private long _waiting;
        private long _waitingReadAt;

        // Fires on shutdown or when a reload replaces or removes the unit; attempts already running go on.
        private readonly CancellationTokenSource _retire;

        // Attempts running for this unit, shared with the worker this one replaces so its attempts still fill slots.
        private readonly StrongBox<int> _busy;

        public UnitWorker(NanoRunEngine engine, UnitDefinition unit, StrongBox<int>? busy = null)
        {
            _engine = engine;
            _unit = unit;
            _busy = busy ?? new StrongBox<int>();
            _retire = CancellationTokenSource.CreateLinkedTokenSource(engine._stopClaiming.Token);
        }

        public UnitDefinition Unit => _unit;

        public StrongBox<int> Busy => _busy;

        public Task Completion { get; private set; } = Task.CompletedTask;

        /// <summary>Attempts of this unit running on this node now.</summary>
        public int Running => Volatile.Read(ref _busy.Value);

        private int Capacity => _unit.Workers > 0 ? _unit.Workers : Environment.ProcessorCount;

        public void Start() => Completion = Task.Run(LoopAsync);

        /// <summary>Stops claiming; <see cref="Completion"/> ends once the attempts this worker runs have finished.</summary>
        public void Retire() => _retire.Cancel();

        public void Dispose()
        {
            _wake.Dispose();
            _retire.Dispose();
        }

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

        private async Task LoopAsync()
        {
            var stop = _retire.Token;
            var inFlight = new List<Task>();
            var backoff = TimeSpan.Zero;
            while (!stop.IsCancellationRequested)
            {
                inFlight.RemoveAll(static t => t.IsCompleted);
                var free = Capacity - Volatile.Read(ref _busy.Value);
                var wait = _engine._options.PollInterval;
                try
                {
                    if (free > 0)
                    {
                        var now = _engine._time.GetUtcNow();
                        var claiming = _engine._time.GetTimestamp();
                        var claimed = await _engine._store.ClaimAsync(
                            new ClaimParams(_unit.Name, free, _engine._options.NodeId, now, now + _engine._options.LeaseDuration),
                            stop).ConfigureAwait(false);
                        _engine._metrics.StoreCall(StoreOperations.Claim, _engine._time.GetElapsedTime(claiming));
                        foreach (var request in claimed)
                        {
                            Interlocked.Increment(ref _busy.Value);
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
                Interlocked.Decrement(ref _busy.Value);
                _engine.Wake(_unit.Name);
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

    [LoggerMessage(EventId = 10, Level = LogLevel.Error, Message = "Unit {Unit} request {RequestId}: not run, {Reason}; the request fails")]
    private static partial void LogBodyDamaged(ILogger logger, string unit, string requestId, string reason);

    [LoggerMessage(EventId = 6, Level = LogLevel.Error, Message = "Unit {Unit} request {RequestId}: attempt could not be run or recorded; it runs again when its lease expires")]
    private static partial void LogAttemptError(ILogger logger, string unit, string requestId, Exception exception);

    [LoggerMessage(EventId = 8, Level = LogLevel.Information, Message = "Unit {Unit} request {RequestId}: final outcome {State} after {Attempts} attempts")]
    private static partial void LogRequestFinal(ILogger logger, string unit, string requestId, RequestState state, int attempts);

    private static readonly Func<ILogger, string, string, IDisposable?> AttemptScope =
        LoggerMessage.DefineScope<string, string>("Unit {Unit} request {RequestId}");
}
