using Microsoft.Extensions.Logging;
using NanoRun.Admission;
using NanoRun.Requests;

namespace NanoRun.Scheduling;

/// <summary>Pauses and runs-now of schedule entries.</summary>
internal sealed partial class CronScheduler
{
    /// <summary>Whether the unit has a schedule entry labelled <paramref name="label"/> (its name, or its position from 0).</summary>
    public bool HasEntry(string unit, string label) => Find(unit, label) is not null;

    /// <summary>
    /// Queues one request of the entry now, as a tick would, under a key of its own, so the one call queues one request
    /// however many nodes share the store; <c>null</c> when no such entry is in force.
    /// </summary>
    /// <exception cref="IOException">The entry's <c>content_file</c> cannot be read.</exception>
    public async Task<EnqueueResult?> TriggerAsync(string unit, string label, CancellationToken cancellationToken)
    {
        if (Find(unit, label) is not { } entry)
        {
            return null;
        }

        var now = _time.GetUtcNow();
        LogTriggered(_logger, unit, entry.Label);
        var result = await FireAsync(entry, now, TriggerKey(unit, entry.Label), cancellationToken).ConfigureAwait(false);
        return result ?? throw new IOException($"unit '{unit}' schedule {entry.Label}: content_file {entry.Entry.ContentFile} cannot be read");
    }

    /// <summary>The dedupe key of one run-now: never the key of a tick, and new for every call.</summary>
    internal static string TriggerKey(string unit, string label) => $"cron:{unit}:now:{RequestId.New()}:name:{label}";

    private async ValueTask<bool> IsPausedAsync(ScheduledEntry entry, CancellationToken cancellationToken) =>
        _pauses is not null && (await _pauses.StatusAsync(entry.Unit.Name, entry.Label, cancellationToken).ConfigureAwait(false)).Paused;

    private ScheduledEntry? Find(string unit, string label)
    {
        foreach (var entry in Volatile.Read(ref _entries))
        {
            if (string.Equals(entry.Unit.Name, unit, StringComparison.Ordinal) && string.Equals(entry.Label, label, StringComparison.Ordinal))
            {
                return entry;
            }
        }

        return null;
    }

    [LoggerMessage(EventId = 5009, Level = LogLevel.Information, Message = "Unit {Unit} schedule {Entry}: paused; tick {Tick:o} skipped")]
    private static partial void LogTickPaused(ILogger logger, string unit, string entry, DateTimeOffset tick);

    [LoggerMessage(EventId = 5010, Level = LogLevel.Information, Message = "Unit {Unit} schedule {Entry}: run now")]
    private static partial void LogTriggered(ILogger logger, string unit, string entry);
}
