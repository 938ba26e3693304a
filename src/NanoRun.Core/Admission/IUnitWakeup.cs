using NanoRun.Units;

namespace NanoRun.Admission;

/// <summary>What admission needs of the unit workers: how many requests wait, and a wake-up once one is stored.</summary>
internal interface IUnitWakeup
{
    /// <summary>Counts a request just stored for <paramref name="unitName"/> as waiting and wakes the unit's worker at once.</summary>
    void Enqueued(string unitName);

    /// <summary>How many requests of <paramref name="unit"/> wait (queued or retrying), for <c>max_queue</c>.</summary>
    ValueTask<long> WaitingAsync(UnitDefinition unit, CancellationToken cancellationToken);
}
