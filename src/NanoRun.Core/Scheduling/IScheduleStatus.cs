namespace NanoRun.Scheduling;

/// <summary>What the cron schedules of this node are doing, for display. Registered by <c>AddNanoRun</c>.</summary>
public interface IScheduleStatus
{
    /// <summary>
    /// The next tick after now of entry <paramref name="entryIndex"/> of <paramref name="unit"/>'s <c>cron</c> list, and
    /// the request this node last queued for it since it started; both <c>null</c> when unknown.
    /// </summary>
    /// <param name="unit">The unit's name.</param>
    /// <param name="entryIndex">The entry's position in the unit's <c>cron</c> list, from 0.</param>
    (DateTimeOffset? NextTick, string? LastRequestId) Describe(string unit, int entryIndex);
}
