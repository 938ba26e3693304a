using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.Logging;
using NanoRun.Control;
using NanoRun.Maintenance;
using NanoRun.Metrics;
using NanoRun.Queue;
using NanoRun.Storage;
using NanoRun.Units;

namespace NanoRun.Execution;

/// <summary>
/// Keeps one <see cref="UnitWorker"/> per unit in force as the catalog changes: a new unit gets a worker, a replaced unit
/// a fresh worker with the new settings, and a removed unit's worker stops claiming. A retired worker's running attempts
/// finish under the settings they started with; its requests stay in the store for the unit's next worker. The stop is
/// the graceful shutdown: every worker stops claiming, running attempts get the graceful period, then they are aborted.
/// </summary>
internal sealed partial class UnitWorkers : BackgroundRole
{
    private readonly UnitCatalog _units;
    private readonly IRequestStore _store;
    private readonly AttemptExecutor _executor;
    private readonly EngineOptions _options;
    private readonly ILogger _logger;
    private readonly NanoRunMetrics _metrics;
    private readonly UnitPauses _pauses;

    // The current worker of each unit (after the stop, the last ones); written under _lock, read without it.
    private readonly ConcurrentDictionary<string, UnitWorker> _workers = new(StringComparer.Ordinal);

    // Guards the set of workers against a reload racing start or stop; never held while awaiting.
    private readonly Lock _lock = new();
    private bool _active;

    public UnitWorkers(UnitCatalog units, IRequestStore store, AttemptExecutor executor, EngineOptions options, TimeProvider time, ILogger logger, NanoRunMetrics metrics, UnitPauses pauses)
        : base(time)
    {
        _units = units;
        _store = store;
        _executor = executor;
        _options = options;
        _logger = logger;
        _metrics = metrics;
        _pauses = pauses;
    }

    protected override TimeSpan GracePeriod => _options.GracefulShutdown;

    internal override bool HasRunningLoops
    {
        get
        {
            if (base.HasRunningLoops)
            {
                return true;
            }

            foreach (var worker in _workers.Values)
            {
                if (worker.HasRunningLoops)
                {
                    return true;
                }
            }

            return false;
        }
    }

    /// <summary>The current worker of <paramref name="unitName"/>, when the unit is in force and the workers run.</summary>
    public bool TryGetValue(string unitName, [MaybeNullWhen(false)] out UnitWorker worker) => _workers.TryGetValue(unitName, out worker);

    /// <summary>Has the worker of <paramref name="unitName"/> look at the store now.</summary>
    public void Wake(string unitName)
    {
        if (_workers.TryGetValue(unitName, out var worker))
        {
            worker.Wake();
        }
    }

    protected override Task OnStartAsync(CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            _active = true;
        }

        _units.Changed += OnUnitsChanged;
        ApplyUnits(announce: false);
        return Task.CompletedTask;
    }

    protected override Task OnStoppingAsync(CancellationToken cancellationToken)
    {
        _units.Changed -= OnUnitsChanged;
        lock (_lock)
        {
            _active = false;
            // The workers stay listed, so the running count and wake-ups reach them while their attempts finish.
            foreach (var worker in _workers.Values)
            {
                RetireLocked(worker);
            }
        }

        return Task.CompletedTask;
    }

    protected override async Task OnGraceOverAsync()
    {
        LogAborting(_logger, _executor.RunningCount);
        await _executor.AbortAllAsync().ConfigureAwait(false);
    }

    /// <summary>Brings the workers in line with the catalog.</summary>
    private void ApplyUnits(bool announce)
    {
        lock (_lock)
        {
            if (!_active)
            {
                return;
            }

            var names = new HashSet<string>(StringComparer.Ordinal);
            foreach (var unit in _units.All)
            {
                names.Add(unit.Name);
                if (_workers.TryGetValue(unit.Name, out var current))
                {
                    if (ReferenceEquals(current.Unit, unit))
                    {
                        continue;
                    }

                    RetireLocked(current);
                    LogUnitReplaced(_logger, unit.Name);
                }
                else if (announce)
                {
                    LogUnitAdded(_logger, unit.Name);
                }

                var worker = new UnitWorker(unit, this, _executor, _store, _options, Time, _logger, _metrics, _pauses, current?.Busy);
                _workers[unit.Name] = worker;

                // The start only starts the loop; it completes at once.
                _ = worker.StartAsync(CancellationToken.None);
            }

            foreach (var (name, worker) in _workers)
            {
                if (!names.Contains(name))
                {
                    _workers.TryRemove(name, out _);
                    RetireLocked(worker);
                    LogUnitRemoved(_logger, name);
                }
            }
        }
    }

    private void OnUnitsChanged() => ApplyUnits(announce: true);

    /// <summary>Stops the worker's claiming; the stop of the set waits until its running attempts have ended.</summary>
    private void RetireLocked(UnitWorker worker) => Track(RetireAsync(worker));

    private static async Task RetireAsync(UnitWorker worker) => await worker.DisposeAsync().ConfigureAwait(false);

    [LoggerMessage(EventId = 2, Level = LogLevel.Warning, Message = "Graceful shutdown period over; aborting {Count} running attempts")]
    private static partial void LogAborting(ILogger logger, int count);

    [LoggerMessage(EventId = 11, Level = LogLevel.Information, Message = "Unit {Unit} added")]
    private static partial void LogUnitAdded(ILogger logger, string unit);

    [LoggerMessage(EventId = 12, Level = LogLevel.Information, Message = "Unit {Unit} changed; new attempts use its new settings")]
    private static partial void LogUnitReplaced(ILogger logger, string unit);

    [LoggerMessage(EventId = 13, Level = LogLevel.Information, Message = "Unit {Unit} removed; its queued requests stay stored until it returns")]
    private static partial void LogUnitRemoved(ILogger logger, string unit);
}
