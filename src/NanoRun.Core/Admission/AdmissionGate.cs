using NanoRun.Metrics;
using NanoRun.Queue;
using NanoRun.Units;

namespace NanoRun.Admission;

/// <summary>
/// The one admission rule every new request passes before anything is stored, however it arrives (API, UI, retry,
/// replay, schedule): the unit's <c>rate</c> bucket, then the server's <c>min_free_disk</c>, then the unit's <c>max_queue</c>.
/// </summary>
internal sealed class AdmissionGate
{
    private readonly EngineOptions _options;
    private readonly TimeProvider _time;
    private readonly NanoRunMetrics _metrics;
    private readonly Func<UnitDefinition, CancellationToken, ValueTask<long>> _waiting;
    private readonly UnitRateLimiter _rates;
    private readonly DiskGuard _disk = new();

    /// <param name="options">The engine's settings (<c>min_free_disk</c> and the folder it guards).</param>
    /// <param name="time">The clock of the rate buckets and the free-space cache.</param>
    /// <param name="metrics">Where refusals are counted.</param>
    /// <param name="waiting">How many requests of a unit wait now (queued or retrying).</param>
    public AdmissionGate(EngineOptions options, TimeProvider time, NanoRunMetrics metrics, Func<UnitDefinition, CancellationToken, ValueTask<long>> waiting)
    {
        _options = options;
        _time = time;
        _metrics = metrics;
        _waiting = waiting;
        _rates = new UnitRateLimiter(time);
    }

    /// <summary>Decides whether one new request of <paramref name="unit"/> may be stored; a refusal is counted in the metrics.</summary>
    public async ValueTask<AdmissionResult> CheckAsync(UnitDefinition unit, CancellationToken cancellationToken)
    {
        var result = await DecideAsync(unit, cancellationToken).ConfigureAwait(false);
        if (!result.IsAdmitted)
        {
            Count(unit.Name, result);
        }

        return result;
    }

    /// <summary>Counts a refusal decided after the check (the disk filled up while the body was saved).</summary>
    public void Count(string unitName, AdmissionResult result) => _metrics.Refused(unitName, result.Outcome switch
    {
        AdmissionOutcome.RateLimited => RefusalReasons.Rate,
        AdmissionOutcome.QueueFull => RefusalReasons.QueueFull,
        AdmissionOutcome.TooLarge => RefusalReasons.TooLarge,
        AdmissionOutcome.StoreUnavailable => RefusalReasons.StoreUnavailable,
        _ => RefusalReasons.DiskFull,
    });

    private async ValueTask<AdmissionResult> DecideAsync(UnitDefinition unit, CancellationToken cancellationToken)
    {
        if (_rates.TryAcquire(unit) is { } retryAfter)
        {
            return AdmissionResult.RateLimited(unit.Name, unit.Rate!, retryAfter);
        }

        if (_options.MinFreeDisk > 0 && _options.DiskGuardPath is { } path && _disk.FreeBytes(path, _time) < _options.MinFreeDisk)
        {
            return AdmissionResult.DiskLow;
        }

        if (unit.MaxQueue > 0 && await _waiting(unit, cancellationToken).ConfigureAwait(false) >= unit.MaxQueue)
        {
            return AdmissionResult.QueueFull(unit.Name, unit.MaxQueue);
        }

        return AdmissionResult.Admitted;
    }
}
