using Microsoft.Extensions.Logging;
using NanoRun.Units;

namespace NanoRun.Queue;

/// <summary>Keeps one worker per unit in force as the catalog changes.</summary>
internal sealed partial class NanoRunEngine
{
    // Guards the set of workers against a reload racing start or stop; never held while awaiting.
    private readonly Lock _workersLock = new();

    // Workers replaced or removed by a reload whose running attempts have not finished yet.
    private readonly HashSet<UnitWorker> _retiring = [];

    /// <summary>
    /// Brings the workers in line with the catalog: a new unit gets a worker, a replaced unit gets a fresh worker with
    /// the new settings, and a removed unit's worker stops claiming. A retired worker's running attempts finish under
    /// the settings they started with; its requests stay in the store for the unit's next worker.
    /// </summary>
    private void ApplyUnits(bool announce)
    {
        lock (_workersLock)
        {
            if (Volatile.Read(ref _lifecycle) != 1)
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

                var worker = new UnitWorker(this, unit, current?.Busy);
                _workers[unit.Name] = worker;
                worker.Start();
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

    private void RetireLocked(UnitWorker worker)
    {
        worker.Retire();
        _retiring.Add(worker);
        _ = worker.Completion.ContinueWith(
            static (_, state) =>
            {
                var (engine, retired) = ((NanoRunEngine, UnitWorker))state!;
                lock (engine._workersLock)
                {
                    engine._retiring.Remove(retired);
                }

                retired.Dispose();
            },
            (this, worker),
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    /// <summary>The loops of every worker, current and retiring, for shutdown to wait on.</summary>
    private List<Task> WorkerLoops()
    {
        lock (_workersLock)
        {
            var loops = new List<Task>(_workers.Count + _retiring.Count + 1);
            foreach (var worker in _workers.Values)
            {
                loops.Add(worker.Completion);
            }

            foreach (var worker in _retiring)
            {
                loops.Add(worker.Completion);
            }

            return loops;
        }
    }

    [LoggerMessage(EventId = 11, Level = LogLevel.Information, Message = "Unit {Unit} added")]
    private static partial void LogUnitAdded(ILogger logger, string unit);

    [LoggerMessage(EventId = 12, Level = LogLevel.Information, Message = "Unit {Unit} changed; new attempts use its new settings")]
    private static partial void LogUnitReplaced(ILogger logger, string unit);

    [LoggerMessage(EventId = 13, Level = LogLevel.Information, Message = "Unit {Unit} removed; its queued requests stay stored until it returns")]
    private static partial void LogUnitRemoved(ILogger logger, string unit);
}
