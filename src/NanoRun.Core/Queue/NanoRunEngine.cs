using Microsoft.Extensions.Logging;
using NanoRun.Admission;
using NanoRun.Execution;
using NanoRun.Maintenance;
using NanoRun.Metrics;
using NanoRun.Output;
using NanoRun.Requests;
using NanoRun.Runners;
using NanoRun.Storage;
using NanoRun.Units;

namespace NanoRun.Queue;

/// <summary>
/// The engine: accepts requests into the store and runs the roles that work the queue on this node: one worker per unit
/// (<see cref="UnitWorkers"/>), the attempt executor and the lease keeper. It starts them in order and stops them in the
/// reverse order, so leases stay renewed while the running attempts finish.
/// </summary>
internal sealed partial class NanoRunEngine : BackgroundRole
{
    private readonly UnitCatalog _units;
    private readonly IRequestStore _store;
    private readonly IBlobStore _blobs;
    private readonly EngineOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<NanoRunEngine> _logger;
    private readonly NanoRunMetrics _metrics;
    private readonly CompletionSignals _completions = new();
    private readonly AdmissionGate _admission;
    private readonly AttemptExecutor _executor;
    private readonly UnitWorkers _workers;
    private readonly LeaseKeeper _leases;
    private IDisposable? _queueSignal;

    public NanoRunEngine(
        UnitCatalog units,
        IRequestStore store,
        IBlobStore blobs,
        AttemptRunnerSelector runners,
        EngineOptions options,
        TimeProvider time,
        ILogger<NanoRunEngine> logger,
        NanoRunMetrics? metrics = null)
        : base(time)
    {
        _units = units;
        _store = store;
        _blobs = blobs;
        _options = options;
        _time = time;
        _logger = logger;
        _metrics = metrics ?? new NanoRunMetrics();
        _admission = new AdmissionGate(options, time, _metrics, WaitingAsync);

        // The roles log in the engine's category, where the request lifecycle lines are documented.
        _executor = new AttemptExecutor(store, blobs, runners, options, time, logger, _metrics, _completions);
        _workers = new UnitWorkers(units, store, _executor, options, time, logger, _metrics);
        _leases = new LeaseKeeper(store, _executor, options, time, logger);
    }

    public UnitCatalog Units => _units;

    public IRequestStore Store => _store;

    public IBlobStore Blobs => _blobs;

    /// <summary>The engine's instruments; the web layer records refusals on them.</summary>
    public NanoRunMetrics Metrics => _metrics;

    /// <summary>Attempts of <paramref name="unitName"/> running on this node now.</summary>
    public int RunningCount(string unitName) => _workers.TryGetValue(unitName, out var worker) ? worker.Running : 0;

    /// <summary>Output of the attempts running on this node, for readers that follow it.</summary>
    public LiveOutputs LiveOutputs => _executor.LiveOutputs;

    /// <summary>
    /// Passes a new request through the admission rule, then saves it durably and queues it; the id comes back only once
    /// body and record are on disk. A refusal (rate, free disk, <c>max_queue</c>, disk full while saving) stores nothing.
    /// </summary>
    /// <exception cref="BodyTooLargeException">The body is over the unit's <c>max_request</c>; nothing is stored.</exception>
    /// <exception cref="BodyRefusedException">The request's verifier refused the body; nothing is stored.</exception>
    public Task<EnqueueResult> EnqueueAsync(UnitDefinition unit, IncomingRequest request, CancellationToken cancellationToken) =>
        EnqueueAsync(unit, request, unit.MaxRequest, null, cancellationToken);

    /// <summary>Like <see cref="EnqueueAsync(UnitDefinition, IncomingRequest, CancellationToken)"/>, but answers an admitted result without an id, keeping nothing, when a request with <paramref name="dedupeKey"/> is already stored.</summary>
    internal Task<EnqueueResult> EnqueueOnceAsync(UnitDefinition unit, IncomingRequest request, string dedupeKey, CancellationToken cancellationToken) =>
        EnqueueAsync(unit, request, unit.MaxRequest, dedupeKey, cancellationToken);

    /// <summary>
    /// The store's dedupe key for a client's idempotency key: per unit and per authenticated caller, and apart from the
    /// keys of schedules (<c>cron:</c>). An anonymous caller (<paramref name="principal"/> <c>null</c>) keeps the form
    /// <c>idem:{unit}:{key}</c> that earlier versions stored; a caller known by its credential gets
    /// <c>idem@{SHA-256 of the principal, hex}:{unit}:{key}</c>, so callers with different credentials never share a key.
    /// </summary>
    internal static string IdempotencyDedupeKey(string unit, string key, string? principal = null) =>
        principal is null
            ? "idem:" + unit + ":" + key
            : "idem@" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(principal))) + ":" + unit + ":" + key;

    private async Task<EnqueueResult> EnqueueAsync(UnitDefinition unit, IncomingRequest request, long maxLength, string? dedupeKey, CancellationToken cancellationToken)
    {
        // Every way a request is stored comes through here, so the admission rule holds for all of them.
        var admission = await _admission.CheckAsync(unit, cancellationToken).ConfigureAwait(false);
        if (!admission.IsAdmitted)
        {
            return EnqueueResult.Refused(admission);
        }

        var unitName = unit.Name;
        var id = RequestId.New(_time);

        // Durability order: (1) the body is written, fsynced and renamed into place by the blob store,
        // (2) the row that points at it is committed, (3) only then does the caller see the id.
        // A verifier sees the body in the same pass that stores it; a refused body is removed before any row exists.
        var source = request.Verifier is { } verifier ? new TappedStream(request.Body, verifier) : request.Body;
        BodyRef body;
        try
        {
            body = await _blobs.WriteAsync(id + "/body", source, maxLength, cancellationToken).ConfigureAwait(false);
        }
        catch (IOException e) when (IsDiskFull(e))
        {
            // The blob store removed the partial body; nothing was queued.
            _admission.Count(unitName, AdmissionResult.DiskFull);
            return EnqueueResult.Refused(AdmissionResult.DiskFull);
        }

        if (request.Verifier is { } check && !check.Verify())
        {
            await _blobs.DeletePrefixAsync(id, CancellationToken.None).ConfigureAwait(false);
            throw new BodyRefusedException();
        }

        bool added;
        try
        {
            var started = _time.GetTimestamp();
            added = await _store.EnqueueAsync(
                new NewRequest(id, unitName, request.Method, request.Uri, SavedHeaders.WithRemoteAddress(request.Headers, request.RemoteAddress), body, _time.GetUtcNow(), dedupeKey)
                {
                    Callback = Callbacks.CallbackTarget.For(_units.Find(unitName) ?? unit, request.Headers) is not null,
                },
                cancellationToken).ConfigureAwait(false);
            _metrics.StoreCall(StoreOperations.Enqueue, _time.GetElapsedTime(started));
        }
        catch
        {
            await _blobs.DeletePrefixAsync(id, CancellationToken.None).ConfigureAwait(false);
            throw;
        }

        if (!added)
        {
            await _blobs.DeletePrefixAsync(id, CancellationToken.None).ConfigureAwait(false);
            return new EnqueueResult(null, AdmissionResult.Admitted);
        }

        if (_workers.TryGetValue(unitName, out var worker))
        {
            worker.Enqueued();
        }

        _metrics.Accepted(unitName);
        LogAccepted(_logger, unitName, id);
        return new EnqueueResult(id, AdmissionResult.Admitted);
    }

    /// <summary>ENOSPC (28) on Linux, ERROR_DISK_FULL (112) and ERROR_HANDLE_DISK_FULL (39) elsewhere.</summary>
    private static bool IsDiskFull(IOException e) => (e.HResult & 0xFFFF) is 28 or 112 or 39;

    /// <summary>Requests of <paramref name="unit"/> waiting on this node's count (queued or retrying), for <c>max_queue</c>.</summary>
    private async ValueTask<long> WaitingAsync(UnitDefinition unit, CancellationToken cancellationToken) =>
        _workers.TryGetValue(unit.Name, out var worker) ? await worker.WaitingAsync(cancellationToken).ConfigureAwait(false) : 0;

    /// <summary>Queues a new request of <paramref name="unit"/> with the saved content of <paramref name="original"/>, through the admission rule; <c>null</c> when the body is gone.</summary>
    public async Task<EnqueueResult?> RetryAsync(UnitDefinition unit, RequestRecord original, CancellationToken cancellationToken)
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
            return await EnqueueAsync(unit, request, 0, null, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Largest bulk replay batch.</summary>
    public const int MaxReplayBatch = 1000;

    /// <summary>
    /// Replays up to <paramref name="limit"/> failed requests of <paramref name="unit"/>, newest first and older than
    /// <paramref name="before"/> when set. Each failed request is replayed at most once however often this runs (its replay
    /// is stored under the dedupe key <c>replay:{id}</c>); the failed requests themselves stay as they are. The batch stops at
    /// the first request the admission rule refuses; the refusal comes back with the requests handled before it.
    /// </summary>
    public async Task<ReplayBatch> ReplayFailedAsync(UnitDefinition unit, int limit, string? before, CancellationToken cancellationToken)
    {
        limit = Math.Clamp(limit, 1, MaxReplayBatch);
        var ids = new List<string>(limit + 1);
        await foreach (var summary in _store.PageAsync(new PageParams(unit.Name, limit + 1, before, RequestState.Failed), cancellationToken).ConfigureAwait(false))
        {
            ids.Add(summary.Id);
        }

        string? next = null;
        if (ids.Count > limit)
        {
            // One more than the batch was read only to learn that an older failed request exists.
            ids.RemoveAt(limit);
            next = ids[^1];
        }

        var items = new List<ReplayedRequest>(ids.Count);
        foreach (var id in ids)
        {
            var record = await _store.GetAsync(id, cancellationToken).ConfigureAwait(false);
            if (record is { State: RequestState.Failed })
            {
                var (newId, earlier, refused) = await ReplayOnceAsync(unit, record, cancellationToken).ConfigureAwait(false);
                if (refused is not null)
                {
                    // Nothing after the refused request is looked at; the cursor resumes at the refused one.
                    return new ReplayBatch(items, items.Count > 0 ? items[^1].OriginalId : before) { Refused = refused };
                }

                items.Add(new ReplayedRequest(id, newId, earlier));
            }
        }

        return new ReplayBatch(items, next);
    }

    private async Task<(string? Id, bool Earlier, AdmissionResult? Refused)> ReplayOnceAsync(UnitDefinition unit, RequestRecord original, CancellationToken cancellationToken)
    {
        var key = "replay:" + original.Id;
        if (await _store.FindByDedupeKeyAsync(key, cancellationToken).ConfigureAwait(false) is { } existing)
        {
            return (existing, true, null);
        }

        var body = await _blobs.OpenReadAsync(original.Body, cancellationToken).ConfigureAwait(false);
        if (body is null)
        {
            return (null, false, null);
        }

        await using (body.ConfigureAwait(false))
        {
            var request = new IncomingRequest(original.Method, original.Uri, original.Headers, body);
            var result = await EnqueueAsync(unit, request, 0, key, cancellationToken).ConfigureAwait(false);
            if (!result.Admission.IsAdmitted)
            {
                return (null, false, result.Admission);
            }

            return result.Id is { } id ? (id, false, null) : (await _store.FindByDedupeKeyAsync(key, cancellationToken).ConfigureAwait(false), true, null);
        }
    }

    /// <summary>Cancels a request: no further attempts, and a running attempt on this node is killed. Returns the state afterwards, or <c>null</c> when unknown.</summary>
    public async Task<RequestState?> CancelAsync(string requestId, CancellationToken cancellationToken)
    {
        var state = await _store.CancelAsync(requestId, _time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        if (state == RequestState.Cancelled)
        {
            await _executor.CancelAsync(requestId).ConfigureAwait(false);
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

    internal override bool HasRunningLoops => _workers.HasRunningLoops || _leases.HasRunningLoops;

    protected override async Task OnStartAsync(CancellationToken cancellationToken)
    {
        RunAsUser.Validate(_units.All);
        await _store.InitializeAsync(cancellationToken).ConfigureAwait(false);
        await _workers.StartAsync(cancellationToken).ConfigureAwait(false);

        // Work queued by other nodes wakes the workers at once; without a signal the poll finds it.
        _queueSignal = (_store as IQueueSignal)?.Subscribe(_workers.Wake);
        await _leases.StartAsync(cancellationToken).ConfigureAwait(false);
        LogStarted(_logger, _units.All.Count, _options.NodeId);
    }

    /// <summary>The graceful shutdown: the workers stop claiming and their attempts finish or are aborted, then the lease keeper stops.</summary>
    protected override async Task OnStoppingAsync(CancellationToken cancellationToken)
    {
        _queueSignal?.Dispose();
        await _workers.StopAsync(cancellationToken).ConfigureAwait(false);
        await _leases.StopAsync(cancellationToken).ConfigureAwait(false);
    }

    protected override async ValueTask OnDisposeAsync()
    {
        await _workers.DisposeAsync().ConfigureAwait(false);
        await _leases.DisposeAsync().ConfigureAwait(false);
        _executor.Dispose();
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Engine started with {UnitCount} units as node {NodeId}")]
    private static partial void LogStarted(ILogger logger, int unitCount, string nodeId);

    [LoggerMessage(EventId = 7, Level = LogLevel.Information, Message = "Unit {Unit} request {RequestId}: accepted")]
    private static partial void LogAccepted(ILogger logger, string unit, string requestId);
}
