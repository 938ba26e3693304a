namespace NanoRun.Storage;

/// <summary>Optional companion of <see cref="IRequestStore"/>: a shared store that learns when any node queues work.</summary>
/// <remarks>
/// The engine subscribes when it starts and wakes the unit's workers at once instead of waiting for its next poll. A
/// signal may be lost or spurious; the poll still finds the work, so a lost signal only delays it.
/// </remarks>
public interface IQueueSignal
{
    /// <summary>Calls <paramref name="unitHasWork"/> with a unit name whenever work may have become due for that unit;
    /// disposing the returned registration stops the calls.</summary>
    /// <remarks>The callback runs on the provider's thread and must return quickly.</remarks>
    IDisposable Subscribe(Action<string> unitHasWork);
}
