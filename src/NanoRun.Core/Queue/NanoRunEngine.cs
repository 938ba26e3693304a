using Microsoft.Extensions.Logging;
using NanoRun.Admission;
using NanoRun.Control;
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
/// The engine: runs the roles that work the queue on this node: one worker per unit
/// (<see cref="UnitWorkers"/>), the attempt executor, the lease keeper and, on a store that lists nodes, the node heartbeat. It starts them in order and stops them in the
/// reverse order, so leases stay renewed while the running attempts finish.
/// </summary>
internal sealed partial class NanoRunEngine : BackgroundRole, IUnitWakeup
{
    private readonly UnitCatalog _units;
    private readonly IRequestStore _store;
    private readonly IBlobStore _blobs;
    private readonly EngineOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<NanoRunEngine> _logger;
    private readonly NanoRunMetrics _metrics;
    private readonly CompletionSignals _completions = new();
    private readonly AttemptExecutor _executor;
    private readonly UnitWorkers _workers;
    private readonly UnitPauses _pauses;
    private readonly LeaseKeeper _leases;
    private readonly NodeHeartbeat? _heartbeat;
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

        // The roles log in the engine's category, where the request lifecycle lines are documented.
        _executor = new AttemptExecutor(store, blobs, runners, options, time, logger, _metrics, _completions);
        _pauses = new UnitPauses(store, options, time);
        _workers = new UnitWorkers(units, store, _executor, options, time, logger, _metrics, _pauses);
        _leases = new LeaseKeeper(store, _executor, options, time, logger);
        _heartbeat = store is INodeStore nodes ? new NodeHeartbeat(nodes, units, _executor, options, time, logger) : null;
    }

    public UnitCatalog Units => _units;

    public IRequestStore Store => _store;

    public IBlobStore Blobs => _blobs;

    /// <summary>The engine's instruments; the web layer records refusals on them.</summary>
    public NanoRunMetrics Metrics => _metrics;

    /// <summary>The stored pauses of units and schedule entries, as this node sees them.</summary>
    public UnitPauses Pauses => _pauses;

    /// <summary>Has the worker of <paramref name="unitName"/> look at the store now, as after a resume.</summary>
    public void Wake(string unitName) => _workers.Wake(unitName);

    /// <summary>Attempts of <paramref name="unitName"/> running on this node now.</summary>
    public int RunningCount(string unitName) => _workers.TryGetValue(unitName, out var worker) ? worker.Running : 0;

    /// <summary>Output of the attempts running on this node, for readers that follow it.</summary>
    public LiveOutputs LiveOutputs => _executor.LiveOutputs;

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

    /// <summary>Cancels up to <paramref name="limit"/> queued requests of a unit in one store call and wakes whoever waits for them.</summary>
    public async Task<CancelledBatch> CancelQueuedAsync(string unit, int limit, CancellationToken cancellationToken)
    {
        limit = Math.Clamp(limit, 1, Admission.RequestAdmission.MaxReplayBatch);
        var batch = await _store.CancelQueuedAsync(new CancelQueuedParams(unit, limit, _time.GetUtcNow()), cancellationToken).ConfigureAwait(false);
        foreach (var id in batch.Ids)
        {
            _completions.Signal(id);
        }

        return batch;
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

    internal override bool HasRunningLoops => _workers.HasRunningLoops || _leases.HasRunningLoops || (_heartbeat?.HasRunningLoops ?? false);

    protected override async Task OnStartAsync(CancellationToken cancellationToken)
    {
        RunAsUser.Validate(_units.All);
        await _store.InitializeAsync(cancellationToken).ConfigureAwait(false);
        await _workers.StartAsync(cancellationToken).ConfigureAwait(false);

        // Work queued by other nodes wakes the workers at once; without a signal the poll finds it.
        _queueSignal = (_store as IQueueSignal)?.Subscribe(_workers.Wake);
        await _leases.StartAsync(cancellationToken).ConfigureAwait(false);
        if (_heartbeat is not null)
        {
            await _heartbeat.StartAsync(cancellationToken).ConfigureAwait(false);
        }

        LogStarted(_logger, _units.All.Count, _options.NodeId);
    }

    /// <summary>The graceful shutdown: the workers stop claiming and their attempts finish or are aborted, then the lease keeper stops.</summary>
    protected override async Task OnStoppingAsync(CancellationToken cancellationToken)
    {
        _queueSignal?.Dispose();
        await _workers.StopAsync(cancellationToken).ConfigureAwait(false);
        await _leases.StopAsync(cancellationToken).ConfigureAwait(false);
        if (_heartbeat is not null)
        {
            await _heartbeat.StopAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    protected override async ValueTask OnDisposeAsync()
    {
        await _workers.DisposeAsync().ConfigureAwait(false);
        await _leases.DisposeAsync().ConfigureAwait(false);
        if (_heartbeat is not null)
        {
            await _heartbeat.DisposeAsync().ConfigureAwait(false);
        }

        _executor.Dispose();
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Engine started with {UnitCount} units as node {NodeId}")]
    private static partial void LogStarted(ILogger logger, int unitCount, string nodeId);
}
