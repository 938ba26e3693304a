using System.Diagnostics.Metrics;
using NanoRun.Queue;
using NanoRun.Storage;
using NanoRun.Units;

namespace NanoRun.Metrics;

/// <summary>
/// Queue gauges of every unit: depth and most overdue age from the store, read by <see cref="RefreshAsync"/> at most
/// once per <see cref="MaxAge"/> (one count and one next-due query per unit), and running attempts from the engine.
/// Private units are summed into one series labelled <see cref="NanoRunMetrics.PrivateUnit"/> (the oldest age is their
/// largest), so their names never appear.
/// </summary>
internal sealed class QueueGauges : IQueueObserver, INanoRunMeter, IDisposable
{
    /// <summary>How long store readings are reused; scrapes more often than this cost no query.</summary>
    public static readonly TimeSpan MaxAge = TimeSpan.FromSeconds(1);

    private readonly UnitCatalog _units;
    private readonly IRequestStore _store;
    private readonly NanoRunEngine _engine;
    private readonly NanoRunMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _refreshing = new(1, 1);

    // Replaced whole by RefreshAsync; readers see one consistent reading.
    private Reading[] _readings = [];
    private long _readAt;

    public QueueGauges(UnitCatalog units, IRequestStore store, NanoRunEngine engine, NanoRunMetrics metrics, TimeProvider time)
    {
        _units = units;
        _store = store;
        _engine = engine;
        _metrics = metrics;
        _time = time;
        metrics.Observe(this);
    }

    /// <summary>Reads depth and oldest age of every unit from the store unless the last reading is younger than <see cref="MaxAge"/> or nothing listens.</summary>
    public Task RefreshQueueGaugesAsync(CancellationToken cancellationToken = default) => RefreshAsync(cancellationToken);

    /// <summary>Reads depth and oldest age of every unit from the store unless the last reading is younger than <see cref="MaxAge"/> or nothing listens.</summary>
    public async Task RefreshAsync(CancellationToken cancellationToken)
    {
        if (!_metrics.QueueDepth.Enabled || !IsStale())
        {
            return;
        }

        await _refreshing.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!IsStale())
            {
                return;
            }

            var readings = new List<Reading>(_units.All.Count);
            Reading? hidden = null;
            foreach (var unit in _units.All)
            {
                var started = _time.GetTimestamp();
                var counts = await _store.CountByStateAsync(unit.Name, cancellationToken).ConfigureAwait(false);
                var due = counts.Waiting > 0 ? await _store.NextDueAsync(unit.Name, cancellationToken).ConfigureAwait(false) : null;
                _metrics.StoreCall(StoreOperations.Count, _time.GetElapsedTime(started));
                var overdue = due is { } d ? _time.GetUtcNow() - d : TimeSpan.Zero;
                var reading = new Reading(unit.Name, counts.Waiting, overdue > TimeSpan.Zero ? overdue.TotalSeconds : 0);
                if (!unit.Private)
                {
                    readings.Add(reading);
                    continue;
                }

                hidden = hidden is { } h
                    ? h with { Depth = h.Depth + reading.Depth, OldestAgeSeconds = Math.Max(h.OldestAgeSeconds, reading.OldestAgeSeconds) }
                    : reading with { Unit = NanoRunMetrics.PrivateUnit };
            }

            if (hidden is { } privateUnits)
            {
                readings.Add(privateUnits);
            }

            Volatile.Write(ref _readings, readings.ToArray());
            Volatile.Write(ref _readAt, _time.GetTimestamp());
        }
        finally
        {
            _refreshing.Release();
        }
    }

    public IEnumerable<Measurement<long>> QueueDepths()
    {
        var readings = Volatile.Read(ref _readings);
        var measurements = new Measurement<long>[readings.Length];
        for (var i = 0; i < readings.Length; i++)
        {
            measurements[i] = new Measurement<long>(readings[i].Depth, new KeyValuePair<string, object?>("unit", readings[i].Unit));
        }

        return measurements;
    }

    public IEnumerable<Measurement<double>> OldestAges()
    {
        var readings = Volatile.Read(ref _readings);
        var measurements = new Measurement<double>[readings.Length];
        for (var i = 0; i < readings.Length; i++)
        {
            measurements[i] = new Measurement<double>(readings[i].OldestAgeSeconds, new KeyValuePair<string, object?>("unit", readings[i].Unit));
        }

        return measurements;
    }

    public IEnumerable<Measurement<long>> Running()
    {
        var measurements = new List<Measurement<long>>(_units.All.Count);
        long? hidden = null;
        foreach (var unit in _units.All)
        {
            var running = _engine.RunningCount(unit.Name);
            if (unit.Private)
            {
                hidden = (hidden ?? 0) + running;
                continue;
            }

            measurements.Add(new Measurement<long>(running, new KeyValuePair<string, object?>("unit", unit.Name)));
        }

        if (hidden is { } privateUnits)
        {
            measurements.Add(new Measurement<long>(privateUnits, new KeyValuePair<string, object?>("unit", NanoRunMetrics.PrivateUnit)));
        }

        return measurements;
    }

    public void Dispose() => _refreshing.Dispose();

    private bool IsStale()
    {
        var readAt = Volatile.Read(ref _readAt);
        return readAt == 0 || _time.GetElapsedTime(readAt) >= MaxAge;
    }

    private readonly record struct Reading(string Unit, long Depth, double OldestAgeSeconds);
}
